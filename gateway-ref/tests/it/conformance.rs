//! Every conformance vector replayed through a running gateway over real sockets.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cloned_ref_to_slice_refs)]

use std::path::Path;

use crate::replay;

#[test]
fn every_vector_passes_through_the_gateway() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance");
    let files = apig_conformance::default_vector_files(&dir).unwrap();
    let mut total = 0;
    for f in &files {
        total += apig_conformance::load_file(f).unwrap().len();
    }
    let report = replay::run_files(&files).unwrap();
    println!("{}", report.summary());
    assert_eq!(report.failed(), 0);
    assert_eq!(report.passed(), total);
    assert!(total >= 48);
}
