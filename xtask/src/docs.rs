//! `cargo xtask test docs`: the documentation as a user copies it.
//!
//! 1. **Install names** (issue #14): no file a user reads — `README.md`, `docs/`, `examples/`,
//!    `bindings/*/README.md` — may tell them to install a package name we do not own (`pip install
//!    apig`, `npm install apig`, …): those names belong to strangers on the public registries.
//! 2. **Snippets**: every fenced code block of `README.md`, `docs/*.md` and `bindings/*/README.md`
//!    whose info string is `python`, `js` (a CommonJS `.cjs` file: what a copied `.js` file is in a
//!    project without `"type": "module"`), `js esm` or `mjs` (an ES module) or `ts` (type-checked
//!    with `tsc --noEmit --strict`) is written to a file and run, with the installed packages
//!    importable: the Python venv's `apig`, the packed `apig-sdk` and `apig-wasm`. A block marked
//!    `no-run` after its language (```` ```js no-run ````) is an illustrative fragment and is
//!    skipped. `https://api.example.com` in a snippet is rewritten to the demo gateway this step
//!    starts, so network calls reach a real APIG gateway. The conventions are in docs/README.md.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::server::{free_port, spawn};
use crate::util::{output, root, target_dir};
use crate::{node, python, wasm};

/// The names we publish, per registry (issue #14).
const OURS_PYPI: &[&str] = &["apig-sdk"];
const OURS_NPM: &[&str] = &["apig-sdk", "apig-wasm"];
const OURS_CRATES: &[&str] = &["apig", "apig-credentials", "apig-cli", "apig-gateway", "apig-tower", "apig-reqwest"];
/// Crates with a binary, the only ones `cargo install` takes.
const OURS_CARGO_INSTALL: &[&str] = &["apig-cli", "apig-gateway"];

/// The host that snippets call, rewritten to the local demo gateway.
const EXAMPLE_ORIGIN: &str = "https://api.example.com";

/// How long one snippet may run.
const SNIPPET_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) fn test() -> Result<()> {
    check_install_names()?;
    run_snippets()
}

// ---------------------------------------------------------------------------------------------
// 1. install names

/// A registry whose install commands the check reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Registry {
    PyPi,
    Npm,
    CargoInstall,
    CargoAdd,
}

impl Registry {
    fn ours(self) -> &'static [&'static str] {
        match self {
            Self::PyPi => OURS_PYPI,
            Self::Npm => OURS_NPM,
            Self::CargoInstall => OURS_CARGO_INSTALL,
            Self::CargoAdd => OURS_CRATES,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::PyPi => "PyPI",
            Self::Npm => "npm",
            Self::CargoInstall | Self::CargoAdd => "crates.io",
        }
    }
}

/// Install commands, as word sequences, and the registry they install from.
const INSTALL_COMMANDS: &[(&[&str], Registry)] = &[
    (&["pip", "install"], Registry::PyPi),
    (&["pip3", "install"], Registry::PyPi),
    (&["pipx", "install"], Registry::PyPi),
    (&["uv", "add"], Registry::PyPi),
    (&["poetry", "add"], Registry::PyPi),
    (&["npm", "install"], Registry::Npm),
    (&["npm", "i"], Registry::Npm),
    (&["npm", "add"], Registry::Npm),
    (&["yarn", "add"], Registry::Npm),
    (&["pnpm", "add"], Registry::Npm),
    (&["pnpm", "install"], Registry::Npm),
    (&["pnpm", "i"], Registry::Npm),
    (&["bun", "add"], Registry::Npm),
    (&["cargo", "install"], Registry::CargoInstall),
    (&["cargo", "add"], Registry::CargoAdd),
];

/// A line that tells a user to install a name we do not own.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ForeignInstall {
    line: usize,
    name: String,
    registry: Registry,
}

/// The words of a piece of a line, with the quotes around them dropped.
fn words(piece: &str) -> Vec<&str> {
    piece
        .split(char::is_whitespace)
        .map(|w| w.trim_matches(|c| matches!(c, '"' | '\'' | ',' | ';' | ')' | '(')))
        .filter(|w| !w.is_empty())
        .collect()
}

