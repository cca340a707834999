//! CORS and response header management over real sockets: a browser's preflight for a signed
//! API (Authorization, X-Sdk-Date, X-Sdk-Content-Sha256), CORS headers on normal and error
//! responses, and header rules (override / append / delete / skip / add) on backend answers and
//! on the gateway's own errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::policy_support;

use std::sync::Arc;

use apig::Algorithm;
use apig_conformance::client;
use common::{assert_apig, send, signed_headers, temp_dir};
use policy_support::{Answer, Received, TestServer};

const CONFIG: &str = r#"{
  "groups": [{"id": "g", "apis": [
    {"id": "signed", "method": "POST", "path": "/signed", "auth": "app", "backend": {"url": "http://127.0.0.1:ECHO"},
     "policies": ["browser", "headers"]}
  ]}],
  "environments": [{"name": "RELEASE", "published": ["signed"]}],
  "apps": [{"id": "a1", "key": "AK1", "secret": "SK1-secret"}],
  "authorizations": [{"app": "a1", "api": "signed"}],
  "policies": [
    {"name": "browser", "type": "cors", "config": {
      "allow_origins": ["https://app.example.com"], "allow_methods": ["POST"],
      "allow_headers": ["Authorization", "X-Sdk-Date", "X-Sdk-Content-Sha256", "Content-Type"],
      "expose_headers": ["X-Request-Id", "X-Custom"], "max_age": 600, "allow_credentials": true}},
    {"name": "headers", "type": "response_headers", "config": {"rules": [
      {"action": "override", "name": "Content-Type", "value": "application/json; charset=utf-8"},
      {"action": "append", "name": "Cache-Control", "value": "no-store"},
      {"action": "delete", "name": "X-Backend-Only"},
      {"action": "skip", "name": "X-Custom", "value": "from-gateway"},
      {"action": "add", "name": "X-Frame-Options", "value": "DENY"}]}}
  ]
}"#;

fn all<'a>(r: &'a client::RawResponse, name: &str) -> Vec<&'a str> {
    r.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
}

#[test]
fn preflight_and_cors_headers_on_normal_and_error_responses() {
    let echo = common::echo_backend();
    let (gw, _) = common::start_in(&temp_dir("cors"), &CONFIG.replace("ECHO", &echo.to_string()));
    let a = gw.addr();
    let preflight = client::request(
        a,
        "OPTIONS",
        "/signed",
        &[
            ("Host", "api.test"),
            ("Origin", "https://app.example.com"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "authorization,x-sdk-date,x-sdk-content-sha256,content-type"),
        ],
        b"",
    )
    .unwrap();
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("https://app.example.com"));
    assert_eq!(preflight.header("access-control-allow-methods"), Some("POST"));
    let allowed = preflight.header("access-control-allow-headers").unwrap().to_ascii_lowercase();
    for h in ["authorization", "x-sdk-date", "x-sdk-content-sha256", "content-type"] {
        assert!(allowed.contains(h), "{h} not allowed: {allowed}");
    }
    assert_eq!(preflight.header("access-control-max-age"), Some("600"));
    assert_eq!(preflight.header("access-control-allow-credentials"), Some("true"));
    assert!(all(&preflight, "vary").contains(&"Origin"));

    // another origin gets no CORS grant
    let other = client::request(
        a,
        "OPTIONS",
        "/signed",
        &[("Host", "api.test"), ("Origin", "https://evil.example"), ("Access-Control-Request-Method", "POST")],
        b"",
    )
    .unwrap();
    assert_eq!(other.header("access-control-allow-origin"), None);

    // the signed cross-origin call itself
    let body = b"{}";
    let h = signed_headers(
        a,
        "POST",
        "/signed",
        &[("Host", "api.test"), ("Origin", "https://app.example.com"), ("Content-Type", "application/json")],
        body,
        "AK1",
        "SK1-secret",
        Algorithm::SdkHmacSha256,
    );
    let ok = send(a, "POST", "/signed", &h, body);
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("access-control-allow-origin"), Some("https://app.example.com"));
    assert_eq!(ok.header("access-control-expose-headers"), Some("X-Request-Id, X-Custom"));
    assert_eq!(ok.header("access-control-allow-credentials"), Some("true"));

    // an error answer carries them too, so the browser can read the APIG error
    let bad = send(
        a,
        "POST",
        "/signed",
        &[("Host".into(), "api.test".into()), ("Origin".into(), "https://app.example.com".into())],
        b"",
    );
    assert_apig(&bad, 401, "APIG.0303");
    assert_eq!(bad.header("access-control-allow-origin"), Some("https://app.example.com"));
    assert_eq!(bad.header("access-control-expose-headers"), Some("X-Request-Id, X-Custom"));
}

#[test]
fn response_header_rules_on_backend_answers_and_errors() {
    let backend = TestServer::start(Arc::new(|_: &Received| Answer {
        headers: vec![
            ("Cache-Control", "max-age=60"),
            ("X-Backend-Only", "internal"),
            ("X-Custom", "from-backend"),
            ("X-Frame-Options", "SAMEORIGIN"),
        ],
        ..Answer::json(200, "{}")
    }));
    let (gw, _) = common::start_in(&temp_dir("resp-headers"), &CONFIG.replace("ECHO", &backend.port.to_string()));
    let a = gw.addr();
    let body = b"{}";
    let h = signed_headers(
        a,
        "POST",
        "/signed",
        &[("Host", "api.test")],
        body,
        "AK1",
        "SK1-secret",
        Algorithm::SdkHmacSha256,
    );
    let ok = send(a, "POST", "/signed", &h, body);
    assert_eq!(ok.status, 200);
    assert_eq!(all(&ok, "content-type"), ["application/json; charset=utf-8"]);
    assert_eq!(all(&ok, "cache-control"), ["max-age=60,no-store"]);
    assert!(all(&ok, "x-backend-only").is_empty());
    assert_eq!(all(&ok, "x-custom"), ["from-backend"]);
    assert_eq!(all(&ok, "x-frame-options"), ["SAMEORIGIN", "DENY"]);
    assert!(ok.header("x-request-id").is_some());

    let err = send(a, "POST", "/signed", &[("Host".into(), "api.test".into())], b"");
    assert_apig(&err, 401, "APIG.0303");
    assert_eq!(all(&err, "content-type"), ["application/json; charset=utf-8"]);
    assert_eq!(all(&err, "x-frame-options"), ["DENY"]);
    assert_eq!(all(&err, "cache-control"), ["no-store"]);
    assert_eq!(all(&err, "x-custom"), ["from-gateway"]);
}
