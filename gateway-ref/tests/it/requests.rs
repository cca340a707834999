//! Requests over real sockets: signed by the core (every algorithm), AppCode, no auth, proxying
//! to a real backend, request ids, debug headers, CORS.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cloned_ref_to_slice_refs)]

use crate::common;

use apig::Algorithm;
use common::*;

#[test]
fn requests_signed_by_the_core_are_accepted_with_every_algorithm() {
    let (gw, _) = start_base("signed");
    let addr = gw.addr();
    for algorithm in Algorithm::ALL {
        for (method, target, body) in [
            ("GET", "/echo?hello=world&a=%20b", &b""[..]),
            ("POST", "/echo/sub/path", &br#"{"x":1}"#[..]),
            ("PUT", "/echo", &vec![0xffu8; 40_000][..]),
        ] {
            let h = signed_headers(
                addr,
                method,
                target,
                &[("Content-Type", "application/json")],
                body,
                "AK1",
                "SK1-secret",
                algorithm,
            );
            let r = send(addr, method, target, &h, body);
            assert_eq!(r.status, 200, "{algorithm} {method} {target}: {}", String::from_utf8_lossy(&r.body));
            let echo = r.json().unwrap();
            assert_eq!(echo["method"], method);
            let q = target.split_once('?').map_or("", |(_, q)| q);
            assert_eq!(echo["query"], q);
            if body.is_empty() || std::str::from_utf8(body).is_ok() {
                assert_eq!(echo["body"].as_str().unwrap_or(""), std::str::from_utf8(body).unwrap());
            } else {
                assert!(echo["body_base64"].is_string());
            }
        }
    }
}

#[test]
fn path_parameters_route() {
    let (gw, _) = start_base("params");
    assert_eq!(signed(gw.addr(), "GET", "/items/42", b"").status, 200);
    assert_apig(&signed(gw.addr(), "GET", "/items/42/x", b""), 404, "APIG.0101");
}

#[test]
fn app_code_and_no_auth() {
    let (gw, _) = start_base("appcode");
    let addr = gw.addr();
    let host = addr.to_string();
    let r =
        send(addr, "GET", "/code", &[("Host".into(), host.clone()), ("X-Apig-AppCode".into(), "code-1".into())], b"");
    assert_eq!(r.status, 200);
    let echo = r.json().unwrap();
    assert!(!echo.to_string().contains("code-1"), "the AppCode must not reach the backend: {echo}");
    // app_code APIs also take signatures
    assert_eq!(signed(addr, "GET", "/code", b"").status, 200);
    let r = send(addr, "GET", "/code", &[("Host".into(), host.clone()), ("X-Apig-AppCode".into(), "nope".into())], b"");
    assert_apig(&r, 401, "APIG.0303");
    let r = send(addr, "GET", "/open/anything?x=1", &[("Host".into(), host)], b"");
    assert_eq!(r.status, 200);
}

#[test]
fn proxies_raw_bytes_and_forwarding_headers_to_a_real_backend() {
    let (gw, _) = start_base("proxy");
    let addr = gw.addr();
    let host = addr.to_string();
    let target = "/proxied/a%2Fb//c?q=%7E~&q=2&empty=&flag";
    let headers = vec![
        ("Host".to_owned(), host.clone()),
        ("X-Forwarded-For".to_owned(), "203.0.113.9".to_owned()),
        ("Connection".to_owned(), "X-Secret-Hop".to_owned()),
        ("X-Secret-Hop".to_owned(), "must not pass".to_owned()),
        ("X-Apig-Whatever".to_owned(), "spoof".to_owned()),
        ("X-Apig-Mode".to_owned(), "debug".to_owned()),
        ("X-Custom".to_owned(), "kept".to_owned()),
    ];
    let body = vec![b'z'; 50_000];
    let r = send(addr, "POST", target, &headers, &body);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let echo = r.json().unwrap();
    assert_eq!(echo["path"], "/base/proxied/a%2Fb//c");
    assert_eq!(echo["query"], "q=%7E~&q=2&empty=&flag");
    assert_eq!(echo["body"].as_str().unwrap().len(), 50_000);
    let headers: Vec<(String, String)> = serde_json::from_value(echo["headers"].clone()).unwrap();
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    assert_eq!(get("x-forwarded-for"), Some("203.0.113.9, 127.0.0.1"));
    assert_eq!(get("x-forwarded-host"), Some(host.as_str()));
    assert_eq!(get("x-custom"), Some("kept"));
    assert_eq!(get("x-request-id"), r.header("x-request-id"));
    assert_eq!(get("x-secret-hop"), None);
    assert!(headers.iter().all(|(k, _)| !k.starts_with("x-apig-")), "{headers:?}");
    assert!(r.header("x-apig-latency").is_some() && r.header("x-apig-upstream-latency").is_some());
    // signed, through the real backend, pooled connections reused
    for _ in 0..20 {
        assert_eq!(signed(addr, "POST", "/signed/x?y=1", b"payload").status, 200);
    }
}

#[test]
fn every_response_has_a_request_id_and_debug_headers_only_on_request() {
    let (gw, _) = start_base("ids");
    let addr = gw.addr();
    let a = signed(addr, "GET", "/echo", b"");
    let b = assert_apig(&send(addr, "GET", "/nothing", &[("Host".into(), "x".into())], b""), 404, "APIG.0101");
    assert!(!b.is_empty());
    assert!(a.header("x-request-id").is_some_and(|id| id.len() == 32));
    assert!(a.header("x-apig-latency").is_none());
}

#[test]
fn hosts_and_environments_select_the_api() {
    let (gw, _) = start_base("hosts");
    let addr = gw.addr();
    let get = |host: &str, stage: Option<&str>, target: &str| {
        let mut h = vec![("Host".to_owned(), host.to_owned())];
        if let Some(s) = stage {
            h.push(("X-Stage".to_owned(), s.to_owned()));
        }
        send(addr, "GET", target, &h, b"")
    };
    assert_eq!(get("api.example.com", None, "/hosted").status, 200);
    assert_eq!(get("api.example.com:8080", None, "/hosted").status, 200);
    assert_apig(&get("other.example.com", None, "/hosted"), 404, "APIG.0101");
    assert_apig(&get("x", None, "/staged"), 404, "APIG.0101");
    assert_eq!(get("x", Some("TEST"), "/staged").status, 200);
    assert_apig(&get("x", None, "/unpublished"), 404, "APIG.0101");
}

#[test]
fn cors_preflight_and_headers() {
    let (gw, _) = start_base("cors");
    let addr = gw.addr();
    let pre = vec![
        ("Host".to_owned(), addr.to_string()),
        ("Origin".to_owned(), "https://app.example.com".to_owned()),
        ("Access-Control-Request-Method".to_owned(), "POST".to_owned()),
        ("Access-Control-Request-Headers".to_owned(), "authorization,x-sdk-date".to_owned()),
    ];
    let r = send(addr, "OPTIONS", "/cors", &pre, b"");
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some("https://app.example.com"));
    assert!(r.header("access-control-allow-headers").unwrap().contains("X-Sdk-Date"));
    // a signed cross-origin call gets the CORS headers, and so does its 401
    let h = signed_headers(
        addr,
        "POST",
        "/cors",
        &[("Origin", "https://app.example.com")],
        b"{}",
        "AK1",
        "SK1-secret",
        Algorithm::SdkHmacSha256,
    );
    let r = send(addr, "POST", "/cors", &h, b"{}");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some("https://app.example.com"));
    let r = send(addr, "POST", "/cors", &h, b"{tampered}");
    assert_eq!(r.status, 401);
    assert_eq!(r.header("access-control-allow-origin"), Some("https://app.example.com"));
    // other origins get nothing; preflight of an API without CORS is 404
    let mut other = pre.clone();
    other[1].1 = "https://evil.example.com".to_owned();
    assert!(send(addr, "OPTIONS", "/cors", &other, b"").header("access-control-allow-origin").is_none());
    let mut no_cors = pre;
    no_cors[2].1 = "GET".to_owned();
    assert_apig(&send(addr, "OPTIONS", "/echo", &no_cors, b""), 404, "APIG.0101");
}
