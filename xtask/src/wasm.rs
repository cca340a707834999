//! The wasm package `apig-wasm` (bindings/wasm): the crate built for wasm32-unknown-unknown,
//! `wasm-bindgen` for the `web`, `bundler` and `nodejs` targets, `wasm-opt` from the npm
//! `binaryen` package, and one npm package with an `exports` map, assembled in `bindings/wasm/pkg`.
//! Tests run against the packed package installed in a scratch project, the way users get it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};

use crate::util::{
    cargo, ensure_apt, ensure_cargo_install, ensure_rustup_target, output, root, run, target_dir, vector_files,
};

const TARGET: &str = "wasm32-unknown-unknown";
/// The size budget of the optimised browser module (bytes, decimal kilobytes), raw and gzipped.
const MAX_WASM: u64 = 100_000;
const MAX_WASM_GZIP: u64 = 40_000;

fn crate_dir() -> PathBuf {
    root().join("bindings").join("wasm")
}

/// The assembled npm package.
fn package() -> PathBuf {
    crate_dir().join("pkg")
}

/// Build tools: binaryen (wasm-opt), playwright-core (drives Chromium), typescript (type checks).
fn tooling() -> PathBuf {
    crate_dir().join("tooling")
}

fn tool(name: &str) -> PathBuf {
    tooling().join("node_modules").join(".bin").join(name)
}

/// The scratch project the packed package is installed into, with the tests beside it.
pub(crate) fn scratch() -> PathBuf {
    target_dir().join("wasm-package")
}

fn node() -> Command {
    Command::new("node")
}

/// The wasm-bindgen version the crate is locked to: wasm-bindgen-cli must be exactly this one.
fn bindgen_version() -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).context("cannot read Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\""
            && let Some(version) = lines.next().and_then(|l| l.strip_prefix("version = \""))
        {
            return Ok(version.trim_end_matches('"').to_owned());
        }
    }
    bail!("wasm-bindgen is not in Cargo.lock")
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// What [`build`] needs, and Debian's Chromium for the browser test.
pub(crate) fn setup() -> Result<()> {
    build_setup()?;
    ensure_apt(&["chromium"])
}

/// The wasm32 target, wasm-bindgen-cli at the locked version and the npm tools (`npm ci` when
/// missing or older than the lock file).
fn build_setup() -> Result<()> {
    if output(node().arg("--version")).is_none() || output(Command::new("npm").arg("--version")).is_none() {
        ensure_apt(&["nodejs", "npm"])?;
    }
    ensure_rustup_target(TARGET)?;
    ensure_cargo_install("wasm-bindgen-cli", "wasm-bindgen", &bindgen_version()?)?;
    let installed = tooling().join("node_modules").join(".package-lock.json");
    if modified(&installed).is_none_or(|installed| modified(&tooling().join("package-lock.json")) > Some(installed)) {
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(tooling()))?;
    }
    Ok(())
}

/// The Cargo profile of the Node module (root `Cargo.toml`): `opt-level = 3` everywhere, fat LTO,
/// one codegen unit, `panic = "abort"`.
const PROFILE: &str = "wasm-release";
/// WebAssembly features beyond the target's defaults: SIMD, for sha2's wasm32 backend (smaller
/// and faster than its scalar one). Chrome and Edge 91+, Firefox 89+, Safari 16.4+, Node 16.4+.
const RUSTFLAGS: &str = "-C target-feature=+simd128";

/// The two modules, with their Cargo profile and features: `node` (everything, the core at speed
/// levels: a server does not download it) and `browser` (the `web` and `bundler` targets: the
/// core optimised for size, the download budget, and without the `Verifier`, whose key store
/// belongs on a server).
const MODULES: [(&str, &str, &[&str]); 2] =
    [("node", PROFILE, &["--features", "verifier"]), ("browser", BROWSER_PROFILE, &[])];
/// The browser module's profile: [`PROFILE`] with the core and the binding at `opt-level = "z"`.
const BROWSER_PROFILE: &str = "wasm-size";

/// The wasm-bindgen targets and the module each is made from.
const BINDGEN_TARGETS: [(&str, &str); 3] = [("web", "browser"), ("bundler", "browser"), ("nodejs", "node")];

/// `wasm-opt`'s optimisation level for a module: speed for the Node one, size for the browser's.
fn wasm_opt_level(module: &str) -> &'static str {
    if module == "node" { "-O3" } else { "-Oz" }
}

