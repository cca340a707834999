//! Policies defined and bound through the admin API, over real sockets: a throttling policy bound
//! to an API refuses requests, unbound lets them pass; replacing a definition applies at once; the
//! file watcher's reload of the admin-written file keeps the counters; a hand edit of the file
//! replaces admin changes; bad input gets 400 with the policy type's own message, missing objects
//! 404, conflicts 409; secrets are not shown.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::policy_support;

use std::net::SocketAddr;
use std::time::Duration;

use apig_conformance::client;
use apig_gateway::config::ConfigFile;
use apig_gateway::server::{AdminOptions, RunningGateway};
use common::{assert_apig, base_config, echo_backend, options, temp_dir};
use policy_support::{at_window_start, eventually, get};
use serde_json::{Value, json};

const TOKEN: &str = "admin-token-0123456789";

fn admin(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, Value) {
    let auth = format!("Bearer {TOKEN}");
    let h = [("Host", "admin"), ("Authorization", auth.as_str()), ("Content-Type", "application/json")];
    let r = client::request(addr, method, path, &h, body.as_bytes()).unwrap();
    let json = r.json().unwrap_or_else(|| panic!("{method} {path}: not JSON: {:?}", String::from_utf8_lossy(&r.body)));
    (r.status, json)
}

fn start(path: &std::path::Path) -> RunningGateway {
    let mut o = options(path.to_path_buf());
    o.admin = Some(AdminOptions { listen: ([127, 0, 0, 1], 0).into(), token: TOKEN.to_owned() });
    RunningGateway::start(o).unwrap()
}

/// `GET /open` (an `auth: none` API of the base config) through the gateway.
fn open(addr: SocketAddr) -> apig_conformance::client::RawResponse {
    get(addr, "/open", &[])
}