/// The package name a command-line word names, or `None` for an option, a path, a URL or a file
/// (`./apig-sdk-0.1.0.tgz`, `target/…/apig_sdk-…whl`): only names reach a registry.
fn package_name(word: &str, registry: Registry) -> Option<String> {
    if word.starts_with('-') || word.starts_with('.') || word.contains('/') || word.contains(':') {
        return None;
    }
    if [".whl", ".tgz", ".tar.gz", ".zip", ".txt", ".toml"].iter().any(|ext| word.ends_with(ext)) {
        return None;
    }
    // extras and versions: apig-sdk[requests], apig==1, apig>=1, apig@1 (npm), apig@=1 (cargo)
    let end = word.find(['[', '=', '>', '<', '~', '!', '@']).unwrap_or(word.len());
    let name = &word[..end];
    if name.is_empty() {
        return None;
    }
    Some(match registry {
        // PyPI names compare case-insensitively with - _ . alike (PEP 503)
        Registry::PyPi => name.to_ascii_lowercase().replace(['_', '.'], "-"),
        _ => name.to_owned(),
    })
}

/// Every install of a name we do not own in `text` (line numbers from 1): a name starting with
/// `apig` (ours or a look-alike) that is not one of our registry names. Other names (maturin,
/// axios, …) are third-party tools the docs may rightly install. Also reads the dependency lists
/// of `requirements*.txt` and `package.json` files, which install what they name.
fn foreign_installs(file_name: &str, text: &str) -> Vec<ForeignInstall> {
    let mut found = Vec::new();
    let mut flag = |line: usize, name: String, registry: Registry| {
        if name.to_ascii_lowercase().starts_with("apig") && !registry.ours().contains(&name.as_str()) {
            found.push(ForeignInstall { line, name, registry });
        }
    };
    let requirements = file_name.starts_with("requirements") && file_name.ends_with(".txt");
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if requirements {
            let spec = line.split('#').next().unwrap_or("").trim();
            if let Some(name) = words(spec).first().and_then(|w| package_name(w, Registry::PyPi)) {
                flag(number, name, Registry::PyPi);
            }
            continue;
        }
        if file_name == "package.json" {
            let key = line.trim().strip_prefix('"').and_then(|rest| rest.split_once("\":"));
            if let Some((name, _)) = key.filter(|(name, _)| name.starts_with("apig")) {
                flag(number, name.to_owned(), Registry::Npm);
            }
            continue;
        }
        // a command ends with its code span (`cargo install --path x` has put `apig` on PATH)
        for piece in line.split('`') {
            for (name, registry) in installed_names(piece) {
                flag(number, name, registry);
            }
        }
    }
    found
}

/// The names that install commands in `piece` (a line, or one code span of it) install.
fn installed_names(piece: &str) -> Vec<(String, Registry)> {
    let mut names = Vec::new();
    let words = words(piece);
    let mut i = 0;
    while i < words.len() {
        let command = INSTALL_COMMANDS.iter().find(|(command, _)| words[i..].starts_with(command));
        let Some(&(command, registry)) = command else {
            i += 1;
            continue;
        };
        i += command.len();
        // the command's arguments, up to a shell separator or a comment
        while let Some(&word) = words.get(i) {
            if matches!(word, "&&" | "||" | "|" | "#" | "&") || word.starts_with('#') {
                break;
            }
            if let Some(name) = package_name(word, registry) {
                names.push((name, registry));
            }
            i += 1;
        }
    }
    names
}

/// The files a user reads for install instructions: README.md, docs/, examples/, the bindings'
/// READMEs.
fn files_with_install_lines() -> Result<Vec<PathBuf>> {
    let root = root();
    let mut files = vec![root.join("README.md")];
    walk(&root.join("docs"), &mut files)?;
    walk(&root.join("examples"), &mut files)?;
    for binding in std::fs::read_dir(root.join("bindings"))? {
        let readme = binding?.path().join("README.md");
        if readme.is_file() {
            files.push(readme);
        }
    }
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            if entry.file_name() != "node_modules" {
                walk(&path, files)?;
            }
        } else {
            files.push(path);
        }
    }
    Ok(())
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root()).unwrap_or(path).display().to_string()
}

