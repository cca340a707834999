//! Every verification error kind, produced through the public API by a request a client could send.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apig::{
    Algorithm, ErrorKind, FixedClock, SdkDate, SignableBody, SignableRequest, Signer, Verified, Verifier, VerifyPolicy,
};

const AK: &str = "AK-VERIFY-TEST";
const SK: &str = "secret-for-verify-tests";
const DATE: &str = "20240403T101500Z";

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(SdkDate::parse(DATE).unwrap().unix_seconds()).unwrap())
}

fn verifier() -> Verifier<HashMap<String, String>> {
    Verifier::new(HashMap::from([(AK.to_owned(), SK.to_owned())])).with_clock(FixedClock(now()))
}

/// Signs `headers` + body for POST /v1/items?a=1 and returns the headers a server receives.
fn signed(signer: &Signer, headers: &[(&str, &str)], body: SignableBody<'_>) -> Vec<(String, String)> {
    let req = SignableRequest::new("POST", "https://api.example.com/v1/items?a=1", headers, body);
    let out = signer.sign_at(&req, now()).unwrap();
    let mut received: Vec<(String, String)> = headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
    received.extend(out.headers().map(|(n, v)| (n.to_owned(), v.to_owned())));
    received
}

fn verify_with(
    verifier: &Verifier<HashMap<String, String>>,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Verified, apig::Error> {
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    verifier.verify(&SignableRequest::new("POST", "/v1/items?a=1", &pairs, SignableBody::Bytes(body)))
}

fn kind(result: Result<Verified, apig::Error>) -> ErrorKind {
    result.unwrap_err().kind()
}

fn signer() -> Signer {
    Signer::new(AK, SK).unwrap()
}

fn replace(headers: &mut [(String, String)], name: &str, value: &str) {
    for (n, v) in headers.iter_mut() {
        if n.eq_ignore_ascii_case(name) {
            *v = value.to_owned();
        }
    }
}

#[test]
fn accepts_what_it_signed() {
    let h = signed(&signer(), &[("Content-Type", "application/json")], SignableBody::Bytes(b"{}"));
    let ok = verify_with(&verifier(), &h, b"{}").unwrap();
    assert_eq!(ok.access_key, AK);
    assert_eq!(ok.signed_headers, "content-type;host;x-sdk-date");
    assert_eq!(ok.signed_header_names().collect::<Vec<_>>(), ["content-type", "host", "x-sdk-date"]);
    assert!(!ok.unsigned_payload);
}

#[test]
fn missing_and_malformed_authorization() {
    let mut h = signed(&signer(), &[], SignableBody::Bytes(b""));
    h.retain(|(n, _)| n != "Authorization");
    assert_eq!(kind(verify_with(&verifier(), &h, b"")), ErrorKind::MissingAuthorization);
    h.push(("Authorization".into(), "SDK-HMAC-SHA256 Access=AK".into()));
    assert_eq!(kind(verify_with(&verifier(), &h, b"")), ErrorKind::MalformedAuthorization);
}

#[test]
fn two_different_authorization_headers_are_malformed() {
    let mut h = signed(&signer(), &[], SignableBody::Bytes(b""));
    let other = signed(&Signer::new("AK-OTHER", "x").unwrap(), &[], SignableBody::Bytes(b""));
    h.push(other.iter().find(|(n, _)| n == "Authorization").unwrap().clone());
    assert_eq!(kind(verify_with(&verifier(), &h, b"")), ErrorKind::MalformedAuthorization);
}

#[test]
fn algorithm_not_allowed_by_policy() {
    let sm3 = Signer::builder(AK, SK).algorithm(Algorithm::SdkHmacSm3).build().unwrap();
    let h = signed(&sm3, &[], SignableBody::Bytes(b""));
    assert!(verify_with(&verifier(), &h, b"").is_ok());
    let strict = verifier()
        .with_policy(VerifyPolicy { allowed_algorithms: vec![Algorithm::SdkHmacSha256], ..VerifyPolicy::default() });
    assert_eq!(kind(verify_with(&strict, &h, b"")), ErrorKind::UnsupportedAlgorithm);
}

#[test]
fn unknown_key() {
    let h = signed(&Signer::new("AK-NOBODY", SK).unwrap(), &[], SignableBody::Bytes(b""));
    let err = verify_with(&verifier(), &h, b"").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownAccessKey);
    assert!(err.message().contains("AK-NOBODY"));
}

#[test]
fn date_problems() {
    let mut h = signed(&signer(), &[], SignableBody::Bytes(b""));
    h.retain(|(n, _)| n != "X-Sdk-Date");
    assert_eq!(kind(verify_with(&verifier(), &h, b"")), ErrorKind::MissingDate);

    let mut h = signed(&signer(), &[], SignableBody::Bytes(b""));
    replace(&mut h, "x-sdk-date", "2024-04-03T10:15:00Z");
    assert_eq!(kind(verify_with(&verifier(), &h, b"")), ErrorKind::MalformedDate);

    // signed without the date: the date is then added after signing (a broken client)
    let mut h = signed(&signer(), &[], SignableBody::Bytes(b""));
    let auth = h.iter().find(|(n, _)| n == "Authorization").unwrap().1.replace("host;x-sdk-date", "host");
    replace(&mut h, "authorization", &auth);
    assert_eq!(kind(verify_with(&verifier(), &h, b"")), ErrorKind::DateNotSigned);
}

