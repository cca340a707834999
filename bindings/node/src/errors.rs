//! The one mapping from the core's errors to JavaScript: an `ApigError` (a subclass of `Error`
//! defined by the shared JavaScript API, `lib/api.cjs`) whose `code` is the core's stable code, and whose `status`,
//! `apigCode` and `apigMessage` are the core's APIG answer ([`ApigErrorResponse`]).

use std::cell::RefCell;

use apig::{ApigErrorResponse, DEFAULT_BODY_LIMIT, DEFAULT_CODE_PREFIX, Error, ErrorKind, HOP_BY_HOP_HEADERS};
use napi::bindgen_prelude::{FnArgs, FromNapiValue, Function, FunctionRef, JsObjectValue, Object, Unknown};
use napi::{Env, JsValue, Status};
use napi_derive::napi;

type ErrorClass = FunctionRef<FnArgs<(String, &'static str)>, Unknown<'static>>;

thread_local! {
    /// The `ApigError` constructor of this thread's Node environment (main thread or a worker).
    static ERROR_CLASS: RefCell<Option<ErrorClass>> = const { RefCell::new(None) };
}

/// What APIG answers for an error: `status`, `apigCode` and `apigMessage` of an `ApigError`.
#[napi(object, object_from_js = false)]
pub struct ApigAnswer {
    /// The HTTP status: 401 (authentication failures), 400 or 500.
    pub status: u32,
    /// The full APIG error code with the default prefix, e.g. `APIG.0303`.
    pub apig_code: String,
    /// The full `error_msg`, e.g. `Incorrect app authentication information: …`.
    pub apig_message: String,
}

impl ApigAnswer {
    fn of(error: &Error) -> Self {
        Self::from(ApigErrorResponse::from_error(error))
    }
}

impl From<ApigErrorResponse> for ApigAnswer {
    fn from(answer: ApigErrorResponse) -> Self {
        Self {
            status: u32::from(answer.status()),
            apig_code: answer.error_code(DEFAULT_CODE_PREFIX),
            apig_message: answer.message().to_owned(),
        }
    }
}

/// Internal, for the `ApigError` constructor: the core's answer to an error of `code` with
/// `message` (`null` for an unknown code).
#[napi(skip_typescript)]
pub fn apig_answer(code: String, message: String) -> Option<ApigAnswer> {
    ErrorKind::from_code(&code).map(|kind| ApigAnswer::of(&Error::new(kind, message)))
}

/// Internal, for `verifyMiddleware`: the core's answer to a body larger than `limit` bytes (413,
/// `APIG.0201`, `Request entity too large, limit N bytes`), the gateway's and every middleware's.
#[napi(skip_typescript)]
pub fn body_too_large(limit: i64) -> ApigAnswer {
    ApigAnswer::from(ApigErrorResponse::body_too_large(u64::try_from(limit).unwrap_or(0)))
}

/// Internal, for `verifyMiddleware`: the core's default body limit in bytes (`DEFAULT_BODY_LIMIT`).
#[napi(skip_typescript)]
pub fn default_body_limit() -> i64 {
    i64::try_from(DEFAULT_BODY_LIMIT).unwrap_or(i64::MAX)
}

/// Internal: the core's hop-by-hop headers (`HOP_BY_HOP_HEADERS` of the package), which the client
/// integrations leave out of the signature.
#[napi(skip_typescript)]
pub fn hop_by_hop_headers() -> Vec<&'static str> {
    HOP_BY_HOP_HEADERS.to_vec()
}

/// Internal: from the message of an APIG "signature expired" rejection, the seconds to add to the
/// local clock to match the server's (the core's `clock_skew_from_apig_message`); `null` when the
/// message is not such a rejection.
#[napi(skip_typescript)]
pub fn clock_skew_from_expired(message: String) -> Option<f64> {
    // seconds between two years-1..9999 dates: exact in an f64
    #[allow(clippy::cast_precision_loss)]
    apig::clock_skew_from_apig_message(&message).map(|seconds| seconds as f64)
}

/// Every error code of the core, in the core's order (`ErrorKind::ALL`); `ERROR_CODES` is this list.
#[napi(ts_return_type = "ApigErrorCode[]")]
pub fn error_codes() -> Vec<&'static str> {
    ErrorKind::ALL.iter().map(|kind| kind.code()).collect()
}

/// Internal: called once by `lib/engine.js` with the `ApigError` class the native errors are made of.
#[napi(skip_typescript)]
pub fn register_error_class(class: Function<'_, FnArgs<(String, &'static str)>, Unknown<'static>>) -> napi::Result<()> {
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

/// The JavaScript error thrown for `error`: `new ApigError(message, code)` with `status`,
/// `apigCode` and `apigMessage` from the core's [`ApigErrorResponse`] of this very error (for a
/// signature mismatch the message echoes the verifier's canonical request), plus
/// `canonicalRequest` / `stringToSign` when the core carries its trace.
pub(crate) fn to_js(env: &Env, error: &Error) -> napi::Error {
    match build(env, error) {
        Ok(value) => napi::Error::from(value),
        // creating the error object itself failed (out of memory, a throwing constructor…)
        Err(failure) => napi::Error::new(Status::GenericFailure, format!("{error} ({failure})")),
    }
}

fn build<'env>(env: &'env Env, error: &Error) -> napi::Result<Unknown<'env>> {
    let message = error.message().to_owned();
    let created = ERROR_CLASS.with(|slot| -> napi::Result<Option<Unknown<'env>>> {
        match &*slot.borrow() {
            Some(class) => Ok(Some(class.borrow_back(env)?.new_instance((message.clone(), error.code()).into())?)),
            None => Ok(None),
        }
    })?;
    let mut object = match created {
        Some(instance) => Object::from_unknown(instance)?,
        None => {
            // the addon loaded without lib/engine.js: a plain Error with the same fields
            let mut plain = env.create_error(napi::Error::new(Status::GenericFailure, message))?;
            plain.set_named_property("name", "ApigError")?;
            plain.set_named_property("code", error.code())?;
            plain
        }
    };
    let answer = ApigAnswer::of(error);
    object.set_named_property("status", answer.status)?;
    object.set_named_property("apigCode", answer.apig_code)?;
    object.set_named_property("apigMessage", answer.apig_message)?;
    if let Some(trace) = error.trace() {
        object.set_named_property("canonicalRequest", trace.canonical_request.as_str())?;
        object.set_named_property("stringToSign", trace.string_to_sign.as_str())?;
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
