//! What `--verify` shares: the embedded demo gateway every installed package signs a request for,
//! the report that ends with `release verify: N artifacts, N ok`, temporary folders, and the
//! glibc check of every native library the release ships for glibc (wheels, addons, JVM libraries).

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::Release;
use crate::server::{Server, free_port, spawn};
use crate::util::{cargo, output, run, target_dir};

/// The demo's app key and secret (`gateway-ref/src/demo.json`).
pub(crate) const DEMO_KEY: &str = "demo-access-key";
/// The demo app's secret.
pub(crate) const DEMO_SECRET: &str = "demo-secret-key";

/// The reference gateway running its embedded demo on 127.0.0.1 (killed when dropped): the
/// released static x86_64 binary when it was built, else the workspace's debug build.
pub(crate) struct DemoGateway {
    /// `http://127.0.0.1:PORT`; `GET|POST /demo/echo` accept requests signed with the demo key.
    pub(crate) url: String,
    _server: Server,
}

impl DemoGateway {
    pub(crate) fn start(release: &Release) -> Result<Self> {
        let binary = match super::binaries::native_gateway(release) {
            Some(binary) => binary,
            None => {
                run(cargo().args(["build", "-p", "apig-gateway", "--bin", "apig-gateway"]))?;
                target_dir().join("debug").join("apig-gateway")
            }
        };
        let port = free_port()?;
        let server = spawn(
            "demo gateway",
            Command::new(&binary).args(["--listen", &format!("127.0.0.1:{port}"), "--access-log", "off"]),
            port,
        )?;
        Ok(Self { url: format!("http://127.0.0.1:{port}"), _server: server })
    }

    /// The demo's echo URL with `query` (e.g. `?from=python`).
    pub(crate) fn echo(&self, query: &str) -> String {
        format!("{}/demo/echo{query}", self.url)
    }
}

/// One line per checked artifact, then the summary line.
#[derive(Default)]
pub(crate) struct Report {
    checked: usize,
    failed: Vec<String>,
}

impl Report {
    /// Runs `check` for `artifact`, printing `ok` or the failure; never stops the run.
    pub(crate) fn check(&mut self, artifact: &str, check: impl FnOnce() -> Result<()>) {
        match check() {
            Ok(()) => {
                self.checked += 1;
                eprintln!("release verify: ok   {artifact}");
            }
            Err(e) => self.fail(artifact, &e),
        }
    }

    /// Records `artifact` as failed with `error`.
    pub(crate) fn fail(&mut self, artifact: &str, error: &dyn Display) {
        self.checked += 1;
        eprintln!("release verify: FAIL {artifact}: {error:#}");
        self.failed.push(artifact.to_owned());
    }

    /// Prints `release verify: N artifacts, N ok` and fails naming every failed artifact.
    pub(crate) fn finish(self) -> Result<()> {
        let ok = self.checked - self.failed.len();
        println!("release verify: {} artifacts, {ok} ok", self.checked);
        if !self.failed.is_empty() {
            bail!("release verify failed for: {}", self.failed.join(", "));
        }
        Ok(())
    }
}

/// A temporary folder removed when dropped (`--verify` leaves nothing behind, even on failure).
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("apig-release-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The symbols `library` needs from glibc at a version newer than `newest` (`None`: any glibc
/// version at all) or at an unnumbered one (`GLIBC_PRIVATE`), as `name@GLIBC_x.y`, sorted; read
/// with `readelf --dyn-syms` (binutils).
pub(crate) fn glibc_too_new(library: &Path, newest: Option<(u32, u32)>) -> Result<Vec<String>> {
    let symbols = output(Command::new("readelf").args(["--dyn-syms", "--wide"]).arg(library))
        .with_context(|| format!("`readelf --dyn-syms` cannot read {}", library.display()))?;
    Ok(glibc_symbols_too_new(&symbols, newest))
}

/// The symbols of `readelf --dyn-syms` output that need a glibc version newer than `newest`
/// (with `None`, every glibc symbol), as `name@GLIBC_x.y`.
fn glibc_symbols_too_new(readelf: &str, newest: Option<(u32, u32)>) -> Vec<String> {
    let mut found: Vec<String> = readelf
        .split_whitespace()
        .filter_map(|word| {
            let (_, version) = word.split_once("@GLIBC_")?;
            let allowed = newest.is_some_and(|newest| {
                let mut parts = version.split('.').map(str::parse::<u32>);
                match (parts.next(), parts.next()) {
                    (Some(Ok(major)), Some(Ok(minor))) => (major, minor) <= newest,
                    (Some(Ok(major)), None) => (major, 0) <= newest,
                    _ => false, // GLIBC_PRIVATE and the like: never portable
                }
            });
            (!allowed).then(|| word.trim_start_matches('@').to_owned())
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const READELF: &str = "\
Symbol table '.dynsym' contains 4 entries:
   Num:    Value          Size Type    Bind   Vis      Ndx Name
     0: 0000000000000000     0 NOTYPE  LOCAL  DEFAULT  UND
     1: 0000000000000000     0 FUNC    GLOBAL DEFAULT  UND memcpy@GLIBC_2.14 (2)
     2: 0000000000000000     0 FUNC    GLOBAL DEFAULT  UND getrandom@GLIBC_2.25 (3)
     3: 0000000000000000     0 FUNC    GLOBAL DEFAULT  UND __tls_get_addr@GLIBC_2.3 (4)
     4: 0000000000000000     0 FUNC    GLOBAL DEFAULT  UND _dl_find_object@GLIBC_PRIVATE (5)
     5: 0000000000012340    10 FUNC    GLOBAL DEFAULT   12 PyInit__apig
";

    #[test]
    fn glibc_symbols_newer_than_the_tag_are_named() {
        assert_eq!(
            glibc_symbols_too_new(READELF, Some((2, 17))),
            ["_dl_find_object@GLIBC_PRIVATE", "getrandom@GLIBC_2.25"]
        );
        assert_eq!(glibc_symbols_too_new(READELF, Some((2, 25))), ["_dl_find_object@GLIBC_PRIVATE"]);
    }

    #[test]
    fn glibc_versions_compare_as_numbers() {
        // 2.3 < 2.17 < 2.28, and 2.3.4 is 2.3
        let symbols = "1: 0 0 FUNC GLOBAL DEFAULT UND a@GLIBC_2.3 (2)\n2: 0 0 FUNC GLOBAL DEFAULT UND b@GLIBC_2.28 (3)\n\
                       3: 0 0 FUNC GLOBAL DEFAULT UND c@GLIBC_2.3.4 (4)\n";
        assert_eq!(glibc_symbols_too_new(symbols, Some((2, 17))), ["b@GLIBC_2.28"]);
    }

    #[test]
    fn a_musl_wheel_may_need_no_glibc_symbol() {
        assert_eq!(glibc_symbols_too_new(READELF, None).len(), 4);
        assert!(glibc_symbols_too_new("1: 0 0 FUNC GLOBAL DEFAULT UND malloc", None).is_empty());
    }
}
