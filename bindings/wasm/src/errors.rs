//! The one error mapping of this binding: every core [`ErrorKind`] becomes a JS `ApigError`
//! whose `code` is the core's stable code, with the core's APIG answer (`status`, `apigCode`,
//! `apigMessage`), as in the native package.
//!
//! An error crosses to JavaScript as one string (see [`to_js`], [`ERROR_FIELDS`]); the package's
//! `js/engine.js` turns it into the shared API's `ApigError`.

use apig::{ApigErrorResponse, DEFAULT_CODE_PREFIX, Error, ErrorKind, HOP_BY_HOP_HEADERS};
use wasm_bindgen::prelude::*;

use crate::wire::Packed;

/// The fields of a thrown error, joined by NUL, in order: the verifier's canonical request and
/// string to sign only on a signature mismatch (else empty), the message last (it may quote input).
pub(crate) const ERROR_FIELDS: [&str; 7] =
    ["code", "status", "apigCode", "apigMessage", "canonicalRequest", "stringToSign", "message"];

/// `status\0apigCode\0apigMessage`: the core's APIG answer to `error` (the status as digits).
fn push_answer(packed: &mut Packed, error: &Error) {
    let answer = ApigErrorResponse::from_error(error);
    packed.push(&answer.status().to_string()).push(&answer.error_code(DEFAULT_CODE_PREFIX)).push(answer.message());
}

/// The JS value thrown for a core error: [`ERROR_FIELDS`] joined by NUL, which `js/engine.js`
/// makes an `ApigError` of.
pub(crate) fn to_js(error: &Error) -> JsValue {
    let trace = error.trace();
    let (canonical_request, string_to_sign) =
        trace.map_or(("", ""), |t| (t.canonical_request.as_str(), t.string_to_sign.as_str()));
    let mut packed = Packed::with_capacity(2 * error.message().len() + canonical_request.len() * 2 + 128);
    packed.push(error.kind().code());
    push_answer(&mut packed, error);
    packed.push(canonical_request).push(string_to_sign).push(error.message());
    JsValue::from_str(&packed.into_string())
}

/// Shorthand: a core error of `kind` with `message`, as the JS value to throw.
pub(crate) fn js_error(kind: ErrorKind, message: impl Into<String>) -> JsValue {
    to_js(&Error::new(kind, message))
}

/// Every error code, in the core's order (`ErrorKind::ALL`), joined by NUL.
#[wasm_bindgen(js_name = errorCodes, skip_typescript)]
pub fn error_codes() -> String {
    ErrorKind::ALL.iter().map(|kind| kind.code()).collect::<Vec<_>>().join("\0")
}

/// The core's APIG answer to an error of `code` with `message` (an `ApigError` made in
/// JavaScript): `status\0apigCode\0apigMessage`, `undefined` for an unknown code.
#[wasm_bindgen(js_name = apigAnswer, skip_typescript)]
pub fn apig_answer(code: &str, message: String) -> Option<String> {
    let kind = ErrorKind::from_code(code)?;
    let mut packed = Packed::with_capacity(message.len() + 64);
    push_answer(&mut packed, &Error::new(kind, message));
    Some(packed.into_string())
}

/// The core's hop-by-hop headers, joined by NUL.
#[wasm_bindgen(js_name = hopByHopHeaders, skip_typescript)]
pub fn hop_by_hop_headers() -> String {
    HOP_BY_HOP_HEADERS.join("\0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_code_and_answer() {
        let codes = error_codes();
        assert_eq!(codes.split('\0').collect::<Vec<_>>(), ErrorKind::ALL.map(|kind| kind.code()));
        for kind in ErrorKind::ALL {
            let answer = apig_answer(kind.code(), "example".to_owned()).unwrap_or_default();
            let fields: Vec<&str> = answer.split('\0').collect();
            let expected = ApigErrorResponse::from_error(&Error::new(kind, "example"));
            assert_eq!(fields[0], expected.status().to_string(), "{kind:?}");
            assert_eq!(fields[1], expected.error_code(DEFAULT_CODE_PREFIX));
            assert_eq!(fields[2], expected.message());
        }
        assert_eq!(apig_answer("no_such_code", String::new()), None);
    }
}
