//! Release: the publishable crates `apig` (core), `apig-credentials`, `apig-tower`, `apig-reqwest`,
//! `apig-cli` and `apig-gateway`, packaged by
//! `cargo package` into `dist/crates/<name>-<version>.crate`.
//!
//! `build` runs the real `cargo package`, verification build included: cargo packages the three
//! together and builds each from its packaged sources, resolving `apig-cli`'s and
//! `apig-gateway`'s dependency on `apig` to the just-packaged `apig` (it is not on crates.io before
//! the first publish). The registry dependencies are the workspace's, already built, so it costs
//! the three crates' own compilation. `verify` reads each `.crate` as crates.io would (its files
//! and its published manifest), builds the libraries' documentation as docs.rs does (nightly,
//! `--cfg docsrs`), and runs actionlint on the release workflow.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, ensure};

use super::verify::TempDir;
use super::{Artifact, DemoGateway, Release, Report, tools};
use crate::util::{cargo, output, root, run, target_dir};

/// The publishable crates, in dependency order, and whether each has a library (docs.rs
/// documents libraries only).
const CRATES: [(&str, bool); 6] = [
    ("apig", true),
    ("apig-credentials", true),
    ("apig-tower", true),
    ("apig-reqwest", true),
    ("apig-cli", false),
    ("apig-gateway", true),
];

/// The files every packaged crate must hold (besides its sources).
const REQUIRED_FILES: [&str; 4] = ["Cargo.toml", "README.md", "LICENSE-MIT", "LICENSE-APACHE"];

/// The manifest keys crates.io shows and every crate must set.
const REQUIRED_KEYS: [&str; 6] = ["description", "license", "readme", "keywords", "categories", "rust-version"];

fn crate_file(release: &Release, name: &str) -> PathBuf {
    release.dist.join("crates").join(format!("{name}-{}.crate", release.version))
}

pub(crate) fn build(release: &Release) -> Result<Vec<Artifact>> {
    let out = release.dist.join("crates");
    super::fresh_dir(&out)?;
    // the preflight has refused a dirty tree unless --allow-dirty was given
    let mut package = cargo();
    package.args(["package", "--allow-dirty", "--locked"]);
    for (name, _) in CRATES {
        package.args(["-p", name]);
    }
    run(&mut package)?;
    let mut artifacts = Vec::new();
    for (name, _) in CRATES {
        let packaged = target_dir().join("package").join(format!("{name}-{}.crate", release.version));
        let path = crate_file(release, name);
        std::fs::copy(&packaged, &path).with_context(|| format!("cannot copy {}", packaged.display()))?;
        artifacts.push(Artifact { path });
    }
    Ok(artifacts)
}

pub(crate) fn verify(release: &Release, _gateway: &DemoGateway, report: &mut Report) -> Result<()> {
    let temp = TempDir::new("crates")?;
    let nightly = output(Command::new("rustup").args(["run", "nightly", "rustc", "--version"])).is_some();
    let docs = if nightly { "docs.rs build on nightly" } else { "docs build on stable (no nightly toolchain here)" };
    for (name, library) in CRATES {
        let file = crate_file(release, name);
        let shown = format!("crates/{}", file.file_name().map(|n| n.to_string_lossy()).unwrap_or_default());
        let shown = if library { format!("{shown} ({docs})") } else { shown };
        report.check(&shown, || {
            check_package(&file, name, release, &temp.0)?;
            if library { check_docs(name, nightly) } else { Ok(()) }
        });
    }
    report.check(".github/workflows (actionlint)", tools::lint_workflows);
    Ok(())
}

