//! The Node package `apig-sdk` (bindings/node): a napi-rs addon built with the package's own
//! `@napi-rs/cli`, tested through the packed tarball installed in a scratch project, the way users
//! get it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};

use crate::util::{ensure_apt, output, root, run, target_dir, vector_files};

/// The package folder.
pub(crate) fn package() -> PathBuf {
    root().join("bindings").join("node")
}

/// The scratch project the packed package is installed into.
pub(crate) fn scratch() -> PathBuf {
    target_dir().join("node-package")
}

fn npm() -> Command {
    Command::new("npm")
}

fn node() -> Command {
    Command::new("node")
}

/// Node ≥ 18 and npm (Debian's packages when missing), then `npm ci` when `node_modules` is
/// missing or older than `package-lock.json`.
pub(crate) fn setup() -> Result<()> {
    let major = output(node().arg("--version"))
        .and_then(|v| v.trim_start_matches('v').split('.').next().and_then(|m| m.parse::<u32>().ok()));
    if major.is_none() || output(npm().arg("--version")).is_none() {
        ensure_apt(&["nodejs", "npm"])?;
    }
    match output(node().arg("--version")) {
        Some(v) if v.trim_start_matches('v').split('.').next().and_then(|m| m.parse::<u32>().ok()) >= Some(18) => {}
        other => bail!("the node package needs Node.js 18 or newer, found {other:?}"),
    }
    let dir = package();
    let installed = dir.join("node_modules").join(".package-lock.json");
    if modified(&installed).is_none_or(|installed| modified(&dir.join("package-lock.json")) > Some(installed)) {
        run(npm().args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir))?;
    }
    Ok(())
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// `napi build --release --platform`: the addon `apig.linux-x64-gnu.node`, `napi-binding.js` (napi's
/// loader, which `binding.js` wraps to explain a platform without an addon) and
/// `napi-binding.d.ts` (the addon's own types, not shipped), in the package folder; then the
/// shared JavaScript API and its types (`lib/api.cjs`, `index.d.ts`, from bindings/js).
pub(crate) fn build() -> Result<()> {
    setup()?;
    let dir = package();
    let napi = dir.join("node_modules").join(".bin").join("napi");
    run(Command::new(napi)
        .args(["build", "--platform", "--release", "--js", "napi-binding.js", "--dts", "napi-binding.d.ts"])
        .arg("--target-dir")
        .arg(target_dir())
        .env("CARGO_TARGET_DIR", target_dir())
        .current_dir(&dir))?;
    crate::js::copy_into(&dir, false)
}

/// Builds, packs and installs the package into the scratch project, with the test suites, the
/// examples and the conformance runner beside it. Returns the scratch folder.
pub(crate) fn install() -> Result<PathBuf> {
    build()?;
    let dir = package();
    let scratch = scratch();
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch).with_context(|| format!("cannot clear {}", scratch.display()))?;
    }
    std::fs::create_dir_all(&scratch)?;
    let packed = Command::new("npm")
        .args(["pack", "--silent", "--pack-destination"])
        .arg(&scratch)
        .current_dir(&dir)
        .output()
        .context("cannot run npm pack")?;
    if !packed.status.success() {
        bail!("npm pack failed: {}", String::from_utf8_lossy(&packed.stderr));
    }
    let tarball = String::from_utf8_lossy(&packed.stdout).lines().last().unwrap_or_default().trim().to_owned();
    if tarball.is_empty() || !scratch.join(&tarball).is_file() {
        bail!("npm pack did not report its tarball (got {tarball:?})");
    }
    std::fs::write(
        scratch.join("package.json"),
        "{ \"name\": \"apig-node-tests\", \"private\": true, \"description\": \"scratch project: the packed apig installed as users get it\" }\n",
    )?;
    // the tarball has no dependencies: this installs it and nothing else
    run(npm()
        .args(["install", "--no-audit", "--no-fund", "--no-package-lock", "--offline"])
        .arg(format!("./{tarball}"))
        .current_dir(&scratch))?;
    copy_dir(&dir.join("test"), &scratch.join("test"))?;
    copy_dir(&crate::js::tests(), &scratch.join("test").join("shared"))?;
    copy_dir(&dir.join("bench"), &scratch.join("bench"))?;
    copy_dir(&root().join("examples").join("node"), &scratch.join("examples"))?;
    std::fs::copy(dir.join("conformance.js"), scratch.join("conformance.js"))?;
    Ok(scratch)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// A `node` command run in the scratch project: the installed `apig`, and the package's dev
/// dependencies (axios, express) through `NODE_PATH`; the shared suite (test/shared) tests
/// `apig-sdk`.
fn scratch_node(scratch: &Path) -> Command {
    let mut cmd = node();
    cmd.current_dir(scratch)
        .env("NODE_PATH", package().join("node_modules"))
        .env("APIG_CONFORMANCE_DIR", root().join("conformance"))
        .env("APIG_ROOT", root())
        .env("APIG_JS_PACKAGE", "apig-sdk")
        .env("APIG_REQUIRE_EXAMPLES", "1");
    cmd
}

/// The node:test suites (the shared one in test/shared included; they also run the examples)
/// against the installed package, then `tsc --noEmit` on the TypeScript example.
pub(crate) fn test() -> Result<()> {
    let scratch = install()?;
    run(scratch_node(&scratch).args(["--test", "--test-reporter=spec", "test/"]))?;
    std::fs::write(
        scratch.join("tsconfig.json"),
        format!(
            r#"{{
  "compilerOptions": {{
    "strict": true, "noEmit": true, "target": "ES2022", "module": "node16", "moduleResolution": "node16",
    "types": ["node"], "typeRoots": [{types:?}], "skipLibCheck": false
  }},
  "include": ["examples/*.ts"]
}}
"#,
            types = package().join("node_modules").join("@types")
        ),
    )?;
    let tsc = package().join("node_modules").join(".bin").join("tsc");
    run(Command::new(tsc).args(["--noEmit", "-p", "tsconfig.json"]).current_dir(&scratch))
}

/// Every vector through the installed package (`conformance.js`).
pub(crate) fn conformance(files: &[PathBuf]) -> Result<()> {
    let files = vector_files(files)?;
    let scratch = install()?;
    run(scratch_node(&scratch).arg("conformance.js").args(&files))
}
