//! The JVM's fast path: `Signer.sign` and `Verifier.verify` as plain JNI methods.
//!
//! uniffi's generated Kotlin calls Rust through JNA, which builds and reflects over a `Structure`
//! for every `RustCallStatus` and `RustBuffer` of every call (several per method: cloning the
//! handle, allocating each argument's buffer, the call, freeing the result): tens of µs where
//! the signature takes one. For the two calls made per request, the Kotlin that the workspace's
//! bindgen generates (`bindings/uniffi/uniffi-bindgen`: `UniffiJni.kt` appended, the two method
//! bodies replaced) calls these functions instead: one JNI call, the arguments in one `byte[]`,
//! the answer in another. Integers are big-endian; a string or byte array in the answer is an
//! `i32` length and the bytes, a list an `i32` count and the items, a bool one byte, an option a
//! 0/1 byte then the value, a record its fields in declaration order (uniffi's serialisation).
//! The arguments are read here without copying (the strings borrowed from the buffer, checked as
//! UTF-8 in one pass: [`Args`]); the errors are written by uniffi's `Lower`, so they are the same
//! `ApigError` with the same codes as on the JNA path.
//!
//! Arguments: a `Request` and the optional time, laid out as [`Args`] describes.
//! Answer: its length (an `i32`), in the caller's reusable array when it fits, else a new one
//! (one `SetByteArrayRegion` either way); then one status byte, then — [`OK`]: the return value
//! (`Verified`; a `SignedRequest` as [`write_signed`] lays it out, each distinct string once);
//! [`ERROR`]: the `ApigError`; [`PANIC`]: a string (a bug: a panic, or arguments that do not
//! deserialise).
//!
//! The methods are bound with `RegisterNatives` by [`apig_uniffi_jni_register`], which the Kotlin
//! calls once through JNA (the library is loaded by JNA, not `System.loadLibrary`, so the JVM
//! cannot find `Java_…` symbols by name).

#![allow(unsafe_code, reason = "JNI: raw pointers from the JVM, the one place this crate writes unsafe code")]

use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::SystemTime;

use jni_sys::{JNIEnv, JNINativeMethod, jbyteArray, jint, jlong, jobject};
use uniffi::{Lift, Lower};

use crate::UniFfiTag;
use crate::convert::signable;
use crate::errors::ApigError;
use crate::sign::Signer;
use crate::verify::{Verified, Verifier};

/// The call returned a value.
const OK: u8 = 0;
/// The call returned an [`ApigError`].
const ERROR: u8 = 1;
/// The call panicked or its arguments did not deserialise.
const PANIC: u8 = 2;

/// The arguments as the Kotlin lays them out, read in place.
///
/// First the lengths (big-endian `i32`s): the method's, the URL's, the header count, each header's
/// name and value lengths, the body's; then the `unsigned_payload` byte and the optional time in
/// uniffi's serialisation (`0`, or `1`, the seconds as an `i64` and the nanoseconds as a `u32`);
/// then the text, every string's UTF-8 back to back in that order (method, URL, name, value, …),
/// checked as UTF-8 in one pass; then the body. So that the strings are validated once, not one by
/// one, and the Kotlin writes them with no length in between.
struct Args<'a>(&'a [u8]);

