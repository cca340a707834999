//! What `--verify` shares: the embedded demo gateway every installed package signs a request for,
//! and the report that ends with `release verify: N artifacts, N ok`.

use std::fmt::Display;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Result, bail};

use super::Release;
use crate::server::{Server, free_port, spawn};
use crate::util::{cargo, run, target_dir};

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