fn check_install_names() -> Result<()> {
    let files = files_with_install_lines()?;
    let mut problems = String::new();
    for file in &files {
        // binary files (images) hold no instructions
        let Ok(text) = std::fs::read_to_string(file) else { continue };
        let file_name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        for bad in foreign_installs(&file_name, &text) {
            let _ = writeln!(
                problems,
                "{}:{}: installs {:?} from {}, a name we do not own (ours: PyPI apig-sdk; npm apig-sdk, apig-wasm; \
                 crates apig, apig-cli, apig-gateway)",
                relative(file),
                bad.line,
                bad.name,
                bad.registry.name()
            );
        }
    }
    if !problems.is_empty() {
        bail!("documentation tells users to install names that are not ours:\n{problems}");
    }
    eprintln!("docs: install names: {} files checked, every name is ours", files.len());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 2. snippets

/// How a snippet is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Python,
    /// A CommonJS file (`.cjs`).
    CommonJs,
    /// An ES module (`.mjs`).
    EsModule,
    /// Type-checked by `tsc --noEmit --strict`.
    TypeScript,
}

impl Kind {
    fn extension(self) -> &'static str {
        match self {
            Self::Python => "py",
            Self::CommonJs => "cjs",
            Self::EsModule => "mjs",
            Self::TypeScript => "ts",
        }
    }
}

/// A runnable fenced block.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snippet {
    /// The line of the opening fence (from 1).
    line: usize,
    kind: Kind,
    code: String,
}

/// The kind of a block from its info string (` ```js esm `), or `None` for blocks not run: other
/// languages, and blocks marked `no-run`.
fn kind_of(info: &str) -> Option<Kind> {
    let mut words = info.split_whitespace();
    let language = words.next()?;
    let flags: Vec<&str> = words.collect();
    if flags.contains(&"no-run") {
        return None;
    }
    match language {
        "python" | "py" => Some(Kind::Python),
        "js" | "javascript" | "cjs" if flags.contains(&"esm") => Some(Kind::EsModule),
        "js" | "javascript" | "cjs" => Some(Kind::CommonJs),
        "mjs" => Some(Kind::EsModule),
        "ts" | "typescript" => Some(Kind::TypeScript),
        _ => None,
    }
}

/// The runnable fenced blocks of a Markdown text. Fences may be indented (inside a list); the
/// block's lines lose that indentation.
fn snippets(text: &str) -> Vec<Snippet> {
    let mut found = Vec::new();
    let mut open: Option<(usize, usize, String, Option<Kind>)> = None;
    let mut code = String::new();
    for (index, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim_start();
        match &open {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let fence = 3 + info.len() - info.trim_start_matches('`').len();
                    open = Some((index + 1, indent, "`".repeat(fence), kind_of(info.trim_start_matches('`'))));
                    code.clear();
                }
            }
            Some((start, fence_indent, fence, kind)) => {
                if trimmed.starts_with(fence.as_str()) && trimmed.trim_end().trim_start_matches('`').is_empty() {
                    if let Some(kind) = *kind {
                        found.push(Snippet { line: *start, kind, code: code.clone() });
                    }
                    open = None;
                } else {
                    let cut = indent.min(*fence_indent);
                    code.push_str(&line[cut..]);
                    code.push('\n');
                }
            }
        }
    }
    found
}

/// The Markdown files whose snippets run.
fn files_with_snippets() -> Result<Vec<PathBuf>> {
    let root = root();
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    for binding in ["python", "node", "wasm", "cli", "uniffi"] {
        let readme = root.join("bindings").join(binding).join("README.md");
        if readme.is_file() {
            files.push(readme);
        }
    }
    Ok(files)
}

