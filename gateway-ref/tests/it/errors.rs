//! Every APIG error the gateway answers, produced by a real request, with APIG's texts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cloned_ref_to_slice_refs)]

use crate::common;

use std::time::{Duration, SystemTime};

use apig::{Algorithm, SdkDate, SignableBody, SignableRequest, Signer};
use common::*;

#[test]
fn apig_0101_no_such_api() {
    let (gw, _) = start_base("e0101");
    let msg = assert_apig(&signed(gw.addr(), "GET", "/nowhere", b""), 404, "APIG.0101");
    assert_eq!(msg, "The API does not exist or has not been published in the environment");
}

#[test]
fn apig_0201_family() {
    let (gw, _) = start_base("e0201");
    let addr = gw.addr();
    let host = ("Host".to_owned(), addr.to_string());
    // 400: a dot segment, a bad target
    assert_apig(&send(addr, "GET", "/open/../echo", &[host.clone()], b""), 400, "APIG.0201");
    // 413: body over the configured 64 KiB, declared and streamed (chunked)
    let big = vec![b'x'; 70_000];
    assert_apig(&send(addr, "POST", "/open", &[host.clone()], &big), 413, "APIG.0201");
    assert_apig(&signed(addr, "POST", "/echo", &big), 413, "APIG.0201");
    let mut chunked = b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n".to_vec();
    let h = signed_headers(addr, "POST", "/echo", &[], &big, "AK1", "SK1-secret", Algorithm::SdkHmacSha256);
    for (n, v) in &h {
        chunked.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    chunked.extend_from_slice(b"\r\n");
    for part in big.chunks(10_000) {
        chunked.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        chunked.extend_from_slice(part);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let r = apig_conformance::client::send_raw(addr, &chunked, Duration::from_secs(10)).unwrap();
    assert_apig(&r, 413, "APIG.0201");
    // 414: URI over the configured 4 KiB
    let long = format!("/open?{}", "a".repeat(5000));
    assert_apig(&send(addr, "GET", &long, &[host.clone()], b""), 414, "APIG.0201");
    // 494: headers over the configured 16 KiB
    let fat: Vec<(String, String)> = (0..20).map(|i| (format!("X-Fat-{i}"), "v".repeat(1000))).chain([host]).collect();
    assert_apig(&send(addr, "GET", "/open", &fat, b""), 494, "APIG.0201");
}

#[test]
fn apig_0202_backend_down_and_0203_backend_slow() {
    let (gw, _) = start_base("e0202");
    let addr = gw.addr();
    let host = ("Host".to_owned(), addr.to_string());
    assert_apig(&send(addr, "GET", "/down", &[host.clone()], b""), 502, "APIG.0202");
    let started = std::time::Instant::now();
    let msg = assert_apig(&send(addr, "GET", "/slow", &[host], b""), 504, "APIG.0203");
    assert!(started.elapsed() < Duration::from_secs(3), "timeout not applied");
    assert!(msg.contains("300 ms"), "{msg}");
}

#[test]
fn apig_0303_signature_mismatch_echoes_the_canonical_request() {
    let (gw, _) = start_base("e0303m");
    let addr = gw.addr();
    let h = signed_headers(addr, "GET", "/echo?a=1", &[], b"", "AK1", "SK1-secret", Algorithm::SdkHmacSha256);
    let r = send(addr, "GET", "/echo?a=2", &h, b"");
    let msg = assert_apig(&r, 401, "APIG.0303");
    // independent of the gateway: the core's signer canonicalises the tampered request as received
    let refs: Vec<(&str, &str)> =
        h.iter().filter(|(n, _)| n != "Authorization").map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let resign = Signer::new("AK1", "SK1-secret")
        .unwrap()
        .sign(&SignableRequest::new("GET", &format!("http://{addr}/echo?a=2"), &refs, SignableBody::Bytes(b"")))
        .unwrap();
    let expected = format!(
        "Incorrect app authentication information: verify signature fail, canonicalRequest:{}",
        resign.trace.canonical_request.replace('\n', "|")
    );
    assert_eq!(msg, expected);
    // wrong secret, tampered body
    let h = signed_headers(addr, "POST", "/echo", &[], b"body", "AK1", "wrong", Algorithm::SdkHmacSha256);
    assert_apig(&send(addr, "POST", "/echo", &h, b"body"), 401, "APIG.0303");
    let h = signed_headers(addr, "POST", "/echo", &[], b"body", "AK1", "SK1-secret", Algorithm::SdkHmacSha256);
    assert_apig(&send(addr, "POST", "/echo", &h, b"BODY"), 401, "APIG.0303");
}

#[test]
fn apig_0303_expired_unknown_disabled_missing() {
    let (gw, _) = start_base("e0303");
    let addr = gw.addr();
    let old = SystemTime::now() - Duration::from_secs(16 * 60);
    let date = SdkDate::from_system_time(old).to_string();
    let out = Signer::new("AK1", "SK1-secret")
        .unwrap()
        .sign_at(&SignableRequest::new("GET", &format!("http://{addr}/echo"), &[], SignableBody::Bytes(b"")), old)
        .unwrap();
    let h: Vec<(String, String)> = out.headers().map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
    let msg = assert_apig(&send(addr, "GET", "/echo", &h, b""), 401, "APIG.0303");
    assert!(
        msg.starts_with(&format!(
            "Incorrect app authentication information: signature expired, signature time:{date}, server time:"
        )),
        "{msg}"
    );
    for key in ["NOPE", "AKOFF"] {
        let h = signed_headers(addr, "GET", "/echo", &[], b"", key, "whatever", Algorithm::SdkHmacSha256);
        let msg = assert_apig(&send(addr, "GET", "/echo", &h, b""), 401, "APIG.0303");
        assert_eq!(msg, format!("Incorrect app authentication information: app not found, appkey {key}"));
    }
    let msg = assert_apig(&send(addr, "GET", "/echo", &[("Host".into(), addr.to_string())], b""), 401, "APIG.0303");
    assert!(msg.starts_with("Incorrect app authentication information: "), "{msg}");
    let r =
        send(addr, "GET", "/echo", &[("Host".into(), addr.to_string()), ("X-Apig-Mode".into(), "debug".into())], b"");
    assert_eq!(r.header("x-apig-error-kind"), Some("missing_authorization"));
}

#[test]
fn apig_0304_app_not_authorized() {
    let (gw, _) = start_base("e0304");
    let addr = gw.addr();
    let h = signed_headers(addr, "GET", "/echo", &[], b"", "AK2", "SK2-secret", Algorithm::SdkHmacSha256);
    let msg = assert_apig(&send(addr, "GET", "/echo", &h, b""), 403, "APIG.0304");
    assert_eq!(msg, "The app is not authorized to access the API");
    let r = send(
        addr,
        "GET",
        "/code",
        &[("Host".into(), addr.to_string()), ("X-Apig-AppCode".into(), "code-1".into())],
        b"",
    );
    assert_eq!(r.status, 200);
}

#[test]
fn error_prefix_is_configurable() {
    let dir = temp_dir("prefix");
    let config =
        base_config(echo_backend()).replacen("\"gateway\": {", "\"gateway\": {\"error_prefix\": \"APIGW\", ", 1);
    let (gw, _) = start_in(&dir, &config);
    assert_apig(&signed(gw.addr(), "GET", "/nowhere", b""), 404, "APIGW.0101");
}
