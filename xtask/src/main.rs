//! `cargo xtask`: the one entry point for building, testing and measuring apig.
//!
//! ```text
//! cargo xtask ci                          everything CI runs (installs what it needs first)
//! cargo xtask setup <lang>                install the toolchain pieces <lang> needs (idempotent)
//! cargo xtask build <lang>                build <lang>'s package
//! cargo xtask build console               refresh the gateway console's copy of apig-wasm's browser build
//! cargo xtask test <lang>                 run <lang>'s tests
//! cargo xtask test docs                   run the docs' code blocks; check the install names they give
//! cargo xtask conformance <lang> [FILE…]  run the vectors through <lang> (default: conformance/*.json)
//! cargo xtask interop                     Python and Node clients through a running gateway (after their tests)
//! cargo xtask rotation [--seconds N]      the credential rotation proof: Rust, Python, Node providers for 2 minutes
//! cargo xtask release [--verify] [--native] [--allow-dirty] [--only KIND,…]   every artifact into dist/ (docs/RELEASING.md)
//! ```
//! Languages: rust, python, node, wasm, kotlin, swift, gateway.

mod ci;
mod docs;
mod gateway;
mod interop;
mod js;
mod kotlin;
mod node;
mod python;
mod release;
mod rotation;
mod rust;
mod server;
mod util;
mod wasm;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};

/// A front end of the core, each with its own module here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    Rust,
    Python,
    Node,
    Wasm,
    Kotlin,
    Swift,
    Gateway,
}

impl Lang {
    const ALL: [Self; 7] = [Self::Rust, Self::Python, Self::Node, Self::Wasm, Self::Kotlin, Self::Swift, Self::Gateway];

    fn parse(name: &str) -> Result<Self> {
        match Self::ALL.into_iter().find(|l| l.name() == name) {
            Some(lang) => Ok(lang),
            None => {
                bail!("unknown language {name:?}; expected one of rust, python, node, wasm, kotlin, swift, gateway")
            }
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Rust => "rust",
            Self::Python => "python",
            Self::Node => "node",
            Self::Wasm => "wasm",
            Self::Kotlin => "kotlin",
            Self::Swift => "swift",
            Self::Gateway => "gateway",
        }
    }

    fn setup(self) -> Result<()> {
        match self {
            Self::Rust => rust::setup(),
            Self::Gateway => gateway::setup(),
            Self::Python => python::setup(),
            Self::Node => node::setup(),
            Self::Wasm => wasm::setup(),
            Self::Kotlin | Self::Swift => kotlin::setup(),
        }
    }

    fn build(self) -> Result<()> {
        match self {
            Self::Rust => rust::build(),
            Self::Python => python::build(),
            Self::Node => node::build(),
            Self::Wasm => wasm::build(),
            Self::Kotlin => kotlin::build_kotlin(),
            Self::Swift => kotlin::build_swift(),
            Self::Gateway => gateway::build(),
        }
    }

    fn test(self) -> Result<()> {
        match self {
            Self::Rust => rust::test(),
            Self::Python => python::test(),
            Self::Node => node::test(),
            Self::Wasm => wasm::test(),
            Self::Kotlin => kotlin::test(),
            Self::Swift => kotlin::build_swift(),
            Self::Gateway => gateway::test(),
        }
    }

    fn conformance(self, files: &[PathBuf]) -> Result<()> {
        match self {
            Self::Rust => rust::conformance(files),
            Self::Python => python::conformance(files),
            Self::Node => node::conformance(files),
            Self::Wasm => wasm::conformance(files),
            Self::Kotlin => kotlin::conformance(files),
            Self::Swift => bail!(
                "no Swift toolchain on this machine: Swift bindings are generated (`cargo xtask build swift`), not run"
            ),
            Self::Gateway => gateway::conformance(files),
        }
    }
}

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<()> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["ci"] => ci::run(),
        ["ci-lane", langs @ ..] => ci::lane(langs),
        ["setup", lang] => Lang::parse(lang)?.setup(),
        ["build", "console"] => wasm::build_console(),
        ["build", lang] => Lang::parse(lang)?.build(),
        ["test", "docs"] => docs::test(),
        ["test", lang] => Lang::parse(lang)?.test(),
        ["interop"] => interop::test(),
        ["rotation", rest @ ..] => rotation::command(rest),
        ["release", rest @ ..] => release::run(rest),
        ["conformance", lang, files @ ..] => {
            let files: Vec<PathBuf> = files.iter().map(|f| util::absolute(f)).collect::<Result<_>>()?;
            Lang::parse(lang)?.conformance(&files)
        }
        [] | ["help" | "--help" | "-h"] => {
            println!("{}", include_str!("usage.txt"));
            Ok(())
        }
        _ => bail!("unknown command {:?}\n\n{}", args.join(" "), include_str!("usage.txt")),
    }
}
