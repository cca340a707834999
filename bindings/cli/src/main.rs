//! `apig`: sign, verify, send and explain Huawei Cloud APIG App-authenticated requests.
//!
//! A thin front end over the `apig` core: it parses arguments, reads files, talks HTTP and prints;
//! every signing and verification decision is the core's. See `docs/cli.md`.

mod args;
mod credentials;
mod errors;
mod explain;
mod http_message;
mod input;
mod output;
mod request;
mod show_credentials;
mod sign;
mod verify;

use std::process::ExitCode;

use apig::ErrorKind;
use clap::Parser;

use crate::args::{Cli, Command};
use crate::errors::EXIT_USAGE;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    let result = match &cli.command {
        Command::Sign(args) => sign::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Request(args) => request::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Credentials(args) => show_credentials::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            output::stderr(&format!("{error}\n"));
            error.exit_code()
        }
    }
}

/// Help and version go to stdout with status 0; argument errors are printed as
/// `error[invalid_request]: …` with clap's explanation and status 2.
fn usage_error(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind as Clap;
    match error.kind() {
        Clap::DisplayHelp | Clap::DisplayVersion => {
            // a closed stdout leaves nothing to report
            let _ = error.print();
            ExitCode::SUCCESS
        }
        Clap::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            ExitCode::from(EXIT_USAGE)
        }
        _ => {
            let rendered = error.render().to_string();
            let text = rendered.strip_prefix("error: ").unwrap_or(&rendered);
            output::stderr(&format!("error[{}]: {text}", ErrorKind::InvalidRequest.code()));
            ExitCode::from(EXIT_USAGE)
        }
    }
}