#[test]
fn a_throttling_policy_bound_over_the_admin_api_refuses_and_unbound_passes() {
    let dir = temp_dir("policy-admin");
    let path = dir.join("gateway.json");
    let original = base_config(echo_backend());
    std::fs::write(&path, &original).unwrap();
    let gw = start(&path);
    let (addr, adm) = (gw.addr(), gw.admin_addr().unwrap());

    // the token is required here too
    let r = client::request(adm, "GET", "/v1/policies", &[("Host", "admin")], b"").unwrap();
    assert_eq!(r.status, 401);

    let (s, list) = admin(adm, "GET", "/v1/policies", "");
    assert_eq!(s, 200);
    assert_eq!(list["policies"][0]["name"], "browser");
    assert_eq!(list["policies"][0]["apis"], json!(["cors"]));
    assert_eq!(admin(adm, "GET", "/v1/apis/open/policies", ""), (200, json!({"api": "open", "policies": []})));

    // define, then bind: the 4th request in the hour is refused
    let limit = r#"{"name": "limit", "type": "throttle", "config": {"api_limit": 3, "unit": "hour"}}"#;
    let (s, created) = admin(adm, "POST", "/v1/policies", limit);
    assert_eq!(s, 201, "{created}");
    assert_eq!(
        created,
        json!({"name": "limit", "type": "throttle", "config": {"api_limit": 3, "unit": "hour"}, "apis": []})
    );
    assert_eq!(admin(adm, "POST", "/v1/policies", limit).0, 409);
    at_window_start(3_600_000, 30_000);
    assert_eq!(open(addr).status, 200, "not bound yet: no limit");
    let (s, bound) = admin(adm, "PUT", "/v1/apis/open/policies/limit", "");
    assert_eq!((s, bound), (201, json!({"api": "open", "policies": ["limit"]})));
    assert_eq!(admin(adm, "PUT", "/v1/apis/open/policies/limit", "").0, 200, "binding twice changes nothing");
    for i in 0..3 {
        assert_eq!(open(addr).status, 200, "request {i}");
    }
    let msg = assert_apig(&open(addr), 429, "APIG.0308");
    assert_eq!(msg, "The throttling threshold has been reached: policy api over ratelimit, limit:3, time:1 hour");

    // the watcher sees the admin-written file change; reloading the same content keeps the counters
    std::thread::sleep(Duration::from_millis(600));
    assert_apig(&open(addr), 429, "APIG.0308");
    assert_eq!(admin(adm, "GET", "/v1/policies/limit", "").1["apis"], json!(["open"]));

    // deleting a bound policy is refused; unbinding lets requests through
    let (s, refused) = admin(adm, "DELETE", "/v1/policies/limit", "");
    assert_eq!(s, 409);
    assert_eq!(refused["error"], "policy \"limit\" is bound to APIs [\"open\"]: unbind it first");
    assert_eq!(admin(adm, "DELETE", "/v1/apis/open/policies/limit", ""), (200, json!({"api": "open", "policies": []})));
    assert_eq!(open(addr).status, 200);
    assert_eq!(admin(adm, "DELETE", "/v1/apis/open/policies/limit", "").0, 404);

    // replace the definition (PUT) and bind the whole list: the new limit applies at once
    let (s, replaced) =
        admin(adm, "PUT", "/v1/policies/limit", r#"{"type": "throttle", "config": {"api_limit": 1, "unit": "hour"}}"#);
    assert_eq!(s, 200, "{replaced}");
    let (s, _) = admin(adm, "PUT", "/v1/apis/open/policies", r#"{"policies": ["limit"]}"#);
    assert_eq!(s, 200);
    assert_eq!(open(addr).status, 200);
    let msg = assert_apig(&open(addr), 429, "APIG.0308");
    assert!(msg.ends_with("limit:1, time:1 hour"), "{msg}");

    // persisted in the file, which a new gateway would load
    let on_disk = ConfigFile::load(&path).unwrap();
    assert!(on_disk.policies.iter().any(|p| p.name == "limit" && p.config["api_limit"] == 1));
    let api = on_disk.groups.iter().flat_map(|g| &g.apis).find(|a| a.id == "open").unwrap();
    assert_eq!(api.policies, ["limit"]);

    // the file is the source of truth: a hand edit replaces what the admin API did
    apig_gateway::admin::write_atomically(&path, original.as_bytes()).unwrap();
    assert!(eventually(Duration::from_secs(10), || open(addr).status == 200), "the reload did not unbind");
    assert_eq!(admin(adm, "GET", "/v1/policies/limit", "").0, 404);
}

#[test]
fn bad_input_is_refused_with_clear_messages_and_changes_nothing() {
    let dir = temp_dir("policy-admin-bad");
    let path = dir.join("gateway.json");
    std::fs::write(&path, base_config(echo_backend())).unwrap();
    let before = std::fs::read(&path).unwrap();
    let gw = start(&path);
    let adm = gw.admin_addr().unwrap();
    let post = |body: &str| admin(adm, "POST", "/v1/policies", body);

    // the policy type's own checks, with the messages a config file gets
    let cases = [
        (
            r#"{"name": "t", "type": "throttle", "config": {"api_limit": 1, "interval": 0}}"#,
            "throttle: interval must be > 0",
        ),
        (
            r#"{"name": "t", "type": "throttle", "config": {}}"#,
            "throttle: give at least one of api_limit, user_limit, app_limit, ip_limit, rules",
        ),
        (
            r#"{"name": "a", "type": "access_control", "config": {"ip_allow": ["10.0.0.0/33"]}}"#,
            "access_control: bad prefix",
        ),
        (r#"{"name": "x", "type": "nope"}"#, "unknown policy type \"nope\" (known: cors, throttle,"),
        (r#"{"name": "", "type": "cors"}"#, "the policy name must not be empty"),
        (r#"{"type": "cors"}"#, "bad JSON body: missing field `name`"),
        (r#"{"name": "c", "type": "cors", "colour": 1}"#, "bad JSON body: unknown field `colour`"),
        (r#"{"name": "c", "type": "cors""#, "bad JSON body: EOF while parsing"),
    ];
    for (body, expected) in cases {
        let (s, e) = post(body);
        assert_eq!(s, 400, "{body}: {e}");
        let msg = e["error"].as_str().unwrap();
        assert!(msg.starts_with(expected), "{body}: {msg}");
    }
    let (s, e) = admin(adm, "PUT", "/v1/policies/a", r#"{"name": "b", "type": "cors"}"#);
    assert_eq!((s, e["error"].as_str().unwrap()), (400, "the body names policy \"b\", the path \"a\""));

    // references: unknown API or policy
    let (s, e) = admin(adm, "PUT", "/v1/apis/open/policies/ghost", "");
    assert_eq!((s, e["error"].as_str().unwrap()), (404, "no policy \"ghost\""));
    let (s, e) = admin(adm, "PUT", "/v1/apis/ghost/policies/browser", "");
    assert_eq!((s, e["error"].as_str().unwrap()), (404, "no API \"ghost\""));
    let (s, e) = admin(adm, "GET", "/v1/apis/ghost/policies", "");
    assert_eq!((s, e["error"].as_str().unwrap()), (404, "no API \"ghost\""));
    let (s, e) = admin(adm, "PUT", "/v1/apis/open/policies", r#"{"policies": ["browser", "ghost"]}"#);
    assert_eq!((s, e["error"].as_str().unwrap()), (404, "no policy \"ghost\""));
    let (s, e) = admin(adm, "PUT", "/v1/apis/open/policies", r#"{"policies": "browser"}"#);
    assert_eq!(s, 400, "{e}");
    assert!(e["error"].as_str().unwrap().starts_with("bad JSON body: invalid type: string"), "{e}");
    assert_eq!(admin(adm, "DELETE", "/v1/policies/ghost", "").0, 404);
    assert_eq!(admin(adm, "GET", "/v1/policies/ghost", "").0, 404);

    // nothing was written
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // secrets are not shown, by the policy endpoints nor by /v1/config; names are percent-decoded
    let signing = r#"{"type": "backend_signing", "config": {"key": "gw", "secret": "do-not-show-me"}}"#;
    let (s, shown) = admin(adm, "PUT", "/v1/policies/sign%20it", signing);
    assert_eq!(s, 201, "{shown}");
    assert_eq!(shown["name"], "sign it");
    assert_eq!(shown["config"]["secret"], "***");
    for listing in ["/v1/policies", "/v1/policies/sign%20it", "/v1/config"] {
        let (_, body) = admin(adm, "GET", listing, "");
        assert!(!body.to_string().contains("do-not-show-me"), "{listing}: {body}");
    }
    // the file keeps the real secret
    assert!(String::from_utf8(std::fs::read(&path).unwrap()).unwrap().contains("do-not-show-me"));
}
