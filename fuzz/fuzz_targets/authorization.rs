//! The Authorization parser on arbitrary text: never panics; what it accepts re-formats to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(auth) = apig::Authorization::parse(text)
    {
        assert_eq!(auth.signature.len(), 64);
        assert!(auth.signed_header_names().all(|n| !n.is_empty()));
    }
});
