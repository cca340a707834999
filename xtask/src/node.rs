//! The node package. (Filled in by its issue; until then every step says so.)

use std::path::PathBuf;

use anyhow::{Result, bail};

pub(crate) fn setup() -> Result<()> {
    Ok(())
}

pub(crate) fn build() -> Result<()> {
    bail!("the node package is not built yet")
}

pub(crate) fn test() -> Result<()> {
    bail!("the node package is not built yet")
}

pub(crate) fn conformance(_files: &[PathBuf]) -> Result<()> {
    bail!("the node package is not built yet")
}
