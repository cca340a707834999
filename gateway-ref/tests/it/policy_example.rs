//! The complete policy example (`examples/gateway/policies.json` and its TOML twin): both files
//! hold the same configuration, it compiles, it uses every policy type, and a gateway runs on it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::policy_support;

use std::collections::BTreeSet;
use std::path::PathBuf;

use apig::Algorithm;
use apig_gateway::ConfigFile;
use apig_gateway::routing::Runtime;
use apig_gateway::server::RunningGateway;
use common::{assert_apig, send, signed_headers};
use policy_support::get;

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/gateway").join(name)
}

#[test]
fn json_and_toml_examples_are_the_same_valid_config_with_every_policy() {
    let json = ConfigFile::load(&example("policies.json")).unwrap();
    let toml = ConfigFile::load(&example("policies.toml")).unwrap();
    assert_eq!(json, toml);
    Runtime::compile(json.clone(), &example("policies.json")).unwrap();
    let kinds: BTreeSet<&str> = json.policies.iter().map(|p| p.kind.as_str()).collect();
    // every type of the gateway's one table of policy types
    let all: BTreeSet<&str> = apig_gateway::policy::TYPES.iter().map(|t| t.name).collect();
    assert_eq!(kinds, all);
    // every policy is bound to an API
    let bound: BTreeSet<&str> =
        json.groups.iter().flat_map(|g| &g.apis).flat_map(|a| &a.policies).map(String::as_str).collect();
    let defined: BTreeSet<&str> = json.policies.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(bound, defined);
}

#[test]
fn a_gateway_runs_the_example() {
    let gw = RunningGateway::start(common::options(example("policies.json"))).unwrap();
    let a = gw.addr();
    let r = get(a, "/v1/catalog", &[("Origin", "https://shop.example.com")]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    assert_eq!(r.header("server"), Some("apig-gateway"));
    assert_eq!(r.header("access-control-allow-origin"), Some("https://shop.example.com"));

    // the orders chain: access control and throttling pass, the authorizer needs its X-Token
    let key = "4f8b1c2d3e4a5b6c7d8e9f0a1b2c3d4e";
    let secret = "change-me-0123456789abcdef0123456789abcdef";
    let h =
        signed_headers(a, "GET", "/v1/orders", &[("Host", "shop.test")], b"", key, secret, Algorithm::SdkHmacSha256);
    let r = send(a, "GET", "/v1/orders", &h, b"");
    assert_apig(&r, 401, "APIG.0313");
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    // a caller outside the allowed ranges is refused before anything else
    assert_apig(&get(a, "/v1/orders", &[("X-Forwarded-For", "198.51.100.9")]), 403, "APIG.0402");
}
