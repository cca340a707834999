//! The Python package `apig-sdk` (`import apig`, bindings/python): a venv with maturin and the test tools, an abi3
//! wheel, pytest + stubtest + the examples, a from-source `pip install`, and the vector runner.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::util::{ensure_apt, output, python, root, run, target_dir, vector_files};

/// The package's folder.
fn package() -> PathBuf {
    root().join("bindings").join("python")
}

/// The development venv (maturin, pytest, the integrations' libraries, mypy).
pub(crate) fn venv() -> PathBuf {
    target_dir().join("venv-python")
}

/// A program of `venv`'s `bin/` folder.
pub(crate) fn bin(venv: &Path, program: &str) -> PathBuf {
    venv.join("bin").join(program)
}

/// Creates `dir` as a venv unless it is one already (installing Debian's `python3-venv` if the
/// interpreter lacks the module).
pub(crate) fn ensure_venv(dir: &Path) -> Result<()> {
    if bin(dir, "python").exists() {
        return Ok(());
    }
    let create = || Command::new(python()).arg("-m").arg("venv").arg(dir).status();
    if !create().is_ok_and(|s| s.success()) {
        ensure_apt(&["python3-venv"])?;
        let _ = std::fs::remove_dir_all(dir);
        run(Command::new(python()).arg("-m").arg("venv").arg(dir))?;
    }
    Ok(())
}

/// The venv and the pinned tools of `bindings/python/requirements-dev.txt` (pip skips what is
/// already installed at that version).
pub(crate) fn setup() -> Result<()> {
    let venv = venv();
    ensure_venv(&venv)?;
    run(Command::new(bin(&venv, "python"))
        .args(["-m", "pip", "install", "--quiet", "-r"])
        .arg(package().join("requirements-dev.txt")))
}

/// Builds the abi3 wheel into `<target>/wheels-python/` and returns its path.
fn build_wheel() -> Result<PathBuf> {
    let venv = venv();
    if !bin(&venv, "maturin").exists() {
        setup()?;
    }
    let out = target_dir().join("wheels-python");
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("cannot clear {}", out.display()))?;
    }
    run(Command::new(bin(&venv, "maturin"))
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(package().join("Cargo.toml"))
        .arg("--interpreter")
        .arg(bin(&venv, "python"))
        .arg("--out")
        .arg(&out))?;
    let wheels: Vec<PathBuf> = std::fs::read_dir(&out)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    match wheels.as_slice() {
        [wheel] => Ok(wheel.clone()),
        _ => bail!("expected one wheel in {}, found {}", out.display(), wheels.len()),
    }
}

/// `cargo xtask build python`: the release abi3 wheel (its path is printed).
pub(crate) fn build() -> Result<()> {
    let wheel = build_wheel()?;
    println!("{}", wheel.display());
    Ok(())
}

/// Builds the wheel and installs it into the venv, replacing any earlier build; returns its path.
pub(crate) fn install_wheel() -> Result<PathBuf> {
    let wheel = build_wheel()?;
    run(Command::new(bin(&venv(), "python"))
        .args(["-m", "pip", "install", "--quiet", "--force-reinstall", "--no-deps"])
        .arg(&wheel))?;
    Ok(wheel)
}

/// `cargo xtask test python`: the wheel installed into the venv, then pytest (with the debug
/// `apig-gateway` the client tests send requests through), stubtest, mypy
/// --strict on the package, every example, the abi3 wheel on the oldest and newest interpreters
/// present, and a from-source `pip install ./bindings/python` into a fresh venv.
pub(crate) fn test() -> Result<()> {
    test_package(true)
}

/// What CI's second lane runs: [`test`] but the client tests through a gateway
/// (`tests/test_gateway_clients.py`), which CI's interop step runs ([`gateway_clients`]) once the
/// main lane has built the gateway: building it here, beside the lint, cost the lane ~4 minutes.
pub(crate) fn test_in_ci_lane() -> Result<()> {
    test_package(false)
}

/// The client helpers' tests through a real gateway (`gateway`: its binary).
pub(crate) fn gateway_clients(gateway: &Path) -> Result<()> {
    run(Command::new(bin(&venv(), "python"))
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", GATEWAY_CLIENT_TESTS])
        .env("APIG_GATEWAY", gateway)
        .current_dir(package()))
}

/// The pytest file whose tests send requests through a real `apig-gateway`.
const GATEWAY_CLIENT_TESTS: &str = "tests/test_gateway_clients.py";