impl<'a> Args<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], String> {
        if self.0.len() < len {
            return Err(format!("apig JNI: the arguments end {} bytes early", len - self.0.len()));
        }
        let (taken, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(taken)
    }

    fn len(&mut self) -> Result<usize, String> {
        let bytes: [u8; 4] = self.take(4)?.try_into().map_err(|_| "apig JNI: no length")?;
        usize::try_from(i32::from_be_bytes(bytes)).map_err(|_| "apig JNI: a negative length".to_owned())
    }

    fn bool(&mut self) -> Result<bool, String> {
        match self.take(1)? {
            [0] => Ok(false),
            [1] => Ok(true),
            other => Err(format!("apig JNI: {other:?} is not a bool")),
        }
    }

    /// A value uniffi reads itself (no borrowing to gain).
    fn lift<T: Lift<UniFfiTag>>(&mut self) -> Result<T, String> {
        T::try_read(&mut self.0).map_err(|e| format!("apig JNI: cannot read an argument: {e}"))
    }

    /// A `Request` (the fields of [`crate::Request`]) and an optional time, all of the arguments;
    /// runs `call` on the core's view of the request.
    fn request_and_time<T>(
        mut self,
        call: impl FnOnce(&apig::SignableRequest<'_>, Option<SystemTime>) -> T,
    ) -> Result<T, String> {
        let method_len = self.len()?;
        let url_len = self.len()?;
        let count = self.len()?;
        // the header lengths, kept as bytes until the text is there to cut
        let header_lens = self.take(count.checked_mul(8).ok_or("apig JNI: too many headers")?)?;
        let body_len = self.len()?;
        let unsigned_payload = self.bool()?;
        let time: Option<SystemTime> = self.lift()?;
        let mut text_len = method_len.checked_add(url_len);
        for len in header_lens.chunks_exact(4) {
            let len = usize::try_from(i32::from_be_bytes([len[0], len[1], len[2], len[3]]))
                .map_err(|_| "apig JNI: a negative length")?;
            text_len = text_len.and_then(|total| total.checked_add(len));
        }
        let text = self.take(text_len.ok_or("apig JNI: the strings are too long")?)?;
        let text = std::str::from_utf8(text).map_err(|e| format!("apig JNI: a string is not UTF-8: {e}"))?;
        let body = self.take(body_len)?;
        if !self.0.is_empty() {
            return Err(format!("apig JNI: {} bytes left after the arguments", self.0.len()));
        }
        let mut at = 0;
        let mut cut = |len: usize| {
            let piece = text.get(at..at + len).ok_or("apig JNI: a string is cut inside a character");
            at += len;
            piece
        };
        let method = cut(method_len)?;
        let url = cut(url_len)?;
        let mut lens = header_lens.chunks_exact(4).map(|len| {
            // (checked non-negative above)
            usize::try_from(i32::from_be_bytes([len[0], len[1], len[2], len[3]])).unwrap_or(0)
        });
        let mut next = || cut(lens.next().unwrap_or(0));
        // the headers of a typical request fit on the stack; more go to the heap
        let mut stack = [("", ""); 12];
        let mut heap = Vec::new();
        let headers = if count <= stack.len() {
            for slot in &mut stack[..count] {
                *slot = (next()?, next()?);
            }
            &stack[..count]
        } else {
            heap.reserve(count);
            for _ in 0..count {
                heap.push((next()?, next()?));
            }
            &heap[..]
        };
        Ok(call(&signable(method, url, headers, body, unsigned_payload), time))
    }
}

thread_local! {
    /// This thread's answer buffer, reused from call to call (taken during a call, so a call made
    /// from inside another, by a Kotlin `KeyStore`, gets a buffer of its own).
    static ANSWER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// The largest answer buffer kept for the thread's next call.
const KEPT: usize = 64 * 1024;

/// Runs `with` on this thread's answer buffer (empty, with the capacity of earlier answers).
fn with_answer_buffer<T>(with: impl FnOnce(Vec<u8>) -> (Vec<u8>, T)) -> T {
    let mut buffer = ANSWER.take();
    buffer.clear();
    let (buffer, result) = with(buffer);
    if buffer.capacity() <= KEPT {
        ANSWER.set(buffer);
    }
    result
}

/// Runs `call` on the arguments and serialises its outcome into `out` (emptied first): the length
/// of what follows (an `i32`, big-endian), the status byte, the payload. `call` gets `out` with
/// the [`OK`] byte in place to write its value after (the value is written where it is made,
/// not moved out first); an `ApigError` or a message replaces that.
fn answer(call: impl FnOnce(&mut Vec<u8>) -> Result<Result<(), ApigError>, String>, mut out: Vec<u8>) -> Vec<u8> {
    out.clear();
    out.reserve(1024);
    out.extend_from_slice(&[0, 0, 0, 0, OK]);
    let outcome = catch_unwind(AssertUnwindSafe(|| call(&mut out)));
    let message = match outcome {
        Ok(Ok(Ok(()))) => None,
        Ok(Ok(Err(error))) => {
            out.truncate(4);
            out.push(ERROR);
            <ApigError as Lower<UniFfiTag>>::write(error, &mut out);
            None
        }
        Ok(Err(message)) => Some(message),
        Err(panic) => Some(
            panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "Rust panic".to_owned()),
        ),
    };
    if let Some(message) = message {
        out.truncate(4);
        out.push(PANIC);
        <String as Lower<UniFfiTag>>::write(message, &mut out);
    }
    // (an answer over 2 GiB has no Java array to go to: `reply` refuses it)
    let len = i32::try_from(out.len() - 4).unwrap_or(i32::MAX);
    out[..4].copy_from_slice(&len.to_be_bytes());
    out
}

