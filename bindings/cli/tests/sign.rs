//! `apig sign` as a user runs it, checked against the conformance vectors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;

/// How a test passes the body.
#[derive(Clone, Copy, Debug)]
enum BodyVia {
    Literal,
    File,
    Stdin,
}

/// `apig sign` for a vector, body passed `via`, with `extra` arguments; returns stdout.
fn sign_vector(v: &Value, via: BodyVia, extra: &[&str]) -> String {
    let mut cmd = apig_with(str_field(v, &["key"]), str_field(v, &["secret"]));
    cmd.args(["sign", str_field(v, &["request", "method"]), str_field(v, &["request", "url"])]);
    for (name, value) in headers(v) {
        cmd.arg("-H").arg(format!("{name}: {value}"));
    }
    if let Some(alg) = v["algorithm"].as_str() {
        cmd.args(["--algorithm", alg]);
    }
    if let Some(region) = v["region_id"].as_str() {
        cmd.args(["--region", region]);
    }
    if let Some(service) = v["service"].as_str() {
        cmd.args(["--service", service]);
    }
    let body = body(v);
    let mut stdin = Vec::new();
    match via {
        _ if v["request"]["body"].is_null() => {}
        BodyVia::Literal => {
            cmd.arg("-d").arg(std::str::from_utf8(&body).unwrap());
        }
        BodyVia::File => {
            let file = temp_dir("sign-body").join("body");
            std::fs::write(&file, &body).unwrap();
            cmd.arg("-d").arg(format!("@{}", file.display()));
        }
        BodyVia::Stdin => {
            cmd.args(["-d", "@-"]);
            stdin = body;
        }
    }
    cmd.args(extra);
    let out = run(&mut cmd, &stdin);
    assert_eq!(status(&out), 0, "{}: {}", v["name"], stderr(&out));
    stdout(&out)
}

fn all_sign_vectors() -> Vec<Value> {
    let mut all = vectors("sign-public.json");
    all.extend(vectors("sign-variants.json"));
    all
}

#[test]
fn json_output_matches_every_sign_vector() {
    let vias = [BodyVia::Literal, BodyVia::File, BodyVia::Stdin];
    let all = all_sign_vectors();
    assert!(all.len() >= 30);
    for (i, v) in all.iter().enumerate() {
        let via = vias[i % vias.len()];
        let out: Value = serde_json::from_str(&sign_vector(v, via, &["--output", "json"])).unwrap();
        for field in ["canonical_request", "string_to_sign", "signature", "authorization"] {
            assert_eq!(out[field], v["expected"][field], "{} ({via:?}): {field}", v["name"]);
        }
        let name = v["name"].as_str().unwrap();
        let headers = out["headers"].as_array().unwrap();
        let last = headers.last().unwrap();
        assert_eq!(last[0], "Authorization", "{name}");
        assert_eq!(last[1], v["expected"]["authorization"], "{name}");
        // the vectors carry Host and X-Sdk-Date: nothing else is added
        assert_eq!(headers.len(), 1, "{name}: {headers:?}");
        assert_eq!(out["date"], v["request"]["headers"][1][1], "{name}");
        assert_eq!(
            out["signed_headers"].as_str().unwrap(),
            v["expected"]["authorization"]
                .as_str()
                .unwrap()
                .split("SignedHeaders=")
                .nth(1)
                .unwrap()
                .split(',')
                .next()
                .unwrap()
        );
        assert_eq!(
            out["credential_scope"].is_null(),
            !v["algorithm"].as_str().unwrap_or("").starts_with("V11"),
            "{name}"
        );
    }
}

#[test]
fn text_output_prints_header_lines_and_verbose_trace() {
    for v in all_sign_vectors().iter().filter(|v| {
        ["post_json", "doc_example_vpcs", "vanilla_get_root__V11-HMAC-SHA256"].contains(&v["name"].as_str().unwrap())
    }) {
        let text = sign_vector(v, BodyVia::Literal, &[]);
        assert_eq!(text, format!("Authorization: {}\n", str_field(v, &["expected", "authorization"])));
        let verbose = sign_vector(v, BodyVia::Literal, &["-v"]);
        assert!(verbose.starts_with(&text));
        assert!(verbose.contains(str_field(v, &["expected", "canonical_request"])), "{verbose}");
        assert!(verbose.contains(str_field(v, &["expected", "string_to_sign"])), "{verbose}");
    }
}

