//! Kotlin and Swift through uniffi. (Filled in by its issue.)

use std::path::PathBuf;

use anyhow::{Result, bail};

pub(crate) fn setup() -> Result<()> {
    Ok(())
}

pub(crate) fn build_kotlin() -> Result<()> {
    bail!("the Kotlin bindings are not built yet")
}

pub(crate) fn build_swift() -> Result<()> {
    bail!("the Swift bindings are not built yet")
}

pub(crate) fn test() -> Result<()> {
    bail!("the Kotlin bindings are not built yet")
}

pub(crate) fn conformance(_files: &[PathBuf]) -> Result<()> {
    bail!("the Kotlin bindings are not built yet")
}
