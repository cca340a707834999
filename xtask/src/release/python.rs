//! Release: the PyPI distribution `apig-sdk` (import name `apig`) into `dist/python/`.
//!
//! `build`: the sdist, then one abi3 wheel (CPython ≥ 3.10) per [`WHEELS`] entry, cross-built by
//! `maturin build --zig` (zig: the release tools', [`super::tools`]) for manylinux2014 (glibc 2.17) and
//! musllinux_1_2 on x86_64 and aarch64; `--native`: the manylinux2014 x86_64 wheel and the sdist.
//! The musl wheels' library is then made to need musl's soname (`libc.musl-ARCH.so.1`, what
//! Alpine-built wheels need) instead of zig's `libc.so`, which auditwheel does not accept.
//! Each file is inspected as it is written ([`inspect_wheel`], [`inspect_sdist`]): `auditwheel
//! show` names the wheel's platform tag, its native library needs no glibc symbol newer than the
//! tag allows (`readelf`), the metadata is what PyPI accepts and users need
//! (`python_metadata.py`), and `twine check --strict` passes.
//!
//! `verify`: a pypiserver on 127.0.0.1 gets every file by `twine upload`; fresh venvs install
//! `apig-sdk[requests]` from it by name (nothing from PyPI: `requests` and maturin are copied into
//! that index first), once as a wheel and once built from the sdist (`--no-binary apig-sdk`, with
//! this machine's Rust), and sign a request the demo gateway accepts.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime};

use anyhow::{Context, Result, bail};

use super::verify::{DEMO_KEY, DEMO_SECRET, TempDir, glibc_too_new};
use super::{Artifact, DemoGateway, Release, Report, fresh_dir};
use crate::python::{bin, ensure_venv, find_interpreter};
use crate::server::{free_port, spawn};
use crate::util::{cargo, ensure_apt, ensure_rustup_target, output, python, root, run, target_dir};

/// One wheel of the release.
struct Wheel {
    /// The Rust target maturin compiles for.
    target: &'static str,
    /// maturin's `--compatibility`: the policy the wheel is linked and tagged for.
    compatibility: &'static str,
    /// The platform tags of its file name and `WHEEL` file, in maturin's order; the last one is the
    /// tag `auditwheel show` must name (PEP 600 spells manylinux2014 `manylinux_2_17`).
    tags: &'static [&'static str],
    /// The newest glibc symbol version its native library may need; `None`: no glibc symbol at
    /// all (musl).
    glibc: Option<(u32, u32)>,
    /// musl's libc soname on the platform (Alpine's, which auditwheel's musllinux policy allows):
    /// zig links the musl wheels against `libc.so`, renamed to this after the build. Both names
    /// load the same libc (musl's loader maps every `libc.*` to itself).
    musl_libc: Option<&'static str>,
    /// musl's dynamic loader on this machine (Debian's `musl`), which loads the library to prove
    /// every libc symbol it needs exists.
    musl_loader_here: Option<&'static str>,
    /// Why it is not installed here, when it cannot be: the machine runs x86_64 glibc Linux.
    not_here: Option<&'static str>,
}

const WHEELS: [Wheel; 4] = [
    Wheel {
        target: "x86_64-unknown-linux-gnu",
        compatibility: "manylinux2014",
        tags: &["manylinux2014_x86_64", "manylinux_2_17_x86_64"],
        glibc: Some((2, 17)),
        musl_libc: None,
        musl_loader_here: None,
        not_here: None,
    },
    Wheel {
        target: "aarch64-unknown-linux-gnu",
        compatibility: "manylinux2014",
        tags: &["manylinux2014_aarch64", "manylinux_2_17_aarch64"],
        glibc: Some((2, 17)),
        musl_libc: None,
        musl_loader_here: None,
        not_here: Some("aarch64, this machine is x86_64"),
    },
    Wheel {
        target: "x86_64-unknown-linux-musl",
        compatibility: "musllinux_1_2",
        tags: &["musllinux_1_2_x86_64"],
        glibc: None,
        musl_libc: Some("libc.musl-x86_64.so.1"),
        musl_loader_here: Some("/lib/ld-musl-x86_64.so.1"),
        not_here: Some("no musl Python here"),
    },
    Wheel {
        target: "aarch64-unknown-linux-musl",
        compatibility: "musllinux_1_2",
        tags: &["musllinux_1_2_aarch64"],
        glibc: None,
        musl_libc: Some("libc.musl-aarch64.so.1"),
        musl_loader_here: None,
        not_here: Some("aarch64 musl, this machine is x86_64 glibc"),
    },
];

