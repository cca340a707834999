//! Release: `apig` (crate `apig-cli`) and `apig-gateway` as static musl executables for x86_64 and
//! aarch64 Linux, each in `dist/bin/<program>-<version>-<target>.tar.gz` (the binary, its
//! README.md, LICENSE-MIT, LICENSE-APACHE) with `dist/bin/SHA256SUMS`.
//!
//! x86_64 builds with `cargo build` and Debian's `musl-gcc` for the C code (mimalloc, ring);
//! aarch64 with `cargo zigbuild`, zig being the C compiler and linker (both from PyPI, see
//! [`super::tools`]). The musl targets link statically (`crt-static` is their default), C included.
//!
//! `--verify` unpacks every archive and checks the binary as a user would run it: the x86_64 ones
//! here, the aarch64 ones under `qemu-aarch64-static` (Debian `qemu-user-static`, called directly,
//! so no binfmt registration is needed): each prints its version, each CLI signs a request the
//! demo gateway accepts, each gateway serves its demo to a request signed by the x86_64 CLI.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

use super::verify::{DEMO_KEY, DEMO_SECRET, TempDir};
use super::{Artifact, DemoGateway, Release, Report, fresh_dir, tools};
use crate::server::{free_port, spawn};
use crate::util::{cargo, ensure_apt, ensure_rustup_target, output, root, run, target_dir};

/// One released program.
struct Program {
    package: &'static str,
    binary: &'static str,
    readme: &'static str,
}

const PROGRAMS: [Program; 2] = [
    Program { package: "apig-cli", binary: "apig", readme: "bindings/cli/README.md" },
    Program { package: "apig-gateway", binary: "apig-gateway", readme: "gateway-ref/README.md" },
];

/// The target this machine runs (the one `--native` builds).
const NATIVE: &str = "x86_64-unknown-linux-musl";
const AARCH64: &str = "aarch64-unknown-linux-musl";

/// What an archive holds besides the binary (taken from the workspace).
const LICENSES: [&str; 2] = ["LICENSE-MIT", "LICENSE-APACHE"];

fn targets(release: &Release) -> &'static [&'static str] {
    if release.native_only { &[NATIVE] } else { &[NATIVE, AARCH64] }
}

fn bin_dir(release: &Release) -> PathBuf {
    release.dist.join("bin")
}

/// `apig-0.1.0-x86_64-unknown-linux-musl`: the archive's name and its top folder.
fn stem(program: &Program, release: &Release, target: &str) -> String {
    format!("{}-{}-{target}", program.binary, release.version)
}

pub(crate) fn build(release: &Release) -> Result<Vec<Artifact>> {
    let out = bin_dir(release);
    fresh_dir(&out)?;
    let mut archives = Vec::new();
    for target in targets(release) {
        compile(target)?;
        for program in &PROGRAMS {
            archives.push(archive(release, program, target)?);
        }
    }
    let sums = out.join("SHA256SUMS");
    let names: Vec<String> =
        archives.iter().filter_map(|a| a.file_name()).map(|n| n.to_string_lossy().into_owned()).collect();
    let listing = output(Command::new("sha256sum").args(&names).current_dir(&out))
        .context("`sha256sum` failed on the archives")?;
    std::fs::write(&sums, format!("{listing}\n"))?;
    archives.push(sums);
    Ok(archives.into_iter().map(|path| Artifact { path }).collect())
}

/// `cargo build` (x86_64) or `cargo zigbuild` (aarch64) of both programs for `target`.
fn compile(target: &str) -> Result<()> {
    ensure_rustup_target(target)?;
    let mut cmd = if target == NATIVE {
        // musl-gcc compiles mimalloc's and ring's C code against musl's headers
        ensure_apt(&["musl-tools"])?;
        let mut cmd = cargo();
        cmd.arg("build").env("CC_x86_64_unknown_linux_musl", "musl-gcc");
        cmd
    } else {
        tools::cargo_zigbuild()?
    };
    cmd.args(["--release", "--target", target]);
    for program in &PROGRAMS {
        cmd.args(["-p", program.package, "--bin", program.binary]);
    }
    run(&mut cmd)
}