/// Builds the module and assembles the package in `bindings/wasm/pkg`.
pub(crate) fn build() -> Result<()> {
    build_setup()?;
    let modules = target_dir().join("wasm-modules");
    std::fs::create_dir_all(&modules)?;
    for (name, profile, features) in MODULES {
        let built = target_dir().join(TARGET).join(profile).join("apig_wasm.wasm");
        run(cargo()
            .args(["build", "--profile", profile, "--target", TARGET, "-p", "apig-wasm", "--no-default-features"])
            .args(features)
            .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS", RUSTFLAGS))?;
        let module = modules.join(format!("{name}.wasm"));
        // copy only a changed module, so that its time says when it last changed
        if std::fs::read(&built)? != std::fs::read(&module).unwrap_or_default() {
            std::fs::copy(&built, &module)?;
        }
    }
    let js = crate_dir().join("js");
    let pkg = package();
    let newest_input = std::fs::read_dir(&js)?
        .chain(std::fs::read_dir(&modules)?)
        .chain(std::fs::read_dir(crate::js::shared())?)
        .filter_map(|e| e.ok().and_then(|e| modified(&e.path())))
        .chain(modified(&crate_dir().join("README.md")))
        .max();
    if modified(&pkg.join("package.json")).is_some_and(|built| Some(built) > newest_input) {
        eprintln!("apig-wasm: {} is up to date", pkg.display());
        return report_size(&pkg.join("web").join("apig_wasm_bg.wasm"));
    }
    if pkg.exists() {
        std::fs::remove_dir_all(&pkg).with_context(|| format!("cannot clear {}", pkg.display()))?;
    }
    let staging = target_dir().join("wasm-bindgen");
    for (bindgen_target, module) in BINDGEN_TARGETS {
        let out = staging.join(bindgen_target);
        if out.exists() {
            std::fs::remove_dir_all(&out)?;
        }
        // wasm-bindgen names its output after its input
        let input = staging.join(module).join("apig_wasm.wasm");
        copy(&modules.join(format!("{module}.wasm")), &input)?;
        run(Command::new("wasm-bindgen")
            .args(["--target", bindgen_target, "--no-typescript", "--out-dir"])
            .arg(&out)
            .arg(&input))?;
        optimize(&out.join("apig_wasm_bg.wasm"), wasm_opt_level(module))?;
    }
    assemble(&staging, &js, &pkg)?;
    report_size(&pkg.join("web").join("apig_wasm_bg.wasm"))
}

/// `wasm-opt` at `level` in place; on failure the module stays as wasm-bindgen wrote it (it saves
/// a few percent only, so a broken optimiser must not break the build).
fn optimize(wasm: &Path, level: &str) -> Result<()> {
    let optimized = wasm.with_extension("opt.wasm");
    let status = Command::new(tool("wasm-opt"))
        .args([level, "--converge", "--strip-producers", "--strip-target-features"])
        // what Rust's wasm32 target emits by default, and SIMD (RUSTFLAGS)
        .args(["--enable-bulk-memory", "--enable-nontrapping-float-to-int", "--enable-sign-ext"])
        .args(["--enable-mutable-globals", "--enable-reference-types", "--enable-multivalue", "--enable-simd"])
        .arg(wasm)
        .arg("-o")
        .arg(&optimized)
        .status();
    match status {
        Ok(s) if s.success() => {
            std::fs::rename(&optimized, wasm)?;
        }
        other => eprintln!("warning: wasm-opt failed ({other:?}); keeping the unoptimised module"),
    }
    Ok(())
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::copy(from, to).with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    Ok(())
}

/// The package: each target's wasm-bindgen output with its entry, the shared API and types
/// (bindings/js) and the wasm engine as ES module and CommonJS, package.json (at the workspace
/// version) and README.
fn assemble(staging: &Path, js: &Path, pkg: &Path) -> Result<()> {
    let (web, bundler, nodejs) = (staging.join("web"), staging.join("bundler"), staging.join("nodejs"));
    for file in ["apig_wasm.js", "apig_wasm_bg.wasm"] {
        copy(&web.join(file), &pkg.join("web").join(file))?;
    }
    copy(&js.join("web.js"), &pkg.join("web").join("index.js"))?;
    for file in ["apig_wasm.js", "apig_wasm_bg.js", "apig_wasm_bg.wasm"] {
        copy(&bundler.join(file), &pkg.join("bundler").join(file))?;
    }
    copy(&js.join("bundler.js"), &pkg.join("bundler").join("index.js"))?;
    // CommonJS under "type": "module": the .cjs extension says so
    copy(&nodejs.join("apig_wasm.js"), &pkg.join("nodejs").join("apig_wasm.cjs"))?;
    copy(&nodejs.join("apig_wasm_bg.wasm"), &pkg.join("nodejs").join("apig_wasm_bg.wasm"))?;
    copy(&js.join("node.cjs"), &pkg.join("nodejs").join("index.cjs"))?;
    copy(&crate_dir().join("README.md"), &pkg.join("README.md"))?;

    crate::js::copy_into(pkg, true)?;
    let file = js.join("engine.js");
    let engine = std::fs::read_to_string(&file)?;
    std::fs::write(pkg.join("lib").join("engine.js"), &engine)?;
    std::fs::write(pkg.join("lib").join("engine.cjs"), crate::js::commonjs(&engine, "wasmEngine", &file)?)?;

    // one version for every package: the workspace's (`cargo xtask release` checks it too)
    let manifest = std::fs::read_to_string(js.join("package.json"))?;
    let version = format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION"));
    if !manifest.contains(&version) {
        bail!("js/package.json must say {version}, the workspace's version (Cargo.toml [workspace.package])");
    }
    std::fs::write(pkg.join("package.json"), manifest)?;
    Ok(())
}

/// The optimised module's size, raw and gzipped (-9), against the budget.
fn report_size(wasm: &Path) -> Result<()> {
    let raw = std::fs::metadata(wasm).with_context(|| format!("no {}", wasm.display()))?.len();
    let gzipped = output(Command::new("sh").arg("-c").arg(format!("gzip -9 -n -c '{}' | wc -c", wasm.display())))
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(0);
    // a module's size in bytes is far below 2^52: exact as an f64
    #[allow(clippy::cast_precision_loss)]
    let kib = |bytes: u64| bytes as f64 / 1024.0;
    eprintln!(
        "apig-wasm: browser apig_wasm_bg.wasm {raw} bytes ({:.1} KiB), {gzipped} gzipped ({:.1} KiB); budget {MAX_WASM} / {MAX_WASM_GZIP} bytes",
        kib(raw),
        kib(gzipped),
    );
    Ok(())
}

/// Packs the package and installs it into the scratch project, with the tests, the conformance
/// runner and the browser example beside it. Returns the scratch folder.
pub(crate) fn install() -> Result<PathBuf> {
    build()?;
    let scratch = scratch();
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch).with_context(|| format!("cannot clear {}", scratch.display()))?;
    }
    std::fs::create_dir_all(&scratch)?;
    run(Command::new("npm").args(["pack", "--silent", "--pack-destination"]).arg(&scratch).current_dir(package()))?;
    let tarball = std::fs::read_dir(&scratch)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .context("npm pack made no tarball")?;
    let tarball_name = tarball.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    std::fs::write(
        scratch.join("package.json"),
        format!(
            "{{\n  \"name\": \"apig-wasm-scratch\",\n  \"private\": true,\n  \"type\": \"module\",\n  \
             \"dependencies\": {{ \"apig-wasm\": \"file:{tarball_name}\" }}\n}}\n"
        ),
    )?;
    run(Command::new("npm").args(["install", "--no-audit", "--no-fund", "--offline"]).current_dir(&scratch))?;
    copy_dir(&crate_dir().join("test"), &scratch.join("test"))?;
    copy_dir(&crate::js::tests(), &scratch.join("test").join("shared"))?;
    copy_dir(&root().join("examples").join("browser"), &scratch.join("browser"))?;
    Ok(scratch)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let path = entry?.path();
        if path.is_file() {
            copy(&path, &to.join(path.file_name().unwrap_or_default()))?;
        }
    }
    Ok(())
}

