//! The reference gateway (`gateway-ref/`, package `apig-gateway`).

use std::path::PathBuf;
use std::process::Command;

use anyhow::Result;

use crate::util::{Target, cargo, debug_executable, debug_packages, one_debug_build, run, target_dir, vector_files};

/// The Debian tools the policy tests start: `redis-server` (cluster throttling: two gateways
/// sharing counters) and `kcat` (its `test.mock.num.brokers` mock broker for the Kafka log push)
/// — the tests fail, naming this step, when they are missing —, and `systemd` for
/// `systemd-analyze verify` of the example unit (docs/deployment.md; skipped with a note without).
pub(crate) fn setup() -> Result<()> {
    crate::util::ensure_apt(&["redis-server", "kcat", "systemd"])
}

pub(crate) fn build() -> Result<()> {
    run(cargo().args(["build", "--release", "-p", "apig-gateway"]))
}

/// Unit and integration tests over real sockets on 127.0.0.1 (requests signed by the core, every
/// APIG error, the bad-input battery, faults, reload under load, the admin API, the binary, and
/// every vector replayed through a running gateway), then requests sent by the `apig` CLI and by
/// the `apig-reqwest` middleware. The integration tests are one test binary, `tests/it/main.rs`
/// (a module per former file): `cargo test -p apig-gateway --test it pool::` runs one module.
pub(crate) fn test() -> Result<()> {
    // in `cargo xtask ci` the rust step's `cargo test` ran these (one debug build for the run)
    if !one_debug_build() {
        run(cargo().args(["test", "-p", "apig-gateway"]))?;
    }
    // requests signed and sent by the `apig` CLI (needs its binary)
    let cli = debug_executable("apig-cli", Target::Bin("apig"))?;
    let mut cli_tests = cargo();
    cli_tests.arg("test");
    for package in debug_packages(&["apig-gateway"]) {
        cli_tests.args(["-p", package]);
    }
    run(cli_tests.args(["--test", "it", "--", "apig_cli::", "--ignored"]).env("APIG_CLI", cli))?;
    // the reqwest middleware against the demo gateway (the binary `cargo test` just built)
    if !one_debug_build() {
        let gateway = binary()?;
        run(cargo().args(["test", "-p", "apig-reqwest"]).env("APIG_GATEWAY", gateway))?;
    }
    Ok(())
}

/// The debug `apig-gateway` binary, as `cargo test -p apig-gateway` builds it (`--no-run`): the
/// steps that start a gateway (Python, Kotlin, the browser, docs, interop, rotation) share that one
/// build with the gateway step. A `cargo build --bin apig-gateway` resolves the dependencies'
/// features without the dev-dependencies' and compiled redis, rskafka, chrono and the gateway a
/// second time: ~2 minutes of CI's clean-clone run. In `cargo xtask ci`: the binary of the run's
/// one debug build (`util::debug_packages_all`).
pub(crate) fn binary() -> Result<PathBuf> {
    if one_debug_build() {
        return debug_executable("apig-gateway", Target::Bin("apig-gateway"));
    }
    run(cargo().args(["test", "-p", "apig-gateway", "--no-run"]))?;
    Ok(target_dir().join("debug").join(format!("apig-gateway{}", std::env::consts::EXE_SUFFIX)))
}

/// Replays every vector of `files` (default: `conformance/*.json`) through a running gateway over
/// real sockets: verify vectors with their verdict and error code, sign vectors as requests that
/// must be accepted. Ends with `N passed, M failed`.
pub(crate) fn conformance(files: &[PathBuf]) -> Result<()> {
    let files = vector_files(files)?;
    run(Command::new(debug_executable("apig-gateway", Target::Example("conformance"))?).args(&files))
}