#[test]
fn expiry_is_symmetric_and_inclusive_at_fifteen_minutes() {
    let h = signed(&signer(), &[], SignableBody::Bytes(b""));
    for (offset, ok) in [(900i64, true), (-900, true), (901, false), (-901, false)] {
        let t = if offset >= 0 {
            now() + Duration::from_secs(offset.unsigned_abs())
        } else {
            now() - Duration::from_secs(offset.unsigned_abs())
        };
        let v = verifier().with_clock(FixedClock(t));
        let result = verify_with(&v, &h, b"");
        assert_eq!(result.is_ok(), ok, "offset {offset}: {result:?}");
        if !ok {
            let err = result.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Expired);
            assert!(err.message().starts_with("signature expired, signature time:20240403T101500Z, server time:"));
        }
    }
}

#[test]
fn host_must_be_signed_when_required() {
    let req_headers = [("X-Sdk-Date", DATE)];
    let out = signer().sign_at(&SignableRequest::new("GET", "/v1", &req_headers, SignableBody::Bytes(b"")), now());
    let out = out.unwrap();
    assert_eq!(out.signed_headers, "x-sdk-date", "origin-form target and no Host: host is not signed");
    let mut h: Vec<(String, String)> = vec![("X-Sdk-Date".into(), DATE.into()), ("Host".into(), "h".into())];
    h.push(("Authorization".into(), out.authorization));
    let pairs: Vec<(&str, &str)> = h.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let req = SignableRequest::new("GET", "/v1", &pairs, SignableBody::Bytes(b""));
    assert!(verifier().verify(&req).is_ok());
    let strict = verifier().with_policy(VerifyPolicy { require_host: true, ..VerifyPolicy::default() });
    assert_eq!(strict.verify(&req).unwrap_err().kind(), ErrorKind::HostNotSigned);
}

#[test]
fn signed_header_missing_and_duplicates() {
    let h = signed(&signer(), &[("X-Project-Id", "p1")], SignableBody::Bytes(b""));
    let mut missing = h.clone();
    missing.retain(|(n, _)| n != "X-Project-Id");
    assert_eq!(kind(verify_with(&verifier(), &missing, b"")), ErrorKind::SignedHeaderMissing);

    let mut same_twice = h.clone();
    same_twice.push(("x-project-id".into(), " p1 ".into()));
    assert!(verify_with(&verifier(), &same_twice, b"").is_ok(), "an identical repeat is unambiguous");

    let mut conflicting = h;
    conflicting.push(("x-project-id".into(), "p2".into()));
    assert_eq!(kind(verify_with(&verifier(), &conflicting, b"")), ErrorKind::DuplicateHeader);
}

#[test]
fn signer_refuses_ambiguous_duplicates() {
    let headers = [("X-A", "1"), ("x-a", "2")];
    let err = signer().sign_at(&SignableRequest::new("GET", "https://h/", &headers, SignableBody::Bytes(b"")), now());
    assert_eq!(err.unwrap_err().kind(), ErrorKind::DuplicateHeader);
}

#[test]
fn unsigned_payload_policy() {
    let h = signed(&signer(), &[], SignableBody::Unsigned);
    assert!(h.iter().any(|(n, v)| n == "X-Sdk-Content-Sha256" && v == "UNSIGNED-PAYLOAD"));
    let ok = verify_with(&verifier(), &h, b"any body at all").unwrap();
    assert!(ok.unsigned_payload);
    let strict = verifier().with_policy(VerifyPolicy { allow_unsigned_payload: false, ..VerifyPolicy::default() });
    assert_eq!(kind(verify_with(&strict, &h, b"x")), ErrorKind::UnsignedPayloadNotAllowed);
}

#[test]
fn declared_payload_hash_is_checked_against_the_body() {
    let body = b"the real body";
    let hash = Algorithm::SdkHmacSha256.hash_function().hash_hex(body);
    let h = signed(&signer(), &[("X-Sdk-Content-Sha256", hash.as_str())], SignableBody::Bytes(b"ignored"));
    let ok = verify_with(&verifier(), &h, body).unwrap();
    assert!(!ok.unsigned_payload);
    assert_eq!(kind(verify_with(&verifier(), &h, b"another body")), ErrorKind::PayloadHashMismatch);
}

#[test]
fn tampering_is_a_signature_mismatch_with_the_verifiers_trace() {
    let h = signed(&signer(), &[("Content-Type", "application/json")], SignableBody::Bytes(b"{\"n\":1}"));
    let err = verify_with(&verifier(), &h, b"{\"n\":2}").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SignatureMismatch);
    let trace = err.trace().unwrap();
    assert!(trace.canonical_request.starts_with("POST\n/v1/items/\na=1\ncontent-type:application/json\n"));
    assert!(trace.string_to_sign.starts_with("SDK-HMAC-SHA256\n20240403T101500Z\n"));

    let wrong_secret =
        Verifier::new(HashMap::from([(AK.to_owned(), "not-the-secret".to_owned())])).with_clock(FixedClock(now()));
    assert_eq!(kind(verify_with(&wrong_secret, &h, b"{\"n\":1}")), ErrorKind::SignatureMismatch);
}

