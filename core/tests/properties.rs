//! Property tests: sign → verify round trips on generated requests, any change to a signed part is
//! rejected, and no input makes the signer, the parser or the verifier panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apig::{Algorithm, Authorization, ErrorKind, SignableBody, SignableRequest, Signer, Verifier};
use proptest::prelude::*;

const AK: &str = "AK-PROPTEST";
const SK: &str = "sk-proptest";

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_712_139_300)
}

#[derive(Debug, Clone)]
struct Generated {
    algorithm: Algorithm,
    method: &'static str,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn segment() -> impl Strategy<Value = String> {
    // raw characters (incl. reserved and non-ASCII) and percent escapes
    prop::collection::vec(prop_oneof![r"[a-zA-Z0-9._~-]{1,4}", r"[ !$&'()*+,;=:@]", "%[0-9A-F]{2}", "[é中ß]"], 0..4)
        .prop_map(|parts| parts.concat())
}

fn header_value() -> impl Strategy<Value = String> {
    r"[ -~\t]{0,16}".prop_map(|s| s)
}

fn generated() -> impl Strategy<Value = Generated> {
    (
        prop::sample::select(Algorithm::ALL.to_vec()),
        prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]),
        prop::collection::vec(segment(), 0..4),
        prop::collection::vec((r"[a-z%+ ]{0,3}", r"[a-z0-9%+= ]{0,4}", any::<bool>()), 0..4),
        prop::collection::btree_map(r"x-[a-z0-9_-]{1,6}", header_value(), 0..4),
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(algorithm, method, segments, query, headers, body)| Generated {
            algorithm,
            method,
            path: format!("/{}", segments.join("/")),
            query: query
                .iter()
                .map(|(k, v, eq)| if *eq { format!("{k}={v}") } else { k.clone() })
                .collect::<Vec<_>>()
                .join("&"),
            headers: headers.into_iter().collect(),
            body,
        })
}

fn signer_for(algorithm: Algorithm) -> Signer {
    Signer::builder(AK, SK).algorithm(algorithm).region("cn-north-4").build().unwrap()
}

fn verifier() -> Verifier<HashMap<String, String>> {
    Verifier::new(HashMap::from([(AK.to_owned(), SK.to_owned())]))
}

/// Signs `g` as a client and returns what a server receives: the target and all headers.
fn sign(g: &Generated) -> (String, Vec<(String, String)>) {
    let target = if g.query.is_empty() { g.path.clone() } else { format!("{}?{}", g.path, g.query) };
    let url = format!("https://api.example.com{target}");
    let pairs: Vec<(&str, &str)> = g.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let out = signer_for(g.algorithm)
        .sign_at(&SignableRequest::new(g.method, &url, &pairs, SignableBody::Bytes(&g.body)), now())
        .unwrap();
    let mut received = g.headers.clone();
    received.extend(out.headers().map(|(n, v)| (n.to_owned(), v.to_owned())));
    (target, received)
}

fn verify(method: &str, target: &str, headers: &[(String, String)], body: &[u8]) -> Result<(), apig::Error> {
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    verifier().verify_at(&SignableRequest::new(method, target, &pairs, SignableBody::Bytes(body)), now()).map(|_| ())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn round_trip(g in generated()) {
        let (target, headers) = sign(&g);
        prop_assert!(verify(g.method, &target, &headers, &g.body).is_ok());
    }

    #[test]
    fn body_change_is_rejected(g in generated(), extra in any::<u8>()) {
        let (target, headers) = sign(&g);
        let mut body = g.body.clone();
        body.push(extra);
        prop_assert_eq!(verify(g.method, &target, &headers, &body).unwrap_err().kind(), ErrorKind::SignatureMismatch);
    }

    #[test]
    fn method_change_is_rejected(g in generated()) {
        let (target, headers) = sign(&g);
        let other = if g.method == "GET" { "POST" } else { "GET" };
        prop_assert_eq!(verify(other, &target, &headers, &g.body).unwrap_err().kind(), ErrorKind::SignatureMismatch);
    }

    #[test]
    fn path_change_is_rejected(g in generated(), seg in r"[a-z0-9]{1,4}") {
        let (target, headers) = sign(&g);
        let (path, query) = target.split_once('?').map_or((target.as_str(), None), |(p, q)| (p, Some(q)));
        let changed = format!("{path}/{seg}{}", query.map(|q| format!("?{q}")).unwrap_or_default());
        prop_assert_eq!(verify(g.method, &changed, &headers, &g.body).unwrap_err().kind(), ErrorKind::SignatureMismatch);
    }

    #[test]
    fn query_change_is_rejected(g in generated(), key in r"[a-z]{1,3}", value in r"[a-z0-9]{0,3}") {
        let (target, headers) = sign(&g);
        let sep = if target.contains('?') { "&" } else { "?" };
        let changed = format!("{target}{sep}{key}={value}");
        prop_assert_eq!(verify(g.method, &changed, &headers, &g.body).unwrap_err().kind(), ErrorKind::SignatureMismatch);
    }

    #[test]
    fn signed_header_change_is_rejected(g in generated(), which in any::<prop::sample::Index>(), suffix in r"[a-z0-9]{1,3}") {
        let (target, mut headers) = sign(&g);
        let candidates: Vec<usize> = headers
            .iter()
            .enumerate()
            .filter(|(_, (n, _))| !n.eq_ignore_ascii_case("authorization") && !n.eq_ignore_ascii_case("x-sdk-date"))
            .map(|(i, _)| i)
            .collect();
        let i = candidates[which.index(candidates.len())];
        let value = headers[i].1.trim_matches([' ', '\t']).to_owned();
        headers[i].1 = format!("{value}{suffix}");
        prop_assert_eq!(verify(g.method, &target, &headers, &g.body).unwrap_err().kind(), ErrorKind::SignatureMismatch);
    }

    #[test]
    fn signer_never_panics(method in r"\PC{0,8}", url in r"\PC{0,40}", headers in prop::collection::vec((r"\PC{0,8}", r"\PC{0,8}"), 0..4), body in prop::collection::vec(any::<u8>(), 0..16)) {
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let _ = signer_for(Algorithm::SdkHmacSha256).sign_at(&SignableRequest::new(&method, &url, &pairs, SignableBody::Bytes(&body)), now());
        let _ = signer_for(Algorithm::V11HmacSm3).sign_at(&SignableRequest::new(&method, &url, &pairs, SignableBody::Unsigned), now());
    }

    #[test]
    fn parser_and_verifier_never_panic(auth in r"\PC{0,200}", date in r"[0-9TZ]{0,18}", url in r"/\PC{0,30}") {
        let _ = Authorization::parse(&auth);
        let headers = vec![("Authorization".to_owned(), auth.clone()), ("X-Sdk-Date".to_owned(), date)];
        let _ = verify("GET", &url, &headers, b"");
    }
}

#[test]
fn authorization_mutations_never_panic_and_are_rejected() {
    let g = Generated {
        algorithm: Algorithm::SdkHmacSha256,
        method: "GET",
        path: "/v1".into(),
        query: String::new(),
        headers: vec![],
        body: vec![],
    };
    let (target, headers) = sign(&g);
    let auth = headers.iter().find(|(n, _)| n == "Authorization").unwrap().1.clone();
    for cut in 0..auth.len() {
        let mut h = headers.clone();
        for (n, v) in &mut h {
            if n == "Authorization" {
                *v = auth[..cut].to_owned();
            }
        }
        assert!(verify("GET", &target, &h, b"").is_err(), "prefix of length {cut} accepted");
    }
}
