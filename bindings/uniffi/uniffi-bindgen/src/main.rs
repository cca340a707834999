//! `uniffi-bindgen`, pinned to the workspace's uniffi version so the generated Kotlin and Swift always
//! match the scaffolding compiled into `apig-uniffi`: `cargo run -p apig-uniffi-bindgen -- generate …`.
//!
//! After uniffi's generation, the Kotlin (`apig_uniffi.kt` under `--out-dir`) gets the JVM fast
//! path: `Signer.sign` and `Verifier.verify` keep their declarations and call Rust through one JNI
//! method each ([`JNI_GLUE`], `bindings/uniffi/src/jni.rs`) instead of JNA, whose per-call
//! `Structure`s cost tens of µs. Every other method, and Swift, are uniffi's as generated.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The Kotlin appended to the generated file: the JNI methods and the call helper.
const JNI_GLUE: &str = include_str!("UniffiJni.kt");

/// Marks a file that has the fast path (the patch is applied once).
const MARKER: &str = "// apig: the JVM fast path";

/// One generated method whose body is replaced.
struct FastMethod {
    /// The class, as declared: `open class Signer`.
    class: &'static str,
    /// The method's declaration up to its body's `{`, whitespace-normalised.
    declaration: &'static str,
    /// The new body, between the braces.
    body: &'static str,
}

const FAST_METHODS: [FastMethod; 2] = [
    FastMethod {
        class: "open class Signer:",
        declaration: "override fun `sign`(`request`: Request, `at`: java.time.Instant?): SignedRequest",
        body: "
        val buffers = UniffiJniBuffers.get()
        val len = uniffiJniArgs(`request`, `at`, buffers)
        return uniffiCallWithBorrowedHandle { handle ->
            uniffiJniAnswer(UniffiJni.signerSign(handle, buffers.args, len, buffers.answer, buffers.answer.size), ::uniffiJniSignedRequest)
        }
    ",
    },
    FastMethod {
        class: "open class Verifier:",
        declaration: "override fun `verify`(`request`: Request, `now`: java.time.Instant?): Verified",
        body: "
        val buffers = UniffiJniBuffers.get()
        val len = uniffiJniArgs(`request`, `now`, buffers)
        return uniffiCallWithBorrowedHandle { handle ->
            uniffiJniAnswer(UniffiJni.verifierVerify(handle, buffers.args, len, buffers.answer, buffers.answer.size), ::uniffiJniVerified)
        }
    ",
    },
];

