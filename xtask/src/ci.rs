//! `cargo xtask ci`: every check of every language, in the order a failure is cheapest to find.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::util::{output, target_dir};
use crate::{Lang, docs, interop, rust};

pub(crate) fn run() -> Result<()> {
    // A full run builds everything once: cargo's incremental caches (~1 GB) only cost disk and
    // time here. Every cargo below (ours, maturin's, napi's) inherits the setting, so the
    // process re-runs itself with it rather than setting it command by command.
    //
    // The release-profile builds the tests use (the Python wheel, the Node addon, the Kotlin
    // library, the gateway and CLI binaries) are built at opt-level 1, without LTO and in 16
    // codegen units: the same code and behaviour, in a fraction of the time on CI's 2 cores. The artifacts users get
    // are `cargo xtask release`'s, with the real profile (thin LTO, one codegen unit); the WASM
    // modules' profiles set their own LTO, so the size test measures the shipped module.
    if std::env::var_os("CARGO_INCREMENTAL").is_none() {
        let exe = std::env::current_exe().context("cannot find the xtask binary")?;
        let mut command = Command::new(&exe);
        command.arg("ci").env("CARGO_INCREMENTAL", "0");
        for (name, value) in [
            ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1"),
            ("CARGO_PROFILE_RELEASE_LTO", "false"),
            ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16"),
        ] {
            if std::env::var_os(name).is_none() {
                command.env(name, value);
            }
        }
        let status = command.status().with_context(|| format!("cannot start {}", exe.display()))?;
        if !status.success() {
            bail!("ci failed ({status})");
        }
        return Ok(());
    }
    disk_report("before");
    let result = checks();
    disk_report("after");
    result
}

fn checks() -> Result<()> {
    // Each step's header says how long the run has taken so far: CI's budget is 15 minutes on
    // 2 cores, and these stamps show which step a slower run spent it in.
    let start = Instant::now();
    let step = |what: &str| eprintln!("==> [{:>4} s] {what}", start.elapsed().as_secs());
    step("lint: rustfmt, clippy");
    rust::lint()?;
    for lang in Lang::ALL {
        if lang == Lang::Swift {
            // generated (and checked) as part of the Kotlin step; no toolchain to run it here
            continue;
        }
        step(lang.name());
        lang.setup()?;
        lang.test()?;
        lang.conformance(&[])?;
    }
    step("docs: every README/docs code block run as copied, and the install names (our own only)");
    docs::test()?;
    step("release workflows: actionlint (the release builds themselves: `cargo xtask release --verify`, not in CI)");
    crate::release::tools::lint_workflows()?;
    step("interop: Python and Node clients, and a Python backend, through the gateway");
    interop::test()?;
    step("all checks passed");
    Ok(())
}

/// Prints the free space where the build writes, so that a run that dies of a full disk says so.
fn disk_report(when: &str) {
    let dir = target_dir();
    let probe = if dir.exists() { dir } else { crate::util::root().to_path_buf() };
    let df = output(Command::new("df").args(["-h", "--output=avail,size,target"]).arg(&probe)).unwrap_or_default();
    let fields: Vec<&str> = df.lines().last().unwrap_or_default().split_whitespace().collect();
    if let [avail, size, mount] = fields[..] {
        eprintln!("==> disk {when}: {avail} free of {size} on {mount}");
    }
}