impl Wheel {
    /// `manylinux2014_x86_64`, …: how the report names it.
    fn name(&self) -> &'static str {
        self.tags[0]
    }

    /// The platform tag `auditwheel show` must find.
    fn audit_tag(&self) -> &'static str {
        self.tags[self.tags.len() - 1]
    }

    /// Its file in `dist/python/` (`apig_sdk-VERSION-cp310-abi3-TAGS.whl`, the version as maturin
    /// normalises it).
    fn path(&self, release: &Release) -> Result<PathBuf> {
        let suffix = format!("-cp310-abi3-{}.whl", self.tags.join("."));
        find_one(&out_dir(release), |name| name.starts_with("apig_sdk-") && name.ends_with(&suffix))
    }
}

/// The wheels of this release: all, or with `--native` the one this machine installs.
fn wheels(release: &Release) -> impl Iterator<Item = &'static Wheel> + '_ {
    WHEELS.iter().filter(|w| !release.native_only || w.not_here.is_none())
}

/// What `pip install "apig-sdk[requests]"` needs besides our files, as `pyproject.toml` asks for
/// them: the extra's `requests` and, for the sdist, the build backend. `--verify` copies them from
/// PyPI into the local index, so the installs by name read nothing else.
const INDEX_DEPENDENCIES: [&str; 2] = ["requests>=2.25", "maturin>=1.16,<2"];

/// Checks a file's metadata and contents (see its docstring).
const METADATA_CHECK: &str = include_str!("python_metadata.py");

/// Run in each fresh venv: the installed `apig-sdk` is the expected file, a request signed with
/// `apig.requests.AppAuth` gets 200 from the demo gateway and one signed with a wrong secret 401.
const SIGN_CHECK: &str = r##"
import json, sys
import requests
import apig
from apig.requests import AppAuth

url, key, secret, report, expected = sys.argv[1:]
with open(report) as f:
    installed = [i for i in json.load(f)["install"] if i["metadata"]["name"] == "apig-sdk"]
got = installed[0]["download_info"]["url"].split("#")[0].rsplit("/", 1)[-1] if installed else None
if got != expected:
    sys.exit(f"pip installed {got} as apig-sdk, expected {expected}")
signed = requests.get(url, auth=AppAuth(key, secret), timeout=10)
if signed.status_code != 200:
    sys.exit(f"the demo gateway answered {signed.status_code} to the signed request: {signed.text}")
forged = requests.get(url, auth=AppAuth(key, secret + "-wrong"), timeout=10)
if forged.status_code != 401:
    sys.exit(f"the demo gateway answered {forged.status_code}, not 401, to a wrong secret's signature")
print(f"apig {apig.__version__} on CPython {sys.version.split()[0]} from {got}: signed request 200, wrong secret 401")
"##;

/// The package's folder (its `Cargo.toml` is what maturin builds).
fn package() -> PathBuf {
    root().join("bindings").join("python")
}

/// `dist/python/`.
fn out_dir(release: &Release) -> PathBuf {
    release.dist.join("python")
}

/// The sdist in `dist/python/`.
fn sdist_path(release: &Release) -> Result<PathBuf> {
    find_one(&out_dir(release), |name| name.starts_with("apig_sdk-") && name.ends_with(".tar.gz"))
}

