//! The one error mapping of this binding: every core [`ErrorKind`] becomes a JS `ApigError`
//! whose `code` is the core's stable code, with the core's APIG answer (`status`, `apigCode`,
//! `apigMessage`), as in the native package.
//!
//! An error crosses to JavaScript as one string (see [`to_js`], [`ERROR_FIELDS`]); the package's
//! `js/engine.js` turns it into the shared API's `ApigError`.

use apig::{ApigErrorResponse, DEFAULT_CODE_PREFIX, Error, ErrorKind};
use wasm_bindgen::prelude::*;

use crate::wire::Packed;

/// The fields of a thrown error, joined by NUL, in order: the core's APIG message and the
/// verifier's canonical request and string to sign only for an error carrying a trace (a
/// verifier's signature mismatch; else empty: `js/engine.js` then asks [`apig_answer`]), the
/// message last (it may quote input).
pub(crate) const ERROR_FIELDS: [&str; 5] = ["code", "apigMessage", "canonicalRequest", "stringToSign", "message"];

/// The JS value thrown for a core error: [`ERROR_FIELDS`] joined by NUL, which `js/engine.js`
/// makes an `ApigError` of.
pub(crate) fn to_js(error: &Error) -> JsValue {
    let mut packed = Packed::with_capacity(error.message().len() + 32);
    packed.push(error.kind().code());
    match error.trace() {
        // only a verifier's errors carry one: the browser module has none
        #[cfg(feature = "verifier")]
        Some(trace) => {
            packed.push(ApigErrorResponse::from_error(error).message());
            packed.push(&trace.canonical_request).push(&trace.string_to_sign);
        }
        _ => {
            packed.push("").push("").push("");
        }
    }
    packed.push(error.message());
    JsValue::from_str(&packed.into_string())
}

/// Shorthand: a core error of `kind` with `message`, as the JS value to throw.
pub(crate) fn js_error(kind: ErrorKind, message: impl Into<String>) -> JsValue {
    to_js(&Error::new(kind, message))
}

/// The core's APIG answer to an error of the kind `ErrorKind::ALL[index]` (the index of its code in
/// the list [`crate::wire::wire_tables`] gives) with `message` and no trace (every error but a
/// verifier's signature mismatch): `status\0apigCode\0apigMessage`; `undefined` for an index out
/// of range.
#[wasm_bindgen(js_name = apigAnswer, skip_typescript)]
pub fn apig_answer(index: usize, message: &str) -> Option<String> {
    let answer = ApigErrorResponse::from_kind(*ErrorKind::ALL.get(index)?, message);
    // the status as three ASCII digits, the code as `APIG.` and the number (no formatting code)
    let status = answer.status();
    let digits = [status / 100, status / 10 % 10, status % 10].map(|d| b'0' + u8::try_from(d).unwrap_or(0));
    let mut packed = Packed::with_capacity(answer.message().len() + 16);
    packed.push(std::str::from_utf8(&digits).unwrap_or("500"));
    packed.push(DEFAULT_CODE_PREFIX).append(".").append(answer.number());
    packed.push(answer.message());
    Some(packed.into_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_code_and_answer() {
        for (index, kind) in ErrorKind::ALL.into_iter().enumerate() {
            let answer = apig_answer(index, "example").unwrap_or_default();
            let fields: Vec<&str> = answer.split('\0').collect();
            let expected = ApigErrorResponse::from_error(&Error::new(kind, "example"));
            assert_eq!(fields[0], expected.status().to_string(), "{kind:?}");
            assert_eq!(fields[1], expected.error_code(DEFAULT_CODE_PREFIX));
            assert_eq!(fields[2], expected.message());
        }
        assert_eq!(apig_answer(ErrorKind::ALL.len(), ""), None);
    }
}
