//! Kotlin and Swift through uniffi (`bindings/uniffi`).
//!
//! The library is `cargo build --release -p apig-uniffi`; the foreign sources come from the workspace's
//! pinned `uniffi-bindgen` (`-p apig-uniffi-bindgen`) in `--library` mode. Kotlin is compiled with the
//! `kotlinc` of the npm package `kotlin-compiler` (pinned in `bindings/uniffi/kotlin/tooling`) against
//! Debian's JNA and run on the JVM. Swift is generated and checked, not run: no Swift toolchain here.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::server::{free_port, spawn};
use crate::util::{Target, cargo, debug_executable, ensure_apt, output, root, run, target_dir, vector_files};

/// Debian's `libjna-java` jar: the JNA the generated Kotlin calls the library through.
pub(crate) const JNA_JAR: &str = "/usr/share/java/jna.jar";

/// Debian's `libokhttp-java` (3.13) and the okio it needs: the OkHttp the shipped interceptor
/// (`bindings/uniffi/kotlin/lib`) is compiled against and tested with (the jar does not bundle it).
pub(crate) const OKHTTP_JARS: [&str; 2] = ["/usr/share/java/okhttp.jar", "/usr/share/java/okio.jar"];

/// The class path the Kotlin is compiled against: JNA and OkHttp.
pub(crate) fn compile_classpath() -> Result<std::ffi::OsString> {
    Ok(std::env::join_paths(std::iter::once(JNA_JAR).chain(OKHTTP_JARS))?)
}

/// The hand-written Kotlin shipped with the generated bindings, under its package's folders.
pub(crate) const LIBRARY_DIR: &str = "bindings/uniffi/kotlin/lib";

/// The files of [`LIBRARY_DIR`]: the OkHttp interceptor (package `apig.okhttp`).
pub(crate) fn library_sources() -> Result<Vec<PathBuf>> {
    kotlin_files(&root().join(LIBRARY_DIR).join("apig/okhttp"))
}

fn tooling_dir() -> PathBuf {
    root().join("bindings/uniffi/kotlin/tooling")
}

/// The pinned `kotlinc` (installed by [`setup`]).
pub(crate) fn kotlinc() -> PathBuf {
    tooling_dir().join("node_modules/kotlin-compiler/bin/kotlinc")
}

/// JNA, Java 17 and the pinned kotlinc (`npm ci`, skipped when the lockfile's install is in place).
pub(crate) fn setup() -> Result<()> {
    ensure_apt(&["libjna-java", "libokhttp-java"])?;
    let java = Command::new("java").arg("-version").output().ok();
    let java_version = java.map(|o| String::from_utf8_lossy(&o.stderr).into_owned()).unwrap_or_default();
    if !java_version.contains("version \"17") && !java_version.contains("version \"2") {
        ensure_apt(&["openjdk-17-jdk-headless"])?;
    }
    if output(Command::new("npm").arg("--version")).is_none() {
        ensure_apt(&["npm"])?;
    }
    let tooling = tooling_dir();
    let installed = tooling.join("node_modules/.package-lock.json");
    let fresh = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if !kotlinc().exists() || fresh(&installed) < fresh(&tooling.join("package-lock.json")) {
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&tooling))?;
    }
    Ok(())
}

/// Builds `libapig_uniffi.so` (release) and returns its path.
fn build_library() -> Result<PathBuf> {
    run(cargo().args(["build", "--release", "-p", "apig-uniffi"]))?;
    let lib = target_dir().join("release").join(format!(
        "{}apig_uniffi{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    if !lib.is_file() {
        bail!("{} was not built", lib.display());
    }
    Ok(lib)
}

/// Generates the `language` sources for `lib` into a fresh `<target>/uniffi-bindings/<folder>`, with
/// the `--config` file `config` if given (else the crate's `uniffi.toml` alone).
fn generate(lib: &Path, language: &str, folder: &str, config: Option<&Path>) -> Result<PathBuf> {
    let out = target_dir().join("uniffi-bindings").join(folder);
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("cannot clear {}", out.display()))?;
    }
    let bindgen = debug_executable("apig-uniffi-bindgen", Target::Bin("uniffi-bindgen"))?;
    run(Command::new(bindgen)
        .args(["generate", "--no-format"])
        .args(config.map(|c| [Path::new("--config"), c]).into_iter().flatten())
        .arg("--library")
        .arg(lib)
        .args(["--language", language, "--out-dir"])
        .arg(&out))?;
    Ok(out)
}

