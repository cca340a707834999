//! Feature `http`: signing an `http::Request` gives the same headers as signing the borrowed
//! request, and the verifier accepts what it signed.

#![cfg(feature = "http")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apig::{FixedClock, SignableBody, SignableRequest, Signer, Verifier};

const AK: &str = "AKHTTPEXAMPLE";
const SK: &str = "sk-http-example";
fn at() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_712_139_300)
}

fn signer() -> Signer {
    Signer::builder(AK, SK).clock(FixedClock(at())).security_token("tok+/=").build().unwrap()
}

#[test]
fn sign_http_request_matches_the_core_and_verifies() {
    let mut request = http::Request::post("https://api.example.com/v1/items?b=2&a=1")
        .header("Content-Type", "application/json")
        .body(b"{\"x\":1}".to_vec())
        .unwrap();
    let output = signer().sign_http_request(&mut request).unwrap();
    let expected = signer()
        .sign(&SignableRequest::new(
            "POST",
            "https://api.example.com/v1/items?b=2&a=1",
            &[("Content-Type", "application/json")],
            SignableBody::Bytes(b"{\"x\":1}"),
        ))
        .unwrap();
    assert_eq!(output, expected);
    let headers = request.headers();
    assert_eq!(headers["authorization"], expected.authorization.as_str());
    assert_eq!(headers["host"], "api.example.com");
    assert_eq!(headers["x-security-token"], "tok+/=");
    assert_eq!(headers["x-sdk-date"], expected.date.as_str());

    // as a server receives it: origin-form URI, Host header
    let (mut parts, body) = request.into_parts();
    parts.uri = "/v1/items?b=2&a=1".parse().unwrap();
    let received = http::Request::from_parts(parts, body);
    let verifier = Verifier::new(std::collections::HashMap::from([(AK.to_owned(), apig::SecretKey::new(SK))]))
        .with_clock(FixedClock(at()));
    let verified = verifier.verify_http_request(&received).unwrap();
    assert_eq!(verified.access_key, AK);
    assert_eq!(verified.security_token.unwrap().expose(), "tok+/=");
    let mut tampered = received;
    tampered.body_mut().push(b' ');
    assert_eq!(verifier.verify_http_request(&tampered).unwrap_err().code(), "signature_mismatch");
}

#[test]
fn unsigned_payload_and_bad_header_values() {
    let mut request = http::Request::put("https://h.example/upload").body(()).unwrap();
    let output = signer().sign_http_request_with(&mut request, SignableBody::Unsigned).unwrap();
    assert!(output.signed_headers.contains("x-sdk-content-sha256"));
    assert_eq!(request.headers()["x-sdk-content-sha256"], "UNSIGNED-PAYLOAD");

    let mut request = http::Request::get("https://h.example/")
        .header("X-Bin", http::HeaderValue::from_bytes(b"\xff").unwrap())
        .body(Vec::new())
        .unwrap();
    let error = signer().sign_http_request(&mut request).unwrap_err();
    assert_eq!(error.code(), "invalid_request");
    assert!(!request.headers().contains_key("authorization"), "nothing added on failure");
}
