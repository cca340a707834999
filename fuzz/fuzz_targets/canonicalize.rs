//! Signing arbitrary requests: never panics; whatever is signed verifies.
#![no_main]

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use apig::{SignableBody, SignableRequest, Signer, Verifier};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &str, Vec<(&str, &str)>, &[u8])| {
    let (method, url, headers, body) = input;
    let now = UNIX_EPOCH + Duration::from_secs(1_712_139_300);
    let _ = apig::canonical_uri(url);
    let _ = apig::canonical_query(Some(url));
    let Ok(signer) = Signer::new("AK", "SK") else { return };
    let Ok(out) = signer.sign_at(&SignableRequest::new(method, url, &headers, SignableBody::Bytes(body)), now) else {
        return;
    };
    // What the signer accepted must verify, received as sent (headers plus the ones added) — unless
    // the input set its own date (may be expired) or declared a payload hash (checked against the body).
    let own = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    if own("x-sdk-date") || own("x-sdk-content-sha256") {
        return;
    }
    let mut received: Vec<(&str, &str)> = headers.iter().filter(|(n, _)| !n.eq_ignore_ascii_case("authorization")).copied().collect();
    received.extend(out.headers());
    let verifier = Verifier::new(HashMap::from([("AK".to_owned(), "SK".to_owned())]));
    let verified = verifier.verify_at(&SignableRequest::new(method, url, &received, SignableBody::Bytes(body)), now);
    assert!(verified.is_ok(), "{verified:?}");
});