/// The `.crate` holds the required files and a manifest fit for crates.io: metadata set, no
/// placeholder URL, `apig` depended on at this version, no unpublished (path-only) dependency.
fn check_package(file: &Path, name: &str, release: &Release, temp: &Path) -> Result<()> {
    run(Command::new("tar").arg("--extract").arg("--gzip").arg("--file").arg(file).arg("--directory").arg(temp))?;
    let folder = temp.join(format!("{name}-{}", release.version));
    for required in REQUIRED_FILES {
        ensure!(folder.join(required).is_file(), "{name}: the package has no {required}");
    }
    for license in ["LICENSE-MIT", "LICENSE-APACHE"] {
        let shipped = std::fs::read(folder.join(license))?;
        ensure!(shipped == std::fs::read(root().join(license))?, "{name}: {license} differs from the workspace's");
    }
    let manifest = std::fs::read_to_string(folder.join("Cargo.toml"))?;
    check_manifest(&manifest, name, &release.version)
}

/// The published manifest (`Cargo.toml` as `cargo package` normalised it).
fn check_manifest(manifest: &str, name: &str, version: &str) -> Result<()> {
    let package = section(manifest, "[package]");
    for key in REQUIRED_KEYS {
        ensure!(
            package.iter().any(|l| l.split('=').next().is_some_and(|k| k.trim() == key)),
            "{name}: the published Cargo.toml has no `{key}`"
        );
    }
    ensure!(!manifest.contains("example.invalid"), "{name}: the published Cargo.toml has a placeholder URL");
    ensure!(!manifest.contains("publish = false"), "{name}: the package says publish = false");
    ensure!(!manifest.contains("apig-conformance"), "{name}: depends on the unpublished apig-conformance");
    if name != "apig" {
        let core = section(manifest, "[dependencies.apig]");
        let want = format!("version = \"{version}\"");
        ensure!(core.iter().any(|l| l.trim() == want), "{name}: its dependency on apig is not `{want}`: {core:?}");
    }
    Ok(())
}

/// The lines of one `[table]` of a normalised manifest.
fn section<'a>(manifest: &'a str, header: &str) -> Vec<&'a str> {
    manifest.lines().skip_while(|l| l.trim() != header).skip(1).take_while(|l| !l.starts_with('[')).collect()
}

/// `cargo doc` of the library as docs.rs builds it: nightly rustdoc with `--cfg docsrs` (stable
/// when no nightly toolchain is installed), in its own target folder.
fn check_docs(name: &str, nightly: bool) -> Result<()> {
    let mut doc = if nightly {
        let mut c = Command::new("rustup");
        c.args(["run", "nightly", "cargo"]);
        c
    } else {
        cargo()
    };
    doc.args(["doc", "--no-deps", "--lib", "--locked", "-p", name])
        .env("RUSTDOCFLAGS", "--cfg docsrs")
        .env("CARGO_TARGET_DIR", target_dir().join("docsrs"));
    run(&mut doc)
}

#[cfg(test)]
mod tests {
    use super::check_manifest;

    const GOOD: &str = "[package]\nname = \"apig-cli\"\nversion = \"0.2.0\"\nrust-version = \"1.88\"\n\
        description = \"d\"\nreadme = \"README.md\"\nkeywords = [\"a\"]\ncategories = [\"b\"]\n\
        license = \"MIT OR Apache-2.0\"\n\n[dependencies.apig]\nversion = \"0.2.0\"\n";

    #[test]
    fn a_complete_manifest_passes() {
        assert!(check_manifest(GOOD, "apig-cli", "0.2.0").is_ok());
    }

    #[test]
    fn what_crates_io_would_refuse_or_show_wrong_is_named() {
        let cases = [
            (GOOD.replace("readme = \"README.md\"\n", ""), "no `readme`"),
            (GOOD.replace("license = \"MIT OR Apache-2.0\"\n", ""), "no `license`"),
            (format!("{GOOD}repository = \"https://example.invalid/apig\"\n"), "placeholder URL"),
            (format!("{GOOD}\n[dev-dependencies.apig-conformance]\nversion = \"0.2.0\"\n"), "apig-conformance"),
            (
                GOOD.replace("[dependencies.apig]\nversion = \"0.2.0\"", "[dependencies.apig]\nversion = \"0.1.0\""),
                "apig is not",
            ),
        ];
        for (manifest, expected) in cases {
            let error = check_manifest(&manifest, "apig-cli", "0.2.0").err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains(expected), "{expected:?} not in {error:?}");
        }
    }
}
