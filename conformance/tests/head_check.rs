//! The core's head check (`Verifier::check_head_at`) over every verify vector: a vector rejected
//! for a fault of the head gets that error from the head check alone (before any body is read);
//! every other vector passes it, and its body and signature decide.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::Path;

use apig::{ErrorKind, SdkDate, SignableBody, SignableRequest, Verifier};
use apig_conformance::{Vector, default_vector_files, load_file};

/// The verification errors only the body or the signature computation can cause.
const BODY_FAULTS: [ErrorKind; 2] = [ErrorKind::PayloadHashMismatch, ErrorKind::SignatureMismatch];

#[test]
fn verify_vectors_head_faults_are_found_by_the_head_check() {
    let files = default_vector_files(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
    let (mut head_faults, mut passed) = (0, 0);
    for file in &files {
        for vector in load_file(file).unwrap() {
            let Vector::Verify(v) = vector else { continue };
            let now = SdkDate::parse(&v.now).unwrap().to_system_time();
            let keys: HashMap<String, String> = v.key_store.clone().into_iter().collect();
            let verifier = Verifier::new(keys);
            let headers = v.request.header_pairs();
            let body = v.request.body_bytes().unwrap();
            let request = SignableRequest::new(&v.request.method, &v.request.url, &headers, SignableBody::Bytes(&body));
            let verified = verifier.verify_at(&request, now);
            // the head check does not look at the body
            let head_only = SignableRequest::new(&v.request.method, &v.request.url, &headers, SignableBody::Unsigned);
            let head = verifier.check_head_at(&head_only, now);
            match verified {
                Err(e) if !BODY_FAULTS.contains(&e.kind()) => {
                    let head = head.expect_err(&v.name);
                    assert_eq!(head.code(), e.code(), "{}", v.name);
                    assert_eq!(head.message(), e.message(), "{}", v.name);
                    if let Some(expected) = &v.expected_error {
                        assert_eq!(head.code(), expected, "{}", v.name);
                    }
                    head_faults += 1;
                }
                _ => {
                    let head = head.unwrap_or_else(|e| panic!("{}: the head check refused: {e}", v.name));
                    assert!(v.key_store.contains_key(head.access_key()), "{}", v.name);
                    passed += 1;
                }
            }
        }
    }
    // conformance/verify-public.json: 5 rejects for the head (expired, unknown key, no Signature
    // field, no Authorization, unsupported algorithm); 6 accepts and 3 signature mismatches pass it
    assert!(head_faults >= 5 && passed >= 9, "{head_faults} head faults, {passed} passed the head check");
}