/// The environment every test script gets: where the repository and the tools are, and the
/// package the shared suite (test/shared) tests.
fn test_env(cmd: &mut Command) -> &mut Command {
    cmd.env("APIG_ROOT", root())
        .env("APIG_WASM_TOOLING", tooling().join("node_modules"))
        .env("APIG_JS_PACKAGE", "apig-wasm")
}

/// Native unit tests of the crate, the Node tests and the type check against the installed
/// package, then the browser test (headless Chromium, with the reference gateway built for it).
pub(crate) fn test() -> Result<()> {
    setup()?;
    run(cargo().args(["test", "-p", "apig-wasm"]))?;
    let scratch = install()?;
    let mut tests: Vec<PathBuf> = std::fs::read_dir(scratch.join("test"))?
        .chain(std::fs::read_dir(scratch.join("test").join("shared"))?)
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".test.mjs"))
        .collect();
    tests.sort();
    run(test_env(node().arg("--test").args(&tests)).current_dir(&scratch))?;
    run(Command::new(tool("tsc")).args(["-p", "test/tsconfig.json"]).current_dir(&scratch))?;
    // the browser test also runs the page against the reference gateway and its CORS policy
    let gateway = crate::gateway::binary()?;
    run(test_env(&mut node()).args(["browser/test.mjs"]).env("APIG_GATEWAY_BIN", &gateway).current_dir(&scratch))?;
    // the gateway's console (its copy of the browser build must be this build), in the same browser
    check_console()?;
    let console_test = root().join("gateway-ref").join("tests").join("browser").join("console.mjs");
    run(test_env(&mut node()).arg(console_test).env("APIG_GATEWAY_BIN", &gateway).current_dir(&scratch))
}