/// A generated file that must exist and be non-empty.
fn non_empty(path: PathBuf) -> Result<PathBuf> {
    let len = std::fs::metadata(&path).with_context(|| format!("{} was not generated", path.display()))?.len();
    if len == 0 {
        bail!("{} is empty", path.display());
    }
    Ok(path)
}

/// The library and the generated Kotlin source.
fn kotlin_bindings() -> Result<(PathBuf, PathBuf)> {
    let lib = build_library()?;
    let source = non_empty(generate(&lib, "kotlin", "kotlin", None)?.join("apig/apig_uniffi.kt"))?;
    Ok((lib, source))
}

/// The JVM Kotlin source generated from `lib` (any target's build: the bindgen only reads its
/// metadata) into `<target>/uniffi-bindings/<folder>`, for the release jar.
pub(crate) fn jvm_source(lib: &Path, folder: &str) -> Result<PathBuf> {
    non_empty(generate(lib, "kotlin", folder, None)?.join("apig/apig_uniffi.kt"))
}

/// The Android flavour of the Kotlin source (`bindings/uniffi/android.toml`, as docs/mobile.md
/// generates it), checked for the package and Android's cleaner; compiling it needs the Android SDK.
fn android_bindings(lib: &Path) -> Result<PathBuf> {
    let config = root().join("bindings/uniffi/android.toml");
    let source = non_empty(generate(lib, "kotlin", "kotlin-android", Some(&config))?.join("apig/apig_uniffi.kt"))?;
    let text = std::fs::read_to_string(&source)?;
    if !text.contains("package apig") || !text.contains("android.system.SystemCleaner") {
        bail!("{} is not the Android flavour of package apig", source.display());
    }
    Ok(source)
}

pub(crate) fn build_kotlin() -> Result<()> {
    let (lib, source) = kotlin_bindings()?;
    let android = android_bindings(&lib)?;
    eprintln!(
        "kotlin (JVM): {}\nkotlin (Android): {}\nlibrary: {}",
        source.display(),
        android.display(),
        lib.display()
    );
    Ok(())
}

/// Generates `Apig.swift`, `ApigFFI.h` and `ApigFFI.modulemap` and checks them without a Swift
/// toolchain: each is non-empty, the module map names the header, the Swift API has the expected
/// types, the header compiles as C, and every function it declares is exported by the library.
pub(crate) fn build_swift() -> Result<()> {
    let lib = build_library()?;
    let out = generate(&lib, "swift", "swift", None)?;
    let swift = non_empty(out.join("Apig.swift"))?;
    let header = non_empty(out.join("ApigFFI.h"))?;
    let modulemap = non_empty(out.join("ApigFFI.modulemap"))?;
    let map = std::fs::read_to_string(&modulemap)?;
    if !map.contains("module ApigFFI") || !map.contains("header \"ApigFFI.h\"") {
        bail!("{} does not declare module ApigFFI with header ApigFFI.h:\n{map}", modulemap.display());
    }
    let api = std::fs::read_to_string(&swift)?;
    for needle in ["import ApigFFI", "class Signer", "class Verifier", "enum ApigError", "func code()"] {
        if !api.contains(needle) {
            bail!("{} lacks `{needle}`", swift.display());
        }
    }
    // gcc has no clang nullability qualifiers; they carry no meaning for a syntax check
    let probe = out.join("header-check.c");
    std::fs::write(&probe, "#include \"ApigFFI.h\"\nint main(void) { return 0; }\n")?;
    run(Command::new("cc")
        .args(["-fsyntax-only", "-Wall", "-Werror", "-D_Nonnull=", "-D_Nullable=", "-I"])
        .arg(&out)
        .arg(&probe))?;
    std::fs::remove_file(&probe)?;
    let exported = output(Command::new("nm").args(["-D", "--defined-only"]).arg(&lib))
        .with_context(|| format!("nm cannot read {}", lib.display()))?;
    let exported: std::collections::HashSet<&str> =
        exported.lines().filter_map(|l| l.split_whitespace().nth(2)).collect();
    let declared = declared_functions(&std::fs::read_to_string(&header)?);
    if declared.is_empty() {
        bail!("{} declares no apig_uniffi function", header.display());
    }
    let missing: Vec<&String> = declared.iter().filter(|f| !exported.contains(f.as_str())).collect();
    if !missing.is_empty() {
        bail!("{} declares functions the library does not export: {missing:?}", header.display());
    }
    eprintln!(
        "swift: {} functions declared and exported; {}, {}, {} (generated and checked; no Swift toolchain here to run them)",
        declared.len(),
        swift.display(),
        header.display(),
        modulemap.display()
    );
    Ok(())
}