/// `cargo xtask release --only python`: the sdist and the wheels, each inspected.
pub(crate) fn build(release: &Release) -> Result<Vec<Artifact>> {
    check_license_copies()?;
    let tools = tools()?;
    let out = out_dir(release);
    fresh_dir(&out)?;

    // The sdist first: it takes a second and its metadata check fails before the long builds.
    run(tool(&tools, "maturin")
        .args(["sdist", "--manifest-path"])
        .arg(package().join("Cargo.toml"))
        .arg("--out")
        .arg(&out))?;
    let sdist = sdist_path(release)?;
    eprintln!("{}", inspect_sdist(&tools, release, &sdist).context("the sdist")?);
    let mut artifacts = vec![Artifact { path: sdist }];

    for wheel in wheels(release) {
        ensure_rustup_target(wheel.target)?;
        let started = Instant::now();
        // `--zig`: the release tools' zig (maturin runs it as `python -m ziglang` with their python)
        run(super::tools::zig_env(&mut tool(&tools, "maturin"))?
            .args(["build", "--release", "--quiet", "--zig", "--target", wheel.target])
            .args(["--compatibility", wheel.compatibility, "--manifest-path"])
            .arg(package().join("Cargo.toml"))
            .arg("--out")
            .arg(&out))?;
        let path = wheel.path(release)?;
        if let Some(soname) = wheel.musl_libc {
            rename_musl_libc(&tools, &path, soname).with_context(|| format!("the {} wheel", wheel.name()))?;
        }
        eprintln!("built {} in {:.0?}", path.display(), started.elapsed());
        let inspected =
            inspect_wheel(&tools, release, wheel, &path).with_context(|| format!("the {} wheel", wheel.name()))?;
        eprintln!("{inspected}");
        artifacts.push(Artifact { path });
    }
    Ok(artifacts)
}

/// `--verify`: every file uploaded to a local pypiserver, inspected again, and installed by name
/// where this machine can run it; one report line per file.
pub(crate) fn verify(release: &Release, gateway: &DemoGateway, report: &mut Report) -> Result<()> {
    let tools = tools()?;
    // Dropped in reverse order: the index is stopped before its folder is removed.
    let temp = TempDir::new("python")?;
    let packages = temp.0.join("packages");
    std::fs::create_dir_all(&packages)?;
    let interpreters = interpreters()?;
    let versions: Vec<String> = interpreters.iter().map(|i| i.version.clone()).collect();
    copy_dependencies(&tools, &packages, &versions)?;
    let port = free_port()?;
    let _index = spawn(
        "pypiserver",
        tool(&tools, "pypi-server")
            .args(["run", "--interface", "127.0.0.1", "--port", &port.to_string()])
            // no authentication (uploads included); never redirect to pypi.org; rescan on each request
            .args(["--authenticate", ".", "--passwords", ".", "--disable-fallback", "--backend", "simple-dir"])
            .args(["--log-stream", "none"])
            .arg(&packages),
        port,
    )?;
    let upload_url = format!("http://127.0.0.1:{port}/");
    let index = format!("http://127.0.0.1:{port}/simple/");

    // Everything is uploaded before anything is installed, so pip chooses among all the files,
    // as it would on PyPI.
    let wheels: Vec<(&Wheel, Result<PathBuf>)> = wheels(release)
        .map(|wheel| (wheel, wheel.path(release).and_then(|path| upload(&tools, &upload_url, &path).map(|()| path))))
        .collect();
    let sdist = sdist_path(release).and_then(|path| upload(&tools, &upload_url, &path).map(|()| path));

    for (wheel, uploaded) in wheels {
        let glibc =
            wheel.glibc.map_or_else(|| "no glibc".to_owned(), |(major, minor)| format!("glibc ≤ {major}.{minor}"));
        let loads = if wheel.musl_loader_here.is_some() { ", musl loader" } else { "" };
        let installed = match wheel.not_here {
            None => format!("installed by name on CPython {}, signed request accepted", versions.join(", ")),
            Some(why) => format!("not installed: {why}"),
        };
        report.check(&format!("wheel {} (tag, {glibc}{loads}, metadata; {installed})", wheel.name()), || {
            let path = uploaded?;
            eprintln!("{}", inspect_wheel(&tools, release, wheel, &path)?);
            if let Some(loader) = wheel.musl_loader_here {
                eprintln!("{}", load_with_musl(&tools, wheel, &path, loader)?);
            }
            if wheel.not_here.is_none() {
                for interpreter in &interpreters {
                    let install = Install {
                        name: format!("wheel-py{}", interpreter.version),
                        interpreter: &interpreter.path,
                        pip_args: &[],
                        env: Vec::new(),
                    };
                    install_and_sign(&temp.0, &index, gateway, &install, &file_name(&path))?;
                }
            }
            Ok(())
        });
    }
    report.check("sdist (metadata; pip built it from source, installed by name, signed request accepted)", || {
        let path = sdist?;
        eprintln!("{}", inspect_sdist(&tools, release, &path)?);
        let started = Instant::now();
        // The workspace's target folder, as `cargo xtask test python`'s source install uses: the
        // crates.io dependencies compiled there are reused. Our crates are cleaned first, or cargo
        // would find them fresh (it hashes a path crate by its path in the workspace and the
        // sdist's files are older than the last build) and compile nothing from the sdist.
        run(cargo().args(["clean", "--release", "-p", "apig", "-p", "apig-python", "--target-dir"]).arg(target_dir()))?;
        let install = Install {
            name: "sdist".to_owned(),
            interpreter: &interpreters[0].path,
            pip_args: &["--no-binary", "apig-sdk"],
            env: vec![("CARGO_TARGET_DIR", target_dir())],
        };
        let cleaned = SystemTime::now();
        install_and_sign(&temp.0, &index, gateway, &install, &file_name(&path))?;
        let library = target_dir().join("release").join("lib_apig.so");
        if !std::fs::metadata(&library).and_then(|m| m.modified()).is_ok_and(|built| built >= cleaned) {
            bail!(
                "pip installed the sdist, but cargo did not write {} meanwhile: it compiled nothing from the sdist",
                library.display()
            );
        }
        eprintln!("sdist built from source and installed in {:.0?}", started.elapsed());
        Ok(())
    });
    Ok(())
}

