//! The one error mapping of this binding: every core [`ErrorKind`] becomes a JS `ApigError`
//! whose `code` is the core's stable code, with the core's APIG answer (`status`, `apigCode`,
//! `apigMessage`), as in the native package.
//!
//! An error crosses to JavaScript as one string (see [`to_js`], [`ERROR_FIELDS`]); the package's
//! `js/engine.js` turns it into the shared API's `ApigError`.

use std::cell::RefCell;

use apig::{ApigErrorResponse, DEFAULT_CODE_PREFIX, Error, ErrorKind};
use wasm_bindgen::prelude::*;

use crate::wire::Packed;

/// The fields of a thrown error, joined by NUL, in order: the core's APIG message and the
/// verifier's canonical request and string to sign only for an error carrying a trace (a
/// verifier's signature mismatch; else empty: `js/engine.js` then takes [`push_answers`]), the
/// message last (it may quote input).
#[cfg_attr(not(test), allow(dead_code))]
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

thread_local! {
    /// The error of the last export that answered [`FAILED`], until [`take_error`] takes it.
    static PENDING: RefCell<Option<JsValue>> = const { RefCell::new(None) };
}

/// What an export answering one number returns when it failed: its error waits for
/// [`take_error`]. (A `Result` return makes wasm-bindgen return three values, which JavaScript
/// receives as a new array on every call.)
pub(crate) const FAILED: u32 = 0;

/// `result` as one number: the value, or [`FAILED`] with the error kept for [`take_error`]. The
/// value must not be [`FAILED`].
pub(crate) fn or_failed(result: Result<u32, JsValue>) -> u32 {
    result.unwrap_or_else(|error| {
        PENDING.with(|pending| *pending.borrow_mut() = Some(error));
        FAILED
    })
}

/// The error of the last export that returned [`FAILED`] (the JS value [`to_js`] made), taken:
/// `undefined` when there is none.
#[wasm_bindgen(js_name = takeError, skip_typescript)]
pub fn take_error() -> JsValue {
    PENDING.with(|pending| pending.borrow_mut().take()).unwrap_or(JsValue::UNDEFINED)
}

/// Shorthand: a core error of `kind` with `message`, as the JS value to throw.
pub(crate) fn js_error(kind: ErrorKind, message: impl Into<String>) -> JsValue {
    to_js(&Error::new(kind, message))
}

/// The core's APIG answer to each error kind without a trace (every error but a verifier's
/// signature mismatch), for `js/engine.js` to give each `ApigError`: for each kind of
/// `ErrorKind::ALL`, in order, its HTTP status, APIG code and the `error_msg` of an empty message
/// (the lead the message follows: the test `every_kind_has_its_answer` checks that lead + message
/// is the core's answer), each then NUL. A table read once at load: smaller in the browser module
/// than an export computing each error's answer.
pub(crate) fn push_answers(out: &mut String) {
    for kind in ErrorKind::ALL {
        let answer = ApigErrorResponse::from_kind(kind, "");
        // the status as three ASCII digits, the code as `APIG.` and the number (no formatting code)
        let status = answer.status();
        for digit in [status / 100, status / 10 % 10, status % 10] {
            out.push(char::from(b'0' + u8::try_from(digit).unwrap_or(0)));
        }
        for piece in ["\0", DEFAULT_CODE_PREFIX, ".", answer.number(), "\0", answer.message(), "\0"] {
            out.push_str(piece);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_answer() {
        let mut table = String::new();
        push_answers(&mut table);
        let fields: Vec<&str> = table.split('\0').collect();
        assert_eq!(fields.len(), 3 * ErrorKind::ALL.len() + 1);
        for (answer, kind) in fields.chunks_exact(3).zip(ErrorKind::ALL) {
            let expected = ApigErrorResponse::from_error(&Error::new(kind, "example"));
            assert_eq!(answer[0], expected.status().to_string(), "{kind:?}");
            assert_eq!(answer[1], expected.error_code(DEFAULT_CODE_PREFIX));
            assert_eq!(format!("{}example", answer[2]), expected.message());
        }
    }
}