/// The files of the browser build the gateway's console embeds (gateway-ref/console/apig-wasm,
/// committed so that `cargo install apig-gateway` needs no wasm toolchain), from the package.
const CONSOLE_FILES: [&str; 5] =
    ["web/index.js", "web/apig_wasm.js", "web/apig_wasm_bg.wasm", "lib/api.js", "lib/engine.js"];

fn console_copy() -> PathBuf {
    root().join("gateway-ref").join("console").join("apig-wasm")
}

/// What the console's copy is built from: every file under these paths. Its SHA-256 is kept
/// beside the copy (`SOURCES.sha256`), so the check needs no byte-identical rebuild: a `.wasm`
/// built in another folder differs in a few bytes (path dependencies' symbol hashes change the
/// functions' order) while being the same build.
const CONSOLE_SOURCES: [&str; 8] = [
    "Cargo.lock",
    "core/Cargo.toml",
    "core/src",
    "bindings/wasm/Cargo.toml",
    "bindings/wasm/src",
    "bindings/wasm/js",
    "bindings/js",
    "xtask/src/wasm.rs",
];

fn console_sources_file() -> PathBuf {
    console_copy().join("SOURCES.sha256")
}

/// The SHA-256 of [`CONSOLE_SOURCES`]: each file's path (from the repository's root, `/`
/// separated) and contents, in path order.
fn console_sources_hash() -> Result<String> {
    use sha2::{Digest, Sha256};
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        if dir.is_file() {
            out.push(dir.to_path_buf());
            return Ok(());
        }
        for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
            let path = entry?.path();
            // the shared JS API's test folder and installed modules are not sources of the build
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if name == "node_modules" || name == "test" {
                continue;
            }
            walk(&path, out)?;
        }
        Ok(())
    }
    let mut files = Vec::new();
    for source in CONSOLE_SOURCES {
        walk(&root().join(source), &mut files)?;
    }
    let mut named: Vec<(String, PathBuf)> = files
        .into_iter()
        .map(|f| {
            let rel = f
                .strip_prefix(root())
                .unwrap_or(&f)
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            (rel, f)
        })
        .collect();
    named.sort();
    let mut hash = Sha256::new();
    for (name, path) in named {
        let text = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        hash.update(name.as_bytes());
        hash.update([0]);
        hash.update((text.len() as u64).to_le_bytes());
        hash.update(&text);
    }
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// `cargo xtask build console`: builds the package and refreshes the console's copy and the hash
/// of what it was built from.
pub(crate) fn build_console() -> Result<()> {
    build()?;
    for file in CONSOLE_FILES {
        copy(&package().join(file), &console_copy().join(file))?;
    }
    std::fs::write(console_sources_file(), format!("{}\n", console_sources_hash()?))?;
    eprintln!("apig-wasm: {} refreshed", console_copy().display());
    Ok(())
}

/// Fails when the console's copy was built from other sources than these, or its JavaScript
/// differs from the package just built.
fn check_console() -> Result<()> {
    let stale = || {
        anyhow::anyhow!(
            "{} is not the current build of apig-wasm: run `cargo xtask build console` and commit it",
            console_copy().display()
        )
    };
    let recorded = std::fs::read_to_string(console_sources_file()).unwrap_or_default();
    if recorded.trim() != console_sources_hash()? {
        return Err(stale());
    }
    for file in CONSOLE_FILES.iter().filter(|f| f.ends_with(".js")) {
        let built = std::fs::read(package().join(file))?;
        if std::fs::read(console_copy().join(file)).ok() != Some(built) {
            return Err(stale());
        }
    }
    Ok(())
}

/// The conformance runner on the installed package in Node.
pub(crate) fn conformance(files: &[PathBuf]) -> Result<()> {
    let scratch = install()?;
    let files = vector_files(files)?;
    run(test_env(&mut node()).arg("test/conformance.mjs").args(&files).current_dir(&scratch))
}