#[test]
fn v11_scope_is_checked() {
    let v11 = Signer::builder(AK, SK).algorithm(Algorithm::V11HmacSha256).region("cn-north-4").build().unwrap();
    let h = signed(&v11, &[], SignableBody::Bytes(b""));
    assert_eq!(verify_with(&verifier(), &h, b"").unwrap().algorithm, Algorithm::V11HmacSha256);
    let other_region =
        verifier().with_policy(VerifyPolicy { region: Some("eu-west-101".into()), ..VerifyPolicy::default() });
    assert_eq!(kind(verify_with(&other_region, &h, b"")), ErrorKind::CredentialScopeMismatch);
    let mut wrong_day = h.clone();
    let auth = wrong_day.iter().find(|(n, _)| n == "Authorization").unwrap().1.replace("/20240403/", "/20240402/");
    replace(&mut wrong_day, "authorization", &auth);
    assert_eq!(kind(verify_with(&verifier(), &wrong_day, b"")), ErrorKind::CredentialScopeMismatch);
}

#[test]
fn invalid_requests_and_configs() {
    let bad_header = [("X-Bad", "a\r\nInjected: yes")];
    let err =
        signer().sign_at(&SignableRequest::new("GET", "https://h/", &bad_header, SignableBody::Bytes(b"")), now());
    assert_eq!(err.unwrap_err().kind(), ErrorKind::InvalidRequest);
    let err = signer().sign_at(&SignableRequest::new("GET", "no-scheme/x", &[], SignableBody::Bytes(b"")), now());
    assert_eq!(err.unwrap_err().kind(), ErrorKind::InvalidRequest);
    assert_eq!(Signer::new("", SK).unwrap_err().kind(), ErrorKind::InvalidConfig);
    assert_eq!(Signer::new(AK, "").unwrap_err().kind(), ErrorKind::InvalidConfig);
    let no_region = Signer::builder(AK, SK).algorithm(Algorithm::V11HmacSm3).build();
    assert_eq!(no_region.unwrap_err().kind(), ErrorKind::InvalidConfig);
}

/// A request with several faults reports the first in the documented order of checks
/// (`Verifier::verify`): the date before the key, the key before the signed headers, the signed
/// headers before the payload hash, and every fault of the head (`Verifier::check_head_at`), a
/// conflicting repeat of a signed header included, before the payload hash.
#[test]
fn faults_are_reported_in_the_documented_order() {
    let h = signed(&signer(), &[("X-Project-Id", "p1")], SignableBody::Bytes(b"{}"));
    let mut missing = h.clone();
    missing.retain(|(n, _)| n != "X-Project-Id");
    let late = Verifier::new(HashMap::from([(AK.to_owned(), SK.to_owned())]))
        .with_clock(FixedClock(now() + Duration::from_secs(16 * 60)));
    assert_eq!(kind(verify_with(&late, &missing, b"{}")), ErrorKind::Expired);
    let other_keys = Verifier::new(HashMap::from([("someone-else".to_owned(), SK.to_owned())]));
    let other_keys = other_keys.with_clock(FixedClock(now()));
    assert_eq!(kind(verify_with(&other_keys, &missing, b"{}")), ErrorKind::UnknownAccessKey);
    let mut bad_value = h.clone();
    replace(&mut bad_value, "X-Project-Id", "p\u{1}");
    assert_eq!(kind(verify_with(&late, &bad_value, b"{}")), ErrorKind::Expired);
    assert_eq!(kind(verify_with(&verifier(), &bad_value, b"{}")), ErrorKind::InvalidRequest);

    let hash = Algorithm::SdkHmacSha256.hash_function().hash_hex(b"{}");
    let declared = signed(
        &signer(),
        &[("X-Sdk-Content-Sha256", hash.as_str()), ("X-Project-Id", "p1")],
        SignableBody::Bytes(b"{}"),
    );
    let mut missing = declared.clone();
    missing.retain(|(n, _)| n != "X-Project-Id");
    assert_eq!(kind(verify_with(&verifier(), &missing, b"another body")), ErrorKind::SignedHeaderMissing);
    let mut conflicting = declared.clone();
    conflicting.push(("x-project-id".into(), "p2".into()));
    assert_eq!(kind(verify_with(&verifier(), &conflicting, b"another body")), ErrorKind::DuplicateHeader);
    assert_eq!(kind(verify_with(&verifier(), &conflicting, b"{}")), ErrorKind::DuplicateHeader);
    let mut tampered = declared.clone();
    replace(&mut tampered, "X-Project-Id", "p2");
    assert_eq!(kind(verify_with(&verifier(), &tampered, b"another body")), ErrorKind::PayloadHashMismatch);
}
