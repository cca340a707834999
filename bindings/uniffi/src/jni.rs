//! The JVM's fast path: `Signer.sign` and `Verifier.verify` as plain JNI methods.
//!
//! uniffi's generated Kotlin calls Rust through JNA, which builds and reflects over a `Structure`
//! for every `RustCallStatus` and `RustBuffer` of every call (several per method: cloning the
//! handle, allocating each argument's buffer, the call, freeing the result): tens of µs where
//! the signature takes one. For the two calls made per request, the Kotlin that the workspace's
//! bindgen generates (`bindings/uniffi/uniffi-bindgen`: `UniffiJni.kt` appended, the two method
//! bodies replaced) calls these functions instead: one JNI call, the arguments in one `byte[]`,
//! the answer in another, both in uniffi's own serialisation of the same types (big-endian; a
//! string or byte array is an `i32` length and the bytes, a list an `i32` count and the items, a
//! bool one byte, an option a 0/1 byte then the value, a record its fields in declaration order).
//! The arguments are read here without copying (the strings borrowed from the buffer); the
//! answer is written by uniffi's `Lower` of the records, so the errors are the same `ApigError`
//! with the same codes as on the JNA path.
//!
//! Arguments: a `Request` (method, url, headers, body, unsigned_payload), then the optional time.
//! Answer: its length (an `i32`), in the caller's reusable array when it fits, else a new one;
//! then one status byte, then — [`OK`]: the return value (`Verified`; a `SignedRequest` as
//! [`write_signed`] lays it out, each distinct string once);
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

