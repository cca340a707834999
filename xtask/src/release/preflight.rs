//! Refusals before anything is built: a dirty tree, or manifests that disagree on the version.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::util::{output, root};

/// The files that carry the version besides the workspace's `Cargo.toml` (Python's comes from
/// Cargo through maturin; the per-platform npm packages are generated with it).
const VERSIONED_JSON: [&str; 2] = ["bindings/node/package.json", "bindings/wasm/js/package.json"];

/// Checks the tree and returns the release version.
pub(crate) fn check(allow_dirty: bool) -> Result<String> {
    let read = |file: &str| std::fs::read_to_string(root().join(file)).with_context(|| format!("cannot read {file}"));
    let cargo_toml = read("Cargo.toml")?;
    let manifests = VERSIONED_JSON.iter().map(|file| Ok((*file, read(file)?))).collect::<Result<Vec<_>>>()?;
    let version = agreed_version(&cargo_toml, &manifests)?;
    if !allow_dirty {
        let status = output(Command::new("git").args(["status", "--porcelain"]).current_dir(root()))
            .context("cannot run `git status` (a release is cut from a git checkout)")?;
        refuse_uncommitted(&status)?;
    }
    Ok(version)
}

/// The workspace's version, when the core dependency's version and every package.json of
/// `manifests` (`(file, text)`) say the same; otherwise an error naming each that does not.
fn agreed_version(cargo_toml: &str, manifests: &[(&str, String)]) -> Result<String> {
    let cargo: toml::Table = cargo_toml.parse().context("Cargo.toml is not valid TOML")?;
    let workspace = cargo.get("workspace").and_then(toml::Value::as_table);
    let version = workspace
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("version"))
        .and_then(toml::Value::as_str)
        .context("Cargo.toml has no [workspace.package] version")?;
    let mut mismatched = Vec::new();
    // the crates depend on the core as `apig = { path = "core", version = "…" }`; `cargo package`
    // writes that version into apig-cli's and apig-gateway's published manifests
    let core = workspace.and_then(|w| w.get("dependencies")).and_then(|d| d.get("apig"));
    match core.and_then(|apig| apig.get("version")).and_then(toml::Value::as_str) {
        Some(found) if found == version => {}
        Some(found) => mismatched.push(format!("Cargo.toml [workspace.dependencies] apig says {found}")),
        None => bail!("Cargo.toml [workspace.dependencies] has no `apig = {{ path = \"core\", version = \"…\" }}`"),
    }
    for (file, text) in manifests {
        let json: serde_json::Value =
            serde_json::from_str(text).with_context(|| format!("{file} is not valid JSON"))?;
        let found = json.get("version").and_then(serde_json::Value::as_str);
        match found {
            Some(found) if found == version => {}
            Some(found) => mismatched.push(format!("{file} says {found}")),
            None => bail!("{file} has no \"version\""),
        }
    }
    if !mismatched.is_empty() {
        bail!(
            "version mismatch: Cargo.toml [workspace.package] version is {version}, but {}; set every one to the same version",
            mismatched.join(", ")
        );
    }
    Ok(version.to_owned())
}

/// Refuses a tree with uncommitted changes (`git status --porcelain`'s output), naming a few.
fn refuse_uncommitted(status: &str) -> Result<()> {
    if status.trim().is_empty() {
        return Ok(());
    }
    let first: Vec<&str> = status.lines().take(5).collect();
    bail!(
        "the working tree has uncommitted changes, so the release would not match any commit:\n  {}\ncommit or stash them (or pass --allow-dirty for a local try)",
        first.join("\n  ")
    )
}

#[cfg(test)]
mod tests {
    use super::{agreed_version, refuse_uncommitted};

    const CARGO: &str = "[workspace.package]\nversion = \"0.2.0\"\n\n[workspace.dependencies]\n\
                         apig = { path = \"core\", version = \"0.2.0\" }\nserde = \"1\"\n";

    fn manifests(node: &str, wasm: &str) -> Vec<(&'static str, String)> {
        vec![
            ("bindings/node/package.json", format!("{{\"name\": \"apig-sdk\", \"version\": \"{node}\"}}")),
            ("bindings/wasm/js/package.json", format!("{{\"name\": \"apig-wasm\", \"version\": \"{wasm}\"}}")),
        ]
    }

    #[test]
    fn one_version_everywhere_is_the_release_version() {
        assert_eq!(agreed_version(CARGO, &manifests("0.2.0", "0.2.0")).unwrap(), "0.2.0");
    }

    #[test]
    fn a_mismatched_version_is_refused_naming_each_file() {
        let e = agreed_version(CARGO, &manifests("0.1.0", "0.2.0")).unwrap_err().to_string();
        assert!(e.contains("version is 0.2.0") && e.contains("bindings/node/package.json says 0.1.0"), "{e}");
        assert!(!e.contains("wasm"), "{e}");
        let core_behind = CARGO.replace("version = \"0.2.0\" }", "version = \"0.1.0\" }");
        let e = agreed_version(&core_behind, &manifests("0.2.0", "0.2.0")).unwrap_err().to_string();
        assert!(e.contains("[workspace.dependencies] apig says 0.1.0"), "{e}");
        let unversioned = CARGO.replace(", version = \"0.2.0\" }", " }");
        let e = agreed_version(&unversioned, &manifests("0.2.0", "0.2.0")).unwrap_err().to_string();
        assert!(e.contains("has no `apig = { path"), "{e}");
    }

    #[test]
    fn uncommitted_changes_are_refused_naming_them() {
        assert!(refuse_uncommitted("").is_ok());
        let e = refuse_uncommitted(" M core/src/sign.rs\n?? notes.txt\n").unwrap_err().to_string();
        assert!(e.contains("M core/src/sign.rs") && e.contains("notes.txt") && e.contains("--allow-dirty"), "{e}");
    }
}
