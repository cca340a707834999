//! The credential rotation proof (issue 17): a local ECS metadata service issues temporary key
//! pairs that live seconds, registers each with a running `apig-gateway` through its admin API
//! before handing it out, and Rust, Python and Node clients sign requests concurrently through
//! their metadata providers. Run by `cargo xtask rotation` (2 minutes) and, shorter, by CI's
//! interop step.
//!
//! ```text
//! apig-rotation run --gateway-bin PATH [--python PATH] [--node PATH] [--seconds 120] …
//! apig-rotation client GATEWAY_URL METADATA_URL SECONDS CONCURRENCY REFRESH_MARGIN MIN_REFRESH_INTERVAL PAUSE_MS
//! ```

mod client;
mod metadata;
mod report;
mod run;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "apig-rotation", about = "The credential rotation proof (cargo xtask rotation)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the gateway and the metadata service, run every client, check and print the report.
    Run(run::RunArgs),
    /// The Rust client (apig-credentials' MetadataProvider, apig-reqwest's middleware): prints its
    /// report as one JSON line.
    Client(client::ClientArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Client(args) => client::main(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("apig-rotation: {e:#}");
            ExitCode::FAILURE
        }
    }
}
