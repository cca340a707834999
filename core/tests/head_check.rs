//! `Verifier::check_head_at`: every fault of a request's head gets from it the error `verify_at`
//! gives (kind, code and message), and a request whose only faults are the body's or the
//! signature's passes it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apig::{Algorithm, ErrorKind, FixedClock, SdkDate, SignableBody, SignableRequest, Signer, Verifier, VerifyPolicy};

const AK: &str = "AK-HEAD-TEST";
const SK: &str = "secret-for-head-tests";
const DATE: &str = "20240403T101500Z";
const BODY: &[u8] = b"{\"n\":1}";

type Keys = HashMap<String, String>;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(SdkDate::parse(DATE).unwrap().unix_seconds()).unwrap())
}

fn verifier() -> Verifier<Keys> {
    Verifier::new(HashMap::from([(AK.to_owned(), SK.to_owned())])).with_clock(FixedClock(now()))
}

fn strict(policy: VerifyPolicy) -> Verifier<Keys> {
    verifier().with_policy(policy)
}

/// Signs POST /v1/items?a=1 with `headers` and `body`; returns the headers a server receives.
fn signed_by(signer: &Signer, headers: &[(&str, &str)], body: SignableBody<'_>) -> Vec<(String, String)> {
    let req = SignableRequest::new("POST", "https://api.example.com/v1/items?a=1", headers, body);
    let out = signer.sign_at(&req, now()).unwrap();
    let mut received: Vec<(String, String)> = headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
    received.extend(out.headers().map(|(n, v)| (n.to_owned(), v.to_owned())));
    received
}

fn signed(headers: &[(&str, &str)]) -> Vec<(String, String)> {
    signed_by(&Signer::new(AK, SK).unwrap(), headers, SignableBody::Bytes(BODY))
}

fn replace(mut headers: Vec<(String, String)>, name: &str, value: &str) -> Vec<(String, String)> {
    for (n, v) in &mut headers {
        if n.eq_ignore_ascii_case(name) {
            value.clone_into(v);
        }
    }
    headers
}

fn without(mut headers: Vec<(String, String)>, name: &str) -> Vec<(String, String)> {
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    headers
}

fn with(mut headers: Vec<(String, String)>, name: &str, value: &str) -> Vec<(String, String)> {
    headers.push((name.to_owned(), value.to_owned()));
    headers
}

fn authorization(headers: &[(String, String)]) -> String {
    headers.iter().find(|(n, _)| n == "Authorization").unwrap().1.clone()
}

/// One request: the verifier, method, target, headers and body a server receives.
struct Case {
    name: &'static str,
    verifier: Verifier<Keys>,
    method: &'static str,
    target: &'static str,
    headers: Vec<(String, String)>,
    body: &'static [u8],
    /// The verifier's time.
    at: SystemTime,
}

fn case(name: &'static str, verifier: Verifier<Keys>, headers: Vec<(String, String)>) -> Case {
    Case { name, verifier, method: "POST", target: "/v1/items?a=1", headers, body: BODY, at: now() }
}

