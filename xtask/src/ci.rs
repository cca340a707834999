//! `cargo xtask ci`: every check of every language, in two lanes that share the machine's cores.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::util::{output, target_dir};
use crate::{Lang, docs, interop, rust};

pub(crate) fn run() -> Result<()> {
    // A full run builds everything once: cargo's incremental caches (~1 GB) only cost disk and
    // time here. Every cargo below (ours, maturin's, napi's) inherits the setting, so the
    // process re-runs itself with it rather than setting it command by command.
    //
    // The release-profile builds the tests use (the Python wheel, the Node addon, the Kotlin
    // library, the gateway and CLI binaries) are built at opt-level 1, without LTO and in 16
    // codegen units: the same code and behaviour, in a fraction of the time on CI's 2 cores. The artifacts users get
    // are `cargo xtask release`'s, with the real profile (thin LTO, one codegen unit); the WASM
    // modules' profiles set their own LTO, so the size test measures the shipped module.
    //
    // Every debug `cargo` command of the run names the same packages (`util::debug_packages_all`), so
    // that cargo resolves the dependencies' features once and builds each of them once.
    if std::env::var_os("CARGO_INCREMENTAL").is_none() || !crate::util::one_debug_build() {
        let exe = std::env::current_exe().context("cannot find the xtask binary")?;
        let mut command = Command::new(&exe);
        command.arg("ci").env(crate::util::ONE_DEBUG_BUILD, "1");
        for (name, value) in [
            ("CARGO_INCREMENTAL", "0"),
            ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1"),
            ("CARGO_PROFILE_RELEASE_LTO", "false"),
            ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16"),
        ] {
            if std::env::var_os(name).is_none() {
                command.env(name, value);
            }
        }
        let status = command.status().with_context(|| format!("cannot start {}", exe.display()))?;
        if !status.success() {
            bail!("ci failed ({status})");
        }
        return Ok(());
    }
    disk_report("before");
    let result = checks();
    disk_report("after");
    result
}

fn checks() -> Result<()> {
    // Each step's header says how long the run has taken so far: CI's budget is 15 minutes on
    // 2 cores, and these stamps show which step a slower run spent it in.
    let start = Instant::now();
    let step = |what: &str| eprintln!("==> [{:>4} s] {what}", start.elapsed().as_secs());
    // Installing (pip, npm, apt: mostly the network and the disk) runs in a thread beside the
    // lint, which needs only the Rust toolchain; the installs run one after the other (apt and npm
    // keep locks of their own). Once they are done, two lanes share the cores, because much of
    // each language's step is one busy core (a test runner, kotlinc, a JVM, wasm-opt, a browser)
    // while cargo builds elsewhere. Concurrent cargo commands wait for each other's lock on the
    // target directory, so builds still run one at a time.
    let claims = target_dir().join("ci").join("claims");
    if claims.exists() {
        std::fs::remove_dir_all(&claims).with_context(|| format!("cannot clear {}", claims.display()))?;
    }
    std::fs::create_dir_all(&claims).with_context(|| format!("cannot create {}", claims.display()))?;
    step("setup: every language's tools (idempotent), beside the lint: rustfmt, clippy");
    let (side, lint) = std::thread::scope(|scope| {
        let setup = scope.spawn(|| -> Result<Lane> {
            for lang in LANGUAGES {
                lang.setup()?;
            }
            let side = Lane::start(&SIDE_LANE, &claims)?;
            step(&format!("setup done; {} run alongside; their log: {}", names(&SIDE_LANE), side.log.display()));
            // beside the lint too: it needs no build, and its venv's install is mostly the disk
            step("release workflows: actionlint (the release builds themselves: `cargo xtask release --verify`, not in CI)");
            crate::release::tools::lint_workflows()?;
            Ok(side)
        });
        let lint = rust::lint();
        let side = setup.join().unwrap_or_else(|_| Err(anyhow::anyhow!("the setup thread panicked")));
        (side, lint)
    });
    let side = side?;
    step("lint done");
    let main = lint.and_then(|()| run_lane(&MAIN_LANE, Some(&claims), &step));
    let side = side.finish();
    main?;
    side?;
    step("docs: every README/docs code block run as copied, and the install names (our own only)");
    docs::test()?;
    step(
        "interop: Python and Node clients, and a Python backend, through the gateway over HTTP and HTTPS (a test CA); \
         the Python client helpers' gateway tests; the credential rotation proof (short form)",
    );
    interop::test()?;
    step("all checks passed");
    Ok(())
}

/// Every language CI tests. Swift is generated and checked in the Kotlin step: there is no Swift
/// toolchain here to run it.
const LANGUAGES: [Lang; 6] = [Lang::Rust, Lang::Python, Lang::Node, Lang::Wasm, Lang::Kotlin, Lang::Gateway];
/// The lane this process runs after the lint, and the one a second process runs from the start.
/// Each step runs in the lane that claims it first ([`claim`]): this one, its own steps done,
/// takes the second lane's from the end (Kotlin first) while the second runs them from the front,
/// so the lanes end together whatever the load. A fixed split balanced on one run (2026-12-07:
/// with Kotlin here the main lane ended at ~830 s and the second at ~430 s) went out of balance
/// as soon as a step's build moved (one debug build for the run: the rust step builds it all).
const MAIN_LANE: [Lang; 6] = [Lang::Rust, Lang::Gateway, Lang::Kotlin, Lang::Wasm, Lang::Node, Lang::Python];
const SIDE_LANE: [Lang; 4] = [Lang::Python, Lang::Node, Lang::Wasm, Lang::Kotlin];
/// The folder of the lanes' claim files, set by `ci` for the second lane.
const CLAIMS: &str = "APIG_XTASK_CI_CLAIMS";

