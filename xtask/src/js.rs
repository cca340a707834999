//! The JavaScript API shared by the npm packages `apig-sdk` (bindings/node) and `apig-wasm`
//! (bindings/wasm): `bindings/js/api.js` (the public API over an engine), `bindings/js/index.d.ts`
//! (its types) and `bindings/js/test/` (the test suite run against both packages). npm packs only
//! what is inside a package's folder, so each package's build copies them in: the API as CommonJS
//! (`lib/api.cjs`) and, for apig-wasm, as the ES module it is written as (`lib/api.js`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::util::root;

/// `bindings/js`.
pub(crate) fn shared() -> PathBuf {
    root().join("bindings").join("js")
}

/// The shared test suite (`*.test.mjs` and their helpers), copied beside each package's own tests.
pub(crate) fn tests() -> PathBuf {
    shared().join("test")
}

/// An ES module with exactly one `export function NAME(` and no imports, as CommonJS.
pub(crate) fn commonjs(source: &str, name: &str, file: &Path) -> Result<String> {
    let export = format!("export function {name}(");
    if source.matches(&export).count() != 1
        || source.lines().any(|l| l.starts_with("import ") || l.starts_with("export ") && !l.starts_with(&export))
    {
        bail!(
            "{} must have exactly one `{export}…`, no other export and no imports (it is also shipped as CommonJS)",
            file.display()
        );
    }
    Ok(format!(
        "\"use strict\";\n{}\nmodule.exports = {{ {name} }};\n",
        source.replace(&export, &format!("function {name}("))
    ))
}

/// Writes `text` to `path` unless it already holds it (an unchanged copy keeps its time).
fn write(path: &Path, text: &str) -> Result<()> {
    if std::fs::read_to_string(path).ok().as_deref() == Some(text) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Copies the shared API and types into the package folder `package`: `lib/api.cjs`,
/// `index.d.ts` and, with `esm`, `lib/api.js`.
pub(crate) fn copy_into(package: &Path, esm: bool) -> Result<()> {
    let file = shared().join("api.js");
    let api = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
    write(&package.join("lib").join("api.cjs"), &commonjs(&api, "makeApi", &file)?)?;
    if esm {
        write(&package.join("lib").join("api.js"), &api)?;
    }
    let types = std::fs::read_to_string(shared().join("index.d.ts"))?;
    write(&package.join("index.d.ts"), &types)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_es_module_becomes_commonjs_or_is_refused() {
        let file = Path::new("api.js");
        let cjs = commonjs("// x\nexport function makeApi(engine) {\n  return engine\n}\n", "makeApi", file)
            .unwrap_or_default();
        assert!(cjs.starts_with("\"use strict\";\n// x\nfunction makeApi(engine) {"), "{cjs}");
        assert!(cjs.ends_with("module.exports = { makeApi };\n"));
        assert!(commonjs("import x from 'y'\nexport function makeApi() {}\n", "makeApi", file).is_err());
        assert!(commonjs("export function makeApi() {}\nexport const y = 1\n", "makeApi", file).is_err());
        assert!(commonjs("function makeApi() {}\n", "makeApi", file).is_err());
    }
}
