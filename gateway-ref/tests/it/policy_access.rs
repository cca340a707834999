//! Access control over real sockets: IP / CIDR allow and deny lists (APIG.0402), an unreadable
//! forwarded client IP (APIG.0401), app-key allow and deny lists (APIG.0405).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::policy_support;

use apig::Algorithm;
use common::{assert_apig, send, signed_headers, temp_dir};
use policy_support::get;

const CONFIG: &str = r#"{
  "groups": [{"id": "g", "apis": [
    {"id": "deny-lo", "method": "GET", "path": "/deny-lo", "auth": "none", "backend": {"url": "echo:"}, "policies": ["deny-loopback"]},
    {"id": "allow-lo", "method": "GET", "path": "/allow-lo", "auth": "none", "backend": {"url": "echo:"}, "policies": ["allow-loopback"]},
    {"id": "allow-10", "method": "GET", "path": "/allow-10", "auth": "none", "backend": {"url": "echo:"}, "policies": ["allow-ten"]},
    {"id": "lb", "method": "GET", "path": "/lb", "auth": "none", "backend": {"url": "echo:"}, "policies": ["behind-lb"]},
    {"id": "apps", "method": "GET", "path": "/apps", "auth": "app", "backend": {"url": "echo:"}, "policies": ["no-a2"]},
    {"id": "only", "method": "GET", "path": "/only", "auth": "app", "backend": {"url": "echo:"}, "policies": ["only-a2"]}
  ]}],
  "environments": [{"name": "RELEASE", "published": ["deny-lo", "allow-lo", "allow-10", "lb", "apps", "only"]}],
  "apps": [{"id": "a1", "key": "AK1", "secret": "SK1-secret"}, {"id": "a2", "key": "AK2", "secret": "SK2-secret"}],
  "authorizations": [{"app": "a1", "api": "apps"}, {"app": "a2", "api": "apps"}, {"app": "a1", "api": "only"}, {"app": "a2", "api": "only"}],
  "policies": [
    {"name": "deny-loopback", "type": "access_control", "config": {"ip_deny": ["127.0.0.0/8"]}},
    {"name": "allow-loopback", "type": "access_control", "config": {"ip_allow": ["10.0.0.0/8", "127.0.0.1"], "ip_deny": ["10.6.6.6"]}},
    {"name": "allow-ten", "type": "access_control", "config": {"ip_allow": ["10.0.0.0/8"]}},
    {"name": "behind-lb", "type": "access_control", "config": {"ip_allow": ["192.0.2.0/24"], "client_ip_header": "X-Forwarded-For"}},
    {"name": "no-a2", "type": "access_control", "config": {"app_deny": ["AK2"]}},
    {"name": "only-a2", "type": "access_control", "config": {"app_allow": ["AK2"]}}
  ]
}"#;

fn signed(addr: std::net::SocketAddr, target: &str, key: &str, secret: &str) -> apig_conformance::client::RawResponse {
    let h = signed_headers(addr, "GET", target, &[("Host", "api.test")], b"", key, secret, Algorithm::SdkHmacSha256);
    send(addr, "GET", target, &h, b"")
}

#[test]
fn ip_lists() {
    let (gw, _) = common::start_in(&temp_dir("acl-ip"), CONFIG);
    let a = gw.addr();
    let msg = assert_apig(&get(a, "/deny-lo", &[]), 403, "APIG.0402");
    assert_eq!(msg, "The IP address is not authorized");
    assert_eq!(get(a, "/allow-lo", &[]).status, 200);
    assert_apig(&get(a, "/allow-10", &[]), 403, "APIG.0402");
    // the forwarded client IP decides behind a load balancer; the peer (127.0.0.1) does not
    assert_eq!(get(a, "/lb", &[("X-Forwarded-For", "192.0.2.7, 10.1.1.1")]).status, 200);
    assert_apig(&get(a, "/lb", &[("X-Forwarded-For", "198.51.100.1")]), 403, "APIG.0402");
    // no header: the peer address, not allowed here
    assert_apig(&get(a, "/lb", &[]), 403, "APIG.0402");
    let msg = assert_apig(&get(a, "/lb", &[("X-Forwarded-For", "not-an-ip")]), 403, "APIG.0401");
    assert_eq!(msg, "Unknown client IP address");
}

#[test]
fn app_lists() {
    let (gw, _) = common::start_in(&temp_dir("acl-app"), CONFIG);
    let a = gw.addr();
    assert_eq!(signed(a, "/apps", "AK1", "SK1-secret").status, 200);
    let msg = assert_apig(&signed(a, "/apps", "AK2", "SK2-secret"), 403, "APIG.0405");
    assert_eq!(msg, "The app is not authorized by the access control policy");
    assert_apig(&signed(a, "/only", "AK1", "SK1-secret"), 403, "APIG.0405");
    assert_eq!(signed(a, "/only", "AK2", "SK2-secret").status, 200);
    // authentication still comes first: a bad signature is APIG.0303, not an ACL answer
    assert_apig(&signed(a, "/only", "AK2", "wrong"), 401, "APIG.0303");
}