/// Claims `lang`'s step for this lane: false if the other lane has it. Without a claims folder
/// (`cargo xtask ci-lane` alone) every step is this lane's.
fn claim(claims: Option<&Path>, lang: Lang) -> Result<bool> {
    let Some(dir) = claims else { return Ok(true) };
    let file = dir.join(lang.name());
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&file) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot create {}", file.display())),
    }
}

fn names(lane: &[Lang]) -> String {
    lane.iter().map(|l| l.name()).collect::<Vec<_>>().join(", ")
}

/// `cargo xtask ci-lane LANG…`: the tests and conformance runs of some languages, one after the
/// other, tools already installed (what the second lane of `ci` runs).
pub(crate) fn lane(langs: &[&str]) -> Result<()> {
    let langs: Vec<Lang> = langs.iter().map(|l| Lang::parse(l)).collect::<Result<_>>()?;
    let start = Instant::now();
    let step = |what: &str| eprintln!("==> [{:>4} s] {what}", start.elapsed().as_secs());
    let claims = std::env::var_os(CLAIMS).map(PathBuf::from);
    run_lane(&langs, claims.as_deref(), &step)?;
    step("lane passed");
    Ok(())
}

fn run_lane(langs: &[Lang], claims: Option<&Path>, step: &dyn Fn(&str)) -> Result<()> {
    for &lang in langs {
        if !claim(claims, lang)? {
            continue; // the other lane's
        }
        step(lang.name());
        if matches!(lang, Lang::Python) {
            crate::python::test_in_ci_lane()?; // its gateway client tests: in the interop step
        } else {
            lang.test()?;
        }
        lang.conformance(&[])?;
    }
    Ok(())
}

/// The second lane: this program again, its output in a log that is printed whole when it ends
/// (interleaved output would be unreadable). Killed if this process stops first.
struct Lane {
    child: Option<Child>,
    log: PathBuf,
    what: String,
}

impl Lane {
    fn start(langs: &[Lang], claims: &Path) -> Result<Self> {
        let dir = target_dir().join("ci");
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let log = dir.join("side-lane.log");
        let file = File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let exe = std::env::current_exe().context("cannot find the xtask binary")?;
        let child = Command::new(&exe)
            .arg("ci-lane")
            .args(langs.iter().map(|l| l.name()))
            .current_dir(crate::util::root())
            .env(CLAIMS, claims)
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("cannot start {}", exe.display()))?;
        Ok(Self { child: Some(child), log, what: names(langs) })
    }

    /// Waits for the lane, prints its log, and says whether it passed.
    fn finish(mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else { bail!("the {} lane was not started", self.what) };
        let status = child.wait().context("cannot wait for the second lane")?;
        eprintln!("==> the {} lane ({status}); its log:", self.what);
        match std::fs::read(&self.log) {
            Ok(text) => {
                let mut err = std::io::stderr().lock();
                let _ = err.write_all(&text);
                let _ = err.flush();
            }
            Err(e) => eprintln!("(cannot read {}: {e})", self.log.display()),
        }
        eprintln!("==> end of the {} lane's log", self.what);
        if !status.success() {
            bail!("the {} lane failed ({status}); its log is above and in {}", self.what, self.log.display());
        }
        Ok(())
    }
}

impl Drop for Lane {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Prints the free space where the build writes, so that a run that dies of a full disk says so.
fn disk_report(when: &str) {
    let dir = target_dir();
    let probe = if dir.exists() { dir } else { crate::util::root().to_path_buf() };
    let df = output(Command::new("df").args(["-h", "--output=avail,size,target"]).arg(&probe)).unwrap_or_default();
    let fields: Vec<&str> = df.lines().last().unwrap_or_default().split_whitespace().collect();
    if let [avail, size, mount] = fields[..] {
        eprintln!("==> disk {when}: {avail} free of {size} on {mount}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_is_claimed_by_one_lane_only() {
        let dir = std::env::temp_dir().join(format!("apig-xtask-claims-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        assert!(claim(Some(&dir), Lang::Kotlin).unwrap());
        assert!(!claim(Some(&dir), Lang::Kotlin).unwrap(), "the second claim must lose");
        assert!(claim(Some(&dir), Lang::Wasm).unwrap());
        assert!(claim(None, Lang::Kotlin).unwrap(), "without a claims folder every step is the lane's");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_first_lane_takes_the_second_lanes_steps_from_the_end() {
        let stolen: Vec<Lang> = MAIN_LANE.iter().copied().filter(|l| SIDE_LANE.contains(l)).collect();
        let mut reversed = SIDE_LANE.to_vec();
        reversed.reverse();
        assert_eq!(stolen, reversed);
    }
}
