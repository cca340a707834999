//! Release: crates (to be written).

use anyhow::Result;

use super::{Artifact, DemoGateway, Release, Report};

pub(crate) fn build(_release: &Release) -> Result<Vec<Artifact>> {
    Ok(Vec::new())
}

pub(crate) fn verify(_release: &Release, _gateway: &DemoGateway, _report: &mut Report) -> Result<()> {
    Ok(())
}
