//! Verifying arbitrary received requests: never panics, never accepts a forged signature.
#![no_main]

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use apig::{SignableBody, SignableRequest, Verifier};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &str, Vec<(&str, &str)>, &[u8])| {
    let (method, target, headers, body) = input;
    let now = UNIX_EPOCH + Duration::from_secs(1_712_139_300);
    let verifier = Verifier::new(HashMap::from([("AK".to_owned(), "SK".to_owned())]));
    let result = verifier.verify_at(&SignableRequest::new(method, target, &headers, SignableBody::Bytes(body)), now);
    // Forging an HMAC-SHA256 by chance is not a thing the fuzzer can do.
    assert!(result.is_err());
});
