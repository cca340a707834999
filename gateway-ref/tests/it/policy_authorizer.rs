//! Third-party authorizer over real sockets: allow (with context forwarded to the backend),
//! deny (APIG.0312), a missing identity source (APIG.0313), the authorizer failing, slow or down
//! (APIG.0314 when strict, let through when relaxed), and the TTL cache.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::policy_support;

use std::sync::Arc;
use std::time::Duration;

use common::{assert_apig, closed_port};
use policy_support::{Answer, Received, TestServer, eventually, get, read_log, start_logged};

fn authorizer() -> TestServer {
    TestServer::start(Arc::new(|r: &Received| {
        let req: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
        let token = req["headers"]["X-Token"].as_str().unwrap_or("");
        let ticket = req["query"]["ticket"].as_str().unwrap_or("");
        match (token, ticket) {
            ("good", "t1") => Answer::json(200, r#"{"status":"allow","context":{"user":"alice","level":3}}"#),
            ("bad", _) => Answer::json(200, r#"{"status":"deny"}"#),
            ("forbidden", _) => Answer::json(403, "{}"),
            ("broken", _) => Answer::json(500, "{}"),
            ("garbage", _) => Answer::json(200, "not json"),
            ("slow", _) => Answer { delay: Duration::from_millis(1500), ..Answer::json(200, r#"{"status":"allow"}"#) },
            _ => Answer::json(200, r#"{"status":"deny"}"#),
        }
    }))
}

fn config(authz: u16, down: u16) -> String {
    let sources = r#"[{"location": "header", "name": "X-Token"}, {"location": "query", "name": "ticket"}]"#;
    format!(
        r#"{{
  "groups": [{{"id": "g", "apis": [
    {{"id": "strict", "method": "GET", "path": "/strict", "auth": "none", "backend": {{"url": "echo:"}}, "policies": ["sso"]}},
    {{"id": "down", "method": "GET", "path": "/down", "auth": "none", "backend": {{"url": "echo:"}}, "policies": ["sso-down"]}},
    {{"id": "relaxed", "method": "GET", "path": "/relaxed", "auth": "none", "backend": {{"url": "echo:"}}, "policies": ["sso-relaxed"]}}
  ]}}],
  "environments": [{{"name": "RELEASE", "published": ["strict", "down", "relaxed"]}}],
  "policies": [
    {{"name": "sso", "type": "authorizer", "config": {{"url": "http://127.0.0.1:{authz}/authorize", "identity_sources": {sources},
       "ttl_seconds": 60, "timeout_ms": 300}}}},
    {{"name": "sso-down", "type": "authorizer", "config": {{"url": "http://127.0.0.1:{down}/authorize", "identity_sources": {sources}}}}},
    {{"name": "sso-relaxed", "type": "authorizer", "config": {{"url": "http://127.0.0.1:{down}/authorize", "identity_sources": {sources},
       "mode": "relaxed"}}}}
  ]
}}"#
    )
}

fn echoed_header(r: &apig_conformance::client::RawResponse, name: &str) -> Vec<String> {
    r.json().unwrap()["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p[0] == name)
        .map(|p| p[1].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn allow_deny_missing_and_cache() {
    let authz = authorizer();
    let (gw, _, log) = start_logged("authorizer", &config(authz.port, closed_port()));
    let a = gw.addr();

    let r = get(a, "/strict?ticket=t1", &[("X-Token", "good"), ("X-Auth-User", "mallory")]);
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert_eq!(echoed_header(&r, "x-auth-user"), ["alice"], "the context replaces what the client sent");
    assert_eq!(echoed_header(&r, "x-auth-level"), ["3"]);
    assert_eq!(authz.hits(), 1);
    // cached for the TTL: no second call
    assert_eq!(get(a, "/strict?ticket=t1", &[("X-Token", "good")]).status, 200);
    assert_eq!(authz.hits(), 1);

    let msg = assert_apig(&get(a, "/strict?ticket=t1", &[("X-Token", "bad")]), 401, "APIG.0312");
    assert_eq!(msg, "Incorrect third-party authentication information");
    assert_apig(&get(a, "/strict?ticket=t1", &[("X-Token", "forbidden")]), 401, "APIG.0312");
    // a denial is cached too
    let before = authz.hits();
    assert_apig(&get(a, "/strict?ticket=t1", &[("X-Token", "bad")]), 401, "APIG.0312");
    assert_eq!(authz.hits(), before);

    let msg = assert_apig(&get(a, "/strict", &[("X-Token", "good")]), 401, "APIG.0313");
    assert!(msg.ends_with("query ticket"), "{msg}");
    assert_apig(&get(a, "/strict?ticket=t1", &[]), 401, "APIG.0313");
    assert_eq!(authz.hits(), before, "no call without the identity sources");

    let cached = eventually(Duration::from_secs(3), || {
        read_log(&log).iter().filter(|r| r["extra"]["authorizer"] == "cached").count() == 2
    });
    assert!(cached, "the cached answers are marked in the access log");
}

#[test]
fn authorizer_failures_fail_closed_unless_relaxed() {
    let authz = authorizer();
    let (gw, _, log) = start_logged("authorizer-down", &config(authz.port, closed_port()));
    let a = gw.addr();
    for (token, why) in [("broken", "answered HTTP 500"), ("garbage", "not the expected JSON")] {
        let msg = assert_apig(&get(a, "/strict?ticket=x", &[("X-Token", token)]), 502, "APIG.0314");
        assert!(msg.contains(why), "{msg}");
    }
    let started = std::time::Instant::now();
    let msg = assert_apig(&get(a, "/strict?ticket=x", &[("X-Token", "slow")]), 502, "APIG.0314");
    assert!(msg.contains("no answer within 300 ms"), "{msg}");
    assert!(started.elapsed() < Duration::from_millis(1200), "{:?}", started.elapsed());

    let msg = assert_apig(&get(a, "/down?ticket=x", &[("X-Token", "good")]), 502, "APIG.0314");
    assert!(msg.contains("connection failed"), "{msg}");
    let r = get(a, "/relaxed?ticket=x", &[("X-Token", "good")]);
    assert_eq!(r.status, 200, "relaxed mode lets the request through");
    assert!(echoed_header(&r, "x-auth-user").is_empty());
    // relaxed still needs the identity sources
    assert_apig(&get(a, "/relaxed", &[]), 401, "APIG.0313");
    let bypassed =
        eventually(Duration::from_secs(3), || read_log(&log).iter().any(|r| r["extra"]["authorizer"] == "bypassed"));
    assert!(bypassed);
}
