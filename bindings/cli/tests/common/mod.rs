//! Helpers shared by the CLI tests: run the built `apig` binary, read the conformance vectors.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

pub const AK: &str = "AKTESTEXAMPLE0000001";
pub const SK: &str = "sk-EXAMPLE-0123456789abcdefghijklmnopqrstuv";

/// The `apig` binary with a clean credential environment.
pub fn apig() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_apig"));
    cmd.env_remove("APIG_ACCESS_KEY").env_remove("APIG_SECRET_KEY").env_remove("APIG_SECURITY_TOKEN");
    for name in ["AK", "SK", "SECURITY_TOKEN", "PROJECT_ID", "DOMAIN_ID"] {
        cmd.env_remove(format!("HUAWEICLOUD_SDK_{name}"));
    }
    cmd.env_remove("APIG_CREDENTIALS_SOURCE").env_remove("APIG_METADATA_ENDPOINT");
    // never the tester's own ~/.huaweicloud/credentials
    cmd.env("HUAWEICLOUD_SDK_CREDENTIALS_FILE", Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-such-credentials"));
    cmd
}

/// The binary with the test credentials in the environment.
pub fn apig_with(ak: &str, sk: &str) -> Command {
    let mut cmd = apig();
    cmd.env("APIG_ACCESS_KEY", ak).env("APIG_SECRET_KEY", sk);
    cmd
}

/// Runs `cmd` with `stdin` as its standard input. A command that refuses its arguments exits
/// without reading it: the pipe it closed is not the test's failure (what it printed is checked).
pub fn run(cmd: &mut Command, stdin: &[u8]) -> Output {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Err(e) = input.write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "cannot write the command's input: {e}");
    }
    drop(input);
    child.wait_with_output().unwrap()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The exit status, for assertions.
pub fn status(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

/// A fresh, empty directory for one test's files.
pub fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "cli-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The vectors of `conformance/<file>`.
pub fn vectors(file: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conformance").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str::<Vec<Value>>(&text).unwrap()
}

pub fn str_field<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut v = v;
    for key in path {
        v = &v[*key];
    }
    v.as_str().unwrap_or_else(|| panic!("no string at {path:?}"))
}

/// A vector request's headers as `(name, value)` pairs.
pub fn headers(vector: &Value) -> Vec<(String, String)> {
    vector["request"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h[0].as_str().unwrap().to_owned(), h[1].as_str().unwrap().to_owned()))
        .collect()
}

/// A vector request's body bytes (`body` text, `body_base64`, or empty).
pub fn body(vector: &Value) -> Vec<u8> {
    let request = &vector["request"];
    if let Some(text) = request["body"].as_str() {
        return text.as_bytes().to_vec();
    }
    assert!(request["body_base64"].is_null(), "body_base64 vectors are not used by these tests");
    Vec::new()
}