/// Cargo's output binary of `program` for `target`.
fn built(program: &Program, target: &str) -> PathBuf {
    target_dir().join(target).join("release").join(program.binary)
}

/// Stages the binary, README and licences in `target/release-bin/<stem>/` and packs that folder
/// into `dist/bin/<stem>.tar.gz` (files owned by root, sorted, dated at the last commit: the same
/// input gives the same archive).
fn archive(release: &Release, program: &Program, target: &str) -> Result<PathBuf> {
    let stem = stem(program, release, target);
    let staging = target_dir().join("release-bin");
    let folder = staging.join(&stem);
    fresh_dir(&folder)?;
    let binary = built(program, target);
    std::fs::copy(&binary, folder.join(program.binary)).with_context(|| format!("cannot copy {}", binary.display()))?;
    std::fs::copy(root().join(program.readme), folder.join("README.md"))?;
    for license in LICENSES {
        std::fs::copy(root().join(license), folder.join(license))?;
    }
    let date = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .or_else(|| output(Command::new("git").args(["log", "-1", "--format=%ct"]).current_dir(root())))
        .unwrap_or_else(|| "0".to_owned());
    let path = bin_dir(release).join(format!("{stem}.tar.gz"));
    run(Command::new("tar")
        .args(["--create", "--use-compress-program=gzip -9 -n", "--sort=name", "--owner=0", "--group=0"])
        .args(["--numeric-owner", &format!("--mtime=@{date}"), "--file"])
        .arg(&path)
        .arg("--directory")
        .arg(&staging)
        .arg(&stem))?;
    Ok(path)
}

/// Unpacks `archive` into `into` and returns the folder it holds.
fn unpack(archive: &Path, into: &Path) -> Result<PathBuf> {
    run(Command::new("tar").arg("--extract").arg("--gzip").arg("--file").arg(archive).arg("--directory").arg(into))?;
    let name = archive.file_name().map(|n| n.to_string_lossy().trim_end_matches(".tar.gz").to_owned());
    Ok(into.join(name.unwrap_or_default()))
}

/// The released static x86_64 gateway, unpacked from its archive into `target/release-bin/unpacked`
/// (so the demo gateway of `--verify` is the shipped binary), when that archive was built.
pub(crate) fn native_gateway(release: &Release) -> Option<PathBuf> {
    let program = &PROGRAMS[1];
    let archive = bin_dir(release).join(format!("{}.tar.gz", stem(program, release, NATIVE)));
    if !archive.exists() {
        return None;
    }
    let into = target_dir().join("release-bin").join("unpacked");
    let unpacked = std::fs::create_dir_all(&into).map_err(anyhow::Error::from).and_then(|()| unpack(&archive, &into));
    match unpacked {
        Ok(folder) => Some(folder.join(program.binary)),
        Err(e) => {
            eprintln!("cannot unpack {}: {e:#}; the demo gateway is the workspace's build", archive.display());
            None
        }
    }
}

