//! `apig._apig`: the native module behind the `apig` Python package. Registration only; the
//! conversions, error mapping, signer and verifier live in their own files, mirroring the core.

mod convert;
mod credentials;
mod errors;
mod sign;
mod verify;

use apig::{Algorithm, HOP_BY_HOP_HEADERS, UNSIGNED_PAYLOAD};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

/// The native module: `Signer`, `SignedRequest`, `Verifier`, `Verified`, the credential providers,
/// the exceptions, and the
/// constants `ERROR_CODES`, `ALGORITHMS`, `UNSIGNED_PAYLOAD` and
/// `HOP_BY_HOP_HEADERS`.
#[pymodule]
fn _apig(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<sign::Signer>()?;
    m.add_class::<sign::SignedRequest>()?;
    m.add_class::<verify::Verifier>()?;
    m.add_class::<verify::Verified>()?;
    errors::register(m)?;
    credentials::register(m)?;
    m.add("ALGORITHMS", PyTuple::new(py, Algorithm::ALL.iter().map(|a| a.as_str()))?)?;
    m.add("UNSIGNED_PAYLOAD", UNSIGNED_PAYLOAD)?;
    m.add("HOP_BY_HOP_HEADERS", PyTuple::new(py, HOP_BY_HOP_HEADERS)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
