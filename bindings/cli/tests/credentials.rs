//! Credential providers in the CLI: `--profile` (the credentials file's profiles), the
//! HUAWEICLOUD_SDK_* environment, the ECS metadata service (a local server speaking its JSON), the
//! `apig credentials` report (never the secret or the token) and the typed errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;

use common::*;
use serde_json::Value;

const PROFILE_SK: &str = "profile-secret-DO-NOT-PRINT";
const PROFILE_TOKEN: &str = "gQpj+profile/token=DO-NOT-PRINT";
const META_SK: &str = "metadata-secret-DO-NOT-PRINT";
const META_TOKEN: &str = "gQpj+metadata/token=DO-NOT-PRINT";
const SIGN: [&str; 6] = ["sign", "GET", "https://h.example/x", "--date", "20240403T101500Z", "--output"];

fn credentials_file() -> PathBuf {
    let file = temp_dir("profiles").join("credentials");
    std::fs::write(
        &file,
        format!(
            "[basic]\nak = BASICAK\nsk = basic-sk\n\n# a named profile\n[prod]\nak = PRODAK\nsk = {PROFILE_SK}\nsecurity_token = {PROFILE_TOKEN}\n"
        ),
    )
    .unwrap();
    file
}

fn assert_no_secret(out: &std::process::Output, secrets: &[&str]) {
    for secret in secrets {
        assert!(!stdout(out).contains(secret) && !stderr(out).contains(secret), "{secret} printed");
    }
}

fn json(out: &std::process::Output) -> Value {
    assert_eq!(status(out), 0, "{}", stderr(out));
    serde_json::from_str(&stdout(out)).unwrap()
}

/// `--profile NAME` reads that section of the credentials file (and wins over APIG_* variables);
/// `apig credentials` names the provider and shows the AK, never the secret or the token.
#[test]
fn profile_selects_a_section_of_the_credentials_file() {
    let file = credentials_file();
    let mut cmd = apig_with("ENVAK", "env-sk");
    cmd.env("HUAWEICLOUD_SDK_CREDENTIALS_FILE", &file).args(["credentials", "--profile", "prod"]);
    let out = run(&mut cmd, b"");
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("provider: profile\n") && text.contains("access_key: PRODAK\n"), "{text}");
    assert!(text.contains("security_token: present\n") && text.contains("expires_at: never\n"), "{text}");
    assert!(text.contains("[prod]"), "the source names the section: {text}");
    assert_no_secret(&out, &[PROFILE_SK, PROFILE_TOKEN]);

    let mut cmd = apig_with("ENVAK", "env-sk");
    cmd.env("HUAWEICLOUD_SDK_CREDENTIALS_FILE", &file).args(SIGN).args(["json", "--profile", "prod"]);
    let signed = json(&run(&mut cmd, b""));
    assert!(signed["authorization"].as_str().unwrap().contains("Access=PRODAK"), "{signed}");
    assert!(signed["signed_headers"].as_str().unwrap().contains("x-security-token"), "{signed}");

    // no --profile, no APIG_*: the [basic] profile
    let mut cmd = apig();
    cmd.env("HUAWEICLOUD_SDK_CREDENTIALS_FILE", &file);
    let out = json(&run(cmd.args(["credentials", "--output", "json"]), b""));
    assert_eq!(out["provider"], "profile");
    assert_eq!(out["access_key"], "BASICAK");
    assert_eq!(out["security_token"], false);
}

/// HUAWEICLOUD_SDK_AK / _SK sign exactly as the same keys in APIG_ACCESS_KEY / APIG_SECRET_KEY.
#[test]
fn huaweicloud_environment_variables() {
    let reference = json(&run(apig_with(AK, SK).args(SIGN).arg("json"), b""));
    let mut cmd = apig();
    cmd.env("HUAWEICLOUD_SDK_AK", AK).env("HUAWEICLOUD_SDK_SK", SK);
    assert_eq!(json(&run(cmd.args(SIGN).arg("json"), b"")), reference);
    let mut cmd = apig();
    cmd.env("HUAWEICLOUD_SDK_AK", AK).env("HUAWEICLOUD_SDK_SK", SK).args(["credentials", "--output", "json"]);
    let out = run(&mut cmd, b"");
    assert_eq!(json(&out)["provider"], "environment");
    assert_no_secret(&out, &[SK]);
}

/// A metadata service on 127.0.0.1 answering each request with `answer(path)`: (status, body).
fn metadata_server(answer: fn(&str) -> (u16, String)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split(' ').nth(1).unwrap_or("").to_owned();
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
            }
            let (code, body) = answer(&path);
            let _ = write!(
                stream,
                "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{address}")
}

fn securitykey(path: &str) -> (u16, String) {
    if path.ends_with("/api/token") {
        return (404, String::new());
    }
    let body = format!(
        r#"{{"credential": {{"access": "TMPAK", "secret": "{META_SK}", "securitytoken": "{META_TOKEN}", "expires_at": "2099-01-08T03:50:07.574000Z"}}}}"#
    );
    (200, body)
}

