//! The `apig-gateway` binary: the demo with its banner, SIGHUP reload, refused configs, `check`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cloned_ref_to_slice_refs)]

use crate::common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use apig::Algorithm;
use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_apig-gateway");

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary and reads its banner up to the line with the address.
fn spawn(args: &[&str]) -> (Running, SocketAddr, Vec<String>) {
    let (child, addr, lines, _) = spawn_command(Command::new(BIN).args(args));
    (child, addr, lines)
}

/// As [`spawn`], with `PATH` set to `path`.
fn spawn_with_path(args: &[&str], path: &str) -> (Running, SocketAddr, Vec<String>) {
    let (child, addr, lines, _) = spawn_command(Command::new(BIN).args(args).env("PATH", path));
    (child, addr, lines)
}

/// As [`spawn`], for a prepared command; also the rest of its stderr, line by line.
fn spawn_command(command: &mut Command) -> (Running, SocketAddr, Vec<String>, std::sync::mpsc::Receiver<String>) {
    let mut child = command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let mut addr = None;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) else { continue };
        if let Some(a) = line.strip_prefix("apig-gateway listening on http://") {
            addr = Some(a.parse().unwrap());
        }
        lines.push(line);
        if addr.is_some() && lines.iter().any(|l| l.contains("apig request") || l.contains("listening")) {
            // read the rest of the banner briefly
            while let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
                lines.push(l);
            }
            break;
        }
    }
    let addr = addr.unwrap_or_else(|| panic!("no banner: {lines:?}"));
    (Running(child), addr, lines, rx)
}

#[test]
fn demo_runs_with_the_documented_keys_and_prints_a_ready_command() {
    // without `apig` on PATH the command runs the CLI from the repository (once: `apig request`,
    // which fails with "command not found")
    let (_child, addr, banner) = spawn_with_path(&["--listen", "127.0.0.1:0", "--access-log", "off"], "/nonexistent");
    let command = format!(
        "APIG_ACCESS_KEY=demo-access-key APIG_SECRET_KEY=demo-secret-key cargo run -q --release -p apig-cli -- request GET 'http://{addr}/demo/echo?hello=world'"
    );
    assert!(banner.iter().any(|l| l.trim() == command), "{banner:?}");
    // with an `apig` on PATH, the short form
    let bin = temp_dir("banner-path");
    let apig = bin.join("apig");
    std::fs::write(&apig, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&apig, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (_other, other_addr, banner) =
        spawn_with_path(&["--listen", "127.0.0.1:0", "--access-log", "off"], bin.to_str().unwrap());
    let short = format!(
        "APIG_ACCESS_KEY=demo-access-key APIG_SECRET_KEY=demo-secret-key apig request GET 'http://{other_addr}/demo/echo?hello=world'"
    );
    assert!(banner.iter().any(|l| l.trim() == short), "{banner:?}");
    for method in ["GET", "POST"] {
        let body: &[u8] = if method == "POST" { b"{\"hi\":1}" } else { b"" };
        let h = signed_headers(
            addr,
            method,
            "/demo/echo?hello=world",
            &[],
            body,
            "demo-access-key",
            "demo-secret-key",
            Algorithm::SdkHmacSha256,
        );
        let r = send(addr, method, "/demo/echo?hello=world", &h, body);
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json().unwrap()["query"], "hello=world");
    }
    let h = signed_headers(addr, "GET", "/demo/echo", &[], b"", "demo-access-key", "wrong", Algorithm::SdkHmacSha256);
    assert_apig(&send(addr, "GET", "/demo/echo", &h, b""), 401, "APIG.0303");
}

