//! Refusals before anything is built: a dirty tree, or manifests that disagree on the version.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::util::{output, root};

/// The files that carry the version besides the workspace's `Cargo.toml` (Python's comes from
/// Cargo through maturin; the per-platform npm packages are generated with it).
const VERSIONED_JSON: [&str; 2] = ["bindings/node/package.json", "bindings/wasm/js/package.json"];

/// Checks the tree and returns the release version.
pub(crate) fn check(allow_dirty: bool) -> Result<String> {
    let version = workspace_version()?;
    let mut mismatched = Vec::new();
    // the crates depend on the core as `apig = { path = "core", version = "…" }`; `cargo package`
    // writes that version into apig-cli's and apig-gateway's published manifests
    let manifest = std::fs::read_to_string(root().join("Cargo.toml"))?;
    match path_dependency_version(&manifest, "apig") {
        Some(found) if found == version => {}
        Some(found) => mismatched.push(format!("Cargo.toml [workspace.dependencies] apig says {found}")),
        None => bail!("Cargo.toml [workspace.dependencies] has no `apig = {{ path = \"core\", version = \"…\" }}`"),
    }
    for file in VERSIONED_JSON {
        let text = std::fs::read_to_string(root().join(file)).with_context(|| format!("cannot read {file}"))?;
        let found = json_version(&text).with_context(|| format!("{file} has no \"version\""))?;
        if found != version {
            mismatched.push(format!("{file} says {found}"));
        }
    }
    if !mismatched.is_empty() {
        bail!(
            "version mismatch: Cargo.toml [workspace.package] version is {version}, but {}; set every one to the same version",
            mismatched.join(", ")
        );
    }
    if !allow_dirty {
        let status = output(Command::new("git").args(["status", "--porcelain"]).current_dir(root()))
            .context("cannot run `git status` (a release is cut from a git checkout)")?;
        if !status.is_empty() {
            let first: Vec<&str> = status.lines().take(5).collect();
            bail!(
                "the working tree has uncommitted changes, so the release would not match any commit:\n  {}\ncommit or stash them (or pass --allow-dirty for a local try)",
                first.join("\n  ")
            );
        }
    }
    Ok(version)
}

/// `version = "…"` of `[workspace.package]` in the root `Cargo.toml`.
fn workspace_version() -> Result<String> {
    let text = std::fs::read_to_string(root().join("Cargo.toml"))?;
    let mut in_package = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[workspace.package]";
        } else if in_package
            && let Some(value) = line.strip_prefix("version").map(str::trim_start)
            && let Some(value) = value.strip_prefix('=')
        {
            return Ok(value.trim().trim_matches('"').to_owned());
        }
    }
    bail!("Cargo.toml has no [workspace.package] version")
}

/// The `version = "…"` of dependency `name` in `[workspace.dependencies]` (an inline table).
fn path_dependency_version(manifest: &str, name: &str) -> Option<String> {
    let mut in_dependencies = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_dependencies = line == "[workspace.dependencies]";
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        if !in_dependencies || key.trim() != name {
            continue;
        }
        let at = value.find("version")?;
        let rest = value[at + "version".len()..].trim_start().strip_prefix('=')?.trim_start().strip_prefix('"')?;
        return Some(rest[..rest.find('"')?].to_owned());
    }
    None
}

/// The top-level `"version"` of a package.json (the first such key: npm writes it near the top).
fn json_version(text: &str) -> Option<String> {
    let at = text.find("\"version\"")?;
    let rest = text[at + "\"version\"".len()..].trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_owned())
}

#[cfg(test)]
mod tests {
    use super::path_dependency_version;

    #[test]
    fn the_core_dependency_version_is_read_from_workspace_dependencies() {
        let manifest = "[workspace.package]\nversion = \"0.2.0\"\n\n[workspace.dependencies]\n\
                        apig = { path = \"core\", version = \"0.1.0\" }\napig-x = { version = \"9\" }\n";
        assert_eq!(path_dependency_version(manifest, "apig").as_deref(), Some("0.1.0"));
        assert_eq!(path_dependency_version(manifest, "apig-x").as_deref(), Some("9"));
        assert_eq!(path_dependency_version(manifest, "serde"), None);
        // a path dependency without a version cannot be published: reported as missing
        assert_eq!(path_dependency_version("[workspace.dependencies]\napig = { path = \"core\" }\n", "apig"), None);
        // the same key in another table does not count
        assert_eq!(path_dependency_version("[dependencies]\napig = { version = \"1\" }\n", "apig"), None);
    }
}
