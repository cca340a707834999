//! `cargo xtask release [--verify] [--native] [--allow-dirty] [--only KIND,…]`: every artifact of
//! one version into `dist/`, and (`--verify`) the proof that users can install each one by name.
//!
//! One module per kind of artifact, each with `build` (artifacts into `dist/`) and `verify` (the
//! artifact used as a user would, recorded in the [`Report`]):
//!
//! | module | artifacts |
//! |---|---|
//! | [`python`] | abi3 wheels (manylinux2014 and musllinux_1_2, x86_64 and aarch64) and the sdist of `apig-sdk` |
//! | [`npm`] | `apig-sdk` with one package per platform, and `apig-wasm` |
//! | [`binaries`] | static musl `apig` and `apig-gateway` for x86_64 and aarch64, `.tar.gz` + `SHA256SUMS` |
//! | [`jvm`] | one jar: the Kotlin bindings and the uniffi library for linux-x86-64 and linux-aarch64 |
//! | [`crates`] | `cargo package` of every publishable crate |
//!
//! `--native` builds and verifies only what runs on this machine as it is (x86_64 Linux): what
//! `cargo xtask ci` may afford. The version is the workspace's (`Cargo.toml`
//! `[workspace.package] version`); every other manifest must agree, or the release is refused.

mod binaries;
mod crates;
mod jvm;
mod npm;
mod preflight;
mod python;
pub(crate) mod tools;
mod verify;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::util::root;
pub(crate) use verify::{DemoGateway, Report};

/// What one `cargo xtask release` run builds and where.
pub(crate) struct Release {
    /// The version of every package (the workspace's).
    pub(crate) version: String,
    /// `dist/` in the workspace root: every artifact, nothing else.
    pub(crate) dist: PathBuf,
    /// Only the artifacts this machine runs natively (x86_64 Linux).
    pub(crate) native_only: bool,
}

/// One file of the release.
pub(crate) struct Artifact {
    pub(crate) path: PathBuf,
}

/// Empties `dir` (creating it if needed): every build step's output and staging folder.
pub(crate) fn fresh_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

/// The kinds of artifact, in build order (the verify step needs the binaries' gateway first).
const KINDS: [&str; 5] = ["binaries", "python", "npm", "jvm", "crates"];

struct Options {
    verify: bool,
    native_only: bool,
    allow_dirty: bool,
    only: Vec<String>,
}

fn parse(args: &[&str]) -> Result<Options> {
    let mut options = Options { verify: false, native_only: false, allow_dirty: false, only: Vec::new() };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match *arg {
            "--verify" => options.verify = true,
            "--native" => options.native_only = true,
            "--allow-dirty" => options.allow_dirty = true,
            "--only" => {
                let list = args.next().context("--only needs a list, e.g. --only python,npm")?;
                for kind in list.split(',') {
                    if !KINDS.contains(&kind) {
                        bail!("unknown artifact kind {kind:?} for --only; expected some of {}", KINDS.join(","));
                    }
                    options.only.push(kind.to_owned());
                }
            }
            other => bail!("unknown release option {other:?}\n\n{}", include_str!("../usage.txt")),
        }
    }
    Ok(options)
}

/// `cargo xtask release …`.
pub(crate) fn run(args: &[&str]) -> Result<()> {
    let options = parse(args)?;
    let version = preflight::check(options.allow_dirty)?;
    let release = Release { version, dist: root().join("dist"), native_only: options.native_only };
    let wanted = |kind: &str| options.only.is_empty() || options.only.iter().any(|k| k == kind);

    if options.only.is_empty() {
        fresh_dir(&release.dist)?;
    }
    std::fs::create_dir_all(&release.dist)?;
    let mut artifacts = Vec::new();
    for kind in KINDS.into_iter().filter(|k| wanted(k)) {
        eprintln!("==> release {kind} {}", release.version);
        let built = match kind {
            "binaries" => binaries::build(&release),
            "python" => python::build(&release),
            "npm" => npm::build(&release),
            "jvm" => jvm::build(&release),
            _ => crates::build(&release),
        }
        .with_context(|| format!("release {kind}"))?;
        artifacts.extend(built);
    }
    eprintln!("==> {} artifacts in {}", artifacts.len(), release.dist.display());
    for artifact in &artifacts {
        println!("{}", artifact.path.display());
    }
    if !options.verify {
        return Ok(());
    }

    // Every check runs even when an earlier one failed; the report names each failing artifact.
    let mut report = Report::default();
    let gateway = DemoGateway::start(&release)?;
    for kind in KINDS.into_iter().filter(|k| wanted(k)) {
        eprintln!("==> verify {kind}");
        let result = match kind {
            "binaries" => binaries::verify(&release, &gateway, &mut report),
            "python" => python::verify(&release, &gateway, &mut report),
            "npm" => npm::verify(&release, &gateway, &mut report),
            "jvm" => jvm::verify(&release, &gateway, &mut report),
            _ => crates::verify(&release, &gateway, &mut report),
        };
        if let Err(e) = result {
            report.fail(&format!("{kind} (setup)"), &e);
        }
    }
    drop(gateway);
    report.finish()
}
