//! The web console on the admin listener: its embedded files and their headers, the admin API's
//! refusal of cross-origin requests without the token, and the console's relay and explain
//! endpoints (the browser itself: gateway-ref/console/test.mjs, run by `cargo xtask test wasm`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use apig::Algorithm;
use apig_conformance::client::{self, RawResponse};
use apig_gateway::server::{AdminOptions, RunningGateway};
use common::*;
use serde_json::{Value, json};

const TOKEN: &str = "console-token-0123456789";

fn start() -> RunningGateway {
    let dir = temp_dir("console");
    let path = dir.join("gateway.json");
    std::fs::write(&path, base_config(echo_backend())).unwrap();
    let mut o = options(path);
    o.admin = Some(AdminOptions { listen: ([127, 0, 0, 1], 0).into(), token: TOKEN.to_owned() });
    RunningGateway::start(o).unwrap()
}

fn header<'a>(r: &'a RawResponse, name: &str) -> Option<&'a str> {
    r.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn admin(gw: &RunningGateway, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let auth = format!("Bearer {TOKEN}");
    let h = [("Host", "admin"), ("Authorization", auth.as_str()), ("Content-Type", "application/json")];
    let body = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
    let r = client::request(gw.admin_addr().unwrap(), method, path, &h, &body).unwrap();
    (r.status, r.json().unwrap_or_default())
}