/// The names of the `*apig_uniffi_*` functions a C header declares (`name(` on a line).
fn declared_functions(header: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in header.lines() {
        let Some(open) = line.find('(') else { continue };
        let before = line[..open].trim_end();
        let start = before.rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
        let name = &before[start..];
        if name.contains("apig_uniffi_") && !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    names
}

/// Every `.kt` file directly in `dir`, sorted.
fn kotlin_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "kt"))
        .collect();
    files.sort();
    Ok(files)
}

/// Compiles the generated bindings, the tests, the conformance runner and the example into one jar;
/// reuses the jar when no input changed (kotlinc is slow to start).
fn compile_jar(generated: &Path) -> Result<PathBuf> {
    if !kotlinc().exists() {
        bail!("{} is missing: run `cargo xtask setup kotlin`", kotlinc().display());
    }
    let mut sources = vec![generated.to_path_buf()];
    sources.extend(library_sources()?);
    sources.extend(kotlin_files(&root().join("bindings/uniffi/kotlin/src"))?);
    sources.extend(kotlin_files(&root().join("examples/kotlin"))?);
    let mut hasher = DefaultHasher::new();
    for source in &sources {
        source.hash(&mut hasher);
        std::fs::read(source).with_context(|| format!("cannot read {}", source.display()))?.hash(&mut hasher);
    }
    std::fs::read(tooling_dir().join("package-lock.json"))?.hash(&mut hasher);
    let fingerprint = format!("{:016x}", hasher.finish());

    let dir = target_dir().join("kotlin");
    std::fs::create_dir_all(&dir)?;
    let jar = dir.join("apig-kotlin.jar");
    let stamp = dir.join("apig-kotlin.jar.inputs");
    if jar.is_file() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == fingerprint) {
        eprintln!("kotlin: {} is up to date", jar.display());
        return Ok(jar);
    }
    run(Command::new(kotlinc())
        .args(["-include-runtime", "-jvm-target", "17", "-Werror", "-cp"])
        .arg(compile_classpath()?)
        .arg("-d")
        .arg(&jar)
        .args(&sources))?;
    std::fs::write(&stamp, fingerprint)?;
    Ok(jar)
}

/// Runs `main_class` from `jar` on the JVM with JNA and the library's folder on the JNA path.
fn run_jvm(jar: &Path, lib: &Path, main_class: &str, args: &[PathBuf]) -> Result<()> {
    run(&mut jvm(jar, lib, main_class, args)?)
}

/// The `java` command of [`run_jvm`] (JNA and OkHttp on the class path).
fn jvm(jar: &Path, lib: &Path, main_class: &str, args: &[PathBuf]) -> Result<Command> {
    let lib_dir = lib.parent().context("the library has no folder")?;
    let classpath = std::env::join_paths([jar, Path::new(JNA_JAR)].into_iter().chain(OKHTTP_JARS.map(Path::new)))?;
    let mut java = Command::new("java");
    java.arg(format!("-Djna.library.path={}", lib_dir.display())).arg("-cp").arg(classpath).arg(main_class).args(args);
    Ok(java)
}

