//! The Rust core, the CLI and the conformance runner.

use std::path::PathBuf;
use std::process::Command;

use anyhow::Result;

use crate::util::{RUST_STEP_PACKAGES, Target, cargo, debug_executable, debug_packages, run, target_dir, vector_files};

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
/// (the release checks' parsers). In `cargo xtask ci` the one `cargo test` names every package of
/// the run's debug build (`util::debug_packages_all`), so it also runs the gateway's and the reqwest
/// middleware's tests, which the gateway step then leaves out.
pub(crate) fn test() -> Result<()> {
    run(&mut tests())?;
    run(&mut Command::new(debug_executable("apig", Target::Example("sign_and_verify"))?))
}

/// `cargo test` of [`RUST_STEP_PACKAGES`] (in `cargo xtask ci`: of every package of its debug build).
fn tests() -> Command {
    let mut test = cargo();
    test.arg("test");
    for package in debug_packages(&RUST_STEP_PACKAGES) {
        test.args(["-p", package]);
    }
    test
}

/// The `apig-rotation` binary as the rust step built it (its integration test needs it): the same
/// command with `--no-run` rebuilds nothing after that step, where `cargo build -p apig-rotation`
/// alone would build its dependencies again with another set of features.
pub(crate) fn rotation_binary() -> Result<PathBuf> {
    run(tests().arg("--no-run"))?;
    Ok(target_dir().join("debug").join(format!("apig-rotation{}", std::env::consts::EXE_SUFFIX)))
}

pub(crate) fn conformance(files: &[PathBuf]) -> Result<()> {
    let files = vector_files(files)?;
    run(Command::new(debug_executable("apig-conformance", Target::Bin("apig-conformance"))?).args(&files))
}

/// Formatting, lints and docs of the whole workspace.
pub(crate) fn lint() -> Result<()> {
    run(cargo().args(["fmt", "--all", "--check"]))?;
    run(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    run(cargo().args(["doc", "--no-deps", "-p", "apig"]).env("RUSTDOCFLAGS", "-D warnings"))
}