/// A request for each verification error that is a fault of the head, with the kind expected.
fn head_faults() -> Vec<(Case, ErrorKind)> {
    let h = signed(&[("Content-Type", "application/json"), ("X-Project-Id", "p1")]);
    let sm3 = signed_by(
        &Signer::builder(AK, SK).algorithm(Algorithm::SdkHmacSm3).build().unwrap(),
        &[],
        SignableBody::Bytes(BODY),
    );
    let v11 = signed_by(
        &Signer::builder(AK, SK).algorithm(Algorithm::V11HmacSha256).region("cn-north-4").build().unwrap(),
        &[],
        SignableBody::Bytes(BODY),
    );
    let unsigned = signed_by(&Signer::new(AK, SK).unwrap(), &[], SignableBody::Unsigned);
    let no_host = {
        // an origin-form target and no Host: host is not signed
        let req_headers = [("X-Sdk-Date", DATE)];
        let req = SignableRequest::new("POST", "/v1/items?a=1", &req_headers, SignableBody::Bytes(BODY));
        let out = Signer::new(AK, SK).unwrap().sign_at(&req, now()).unwrap();
        vec![
            ("X-Sdk-Date".to_owned(), DATE.to_owned()),
            ("Host".to_owned(), "api.example.com".to_owned()),
            ("Authorization".to_owned(), out.authorization),
        ]
    };
    let date_unsigned = {
        let auth = authorization(&h).replace(";x-sdk-date", "");
        replace(h.clone(), "authorization", &auth)
    };
    let wrong_day = {
        let auth = authorization(&v11).replace("/20240403/", "/20240402/");
        replace(v11.clone(), "authorization", &auth)
    };
    let mut late = case("expired", verifier(), h.clone());
    late.at = now() + Duration::from_secs(16 * 60);
    let other_keys =
        Verifier::new(HashMap::from([("someone-else".to_owned(), SK.to_owned())])).with_clock(FixedClock(now()));
    let mut bad_method = case("invalid method", verifier(), h.clone());
    bad_method.method = "PO ST";
    let mut bad_target = case("invalid target", verifier(), h.clone());
    bad_target.target = "no-scheme/x";
    vec![
        (case("no Authorization", verifier(), without(h.clone(), "authorization")), ErrorKind::MissingAuthorization),
        (
            case(
                "malformed Authorization",
                verifier(),
                replace(h.clone(), "authorization", "SDK-HMAC-SHA256 Access=AK"),
            ),
            ErrorKind::MalformedAuthorization,
        ),
        (
            case("two Authorization headers", verifier(), with(h.clone(), "authorization", "SDK-HMAC-SHA256 x")),
            ErrorKind::MalformedAuthorization,
        ),
        (
            case(
                "algorithm not accepted",
                strict(VerifyPolicy { allowed_algorithms: vec![Algorithm::SdkHmacSha256], ..VerifyPolicy::default() }),
                sm3,
            ),
            ErrorKind::UnsupportedAlgorithm,
        ),
        (case("no date", verifier(), without(h.clone(), "x-sdk-date")), ErrorKind::MissingDate),
        (case("two dates", verifier(), with(h.clone(), "X-Sdk-Date", "20240403T101501Z")), ErrorKind::DuplicateHeader),
        (case("date not signed", verifier(), date_unsigned), ErrorKind::DateNotSigned),
        (
            case("malformed date", verifier(), replace(h.clone(), "x-sdk-date", "2024-04-03T10:15:00Z")),
            ErrorKind::MalformedDate,
        ),
        (late, ErrorKind::Expired),
        (
            case("host not signed", strict(VerifyPolicy { require_host: true, ..VerifyPolicy::default() }), no_host),
            ErrorKind::HostNotSigned,
        ),
        (case("scope of another day", verifier(), wrong_day), ErrorKind::CredentialScopeMismatch),
        (
            case(
                "scope of another region",
                strict(VerifyPolicy { region: Some("eu-west-101".into()), ..VerifyPolicy::default() }),
                v11,
            ),
            ErrorKind::CredentialScopeMismatch,
        ),
        (case("unknown key", other_keys, h.clone()), ErrorKind::UnknownAccessKey),
        (case("signed header missing", verifier(), without(h.clone(), "x-project-id")), ErrorKind::SignedHeaderMissing),
        (
            case("signed header value invalid", verifier(), replace(h.clone(), "x-project-id", "p\u{1}")),
            ErrorKind::InvalidRequest,
        ),
        (
            case(
                "UNSIGNED-PAYLOAD not accepted",
                strict(VerifyPolicy { allow_unsigned_payload: false, ..VerifyPolicy::default() }),
                unsigned,
            ),
            ErrorKind::UnsignedPayloadNotAllowed,
        ),
        (
            case("conflicting repeat of a signed header", verifier(), with(h, "x-project-id", "p2")),
            ErrorKind::DuplicateHeader,
        ),
        (bad_method, ErrorKind::InvalidRequest),
        (bad_target, ErrorKind::InvalidRequest),
    ]
}

fn pairs(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
}