#[test]
fn console_files_are_embedded_with_their_types_a_strict_csp_and_no_caching() {
    let gw = start();
    let adm = gw.admin_addr().unwrap();
    for (path, content_type, needle) in [
        ("/console", "text/html", &b"<title>apig-gateway console</title>"[..]),
        ("/console/", "text/html", b"<form id=\"login\">"),
        ("/console/console.css", "text/css", b":focus-visible"),
        ("/console/console.js", "text/javascript", b"sessionStorage"),
        ("/console/apig-wasm/web/index.js", "text/javascript", b"makeApi"),
        ("/console/apig-wasm/web/apig_wasm_bg.wasm", "application/wasm", b"\0asm"),
    ] {
        // no token needed: the files hold no data
        let r = client::request(adm, "GET", path, &[("Host", "admin")], b"").unwrap();
        assert_eq!(r.status, 200, "{path}");
        assert!(header(&r, "content-type").unwrap().starts_with(content_type), "{path}: {:?}", r.headers);
        assert!(r.body.windows(needle.len()).any(|w| w == needle), "{path}");
        assert_eq!(header(&r, "cache-control"), Some("no-store"), "{path}");
        assert_eq!(header(&r, "x-content-type-options"), Some("nosniff"), "{path}");
        let csp = header(&r, "content-security-policy").unwrap();
        assert!(csp.starts_with("default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'"), "{csp}");
        assert!(csp.contains(&format!("connect-src 'self' http://{}", gw.addr())), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    }
    // anything else under /console, and the API itself, still needs the token
    let r = client::request(adm, "GET", "/console/../v1/apps", &[("Host", "admin")], b"").unwrap();
    assert_eq!(r.status, 401);
    let r = client::request(adm, "GET", "/console/nope.js", &[("Host", "admin")], b"").unwrap();
    assert_eq!(r.status, 401);
}

#[test]
fn the_admin_api_refuses_cross_origin_requests_without_the_token() {
    let gw = start();
    let adm = gw.admin_addr().unwrap();
    let evil = ("Origin", "https://evil.example");
    // a preflight gets no CORS permission: the browser never sends the real request
    let preflight = [
        ("Host", "admin"),
        evil,
        ("Access-Control-Request-Method", "POST"),
        ("Access-Control-Request-Headers", "authorization,content-type"),
    ];
    let r = client::request(adm, "OPTIONS", "/v1/apps", &preflight, b"").unwrap();
    assert_eq!(r.status, 401);
    assert!(r.headers.iter().all(|(n, _)| !n.to_ascii_lowercase().starts_with("access-control-")), "{:?}", r.headers);
    // a "simple" cross-origin POST (form content type, no token) changes nothing
    let form = [("Host", "admin"), evil, ("Content-Type", "text/plain")];
    let r = client::request(adm, "POST", "/v1/apps", &form, br#"{"id":"csrf"}"#).unwrap();
    assert_eq!(r.status, 401);
    assert!(r.headers.iter().all(|(n, _)| !n.to_ascii_lowercase().starts_with("access-control-")));
    let r = client::request(adm, "PUT", "/v1/environments/RELEASE/apis/unpublished", &form, b"").unwrap();
    assert_eq!(r.status, 401);
    let r = client::request(adm, "POST", "/v1/console/relay", &form, b"{}").unwrap();
    assert_eq!(r.status, 401);
    // a cookie is no token either
    let cookie = [("Host", "admin"), evil, ("Cookie", &format!("token={TOKEN}"))];
    assert_eq!(client::request(adm, "GET", "/v1/config", &cookie, b"").unwrap().status, 401);
    let (_, apps) = admin(&gw, "GET", "/v1/apps", &Value::Null);
    assert!(!apps.to_string().contains("csrf"), "{apps}");
    let (_, config) = admin(&gw, "GET", "/v1/config", &Value::Null);
    assert!(!config["environments"][0]["published"].as_array().unwrap().contains(&json!("unpublished")));
}

#[test]
fn the_relay_forwards_the_signed_request_unchanged_and_explain_diffs_a_0303() {
    let gw = start();
    let addr = gw.addr();
    // answers with a secret are not cached
    let auth = format!("Bearer {TOKEN}");
    let h = [("Host", "admin"), ("Authorization", auth.as_str())];
    let r = client::request(gw.admin_addr().unwrap(), "POST", "/v1/apps", &h, br#"{"id":"fresh"}"#).unwrap();
    assert_eq!(r.status, 201);
    assert_eq!(header(&r, "cache-control"), Some("no-store"));
    let (s, info) = admin(&gw, "GET", "/v1/console/gateway", &Value::Null);
    assert_eq!(s, 200);
    assert_eq!(info["api_url"], format!("http://{addr}"));

    let target = "/echo/x?b=2&a=1";
    let host = addr.to_string();
    let base = [("Host", host.as_str()), ("Content-Type", "application/json"), ("X-Trace", "a|b")];
    let signed =
        signed_headers(addr, "POST", target, &base, b"{\"k\":1}", "AK1", "SK1-secret", Algorithm::SdkHmacSha256);
    let relay = |target: &str, headers: &[(String, String)]| {
        let body = json!({ "method": "POST", "target": target, "headers": headers, "body": "{\"k\":1}" });
        admin(&gw, "POST", "/v1/console/relay", &body)
    };
    let (s, out) = relay(target, &signed);
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["status"], 200, "{out}");
    let echo: Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
    assert_eq!(echo["method"], "POST", "{echo}");
    assert_eq!(echo["body"], "{\"k\":1}", "{echo}");
    assert_eq!(echo["query"], "b=2&a=1", "{echo}");
    assert!(out["latency_ms"].as_f64().unwrap() >= 0.0);
    assert!(out["headers"].as_array().unwrap().iter().any(|h| h[0] == "content-type"), "{out}");

    // the same signature over another query: the gateway's 0303, then the explanation
    let (_, out) = relay("/echo/x?b=3&a=1", &signed);
    assert_eq!(out["status"], 401, "{out}");
    let answer = out["body"].as_str().unwrap();
    assert!(answer.contains("APIG.0303"), "{answer}");
    let local = apig::Signer::builder("AK1", "SK1-secret")
        .build()
        .unwrap()
        .sign(&apig::SignableRequest::new(
            "POST",
            &format!("http://{addr}{target}"),
            &base,
            apig::SignableBody::Bytes(b"{\"k\":1}"),
        ))
        .unwrap();
    let local = local.trace.canonical_request.clone();
    let (s, explained) =
        admin(&gw, "POST", "/v1/console/explain", &json!({ "canonical_request": local, "error": answer }));
    assert_eq!(s, 200, "{explained}");
    assert_eq!(explained["identical"], false);
    let diffs = explained["differences"].as_array().unwrap();
    assert_eq!(diffs.len(), 1, "{explained}");
    assert_eq!(diffs[0]["line"], "query");
    assert_eq!(diffs[0]["local"], "a=1&b=2");
    assert_eq!(diffs[0]["remote"], "a=1&b=3");

    // bad input: typed refusals
    let (s, e) = relay("echo", &signed);
    assert_eq!(s, 400, "{e}");
    let (s, e) = admin(
        &gw,
        "POST",
        "/v1/console/relay",
        &json!({ "method": "GET", "target": "/", "headers": [["bad name", "v"]] }),
    );
    assert_eq!(s, 400, "{e}");
    let (s, e) = admin(&gw, "POST", "/v1/console/explain", &json!({ "canonical_request": "x", "error": "{}" }));
    assert_eq!(s, 422, "{e}");
}

#[test]
fn a_debug_domain_answers_until_its_daily_quota_then_apig_0308() {
    let dir = temp_dir("debug-domain");
    let group = r#"{"id": "h", "domains": ["api.example.com"], "#;
    let base = base_config(echo_backend());
    assert!(base.contains(group));
    let config = base.replace(
        group,
        r#"{"id": "h", "domains": ["api.example.com"], "debug_domain": "h.Debug.example", "debug_quota": 2, "#,
    );
    let (gw, _) = start_in(&dir, &config);
    let get = |host: &str| send(gw.addr(), "GET", "/hosted", &[("Host".to_owned(), host.to_owned())], b"");
    assert_eq!(get("h.debug.example").status, 200);
    assert_eq!(get("H.DEBUG.EXAMPLE:8080").status, 200, "the port and case do not matter");
    // the group's own domain is not counted
    assert_eq!(get("api.example.com").status, 200);
    let refused = get("h.debug.example");
    let message = assert_apig(&refused, 429, "APIG.0308");
    assert!(message.contains("limit:2, time:1 day"), "{message}");
    assert_eq!(get("api.example.com").status, 200);
    assert_eq!(get("other.example").status, 404, "a debug domain is no wildcard");

    // config-level errors, with their position
    for (field, bad) in [
        ("debug_quota", r#""debug_quota": 0, "debug_domain": "d.example", "#),
        ("debug_domain", r#""debug_domain": "http://d.example", "#),
    ] {
        let config = base.replace(group, &format!(r#"{{"id": "h", "domains": ["api.example.com"], {bad}"#));
        let path = dir.join("bad.json");
        std::fs::write(&path, config).unwrap();
        let e = RunningGateway::start(options(path)).unwrap_err();
        assert!(format!("{e:#}").contains(&format!("groups[1].{field}")), "{e:#}");
    }
}
