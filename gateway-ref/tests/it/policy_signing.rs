//! Backend signature keys: the gateway signs what it forwards (SDK-HMAC-SHA256 through the core
//! signer); the backend's view of the request — as the standalone echo backend reports it — is
//! verified with the core verifier and the signature key, and fails with any other key or a
//! tampered body.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::collections::HashMap;

use apig::{Algorithm, ErrorKind, SignableBody, SignableRequest, Verifier};
use apig_conformance::client::{self, RawResponse};
use common::{echo_backend, send, signed_headers, temp_dir};

fn config(echo: u16) -> String {
    format!(
        r#"{{
  "groups": [{{"id": "g", "apis": [
    {{"id": "signed", "method": "POST", "path": "/orders", "match": "prefix", "auth": "app",
      "backend": {{"url": "http://127.0.0.1:{echo}/internal"}}, "policies": ["sign-backend"]}},
    {{"id": "open", "method": "POST", "path": "/open", "auth": "none",
      "backend": {{"url": "http://127.0.0.1:{echo}"}}, "policies": ["sign-backend"]}}
  ]}}],
  "environments": [{{"name": "RELEASE", "published": ["signed", "open"]}}],
  "apps": [{{"id": "a1", "key": "AK1", "secret": "SK1-secret"}}],
  "authorizations": [{{"app": "a1", "api": "signed"}}],
  "policies": [{{"name": "sign-backend", "type": "backend_signing",
                 "config": {{"key": "gateway-key", "secret": "gateway-signature-secret"}}}}]
}}"#
    )
}

/// What the backend received, from the echo's JSON: method, URL, headers, body.
struct Seen {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn seen(r: &RawResponse) -> Seen {
    assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
    let j = r.json().unwrap();
    let headers: Vec<(String, String)> = j["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_owned(), p[1].as_str().unwrap().to_owned()))
        .collect();
    let host = headers.iter().find(|(n, _)| n == "host").unwrap().1.clone();
    let query = j["query"].as_str().unwrap();
    let url = format!("http://{host}{}{}{query}", j["path"].as_str().unwrap(), if query.is_empty() { "" } else { "?" });
    Seen {
        method: j["method"].as_str().unwrap().to_owned(),
        url,
        headers,
        body: j["body"].as_str().unwrap_or("").as_bytes().to_vec(),
    }
}

fn verify(s: &Seen, secret: &str, body: &[u8]) -> Result<apig::Verified, apig::Error> {
    let keys: HashMap<String, String> = HashMap::from([("gateway-key".to_owned(), secret.to_owned())]);
    let headers: Vec<(&str, &str)> = s.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    Verifier::new(keys).verify(&SignableRequest::new(&s.method, &s.url, &headers, SignableBody::Bytes(body)))
}

#[test]
fn the_backend_can_prove_the_request_came_through_the_gateway() {
    let echo = echo_backend();
    let (gw, _) = common::start_in(&temp_dir("signing"), &config(echo));
    let addr = gw.addr();
    let body = br#"{"item": 42}"#;
    let target = "/orders/7?b=2&a=1";
    let h = signed_headers(
        addr,
        "POST",
        target,
        &[("Host", "api.test"), ("Content-Type", "application/json")],
        body,
        "AK1",
        "SK1-secret",
        Algorithm::SdkHmacSha256,
    );
    let s = seen(&send(addr, "POST", target, &h, body));
    assert_eq!(s.url, format!("http://127.0.0.1:{echo}/internal/orders/7?b=2&a=1"));
    assert_eq!(s.body, body);
    let auth = s.headers.iter().find(|(n, _)| n == "authorization").unwrap().1.clone();
    assert!(auth.starts_with("SDK-HMAC-SHA256 Access=gateway-key, SignedHeaders="), "{auth}");
    for signed in ["content-type", "host", "x-request-id", "x-sdk-date"] {
        assert!(auth.contains(signed), "{signed} not signed: {auth}");
    }
    // the client's signature is not forwarded
    assert!(!auth.contains("AK1"));

    let verified = verify(&s, "gateway-signature-secret", body).expect("the backend verifies the gateway's signature");
    assert_eq!(verified.access_key, "gateway-key");
    assert!(!verified.unsigned_payload, "a buffered body is covered by the signature");
    // another key, or a body changed on the way, does not verify
    assert_eq!(verify(&s, "another-secret", body).unwrap_err().kind(), ErrorKind::SignatureMismatch);
    assert!(verify(&s, "gateway-signature-secret", br#"{"item": 43}"#).is_err());
}

#[test]
fn a_streamed_body_is_signed_as_unsigned_payload() {
    let echo = echo_backend();
    let (gw, _) = common::start_in(&temp_dir("signing-stream"), &config(echo));
    let r = client::request(gw.addr(), "POST", "/open?x=1", &[("Host", "api.test")], b"streamed body").unwrap();
    let s = seen(&r);
    assert_eq!(
        s.headers.iter().find(|(n, _)| n == "x-sdk-content-sha256").map(|(_, v)| v.as_str()),
        Some("UNSIGNED-PAYLOAD")
    );
    let verified = verify(&s, "gateway-signature-secret", b"streamed body").unwrap();
    assert!(verified.unsigned_payload);
    assert_eq!(verify(&s, "wrong", b"").unwrap_err().kind(), ErrorKind::SignatureMismatch);
}
