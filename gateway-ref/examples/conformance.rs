//! `cargo run -p apig-gateway --example conformance -- [FILE...]` (what `cargo xtask conformance
//! gateway` runs): replays the conformance vectors (default: every `conformance/*.json`) through a
//! running gateway over real sockets; ends with `N passed, M failed`, exits 1 on any failure, 2
//! when a file cannot be read.

#[path = "../tests/it/replay/mod.rs"]
mod replay;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let files = if args.is_empty() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance");
        match apig_conformance::default_vector_files(&dir) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        }
    } else {
        args
    };
    match replay::run_files(&files) {
        Ok(report) => {
            println!("{}", report.summary());
            if report.failed() == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}