#[test]
fn json_shape_when_headers_are_added() {
    let out = run(
        apig_with(AK, SK).args([
            "sign",
            "PUT",
            "http://127.0.0.1:8080/up",
            "--unsigned-payload",
            "-d",
            "xyz",
            "--date",
            "20240403T101500Z",
            "--output",
            "json",
        ]),
        b"",
    );
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "one JSON object on one line");
    let v: Value = serde_json::from_str(&text).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut expected = [
        "headers",
        "authorization",
        "signature",
        "signed_headers",
        "date",
        "credential_scope",
        "canonical_request",
        "string_to_sign",
    ];
    expected.sort_unstable();
    let mut keys_sorted = keys.clone();
    keys_sorted.sort_unstable();
    assert_eq!(keys_sorted, expected);
    let names: Vec<&str> = v["headers"].as_array().unwrap().iter().map(|h| h[0].as_str().unwrap()).collect();
    assert_eq!(names, ["Host", "X-Sdk-Date", "X-Sdk-Content-Sha256", "Authorization"]);
    assert_eq!(v["headers"][0][1], "127.0.0.1:8080");
    assert_eq!(v["headers"][1][1], "20240403T101500Z");
    assert_eq!(v["headers"][2][1], "UNSIGNED-PAYLOAD");
    assert_eq!(v["date"], "20240403T101500Z");
    assert!(v["canonical_request"].as_str().unwrap().ends_with("\nUNSIGNED-PAYLOAD"));
    assert_eq!(v["signature"].as_str().unwrap().len(), 64);
}

/// The core's rules, as in every language: hop-by-hop headers are sent but not signed, the
/// algorithm's default and list come from the core.
#[test]
fn hop_by_hop_headers_are_not_signed_and_the_algorithms_are_the_cores() {
    let sign = |extra: &[&str]| {
        let mut cmd = apig_with(AK, SK);
        cmd.args(["sign", "GET", "https://api.example.com/x", "--date", "20240403T101500Z", "--output", "json"]);
        let out = run(cmd.args(extra), b"");
        assert_eq!(status(&out), 0, "{}", stderr(&out));
        serde_json::from_str::<Value>(&stdout(&out)).unwrap()
    };
    let plain = sign(&["-H", "X-Project-Id: p"]);
    let hop = sign(&["-H", "Connection: keep-alive", "-H", "X-Project-Id: p", "-H", "TE: trailers"]);
    assert_eq!(plain["signed_headers"], "host;x-project-id;x-sdk-date");
    assert_eq!((&hop["signed_headers"], &hop["signature"]), (&plain["signed_headers"], &plain["signature"]));
    assert!(plain["authorization"].as_str().unwrap().starts_with("SDK-HMAC-SHA256 "));
    let out = run(apig_with(AK, SK).args(["sign", "GET", "https://x/", "--algorithm", "MD5"]), b"");
    assert_eq!(status(&out), 2);
    for name in apig::Algorithm::ALL {
        assert!(stderr(&out).contains(name.as_str()), "{}", stderr(&out));
    }
}

