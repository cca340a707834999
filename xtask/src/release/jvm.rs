//! Release: the JVM jar `dist/jvm/apig-<version>.jar`, used as `java -cp apig-<version>.jar:jna.jar`.
//!
//! The jar holds the generated Kotlin bindings compiled for Java 17, the Kotlin standard library
//! they call (so the class path is this jar and JNA, nothing more), and `libapig_uniffi.so` for
//! linux-x86-64 and linux-aarch64 under JNA's resource prefixes: the generated code asks JNA for
//! `apig_uniffi`, and JNA extracts `<prefix>/libapig_uniffi.so` from the class path with no
//! `jna.library.path`. Both libraries are linked by zig (`cargo zigbuild`, [`super::tools`]) against
//! glibc 2.17, so the jar runs on old distributions too (CentOS 7, EulerOS 2, Amazon Linux 2).
//! The hand-written OkHttp interceptor (`bindings/uniffi/kotlin/lib`) is compiled into the jar
//! against Debian's OkHttp, which the jar does not bundle. `apig-<version>-sources.jar` next to it
//! holds the generated Kotlin source and the interceptor's. `--native`: only the
//! linux-x86-64 library.
//!
//! Verify: in a temporary folder with only the jar and Debian's `jna.jar`, a Java program compiled
//! against the jar signs a request and sends it to the demo gateway, run with `java -cp` alone (no
//! `LD_LIBRARY_PATH`, nothing that names the workspace); each library in the jar is checked as an
//! ELF shared object of its architecture needing no glibc symbol newer than 2.17.

use std::collections::BTreeSet;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use super::verify::{DEMO_KEY, DEMO_SECRET, TempDir, glibc_too_new};
use super::{Artifact, DemoGateway, Release, Report, fresh_dir, tools};
use crate::kotlin::{self, JNA_JAR};
use crate::util::{ensure_rustup_target, output, root, run, target_dir};

/// The newest glibc the libraries may need (manylinux2014's, CentOS 7's).
const GLIBC: (u32, u32) = (2, 17);

/// [`GLIBC`] as `2.17`.
fn glibc() -> String {
    format!("{}.{}", GLIBC.0, GLIBC.1)
}

/// The hand-written Kotlin in the sources jar (`bindings/uniffi/kotlin/lib`, compiled into the jar).
const SHIPPED_SOURCE: &str = "apig/okhttp/ApigInterceptor.kt";

/// The library file the generated Kotlin asks JNA for (`cdylib_name` in `bindings/uniffi/uniffi.toml`).
const LIBRARY: &str = "libapig_uniffi.so";

/// One platform the jar carries a library for.
struct Platform {
    /// The Rust target (`cargo-zigbuild` appends `.<glibc>`).
    target: &'static str,
    /// JNA's resource prefix for the platform (`com.sun.jna.Platform.RESOURCE_PREFIX`).
    jna: &'static str,
    /// The `Machine:` of `readelf -h`.
    machine: &'static str,
    /// Whether this machine runs it (x86_64 Linux).
    native: bool,
}

const PLATFORMS: [Platform; 2] = [
    Platform {
        target: "x86_64-unknown-linux-gnu",
        jna: "linux-x86-64",
        machine: "Advanced Micro Devices X86-64",
        native: true,
    },
    Platform { target: "aarch64-unknown-linux-gnu", jna: "linux-aarch64", machine: "AArch64", native: false },
];

fn platforms(release: &Release) -> impl Iterator<Item = &'static Platform> {
    let native_only = release.native_only;
    PLATFORMS.iter().filter(move |p| p.native || !native_only)
}

fn jar_name(release: &Release) -> String {
    format!("apig-{}.jar", release.version)
}

fn jar_path(release: &Release) -> PathBuf {
    release.dist.join("jvm").join(jar_name(release))
}