/// The Python release venv (`bindings/python/requirements-release.txt`) and `readelf`.
fn tools() -> Result<PathBuf> {
    let file = package().join("requirements-release.txt");
    let pinned = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let venv = super::tools::pinned_venv("venv-release-python", &pinned)?;
    if output(Command::new("readelf").arg("--version")).is_none() {
        ensure_apt(&["binutils"])?;
    }
    Ok(venv)
}

/// A program of the tools' venv, with its `bin/` first on the PATH.
fn tool(venv: &Path, program: &str) -> Command {
    let mut path = std::ffi::OsString::from(venv.join("bin"));
    if let Some(rest) = std::env::var_os("PATH") {
        path.push(":");
        path.push(rest);
    }
    let mut cmd = Command::new(bin(venv, program));
    cmd.env("PATH", path).env("NO_COLOR", "1");
    cmd
}

/// The licence texts the package ships (`license-files` must lie under `bindings/python/`) are
/// the repository's.
fn check_license_copies() -> Result<()> {
    for name in ["LICENSE-MIT", "LICENSE-APACHE"] {
        let original = std::fs::read(root().join(name)).with_context(|| format!("cannot read {name}"))?;
        let copy = package().join(name);
        if std::fs::read(&copy).ok().as_deref() != Some(original.as_slice()) {
            bail!("{} differs from {name} (the package ships it): cp {name} bindings/python/", copy.display());
        }
    }
    Ok(())
}

/// Renames the musl wheel's `libc.so` dependency to `soname` (`patchelf`) and packs the wheel
/// again in place (`wheel pack` writes a new RECORD; file times 1980 as maturin's).
fn rename_musl_libc(tools: &Path, path: &Path, soname: &str) -> Result<()> {
    let unpacked = TempDir::new("musl-wheel")?;
    capture(tool(tools, "wheel").args(["unpack", "--dest"]).arg(&unpacked.0).arg(path))?;
    let root = find_one(&unpacked.0, |name| name.starts_with("apig_sdk-"))?;
    let library = root.join("apig").join("_apig.abi3.so");
    let needed = needed_libraries(&capture(Command::new("readelf").args(["--dynamic", "--wide"]).arg(&library))?);
    if needed.iter().any(|lib| lib == "libc.so") {
        capture(tool(tools, "patchelf").args(["--replace-needed", "libc.so", soname]).arg(&library))?;
    }
    let out = path.parent().context("the wheel has no folder")?;
    capture(
        tool(tools, "wheel").args(["pack", "--dest-dir"]).arg(out).arg(&root).env("SOURCE_DATE_EPOCH", "315532800"),
    )?;
    Ok(())
}