pub(crate) fn verify(release: &Release, gateway: &DemoGateway, report: &mut Report) -> Result<()> {
    let out = bin_dir(release);
    let mut expected: BTreeSet<String> = BTreeSet::new();
    for target in targets(release) {
        for program in &PROGRAMS {
            expected.insert(format!("{}.tar.gz", stem(program, release, target)));
        }
    }
    report.check("bin/SHA256SUMS", || check_sums(&out, &expected));

    let qemu = qemu();
    let temp = TempDir::new("bin")?;
    for target in targets(release) {
        let how = match (*target == NATIVE, &qemu) {
            (true, _) => "runs here".to_owned(),
            (false, Ok(_)) => "runs under qemu-aarch64-static".to_owned(),
            (false, Err(why)) => format!("not run ({why}): checked with readelf only"),
        };
        for program in &PROGRAMS {
            let name = format!("{}.tar.gz", stem(program, release, target));
            let runner = if *target == NATIVE { Some(None) } else { qemu.as_ref().ok().map(Some) };
            report.check(&format!("bin/{name} ({how})"), || {
                let folder = unpack(&out.join(&name), &temp.0)?;
                check_contents(&folder, program)?;
                let binary = folder.join(program.binary);
                check_static_elf(&binary, target)?;
                let Some(qemu) = runner else { return Ok(()) };
                let command = || runner_command(qemu, &binary);
                check_version(command(), program, release)?;
                if program.binary == "apig" {
                    check_cli_request(command(), &gateway.echo(&format!("?from=cli-{target}")))
                } else {
                    // signed by the x86_64 CLI unpacked above (it comes first)
                    let cli = temp.0.join(stem(&PROGRAMS[0], release, NATIVE)).join(PROGRAMS[0].binary);
                    check_gateway_serves(command(), &cli)
                }
            });
        }
    }
    Ok(())
}

/// `qemu-aarch64-static`, installed if missing, and checked to run an aarch64 program at all.
fn qemu() -> Result<PathBuf, String> {
    ensure_apt(&["qemu-user-static"]).map_err(|e| format!("qemu-user-static cannot be installed: {e:#}"))?;
    let qemu = PathBuf::from("/usr/bin/qemu-aarch64-static");
    match output(Command::new(&qemu).arg("--version")) {
        Some(_) => Ok(qemu),
        None => Err("qemu-aarch64-static does not run on this machine".to_owned()),
    }
}

/// The command that runs `binary`: directly, or as the argument of qemu.
fn runner_command(qemu: Option<&PathBuf>, binary: &Path) -> Command {
    match qemu {
        Some(qemu) => {
            let mut cmd = Command::new(qemu);
            cmd.arg(binary);
            cmd
        }
        None => Command::new(binary),
    }
}

/// Every archive is listed in SHA256SUMS, nothing else is, and `sha256sum --check` passes.
fn check_sums(out: &Path, expected: &BTreeSet<String>) -> Result<()> {
    let sums = std::fs::read_to_string(out.join("SHA256SUMS")).context("no SHA256SUMS")?;
    let listed: BTreeSet<String> =
        sums.lines().filter_map(|l| l.split_once("  ").map(|(_, name)| name.to_owned())).collect();
    let present: BTreeSet<String> = std::fs::read_dir(out)?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".tar.gz"))
        .collect();
    ensure!(&present == expected, "dist/bin holds {present:?}, expected {expected:?}");
    ensure!(&listed == expected, "SHA256SUMS lists {listed:?}, expected {expected:?}");
    run(Command::new("sha256sum").args(["--check", "--strict", "--quiet", "SHA256SUMS"]).current_dir(out))
}

/// The archive holds exactly the binary, README.md and the licence files.
fn check_contents(folder: &Path, program: &Program) -> Result<()> {
    let mut want: BTreeSet<&str> = BTreeSet::from([program.binary, "README.md"]);
    want.extend(LICENSES);
    let have: BTreeSet<String> = std::fs::read_dir(folder)?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    let have: BTreeSet<&str> = have.iter().map(String::as_str).collect();
    ensure!(have == want, "the archive holds {have:?}, expected {want:?}");
    Ok(())
}

/// An ELF executable for `target`'s machine with no program interpreter and no shared library.
fn check_static_elf(binary: &Path, target: &str) -> Result<()> {
    let readelf = |flag: &str| {
        output(Command::new("readelf").arg("--wide").arg(flag).arg(binary))
            .with_context(|| format!("`readelf {flag}` cannot read {}", binary.display()))
    };
    let machine = if target == NATIVE { "Advanced Micro Devices X86-64" } else { "AArch64" };
    let header = readelf("--file-header")?;
    ensure!(header.contains(machine), "{} is not an {machine} ELF file:\n{header}", binary.display());
    let segments = readelf("--program-headers")?;
    ensure!(!segments.contains("INTERP"), "{} asks for a program interpreter (it is not static)", binary.display());
    let dynamic = readelf("--dynamic")?;
    let needed: Vec<&str> = dynamic.lines().filter(|l| l.contains("(NEEDED)")).collect();
    ensure!(needed.is_empty(), "{} needs shared libraries: {needed:?}", binary.display());
    Ok(())
}