#[test]
fn every_head_fault_gets_the_error_verify_gives() {
    let faults = head_faults();
    for (c, expected) in &faults {
        let headers = pairs(&c.headers);
        let request = SignableRequest::new(c.method, c.target, &headers, SignableBody::Bytes(c.body));
        let verified = c.verifier.verify_at(&request, c.at).expect_err(c.name);
        assert_eq!(verified.kind(), *expected, "{}: verify_at: {verified}", c.name);
        let head = c.verifier.check_head_at(&request, c.at).expect_err(c.name);
        assert_eq!(head.kind(), verified.kind(), "{}", c.name);
        assert_eq!(head.code(), verified.code(), "{}", c.name);
        assert_eq!(head.message(), verified.message(), "{}", c.name);
        // the head check does not look at the body
        let unsigned = SignableRequest::new(c.method, c.target, &headers, SignableBody::Unsigned);
        assert_eq!(c.verifier.check_head_at(&unsigned, c.at).unwrap_err().kind(), *expected, "{}", c.name);
    }
    // every verification kind but the body's and the signature's is covered
    let body_or_not_verification =
        [ErrorKind::PayloadHashMismatch, ErrorKind::SignatureMismatch, ErrorKind::InvalidConfig, ErrorKind::BodyRead];
    for kind in ErrorKind::ALL.into_iter().filter(|k| !body_or_not_verification.contains(k)) {
        assert!(faults.iter().any(|(_, k)| *k == kind), "no head fault of kind {kind:?}");
    }
}

#[test]
fn body_and_signature_faults_pass_the_head_check() {
    let hash = Algorithm::SdkHmacSha256.hash_function().hash_hex(BODY);
    let declared = signed(&[("X-Sdk-Content-Sha256", hash.as_str())]);
    let h = signed(&[("Content-Type", "application/json")]);
    let wrong_secret =
        Verifier::new(HashMap::from([(AK.to_owned(), "not-the-secret".to_owned())])).with_clock(FixedClock(now()));
    let mut tampered_target = case("tampered query", verifier(), h.clone());
    tampered_target.target = "/v1/items?a=2";
    let mut tampered_body = case("tampered body", verifier(), h.clone());
    tampered_body.body = b"{\"n\":2}";
    let mut other_body = case("body not the declared hash", verifier(), declared.clone());
    other_body.body = b"another body";
    let cases = [
        (tampered_body, ErrorKind::SignatureMismatch),
        (tampered_target, ErrorKind::SignatureMismatch),
        (case("wrong secret", wrong_secret, h.clone()), ErrorKind::SignatureMismatch),
        (case("tampered header", verifier(), replace(h, "content-type", "text/plain")), ErrorKind::SignatureMismatch),
        (other_body, ErrorKind::PayloadHashMismatch),
    ];
    for (c, expected) in &cases {
        let headers = pairs(&c.headers);
        let request = SignableRequest::new(c.method, c.target, &headers, SignableBody::Bytes(c.body));
        assert_eq!(c.verifier.verify_at(&request, c.at).unwrap_err().kind(), *expected, "{}", c.name);
        let head = c.verifier.check_head_at(&request, c.at).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        assert_eq!(head.access_key(), AK);
    }
}

#[test]
fn the_head_check_says_what_the_body_must_be() {
    let h = signed(&[]);
    let headers = pairs(&h);
    let request = SignableRequest::new("POST", "/v1/items?a=1", &headers, SignableBody::Unsigned);
    let head = verifier().check_head_at(&request, now()).unwrap();
    assert_eq!(head.access_key(), AK);
    assert_eq!(head.algorithm(), Algorithm::SdkHmacSha256);
    assert_eq!(head.date(), SdkDate::parse(DATE).unwrap());
    assert_eq!(head.signed_headers(), "host;x-sdk-date");
    assert_eq!(head.declared_body_hash(), None);
    assert!(!head.unsigned_payload());

    let hash = Algorithm::SdkHmacSha256.hash_function().hash_hex(BODY);
    let declared = signed(&[("X-Sdk-Content-Sha256", hash.as_str())]);
    let headers = pairs(&declared);
    let request = SignableRequest::new("POST", "/v1/items?a=1", &headers, SignableBody::Unsigned);
    assert_eq!(verifier().check_head_at(&request, now()).unwrap().declared_body_hash(), Some(hash.as_str()));

    let unsigned = signed_by(&Signer::new(AK, SK).unwrap(), &[], SignableBody::Unsigned);
    let headers = pairs(&unsigned);
    let request = SignableRequest::new("POST", "/v1/items?a=1", &headers, SignableBody::Unsigned);
    let head = verifier().check_head_at(&request, now()).unwrap();
    assert!(head.unsigned_payload());
    assert_eq!(head.declared_body_hash(), None);
}
