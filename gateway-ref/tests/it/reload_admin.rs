//! Configuration reload under load, refused bad configs, and the admin API's persisted changes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cloned_ref_to_slice_refs)]

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use apig::Algorithm;
use apig_conformance::client;
use apig_gateway::config::{App, AppStatus, ConfigFile, Format};
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
    assert_eq!(admin(adm, "POST", "/v1/apps/new/authorizations", r#"{"api":"no-such-api"}"#).0, 404);
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

/// A hand edit of `path`: the file's config with `edit` applied, written in place (as most editors
/// do) or by rename; the text written.
fn hand_edit(path: &std::path::Path, by_rename: bool, edit: impl FnOnce(&mut ConfigFile)) -> String {
    let mut config = ConfigFile::load(path).unwrap();
    edit(&mut config);
    let text = config.to_text(Format::Json).unwrap();
    if by_rename {
        apig_gateway::admin::write_atomically(path, text.as_bytes()).unwrap();
    } else {
        std::fs::write(path, &text).unwrap();
    }
    text
}

fn app(id: &str) -> App {
    App {
        id: id.to_owned(),
        name: None,
        key: format!("KEY-{id}"),
        secret: format!("secret-of-{id}"),
        status: AppStatus::Active,
        app_codes: Vec::new(),
    }
}

#[test]
fn a_hand_edit_racing_an_admin_write_is_never_lost() {
    let dir = temp_dir("race");
    let path = dir.join("gateway.json");
    std::fs::write(&path, base_config(echo_backend())).unwrap();
    // the default watch interval: every admin write below comes well within it
    let mut o = options(path.clone());
    o.watch_interval = Some(Duration::from_secs(1));
    o.admin = Some(AdminOptions { listen: ([127, 0, 0, 1], 0).into(), token: TOKEN.to_owned() });
    let gw = RunningGateway::start(o).unwrap();
    let adm = gw.admin_addr().unwrap();
    for i in 0..8 {
        let hand = format!("hand-{i}");
        let written = hand_edit(&path, i % 2 == 1, |c| c.apps.push(app(&hand)));
        let (s, body) = admin(adm, "POST", "/v1/apps", &format!(r#"{{"id":"adm-{i}"}}"#));
        let on_disk = ConfigFile::load(&path).unwrap();
        let ids: Vec<&str> = on_disk.apps.iter().map(|a| a.id.as_str()).collect();
        assert!(ids.contains(&hand.as_str()), "round {i}: the hand edit was lost ({s} {body}): {ids:?}");
        match s {
            201 => {
                assert!(ids.contains(&format!("adm-{i}").as_str()), "round {i}: {ids:?}");
                // the change was applied on top of the edit, and both run
                let (_, apps) = admin(adm, "GET", "/v1/apps", "");
                for id in [hand.clone(), format!("adm-{i}")] {
                    assert!(apps["apps"].as_array().unwrap().iter().any(|a| a["id"] == id), "round {i}: {apps}");
                }
            }
            409 => assert_eq!(std::fs::read_to_string(&path).unwrap(), written, "round {i}: {body}"),
            _ => panic!("round {i}: {s} {body}"),
        }
    }

    // a hand edit the gateway cannot load: every admin write is refused with 409 naming it, and
    // the file is left exactly as edited
    let broken = "{ \"groups\": [ this is not json";
    let unknown_api = hand_edit(&path, false, |c| c.environments[0].published.push("ghost".to_owned()));
    for (edited, why) in [(broken.to_owned(), "gateway.json:1:"), (unknown_api, "unknown API \"ghost\"")] {
        std::fs::write(&path, &edited).unwrap();
        let (s, body) = admin(adm, "POST", "/v1/apps", r#"{"id":"refused"}"#);
        assert_eq!(s, 409, "{body}");
        assert_eq!((body["code"].as_str(), body["file"].as_str()), (Some("config_file_edited"), path.to_str()));
        let msg = body["error"].as_str().unwrap();
        assert!(msg.contains("edited") && msg.contains(why), "{msg}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
        assert_eq!(admin(adm, "DELETE", "/v1/apps/a1", "").0, 409);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
    }
}

#[test]
fn unknown_objects_answer_404_as_documented() {
    let dir = temp_dir("admin-404");
    let path = dir.join("gateway.json");
    std::fs::write(&path, base_config(echo_backend())).unwrap();
    let before = std::fs::read(&path).unwrap();
    let gw = start_admin(&path);
    let adm = gw.admin_addr().unwrap();
    let cases = [
        ("PUT", "/v1/environments/STAGING/apis/ghost", "", "no API \"ghost\""),
        ("PUT", "/v1/environments/RELEASE/apis/ghost", "", "no API \"ghost\""),
        ("POST", "/v1/apps/a1/authorizations", r#"{"api":"ghost"}"#, "no API \"ghost\""),
        ("POST", "/v1/apps/ghost/authorizations", r#"{"api":"echo"}"#, "no app \"ghost\""),
        ("DELETE", "/v1/apps/ghost", "", "no app \"ghost\""),
        ("POST", "/v1/apps/ghost/reset-secret", "", "no app \"ghost\""),
        ("DELETE", "/v1/apps/a1/authorizations/ghost", "", "no authorization \"a1/ghost/RELEASE\""),
        ("DELETE", "/v1/environments/STAGING/apis/echo", "", "no environment \"STAGING\""),
        ("DELETE", "/v1/environments/RELEASE/apis/staged", "", "no published API \"staged\""),
        ("PUT", "/v1/apis/open/policies", r#"{"policies":["ghost"]}"#, "no policy \"ghost\""),
    ];
    for (method, target, body, expected) in cases {
        let (s, e) = admin(adm, method, target, body);
        assert_eq!((s, e["error"].as_str().unwrap_or_default()), (404, expected), "{method} {target}");
    }
    assert_eq!(std::fs::read(&path).unwrap(), before, "nothing was written");
}

#[test]
fn the_admin_listener_closes_a_half_sent_request_head() {
    use std::io::{Read, Write};
    let dir = temp_dir("admin-slow");
    let path = dir.join("gateway.json");
    std::fs::write(&path, base_config(echo_backend())).unwrap();
    let gw = start_admin(&path); // header_read_timeout: 2 s (common::options)
    let mut stream = std::net::TcpStream::connect(gw.admin_addr().unwrap()).unwrap();
    stream
        .write_all(format!("GET /v1/apps HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer {TOKEN}\r\n").as_bytes())
        .unwrap();
    let started = Instant::now();
    stream.set_read_timeout(Some(Duration::from_secs(8))).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the connection is still open after {:?}: {e}", started.elapsed()),
        }
    }
    assert!(started.elapsed() < Duration::from_secs(6), "closed after {:?}", started.elapsed());
    // the listener still serves
    assert_eq!(admin(gw.admin_addr().unwrap(), "GET", "/v1/apps", "").0, 200);
}

#[test]
fn ids_and_secrets_are_validated() {
    let dir = temp_dir("admin-ids");
    let path = dir.join("gateway.json");
    std::fs::write(&path, base_config(echo_backend())).unwrap();
    let before = std::fs::read(&path).unwrap();
    let gw = start_admin(&path);
    let adm = gw.admin_addr().unwrap();
    for id in ["a/b", "a b", "a\u{0}b", "", " ", "..", "é"] {
        let (s, e) = admin(adm, "POST", "/v1/apps", &serde_json::json!({ "id": id }).to_string());
        assert_eq!(s, 422, "{id:?}: {e}");
        assert!(e["error"].as_str().unwrap().contains("apps[3].id"), "{id:?}: {e}");
    }
    for secret in ["x", "1234567", &"s".repeat(65)] {
        let body = serde_json::json!({ "id": "short", "secret": secret }).to_string();
        let (s, e) = admin(adm, "POST", "/v1/apps", &body);
        assert_eq!(s, 400, "{secret:?}: {e}");
        let msg = e["error"].as_str().unwrap();
        assert!(msg.contains("8 to 64 characters"), "{msg}");
        let (s, _) =
            admin(adm, "POST", "/v1/apps/a1/reset-secret", &serde_json::json!({ "secret": secret }).to_string());
        assert_eq!(s, 400, "{secret:?}");
    }
    assert_eq!(std::fs::read(&path).unwrap(), before, "nothing was written");
    // 8 and 64 characters are accepted
    for (id, secret) in [("eight", "12345678".to_owned()), ("sixty-four", "s".repeat(64))] {
        let body = serde_json::json!({ "id": id, "secret": secret }).to_string();
        assert_eq!(admin(adm, "POST", "/v1/apps", &body).0, 201, "{id}");
    }
    assert_eq!(admin(adm, "DELETE", "/v1/apps/eight", "").0, 200);
}

#[test]
fn stale_temporary_files_of_a_killed_write_are_removed() {
    let dir = temp_dir("admin-stale");
    let path = dir.join("gateway.json");
    std::fs::write(&path, base_config(echo_backend())).unwrap();
    let stale = |name: &str| {
        let p = dir.join(name);
        std::fs::write(&p, "{ half a conf").unwrap();
        let old = std::time::SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::options().write(true).open(&p).unwrap().set_modified(old).unwrap();
        p
    };
    let at_start = stale(".gateway.json.tmp-999999");
    // a temporary file being written right now (by another process) and unrelated files are kept
    let fresh = dir.join(".gateway.json.tmp-1-1");
    std::fs::write(&fresh, "{").unwrap();
    let other = stale(".other.json.tmp-999999");
    let gw = start_admin(&path);
    wait_until("the stale temporary file removed at start", || !at_start.exists());
    assert!(fresh.exists() && other.exists());
    let at_write = stale(".gateway.json.tmp-999998-3");
    assert_eq!(admin(gw.admin_addr().unwrap(), "POST", "/v1/apps", r#"{"id":"new"}"#).0, 201);
    assert!(!at_write.exists(), "a write removes stale temporary files");
    assert!(fresh.exists() && other.exists());
}

/// A config with API `t` throttled by `limit` (at most `limit_per_hour` calls an hour) and, when
/// `with_u`, an unrelated API `u`.
fn throttled_config(limit_per_hour: u32, with_u: bool) -> String {
    let u =
        if with_u { r#",{"id":"u","method":"GET","path":"/u","auth":"none","backend":{"url":"echo:"}}"# } else { "" };
    let published = if with_u { r#"["t","u"]"# } else { r#"["t"]"# };
    format!(
        r#"{{"groups":[{{"id":"g","apis":[
            {{"id":"t","method":"GET","path":"/t","auth":"none","backend":{{"url":"echo:"}},"policies":["limit"]}}{u}]}}],
          "environments":[{{"name":"RELEASE","published":{published}}}],
          "policies":[{{"name":"limit","type":"throttle","config":{{"api_limit":{limit_per_hour},"interval":1,"unit":"hour"}}}}]}}"#
    )
}

#[test]
fn reloads_and_admin_changes_keep_the_state_of_unchanged_policies_only() {
    let dir = temp_dir("policy-state");
    let path = dir.join("gateway.json");
    std::fs::write(&path, throttled_config(3, false)).unwrap();
    let gw = start_admin(&path);
    let (addr, adm) = (gw.addr(), gw.admin_addr().unwrap());
    let get = |target: &str| {
        client::request(addr, "GET", target, &[("Host", "api.test"), ("X-Apig-Mode", "debug")], b"").unwrap()
    };
    let counter = |r: &client::RawResponse| r.header("x-apig-ratelimit-api").map(str::to_owned);
    assert_eq!(get("/t").status, 200);
    assert_eq!(get("/t").status, 200);

    // a reload that adds an unrelated API: the throttle's counter goes on (1 call left)
    write_atomically_text(&path, &throttled_config(3, true));
    wait_until("API u is served", || get("/u").status == 200);
    let r = get("/t");
    assert_eq!((r.status, counter(&r).as_deref()), (200, Some("remain:0,limit:3,time:1 hour")));
    assert_eq!(get("/t").status, 429);

    // an admin change elsewhere (a new app) keeps it too
    assert_eq!(admin(adm, "POST", "/v1/apps", r#"{"id":"other","key":"OTHERKEY"}"#).0, 201);
    assert_eq!(get("/t").status, 429);

    // a changed throttle definition starts with fresh counters
    write_atomically_text(&path, &throttled_config(5, true));
    let mut first = None;
    wait_until("the new limit", || {
        let r = get("/t");
        first = counter(&r).filter(|c| c.contains("limit:5"));
        first.is_some()
    });
    assert_eq!(first.as_deref(), Some("remain:4,limit:5,time:1 hour"));
}

/// Replaces the config file the way an editor does, atomically (the watcher never sees half).
fn write_atomically_text(path: &std::path::Path, text: &str) {
    apig_gateway::admin::write_atomically(path, text.as_bytes()).unwrap();
}
