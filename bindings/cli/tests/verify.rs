//! `apig verify` on raw HTTP request files: the verify vectors, and requests signed by `apig sign`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// A raw HTTP/1.1 request text.
fn raw_request(method: &str, target: &str, headers: &[(String, String)], body: &[u8], crlf: bool) -> Vec<u8> {
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut text = format!("{method} {target} HTTP/1.1{eol}");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}{eol}"));
    }
    if !body.is_empty() {
        text.push_str(&format!("Content-Length: {}{eol}", body.len()));
    }
    text.push_str(eol);
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn keys_file(dir: &Path, keys: &Value) -> PathBuf {
    let path = dir.join("keys.json");
    std::fs::write(&path, keys.to_string()).unwrap();
    path
}

#[test]
fn every_verify_vector_gets_its_verdict_and_code() {
    let dir = temp_dir("verify-vectors");
    let all = vectors("verify-public.json");
    assert!(!all.is_empty());
    for (i, v) in all.iter().enumerate() {
        let name = v["name"].as_str().unwrap();
        let keys = keys_file(&dir, &v["key_store"]);
        let request = raw_request(
            str_field(v, &["request", "method"]),
            str_field(v, &["request", "url"]),
            &headers(v),
            &body(v),
            i % 2 == 0,
        );
        let file = dir.join(format!("{name}.http"));
        std::fs::write(&file, &request).unwrap();
        let out =
            run(apig().arg("verify").arg(&file).arg("--keys").arg(&keys).args(["--now", str_field(v, &["now"])]), b"");
        match str_field(v, &["expected_verdict"]) {
            "accept" => {
                assert_eq!(status(&out), 0, "{name}: {}", stderr(&out));
                assert!(stdout(&out).starts_with("ok: access key "), "{name}");
            }
            _ => {
                assert_eq!(status(&out), 1, "{name}: {}", stderr(&out));
                if let Some(code) = v["expected_error"].as_str() {
                    assert!(stderr(&out).contains(&format!("error[{code}]: ")), "{name}: {}", stderr(&out));
                }
            }
        }
    }
}

/// Signs a POST with `apig sign`, returns the request's headers (given + added) and body.
fn signed_post(date: &str) -> (Vec<(String, String)>, Vec<u8>) {
    let body = br#"{"name":"test"}"#.to_vec();
    let mut headers =
        vec![("Content-Type".to_owned(), "application/json".to_owned()), ("X-Tenant".to_owned(), "acme".to_owned())];
    let mut cmd = apig_with(AK, SK);
    cmd.args([
        "sign",
        "POST",
        "http://127.0.0.1:8080/demo/echo?b=2&a=1",
        "--date",
        date,
        "--output",
        "json",
        "-d",
        "@-",
    ]);
    for (n, v) in &headers {
        cmd.arg("-H").arg(format!("{n}: {v}"));
    }
    let out = run(&mut cmd, &body);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let signed: Value = serde_json::from_str(&stdout(&out)).unwrap();
    for h in signed["headers"].as_array().unwrap() {
        headers.push((h[0].as_str().unwrap().to_owned(), h[1].as_str().unwrap().to_owned()));
    }
    (headers, body)
}

