//! `docs/error-codes.md` lists every core error kind with the gateway's mapping.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use apig::ErrorKind;
use apig_gateway::error::apig_code;

#[test]
fn error_codes_doc_matches_the_mapping_for_every_kind() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/error-codes.md");
    let doc = std::fs::read_to_string(path).unwrap();
    for kind in ErrorKind::ALL {
        let (status, code) = apig_code(kind);
        let row = format!("| `{}` | APIG.{code} | {status} |", kind.code());
        assert!(doc.contains(&row), "docs/error-codes.md lacks the row starting {row}");
    }
}

#[test]
fn gateway_doc_shows_the_complete_example_config() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc = std::fs::read_to_string(root.join("docs/gateway.md")).unwrap();
    let example = std::fs::read_to_string(root.join("examples/gateway/gateway.toml")).unwrap();
    assert!(doc.contains(&example), "docs/gateway.md must contain examples/gateway/gateway.toml verbatim");
}
