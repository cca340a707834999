//! The one error mapping of this binding: every core [`ErrorKind`] becomes a JS `ApigError`
//! whose `code` is the core's stable code, typed as the `ApigErrorCode` union, with the HTTP
//! `status` a server answers (as the Node package).
//!
//! An error crosses to JavaScript as one string (see [`to_js`]); the package's JavaScript half
//! (`js/api.js`) turns it into the `ApigError`, with the status from [`error_table`].

use apig::{Error, ErrorKind};
use wasm_bindgen::prelude::*;

use crate::convert::Packed;

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

/** Every error code, in the core's order. */
export function errorCodes(): ApigErrorCode[];
"#;

/// The HTTP status a server answers for an error of `kind` (`error.status`): the core's APIG
/// mapping (401 `APIG.0303` for authentication failures, 400 `APIG.0201`, 500).
const fn http_status(kind: ErrorKind) -> u16 {
    kind.apig_status_and_number().0
}

/// The JS value thrown for a core error: `code\0canonicalRequest\0stringToSign\0message` (the
/// verifier's canonical request and string to sign on a signature mismatch, else empty), which
/// `js/api.js` makes an `ApigError` of. The message goes last: it may quote input.
pub(crate) fn to_js(error: &Error) -> JsValue {
    let trace = error.trace();
    let (canonical_request, string_to_sign) =
        trace.map_or(("", ""), |t| (t.canonical_request.as_str(), t.string_to_sign.as_str()));
    let mut packed = Packed::with_capacity(error.message().len() + canonical_request.len() + string_to_sign.len() + 32);
    packed.push(error.kind().code()).push(canonical_request).push(string_to_sign).push(error.message());
    JsValue::from_str(&packed.into_string())
}

/// Shorthand: a core error of `kind` with `message`, as the JS value to throw.
pub(crate) fn js_error(kind: ErrorKind, message: impl Into<String>) -> JsValue {
    to_js(&Error::new(kind, message))
}

/// Every error code with its HTTP status, in the core's order (`ErrorKind::ALL`):
/// `code\0status\0code\0status…`, the table `js/api.js` builds `ERROR_CODES` and statuses from.
#[wasm_bindgen(js_name = errorTable, skip_typescript)]
pub fn error_table() -> String {
    let mut packed = Packed::with_capacity(512);
    for kind in ErrorKind::ALL {
        let status = http_status(kind);
        // three ASCII digits
        let digits = [b'0' + (status / 100) as u8, b'0' + (status / 10 % 10) as u8, b'0' + (status % 10) as u8];
        packed.push(kind.code()).push(std::str::from_utf8(&digits).unwrap_or("500"));
    }
    packed.into_string()
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

    #[test]
    fn the_table_lists_every_kind_with_its_status() {
        let table = error_table();
        let fields: Vec<&str> = table.split('\0').collect();
        assert_eq!(fields.len(), 2 * ErrorKind::ALL.len());
        for (pair, kind) in fields.chunks_exact(2).zip(ErrorKind::ALL) {
            assert_eq!(pair[0], kind.code());
            assert_eq!(pair[1], http_status(kind).to_string());
        }
    }
}