/// Where the installed packages are, installing what is missing.
struct Packages {
    python: PathBuf,
    node_modules: Vec<(&'static str, PathBuf)>,
}

fn packages() -> Result<Packages> {
    let python = python::bin(&python::venv(), "python");
    let importable =
        |python: &Path| output(Command::new(python).args(["-c", "import apig, requests, httpx, starlette, flask"]));
    if !python.exists() || importable(&python).is_none() {
        python::setup()?;
        python::install_wheel()?;
    }
    let sdk = node::scratch().join("node_modules").join("apig-sdk");
    if !sdk.join("package.json").is_file() {
        node::install()?;
    }
    let wasm = wasm::scratch().join("node_modules").join("apig-wasm");
    if !wasm.join("package.json").is_file() {
        wasm::install()?;
    }
    let types = node::package().join("node_modules").join("@types");
    Ok(Packages { python, node_modules: vec![("apig-sdk", sdk), ("apig-wasm", wasm), ("@types", types)] })
}

/// The project the snippets are written into: `node_modules` links to the installed packages, so
/// that `require` and `import` of `apig-sdk` / `apig-wasm` resolve as in a user's project.
fn project(packages: &Packages) -> Result<PathBuf> {
    let dir = target_dir().join("docs-snippets");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir.join("node_modules"))?;
    std::fs::write(
        dir.join("package.json"),
        "{ \"name\": \"apig-docs-snippets\", \"private\": true, \"description\": \"the docs' code blocks, as files\" }\n",
    )?;
    for (name, target) in &packages.node_modules {
        std::os::unix::fs::symlink(target, dir.join("node_modules").join(name))?;
    }
    std::fs::write(
        dir.join("tsconfig.json"),
        r#"{
  "compilerOptions": {
    "strict": true, "noEmit": true, "target": "ES2022", "module": "node16", "moduleResolution": "node16",
    "esModuleInterop": true, "types": ["node"], "skipLibCheck": false
  },
  "include": ["*.ts"]
}
"#,
    )?;
    Ok(dir)
}

/// Runs `cmd` for at most [`SNIPPET_TIMEOUT`]; its combined output on failure.
fn run_bounded(cmd: &mut Command) -> Result<(), String> {
    let mut child =
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().map_err(|e| e.to_string())?;
    let deadline = Instant::now() + SNIPPET_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("still running after {} s", SNIPPET_TIMEOUT.as_secs()));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{}\n{}{}", out.status, String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    }
}

