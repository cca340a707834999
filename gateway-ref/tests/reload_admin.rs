//! Configuration reload under load, refused bad configs, and the admin API's persisted changes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cloned_ref_to_slice_refs)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use apig::Algorithm;
use apig_conformance::client;
use apig_gateway::server::{AdminOptions, RunningGateway};
use common::*;

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn reload_under_load_loses_no_request_and_bad_configs_are_refused() {
    let dir = temp_dir("reload");
    let config = base_config(echo_backend());
    let (gw, path) = start_in(&dir, &config);
    let addr = gw.addr();
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, bad) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (stop, ok, bad) = (Arc::clone(&stop), Arc::clone(&ok), Arc::clone(&bad));
            std::thread::spawn(move || {
                let mut errors = Vec::new();
                for _ in 0..2000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let r = signed(addr, "POST", "/echo", b"payload");
                    if r.status == 200 {
                        ok.fetch_add(1, Ordering::Relaxed);
                    } else {
                        bad.fetch_add(1, Ordering::Relaxed);
                        errors.push(format!("{} {}", r.status, String::from_utf8_lossy(&r.body)));
                    }
                }
                errors
            })
        })
        .collect();
    // alternate two valid configs and a broken one while the clients run
    let staged = config.replace("\"published\": [\"staged\"]", "\"published\": [\"staged\", \"open\"]");
    for i in 0..12 {
        let text = match i % 3 {
            0 => staged.clone(),
            1 => "{ \"groups\": [ this is not json".to_owned(),
            _ => config.clone(),
        };
        apig_gateway::admin::write_atomically(&path, text.as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(150));
    }
    stop.store(true, Ordering::Relaxed);
    let errors: Vec<String> = clients.into_iter().flat_map(|c| c.join().unwrap()).collect();
    assert!(errors.is_empty(), "{} requests failed during reloads: {:?}", errors.len(), &errors[..errors.len().min(5)]);
    assert!(ok.load(Ordering::Relaxed) > 100, "too few requests ran: {}", ok.load(Ordering::Relaxed));
    assert_eq!(bad.load(Ordering::Relaxed), 0);

    // a broken file leaves the running config in place; a good one takes effect
    let host = ("Host".to_owned(), addr.to_string());
    let stage_test = ("X-Stage".to_owned(), "TEST".to_owned());
    apig_gateway::admin::write_atomically(&path, b"{\"groups\": 5}").unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(signed(addr, "GET", "/echo", b"").status, 200);
    apig_gateway::admin::write_atomically(&path, staged.as_bytes()).unwrap();
    wait_until("the new config", || send(addr, "GET", "/open", &[host.clone(), stage_test.clone()], b"").status == 200);
}

const TOKEN: &str = "admin-token-0123456789";

fn admin(addr: std::net::SocketAddr, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    let auth = format!("Bearer {TOKEN}");
    let h = [("Host", "admin"), ("Authorization", auth.as_str()), ("Content-Type", "application/json")];
    let r = client::request(addr, method, path, &h, body.as_bytes()).unwrap();
    (r.status, r.json().unwrap_or_default())
}

fn start_admin(path: &std::path::Path) -> RunningGateway {
    let mut o = options(path.to_path_buf());
    o.admin = Some(AdminOptions { listen: ([127, 0, 0, 1], 0).into(), token: TOKEN.to_owned() });
    RunningGateway::start(o).unwrap()
}

#[test]
fn admin_api_changes_apply_and_persist() {
    let dir = temp_dir("admin");
    let path = dir.join("gateway.json");
    std::fs::write(&path, base_config(echo_backend())).unwrap();
    let gw = start_admin(&path);
    let (addr, adm) = (gw.addr(), gw.admin_addr().unwrap());
    let call = |key: &str, secret: &str| {
        let h = signed_headers(addr, "GET", "/echo", &[], b"", key, secret, Algorithm::SdkHmacSha256);
        send(addr, "GET", "/echo", &h, b"")
    };

    // the token is required
    let r =
        client::request(adm, "GET", "/v1/apps", &[("Host", "admin"), ("Authorization", "Bearer wrong")], b"").unwrap();
    assert_eq!(r.status, 401);
    let (s, apps) = admin(adm, "GET", "/v1/apps", "");
    assert_eq!(s, 200);
    assert!(!apps.to_string().contains("SK1-secret"), "secrets are not listed");

    // create: known but not authorised -> 403; authorise -> 200
    let (s, created) = admin(adm, "POST", "/v1/apps", r#"{"id":"new","key":"NEWKEY"}"#);
    assert_eq!(s, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 64);
    assert_eq!(call("NEWKEY", &secret).status, 403);
    assert_eq!(admin(adm, "POST", "/v1/apps/new/authorizations", r#"{"api":"echo"}"#).0, 201);
    assert_eq!(call("NEWKEY", &secret).status, 200);
    // invalid changes are refused and change nothing
    assert_eq!(admin(adm, "POST", "/v1/apps/new/authorizations", r#"{"api":"no-such-api"}"#).0, 422);
    assert_eq!(admin(adm, "POST", "/v1/apps", r#"{"id":"new"}"#).0, 409);

    // persisted: a new gateway on the same file knows the app
    gw.stop();
    let gw = start_admin(&path);
    let (addr, adm) = (gw.addr(), gw.admin_addr().unwrap());
    let call = |key: &str, secret: &str| {
        let h = signed_headers(addr, "GET", "/echo", &[], b"", key, secret, Algorithm::SdkHmacSha256);
        send(addr, "GET", "/echo", &h, b"")
    };
    assert_eq!(call("NEWKEY", &secret).status, 200);

    // reset the secret
    let (s, reset) = admin(adm, "POST", "/v1/apps/new/reset-secret", "");
    assert_eq!(s, 200);
    let new_secret = reset["secret"].as_str().unwrap().to_owned();
    assert_apig(&call("NEWKEY", &secret), 401, "APIG.0303");
    assert_eq!(call("NEWKEY", &new_secret).status, 200);

    // unpublish / publish
    assert_eq!(admin(adm, "DELETE", "/v1/environments/RELEASE/apis/echo", "").0, 200);
    assert_apig(&call("NEWKEY", &new_secret), 404, "APIG.0101");
    assert_eq!(admin(adm, "PUT", "/v1/environments/RELEASE/apis/echo", "").0, 200);
    assert_eq!(call("NEWKEY", &new_secret).status, 200);

    // withdraw the authorisation, then delete the app
    assert_eq!(admin(adm, "DELETE", "/v1/apps/new/authorizations/echo", "").0, 200);
    assert_apig(&call("NEWKEY", &new_secret), 403, "APIG.0304");
    assert_eq!(admin(adm, "DELETE", "/v1/apps/new", "").0, 200);
    let msg = assert_apig(&call("NEWKEY", &new_secret), 401, "APIG.0303");
    assert!(msg.ends_with("app not found, appkey NEWKEY"), "{msg}");

    // the file on disk is the running config, valid, with no temporary files left
    let on_disk = apig_gateway::config::ConfigFile::load(&path).unwrap();
    assert!(on_disk.apps.iter().all(|a| a.id != "new"));
    let leftovers: Vec<_> =
        std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()).filter(|e| e.file_name() != "gateway.json").collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