/// `<binary> --version` prints `<binary> <version>`.
fn check_version(mut command: Command, program: &Program, release: &Release) -> Result<()> {
    let printed = output(command.arg("--version")).with_context(|| format!("`{} --version` failed", program.binary))?;
    let want = format!("{} {}", program.binary, release.version);
    ensure!(printed == want, "`{} --version` printed {printed:?}, expected {want:?}", program.binary);
    Ok(())
}

/// `apig request --include --fail GET <url>` with the demo key: HTTP 200 and the echoed query.
fn check_cli_request(mut command: Command, url: &str) -> Result<()> {
    let out = command
        .args(["request", "--include", "--fail", "GET", url])
        .env("APIG_ACCESS_KEY", DEMO_KEY)
        .env("APIG_SECRET_KEY", DEMO_SECRET)
        .output()
        .context("cannot start apig")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("`apig request GET {url}` failed ({}): {stdout}{}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    let status = stdout.lines().next().unwrap_or_default();
    ensure!(status.contains(" 200 "), "`apig request GET {url}` got {status:?}, expected 200");
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    ensure!(stdout.contains(query), "the echo does not show the query {query:?}: {stdout}");
    Ok(())
}

/// The gateway serves its demo on a free port: the released x86_64 `apig` (`cli`) signs a request
/// that it accepts.
fn check_gateway_serves(mut command: Command, cli: &Path) -> Result<()> {
    let port = free_port()?;
    let _server = spawn(
        "released gateway",
        command.args(["--listen", &format!("127.0.0.1:{port}"), "--access-log", "off"]),
        port,
    )?;
    check_cli_request(Command::new(cli), &format!("http://127.0.0.1:{port}/demo/echo?from=gateway-aarch64"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::{NATIVE, TempDir, check_static_elf, check_sums};

    #[test]
    fn a_dynamically_linked_program_is_not_static() {
        // the machine's own programs use glibc's loader
        let error = check_static_elf(Path::new("/bin/sh"), NATIVE).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("program interpreter"), "{error}");
        let error = check_static_elf(Path::new("/bin/sh"), "aarch64-unknown-linux-musl").err().map(|e| e.to_string());
        assert!(error.unwrap_or_default().contains("is not an AArch64 ELF file"));
    }

    #[test]
    fn the_sums_file_catches_a_changed_missing_or_unlisted_archive() -> anyhow::Result<()> {
        let dir = TempDir::new("sums-test")?;
        let expected: BTreeSet<String> = ["a.tar.gz", "b.tar.gz"].map(str::to_owned).into();
        for name in &expected {
            std::fs::write(dir.0.join(name), name)?;
        }
        std::fs::write(
            dir.0.join("SHA256SUMS"),
            crate::util::output(std::process::Command::new("sha256sum").args(&expected).current_dir(&dir.0))
                .unwrap_or_default(),
        )?;
        assert!(check_sums(&dir.0, &expected).is_ok());

        std::fs::write(dir.0.join("b.tar.gz"), "changed")?;
        assert!(check_sums(&dir.0, &expected).is_err(), "a changed archive passed");
        std::fs::write(dir.0.join("b.tar.gz"), "b.tar.gz")?;
        std::fs::write(dir.0.join("c.tar.gz"), "c")?;
        assert!(check_sums(&dir.0, &expected).is_err(), "an unlisted archive passed");
        std::fs::remove_file(dir.0.join("c.tar.gz"))?;
        std::fs::remove_file(dir.0.join("a.tar.gz"))?;
        assert!(check_sums(&dir.0, &expected).is_err(), "a missing archive passed");
        Ok(())
    }
}
