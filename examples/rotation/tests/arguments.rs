//! The binary refuses a schedule that cannot prove anything, and bad client arguments, with a
//! clear message and a non-zero status, before it starts any process. (Building this test makes
//! `cargo test` build the binary too: CI's interop step runs the proof with the one the rust step
//! built.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

fn rotation(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_apig-rotation")).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_new_pair_must_come_out_before_the_old_one_expires() {
    let work = env!("CARGO_TARGET_TMPDIR");
    for (lifetime, every) in [("10", "10"), ("10", "12"), ("10", "0")] {
        let (status, stderr) = rotation(&[
            "run",
            "--gateway-bin",
            "/nonexistent/apig-gateway",
            "--work-dir",
            work,
            "--lifetime",
            lifetime,
            "--rotate-every",
            every,
        ]);
        assert_eq!(status, 1, "{stderr}");
        assert!(stderr.contains("--rotate-every must be more than 0 and less than --lifetime"), "{stderr}");
    }
}

#[test]
fn client_arguments_are_checked() {
    let (status, stderr) =
        rotation(&["client", "http://127.0.0.1:1", "http://127.0.0.1:2", "ten", "4", "1", "1", "20"]);
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("invalid value 'ten'"), "{stderr}");
}
