//! Signer behaviour beyond the vectors: what it adds, what it refuses, the clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, UNIX_EPOCH};

use apig::{Algorithm, ErrorKind, FixedClock, SignableBody, SignableRequest, Signer};

const AK: &str = "AK-SIGN-TEST";
const SK: &str = "secret";

#[test]
fn adds_host_and_date_from_url_and_clock() {
    let t = UNIX_EPOCH + Duration::from_secs(1_712_139_300); // 2024-04-03T10:15:00Z
    let signer = Signer::builder(AK, SK).clock(FixedClock(t)).build().unwrap();
    let out = signer
        .sign(&SignableRequest::new("get", "https://api.example.com:443/x", &[], SignableBody::Bytes(b"")))
        .unwrap();
    let added: Vec<(&str, &str)> = out.headers().collect();
    let names: Vec<&str> = added.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["Host", "X-Sdk-Date", "Authorization"]);
    assert_eq!(added[0].1, "api.example.com", "default port is not part of Host");
    assert_eq!(added[1].1, "20240403T101500Z");
    assert_eq!(out.date, "20240403T101500Z");
    assert!(out.trace.canonical_request.starts_with("GET\n/x/\n\nhost:api.example.com\nx-sdk-date:20240403T101500Z\n"));
    assert_eq!(out.authorization, added[2].1);

    let port =
        signer.sign(&SignableRequest::new("GET", "http://127.0.0.1:8080/x", &[], SignableBody::Bytes(b""))).unwrap();
    assert_eq!(port.headers().next(), Some(("Host", "127.0.0.1:8080")));
}

#[test]
fn keeps_given_host_and_date_and_ignores_an_old_authorization() {
    let signer = Signer::new(AK, SK).unwrap();
    let headers = [("host", "other.example.com"), ("x-sdk-date", "20240403T101500Z"), ("Authorization", "stale")];
    let out = signer
        .sign(&SignableRequest::new("GET", "https://api.example.com/", &headers, SignableBody::Bytes(b"")))
        .unwrap();
    assert_eq!(out.headers().count(), 1);
    assert_eq!(out.signed_headers, "host;x-sdk-date");
    assert!(out.trace.canonical_request.contains("host:other.example.com\n"));
}

#[test]
fn precomputed_and_streamed_bodies_equal_bytes() {
    let signer = Signer::new(AK, SK).unwrap();
    let headers = [("X-Sdk-Date", "20240403T101500Z")];
    let body = vec![42u8; 300_000];
    let bytes = signer.sign(&SignableRequest::new("PUT", "https://h/f", &headers, SignableBody::Bytes(&body))).unwrap();
    let hash = apig::hash_reader(Algorithm::SdkHmacSha256, &body[..]).unwrap();
    let pre =
        signer.sign(&SignableRequest::new("PUT", "https://h/f", &headers, SignableBody::Precomputed(&hash))).unwrap();
    assert_eq!(bytes.signature, pre.signature);
}

#[test]
fn sm3_prefers_its_own_content_header() {
    let signer = Signer::builder(AK, SK).algorithm(Algorithm::SdkHmacSm3).build().unwrap();
    let headers = [("X-Sdk-Date", "20240403T101500Z"), ("X-Sdk-Content-Sha256", "A"), ("X-Sdk-Content-Sm3", "B")];
    let out = signer.sign(&SignableRequest::new("GET", "https://h/", &headers, SignableBody::Bytes(b""))).unwrap();
    assert!(out.trace.canonical_request.ends_with("\nB"));
    let sha = Signer::new(AK, SK).unwrap();
    let out = sha.sign(&SignableRequest::new("GET", "https://h/", &headers, SignableBody::Bytes(b""))).unwrap();
    assert!(out.trace.canonical_request.ends_with("\nA"));
}

#[test]
fn malformed_date_header_is_refused() {
    let signer = Signer::new(AK, SK).unwrap();
    let headers = [("X-Sdk-Date", "yesterday")];
    let err = signer.sign(&SignableRequest::new("GET", "https://h/", &headers, SignableBody::Bytes(b""))).unwrap_err();
    assert_eq!(err.code(), "malformed_date");
}

#[test]
fn a_signing_time_without_an_x_sdk_date_form_is_refused() {
    // years 0001..=9999 only: beyond them the date was once written as 00000000T000000Z and signed
    let request = SignableRequest::new("GET", "https://h/", &[], SignableBody::Bytes(b""));
    for seconds in [1_000_000_000_000_000u64, 253_402_300_800] {
        let far = UNIX_EPOCH + Duration::from_secs(seconds);
        let signer = Signer::builder(AK, SK).clock(FixedClock(far)).build().unwrap();
        assert_eq!(signer.sign(&request).unwrap_err().kind(), ErrorKind::MalformedDate, "{seconds}");
        assert_eq!(Signer::new(AK, SK).unwrap().sign_at(&request, far).unwrap_err().kind(), ErrorKind::MalformedDate);
    }
    let last = UNIX_EPOCH + Duration::from_secs(253_402_300_799);
    assert_eq!(Signer::new(AK, SK).unwrap().sign_at(&request, last).unwrap().date, "99991231T235959Z");
}

