//! Temporary credentials and Huawei Cloud service APIs: the security token, project and domain id
//! headers a signer adds and signs, the `huaweicloud-v3` profile, and what a verifier reports and
//! asks its key resolver (SPEC-credentials §1–3, §5).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apig::{
    Algorithm, ErrorKind, Profile, SecretKey, SignableBody, SignableRequest, Signer, SigningOptions, SigningSettings,
    TokenResolver, Verifier,
};
use proptest::prelude::*;

const AK: &str = "TMPAK-TEST";
const SK: &str = "tmp-secret";
const TOKEN: &str = "gQpjbi1ub3J0aC00+/tokenTOKEN==";
const DATE: &str = "20240403T101500Z";

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_712_139_300)
}

fn temporary() -> Signer {
    Signer::builder(AK, SK).security_token(TOKEN).build().unwrap()
}

/// Signs and returns every header the server receives: the request's, then the added ones.
fn signed(signer: &Signer, method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<(String, String)> {
    let out = signer.sign_at(&SignableRequest::new(method, url, headers, SignableBody::Bytes(body)), now()).unwrap();
    headers.iter().map(|&(n, v)| (n, v)).chain(out.headers()).map(|(n, v)| (n.to_owned(), v.to_owned())).collect()
}

fn pairs(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
}

#[test]
fn the_token_and_ids_are_added_before_signing_and_signed() {
    let signer =
        Signer::builder(AK, SK).security_token(TOKEN).project_id("0a1b2c3d").domain_id("9f8e7d6c").build().unwrap();
    let headers = [("Host", "ecs.example.com"), ("X-Sdk-Date", DATE)];
    let out = signer
        .sign(&SignableRequest::new("GET", "https://ecs.example.com/v1/x", &headers, SignableBody::Bytes(b"")))
        .unwrap();
    let added: Vec<(&str, &str)> = out.headers().collect();
    assert_eq!(added[..3], [("X-Project-Id", "0a1b2c3d"), ("X-Domain-Id", "9f8e7d6c"), ("X-Security-Token", TOKEN)],);
    assert_eq!(added[3].0, "Authorization");
    assert_eq!(out.signed_headers, "host;x-domain-id;x-project-id;x-sdk-date;x-security-token");
    assert!(out.trace.canonical_request.contains(&format!("\nx-security-token:{TOKEN}\n")));

    // the same bytes as a plain APIG signer given those headers by the caller (the `portable` rule)
    let mut given = headers.to_vec();
    given.extend(&added[..3]);
    let plain = Signer::new(AK, SK)
        .unwrap()
        .sign(&SignableRequest::new("GET", "https://ecs.example.com/v1/x", &given, SignableBody::Bytes(b"")))
        .unwrap();
    assert_eq!(plain.authorization, out.authorization);
    // …so the caller's own identical header is kept and not added twice
    let again = signer
        .sign(&SignableRequest::new("GET", "https://ecs.example.com/v1/x", &given, SignableBody::Bytes(b"")))
        .unwrap();
    assert_eq!(again.headers().map(|(n, _)| n).collect::<Vec<_>>(), ["Authorization"]);
    assert_eq!(again.authorization, out.authorization);
}

#[test]
fn a_conflicting_caller_header_is_a_duplicate_header_error_without_the_token() {
    for (name, value) in
        [("x-security-token", "other-token"), ("X-PROJECT-ID", "other"), ("X-Domain-Id", "other-domain")]
    {
        let signer =
            Signer::builder(AK, SK).security_token(TOKEN).project_id("0a1b2c3d").domain_id("9f8e7d6c").build().unwrap();
        let headers = [("X-Sdk-Date", DATE), (name, value)];
        let err =
            signer.sign(&SignableRequest::new("GET", "https://h/x", &headers, SignableBody::Bytes(b""))).unwrap_err();
        assert_eq!(err.code(), "duplicate_header", "{name}");
        assert!(!err.message().contains(TOKEN) && !err.message().contains(value), "{err}");
    }
}

#[test]
fn bad_tokens_and_ids_are_invalid_config_naming_what_not_the_value() {
    for token in ["", "   ", "tok\r\nX-Evil: 1", "tok\0"] {
        let err = Signer::builder(AK, SK).security_token(token).build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{token:?}");
        assert!(err.message().contains("security token"), "{err}");
        if !token.trim().is_empty() {
            assert!(!err.message().contains(token), "{err}");
        }
    }
    let err = Signer::builder(AK, SK).project_id("").build().unwrap_err();
    assert_eq!((err.code(), err.message()), ("invalid_config", "the project id must not be empty"));
    let err = Signer::builder(AK, SK).domain_id("a\nb").build().unwrap_err();
    assert!(err.code() == "invalid_config" && err.message().contains("domain id"), "{err}");
}

#[test]
fn debug_never_shows_the_token_or_the_secret() {
    let signer = temporary();
    let shown = format!("{signer:?}");
    assert!(!shown.contains(TOKEN) && !shown.contains(SK), "{shown}");
    assert!(shown.contains("SecurityToken(***)"), "{shown}");
    let out = signer.sign(&SignableRequest::new("GET", "https://h/x", &[], SignableBody::Bytes(b""))).unwrap();
    let shown = format!("{out:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
    let received = signed(&signer, "GET", "https://h/x", &[], b"");
    let verified = Verifier::new(HashMap::from([(AK.to_owned(), SK.to_owned())]))
        .verify_at(&SignableRequest::new("GET", "/x", &pairs(&received), SignableBody::Bytes(b"")), now())
        .unwrap();
    assert_eq!(verified.security_token.as_ref().map(|t| t.expose()), Some(TOKEN));
    let shown = format!("{verified:?}");
    assert!(!shown.contains(TOKEN) && shown.contains("SecurityToken(***)"), "{shown}");
}

/// A resolver of temporary keys: the key pair is known only with the token it was issued with.
fn temporary_keys() -> TokenResolver<impl Fn(&str, Option<&str>) -> Option<SecretKey> + Send + Sync> {
    TokenResolver(|ak: &str, token: Option<&str>| (ak == AK && token == Some(TOKEN)).then(|| SecretKey::new(SK)))
}

#[test]
fn the_verifier_hands_the_signed_token_to_the_resolver_and_reports_it() {
    let received = signed(&temporary(), "POST", "https://h/v1/x", &[("Content-Type", "application/json")], b"{}");
    let verifier = Verifier::new(temporary_keys());
    let request = |headers: &[(String, String)]| {
        verifier.verify_at(&SignableRequest::new("POST", "/v1/x", &pairs(headers), SignableBody::Bytes(b"{}")), now())
    };
    let verified = request(&received).unwrap();
    assert_eq!(verified.security_token.unwrap().expose(), TOKEN);
    assert_eq!(verified.access_key, AK);

    // the head check sees it too, before the body
    let pairs_ = pairs(&received);
    let head = verifier.check_head_at(&SignableRequest::new("POST", "/v1/x", &pairs_, SignableBody::Unsigned), now());
    assert_eq!(head.unwrap().security_token(), Some(TOKEN));

    // another token: the temporary key is not found
    let swapped: Vec<(String, String)> = received
        .iter()
        .map(|(n, v)| if n == "X-Security-Token" { (n.clone(), "forged".to_owned()) } else { (n.clone(), v.clone()) })
        .collect();
    assert_eq!(request(&swapped).unwrap_err().code(), "unknown_access_key");
}

#[test]
fn an_unsigned_token_is_neither_reported_nor_handed_to_the_resolver() {
    // signed by permanent credentials, a token added after signing (as OTC's signers do)
    let mut received = signed(&Signer::new(AK, SK).unwrap(), "GET", "https://h/x", &[], b"");
    received.push(("X-Security-Token".to_owned(), TOKEN.to_owned()));
    let pairs_ = pairs(&received);
    let request = SignableRequest::new("GET", "/x", &pairs_, SignableBody::Bytes(b""));
    let err = Verifier::new(temporary_keys()).verify_at(&request, now()).unwrap_err();
    assert_eq!(err.code(), "unknown_access_key");
    let permanent = Verifier::new(HashMap::from([(AK.to_owned(), SK.to_owned())]));
    assert_eq!(permanent.verify_at(&request, now()).unwrap().security_token, None);
}

#[test]
fn resolvers_without_tokens_still_work_behind_an_arc() {
    let keys: std::sync::Arc<dyn apig::KeyResolver> = std::sync::Arc::new(temporary_keys());
    let received = signed(&temporary(), "GET", "https://h/x", &[], b"");
    let verified = Verifier::new(keys)
        .verify_at(&SignableRequest::new("GET", "/x", &pairs(&received), SignableBody::Bytes(b"")), now())
        .unwrap();
    assert!(verified.security_token.is_some());
}

fn v3() -> Signer {
    let settings =
        SigningSettings::try_from(SigningOptions { profile: Some("v3"), project_id: Some("p1"), ..Default::default() })
            .unwrap();
    assert_eq!(settings.profile, Profile::HuaweiCloudV3);
    Signer::builder(AK, SK).settings(settings).security_token(TOKEN).build().unwrap()
}

#[test]
fn the_v3_profile_skips_underscore_names_and_keeps_the_host_as_written() {
    let headers = [("X-Sdk-Date", DATE), ("x_under", "1"), ("x-dash", "2")];
    let out = v3()
        .sign(&SignableRequest::new("GET", "https://api.example.com:443/x", &headers, SignableBody::Bytes(b"")))
        .unwrap();
    assert_eq!(out.signed_headers, "host;x-dash;x-project-id;x-sdk-date;x-security-token");
    assert!(out.headers().any(|h| h == ("Host", "api.example.com:443")));
    let apig = Signer::new(AK, SK)
        .unwrap()
        .sign(&SignableRequest::new("GET", "https://api.example.com:443/x", &headers, SignableBody::Bytes(b"")))
        .unwrap();
    assert!(apig.signed_headers.contains("x_under"));
    assert!(apig.headers().any(|h| h == ("Host", "api.example.com")));
}

#[test]
fn the_v3_profile_leaves_non_json_bodies_unsigned_and_verifies() {
    let keys = HashMap::from([(AK.to_owned(), SK.to_owned())]);
    let verifier = Verifier::new(keys);
    for (content_type, body, unsigned) in [
        ("application/octet-stream", &b"\x00\x01binary"[..], true),
        ("application/json;charset=UTF-8", b"{\"a\":1}", false),
        // Python's rule: an empty body is hashed although UNSIGNED-PAYLOAD is declared
        ("text/plain", b"", false),
    ] {
        let headers = [("Content-Type", content_type), ("X-Sdk-Date", DATE)];
        let out = v3().sign(&SignableRequest::new("PUT", "https://h/o", &headers, SignableBody::Bytes(body))).unwrap();
        let declared = !content_type.starts_with("application/json");
        assert_eq!(
            out.headers().any(|h| h == ("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD")),
            declared,
            "{content_type}"
        );
        assert_eq!(out.trace.canonical_request.ends_with("\nUNSIGNED-PAYLOAD"), unsigned, "{content_type}");
        let received = signed(&v3(), "PUT", "https://h/o", &headers, body);
        let verified = verifier
            .verify_at(&SignableRequest::new("PUT", "/o", &pairs(&received), SignableBody::Bytes(body)), now())
            .unwrap();
        assert_eq!(verified.unsigned_payload, unsigned, "{content_type}");
    }
    // the empty-body acceptance covers the empty body only: a body added on the way is refused
    let headers = [("Content-Type", "text/plain"), ("X-Sdk-Date", DATE)];
    let received = signed(&v3(), "PUT", "https://h/o", &headers, b"");
    let err = verifier
        .verify_at(&SignableRequest::new("PUT", "/o", &pairs(&received), SignableBody::Bytes(b"added")), now())
        .unwrap_err();
    assert_eq!(err.code(), "signature_mismatch");
}

fn header_value() -> impl Strategy<Value = String> {
    // the characters of IAM tokens and ids, and blanks inside
    r"[A-Za-z0-9+/=_.-][A-Za-z0-9+/=_. -]{0,40}[A-Za-z0-9+/=]"
}

proptest! {
    /// Any token and ids, any algorithm and profile: the receiver verifies the request, is told the
    /// token, and the signature is the APIG algorithm's over the headers at signing.
    #[test]
    fn temporary_credentials_round_trip(
        token in header_value(),
        project in proptest::option::of(header_value()),
        domain in proptest::option::of(header_value()),
        algorithm in prop::sample::select(Algorithm::ALL.to_vec()),
        profile in prop::sample::select(Profile::ALL.to_vec()),
        content_type in prop::sample::select(vec!["application/json", "text/plain", "application/bson"]),
        body in prop::collection::vec(any::<u8>(), 0..32),
    ) {
        let mut builder =
            Signer::builder(AK, SK).security_token(token.as_str()).algorithm(algorithm).region("r1").profile(profile);
        if let Some(p) = &project { builder = builder.project_id(p.as_str()); }
        if let Some(d) = &domain { builder = builder.domain_id(d.as_str()); }
        let signer = builder.build().unwrap();
        let headers = [("Content-Type", content_type), ("X-Sdk-Date", DATE)];
        let received = signed(&signer, "POST", "https://h/p?q=1", &headers, &body);
        let verified = Verifier::new(temporary_keys_for(&token))
            .verify_at(&SignableRequest::new("POST", "/p?q=1", &pairs(&received), SignableBody::Bytes(&body)), now())
            .unwrap();
        let reported = verified.security_token.clone().unwrap();
        prop_assert_eq!(reported.expose(), token.trim());
        for (name, value) in [("x-project-id", &project), ("x-domain-id", &domain)] {
            prop_assert_eq!(verified.signed_headers.contains(name), value.is_some());
        }
    }
}

fn temporary_keys_for(token: &str) -> TokenResolver<impl Fn(&str, Option<&str>) -> Option<SecretKey> + Send + Sync> {
    let token = token.trim().to_owned();
    TokenResolver(move |ak: &str, t: Option<&str>| (ak == AK && t == Some(token.as_str())).then(|| SecretKey::new(SK)))
}