pub(crate) fn build(release: &Release) -> Result<Vec<Artifact>> {
    kotlin::setup()?;
    let libraries = build_libraries(release)?;
    // the bindgen reads uniffi's metadata from the symbol table, which zig's linker leaves out of
    // the shared library; the static library of the same build has it
    let staticlib = target_dir().join(PLATFORMS[0].target).join("release/libapig_uniffi.a");
    let source = kotlin::jvm_source(&staticlib, "kotlin-release")?;

    let work = target_dir().join("release-jvm");
    let tree = work.join("jar");
    fresh_dir(&tree)?;
    let compiled = compile(&source, &work)?;
    run(Command::new("jar").arg("--extract").arg("--file").arg(&compiled).current_dir(&tree))?;
    // a class-path library: kotlinc's manifest is replaced, and the standard library's module
    // descriptor would make the jar claim to be `kotlin.stdlib` on a module path
    std::fs::remove_file(tree.join("META-INF/MANIFEST.MF"))?;
    for descriptor in ["module-info.class", "META-INF/versions/9/module-info.class"] {
        let _ = std::fs::remove_file(tree.join(descriptor));
    }
    for (platform, library) in &libraries {
        let folder = tree.join(platform.jna);
        std::fs::create_dir_all(&folder)?;
        std::fs::copy(library, folder.join(LIBRARY)).with_context(|| format!("cannot copy {}", library.display()))?;
    }
    for licence in ["LICENSE-MIT", "LICENSE-APACHE"] {
        let file = root().join(licence);
        if file.is_file() {
            std::fs::copy(&file, tree.join("META-INF").join(licence))?;
        }
    }
    // the bundled Kotlin standard library is Apache-2.0: its licence and notice go with it
    let kotlin_licences =
        kotlin::kotlinc().parent().and_then(Path::parent).context("kotlinc has no folder")?.join("license");
    std::fs::create_dir_all(tree.join("META-INF/kotlin"))?;
    for file in ["LICENSE.txt", "NOTICE.txt"] {
        std::fs::copy(kotlin_licences.join(file), tree.join("META-INF/kotlin").join(file))
            .with_context(|| format!("cannot copy the Kotlin {file} from {}", kotlin_licences.display()))?;
    }
    let manifest = work.join("MANIFEST.MF");
    std::fs::write(
        &manifest,
        format!(
            "Implementation-Title: apig\nImplementation-Version: {}\nImplementation-Vendor: apig developers\n",
            release.version
        ),
    )?;

    let out = release.dist.join("jvm");
    fresh_dir(&out)?;
    let jar = jar_path(release);
    run(Command::new("jar")
        .arg("--create")
        .arg("--file")
        .arg(&jar)
        .arg("--manifest")
        .arg(&manifest)
        .arg("-C")
        .arg(&tree)
        .arg("."))?;
    let sources = out.join(format!("apig-{}-sources.jar", release.version));
    let generated = source.parent().and_then(Path::parent).context("the generated source has no folder")?;
    run(Command::new("jar")
        .arg("--create")
        .arg("--file")
        .arg(&sources)
        .arg("-C")
        .arg(generated)
        .arg("apig/apig_uniffi.kt")
        .arg("-C")
        .arg(root().join(kotlin::LIBRARY_DIR))
        .arg(SHIPPED_SOURCE))?;
    Ok(vec![Artifact { path: jar }, Artifact { path: sources }])
}

/// `kotlinc` of the generated source, with the Kotlin standard library (not kotlin-reflect: the
/// bindings do not use it), into `<work>/compiled.jar`; reused while the source and the compiler's
/// lockfile are unchanged (kotlinc takes most of a cached run).
fn compile(source: &Path, work: &Path) -> Result<PathBuf> {
    let mut hasher = DefaultHasher::new();
    let library = kotlin::library_sources()?;
    for file in std::iter::once(source).chain(library.iter().map(PathBuf::as_path)) {
        std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?.hash(&mut hasher);
    }
    let lockfile = root().join("bindings/uniffi/kotlin/tooling/package-lock.json");
    std::fs::read(&lockfile).with_context(|| format!("cannot read {}", lockfile.display()))?.hash(&mut hasher);
    let fingerprint = format!("{:016x}", hasher.finish());
    let compiled = work.join("compiled.jar");
    let stamp = work.join("compiled.jar.inputs");
    if compiled.is_file() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == fingerprint) {
        eprintln!("jvm: {} is up to date", compiled.display());
        return Ok(compiled);
    }
    let _ = std::fs::remove_file(&stamp);
    run(Command::new(kotlin::kotlinc())
        .args(["-include-runtime", "-no-reflect", "-jvm-target", "17", "-Werror", "-cp"])
        .arg(kotlin::compile_classpath()?)
        .arg("-d")
        .arg(&compiled)
        .arg(source)
        .args(&library))?;
    std::fs::write(&stamp, fingerprint)?;
    Ok(compiled)
}