/// The musl wheel's library loaded by musl's dynamic loader (`ld-musl --list`): it finds libc and
/// every symbol but Python's own (`Py…`, `_Py…`: the interpreter provides them).
fn load_with_musl(tools: &Path, wheel: &Wheel, path: &Path, loader: &str) -> Result<String> {
    ensure_apt(&["musl"])?;
    let unpacked = TempDir::new(&format!("load-{}", wheel.name()))?;
    capture(Command::new(bin(tools, "python")).args(["-m", "zipfile", "-e"]).arg(path).arg(&unpacked.0))?;
    let library = unpacked.0.join("apig").join("_apig.abi3.so");
    // Exits non-zero because the Python symbols are missing: the output tells the rest.
    let out =
        Command::new(loader).arg("--list").arg(&library).output().with_context(|| format!("cannot run {loader}"))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let unresolved = unresolved_non_python_symbols(&text);
    if !text.contains("=> ") || !unresolved.is_empty() {
        bail!("musl's loader cannot load apig/_apig.abi3.so ({} unresolved): {}", unresolved.len(), text.trim());
    }
    Ok(format!("{}: musl's loader finds libc and every symbol but Python's", file_name(path)))
}

/// auditwheel's platform tag, the native library's glibc symbols, the metadata and `twine check`.
fn inspect_wheel(tools: &Path, release: &Release, wheel: &Wheel, path: &Path) -> Result<String> {
    let shown = capture(tool(tools, "auditwheel").arg("show").arg(path))?;
    match audited_tag(&shown) {
        Some(tag) if tag == wheel.audit_tag() => {}
        found => bail!(
            "auditwheel show finds the platform tag {}, expected {}:\n{shown}",
            found.as_deref().unwrap_or("(none)"),
            wheel.audit_tag()
        ),
    }

    let unpacked = TempDir::new(&format!("wheel-{}", wheel.name()))?;
    capture(Command::new(bin(tools, "python")).args(["-m", "zipfile", "-e"]).arg(path).arg(&unpacked.0))?;
    let library = unpacked.0.join("apig").join("_apig.abi3.so");
    let too_new = glibc_too_new(&library, wheel.glibc)?;
    if !too_new.is_empty() {
        let limit =
            wheel.glibc.map_or_else(|| "none (a musl wheel)".to_owned(), |(major, minor)| format!("{major}.{minor}"));
        bail!(
            "apig/_apig.abi3.so needs glibc symbols newer than the wheel's tag allows ({limit}): {}",
            too_new.join(", ")
        );
    }

    let metadata = check_metadata(tools, release, path, &wheel.tags.join(","))?;
    capture(tool(tools, "twine").args(["check", "--strict"]).arg(path))?;
    Ok(format!(
        "{}: auditwheel tag {}, glibc symbols ok, {metadata}, twine check ok",
        file_name(path),
        wheel.audit_tag()
    ))
}

/// The sdist's metadata and files, and `twine check`.
fn inspect_sdist(tools: &Path, release: &Release, path: &Path) -> Result<String> {
    let metadata = check_metadata(tools, release, path, "")?;
    capture(tool(tools, "twine").args(["check", "--strict"]).arg(path))?;
    Ok(format!("{}: {metadata}, twine check ok", file_name(path)))
}

/// `python_metadata.py ARTIFACT VERSION TAGS`: its one line, or its list of problems as the error.
fn check_metadata(tools: &Path, release: &Release, path: &Path, tags: &str) -> Result<String> {
    capture(Command::new(bin(tools, "python")).arg("-c").arg(METADATA_CHECK).arg(path).args([&release.version, tags]))
        .context("the metadata check (xtask/src/release/python_metadata.py)")
}

/// `twine upload` of one file to the local index (unauthenticated: any user name and password).
fn upload(tools: &Path, url: &str, path: &Path) -> Result<()> {
    capture(
        tool(tools, "twine")
            .args(["upload", "--non-interactive", "--disable-progress-bar", "--repository-url", url])
            .args(["--username", "release", "--password", "local"])
            .arg(path),
    )
    .with_context(|| format!("twine upload {}", file_name(path)))?;
    Ok(())
}

