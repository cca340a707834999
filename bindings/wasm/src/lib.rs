//! `apig-wasm`: the [`apig`] core compiled to WebAssembly for browsers, edge runtimes and Node.
//!
//! The npm package `apig-wasm` (assembled by `cargo xtask build wasm`) wraps these exports with a
//! few lines of JavaScript (`signedFetch`, streamed body hashing); all signing logic is the core's.
//! Registration only: each concept lives in the module named after its core counterpart.

mod convert;
mod errors;
mod sign;
mod time;
mod verify;

pub use crate::errors::error_codes;
pub use crate::sign::{PayloadHasher, Signer};
pub use crate::time::clock_skew_from_expired;
pub use crate::verify::Verifier;