#[test]
fn signed_output_verifies_and_tampering_is_rejected() {
    let dir = temp_dir("verify-signed");
    let keys = keys_file(&dir, &serde_json::json!({ AK: SK, "OTHER": "x" }));
    let date = "20240403T101500Z";
    let (headers, body) = signed_post(date);
    let verify = |request: &[u8], extra: &[&str]| {
        let file = dir.join("req.http");
        std::fs::write(&file, request).unwrap();
        let now = if extra.contains(&"--now") { &[][..] } else { &["--now", date][..] };
        run(apig().arg("verify").arg(&file).arg("--keys").arg(&keys).args(now).args(extra), b"")
    };

    let good = raw_request("POST", "/demo/echo?b=2&a=1", &headers, &body, true);
    let out = verify(&good, &[]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "ok: access key {AK}, algorithm SDK-HMAC-SHA256, signed headers content-type;host;x-sdk-date;x-tenant, date {date}\n"
        )
    );
    // from stdin, LF line ends
    let lf = raw_request("POST", "/demo/echo?b=2&a=1", &headers, &body, false);
    let out = run(apig().args(["verify", "-", "--keys"]).arg(&keys).args(["--now", date]), &lf);
    assert_eq!(status(&out), 0, "{}", stderr(&out));

    // a changed query: signature mismatch, exit 1, with the verifier's canonical request
    let tampered = raw_request("POST", "/demo/echo?b=2&a=9", &headers, &body, true);
    let out = verify(&tampered, &[]);
    assert_eq!(status(&out), 1);
    let err = stderr(&out);
    assert!(err.contains("error[signature_mismatch]: "), "{err}");
    assert!(err.contains("POST\n/demo/echo/\na=9&b=2\n"), "{err}");
    assert!(err.contains("string to sign:\nSDK-HMAC-SHA256\n20240403T101500Z\n"), "{err}");
    assert!(err.contains("verify signature fail, canonicalRequest:POST|/demo/echo/|a=9&b=2|"), "{err}");

    // a changed body
    let out = verify(&raw_request("POST", "/demo/echo?b=2&a=1", &headers, br#"{"name":"evil"}"#, true), &[]);
    assert_eq!(status(&out), 1);
    assert!(stderr(&out).contains("error[signature_mismatch]"));

    // other verdicts, each with its code
    let out = verify(&good, &["--now", "20240403T103100Z"]);
    assert_eq!(status(&out), 1);
    assert!(stderr(&out).starts_with("error[expired]: "), "{}", stderr(&out));
    let out = verify(&good, &["--now", "20240403T101800Z", "--max-skew", "60"]);
    assert!(stderr(&out).starts_with("error[expired]: "), "{}", stderr(&out));
    let no_auth: Vec<(String, String)> = headers.iter().filter(|(n, _)| n != "Authorization").cloned().collect();
    let out = verify(&raw_request("POST", "/demo/echo?b=2&a=1", &no_auth, &body, true), &[]);
    assert_eq!((status(&out), stderr(&out).starts_with("error[missing_authorization]")), (1, true), "{}", stderr(&out));
    let other_key: Vec<(String, String)> = headers.iter().map(|(n, v)| (n.clone(), v.replace(AK, "NOBODY"))).collect();
    let out = verify(&raw_request("POST", "/demo/echo?b=2&a=1", &other_key, &body, true), &[]);
    assert_eq!((status(&out), stderr(&out).starts_with("error[unknown_access_key]")), (1, true), "{}", stderr(&out));
    let no_tenant: Vec<(String, String)> = headers.iter().filter(|(n, _)| n != "X-Tenant").cloned().collect();
    let out = verify(&raw_request("POST", "/demo/echo?b=2&a=1", &no_tenant, &body, true), &[]);
    assert_eq!((status(&out), stderr(&out).starts_with("error[signed_header_missing]")), (1, true), "{}", stderr(&out));
}

#[test]
fn malformed_input_is_a_usage_error() {
    let dir = temp_dir("verify-bad");
    let keys = keys_file(&dir, &serde_json::json!({ AK: SK }));
    for (request, expected) in [
        (&b"not http at all"[..], "error[invalid_request]: not an HTTP request"),
        (b"GET / HTTP/1.1\nHost h\n\n", "error[invalid_request]: not an HTTP request: bad header line"),
        (
            b"POST / HTTP/1.1\nContent-Length: 10\n\nabc",
            "error[invalid_request]: not an HTTP request: the body has 3 bytes",
        ),
    ] {
        let out = run(apig().args(["verify", "--keys"]).arg(&keys), request);
        assert_eq!(status(&out), 2, "{}", stderr(&out));
        assert!(stderr(&out).starts_with(expected), "{}", stderr(&out));
    }
    let bad_keys = dir.join("bad.json");
    std::fs::write(&bad_keys, r#"["secret-in-a-list"]"#).unwrap();
    let out = run(apig().args(["verify", "--keys"]).arg(&bad_keys), b"GET / HTTP/1.1\n\n");
    assert_eq!(status(&out), 2);
    assert!(stderr(&out).starts_with("error[invalid_config]: keys file"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("secret-in-a-list"));
    let out = run(apig().args(["verify", "/nonexistent.http", "--keys"]).arg(&keys), b"");
    assert_eq!(status(&out), 2);
    let out = run(apig().args(["verify", "-"]), b"");
    assert_eq!(status(&out), 2, "--keys is required");
}
