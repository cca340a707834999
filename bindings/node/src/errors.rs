//! The one mapping from the core's errors to JavaScript: an `ApigError` (a subclass of `Error`
//! defined by the package's `index.js`) whose `code` is the core's stable code.

use std::cell::RefCell;

use apig::{Error, ErrorKind};
use napi::bindgen_prelude::{FnArgs, FromNapiValue, Function, FunctionRef, JsObjectValue, Object, Unknown};
use napi::{Env, JsValue, Status};
use napi_derive::napi;

type ErrorClass = FunctionRef<FnArgs<(String, &'static str, u32)>, Unknown<'static>>;

thread_local! {
    /// The `ApigError` constructor of this thread's Node environment (main thread or a worker).
    static ERROR_CLASS: RefCell<Option<ErrorClass>> = const { RefCell::new(None) };
}

/// The HTTP status a server answers for an error of `kind` (`err.status`, as Express and
/// `http-errors` expect): 401 for every authentication failure (APIG's `APIG.0303`), 400 for a
/// request that cannot be read or canonicalised, 500 for a misconfigured signer or verifier.
const fn http_status(kind: ErrorKind) -> u32 {
    match kind {
        ErrorKind::MissingAuthorization
        | ErrorKind::MalformedAuthorization
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::UnknownAccessKey
        | ErrorKind::MissingDate
        | ErrorKind::MalformedDate
        | ErrorKind::DateNotSigned
        | ErrorKind::Expired
        | ErrorKind::SignedHeaderMissing
        | ErrorKind::HostNotSigned
        | ErrorKind::DuplicateHeader
        | ErrorKind::CredentialScopeMismatch
        | ErrorKind::UnsignedPayloadNotAllowed
        | ErrorKind::PayloadHashMismatch
        | ErrorKind::SignatureMismatch => 401,
        ErrorKind::InvalidRequest | ErrorKind::BodyRead => 400,
        ErrorKind::InvalidConfig => 500,
    }
}

/// Every error code of the core, in the core's order (`ErrorKind::ALL`); `ERROR_CODES` is this list.
#[napi(ts_return_type = "ApigErrorCode[]")]
pub fn error_codes() -> Vec<&'static str> {
    ErrorKind::ALL.iter().map(|kind| kind.code()).collect()
}

/// Internal: called once by `index.js` with the `ApigError` class the native errors are made of.
#[napi(skip_typescript)]
pub fn register_error_class(
    class: Function<'_, FnArgs<(String, &'static str, u32)>, Unknown<'static>>,
) -> napi::Result<()> {
    let class = class.create_ref()?;
    ERROR_CLASS.with(|slot| *slot.borrow_mut() = Some(class));
    Ok(())
}

/// Shorthand for an `invalid_request` error about a JavaScript value.
pub(crate) fn invalid_request(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidRequest, message)
}

/// Shorthand for an `invalid_config` error about a constructor option.
pub(crate) fn invalid_config(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidConfig, message)
}

/// The JavaScript error thrown for `error`: `new ApigError(message, code, status)` with
/// `apigMessage` (the text APIG puts in its `error_msg`), plus `canonicalRequest` / `stringToSign`
/// when the core carries its trace (a signature mismatch).
pub(crate) fn to_js(env: &Env, error: &Error) -> napi::Error {
    match build(env, error) {
        Ok(value) => napi::Error::from(value),
        // creating the error object itself failed (out of memory, a throwing constructor…)
        Err(failure) => napi::Error::new(Status::GenericFailure, format!("{error} ({failure})")),
    }
}

fn build<'env>(env: &'env Env, error: &Error) -> napi::Result<Unknown<'env>> {
    let kind = error.kind();
    let message = error.message().to_owned();
    let created = ERROR_CLASS.with(|slot| -> napi::Result<Option<Unknown<'env>>> {
        match &*slot.borrow() {
            Some(class) => {
                let instance =
                    class.borrow_back(env)?.new_instance((message.clone(), kind.code(), http_status(kind)).into())?;
                Ok(Some(instance))
            }
            None => Ok(None),
        }
    })?;
    let mut object = match created {
        Some(instance) => Object::from_unknown(instance)?,
        None => {
            // the binding loaded without index.js: a plain Error with the same fields
            let mut plain = env.create_error(napi::Error::new(Status::GenericFailure, message))?;
            plain.set_named_property("name", "ApigError")?;
            plain.set_named_property("code", kind.code())?;
            plain.set_named_property("status", http_status(kind))?;
            plain
        }
    };
    // what APIG writes after "Incorrect app authentication information: "
    match error.trace() {
        Some(trace) => {
            object.set_named_property("canonicalRequest", trace.canonical_request.as_str())?;
            object.set_named_property("stringToSign", trace.string_to_sign.as_str())?;
            object.set_named_property("apigMessage", apig::apig_mismatch_message(trace))?;
        }
        None => object.set_named_property("apigMessage", error.message())?,
    }
    Ok(object.to_unknown())
}

/// `Result<T, apig::Error>` → `napi::Result<T>` with the mapping above.
pub(crate) trait IntoJs<T> {
    /// Throws `ApigError`s for core errors.
    fn into_js(self, env: &Env) -> napi::Result<T>;
}

impl<T> IntoJs<T> for Result<T, Error> {
    fn into_js(self, env: &Env) -> napi::Result<T> {
        self.map_err(|error| to_js(env, &error))
    }
}
