//! Runs the shell examples of `examples/cli/` with the built binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

#[test]
fn sign_and_verify_example_runs() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/cli/sign-and-verify.sh");
    let out = run(Command::new("bash").arg(&script).env("APIG", env!("CARGO_BIN_EXE_apig")), b"");
    let text = stdout(&out);
    assert_eq!(status(&out), 0, "{text}\n{}", stderr(&out));
    assert!(text.contains("ok: access key demo-access-key, algorithm SDK-HMAC-SHA256"), "{text}");
    assert!(text.contains("error[signature_mismatch]: verify signature fail"), "{text}");
    assert!(text.contains("  query\n    local:   hello=world\n    gateway: hello=mars\n"), "{text}");
}