fn test_package(with_gateway_clients: bool) -> Result<()> {
    setup()?;
    let wheel = install_wheel()?;
    let python = bin(&venv(), "python");
    if with_gateway_clients {
        let gateway = crate::gateway::binary()?;
        run(Command::new(&python)
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .env("APIG_GATEWAY", gateway)
            .current_dir(package()))?;
    } else {
        run(Command::new(&python)
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "--ignore", GATEWAY_CLIENT_TESTS])
            .current_dir(package()))?;
    }
    // stubtest walks the package's submodules; run outside the workspace root, which holds the venv
    run(Command::new(&python).args(["-m", "mypy.stubtest", "apig"]).current_dir(package()))?;
    run(Command::new(&python)
        .args(["-m", "mypy", "--strict", "--no-incremental", "--cache-dir", "/dev/null"])
        .arg(package().join("python").join("apig"))
        .arg(root().join("examples").join("python")))?;
    examples(&python)?;
    abi3_smoke(&wheel)?;
    source_install()
}

/// The one abi3 wheel on other CPython versions, when the machine has them (pyenv does): a
/// throw-away venv each, the wheel alone (no dependencies), every vector.
fn abi3_smoke(wheel: &Path) -> Result<()> {
    for version in ["3.10", "3.13"] {
        let Some(interpreter) = find_interpreter(version) else {
            eprintln!("(no Python {version} here: abi3 check skipped for it)");
            continue;
        };
        let dir = target_dir().join(format!("venv-python{version}"));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
        }
        run(Command::new(&interpreter).arg("-m").arg("venv").arg(&dir))?;
        let python = bin(&dir, "python");
        run(Command::new(&python).args(["-m", "pip", "install", "--quiet", "--no-deps"]).arg(wheel))?;
        run(Command::new(&python).arg(package().join("conformance.py")))?;
    }
    Ok(())
}

/// Runs every `examples/python/*.py` (each is self-contained and exits on its own).
fn examples(python: &Path) -> Result<()> {
    let dir = root().join("examples").join("python");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no examples in {}", dir.display());
    }
    for file in files {
        run(Command::new(python).arg(&file).current_dir(&dir))?;
    }
    Ok(())
}

/// `pip install ./bindings/python` (maturin's PEP 517 backend compiling the crate; with the same
/// target folder it reuses the wheel build's artifacts) into a fresh venv, then a signature.
fn source_install() -> Result<()> {
    let fresh = target_dir().join("venv-python-source");
    if fresh.exists() {
        std::fs::remove_dir_all(&fresh).with_context(|| format!("cannot clear {}", fresh.display()))?;
    }
    ensure_venv(&fresh)?;
    let python = bin(&fresh, "python");
    run(Command::new(&python)
        .args(["-m", "pip", "install", "--quiet"])
        .arg(package())
        .env("CARGO_TARGET_DIR", target_dir()))?;
    let check = "import apig; s = apig.Signer('AK', 'SK').sign('GET', 'https://h/x', date='20240403T101500Z'); \
                 apig.Verifier({'AK': 'SK'}).verify('GET', '/x', s.headers, now='20240403T101500Z'); \
                 print('source install OK:', apig.__version__, apig.__file__)";
    run(Command::new(&python).args(["-c", check]).current_dir(target_dir()))
}

/// `python3.X` on the PATH, else the newest pyenv-installed 3.X.
pub(crate) fn find_interpreter(version: &str) -> Option<PathBuf> {
    let usable = |p: &Path| output(Command::new(p).args(["-c", "import venv"])).is_some();
    let on_path = PathBuf::from(format!("python{version}"));
    if usable(&on_path) {
        return Some(on_path);
    }
    let versions = PathBuf::from(output(Command::new("pyenv").arg("root"))?).join("versions");
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir(versions)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let patch = name.strip_prefix(version)?.strip_prefix('.')?.parse().ok()?;
            Some((patch, e.path().join("bin").join(format!("python{version}"))))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, path)| path).filter(|p| usable(p))
}

/// `cargo xtask conformance python [FILE...]`: the vectors through the installed package's public
/// API (`bindings/python/conformance.py`), after installing the current build.
pub(crate) fn conformance(files: &[PathBuf]) -> Result<()> {
    let _ = install_wheel()?;
    let files = vector_files(files)?;
    run(Command::new(bin(&venv(), "python")).arg(package().join("conformance.py")).args(&files))
}
