//! The JVM's fast path: `Signer.sign` and `Verifier.verify` as plain JNI methods.
//!
//! uniffi's generated Kotlin calls Rust through JNA, which builds and reflects over a `Structure`
//! for every `RustCallStatus` and `RustBuffer` of every call (several per method: cloning the
//! handle, allocating each argument's buffer, the call, freeing the result): tens of µs where
//! the signature takes one. For the two calls made per request, the Kotlin that the workspace's
//! bindgen generates (`bindings/uniffi/uniffi-bindgen`, `bindings/uniffi/kotlin/jni/UniffiJni.kt`)
//! calls these functions instead: one JNI call with the arguments serialised by uniffi's own
//! generated converters into one `byte[]`, answered by one `byte[]`; the same types, the same
//! serialisation and the same errors as the JNA path, without a `Structure`.
//!
//! The methods are bound with `RegisterNatives` by [`apig_uniffi_jni_register`], which the Kotlin
//! calls once through JNA (the library is loaded by JNA, not `System.loadLibrary`, so the JVM
//! cannot find `Java_…` symbols by name).
//!
//! Answer layout: one status byte, then the payload in uniffi's serialisation —
//! [`OK`]: the return value; [`ERROR`]: the `ApigError`; [`PANIC`]: a string (a bug: a panic, or
//! arguments that do not deserialise).

#![allow(unsafe_code, reason = "JNI: raw pointers from the JVM, the one place this crate writes unsafe code")]

use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::SystemTime;

use jni_sys::{JNIEnv, JNINativeMethod, jbyteArray, jint, jlong, jobject};
use uniffi::{Lift, Lower};

use crate::UniFfiTag;
use crate::convert::Request;
use crate::errors::ApigError;
use crate::sign::Signer;
use crate::verify::Verifier;

/// The call returned a value.
const OK: u8 = 0;
/// The call returned an [`ApigError`].
const ERROR: u8 = 1;
/// The call panicked or its arguments did not deserialise.
const PANIC: u8 = 2;

/// Reads one `T` from `args` in uniffi's serialisation.
fn read<T: Lift<UniFfiTag>>(args: &mut &[u8]) -> Result<T, String> {
    T::try_read(args).map_err(|e| format!("apig JNI: cannot read an argument: {e}"))
}

/// Runs `call` on the deserialised arguments and serialises its outcome.
fn answer<R: Lower<UniFfiTag>>(args: &[u8], call: impl FnOnce(&mut &[u8]) -> Result<Result<R, ApigError>, String>) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut rest = args;
        let result = call(&mut rest)?;
        if !rest.is_empty() {
            return Err(format!("apig JNI: {} bytes left after the arguments", rest.len()));
        }
        Ok(result)
    }));
    match outcome {
        Ok(Ok(Ok(value))) => {
            out.push(OK);
            R::write(value, &mut out);
        }
        Ok(Ok(Err(error))) => {
            out.push(ERROR);
            <ApigError as Lower<UniFfiTag>>::write(error, &mut out);
        }
        Ok(Err(message)) => {
            out.push(PANIC);
            <String as Lower<UniFfiTag>>::write(message, &mut out);
        }
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "Rust panic".to_owned());
            out.push(PANIC);
            <String as Lower<UniFfiTag>>::write(message, &mut out);
        }
    }
    out
}

/// Copies the first `len` bytes of the Java array `array`.
///
/// # Safety
/// `env` is the current thread's JNI environment and `array` a live `byte[]` of at least `len` bytes.
unsafe fn bytes_of(env: *mut JNIEnv, array: jbyteArray, len: jint) -> Vec<u8> {
    let mut bytes = vec![0_u8; usize::try_from(len).unwrap_or(0)];
    if !bytes.is_empty() {
        // SAFETY: per this function's contract; `bytes` has room for `len` bytes.
        unsafe {
            ((**env).v1_1.GetByteArrayRegion)(env, array, 0, len, bytes.as_mut_ptr().cast());
        }
    }
    bytes
}

/// A new Java `byte[]` holding `bytes`, or null with an `OutOfMemoryError` pending.
///
/// # Safety
/// `env` is the current thread's JNI environment.
unsafe fn byte_array(env: *mut JNIEnv, bytes: &[u8]) -> jbyteArray {
    let Ok(len) = jint::try_from(bytes.len()) else { return std::ptr::null_mut() };
    // SAFETY: per this function's contract; the array is `len` bytes long.
    unsafe {
        let array = ((**env).v1_1.NewByteArray)(env, len);
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

/// `UniffiJni.signerSign(handle, args, len)`: `args` holds the `Request` and the optional time.
///
/// # Safety
/// Called by the JVM only, with `handle` the uniffi handle of a live `Signer` (the Kotlin object
/// keeps it alive for the call) and `args` a `byte[]` of at least `len` bytes.
unsafe extern "system" fn signer_sign(env: *mut JNIEnv, _class: jobject, handle: jlong, args: jbyteArray, len: jint) -> jbyteArray {
    // SAFETY: per this function's contract.
    let args = unsafe { bytes_of(env, args, len) };
    // SAFETY: the Kotlin object holds its reference until this call has returned.
    let signer = unsafe { &*borrow::<Signer>(handle) };
    let out = answer(&args, |args| {
        let request: Request = read(args)?;
        let at: Option<SystemTime> = read(args)?;
        Ok(signer.sign(&request, at))
    });
    // SAFETY: `env` is this thread's environment.
    unsafe { byte_array(env, &out) }
}

/// `UniffiJni.verifierVerify(handle, args, len)`: `args` holds the `Request` and the optional time.
///
/// # Safety
/// As [`signer_sign`], for a `Verifier`.
unsafe extern "system" fn verifier_verify(
    env: *mut JNIEnv,
    _class: jobject,
    handle: jlong,
    args: jbyteArray,
    len: jint,
) -> jbyteArray {
    // SAFETY: per this function's contract.
    let args = unsafe { bytes_of(env, args, len) };
    // SAFETY: as in `signer_sign`.
    let verifier = unsafe { &*borrow::<Verifier>(handle) };
    let out = answer(&args, |args| {
        let request: Request = read(args)?;
        let now: Option<SystemTime> = read(args)?;
        Ok(verifier.verify(&request, now))
    });
    // SAFETY: `env` is this thread's environment.
    unsafe { byte_array(env, &out) }
}

/// Binds `signerSign` and `verifierVerify` of the Kotlin class `class` (`apig.UniffiJni`) to
/// [`signer_sign`] and [`verifier_verify`]; 0 on success, JNI's error code otherwise. Called
/// through JNA, which passes the current thread's `JNIEnv`.
///
/// # Safety
/// `env` is the calling thread's JNI environment and `class` a live reference to the class.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn apig_uniffi_jni_register(env: *mut JNIEnv, class: jobject) -> jint {
    const SIGNATURE: &[u8] = b"(J[BI)[B\0";
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