fn run_snippets() -> Result<()> {
    let packages = packages()?;
    let dir = project(&packages)?;
    let gateway = crate::gateway::binary()?;
    let port = free_port()?;
    let _gateway = spawn(
        "apig-gateway (demo)",
        Command::new(gateway)
            .args(["--access-log", "off", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(Stdio::null()),
        port,
    )?;
    let origin = format!("http://127.0.0.1:{port}");

    let (mut ran, mut failures, mut typescript) = (0, String::new(), Vec::new());
    for file in files_with_snippets()? {
        let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
        let stem = relative(&file).replace(['/', '.'], "_");
        for snippet in snippets(&text) {
            let name = format!("{stem}_L{}.{}", snippet.line, snippet.kind.extension());
            std::fs::write(dir.join(&name), snippet.code.replace(EXAMPLE_ORIGIN, &origin))?;
            let place = format!("{}:{} ({})", relative(&file), snippet.line, name);
            let result = match snippet.kind {
                Kind::Python => run_bounded(Command::new(&packages.python).arg(&name).current_dir(&dir)),
                Kind::CommonJs | Kind::EsModule => run_bounded(
                    Command::new("node")
                        .arg(&name)
                        .current_dir(&dir)
                        .env("NODE_PATH", node::package().join("node_modules")),
                ),
                Kind::TypeScript => {
                    typescript.push(place);
                    continue;
                }
            };
            ran += 1;
            if let Err(why) = result {
                let _ = writeln!(failures, "--- {place}: {why}");
            } else {
                eprintln!("docs: ok   {place}");
            }
        }
    }
    if !typescript.is_empty() {
        let tsc = node::package().join("node_modules").join(".bin").join("tsc");
        ran += typescript.len();
        match run_bounded(Command::new(tsc).args(["--noEmit", "-p", "tsconfig.json"]).current_dir(&dir)) {
            Ok(()) => typescript.iter().for_each(|place| eprintln!("docs: ok   {place} (tsc --strict)")),
            Err(why) => {
                let _ = writeln!(failures, "--- tsc --noEmit --strict on {}: {why}", typescript.join(", "));
            }
        }
    }
    if !failures.is_empty() {
        let count = failures.matches("\n--- ").count() + 1;
        bail!("{failures}docs: {ran} snippets run, {count} failed (files in {})", dir.display());
    }
    eprintln!("docs: {ran} snippets run, 0 failed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_install_names_are_found_with_their_lines() {
        let sample = "\
pip install apig
pip install \"apig[requests]\"
python -m pip install -U apig==0.1.0
uv pip install apig_sdk2
npm install apig
npm i apig
npm install --save apig@1.2.3
run `yarn add apig` then
pnpm add apig
cargo install apig-gateway-ref
npm install apig-sdk apig && echo done
";
        let found = foreign_installs("README.md", sample);
        assert_eq!(
            found.iter().map(|f| (f.line, f.name.as_str())).collect::<Vec<_>>(),
            [
                (1, "apig"),
                (2, "apig"),
                (3, "apig"),
                (4, "apig-sdk2"),
                (5, "apig"),
                (6, "apig"),
                (7, "apig"),
                (8, "apig"),
                (9, "apig"),
                (10, "apig-gateway-ref"),
                (11, "apig"),
            ]
        );
    }

    #[test]
    fn our_names_paths_and_other_tools_pass() {
        let sample = "\
pip install apig-sdk
pip install \"apig-sdk[requests]\" 'apig_sdk[httpx]'
pip install target/wheels-python/apig_sdk-0.1.0-cp310-abi3-manylinux_2_34_x86_64.whl
pip install -r requirements.txt maturin
npm install apig-sdk apig-wasm
npm install ./apig-sdk-0.1.0.tgz /path/to/apig-wasm-0.1.0.tgz
cargo install --path bindings/cli
cargo install apig-cli apig-gateway wasm-bindgen-cli
cargo add apig
the apig binary; `apig request GET url`; import apig
once `cargo install --path bindings/cli` has put `apig` on PATH
";
        assert_eq!(foreign_installs("README.md", sample), []);
    }

    #[test]
    fn dependency_files_are_read_too() {
        let requirements = "# deps\napig-sdk[requests]==0.1.0\napig>=1  # not ours\nrequests\n";
        let found = foreign_installs("requirements-dev.txt", requirements);
        assert_eq!(found.iter().map(|f| (f.line, f.name.as_str())).collect::<Vec<_>>(), [(3, "apig")]);
        let package = "{\n  \"name\": \"example\",\n  \"dependencies\": {\n    \"apig-sdk\": \"^0.1.0\",\n    \"apig\": \"^1\"\n  }\n}\n";
        let found = foreign_installs("package.json", package);
        assert_eq!(found.iter().map(|f| (f.line, f.name.as_str())).collect::<Vec<_>>(), [(5, "apig")]);
    }

    #[test]
    fn fenced_blocks_by_info_string() {
        let text = "\
# t
```python
print(1)
```
```js no-run
broken(
```
```js
require('x')
```
```js esm
import x from 'x'
```
````ts
let a: number = 1
````
```sh
pip install apig-sdk
```
* a list:

  ```python
  if True:
      pass
  ```
";
        let found = snippets(text);
        let summary: Vec<(usize, Kind, &str)> = found.iter().map(|s| (s.line, s.kind, s.code.as_str())).collect();
        assert_eq!(
            summary,
            [
                (2, Kind::Python, "print(1)\n"),
                (8, Kind::CommonJs, "require('x')\n"),
                (11, Kind::EsModule, "import x from 'x'\n"),
                (14, Kind::TypeScript, "let a: number = 1\n"),
                (22, Kind::Python, "if True:\n    pass\n"),
            ]
        );
    }
}
