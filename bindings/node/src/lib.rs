//! The Node.js binding of [`apig`]: the native half of the npm package `apig-sdk`.
//!
//! Registration only: every exported class and function lives in the module named after the core
//! module it wraps. The binding converts JavaScript values, maps errors and adapts ownership; all
//! signing logic (canonicalisation, hashing, encoding, header handling, dates, defaults) is the
//! core's. The package's JavaScript: `lib/engine.js` (the only JavaScript that knows this addon,
//! over the wire format of [`wire`]) under the public API shared with `apig-wasm`
//! (`bindings/js/api.js`, copied into the package as `lib/api.cjs`), which adds streams,
//! `fetch`, axios and the middleware; `lib/compat.js` the `signer.js` compatibility layer.

// napi-derive expands every `#[napi]` item into `extern "C"` glue that is `unsafe` by nature. This
// crate's own `unsafe` is two Node-API calls reading a string into a buffer it owns
// (`convert::read_string`, on the hot path of `sign()`), each with its SAFETY note.
#![allow(unsafe_code)]
// The doc comments of exported items become the JSDoc of the generated `index.d.ts`, where each says
// in prose which `ApigError` it throws; a Rust `# Errors` heading would read oddly there.
#![allow(clippy::missing_errors_doc)]

mod convert;
mod credentials;
mod errors;
mod sign;
mod verify;
mod wire;

pub use crate::credentials::{NativeProvider, credentials_error_codes};
pub use crate::errors::{
    ApigAnswer, apig_answer, body_too_large, clock_skew_from_expired, default_body_limit, error_codes,
    hop_by_hop_headers, register_error_class,
};
pub use crate::sign::{PayloadHasher, Signer};
pub use crate::verify::Verifier;
pub use crate::wire::{WireFormat, wire_format};
