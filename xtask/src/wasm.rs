//! The wasm package. (Filled in by its issue; until then every step says so.)

use std::path::PathBuf;

use anyhow::{Result, bail};

pub(crate) fn setup() -> Result<()> {
    Ok(())
}

pub(crate) fn build() -> Result<()> {
    bail!("the wasm package is not built yet")
}

pub(crate) fn test() -> Result<()> {
    bail!("the wasm package is not built yet")
}

pub(crate) fn conformance(_files: &[PathBuf]) -> Result<()> {
    bail!("the wasm package is not built yet")
}
