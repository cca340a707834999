//! Throttling over real sockets: accuracy (N allowed, N+1 refused with APIG.0308, a new window
//! allows again), the debug headers, per-app exceptions, per-IP and per-user limits, shared scope,
//! and throttling 2.0 rules (a parameter rule with its own limit, an excluded rule).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::policy_support;

use apig::Algorithm;
use common::{assert_apig, send, signed_headers, temp_dir};
use policy_support::{at_window_start, get, next_window};

fn config(policy: &str, apis: &str, auth_apis: &[&str]) -> String {
    let published: Vec<String> = apis_ids(apis);
    let auths: Vec<String> = auth_apis
        .iter()
        .flat_map(|api| [format!(r#"{{"app":"a1","api":"{api}"}}"#), format!(r#"{{"app":"a2","api":"{api}"}}"#)])
        .collect();
    format!(
        r#"{{
      "groups": [{{"id": "g", "apis": [{apis}]}}],
      "environments": [{{"name": "RELEASE", "published": {published:?}}}],
      "apps": [{{"id": "a1", "key": "AK1", "secret": "SK1-secret"}}, {{"id": "a2", "key": "AK2", "secret": "SK2-secret"}}],
      "authorizations": [{}],
      "policies": [{policy}]
    }}"#,
        auths.join(",")
    )
}

fn apis_ids(apis: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(&format!("[{apis}]")).unwrap();
    v.as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect()
}

fn signed_as(
    addr: std::net::SocketAddr,
    target: &str,
    key: &str,
    secret: &str,
    extra: &[(&str, &str)],
) -> apig_conformance::client::RawResponse {
    let mut headers = vec![("Host", "api.test")];
    headers.extend_from_slice(extra);
    let h = signed_headers(addr, "GET", target, &headers, b"", key, secret, Algorithm::SdkHmacSha256);
    send(addr, "GET", target, &h, b"")
}

#[test]
fn n_allowed_then_429_then_the_next_window_allows_again() {
    let apis = r#"{"id": "t", "method": "GET", "path": "/t", "auth": "none", "backend": {"url": "echo:"}, "policies": ["limit"]}"#;
    let policy =
        r#"{"name": "limit", "type": "throttle", "config": {"api_limit": 5, "interval": 2, "unit": "second"}}"#;
    let (gw, _) = common::start_in(&temp_dir("throttle-accuracy"), &config(policy, apis, &[]));
    at_window_start(2000, 1500);
    for round in 0..2 {
        if round > 0 {
            // the window has ended: the same client is allowed again
            next_window(2000);
        }
        for i in 1..=5 {
            let r = get(gw.addr(), "/t", &[("X-Apig-Mode", "debug")]);
            assert_eq!(r.status, 200, "round {round} request {i}: {:?}", r.json());
            let expected = format!("remain:{},limit:5,time:2 second", 5 - i);
            assert_eq!(r.header("x-apig-ratelimit-api"), Some(expected.as_str()), "round {round} request {i}");
        }
        let r = get(gw.addr(), "/t", &[("X-Apig-Mode", "debug")]);
        let msg = assert_apig(&r, 429, "APIG.0308");
        assert_eq!(msg, "The throttling threshold has been reached: policy api over ratelimit, limit:5, time:2 second");
        assert_eq!(r.header("x-apig-ratelimit-api"), Some("remain:0,limit:5,time:2 second"));
        // without debug mode no counter header is shown
        let r = get(gw.addr(), "/t", &[]);
        assert_eq!(r.status, 429);
        assert_eq!(r.header("x-apig-ratelimit-api"), None);
    }
}

#[test]
fn per_app_limits_with_a_special_app_and_per_ip_limits() {
    let apis = r#"{"id": "s", "method": "GET", "path": "/s", "auth": "app", "backend": {"url": "echo:"}, "policies": ["apps"]},
                  {"id": "o", "method": "GET", "path": "/o", "auth": "none", "backend": {"url": "echo:"}, "policies": ["ips"]}"#;
    let policy = r#"{"name": "apps", "type": "throttle", "config": {"app_limit": 2, "interval": 1, "unit": "minute",
                        "special_apps": [{"app": "a2", "limit": 4}]}},
                    {"name": "ips", "type": "throttle", "config": {"ip_limit": 3, "interval": 1, "unit": "minute"}}"#;
    let (gw, _) = common::start_in(&temp_dir("throttle-apps"), &config(policy, apis, &["s"]));
    at_window_start(60_000, 5_000);
    let a = gw.addr();
    for _ in 0..2 {
        assert_eq!(signed_as(a, "/s", "AK1", "SK1-secret", &[]).status, 200);
    }
    let r = signed_as(a, "/s", "AK1", "SK1-secret", &[("X-Apig-Mode", "debug")]);
    let msg = assert_apig(&r, 429, "APIG.0308");
    assert!(msg.ends_with("policy app over ratelimit, limit:2, time:1 minute"), "{msg}");
    assert_eq!(r.header("x-apig-ratelimit-app"), Some("remain:0,limit:2,time:1 minute"));
    // the special app has its own, higher limit
    for i in 0..4 {
        assert_eq!(signed_as(a, "/s", "AK2", "SK2-secret", &[]).status, 200, "a2 request {i}");
    }
    assert_apig(&signed_as(a, "/s", "AK2", "SK2-secret", &[]), 429, "APIG.0308");

    for _ in 0..3 {
        assert_eq!(get(a, "/o", &[]).status, 200);
    }
    let msg = assert_apig(&get(a, "/o", &[]), 429, "APIG.0308");
    assert!(msg.contains("policy ip over ratelimit, limit:3, time:1 minute"), "{msg}");
}

