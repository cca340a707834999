//! `apig-wasm`: the [`apig`] core compiled to WebAssembly for browsers, edge runtimes and Node.
//!
//! The npm package `apig-wasm` (assembled by `cargo xtask build wasm`) wraps these exports with
//! the public JavaScript API it shares with the native package `apig-sdk` (`bindings/js/api.js`)
//! over `js/engine.js`, the only JavaScript that knows these exports and their wire format
//! ([`wire`]): it hands each request over in one crossing. All signing logic is the core's.
//! Registration only: each concept lives in the module named after its core counterpart.

mod errors;
mod sign;
mod time;
#[cfg(feature = "verifier")]
mod verify;
mod wire;

pub use crate::errors::take_error;
pub use crate::sign::{PayloadHasher, Signer};
pub use crate::time::clock_skew_from_expired;
#[cfg(feature = "verifier")]
pub use crate::verify::{Verifier, body_too_large, default_body_limit};
pub use crate::wire::{scratch, wasm_memory, wire_tables};

/// The allocator: talc, smaller and faster than Rust's default one (dlmalloc) on wasm32.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