/// `cargo zigbuild --release -p apig-uniffi --target <target>.2.17 …` for every platform at once
/// (one cargo run: the build's own dependencies compile once); returns each shared library.
fn build_libraries(release: &Release) -> Result<Vec<(&'static Platform, PathBuf)>> {
    let mut zigbuild = tools::cargo_zigbuild()?;
    zigbuild.args(["--release", "-p", "apig-uniffi"]);
    for platform in platforms(release) {
        ensure_rustup_target(platform.target)?;
        zigbuild.arg("--target").arg(format!("{}.{}", platform.target, glibc()));
    }
    run(&mut zigbuild)?;
    platforms(release)
        .map(|platform| {
            let library = target_dir().join(platform.target).join("release").join(LIBRARY);
            if !library.is_file() {
                bail!("{} was not built", library.display());
            }
            Ok((platform, library))
        })
        .collect()
}

pub(crate) fn verify(release: &Release, gateway: &DemoGateway, report: &mut Report) -> Result<()> {
    let jar = jar_path(release);
    if !jar.is_file() {
        bail!("{} is missing (built by `cargo xtask release --only jvm`)", jar.display());
    }
    let name = jar_name(release);
    // only the jar and JNA, as a user has them
    let dir = TempDir::new("jvm")?;
    std::fs::copy(&jar, dir.0.join(&name))?;
    std::fs::copy(JNA_JAR, dir.0.join("jna.jar")).with_context(|| format!("cannot copy {JNA_JAR}"))?;

    let libraries: Vec<String> = platforms(release).map(|p| format!("{}/{LIBRARY}", p.jna)).collect();
    report.check(&format!("jvm {name}: classes, Kotlin stdlib, {}", libraries.join(", ")), || {
        contents(&dir.0.join(&name), &libraries)
    });
    for platform in platforms(release) {
        let arch = platform.target.split('-').next().unwrap_or(platform.target);
        let not_run = if platform.native {
            String::new()
        } else {
            let qemu = if output(Command::new("qemu-aarch64-static").arg("--version")).is_some() {
                "qemu-aarch64-static is here, but"
            } else {
                "no qemu-aarch64-static and"
            };
            format!("; not run: {qemu} no aarch64 JVM here")
        };
        report.check(
            &format!("jvm {name} {}/{LIBRARY}: ELF {arch} shared object, glibc <= {}{not_run}", platform.jna, glibc()),
            || check_library(&dir.0, &name, platform),
        );
    }
    let sources = format!("apig-{}-sources.jar", release.version);
    report.check(
        &format!("jvm {sources}: the generated apig/apig_uniffi.kt and {SHIPPED_SOURCE}, nothing else"),
        || {
            let file = release.dist.join("jvm").join(&sources);
            let listing = output(Command::new("jar").arg("--list").arg("--file").arg(&file))
                .with_context(|| format!("`jar --list` cannot read {}", file.display()))?;
            let files: Vec<&str> =
                listing.lines().map(str::trim).filter(|e| !e.ends_with('/') && !e.starts_with("META-INF/")).collect();
            if files != ["apig/apig_uniffi.kt", SHIPPED_SOURCE] {
                bail!("{} holds {files:?}, expected only apig/apig_uniffi.kt and {SHIPPED_SOURCE}", file.display());
            }
            Ok(())
        },
    );
    report.check(
        &format!(
            "jvm {name}: Java program signs with `java -cp {name}:jna.jar:.`, JNA loads linux-x86-64 from the jar, demo gateway 200"
        ),
        || sign_and_send(&dir.0, &name, &gateway.echo("?from=jvm")),
    );
    Ok(())
}