/// uniffi's serialisation of the arguments, read in place.
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

    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let len = self.len()?;
        self.take(len)
    }

    fn str(&mut self) -> Result<&'a str, String> {
        std::str::from_utf8(self.bytes()?).map_err(|e| format!("apig JNI: a string is not UTF-8: {e}"))
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

    /// A `Request` (the fields of [`crate::Request`], in order) and an optional time, all of
    /// the arguments; runs `call` on the core's view of the request.
    fn request_and_time<T>(
        mut self,
        call: impl FnOnce(&apig::SignableRequest<'_>, Option<SystemTime>) -> T,
    ) -> Result<T, String> {
        let method = self.str()?;
        let url = self.str()?;
        let count = self.len()?;
        // the headers of a typical request fit on the stack; more go to the heap
        let mut stack = [("", ""); 24];
        let mut heap = Vec::new();
        if count > stack.len() {
            heap.reserve(count.min(self.0.len() / 8));
        }
        let on_stack = count <= stack.len();
        for slot in stack.iter_mut().take(if on_stack { count } else { 0 }) {
            *slot = (self.str()?, self.str()?);
        }
        for _ in 0..if on_stack { 0 } else { count } {
            heap.push((self.str()?, self.str()?));
        }
        let headers = if on_stack { &stack[..count] } else { &heap[..] };
        let body = self.bytes()?;
        let unsigned_payload = self.bool()?;
        let time: Option<SystemTime> = self.lift()?;
        if !self.0.is_empty() {
            return Err(format!("apig JNI: {} bytes left after the arguments", self.0.len()));
        }
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

/// Runs `call` on the arguments and serialises its outcome into `out` (emptied first), the
/// value with `write`.
fn answer<R>(
    call: impl FnOnce() -> Result<Result<R, ApigError>, String>,
    write: impl FnOnce(R, &mut Vec<u8>) -> Result<(), String>,
    mut out: Vec<u8>,
) -> Vec<u8> {
    out.clear();
    let outcome = catch_unwind(AssertUnwindSafe(|| match call() {
        Ok(Ok(value)) => {
            out.reserve(1024);
            out.push(OK);
            write(value, &mut out)
        }
        Ok(Err(error)) => {
            out.push(ERROR);
            <ApigError as Lower<UniFfiTag>>::write(error, &mut out);
            Ok(())
        }
        Err(message) => Err(message),
    }));
    let message = match outcome {
        Ok(Ok(())) => return out,
        Ok(Err(message)) => message,
        Err(panic) => panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "Rust panic".to_owned()),
    };
    out.clear();
    out.push(PANIC);
    <String as Lower<UniFfiTag>>::write(message, &mut out);
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

/// The answer `bytes` preceded by its length (an `i32`, big-endian) in the Java `byte[]` `reuse`
/// when it fits (then `reuse` is returned), else in a new array; null with an `OutOfMemoryError`
/// pending when that cannot be allocated.
///
/// # Safety
/// `env` is the current thread's JNI environment and `reuse` a live `byte[]`.
unsafe fn reply(env: *mut JNIEnv, reuse: jbyteArray, bytes: &[u8]) -> jbyteArray {
    let (Ok(len), Some(total)) = (jint::try_from(bytes.len()), bytes.len().checked_add(4)) else {
        return std::ptr::null_mut();
    };
    let Ok(total) = jint::try_from(total) else { return std::ptr::null_mut() };
    // SAFETY: per this function's contract; the array written is at least `total` bytes long.
    unsafe {
        let array = if ((**env).v1_1.GetArrayLength)(env, reuse) >= total {
            reuse
        } else {
            ((**env).v1_1.NewByteArray)(env, total)
        };
        if !array.is_null() {
            ((**env).v1_1.SetByteArrayRegion)(env, array, 0, 4, len.to_be_bytes().as_ptr().cast());
            ((**env).v1_1.SetByteArrayRegion)(env, array, 4, len, bytes.as_ptr().cast());
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

/// `UniffiJni.signerSign(handle, args, len, reuse)`: `args` holds the `Request` and the optional
/// time; the answer goes to `reuse` when it fits ([`reply`]).
///
/// # Safety
/// Called by the JVM only, with `handle` the uniffi handle of a live `Signer` (the Kotlin object
/// keeps it alive for the call), `args` a `byte[]` of at least `len` bytes and `reuse` a `byte[]`.
unsafe extern "system" fn signer_sign(
    env: *mut JNIEnv,
    _class: jobject,
    handle: jlong,
    args: jbyteArray,
    len: jint,
    reuse: jbyteArray,
) -> jbyteArray {
    // SAFETY: the Kotlin object holds its reference until this call has returned.
    let signer = unsafe { &*borrow::<Signer>(handle) };
    with_answer_buffer(|buffer| {
        // SAFETY: per this function's contract.
        let out = unsafe {
            with_bytes_of(env, args, len, |args| {
                answer(
                    || {
                        Args(args)
                            .request_and_time(|request, at| signer.sign_signable(request, at).map_err(ApigError::from))
                    },
                    |output, out| write_signed(&output, out),
                    buffer,
                )
            })
        };
        // SAFETY: `env` is this thread's environment, `reuse` a live array.
        let array = unsafe { reply(env, reuse, &out) };
        (out, array)
    })
}

/// `UniffiJni.verifierVerify(handle, args, len, reuse)`: as [`signer_sign`].
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
) -> jbyteArray {
    // SAFETY: as in `signer_sign`.
    let verifier = unsafe { &*borrow::<Verifier>(handle) };
    with_answer_buffer(|buffer| {
        // SAFETY: per this function's contract.
        let out = unsafe {
            with_bytes_of(env, args, len, |args| {
                answer(
                    || {
                        Args(args).request_and_time(|request, now| {
                            verifier.verify_signable(request, now).map(Verified::from).map_err(ApigError::from)
                        })
                    },
                    |verified, out| {
                        <Verified as Lower<UniFfiTag>>::write(verified, out);
                        Ok(())
                    },
                    buffer,
                )
            })
        };
        // SAFETY: `env` is this thread's environment, `reuse` a live array.
        let array = unsafe { reply(env, reuse, &out) };
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
    const SIGNATURE: &[u8] = b"(J[BI[B)[B\0";
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

    /// The direct writer's bytes are uniffi's serialisation of the record, for outputs with every
    /// optional part present or absent, and the argument reader reads uniffi's serialisation of a
    /// `Request` and a time.
    #[test]
    fn the_fast_path_speaks_uniffis_serialisation() {
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
                let mut args = Vec::new();
                <crate::Request as Lower<UniFfiTag>>::write(request.clone(), &mut args);
                <Option<SystemTime> as Lower<UniFfiTag>>::write(Some(at), &mut args);
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
        let string = |args: &mut Args<'_>| args.str().unwrap().to_owned();
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
    fn arguments_cut_short_or_too_long_are_a_message_not_a_panic() {
        let mut args = Vec::new();
        let request = crate::Request {
            method: "GET".into(),
            url: "https://h/".into(),
            headers: vec![],
            body: vec![],
            unsigned_payload: false,
        };
        <crate::Request as Lower<UniFfiTag>>::write(request, &mut args);
        <Option<SystemTime> as Lower<UniFfiTag>>::write(None, &mut args);
        for cut in 0..args.len() {
            assert!(Args(&args[..cut]).request_and_time(|_, _| ()).is_err(), "cut at {cut}");
        }
        args.push(0);
        let err = Args(&args).request_and_time(|_, _| ()).unwrap_err();
        assert!(err.contains("1 bytes left"), "{err}");
    }

    #[test]
    fn each_outcome_has_its_status_byte() {
        let ok = answer(
            || Ok(Ok(7_u8)),
            |v, out| {
                out.push(v);
                Ok(())
            },
            vec![9; 3],
        );
        assert_eq!(ok, [OK, 7]);
        let error = answer::<u8>(|| Ok(Err(ApigError::Expired { reason: "late".into() })), |_, _| Ok(()), vec![9]);
        assert_eq!(error[0], ERROR);
        let mut expected = vec![ERROR];
        <ApigError as Lower<UniFfiTag>>::write(ApigError::Expired { reason: "late".into() }, &mut expected);
        assert_eq!(error, expected);
        let bad = answer::<u8>(|| Err("bad arguments".into()), |_, _| Ok(()), Vec::new());
        assert_eq!(bad, [&[PANIC, 0, 0, 0, 13][..], b"bad arguments"].concat());
        #[allow(clippy::panic, reason = "the panic is what is tested")]
        let panicked = answer::<u8>(
            || Ok(Ok(1)),
            |_, out| {
                out.push(7);
                panic!("boom")
            },
            Vec::new(),
        );
        assert_eq!(panicked, [&[PANIC, 0, 0, 0, 4][..], b"boom"].concat());
    }
}