/// [`INDEX_DEPENDENCIES`] with their own dependencies for each Python of `versions`, downloaded
/// from PyPI into `<target>/release-python-downloads/` (pip reuses what it downloaded before) and
/// copied into the local index's folder.
fn copy_dependencies(tools: &Path, packages: &Path, versions: &[String]) -> Result<()> {
    let downloads = target_dir().join("release-python-downloads");
    for version in versions {
        run(Command::new(bin(tools, "python"))
            .args(["-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--only-binary", ":all:"])
            .args(["--python-version", version, "--dest"])
            .arg(&downloads)
            .args(INDEX_DEPENDENCIES))?;
    }
    for entry in std::fs::read_dir(&downloads)? {
        let from = entry?.path();
        std::fs::copy(&from, packages.join(file_name(&from)))?;
    }
    Ok(())
}

/// A CPython to install the wheel with.
struct Interpreter {
    /// `3.11`, …
    version: String,
    path: PathBuf,
}

/// This machine's `python3` (`$PYTHON`), and the oldest and newest CPython the classifiers name
/// (3.10, 3.13) when the machine has them (pyenv does).
fn interpreters() -> Result<Vec<Interpreter>> {
    let version_of =
        |path: &Path| output(Command::new(path).args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"]));
    let default = PathBuf::from(python());
    let version = version_of(&default).with_context(|| format!("cannot run {}", default.display()))?;
    let mut found = vec![Interpreter { version, path: default }];
    for version in ["3.10", "3.13"] {
        if found.iter().any(|i| i.version == version) {
            continue;
        }
        match find_interpreter(version) {
            Some(path) => found.push(Interpreter { version: version.to_owned(), path }),
            None => eprintln!("(no Python {version} here: the wheel is installed with the others only)"),
        }
    }
    Ok(found)
}

/// One `pip install "apig-sdk[requests]"` of [`install_and_sign`].
struct Install<'a> {
    /// Names its venv and pip's report in the temporary folder.
    name: String,
    interpreter: &'a Path,
    /// `--no-binary apig-sdk` to build the sdist.
    pip_args: &'a [&'a str],
    /// For the build (the sdist's target folder).
    env: Vec<(&'static str, PathBuf)>,
}

/// A fresh venv of the interpreter in `dir`, `pip install "apig-sdk[requests]"` from the local
/// `index` only, then [`SIGN_CHECK`] expecting pip to have chosen the file `expected`.
fn install_and_sign(
    dir: &Path,
    index: &str,
    gateway: &DemoGateway,
    install: &Install<'_>,
    expected: &str,
) -> Result<()> {
    let Install { name, interpreter, pip_args, env } = install;
    let venv = dir.join(format!("venv-{name}"));
    if *interpreter == Path::new(&python()) {
        ensure_venv(&venv)?; // installs Debian's python3-venv when missing
    } else {
        capture(Command::new(interpreter).args(["-m", "venv"]).arg(&venv))?;
    }
    let report = dir.join(format!("pip-install-{name}.json"));
    let mut pip = Command::new(bin(&venv, "python"));
    pip.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-cache-dir"])
        .args(["--index-url", index, "--report"])
        .arg(&report)
        .args(*pip_args);
    pip.arg("apig-sdk[requests]").env("PIP_CONFIG_FILE", "/dev/null").current_dir(dir);
    for (key, value) in env {
        pip.env(key, value);
    }
    capture(&mut pip).context("pip install \"apig-sdk[requests]\" from the local index")?;
    let signed = capture(
        Command::new(bin(&venv, "python"))
            .arg("-c")
            .arg(SIGN_CHECK)
            .arg(gateway.echo("?from=python"))
            .args([DEMO_KEY, DEMO_SECRET])
            .arg(&report)
            .arg(expected)
            .env_remove("PYTHONPATH")
            .current_dir(dir),
    )?;
    eprintln!("{signed}");
    Ok(())
}

/// Runs `cmd` (printed) and returns its stdout; on failure the error carries the end of its output.
fn capture(cmd: &mut Command) -> Result<String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    // a `-c` script is shown as its first line
    let args: Vec<String> = cmd
        .get_args()
        .take(3)
        .map(|a| a.to_string_lossy().lines().find(|l| !l.trim().is_empty()).unwrap_or_default().to_owned())
        .collect();
    let shown = format!("{} {}", program.rsplit('/').next().unwrap_or(&program), args.join(" "));
    eprintln!("+ {}", shown.replace('\n', " ").chars().take(200).collect::<String>());
    let out = cmd.output().with_context(|| format!("cannot start {program}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let all = format!("{stdout}\n{}", stderr.trim());
        let lines: Vec<&str> = all.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n");
        bail!("`{}…` failed ({}):\n{tail}", shown.lines().next().unwrap_or_default(), out.status);
    }
    Ok(stdout)
}

