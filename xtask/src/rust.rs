//! The Rust core, the CLI and the conformance runner.

use std::path::PathBuf;

use anyhow::Result;

use crate::util::{cargo, run, vector_files};

/// Nothing beyond the Rust toolchain (rustfmt and clippy come with it).
pub(crate) fn setup() -> Result<()> {
    Ok(())
}

pub(crate) fn build() -> Result<()> {
    run(cargo().args(["build", "--release", "-p", "apig", "-p", "apig-cli"]))
}

/// Unit, property, integration and doc tests of the core, the CLI and the credential providers
/// (against a local metadata service), the tower layer (a hyper server on 127.0.0.1; it turns on
/// the core's `http` feature, so the core's `http` tests run too), the uniffi binding's Rust unit
/// tests and its bindgen's Kotlin patch (built here with the rest: the Kotlin step builds only
/// the library and runs the JVM), the rotation proof's checks (examples/rotation), and xtask's own
/// (the release checks' parsers).
pub(crate) fn test() -> Result<()> {
    let mut test = cargo();
    test.arg("test");
    for package in [
        "apig",
        "apig-conformance",
        "apig-cli",
        "apig-credentials",
        "apig-tower",
        "apig-uniffi",
        "apig-uniffi-bindgen",
        "apig-rotation",
        "xtask",
    ] {
        test.args(["-p", package]);
    }
    run(&mut test)?;
    run(cargo().args(["run", "--quiet", "-p", "apig", "--example", "sign_and_verify"]))
}

pub(crate) fn conformance(files: &[PathBuf]) -> Result<()> {
    let files = vector_files(files)?;
    run(cargo().args(["run", "--quiet", "-p", "apig-conformance", "--"]).args(&files))
}

/// Formatting, lints and docs of the whole workspace.
pub(crate) fn lint() -> Result<()> {
    run(cargo().args(["fmt", "--all", "--check"]))?;
    run(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    run(cargo().args(["doc", "--no-deps", "-p", "apig"]).env("RUSTDOCFLAGS", "-D warnings"))
}
