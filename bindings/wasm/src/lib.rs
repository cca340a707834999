//! `apig-wasm`: the [`apig`] core compiled to WebAssembly for browsers, edge runtimes and Node.
//!
//! The npm package `apig-wasm` (assembled by `cargo xtask build wasm`) wraps these exports with
//! the JavaScript in `js/api.js`: it converts JS values (option objects, `Headers`, typed arrays,
//! `Date`s) and hands each request over in one crossing; `signedFetch` and streamed body hashing
//! live there too. All signing logic is the core's. Registration only: each concept lives in the
//! module named after its core counterpart.

mod convert;
mod errors;
mod sign;
mod time;
#[cfg(feature = "verifier")]
mod verify;

pub use crate::convert::{header_name, scratch, wasm_memory};
pub use crate::errors::error_table;
pub use crate::sign::{PayloadHasher, Signer};
pub use crate::time::clock_skew_from_expired;
#[cfg(feature = "verifier")]
pub use crate::verify::Verifier;

/// The allocator: talc, smaller and faster than Rust's default one (dlmalloc) on wasm32.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