/// The Swift generation check, then the Kotlin tests and the example on the JVM (the binding's
/// Rust unit tests and its bindgen's are `cargo xtask test rust`'s).
pub(crate) fn test() -> Result<()> {
    build_swift()?;
    let (lib, source) = kotlin_bindings()?;
    android_bindings(&lib)?;
    let jar = compile_jar(&source)?;
    run_jvm(&jar, &lib, "apig.tests.BindingTestKt", &[])?;
    credentials_test(&jar, &lib)?;
    run_jvm(&jar, &lib, "apig.examples.SignAndSendKt", &[])
}

/// The apps of the gateway the credentials test signs for: the static keys and the temporary ones
/// its metadata server issues (`CredentialsTest.kt`).
const GATEWAY_APPS: [(&str, &str); 5] = [
    ("static-ak", "static-sk"),
    ("env-ak", "env-secret"),
    ("tmp-ak-1", "tmp-sk-1"),
    ("tmp-ak-2", "tmp-sk-2"),
    ("tmp-ak-3", "tmp-sk-3"),
];

/// `CredentialsTest.kt` and the example `OkHttpInterceptor.kt`: the providers (the environment one
/// reads the variables set here) and the OkHttp interceptor against a running `apig-gateway` (an
/// echo API at `/demo/echo`).
fn credentials_test(jar: &Path, lib: &Path) -> Result<()> {
    let gateway_bin = crate::gateway::binary()?;
    let apps: Vec<String> = GATEWAY_APPS
        .iter()
        .map(|(key, secret)| format!(r#"{{ "id": "{key}", "key": "{key}", "secret": "{secret}" }}"#))
        .collect();
    let authorizations: Vec<String> =
        GATEWAY_APPS.iter().map(|(key, _)| format!(r#"{{ "app": "{key}", "api": "echo" }}"#)).collect();
    let config = format!(
        r#"{{
  "gateway": {{ "error_prefix": "APIG" }},
  "groups": [{{ "id": "kotlin", "name": "Kotlin credentials test", "domains": [],
    "apis": [{{ "id": "echo", "method": "ANY", "path": "/demo/echo", "auth": "app", "backend": {{ "url": "echo:" }} }}] }}],
  "environments": [{{ "name": "RELEASE", "published": ["echo"] }}],
  "apps": [{}],
  "authorizations": [{}]
}}"#,
        apps.join(", "),
        authorizations.join(", ")
    );
    let dir = target_dir().join("kotlin");
    std::fs::create_dir_all(&dir)?;
    let config_file = dir.join("credentials-gateway.json");
    std::fs::write(&config_file, config)?;
    let port = free_port()?;
    let _gateway = spawn(
        "apig-gateway",
        Command::new(&gateway_bin).arg("--config").arg(&config_file).args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--access-log",
            "off",
        ]),
        port,
    )?;
    let base = [PathBuf::from(format!("http://127.0.0.1:{port}"))];
    for main_class in ["apig.tests.CredentialsTestKt", "apig.examples.OkHttpInterceptorKt"] {
        let mut java = jvm(jar, lib, main_class, &base)?;
        java.env("HUAWEICLOUD_SDK_AK", "env-ak")
            .env("HUAWEICLOUD_SDK_SK", "env-secret")
            .env("HUAWEICLOUD_SDK_SECURITY_TOKEN", "env-token")
            .env("HUAWEICLOUD_SDK_PROJECT_ID", "env-project")
            .env_remove("HUAWEICLOUD_SDK_DOMAIN_ID")
            .env_remove("HUAWEICLOUD_SDK_CREDENTIALS_FILE");
        run(&mut java)?;
    }
    Ok(())
}

/// The conformance vectors through the generated Kotlin (`N passed, M failed`).
pub(crate) fn conformance(files: &[PathBuf]) -> Result<()> {
    let files = vector_files(files)?;
    let (lib, source) = kotlin_bindings()?;
    let jar = compile_jar(&source)?;
    run_jvm(&jar, &lib, "apig.tests.ConformanceKt", &files)
}