/// The jar lists the Kotlin API, the Kotlin standard library and each library, and no module descriptor.
fn contents(jar: &Path, libraries: &[String]) -> Result<()> {
    let listing = output(Command::new("jar").arg("--list").arg("--file").arg(jar))
        .with_context(|| format!("`jar --list` cannot read {}", jar.display()))?;
    let entries: BTreeSet<&str> = listing.lines().map(str::trim).collect();
    let mut wanted = vec![
        "apig/Signer.class",
        "apig/Request.class",
        "apig/Verifier.class",
        "apig/okhttp/ApigInterceptor.class",
        "kotlin/Unit.class",
        "META-INF/kotlin/LICENSE.txt",
    ];
    wanted.extend(libraries.iter().map(String::as_str));
    let missing: Vec<&str> = wanted.into_iter().filter(|e| !entries.contains(e)).collect();
    if !missing.is_empty() {
        bail!("{} lacks {missing:?}", jar.display());
    }
    let natives: Vec<&&str> = entries.iter().filter(|e| e.ends_with(".so")).collect();
    if natives.len() != libraries.len() {
        bail!("{} holds native libraries {natives:?}, expected {libraries:?}", jar.display());
    }
    if let Some(descriptor) = entries.iter().find(|e| e.ends_with("module-info.class")) {
        bail!("{} has a module descriptor {descriptor} (the bundled stdlib's)", jar.display());
    }
    Ok(())
}

/// Extracts `platform`'s library from the jar in `dir` and checks it with `readelf`: a shared
/// object for the platform's machine, exporting uniffi's functions, needing glibc <= [`GLIBC`].
fn check_library(dir: &Path, jar: &str, platform: &Platform) -> Result<()> {
    let entry = format!("{}/{LIBRARY}", platform.jna);
    let extract = dir.join(format!("extract-{}", platform.jna));
    std::fs::create_dir_all(&extract)?;
    run(Command::new("jar").arg("--extract").arg("--file").arg(dir.join(jar)).arg(&entry).current_dir(&extract))?;
    let library = extract.join(&entry);
    let readelf = |args: &[&str]| {
        output(Command::new("readelf").args(args).arg(&library))
            .with_context(|| format!("readelf {} cannot read {entry}", args.join(" ")))
    };
    let header = readelf(&["-h", "-W"])?;
    let field = |name: &str| header.lines().find_map(|l| l.trim().strip_prefix(name)).map(str::trim);
    if !field("Type:").is_some_and(|t| t.starts_with("DYN")) {
        bail!("{entry} is not a shared object: Type {:?}", field("Type:"));
    }
    if field("Machine:") != Some(platform.machine) {
        bail!("{entry} is for {:?}, not {}", field("Machine:"), platform.machine);
    }
    let symbols = readelf(&["--dyn-syms", "-W"])?;
    if !symbols.contains("ffi_apig_uniffi_uniffi_contract_version") {
        bail!("{entry} does not export uniffi's ffi_apig_uniffi_uniffi_contract_version");
    }
    let too_new = glibc_too_new(&library, Some(GLIBC))?;
    if !too_new.is_empty() {
        bail!("{entry} needs glibc symbols newer than {}: {}", glibc(), too_new.join(", "));
    }
    Ok(())
}

/// The Java program: the Kotlin API called from Java, a request signed with the demo key and sent
/// with `java.net.http.HttpClient`; then proof that the library came out of the jar.
const PROGRAM: &str = r#"import apig.Header;
import apig.Request;
import apig.SignedRequest;
import apig.Signer;
import com.sun.jna.Library;
import com.sun.jna.NativeLibrary;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

public class SignAndSend {
    static void check(boolean ok, String what) {
        if (!ok) {
            System.err.println("SignAndSend: " + what);
            System.exit(1);
        }
    }

