//! Running commands and installing what the build needs, idempotently.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};

/// The workspace root (the folder with the top-level Cargo.toml).
pub(crate) fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        manifest.parent().map_or_else(|| manifest.to_path_buf(), Path::to_path_buf)
    })
}

/// `path` made absolute against the current directory.
pub(crate) fn absolute(path: &str) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("bad path {path}"))
}

/// The vector files to run: `files`, or every `*.json` in `conformance/`.
pub(crate) fn vector_files(files: &[PathBuf]) -> Result<Vec<PathBuf>> {
    if !files.is_empty() {
        return Ok(files.to_vec());
    }
    let mut all: Vec<PathBuf> = std::fs::read_dir(root().join("conformance"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    all.sort();
    Ok(all)
}

/// Prints and runs `cmd` in the workspace root (unless it has a directory), failing on non-zero exit.
pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    if cmd.get_current_dir().is_none() {
        cmd.current_dir(root());
    }
    eprintln!("+ {}", shown(cmd));
    let status = cmd.status().with_context(|| format!("cannot start {}", shown(cmd)))?;
    if !status.success() {
        bail!("`{}` failed ({status})", shown(cmd));
    }
    Ok(())
}

/// Runs `cmd` and returns its trimmed stdout, or `None` when it cannot start or fails.
pub(crate) fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn shown(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

/// A `cargo` command (the same cargo that runs xtask).
pub(crate) fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Installs the Debian packages of `packages` that are missing (one `apt-get update` first).
pub(crate) fn ensure_apt(packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| {
            output(Command::new("dpkg-query").args(["-W", "-f=${Status}", p]))
                .is_none_or(|s| !s.contains("install ok installed"))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let sudo = output(Command::new("id").arg("-u")).is_some_and(|uid| uid != "0");
    let apt = |args: &[&str]| {
        let mut cmd = if sudo { Command::new("sudo") } else { Command::new("apt-get") };
        if sudo {
            cmd.arg("apt-get");
        }
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    run(&mut apt(&["update", "-qq"]))?;
    let mut install = apt(&["install", "-y", "-qq", "--no-install-recommends"]);
    install.args(&missing);
    run(&mut install)
}

/// Adds a rustup target if it is not installed.
pub(crate) fn ensure_rustup_target(target: &str) -> Result<()> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if installed.lines().any(|l| l.trim() == target) {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", target]))
}

/// `cargo install NAME --version VERSION` unless `BINARY --version` already prints VERSION.
pub(crate) fn ensure_cargo_install(name: &str, binary: &str, version: &str) -> Result<()> {
    let have = output(Command::new(binary).arg("--version")).unwrap_or_default();
    if have.split_whitespace().any(|w| w == version) {
        return Ok(());
    }
    run(cargo().args(["install", name, "--version", version]))
}

/// The Python interpreter used for the Python package's venv (`python3` unless `PYTHON` is set).
pub(crate) fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// Cargo's target folder: `$CARGO_TARGET_DIR` if set, else `target/` in the workspace root.
pub(crate) fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() { dir } else { root().join(dir) }
        }
        None => root().join("target"),
    }
}

/// Set by `cargo xtask ci` for itself and its second lane: every debug `cargo` command of the run
/// names all of [`debug_packages_all`] (see [`debug_packages`]).
pub(crate) const ONE_DEBUG_BUILD: &str = "APIG_XTASK_ONE_DEBUG_BUILD";

/// Every package whose debug build a CI step uses: its tests, binaries or examples. Cargo resolves
/// the dependencies' features for the packages one command names, and the steps' commands named
/// different ones (`-p apig-gateway`, `-p apig-reqwest`, the rust step's nine, `cargo run -p …`):
/// a clean CI run compiled tokio, hyper, rustls, ring, serde, syn and the core two to four times in
/// the one debug profile. Naming the same set everywhere, everything is compiled once.
///
/// The WASM binding's native tests stay in its own step (`cargo test -p apig-wasm`, a few small
/// crates), its command unchanged: `xtask/src/wasm.rs` is one of the sources the console's copy of
/// apig-wasm records (`SOURCES.sha256`), and a change there means a rebuild of that copy.
pub(crate) fn debug_packages_all() -> impl Iterator<Item = &'static str> {
    RUST_STEP_PACKAGES.into_iter().chain(GATEWAY_STEP_PACKAGES)
}

/// The packages whose tests the rust step runs, in one cargo command.
pub(crate) const RUST_STEP_PACKAGES: [&str; 9] = [
    "apig",
    "apig-conformance",
    "apig-cli",
    "apig-credentials",
    "apig-tower",
    "apig-uniffi",
    "apig-uniffi-bindgen",
    "apig-rotation",
    "xtask",
];

/// The packages whose tests the gateway step runs when alone (they start a gateway); in
/// `cargo xtask ci` the rust step's one `cargo test` runs them too.
pub(crate) const GATEWAY_STEP_PACKAGES: [&str; 2] = ["apig-gateway", "apig-reqwest"];

/// The binaries of [`debug_packages_all`] that steps start (the gateway, the CLI, the vector runner,
/// the uniffi bindgen, the rotation proof); `xtask` is left out (it is running).
const DEBUG_BINARIES: [&str; 5] = ["apig-gateway", "apig", "apig-conformance", "uniffi-bindgen", "apig-rotation"];

/// Whether this process runs inside `cargo xtask ci` (one debug build for every step).
pub(crate) fn one_debug_build() -> bool {
    std::env::var_os(ONE_DEBUG_BUILD).is_some()
}

/// The packages a debug `cargo` command names: `own`, or in `cargo xtask ci` all of
/// [`debug_packages_all`] (one feature resolution, so one build of each dependency for the run).
pub(crate) fn debug_packages(own: &[&'static str]) -> Vec<&'static str> {
    if one_debug_build() { debug_packages_all().collect() } else { own.to_vec() }
}

/// A debug binary or example target that a step runs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target {
    Bin(&'static str),
    Example(&'static str),
}

/// Builds `target` of `package` (debug) and returns the executable's path. In `cargo xtask ci`
/// this builds every binary and example of [`debug_packages_all`] with their features (nothing new
/// after the rust step's `cargo test`, which built them); alone, `target` of `package`, as
/// `cargo run -p package` would.
pub(crate) fn debug_executable(package: &'static str, target: Target) -> Result<PathBuf> {
    let mut build = cargo();
    build.arg("build");
    if one_debug_build() {
        // `--examples` also keeps the dev-dependencies (and their features) that `cargo test` has
        for package in debug_packages_all() {
            build.args(["-p", package]);
        }
        build.arg("--examples");
        for bin in DEBUG_BINARIES {
            build.args(["--bin", bin]);
        }
    } else {
        build.args(["-p", package]);
        match target {
            Target::Bin(name) => build.args(["--bin", name]),
            Target::Example(name) => build.args(["--example", name]),
        };
    }
    run(&mut build)?;
    let debug = target_dir().join("debug");
    Ok(match target {
        Target::Bin(name) => debug.join(format!("{name}{}", std::env::consts::EXE_SUFFIX)),
        Target::Example(name) => debug.join("examples").join(format!("{name}{}", std::env::consts::EXE_SUFFIX)),
    })
}
