//! `cargo xtask rotation [--seconds N]`: the credential rotation proof (examples/rotation, issue
//! 17). A local ECS metadata service issues key pairs that live seconds and registers each with a
//! running `apig-gateway` through its admin API before handing it out; the Rust, Python and Node
//! metadata providers sign concurrent requests meanwhile. Passes when no request failed across at
//! least three rotations, every pair was used by every client, and no request after a client's
//! first took as long as the metadata service's delay (none waited on a refresh). Two minutes by
//! default (not in CI); CI's interop step runs the short form (`short`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::util::{cargo, run, target_dir};
use crate::{node, python};

/// The full run: two minutes, pairs living 40 s, a new one every 20 s (5 rotations).
const DEFAULT_SECONDS: u64 = 120;
/// CI's run (in the interop step): 18 s, pairs living 6 s, a new one every 3 s (5 rotations).
const SHORT_SECONDS: u64 = 18;

/// `cargo xtask rotation [--seconds N]`.
pub(crate) fn command(args: &[&str]) -> Result<()> {
    let seconds = match args {
        [] => DEFAULT_SECONDS,
        ["--seconds", n] => n.parse().with_context(|| format!("--seconds takes a number of seconds, not {n:?}"))?,
        _ => bail!("usage: cargo xtask rotation [--seconds N]"),
    };
    if seconds < 12 {
        bail!("--seconds must be at least 12: three rotations need the time");
    }
    let installed = installed()?;
    run(cargo().args(["build", "-p", "apig-rotation"]))?;
    prove(seconds, &target_dir().join("debug").join("apig-rotation"), &installed)
}

/// The short run of CI's interop step, with the binary the rust step built (and the gateway the
/// interop step just built).
pub(crate) fn short() -> Result<()> {
    let installed = installed()?;
    prove(SHORT_SECONDS, &crate::rust::rotation_binary()?, &installed)
}

/// The Python venv and the Node scratch project's `node_modules`, both with `apig-sdk` installed
/// by their language's test step (the interop step uses them too).
pub(crate) fn installed() -> Result<(PathBuf, PathBuf)> {
    let python = python::bin(&python::venv(), "python");
    if !python.exists() {
        bail!("the Python venv is missing: run `cargo xtask test python` first");
    }
    let node_modules = node::scratch().join("node_modules");
    if !node_modules.join("apig-sdk").exists() {
        bail!("the packed Node package is not installed: run `cargo xtask test node` first");
    }
    Ok((python, node_modules))
}

/// Runs the proof for `seconds`: a new key pair every sixth of it, each living two of those (a new
/// pair is out half a lifetime before the old one expires: room for a busy machine's slow fetch).
fn prove(seconds: u64, binary: &Path, (python, node_modules): &(PathBuf, PathBuf)) -> Result<()> {
    let gateway = crate::gateway::binary()?;
    #[allow(clippy::cast_precision_loss)] // a number of seconds: far below 2^52
    let every = seconds as f64 / 6.0;
    run(Command::new(binary)
        .arg("run")
        .arg("--gateway-bin")
        .arg(gateway)
        .arg("--work-dir")
        .arg(target_dir().join("rotation"))
        .arg("--python")
        .arg(python)
        .args(["--node", "node", "--seconds", &seconds.to_string()])
        .args(["--lifetime", &(every * 2.0).to_string(), "--rotate-every", &every.to_string()])
        .env("NODE_PATH", node_modules))
}
