//! The one error mapping of this binding: every core [`ErrorKind`] becomes a JS `ApigError`
//! (the package's class, registered at load) whose `code` is the core's stable code, typed as the
//! `ApigErrorCode` union, with the HTTP `status` a server answers (as the Node package).

use std::cell::RefCell;

use apig::{Error, ErrorKind};
use js_sys::{Array, Function, Reflect};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_SECTION: &str = TS_ERRORS;

/// The TypeScript of the errors, kept as a constant so that a test can check the union.
/// (rustc does not see the macro-generated section use it, hence the allow.)
#[allow(dead_code)]
const TS_ERRORS: &str = r#"
/** The stable code of every apig error: the same strings in every language binding. */
export type ApigErrorCode =
  | "missing_authorization"
  | "malformed_authorization"
  | "unsupported_algorithm"
  | "unknown_access_key"
  | "missing_date"
  | "malformed_date"
  | "date_not_signed"
  | "expired"
  | "signed_header_missing"
  | "host_not_signed"
  | "duplicate_header"
  | "credential_scope_mismatch"
  | "unsigned_payload_not_allowed"
  | "payload_hash_mismatch"
  | "signature_mismatch"
  | "invalid_request"
  | "invalid_config"
  | "body_read";

/** What every failure of this package throws: an `Error` with the core's stable `code`. */
export declare class ApigError extends Error {
  constructor(message: string, code: ApigErrorCode, status?: number);
  readonly name: "ApigError";
  /** Why, as a stable code. */
  readonly code: ApigErrorCode;
  /** The HTTP status a server answers: 401 (authentication failures), 400 or 500. */
  readonly status: number;
  /** `signature_mismatch` only: the verifier's canonical request, to compare with the client's. */
  readonly canonicalRequest?: string;
  /** `signature_mismatch` only: the verifier's string to sign. */
  readonly stringToSign?: string;
}
"#;

/// The HTTP status a server answers for an error of `kind` (`error.status`): the core's APIG
/// mapping (401 `APIG.0303` for authentication failures, 400 `APIG.0201`, 500).
const fn http_status(kind: ErrorKind) -> u16 {
    kind.apig_status_and_number().0
}

thread_local! {
    /// The package's `ApigError` class, registered by its JavaScript half when it loads.
    static ERROR_CLASS: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Registers the class errors are made of: `new Class(message, code, status)`.
#[wasm_bindgen(js_name = registerErrorClass, skip_typescript)]
pub fn register_error_class(class: Function) {
    ERROR_CLASS.with(|slot| *slot.borrow_mut() = Some(class));
}

/// The JS error for a core error: `new ApigError(message, code, status)` (a plain `Error` with the
/// same fields before the class is registered), and on a signature mismatch the verifier's
/// `canonicalRequest` and `stringToSign`.
pub(crate) fn to_js(error: &Error) -> JsValue {
    let kind = error.kind();
    let (message, code, status) =
        (JsValue::from_str(error.message()), JsValue::from_str(kind.code()), JsValue::from(http_status(kind)));
    let constructed = ERROR_CLASS.with(|slot| {
        let args = Array::of3(&message, &code, &status);
        slot.borrow().as_ref().and_then(|class| Reflect::construct(class, &args).ok())
    });
    let js = constructed.unwrap_or_else(|| {
        let plain = js_sys::Error::new(error.message());
        plain.set_name("ApigError");
        set(&plain, "code", &code);
        set(&plain, "status", &status);
        plain.into()
    });
    if let Some(trace) = error.trace() {
        set(&js, "canonicalRequest", &trace.canonical_request.as_str().into());
        set(&js, "stringToSign", &trace.string_to_sign.as_str().into());
    }
    js
}

/// Shorthand: a core error of `kind` with `message`, as the JS error to throw.
pub(crate) fn js_error(kind: ErrorKind, message: impl Into<String>) -> JsValue {
    to_js(&Error::new(kind, message))
}

fn set(target: &JsValue, key: &str, value: &JsValue) {
    // Setting a property on a fresh Error object cannot fail; nothing to report if it did.
    let _ = Reflect::set(target, &key.into(), value);
}

/// Every error code, in the core's order (`ErrorKind::ALL`).
#[wasm_bindgen(js_name = errorCodes, unchecked_return_type = "ApigErrorCode[]")]
pub fn error_codes() -> Vec<String> {
    ErrorKind::ALL.iter().map(|kind| kind.code().to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_maps_to_the_core_code_and_the_ts_union() {
        for kind in ErrorKind::ALL {
            assert!(matches!(http_status(kind), 400 | 401 | 500));
            assert_eq!(http_status(kind) == 401, kind.is_authentication_failure(), "{kind:?}");
            assert!(TS_ERRORS.contains(&format!("| \"{}\"", kind.code())), "{kind:?} missing from ApigErrorCode");
        }
        assert_eq!(TS_ERRORS.matches("\n  | \"").count(), ErrorKind::ALL.len(), "ApigErrorCode lists extra codes");
    }
}
