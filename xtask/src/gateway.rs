//! The reference gateway (`gateway-ref/`, package `apig-gateway`).

use std::path::PathBuf;

use anyhow::Result;

use crate::util::{cargo, run, target_dir, vector_files};

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
    run(cargo().args(["test", "-p", "apig-gateway"]))?;
    // requests signed and sent by the `apig` CLI (needs its binary)
    run(cargo().args(["build", "-p", "apig-cli", "--bin", "apig"]))?;
    let cli = target_dir().join("debug").join(if cfg!(windows) { "apig.exe" } else { "apig" });
    run(cargo().args(["test", "-p", "apig-gateway", "--test", "it", "--", "apig_cli::", "--ignored"]).env("APIG_CLI", cli))?;
    // the reqwest middleware against the demo gateway (the binary `cargo test` just built)
    let gateway = binary()?;
    run(cargo().args(["test", "-p", "apig-reqwest"]).env("APIG_GATEWAY", gateway))
}

/// The debug `apig-gateway` binary, as `cargo test -p apig-gateway` builds it (`--no-run`): the
/// steps that start a gateway (Python, Kotlin, the browser, docs, interop, rotation) share that one
/// build with the gateway step. A `cargo build --bin apig-gateway` resolves the dependencies'
/// features without the dev-dependencies' and compiled redis, rskafka, chrono and the gateway a
/// second time: ~2 minutes of CI's clean-clone run.
pub(crate) fn binary() -> Result<PathBuf> {
    run(cargo().args(["test", "-p", "apig-gateway", "--no-run"]))?;
    Ok(target_dir().join("debug").join(format!("apig-gateway{}", std::env::consts::EXE_SUFFIX)))
}

/// Replays every vector of `files` (default: `conformance/*.json`) through a running gateway over
/// real sockets: verify vectors with their verdict and error code, sign vectors as requests that
/// must be accepted. Ends with `N passed, M failed`.
pub(crate) fn conformance(files: &[PathBuf]) -> Result<()> {
    let files = vector_files(files)?;
    run(cargo().args(["run", "--quiet", "-p", "apig-gateway", "--example", "conformance", "--"]).args(&files))
}