    public static void main(String[] args) throws Exception {
        String url = args[0], key = args[1], secret = args[2];
        // on stdin: an argument would put it in the sun.java.command property
        String workspace = new String(System.in.readAllBytes(), StandardCharsets.UTF_8).trim();
        check(!workspace.isEmpty(), "no workspace path on stdin");
        // nothing may point JNA at the library but the jar on the class path
        check(System.getProperty("jna.library.path") == null, "jna.library.path is set");
        check(System.getenv("LD_LIBRARY_PATH") == null, "LD_LIBRARY_PATH is set");
        for (Map.Entry<String, String> e : System.getenv().entrySet()) {
            check(!e.getValue().contains(workspace), "the environment variable " + e.getKey() + " names the workspace");
        }
        for (Map.Entry<Object, Object> e : System.getProperties().entrySet()) {
            check(!String.valueOf(e.getValue()).contains(workspace), "the system property " + e.getKey() + " names the workspace");
        }

        byte[] body = "{\"from\":\"jvm\"}".getBytes(StandardCharsets.UTF_8);
        Request request = new Request("POST", url, List.of(new Header("Content-Type", "application/json")), body, false);
        SignedRequest signed;
        try (Signer signer = new Signer(key, secret, null, null, null, null)) {
            signed = signer.sign(request, null);
        }
        HttpRequest.Builder http = HttpRequest.newBuilder(URI.create(url))
            .timeout(Duration.ofSeconds(10))
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        List<Header> headers = new ArrayList<>(request.getHeaders());
        headers.addAll(signed.getHeaders());
        for (Header h : headers) {
            if (!h.getName().equalsIgnoreCase("Host")) http.header(h.getName(), h.getValue()); // HttpClient sets Host
        }
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        HttpResponse<String> response = client.send(http.build(), HttpResponse.BodyHandlers.ofString());
        check(response.statusCode() == 200, "the gateway answered " + response.statusCode() + ": " + response.body());

        // the library the bindings registered: a file JNA extracted from the jar (jnaNNN.tmp) into
        // its folder $XDG_CACHE_HOME/JNA/temp, here under this program's folder
        NativeLibrary library = NativeLibrary.getInstance("apig_uniffi", Map.of(Library.OPTION_CLASSLOADER, SignAndSend.class.getClassLoader()));
        Path file = library.getFile().toPath().toAbsolutePath();
        Path extracted = Path.of(System.getenv("XDG_CACHE_HOME"), "JNA", "temp").toAbsolutePath();
        check(file.getParent().equals(extracted) && file.getFileName().toString().startsWith("jna"), "apig_uniffi was loaded from " + file + ", not extracted by JNA from the jar into " + extracted);
        boolean mapped = false;
        for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
            check(!line.contains(workspace), "a file of the workspace is mapped: " + line);
            mapped |= line.contains(file.toString());
        }
        check(mapped, file + " is not mapped");
        System.out.println("SignAndSend: " + response.statusCode() + " " + response.body());
        System.out.println("SignAndSend: apig_uniffi extracted by JNA from the jar to " + file);
    }
}
"#;

/// Compiles [`PROGRAM`] against the jar in `dir` and runs it with only `java -cp`, in an
/// environment that names neither the workspace nor a library path.
fn sign_and_send(dir: &Path, jar: &str, url: &str) -> Result<()> {
    std::fs::write(dir.join("SignAndSend.java"), PROGRAM)?;
    let classpath = format!("{jar}:jna.jar");
    let workspace = root().to_string_lossy().into_owned();
    let clean = |cmd: &mut Command| {
        cmd.env_clear().current_dir(dir);
        // PATH (for java) without any folder of the workspace; JNA extracts the library into
        // $XDG_CACHE_HOME/JNA/temp (else ~/.cache/JNA/temp): in the folder, removed with it
        if let Some(path) = std::env::var_os("PATH") {
            let kept: Vec<PathBuf> = std::env::split_paths(&path).filter(|p| !p.starts_with(root())).collect();
            if let Ok(joined) = std::env::join_paths(kept) {
                cmd.env("PATH", joined);
            }
        }
        cmd.env("XDG_CACHE_HOME", dir.join("cache"));
        for name in ["HOME", "JAVA_HOME", "LANG"] {
            if let Some(value) = std::env::var_os(name).filter(|v| !v.to_string_lossy().contains(&workspace)) {
                cmd.env(name, value);
            }
        }
    };
    let mut javac = Command::new("javac");
    clean(&mut javac);
    run(javac.args(["-cp", &classpath, "-d", ".", "SignAndSend.java"]))?;
    let mut java = Command::new("java");
    clean(&mut java);
    java.args(["-cp", &format!("{classpath}:."), "SignAndSend", url, DEMO_KEY, DEMO_SECRET]).stdin(Stdio::piped());
    eprintln!("+ java -cp {classpath}:. SignAndSend {url} {DEMO_KEY} {DEMO_SECRET} <<< {workspace}");
    let mut child = java.spawn().context("cannot start java")?;
    let written = child.stdin.take().context("no stdin")?.write_all(workspace.as_bytes());
    let status = child.wait()?;
    written.context("cannot write the workspace path to the program")?;
    if !status.success() {
        bail!("the Java program failed ({status})");
    }
    Ok(())
}