/// The platform tag of `auditwheel show`'s "… is consistent with the following platform tag:
/// "TAG"." (wrapped anywhere).
fn audited_tag(shown: &str) -> Option<String> {
    let words = shown.split_whitespace().collect::<Vec<_>>().join(" ");
    let (_, rest) = words.split_once("is consistent with the following platform tag: \"")?;
    rest.split_once('"').map(|(tag, _)| tag.to_owned())
}

/// The `NEEDED` libraries of `readelf --dynamic` output.
fn needed_libraries(readelf: &str) -> Vec<String> {
    readelf
        .lines()
        .filter(|line| line.contains("(NEEDED)"))
        .filter_map(|line| Some(line.split_once('[')?.1.split_once(']')?.0.to_owned()))
        .collect()
}

/// The lines of musl's `ld-musl --list` output that are not a Python symbol left for the
/// interpreter (`Error relocating LIB: PySomething: symbol not found`) nor a library found.
fn unresolved_non_python_symbols(listing: &str) -> Vec<&str> {
    listing
        .lines()
        .filter(|line| line.starts_with("Error"))
        .filter(|line| {
            let symbol =
                line.rsplit_once(": symbol not found").and_then(|(head, _)| head.rsplit_once(": ")).map(|(_, s)| s);
            !symbol.is_some_and(|s| s.starts_with("Py") || s.starts_with("_Py"))
        })
        .collect()
}

/// The one file of `dir` whose name `matches`.
fn find_one(dir: &Path, matches: impl Fn(&str) -> bool) -> Result<PathBuf> {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| matches(&n.to_string_lossy())))
        .collect();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        _ => bail!("expected one such file in {}, found {}: {found:?}", dir.display(), found.len()),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auditwheel_show_output_gives_the_tag() {
        let shown = "\napig_sdk-0.1.0-cp310-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl\nis consistent with the following platform\ntag: \"manylinux_2_17_x86_64\".\n\nThe wheel references external versioned symbols";
        assert_eq!(audited_tag(shown).as_deref(), Some("manylinux_2_17_x86_64"));
        assert_eq!(audited_tag("apig.whl is not consistent with any platform tag"), None);
    }

    #[test]
    fn needed_libraries_are_read_from_readelf() {
        let dynamic = " 0x0000000000000001 (NEEDED)             Shared library: [libc.so]\n 0x000000000000000e (SONAME)  Library soname: [x.so]\n";
        assert_eq!(needed_libraries(dynamic), ["libc.so"]);
    }

    #[test]
    fn only_python_symbols_may_stay_unresolved_under_the_musl_loader() {
        let listing = "\t/lib/ld-musl-x86_64.so.1 (0x7f)\n\tlibc.musl-x86_64.so.1 => /lib/ld-musl-x86_64.so.1 (0x7f)\n\
            Error relocating /t/apig/_apig.abi3.so: PyModuleDef_Init: symbol not found\n\
            Error relocating /t/apig/_apig.abi3.so: _Py_Dealloc: symbol not found\n";
        assert!(unresolved_non_python_symbols(listing).is_empty());
        let missing = format!(
            "{listing}Error relocating /t/apig/_apig.abi3.so: getrandom: symbol not found\nError loading shared library libssl.so.3: No such file\n"
        );
        assert_eq!(unresolved_non_python_symbols(&missing).len(), 2);
    }

    #[test]
    fn native_releases_build_only_the_wheel_this_machine_runs() {
        let release = |native_only| Release { version: "0.1.0".into(), dist: PathBuf::from("dist"), native_only };
        let names: Vec<&str> = wheels(&release(true)).map(Wheel::name).collect();
        assert_eq!(names, ["manylinux2014_x86_64"]);
        assert_eq!(wheels(&release(false)).count(), 4);
    }
}