/// Inserted at the top of each fast method's class: `callWithHandle` of uniffi's template without the handle
/// clone (a JNA call): the call counter keeps the Rust object alive, so the JNI function borrows
/// the object's own handle.
const BORROWED_HANDLE: &str = "
    private inline fun <R> uniffiCallWithBorrowedHandle(block: (handle: Long) -> R): R {
        do {
            val c = this.callCounter.get()
            if (c == 0L) {
                throw IllegalStateException(\"${this.javaClass.simpleName} object has already been destroyed\")
            }
            if (c == Long.MAX_VALUE) {
                throw IllegalStateException(\"${this.javaClass.simpleName} call counter would overflow\")
            }
        } while (! this.callCounter.compareAndSet(c, c + 1L))
        try {
            return block(this.handle)
        } finally {
            if (this.callCounter.decrementAndGet() == 0L) {
                cleanable?.clean()
            }
        }
    }
";

fn main() -> ExitCode {
    uniffi::uniffi_bindgen_main();
    let Some(out_dir) = out_dir(std::env::args().skip(1)) else { return ExitCode::SUCCESS };
    let mut files = Vec::new();
    find(&out_dir, "apig_uniffi.kt", &mut files);
    for file in files {
        if let Err(e) = patch_file(&file) {
            eprintln!("apig-uniffi-bindgen: {}: {e}", file.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// The `--out-dir` (`-o`) of a `generate` command line.
fn out_dir(mut args: impl Iterator<Item = String>) -> Option<PathBuf> {
    if args.next().as_deref() != Some("generate") {
        return None;
    }
    while let Some(arg) = args.next() {
        if arg == "--out-dir" || arg == "-o" {
            return args.next().map(PathBuf::from);
        }
        if let Some(dir) = arg.strip_prefix("--out-dir=") {
            return Some(PathBuf::from(dir));
        }
    }
    None
}

/// Every file named `name` under `dir`.
fn find(dir: &Path, name: &str, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            find(&path, name, found);
        } else if path.file_name().is_some_and(|n| n == name) {
            found.push(path);
        }
    }
}

fn patch_file(file: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read: {e}"))?;
    let patched = patch(&text)?;
    if patched != text {
        std::fs::write(file, patched).map_err(|e| format!("cannot write: {e}"))?;
    }
    Ok(())
}

/// `kotlin` with the fast path (unchanged if it has it already).
fn patch(kotlin: &str) -> Result<String, String> {
    if kotlin.contains(MARKER) {
        return Ok(kotlin.to_owned());
    }
    let mut text = kotlin.to_owned();
    for method in &FAST_METHODS {
        let class =
            text.find(method.class).ok_or_else(|| format!("no `{}` (uniffi's Kotlin changed?)", method.class))?;
        let name = method.declaration.split('(').next().unwrap_or(method.declaration);
        let start = class
            + text[class..]
                .find(name)
                .ok_or_else(|| format!("no `{name}` in `{}` (uniffi's Kotlin changed?)", method.class))?;
        let open = start + text[start..].find('{').ok_or("no method body")?;
        let declaration = text[start..open].split_whitespace().collect::<Vec<_>>().join(" ");
        if declaration != method.declaration {
            return Err(format!(
                "`{declaration}` is not `{}` (the API or uniffi's Kotlin changed?)",
                method.declaration
            ));
        }
        let close = matching_brace(&text, open).ok_or("unbalanced braces")?;
        text.replace_range(open + 1..close, method.body);
        let class_open = class + text[class..].find('{').ok_or("no class body")?;
        text.insert_str(class_open + 1, BORROWED_HANDLE);
    }
    text.push_str(JNI_GLUE);
    Ok(text)
}

/// The index of the `}` closing the `{` at `open` (method bodies here hold no braces in strings).
fn matching_brace(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0_usize;
    for (i, c) in text[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const GENERATED: &str = "open class Signer: Disposable
{
    @Throws(ApigException::class)override fun `sign`(`request`: Request, `at`: java.time.Instant?): SignedRequest {
        return lift(callWithHandle { call(it) })
    }
}
open class Verifier: Disposable {
    override fun `verify`(`request`: Request,
        `now`: java.time.Instant?): Verified {
        return lift(callWithHandle { call(it) })
    }
    fun other() {}
}
";

    #[test]
    fn the_fast_methods_call_jni_and_the_rest_is_kept() {
        let patched = patch(GENERATED).unwrap();
        assert!(
            patched.contains("UniffiJni.signerSign(handle, buffers.args, len, buffers.answer, buffers.answer.size)"),
            "{patched}"
        );
        assert!(
            patched
                .contains("UniffiJni.verifierVerify(handle, buffers.args, len, buffers.answer, buffers.answer.size)"),
            "{patched}"
        );
        assert!(!patched.contains("callWithHandle { call(it) }"), "{patched}");
        assert!(
            patched.starts_with(
                "open class Signer: Disposable\n{\n    private inline fun <R> uniffiCallWithBorrowedHandle"
            )
        );
        assert!(
            patched
                .contains("open class Verifier: Disposable {\n    private inline fun <R> uniffiCallWithBorrowedHandle")
        );
        assert!(patched.contains("@Throws(ApigException::class)override fun `sign`(`request`: Request, `at`: java.time.Instant?): SignedRequest {\n        val buffers = UniffiJniBuffers.get()\n        val len = uniffiJniArgs(`request`, `at`, buffers)"));
        assert!(patched.contains("    fun other() {}\n}\n"));
        assert!(patched.ends_with(JNI_GLUE));
        assert_eq!(patch(&patched).unwrap(), patched, "applied once");
    }

    #[test]
    fn a_changed_declaration_is_an_error_not_a_silent_skip() {
        let changed = GENERATED.replace("`at`: java.time.Instant?", "`at`: java.time.Instant");
        let err = patch(&changed).unwrap_err();
        assert!(err.contains("is not"), "{err}");
        let err = patch(&GENERATED.replace("open class Verifier:", "class Verifier:")).unwrap_err();
        assert!(err.contains("no `open class Verifier:`"), "{err}");
    }

    #[test]
    fn the_out_dir_is_read_from_a_generate_command_line() {
        let args = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>().into_iter();
        assert_eq!(out_dir(args("generate --library l.so --out-dir o")), Some(PathBuf::from("o")));
        assert_eq!(out_dir(args("generate -o o --library l.so")), Some(PathBuf::from("o")));
        assert_eq!(out_dir(args("generate --out-dir=o")), Some(PathBuf::from("o")));
        assert_eq!(out_dir(args("print-repr l.so")), None);
    }
}