#[test]
fn per_user_limits_and_shared_scope_across_apis() {
    let apis = r#"{"id": "u1", "method": "GET", "path": "/u1", "auth": "none", "backend": {"url": "echo:"}, "policies": ["users"]},
                  {"id": "u2", "method": "GET", "path": "/u2", "auth": "none", "backend": {"url": "echo:"}, "policies": ["users"]},
                  {"id": "p1", "method": "GET", "path": "/p1", "auth": "none", "backend": {"url": "echo:"}, "policies": ["per-api"]},
                  {"id": "p2", "method": "GET", "path": "/p2", "auth": "none", "backend": {"url": "echo:"}, "policies": ["per-api"]}"#;
    let policy = r#"{"name": "users", "type": "throttle", "config": {"user_limit": 2, "unit": "hour", "scope": "shared",
                        "special_users": [{"user": "vip", "limit": 3}]}},
                    {"name": "per-api", "type": "throttle", "config": {"api_limit": 1, "unit": "hour"}}"#;
    let (gw, _) = common::start_in(&temp_dir("throttle-users"), &config(policy, apis, &[]));
    let a = gw.addr();
    at_window_start(3_600_000, 10_000);
    // shared: alice's 2 requests are counted across both APIs
    assert_eq!(get(a, "/u1", &[("X-User-Id", "alice")]).status, 200);
    assert_eq!(get(a, "/u2", &[("X-User-Id", "alice")]).status, 200);
    let msg = assert_apig(&get(a, "/u1", &[("X-User-Id", "alice")]), 429, "APIG.0308");
    assert!(msg.contains("policy user over ratelimit, limit:2, time:1 hour"), "{msg}");
    assert_eq!(get(a, "/u2", &[("X-User-Id", "bob")]).status, 200);
    for _ in 0..3 {
        assert_eq!(get(a, "/u1", &[("X-User-Id", "vip")]).status, 200);
    }
    assert_eq!(get(a, "/u1", &[("X-User-Id", "vip")]).status, 429);
    // no user: no user limit
    for _ in 0..3 {
        assert_eq!(get(a, "/u1", &[]).status, 200);
    }
    // per API (default scope): each API has its own counter
    assert_eq!(get(a, "/p1", &[]).status, 200);
    assert_eq!(get(a, "/p2", &[]).status, 200);
    assert_eq!(get(a, "/p1", &[]).status, 429);
    assert_eq!(get(a, "/p2", &[]).status, 429);
}

#[test]
fn throttling_2_rules_on_parameters_and_excluded_rules() {
    let apis = r#"{"id": "r", "method": "GET", "path": "/r", "match": "prefix", "auth": "none", "backend": {"url": "echo:"}, "policies": ["rules"]}"#;
    let policy = r#"{"name": "rules", "type": "throttle", "config": {"api_limit": 100, "unit": "hour", "rules": [
        {"name": "health", "exclude": true, "conditions": [{"param": "path", "op": "prefix", "value": "/r/health"}]},
        {"name": "free", "limit": 2, "conditions": [{"param": "header:X-Tier", "op": "equals", "value": "free"}], "count_by": "query:tenant"},
        {"name": "loopback", "limit": 4, "conditions": [{"param": "client_ip", "op": "cidr", "values": ["127.0.0.0/8"]},
                                                        {"param": "system:method", "op": "in", "values": ["GET"]}]}
    ]}}"#;
    let (gw, _) = common::start_in(&temp_dir("throttle-rules"), &config(policy, apis, &[]));
    let a = gw.addr();
    at_window_start(3_600_000, 10_000);
    // the "free" rule counts per tenant
    for tenant in ["t1", "t2"] {
        for _ in 0..2 {
            assert_eq!(get(a, &format!("/r?tenant={tenant}"), &[("X-Tier", "free")]).status, 200);
        }
    }
    let r = get(a, "/r?tenant=t1", &[("X-Tier", "free"), ("X-Apig-Mode", "debug")]);
    let msg = assert_apig(&r, 429, "APIG.0308");
    assert!(msg.contains("policy rule:free over ratelimit, limit:2, time:1 hour"), "{msg}");
    assert_eq!(r.header("x-apig-ratelimit-rule"), Some("remain:0,limit:2,time:1 hour"));
    assert_eq!(r.header("x-apig-ratelimit-api"), Some("remain:95,limit:100,time:1 hour"));
    // other requests fall to the next rule (first match wins): 4 from loopback
    for _ in 0..4 {
        assert_eq!(get(a, "/r", &[("X-Tier", "gold")]).status, 200);
    }
    let msg = assert_apig(&get(a, "/r", &[]), 429, "APIG.0308");
    assert!(msg.contains("policy rule:loopback"), "{msg}");
    // the excluded rule is never throttled, not even by the basic limit
    for _ in 0..10 {
        assert_eq!(get(a, "/r/health", &[("X-Apig-Mode", "debug")]).status, 200);
    }
    assert_eq!(get(a, "/r/health", &[("X-Apig-Mode", "debug")]).header("x-apig-ratelimit-api"), None);
}