#[test]
fn sighup_reloads_the_config() {
    let dir = temp_dir("sighup");
    let path = dir.join("gw.json");
    let config = base_config(echo_backend());
    std::fs::write(&path, &config).unwrap();
    let p = path.to_str().unwrap();
    let (child, addr, _) =
        spawn(&["--listen", "127.0.0.1:0", "--config", p, "--access-log", "off", "--watch-interval-ms", "0"]);
    let host = ("Host".to_owned(), addr.to_string());
    assert_apig(&send(addr, "GET", "/unpublished", &[host.clone()], b""), 404, "APIG.0101");
    std::fs::write(
        &path,
        config
            .replace("\"published\": [\"staged\"]", "\"published\": [\"staged\"]}, {\"name\": \"X\", \"published\": []")
            .replace("\"hosted\"]", "\"hosted\", \"unpublished\"]"),
    )
    .unwrap();
    // no file watching: nothing changes until SIGHUP
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(send(addr, "GET", "/unpublished", &[host.clone()], b"").status, 404);
    let status = Command::new("kill").args(["-HUP", &child.0.id().to_string()]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while send(addr, "GET", "/unpublished", &[host.clone()], b"").status != 200 {
        assert!(Instant::now() < deadline, "SIGHUP did not reload");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn invalid_configs_are_refused_with_position_and_reason() {
    let dir = temp_dir("badcfg");
    let cases = [
        ("bad.json", "{\n  \"groups\": [\n    {\"id\": \"g\", \"apis\": 3}\n  ]\n}\n", "bad.json:3:"),
        ("bad.toml", "[gateway]\nerror_prefix = 7\n", "bad.toml:2:"),
        (
            "ref.json",
            "{\"environments\": [{\"name\": \"RELEASE\", \"published\": [\"ghost\"]}]}",
            "ref.json:environments[0].published[0]: unknown API \"ghost\"",
        ),
    ];
    for (name, text, expected) in cases {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let out =
            Command::new(BIN).args(["--listen", "127.0.0.1:0", "--config", path.to_str().unwrap()]).output().unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{name}: {stderr}");
        let check = Command::new(BIN).args(["check", path.to_str().unwrap()]).output().unwrap();
        assert!(!check.status.success());
    }
}

#[test]
fn the_example_configs_are_valid_and_equal() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/gateway");
    for name in ["gateway.toml", "gateway.json"] {
        let out = Command::new(BIN).args(["check", root.join(name).to_str().unwrap()]).output().unwrap();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let toml = apig_gateway::config::ConfigFile::load(&root.join("gateway.toml")).unwrap();
    let json = apig_gateway::config::ConfigFile::load(&root.join("gateway.json")).unwrap();
    assert_eq!(toml, json);
    // and it serves: the health API and a signed call with the example app
    let dir = temp_dir("example");
    let path = dir.join("gateway.toml");
    std::fs::copy(root.join("gateway.toml"), &path).unwrap();
    let gw = apig_gateway::server::RunningGateway::start(options(path)).unwrap();
    let addr = gw.addr();
    let r = send(addr, "GET", "/health", &[("Host".into(), "api.shop.example.com".into())], b"");
    assert_eq!(r.status, 200);
    let app = &toml.apps[0];
    let h = signed_headers(
        addr,
        "GET",
        "/v1/items?page=2",
        &[("Host", "api.shop.example.com")],
        b"",
        &app.key,
        &app.secret,
        Algorithm::SdkHmacSha256,
    );
    assert_eq!(send(addr, "GET", "/v1/items?page=2", &h, b"").status, 200);
}

const TOKEN: &str = "admin-token-0123456789";

/// The admin address a banner shows.
fn admin_addr(banner: &[String]) -> SocketAddr {
    let line = banner.iter().find_map(|l| l.strip_prefix("admin API on http://"));
    line.unwrap_or_else(|| panic!("no admin address: {banner:?}")).parse().unwrap()
}

fn admin_get(addr: SocketAddr, token: &str) -> u16 {
    let auth = format!("Bearer {token}");
    apig_conformance::client::request(addr, "GET", "/v1/apps", &[("Host", "admin"), ("Authorization", &auth)], b"")
        .unwrap()
        .status
}

#[test]
fn credentials_never_appear_in_config_errors() {
    let dir = temp_dir("redact");
    let path = dir.join("gw.json");
    let good = base_config(echo_backend());
    std::fs::write(&path, &good).unwrap();
    let p = path.to_str().unwrap();
    let (_child, _, banner, stderr) = spawn_command(
        Command::new(BIN)
            .args(["--listen", "127.0.0.1:0", "--config", p, "--access-log", "off", "--watch-interval-ms", "100"])
            .args(["--admin-listen", "127.0.0.1:0"])
            .env("APIG_GATEWAY_ADMIN_TOKEN", TOKEN),
    );
    let admin = admin_addr(&banner);
    let throttle = r#"{"name": "limit", "type": "throttle", "config": {"api_limit": 5, "store":
        {"type": "redis", "url": "rediss+x://u:PASS-WORD-55@h"}}},
    {"name": "browser","#;
    let cases = [
        // an AppCode where a list is expected
        (good.replace(r#""app_codes": ["code-1"]"#, r#""app_codes": "SECRET-CODE-77""#), "SECRET-CODE-77", "app_codes"),
        (good.replace(r#""app_codes": ["code-1"]"#, r#""app_codes": [7777777]"#), "7777777", "app_codes"),
        // a numeric secret, of an app and of a policy
        (good.replace(r#""secret": "SK2-secret""#, r#""secret": 98765432123"#), "98765432123", "secret"),
        (
            good.replace(r#"{"name": "browser","#, r#"{"name": "sign", "type": "backend_signing", "config": {"key": "k", "secret": 4242424242}}, {"name": "browser","#),
            "4242424242",
            "gw.json:policies[0]: backend_signing:",
        ),
        // a URL password
        (good.replace(r#"{"name": "browser","#, throttle), "PASS-WORD-55", "gw.json:policies[0]:"),
    ];
    for (text, secret, shown) in cases {
        assert!(text.contains(secret) && text != good);
        // the watcher's refusal line
        while stderr.try_recv().is_ok() {}
        apig_gateway::admin::write_atomically(&path, text.as_bytes()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let line = loop {
            assert!(Instant::now() < deadline, "no refusal line for {shown}");
            if let Ok(line) = stderr.recv_timeout(Duration::from_millis(100))
                && line.contains("config refused")
            {
                break line;
            }
        };
        assert!(line.contains("gw.json:") && line.contains(shown), "{line}");
        assert!(!line.contains(secret), "the watcher shows the secret: {line}");
        // the admin reload's 422
        let auth = format!("Bearer {TOKEN}");
        let r = apig_conformance::client::request(
            admin,
            "POST",
            "/v1/reload",
            &[("Host", "a"), ("Authorization", &auth)],
            b"",
        )
        .unwrap();
        let body = String::from_utf8_lossy(&r.body);
        assert_eq!(r.status, 422, "{body}");
        assert!(body.contains(shown) && !body.contains(secret), "the reload shows the secret: {body}");
        // apig-gateway check
        let out = Command::new(BIN).args(["check", p]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(err.contains("gw.json:") && err.contains(shown), "{err}");
        assert!(!err.contains(secret), "check shows the secret: {err}");
    }
}

#[test]
fn the_admin_token_can_come_from_a_file_and_the_flag_warns() {
    let dir = temp_dir("token");
    let path = dir.join("gw.json");
    std::fs::write(&path, base_config(echo_backend())).unwrap();
    let token_file = dir.join("admin.token");
    std::fs::write(&token_file, "token-from-a-file-0123\n").unwrap();
    let args = ["--listen", "127.0.0.1:0", "--config", path.to_str().unwrap(), "--access-log", "off"];
    let warns = |banner: &[String]| banner.iter().any(|l| l.contains("warning") && l.contains("--admin-token-file"));

    let (_a, _, banner, _) = spawn_command(
        Command::new(BIN)
            .args(args)
            .args(["--admin-listen", "127.0.0.1:0", "--admin-token-file", token_file.to_str().unwrap()])
            .env_remove("APIG_GATEWAY_ADMIN_TOKEN"),
    );
    assert!(!warns(&banner), "{banner:?}");
    let admin = admin_addr(&banner);
    assert_eq!(admin_get(admin, "token-from-a-file-0123"), 200, "the file's line, without its newline");
    assert_eq!(admin_get(admin, TOKEN), 401);

    // on the command line: it works, with a warning (the process list shows it)
    let (_b, _, banner, _) = spawn_command(
        Command::new(BIN)
            .args(args)
            .args(["--admin-listen", "127.0.0.1:0", "--admin-token", TOKEN])
            .env_remove("APIG_GATEWAY_ADMIN_TOKEN"),
    );
    assert!(warns(&banner), "{banner:?}");
    assert_eq!(admin_get(admin_addr(&banner), TOKEN), 200);

    // from the environment: no warning
    let (_c, _, banner, _) = spawn_command(
        Command::new(BIN).args(args).args(["--admin-listen", "127.0.0.1:0"]).env("APIG_GATEWAY_ADMIN_TOKEN", TOKEN),
    );
    assert!(!warns(&banner), "{banner:?}");
    assert_eq!(admin_get(admin_addr(&banner), TOKEN), 200);

    // the file takes precedence over the environment; with --admin-token too, it is an error
    let (_d, _, banner, _) = spawn_command(
        Command::new(BIN)
            .args(args)
            .args(["--admin-listen", "127.0.0.1:0", "--admin-token-file", token_file.to_str().unwrap()])
            .env("APIG_GATEWAY_ADMIN_TOKEN", TOKEN),
    );
    assert_eq!(admin_get(admin_addr(&banner), "token-from-a-file-0123"), 200);
    let both =
        ["--admin-listen", "127.0.0.1:0", "--admin-token", TOKEN, "--admin-token-file", token_file.to_str().unwrap()];
    let out = Command::new(BIN).args(args).args(both).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not both"), "{}", String::from_utf8_lossy(&out.stderr));

    // a short token in the file is refused like one on the command line
    std::fs::write(&token_file, "short\n").unwrap();
    let out = Command::new(BIN)
        .args(args)
        .args(["--admin-listen", "127.0.0.1:0", "--admin-token-file", token_file.to_str().unwrap()])
        .env_remove("APIG_GATEWAY_ADMIN_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 16 characters"));
}

/// Waits (at most 5 s) for the status listener at `status` to answer `/readyz` with 200: the
/// banner is printed once the listeners are bound, just before the gateway runs (503 until then).
fn wait_ready(status: SocketAddr) {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        match apig_conformance::client::request(status, "GET", "/readyz", &[("Host", "s")], b"").unwrap().status {
            200 => return,
            503 if Instant::now() < until => std::thread::sleep(Duration::from_millis(10)),
            other => panic!("/readyz: {other}"),
        }
    }
}

#[test]
fn the_status_listener_is_in_the_banner_and_serves() {
    let (_child, addr, banner) =
        spawn(&["--listen", "127.0.0.1:0", "--access-log", "off", "--status-listen", "127.0.0.1:0"]);
    let line = banner.iter().find_map(|l| l.strip_prefix("status on http://")).unwrap_or_else(|| panic!("{banner:?}"));
    let status: SocketAddr = line.split(':').take(2).collect::<Vec<_>>().join(":").parse().unwrap();
    let get = |path| apig_conformance::client::request(status, "GET", path, &[("Host", "s")], b"").unwrap();
    assert_eq!(get("/healthz").status, 200);
    wait_ready(status);
    assert_apig(&send(addr, "GET", "/nowhere", &[("Host".into(), "x".into())], b""), 404, "APIG.0101");
    let metrics = String::from_utf8(get("/metrics").body).unwrap();
    assert!(
        metrics.contains(
            "apig_gateway_requests_total{group=\"\",api=\"\",environment=\"\",status=\"404\",code=\"APIG.0101\"} 1\n"
        ),
        "{metrics}"
    );
}

#[test]
fn readyz_is_503_while_a_shutdown_drains() {
    let dir = temp_dir("status-drain");
    let path = dir.join("gw.json");
    // a backend that never answers, with a 3 s timeout: a request in flight holds the drain open
    std::fs::write(&path, base_config(echo_backend()).replace("\"timeout_ms\": 300", "\"timeout_ms\": 3000")).unwrap();
    let args = ["--listen", "127.0.0.1:0", "--config", path.to_str().unwrap(), "--access-log", "off"];
    let (child, addr, banner) = spawn(&[&args[..], &["--status-listen", "127.0.0.1:0", "--workers", "1"]].concat());
    let line = banner.iter().find_map(|l| l.strip_prefix("status on http://")).unwrap_or_else(|| panic!("{banner:?}"));
    let status: SocketAddr = line.split(':').take(2).collect::<Vec<_>>().join(":").parse().unwrap();
    let get = |path| apig_conformance::client::request(status, "GET", path, &[("Host", "s")], b"").unwrap().status;
    wait_ready(status);
    std::thread::spawn(move || {
        let _ = apig_conformance::client::request(addr, "GET", "/slow", &[("Host", "x")], b"");
    });
    std::thread::sleep(Duration::from_millis(200));
    assert!(Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(2);
    while get("/readyz") != 503 {
        assert!(Instant::now() < deadline, "still ready after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    // alive (draining), not ready
    assert_eq!(get("/healthz"), 200);
}

#[test]
fn sigusr1_reopens_the_access_log_after_logrotate_moved_it() {
    let dir = temp_dir("sigusr1");
    let log = dir.join("access.log");
    let rotated = dir.join("access.log.1");
    let (child, addr, _) = spawn(&["--listen", "127.0.0.1:0", "--access-log", log.to_str().unwrap()]);
    let host = ("Host".to_owned(), addr.to_string());
    let lines = |path: &std::path::Path| std::fs::read_to_string(path).map_or(0, |t| t.lines().count());
    let wait_for = |path: &std::path::Path, n: usize| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while lines(path) < n {
            assert!(Instant::now() < deadline, "{} has {} lines, not {n}", path.display(), lines(path));
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    assert_apig(&send(addr, "GET", "/demo/echo", std::slice::from_ref(&host), b""), 401, "APIG.0303");
    wait_for(&log, 1);
    // logrotate moves the file; the gateway keeps writing to it (same open file) until SIGUSR1
    std::fs::rename(&log, &rotated).unwrap();
    send(addr, "GET", "/demo/echo", std::slice::from_ref(&host), b"");
    wait_for(&rotated, 2);
    assert!(!log.exists());
    let status = Command::new("kill").args(["-USR1", &child.0.id().to_string()]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !log.exists() {
        assert!(Instant::now() < deadline, "SIGUSR1 did not open {} again", log.display());
        std::thread::sleep(Duration::from_millis(20));
    }
    send(addr, "GET", "/demo/echo", std::slice::from_ref(&host), b"");
    wait_for(&log, 1);
    assert_eq!((lines(&rotated), lines(&log)), (2, 1), "the old file keeps its records, the new one gets the next");
    // the process is still serving (SIGUSR1's default action would have ended it)
    assert_eq!(send(addr, "GET", "/demo/echo", &[host], b"").status, 401);
}

/// The status listener's address in a banner.
fn status_addr(banner: &[String]) -> SocketAddr {
    let line = banner.iter().find_map(|l| l.strip_prefix("status on http://")).unwrap_or_else(|| panic!("{banner:?}"));
    line.split(':').take(2).collect::<Vec<_>>().join(":").parse().unwrap()
}

/// `examples/deploy/NAME`.
fn deploy_example(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/deploy").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A deployment example's arguments, runnable here: its paths moved into `dir`, its addresses
/// onto free loopback ports.
fn runnable_here(args: &[String], dir: &std::path::Path) -> Vec<String> {
    let config = dir.join("gateway.toml");
    std::fs::copy(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/gateway/gateway.toml"), &config)
        .unwrap();
    args.iter()
        .map(|a| match a.as_str() {
            "/var/lib/apig-gateway/gateway.toml" | "/etc/apig-gateway/gateway.toml" => config.display().to_string(),
            "/var/log/apig-gateway/access.log" => dir.join("access.log").display().to_string(),
            a if a.parse::<SocketAddr>().is_ok() => "127.0.0.1:0".to_owned(),
            a => {
                assert!(!a.starts_with('/'), "the test does not know where {a} goes: add it here");
                a.to_owned()
            }
        })
        .collect()
}

fn signal(child: &Running, name: &str) {
    assert!(Command::new("kill").args([&format!("-{name}"), &child.0.id().to_string()]).status().unwrap().success());
}

#[test]
fn the_systemd_unit_verifies_and_runs_reloads_rotates_and_stops_as_written() {
    let unit = deploy_example("apig-gateway.service");
    let line = |key: &str| {
        unit.lines().find_map(|l| l.strip_prefix(key)).unwrap_or_else(|| panic!("no {key} in the unit")).to_owned()
    };
    let exec_start = line("ExecStart=");
    let (program, args) = exec_start.split_once(' ').unwrap();
    assert_eq!(program, "/usr/local/bin/apig-gateway");
    assert_eq!(line("ExecReload="), "/bin/kill -HUP $MAINPID");
    assert_eq!(line("KillSignal="), "SIGTERM");
    let dir = temp_dir("systemd");
    // systemd's own check of the unit (with the program where this build put it)
    match Command::new("systemd-analyze").arg("--version").output() {
        Ok(_) => {
            let copy = dir.join("apig-gateway.service");
            std::fs::write(&copy, unit.replace("/usr/local/bin/apig-gateway", BIN)).unwrap();
            let out = Command::new("systemd-analyze").arg("verify").arg(&copy).output().unwrap();
            let said = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success() && !said.contains(".service:"), "systemd-analyze verify: {said}");
        }
        Err(_) => eprintln!("systemd-analyze is not installed (Debian `systemd`): the unit's syntax is not checked"),
    }
    // the service as the unit starts it
    let args: Vec<String> = args.split_whitespace().map(str::to_owned).collect();
    let args = runnable_here(&args, &dir);
    let (child, addr, banner) = spawn(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let status = status_addr(&banner);
    wait_ready(status);
    let get = |path| apig_conformance::client::request(status, "GET", path, &[("Host", "s")], b"").unwrap().status;
    let log = dir.join("access.log");
    send(addr, "GET", "/nowhere", &[("Host".into(), "x".into())], b"");
    // ExecReload, then logrotate's postrotate (the file moved away, SIGUSR1)
    signal(&child, "HUP");
    std::fs::rename(&log, dir.join("access.log.1")).unwrap();
    signal(&child, "USR1");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !log.exists() {
        assert!(Instant::now() < deadline, "SIGUSR1 did not open the access log again");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(get("/healthz"), 200);
    // KillSignal: a clean exit well within TimeoutStopSec
    let mut child = child;
    signal(&child, "TERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running 10 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "{exit}");
}

#[test]
fn the_dockerfile_runs_the_binary_as_written() {
    let dockerfile = deploy_example("Dockerfile");
    let json = |key: &str| -> Vec<String> {
        let line = dockerfile.lines().find_map(|l| l.strip_prefix(key)).unwrap_or_else(|| panic!("no {key}"));
        serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("{key} is not exec form: {e}"))
    };
    assert!(dockerfile.lines().any(|l| l == "FROM scratch"), "one static binary, nothing else");
    assert!(dockerfile.lines().any(|l| l == "COPY apig-gateway /apig-gateway"));
    assert_eq!(json("ENTRYPOINT "), ["/apig-gateway"]);
    let cmd = json("CMD ");
    // every port the command listens on is exposed
    let exposed: Vec<String> = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("EXPOSE "))
        .unwrap()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let listening: Vec<String> =
        cmd.iter().filter_map(|a| a.parse::<SocketAddr>().ok()).map(|a| a.port().to_string()).collect();
    assert_eq!(exposed, listening);
    let dir = temp_dir("dockerfile");
    let args = runnable_here(&cmd, &dir);
    let (_child, addr, banner) = spawn(&args.iter().map(String::as_str).collect::<Vec<_>>());
    wait_ready(status_addr(&banner));
    assert_apig(&send(addr, "GET", "/nowhere", &[("Host".into(), "x".into())], b""), 404, "APIG.0101");
}

/// The gateway's sockets on `port` (accepted connections), counted per epoll instance watching
/// them: one instance per worker runtime (Linux `/proc`; duplicated epoll descriptors counted
/// once).
#[cfg(target_os = "linux")]
fn connections_per_epoll(pid: u32, port: u16) -> Vec<usize> {
    use std::collections::BTreeSet;
    let mut inodes = BTreeSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // local address HEXIP:HEXPORT, state 01 (established), inode
            let local = f[1].rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
            if local == Some(port) && f[3] == "01" {
                inodes.insert(format!("socket:[{}]", f[9]));
            }
        }
    }
    let target =
        |fd: &str| std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).map(|t| t.to_string_lossy().into_owned());
    let mut instances = BTreeSet::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap() {
        let fd = entry.unwrap().file_name().to_string_lossy().into_owned();
        if target(&fd).is_ok_and(|t| t == "anon_inode:[eventpoll]") {
            let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).unwrap_or_default();
            let watched: BTreeSet<String> = info
                .lines()
                .filter_map(|l| l.strip_prefix("tfd:")?.split_whitespace().next().map(str::to_owned))
                .filter(|fd| target(fd).is_ok_and(|t| inodes.contains(&t)))
                .collect();
            if !watched.is_empty() {
                instances.insert(watched);
            }
        }
    }
    let mut counts: Vec<usize> = instances.iter().map(BTreeSet::len).collect();
    counts.sort_unstable();
    counts
}

/// A burst of connections is served by every worker, in turn (with one shared listener the first
/// worker to wake took most or all of a burst, leaving the other core idle).
#[cfg(target_os = "linux")]
#[test]
fn a_burst_of_connections_is_spread_evenly_over_the_workers() {
    use std::io::{Read, Write};
    let (child, addr, _) = spawn(&["--listen", "127.0.0.1:0", "--access-log", "off", "--workers", "2"]);
    let mut connections: Vec<std::net::TcpStream> =
        (0..16).map(|_| std::net::TcpStream::connect(addr).unwrap()).collect();
    for c in &mut connections {
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.write_all(b"GET /demo/echo HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    }
    for c in &mut connections {
        let mut head = [0u8; 12];
        c.read_exact(&mut head).unwrap();
        assert_eq!(&head, b"HTTP/1.1 401");
    }
    assert_eq!(connections_per_epoll(child.0.id(), addr.port()), [8, 8]);
}