#[test]
fn secrets_never_show_in_debug() {
    let signer = Signer::new(AK, "very-secret-value").unwrap();
    assert!(!format!("{signer:?}").contains("very-secret-value"));
}

#[test]
fn an_unsigned_body_adds_the_content_hash_header_before_authorization() {
    let signer = Signer::new(AK, SK).unwrap();
    let headers = [("Host", "api.example.com"), ("X-Sdk-Date", "20240403T101500Z")];
    let out = signer
        .sign(&SignableRequest::new("PUT", "https://api.example.com/o", &headers, SignableBody::Unsigned))
        .unwrap();
    let added: Vec<(&str, &str)> = out.headers().collect();
    assert_eq!(added, [("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD"), ("Authorization", out.authorization.as_str())]);
    assert_eq!(out.signed_headers, "host;x-sdk-content-sha256;x-sdk-date");

    // a declared content hash is the caller's: nothing is added
    let declared =
        [("Host", "api.example.com"), ("X-Sdk-Date", "20240403T101500Z"), ("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD")];
    let out = signer
        .sign(&SignableRequest::new("PUT", "https://api.example.com/o", &declared, SignableBody::Unsigned))
        .unwrap();
    assert_eq!(out.headers().map(|(n, _)| n).collect::<Vec<_>>(), ["Authorization"]);
}

/// The hop-by-hop rule is the core's: by default (every language's default) the signer leaves
/// `Connection`, `Transfer-Encoding`, … out, in any case and even with a value it would refuse, so
/// a request signs the same with or without them; `ExcludedHeaders::None` signs them, as Huawei's
/// signers do.
#[test]
fn hop_by_hop_headers_are_not_signed_by_default() {
    use apig::{ExcludedHeaders, HOP_BY_HOP_HEADERS, SigningOptions, SigningSettings};
    let plain = [("Host", "api.example.com"), ("X-Sdk-Date", "20240403T101500Z"), ("Content-Type", "text/plain")];
    let sign = |signer: &Signer, headers: &[(&str, &str)]| {
        signer.sign(&SignableRequest::new("POST", "https://api.example.com/x", headers, SignableBody::Bytes(b"x")))
    };
    let signer = Signer::new(AK, SK).unwrap();
    let expected = sign(&signer, &plain).unwrap();
    assert_eq!(expected.signed_headers, "content-type;host;x-sdk-date");
    for name in HOP_BY_HOP_HEADERS {
        let upper = name.to_ascii_uppercase();
        let mut with = plain.to_vec();
        with.insert(1, (name, "keep-alive"));
        with.push((upper.as_str(), "bad\r\nvalue"));
        let out = sign(&signer, &with).unwrap();
        assert_eq!((&out.signed_headers, &out.signature), (&expected.signed_headers, &expected.signature), "{name}");
    }
    let settings = SigningSettings::try_from(SigningOptions { excluded_headers: Some("none"), ..Default::default() });
    let all = Signer::from_settings(AK, SK, settings.unwrap()).unwrap();
    assert_eq!(all.settings().excluded_headers, ExcludedHeaders::None);
    let out = sign(&all, &[("Connection", "keep-alive"), plain[0], plain[1]]).unwrap();
    assert_eq!(out.signed_headers, "connection;host;x-sdk-date");
}

/// `PayloadMode::Unsigned` signs every body as `UNSIGNED-PAYLOAD`, as `SignableBody::Unsigned` does.
#[test]
fn the_unsigned_payload_mode_signs_any_body_unsigned() {
    use apig::{PayloadMode, SigningOptions, SigningSettings};
    let headers = [("Host", "h"), ("X-Sdk-Date", "20240403T101500Z")];
    let settings = SigningSettings::try_from(SigningOptions { unsigned_payload: Some(true), ..Default::default() });
    let unsigned = Signer::from_settings(AK, SK, settings.unwrap()).unwrap();
    assert_eq!(unsigned.settings().payload, PayloadMode::Unsigned);
    let out =
        unsigned.sign(&SignableRequest::new("PUT", "https://h/", &headers, SignableBody::Bytes(b"body"))).unwrap();
    let expected = Signer::new(AK, SK)
        .unwrap()
        .sign(&SignableRequest::new("PUT", "https://h/", &headers, SignableBody::Unsigned))
        .unwrap();
    assert_eq!(out, expected);
    assert!(out.headers().any(|h| h == ("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD")));
}