/// `--credentials-source metadata` (or APIG_CREDENTIALS_SOURCE) asks the ECS metadata service: the
/// temporary AK, its expiry and the token (present), signed as X-Security-Token.
#[test]
fn metadata_service_when_asked() {
    let endpoint = metadata_server(securitykey);
    let mut cmd = apig_with("ENVAK", "env-sk");
    cmd.args(["credentials", "--credentials-source", "metadata", "--metadata-endpoint", &endpoint]);
    let out = run(&mut cmd, b"");
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("provider: metadata\n") && text.contains("access_key: TMPAK\n"), "{text}");
    assert!(text.contains("expires_at: 2099-01-08T03:50:07.574Z\n"), "{text}");
    assert!(text.contains("security_token: present\n"), "{text}");
    assert_no_secret(&out, &[META_SK, META_TOKEN]);

    let mut cmd = apig();
    cmd.env("APIG_CREDENTIALS_SOURCE", "chain").env("APIG_METADATA_ENDPOINT", &endpoint);
    let signed = json(&run(cmd.args(SIGN).arg("json"), b""));
    assert!(signed["authorization"].as_str().unwrap().contains("Access=TMPAK"), "{signed}");
    assert!(signed["signed_headers"].as_str().unwrap().contains("x-security-token"), "{signed}");
    // not asked: the metadata service is not tried
    let mut cmd = apig();
    cmd.env("APIG_METADATA_ENDPOINT", &endpoint);
    assert_eq!(status(&run(cmd.args(SIGN).arg("json"), b"")), 2);
}

/// Each failure: the provider's code, the provider and its source, a non-zero status, no secret.
#[test]
fn provider_errors_are_typed() {
    let file = credentials_file();
    let bad = temp_dir("profiles-bad").join("credentials");
    std::fs::write(&bad, format!("[basic]\nak = A\nsk = {PROFILE_SK}\n[broken\n")).unwrap();
    let no_fields = metadata_server(|path| {
        if path.ends_with("/api/token") { (404, String::new()) } else { (200, r#"{"credential": {}}"#.to_owned()) }
    });
    let refused = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        format!("http://{address}")
    };
    let cases: [(Vec<String>, &PathBuf, &str, u8); 4] = [
        (vec!["--profile".into(), "nope".into()], &file, "error[missing]: profile provider (", 2),
        (vec!["--profile".into(), "basic".into()], &bad, "error[malformed]: profile provider (", 2),
        (
            vec!["--credentials-source".into(), "metadata".into(), "--metadata-endpoint".into(), no_fields],
            &file,
            "error[missing_field]: metadata provider (http://127.0.0.1:",
            2,
        ),
        (
            vec!["--credentials-source".into(), "metadata".into(), "--metadata-endpoint".into(), refused],
            &file,
            "error[unreachable]: metadata provider (http://127.0.0.1:",
            1,
        ),
    ];
    for (args, file, expected, code) in cases {
        let mut cmd = apig();
        cmd.env("HUAWEICLOUD_SDK_CREDENTIALS_FILE", file).arg("credentials").args(&args);
        let out = run(&mut cmd, b"");
        assert_eq!(status(&out), i32::from(code), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).starts_with(expected), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty());
        assert_no_secret(&out, &[PROFILE_SK]);
    }
}

/// A provider's project and domain ids (a profile's `project_id` / `domain_id`, the
/// HUAWEICLOUD_SDK_PROJECT_ID / _DOMAIN_ID variables) are sent and signed as X-Project-Id /
/// X-Domain-Id, as Huawei's v3 SDKs do; `--project-id` / `--domain-id` on the command line win.
#[test]
fn a_providers_project_and_domain_ids_are_signed() {
    let file = temp_dir("profile-ids").join("credentials");
    std::fs::write(&file, "[basic]\nak = BASICAK\nsk = basic-sk\nproject_id = 0a1b2c3d\n\n[global]\nak = GLOBALAK\nsk = global-sk\ndomain_id = 9f8e7d6c\n").unwrap();
    let header = |signed: &Value, name: &str| {
        signed["headers"].as_array().unwrap().iter().find(|h| h[0] == name).map(|h| h[1].as_str().unwrap().to_owned())
    };

    let mut cmd = apig();
    cmd.env("HUAWEICLOUD_SDK_CREDENTIALS_FILE", &file).args(SIGN).arg("json");
    let signed = json(&run(&mut cmd, b""));
    assert_eq!(header(&signed, "X-Project-Id").as_deref(), Some("0a1b2c3d"), "{signed}");
    assert!(signed["signed_headers"].as_str().unwrap().contains("x-project-id"), "{signed}");

    let mut cmd = apig();
    cmd.env("HUAWEICLOUD_SDK_CREDENTIALS_FILE", &file).args(SIGN).args(["json", "--profile", "global"]);
    let signed = json(&run(&mut cmd, b""));
    assert_eq!(header(&signed, "X-Domain-Id").as_deref(), Some("9f8e7d6c"), "{signed}");
    assert_eq!(header(&signed, "X-Project-Id"), None, "{signed}");

    // the environment provider's ids, through --credentials-source environment
    let mut cmd = apig();
    cmd.env("HUAWEICLOUD_SDK_AK", AK)
        .env("HUAWEICLOUD_SDK_SK", SK)
        .env("HUAWEICLOUD_SDK_PROJECT_ID", "env-project")
        .env("HUAWEICLOUD_SDK_DOMAIN_ID", "env-domain")
        .args(SIGN)
        .args(["json", "--credentials-source", "environment"]);
    let signed = json(&run(&mut cmd, b""));
    assert_eq!(header(&signed, "X-Project-Id").as_deref(), Some("env-project"), "{signed}");
    assert_eq!(header(&signed, "X-Domain-Id").as_deref(), Some("env-domain"), "{signed}");

    // the command line wins over the provider
    let mut cmd = apig();
    cmd.env("HUAWEICLOUD_SDK_CREDENTIALS_FILE", &file).args(SIGN).args(["json", "--project-id", "cli-project"]);
    let signed = json(&run(&mut cmd, b""));
    assert_eq!(header(&signed, "X-Project-Id").as_deref(), Some("cli-project"), "{signed}");
}