/// Appends `len` as uniffi's `i32` length or count.
fn put_len(out: &mut Vec<u8>, len: usize) -> Result<(), String> {
    let len = i32::try_from(len).map_err(|_| format!("apig JNI: {len} items or bytes do not fit an i32"))?;
    out.extend_from_slice(&len.to_be_bytes());
    Ok(())
}

/// Appends `s` as uniffi writes a string.
fn put_str(out: &mut Vec<u8>, s: &str) -> Result<(), String> {
    put_len(out, s.len())?;
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// The names of the headers the core adds, in the order of [`apig::SigningOutput::headers`]: in
/// an answer, such a header's name is its index here (one byte), so that the Kotlin takes a
/// string it already holds (`uniffiJniHeaderNames` in `UniffiJni.kt`, checked against this list
/// by a test) instead of decoding one. Another name crosses as [`NAMED`] and a string.
const ADDED_HEADER_NAMES: [&str; 7] =
    ["X-Project-Id", "X-Domain-Id", "X-Security-Token", "Host", "X-Sdk-Date", "X-Sdk-Content-Sha256", "Authorization"];
/// A header name not in [`ADDED_HEADER_NAMES`]: a string follows.
const NAMED: u8 = 0xff;
/// A header value that is the `authorization` field (the very string, decoded once).
const SAME_AS_AUTHORIZATION: u8 = 0;
/// A header value that is the `date` field.
const SAME_AS_DATE: u8 = 1;
/// Any other header value: a string follows.
const VALUE: u8 = 2;

/// A `SignedRequest` (the record of [`crate::sign`]) from the core's output: its string fields
/// in uniffi's serialisation, in declaration order but the `headers` last, each header as a name
/// byte (an index into [`ADDED_HEADER_NAMES`], or [`NAMED`] and the name) and a value byte
/// ([`SAME_AS_AUTHORIZATION`], [`SAME_AS_DATE`], or [`VALUE`] and the value): the Kotlin then
/// decodes each distinct string once. Written without building the record (a copy each).
fn write_signed(output: &apig::SigningOutput, out: &mut Vec<u8>) -> Result<(), String> {
    let trace = &output.trace;
    out.reserve(256 + output.authorization.len() + trace.canonical_request.len() + trace.string_to_sign.len());
    put_str(out, &output.authorization)?;
    put_str(out, &output.signature)?;
    put_str(out, &output.signed_headers)?;
    put_str(out, &output.date)?;
    match &output.credential_scope {
        None => out.push(0),
        Some(scope) => {
            out.push(1);
            put_str(out, scope)?;
        }
    }
    put_str(out, &trace.canonical_request)?;
    put_str(out, &trace.string_to_sign)?;
    put_len(out, output.headers().count())?;
    for (name, value) in output.headers() {
        match ADDED_HEADER_NAMES.iter().position(|known| *known == name).and_then(|i| u8::try_from(i).ok()) {
            Some(index) => out.push(index),
            None => {
                out.push(NAMED);
                put_str(out, name)?;
            }
        }
        if std::ptr::eq(value, output.authorization.as_str()) {
            out.push(SAME_AS_AUTHORIZATION);
        } else if std::ptr::eq(value, output.date.as_str()) {
            out.push(SAME_AS_DATE);
        } else {
            out.push(VALUE);
            put_str(out, value)?;
        }
    }
    Ok(())
}

/// Runs `f` on a copy of the first `len` bytes of the Java array `array` (on the stack when small).
///
/// # Safety
/// `env` is the current thread's JNI environment and `array` a live `byte[]` of at least `len` bytes.
unsafe fn with_bytes_of<T>(env: *mut JNIEnv, array: jbyteArray, len: jint, f: impl FnOnce(&[u8]) -> T) -> T {
    const STACK: usize = 4096;
    let size = usize::try_from(len).unwrap_or(0);
    if size == 0 {
        return f(&[]);
    }
    if size <= STACK {
        let mut stack = std::mem::MaybeUninit::<[u8; STACK]>::uninit();
        // SAFETY: per this function's contract; `stack` has room for `len` bytes, which
        // `GetByteArrayRegion` writes before they are read.
        let bytes = unsafe {
            ((**env).v1_1.GetByteArrayRegion)(env, array, 0, len, stack.as_mut_ptr().cast());
            std::slice::from_raw_parts(stack.as_ptr().cast::<u8>(), size)
        };
        return f(bytes);
    }
    let mut bytes = vec![0_u8; size];
    // SAFETY: per this function's contract; `bytes` has room for `len` bytes.
    unsafe { ((**env).v1_1.GetByteArrayRegion)(env, array, 0, len, bytes.as_mut_ptr().cast()) };
    f(&bytes)
}

/// The answer `bytes` (its length first, as [`answer`] writes it) in the Java `byte[]` `reuse`
/// of `reuse_len` bytes when it fits (then `reuse` is returned), else in a new array; null with an
/// `OutOfMemoryError` pending when that cannot be allocated. One JNI call when it fits.
///
/// # Safety
/// `env` is the current thread's JNI environment and `reuse` a live `byte[]` of `reuse_len` bytes.
unsafe fn reply(env: *mut JNIEnv, reuse: jbyteArray, reuse_len: jint, bytes: &[u8]) -> jbyteArray {
    let Ok(len) = jint::try_from(bytes.len()) else { return std::ptr::null_mut() };
    // SAFETY: per this function's contract; the array written is at least `len` bytes long.
    unsafe {
        let array = if reuse_len >= len { reuse } else { ((**env).v1_1.NewByteArray)(env, len) };
        if !array.is_null() {
            ((**env).v1_1.SetByteArrayRegion)(env, array, 0, len, bytes.as_ptr().cast());
        }
        array
    }
}

/// The object behind the uniffi handle `handle` of a sized object (the pointer `Arc::into_raw`
/// returned), borrowed: no reference count changes.
fn borrow<T>(handle: jlong) -> *const T {
    #[allow(clippy::cast_sign_loss, reason = "a handle is a u64 that Kotlin holds as a Long")]
    uniffi::Handle::from_raw_unchecked(handle as u64).as_pointer()
}

/// `UniffiJni.signerSign(handle, args, len, reuse, reuseLen)`: `args` holds the `Request` and the
/// optional time ([`Args`]); the answer goes to `reuse` when it fits ([`reply`]).
///
/// # Safety
/// Called by the JVM only, with `handle` the uniffi handle of a live `Signer` (the Kotlin object
/// keeps it alive for the call), `args` a `byte[]` of at least `len` bytes and `reuse` a `byte[]`
/// of `reuse_len` bytes.
unsafe extern "system" fn signer_sign(
    env: *mut JNIEnv,
    _class: jobject,
    handle: jlong,
    args: jbyteArray,
    len: jint,
    reuse: jbyteArray,
    reuse_len: jint,
) -> jbyteArray {
    // SAFETY: the Kotlin object holds its reference until this call has returned.
    let signer = unsafe { &*borrow::<Signer>(handle) };
    with_answer_buffer(|buffer| {
        // SAFETY: per this function's contract.
        let out = unsafe {
            with_bytes_of(env, args, len, |args| {
                answer(
                    |out| {
                        Args(args)
                            .request_and_time(|request, at| match signer.sign_signable(request, at) {
                                Ok(output) => write_signed(&output, out).map(Ok),
                                Err(error) => Ok(Err(ApigError::from(error))),
                            })
                            .and_then(|written| written)
                    },
                    buffer,
                )
            })
        };
        // SAFETY: `env` is this thread's environment, `reuse` a live array of `reuse_len` bytes.
        let array = unsafe { reply(env, reuse, reuse_len, &out) };
        (out, array)
    })
}

/// `UniffiJni.verifierVerify(handle, args, len, reuse, reuseLen)`: as [`signer_sign`].
///
/// # Safety
/// As [`signer_sign`], for a `Verifier`.
unsafe extern "system" fn verifier_verify(
    env: *mut JNIEnv,
    _class: jobject,
    handle: jlong,
    args: jbyteArray,
    len: jint,
    reuse: jbyteArray,
    reuse_len: jint,
) -> jbyteArray {
    // SAFETY: as in `signer_sign`.
    let verifier = unsafe { &*borrow::<Verifier>(handle) };
    with_answer_buffer(|buffer| {
        // SAFETY: per this function's contract.
        let out = unsafe {
            with_bytes_of(env, args, len, |args| {
                answer(
                    |out| {
                        Args(args).request_and_time(|request, now| {
                            verifier
                                .verify_signable(request, now)
                                .map(|verified| <Verified as Lower<UniFfiTag>>::write(Verified::from(verified), out))
                                .map_err(ApigError::from)
                        })
                    },
                    buffer,
                )
            })
        };
        // SAFETY: `env` is this thread's environment, `reuse` a live array of `reuse_len` bytes.
        let array = unsafe { reply(env, reuse, reuse_len, &out) };
        (out, array)
    })
}

/// Binds `signerSign` and `verifierVerify` of the Kotlin class `class` (`apig.UniffiJni`) to
/// [`signer_sign`] and [`verifier_verify`]; 0 on success, JNI's error code otherwise. Called
/// through JNA, which passes the current thread's `JNIEnv`.
///
/// # Safety
/// `env` is the calling thread's JNI environment and `class` a live reference to the class.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn apig_uniffi_jni_register(env: *mut JNIEnv, class: jobject) -> jint {
    const SIGNATURE: &[u8] = b"(J[BI[BI)[B\0";
    let method = |name: &'static [u8], function: *mut c_void| JNINativeMethod {
        name: name.as_ptr().cast_mut().cast(),
        signature: SIGNATURE.as_ptr().cast_mut().cast(),
        fnPtr: function,
    };
    const COUNT: jint = 2;
    let methods: [JNINativeMethod; COUNT as usize] = [
        method(b"signerSign\0", signer_sign as *mut c_void),
        method(b"verifierVerify\0", verifier_verify as *mut c_void),
    ];
    // SAFETY: per this function's contract; the names and signatures are NUL-terminated statics.
    unsafe { ((**env).v1_1.RegisterNatives)(env, class, methods.as_ptr(), COUNT) }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::sign::SignedRequest;

    /// The arguments of `request` and `at` laid out as `uniffiJniArgs` in `UniffiJni.kt` does.
    fn kotlin_args(request: &crate::Request, at: Option<SystemTime>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut text = Vec::new();
        let mut string = |out: &mut Vec<u8>, s: &str| {
            out.extend_from_slice(&i32::try_from(s.len()).unwrap().to_be_bytes());
            text.extend_from_slice(s.as_bytes());
        };
        string(&mut out, &request.method);
        string(&mut out, &request.url);
        out.extend_from_slice(&i32::try_from(request.headers.len()).unwrap().to_be_bytes());
        for header in &request.headers {
            string(&mut out, &header.name);
            string(&mut out, &header.value);
        }
        out.extend_from_slice(&i32::try_from(request.body.len()).unwrap().to_be_bytes());
        out.push(u8::from(request.unsigned_payload));
        <Option<SystemTime> as Lower<UniFfiTag>>::write(at, &mut out);
        out.extend_from_slice(&text);
        out.extend_from_slice(&request.body);
        out
    }

    /// The direct writer's bytes read back as the Kotlin reads them are the record, for outputs
    /// with every optional part present or absent, and the argument reader reads the arguments as
    /// the Kotlin lays them out.
    #[test]
    fn the_fast_path_reads_the_kotlins_layout_and_answers_the_record() {
        let at = UNIX_EPOCH + Duration::from_secs(1_712_139_300);
        let sdk = crate::Signer::new("AK".into(), "SK".into(), None, None, None, None).unwrap();
        let v11 = crate::Signer::new(
            "AK".into(),
            "SK".into(),
            Some(crate::Algorithm::V11HmacSm3),
            Some("cn-north-4".into()),
            None,
            // (the credential headers come first among the added ones)
            Some(crate::SignerOptions {
                security_token: Some("token+/=".into()),
                project_id: Some("p1".into()),
                domain_id: None,
                profile: Some(crate::Profile::HuaweiCloudV3),
            }),
        )
        .unwrap();
        let many: Vec<(String, String)> = (0..30).map(|i| (format!("X-H{i}"), format!("v{i}"))).collect();
        let many = many.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let requests = [
            ("GET", "https://h.example/p?b=2&a=1", vec![], &b""[..], false),
            ("GET", "https://h.example/more-headers-than-the-stack-holds", many, &b""[..], false),
            (
                "POST",
                "/relative",
                vec![("Host", "h"), ("X-Sdk-Date", "20240403T101500Z"), ("X-Name", "cödé ü")],
                b"{}",
                false,
            ),
            ("PUT", "https://h.example/", vec![("Content-Type", "text/plain")], b"body", true),
        ];
        for signer in [&sdk, &v11] {
            for (method, url, headers, body, unsigned_payload) in &requests {
                let request = crate::Request {
                    method: (*method).into(),
                    url: (*url).into(),
                    headers: headers
                        .iter()
                        .map(|(n, v)| crate::Header { name: (*n).into(), value: (*v).into() })
                        .collect(),
                    body: body.to_vec(),
                    unsigned_payload: *unsigned_payload,
                };
                let args = kotlin_args(&request, Some(at));
                let read = Args(&args).request_and_time(|r, time| signer.sign_signable(r, time)).unwrap().unwrap();
                let expected = request.with_signable(|r| signer.sign_signable(r, Some(at))).unwrap();
                assert_eq!(read, expected, "{request:?}");

                let mut direct = Vec::new();
                write_signed(&expected, &mut direct).unwrap();
                assert_eq!(read_signed(&direct), SignedRequest::from(expected), "{request:?}");
            }
        }
    }

    /// [`write_signed`]'s layout read back, as `uniffiJniSignedRequest` reads it.
    fn read_signed(bytes: &[u8]) -> SignedRequest {
        let mut args = Args(bytes);
        let string = |args: &mut Args<'_>| {
            let len = args.len().unwrap();
            std::str::from_utf8(args.take(len).unwrap()).unwrap().to_owned()
        };
        let authorization = string(&mut args);
        let signature = string(&mut args);
        let signed_headers = string(&mut args);
        let date = string(&mut args);
        let credential_scope = args.bool().unwrap().then(|| string(&mut args));
        let canonical_request = string(&mut args);
        let string_to_sign = string(&mut args);
        let headers = (0..args.len().unwrap())
            .map(|_| {
                let name = match args.take(1).unwrap()[0] {
                    NAMED => string(&mut args),
                    index => ADDED_HEADER_NAMES[usize::from(index)].to_owned(),
                };
                let value = match args.take(1).unwrap()[0] {
                    SAME_AS_AUTHORIZATION => authorization.clone(),
                    SAME_AS_DATE => date.clone(),
                    _ => string(&mut args),
                };
                crate::Header { name, value }
            })
            .collect();
        assert!(args.0.is_empty());
        SignedRequest {
            headers,
            authorization,
            signature,
            signed_headers,
            date,
            credential_scope,
            canonical_request,
            string_to_sign,
        }
    }

    /// The Kotlin's table of header names is this file's.
    #[test]
    fn the_kotlin_knows_the_added_header_names() {
        let kotlin = include_str!("../uniffi-bindgen/src/UniffiJni.kt");
        let list = ADDED_HEADER_NAMES.map(|name| format!("\"{name}\"")).join(", ");
        assert!(kotlin.contains(&format!("uniffiJniHeaderNames = arrayOf({list})")), "UniffiJni.kt: {list}");
        // every header the core adds is in the table
        let signer = crate::Signer::new(
            "AK".into(),
            "SK".into(),
            None,
            None,
            None,
            Some(crate::SignerOptions {
                security_token: Some("t".into()),
                project_id: Some("p".into()),
                domain_id: Some("d".into()),
                profile: None,
            }),
        )
        .unwrap();
        let request = crate::Request {
            method: "PUT".into(),
            url: "https://h/".into(),
            headers: vec![],
            body: vec![],
            unsigned_payload: true,
        };
        let output = request.with_signable(|r| signer.sign_signable(r, None)).unwrap();
        let names: Vec<&str> = output.headers().map(|(name, _)| name).collect();
        assert_eq!(names, ADDED_HEADER_NAMES);
    }

    #[test]
    fn arguments_cut_short_too_long_or_not_utf8_are_a_message_not_a_panic() {
        let request = crate::Request {
            method: "GET".into(),
            url: "https://h/ü".into(),
            headers: vec![crate::Header { name: "X-A".into(), value: "é".into() }],
            body: b"body".to_vec(),
            unsigned_payload: false,
        };
        let mut args = kotlin_args(&request, None);
        assert_eq!(Args(&args).request_and_time(|r, _| r.url().to_owned()), Ok("https://h/ü".to_owned()));
        for cut in 0..args.len() {
            assert!(Args(&args[..cut]).request_and_time(|_, _| ()).is_err(), "cut at {cut}");
        }
        args.push(0);
        let err = Args(&args).request_and_time(|_, _| ()).unwrap_err();
        assert!(err.contains("1 bytes left"), "{err}");
        args.pop();
        // a length that cuts "ü" in two (URL one byte shorter, header name one longer)
        let mut cut = args.clone();
        cut[7] -= 1;
        cut[15] += 1;
        let err = Args(&cut).request_and_time(|_, _| ()).unwrap_err();
        assert!(err.contains("inside a character"), "{err}");
        let mut bad = args.clone();
        let url_end = bad.len() - 4 - 5;
        bad[url_end - 1] = 0xff;
        let err = Args(&bad).request_and_time(|_, _| ()).unwrap_err();
        assert!(err.contains("not UTF-8"), "{err}");
        let mut negative = args;
        negative[12..16].copy_from_slice(&(-1_i32).to_be_bytes());
        assert!(Args(&negative).request_and_time(|_, _| ()).is_err());
    }

    #[test]
    fn each_outcome_has_its_length_and_status_byte() {
        let ok = answer(
            |out| {
                out.push(7);
                Ok(Ok(()))
            },
            vec![9; 3],
        );
        assert_eq!(ok, [0, 0, 0, 2, OK, 7]);
        let error = answer(
            |out| {
                out.push(7);
                Ok(Err(ApigError::Expired { reason: "late".into() }))
            },
            vec![9],
        );
        let mut expected = vec![ERROR];
        <ApigError as Lower<UniFfiTag>>::write(ApigError::Expired { reason: "late".into() }, &mut expected);
        assert_eq!(error[4..], expected);
        assert_eq!(error[..4], i32::try_from(expected.len()).unwrap().to_be_bytes());
        let bad = answer(|_| Err("bad arguments".into()), Vec::new());
        assert_eq!(bad, [&[0, 0, 0, 18, PANIC, 0, 0, 0, 13][..], b"bad arguments"].concat());
        #[allow(clippy::panic, reason = "the panic is what is tested")]
        let panicked = answer(
            |out| {
                out.push(7);
                panic!("boom")
            },
            Vec::new(),
        );
        assert_eq!(panicked, [&[0, 0, 0, 9, PANIC, 0, 0, 0, 4][..], b"boom"].concat());
    }
}