#[test]
fn credentials_file_in_both_formats_and_access_key_flag() {
    let dir = temp_dir("creds");
    let json = dir.join("creds.json");
    std::fs::write(&json, format!(r#"{{"access_key": "{AK}", "secret_key": "{SK}"}}"#)).unwrap();
    let kv = dir.join("creds.env");
    std::fs::write(&kv, format!("# test\naccess_key = OTHER\nsecret_key={SK}\n")).unwrap();
    let args = ["sign", "GET", "https://api.example.com/", "-H", "X-Sdk-Date: 20240403T101500Z", "--output", "json"];
    let reference: Value = serde_json::from_str(&stdout(&run(apig_with(AK, SK).args(args), b""))).unwrap();
    // a file wins over the environment
    let from_json = run(apig_with("WRONG", "WRONG").args(args).arg("--credentials").arg(&json), b"");
    assert_eq!(serde_json::from_str::<Value>(&stdout(&from_json)).unwrap(), reference, "{}", stderr(&from_json));
    let from_kv = run(apig().args(args).arg("--credentials").arg(&kv).args(["--access-key", AK]), b"");
    assert_eq!(serde_json::from_str::<Value>(&stdout(&from_kv)).unwrap(), reference, "{}", stderr(&from_kv));
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"access_key": "AK", "secret_key": 1234567}"#).unwrap();
    let out = run(apig().args(args).arg("--credentials").arg(&bad), b"");
    assert_eq!(status(&out), 2);
    assert!(stderr(&out).starts_with("error[invalid_config]: credentials file"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("1234567"), "a secret must not be echoed");
}

#[test]
fn missing_credentials_is_a_usage_error() {
    for (cmd, what) in [
        (apig(), "no_provider]: chain provider (environment, profile)"),
        (
            {
                let mut c = apig();
                c.env("APIG_ACCESS_KEY", AK);
                c
            },
            "no secret key: set APIG_SECRET_KEY",
        ),
    ] {
        let mut cmd: Command = cmd;
        let out = run(cmd.args(["sign", "GET", "https://api.example.com/"]), b"");
        assert_eq!(status(&out), 2);
        assert!(
            stderr(&out).starts_with(&format!("error[invalid_config]: {what}"))
                || stderr(&out).starts_with(&format!("error[{what}")),
            "{}",
            stderr(&out)
        );
        assert!(stderr(&out).contains("set APIG_"), "the hint names the variables: {}", stderr(&out));
        assert!(stdout(&out).is_empty());
    }
    let out = run(apig().args(["sign", "GET", "https://x/", "--secret-key", "s"]), b"");
    assert_eq!(status(&out), 2, "no secret flag is offered");
}

#[test]
fn bad_input_is_a_usage_error_with_a_code() {
    let cases: [(&[&str], &str); 7] = [
        (&["sign", "GET", "https://x/", "-H", "NoColon"], "error[invalid_request]: bad header \"NoColon\""),
        (&["sign", "GET", "https://x/", "-H", "Bad Name: v"], "error[invalid_request]"),
        (&["sign", "GET", "not a url"], "error[invalid_request]: invalid URL"),
        (&["sign", "GET", "https://x/", "--date", "2024-04-03"], "error[malformed_date]"),
        (
            &["sign", "GET", "https://x/", "--algorithm", "V11-HMAC-SHA256"],
            "error[invalid_config]: V11 algorithms need a region",
        ),
        (&["sign", "GET", "https://x/", "-d", "@/nonexistent/file"], "error[body_read]: cannot read body file"),
        (&["sign", "GET"], "error[invalid_request]: the following required arguments"),
    ];
    for (args, expected) in cases {
        let out = run(apig_with(AK, SK).args(args), b"");
        assert_eq!(status(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).starts_with(expected), "{args:?}: {}", stderr(&out));
    }
    let help = run(apig().arg("--help"), b"");
    assert_eq!(status(&help), 0);
    for sub in ["sign", "verify", "request", "explain", "APIG_SECRET_KEY"] {
        assert!(stdout(&help).contains(sub), "{sub}");
    }
}

#[test]
fn large_file_bodies_are_streamed_to_the_same_hash() {
    let file = temp_dir("big").join("big.bin");
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    let base = ["sign", "POST", "https://api.example.com/upload", "--date", "20240403T101500Z", "--output", "json"];
    let from_file: Value = serde_json::from_str(&stdout(&run(
        apig_with(AK, SK).args(base).arg("-d").arg(format!("@{}", file.display())),
        b"",
    )))
    .unwrap();
    let from_stdin: Value =
        serde_json::from_str(&stdout(&run(apig_with(AK, SK).args(base).args(["-d", "@-"]), &data))).unwrap();
    assert_eq!(from_file, from_stdin);
    // the payload hash line is the hash of the data (independent: sha256 of the bytes via the core)
    let expected = apig::HashFunction::Sha256.hash_hex(&data);
    assert!(from_file["canonical_request"].as_str().unwrap().ends_with(&expected));
}

/// Huawei Cloud's v3 SDK vectors (temporary credentials, project and domain ids, the v3 profile):
/// `apig sign --signing-profile v3 --security-token … --project-id …|--domain-id …` reproduces each, the
/// token taken from the flag or (every other vector) from `APIG_SECURITY_TOKEN`, and prints the
/// headers the SDK added.
#[test]
fn v3_vectors_with_temporary_credentials_and_ids() {
    use base64::Engine;
    let all = vectors("sign-v3-public.json");
    assert_eq!(all.len(), 12);
    for (i, v) in all.iter().enumerate() {
        let name = str_field(v, &["name"]);
        let mut cmd = apig_with(str_field(v, &["key"]), str_field(v, &["secret"]));
        cmd.args(["sign", str_field(v, &["request", "method"]), str_field(v, &["request", "url"])]);
        cmd.args(["--signing-profile", "v3", "--output", "json"]);
        for (header, value) in headers(v) {
            cmd.arg("-H").arg(format!("{header}: {value}"));
        }
        for (field, flag) in [("algorithm", "--algorithm"), ("region_id", "--region"), ("service", "--service")] {
            if let Some(value) = v[field].as_str() {
                cmd.args([flag, value]);
            }
        }
        match v["credential_type"].as_str() {
            Some("basic") => cmd.args(["--project-id", str_field(v, &["project_id"])]),
            Some("global") => cmd.args(["--domain-id", str_field(v, &["domain_id"])]),
            other => panic!("{name}: credential_type {other:?}"),
        };
        if let Some(token) = v["security_token"].as_str() {
            if i % 2 == 0 {
                cmd.args(["--security-token", token]);
            } else {
                cmd.env("APIG_SECURITY_TOKEN", token);
            }
        }
        let request = &v["request"];
        if let Some(text) = request["body"].as_str() {
            cmd.arg("-d").arg(text);
        } else if let Some(b64) = request["body_base64"].as_str() {
            let file = temp_dir("sign-v3-body").join(format!("{name}.bin"));
            std::fs::write(&file, base64::engine::general_purpose::STANDARD.decode(b64).unwrap()).unwrap();
            cmd.arg("-d").arg(format!("@{}", file.display()));
        }
        let out = run(&mut cmd, b"");
        assert_eq!(status(&out), 0, "{name}: {}", stderr(&out));
        let out: Value = serde_json::from_str(&stdout(&out)).unwrap();
        for field in ["canonical_request", "string_to_sign", "signature", "authorization", "signed_headers"] {
            assert_eq!(out[field], v["expected"][field], "{name}: {field}");
        }
        let at_signing = v["expected"]["headers_at_signing"].as_array().unwrap();
        let expected: Vec<Value> = v["expected"]["headers_added"]
            .as_array()
            .unwrap()
            .iter()
            .map(|added| at_signing.iter().find(|h| h[0] == *added).unwrap().clone())
            .collect();
        let printed = out["headers"].as_array().unwrap();
        assert_eq!(printed[..printed.len() - 1], expected[..], "{name}");
    }
}

#[test]
fn bad_temporary_credentials_are_refused_with_a_code() {
    let mut cmd = apig_with("AK", "SK");
    cmd.args(["sign", "GET", "https://h/x", "--security-token", " ", "--output", "json"]);
    let out = run(&mut cmd, b"");
    assert_ne!(status(&out), 0);
    assert!(stderr(&out).contains("invalid_config") && stderr(&out).contains("security token"), "{}", stderr(&out));
    let mut cmd = apig_with("AK", "SK");
    cmd.args(["sign", "GET", "https://h/x", "--signing-profile", "v2"]);
    let out = run(&mut cmd, b"");
    assert_ne!(status(&out), 0);
}
