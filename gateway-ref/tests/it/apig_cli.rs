//! Requests signed and sent by the `apig` CLI (`bindings/cli`, `apig request`) through the
//! gateway running the demo configuration. Ignored by plain `cargo test` because it needs the CLI
//! binary: `cargo xtask test gateway` builds it and runs this with `APIG_CLI` set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

use apig_gateway::access_log::LogTarget;
use apig_gateway::server::{ConfigSource, GatewayOptions, RunningGateway};

fn cli() -> PathBuf {
    let path = std::env::var_os("APIG_CLI").map(PathBuf::from).expect("set APIG_CLI to the apig binary");
    assert!(path.is_file(), "APIG_CLI={} does not exist", path.display());
    path
}

#[test]
#[ignore = "needs the apig CLI binary (APIG_CLI); run by cargo xtask test gateway"]
fn apig_request_through_the_demo_gateway() {
    let mut options = GatewayOptions::new(([127, 0, 0, 1], 0).into(), ConfigSource::Demo);
    options.access_log = LogTarget::Off;
    let gw = RunningGateway::start(options).unwrap();
    let url = format!("http://{}/demo/echo?hello=world", gw.addr());
    let apig = |secret: &str, args: &[&str]| {
        Command::new(cli())
            .args(args)
            .env("APIG_ACCESS_KEY", "demo-access-key")
            .env("APIG_SECRET_KEY", secret)
            .output()
            .unwrap()
    };
    let out = apig("demo-secret-key", &["request", "GET", &url]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    let echo: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(echo["query"], "hello=world");

    let out =
        apig("demo-secret-key", &["request", "POST", &url, "-H", "Content-Type: application/json", "-d", "{\"a\":1}"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    let echo: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(echo["body"], "{\"a\":1}");

    // a wrong secret: APIG.0303 with the gateway's canonical request, which the CLI explains
    let out = apig("not-the-secret", &["request", "--fail", "GET", &url]);
    assert!(!out.status.success());
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(all.contains("APIG.0303") || all.contains("signature_mismatch"), "{all}");
}

#[test]
#[ignore = "needs the apig CLI binary (APIG_CLI); run by cargo xtask test gateway"]
fn a_body_over_the_limit_shows_the_gateways_413_as_curl_does() {
    // once: `error[transport] ... receiver is gone`, the gateway's answer lost
    let mut options = GatewayOptions::new(([127, 0, 0, 1], 0).into(), ConfigSource::Demo);
    options.access_log = LogTarget::Off;
    let gw = RunningGateway::start(options).unwrap();
    let url = format!("http://{}/demo/echo", gw.addr());
    let dir = std::env::temp_dir().join(format!("apig-cli-413-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("13MB.bin");
    std::fs::write(&file, vec![b'x'; 13 << 20]).unwrap();
    let body = format!("@{}", file.display());
    let apig = |args: &[&str]| {
        Command::new(cli())
            .args(args)
            .env("APIG_ACCESS_KEY", "demo-access-key")
            .env("APIG_SECRET_KEY", "demo-secret-key")
            .output()
            .unwrap()
    };
    // without --fail: the answer on stdout, exit 0 (docs/cli.md: any HTTP status)
    let out = apig(&["request", "-i", "POST", &url, "-d", &body]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout} {stderr}");
    assert!(stdout.starts_with("HTTP/1.1 413 "), "{stdout}");
    assert!(stdout.contains("\"error_code\":\"APIG.0201\""), "{stdout}");
    assert!(stdout.contains("Request entity too large"), "{stdout}");
    // with --fail: the same answer, then error[http_status] and exit 1
    let out = apig(&["request", "--fail", "POST", &url, "-d", &body]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout} {stderr}");
    assert!(stdout.contains("APIG.0201"), "{stdout}");
    assert!(stderr.starts_with("error[http_status]: the server answered 413"), "{stderr}");
    // a large body within the limit still goes through (after the wait for an early answer)
    let small = dir.join("2MB.bin");
    std::fs::write(&small, vec![b'y'; 2 << 20]).unwrap();
    let out = apig(&["request", "--fail", "POST", &url, "-d", &format!("@{}", small.display())]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let echo: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(echo["body"].as_str().map(str::len), Some(2 << 20));
    std::fs::remove_dir_all(&dir).unwrap();
}
