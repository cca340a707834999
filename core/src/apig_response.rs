//! How APIG answers a failed app authentication: HTTP status, `APIG.xxxx` code and message text.
//!
//! Every server-side front end (the reference gateway, the Python ASGI/WSGI middlewares, the Node and
//! WASM middlewares) answers a verification error with this one mapping, so a client sees the same
//! `{"error_code","error_msg","request_id"}` body wherever it is verified. `docs/error-codes.md` lists it.

use std::fmt::Write as _;

use crate::error::{Error, ErrorKind};
use crate::explain::apig_mismatch_message;
use crate::time::SdkDate;

/// What precedes every `APIG.0303` message: `Incorrect app authentication information: `.
pub const APP_AUTH_PREFIX: &str = "Incorrect app authentication information: ";

/// The default error code prefix (`APIG.0303`); APIG also uses `APIGW`.
pub const DEFAULT_CODE_PREFIX: &str = "APIG";

/// The largest request body a verifying middleware buffers by default, in bytes: 12 MiB, APIG's own
/// limit and the reference gateway's default `max_body_bytes`. Larger bodies are answered
/// [`ApigErrorResponse::body_too_large`].
pub const DEFAULT_BODY_LIMIT: u64 = 12 * 1024 * 1024;

impl ErrorKind {
    /// The HTTP status and APIG error number a gateway answers this kind with: every
    /// authentication failure is `401 APIG.0303`; a request that cannot be read is `400 APIG.0201`;
    /// an inconsistent verifier configuration is `500 APIG.0000` (never caused by the client).
    pub const fn apig_status_and_number(self) -> (u16, &'static str) {
        match self {
            Self::InvalidRequest | Self::BodyRead => (400, "0201"),
            Self::InvalidConfig => (500, "0000"),
            Self::MissingAuthorization
            | Self::MalformedAuthorization
            | Self::UnsupportedAlgorithm
            | Self::UnknownAccessKey
            | Self::MissingDate
            | Self::MalformedDate
            | Self::DateNotSigned
            | Self::Expired
            | Self::SignedHeaderMissing
            | Self::HostNotSigned
            | Self::DuplicateHeader
            | Self::CredentialScopeMismatch
            | Self::UnsignedPayloadNotAllowed
            | Self::PayloadHashMismatch
            | Self::SignatureMismatch => (401, "0303"),
        }
    }
}

/// The APIG error answer to a core [`Error`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApigErrorResponse {
    status: u16,
    number: &'static str,
    message: String,
    code: &'static str,
}

impl ApigErrorResponse {
    /// The answer to `error`, with APIG's message texts: `Incorrect app authentication information: `
    /// followed by `verify signature fail, canonicalRequest:…` (newlines shown as `|`) for a signature
    /// mismatch, `signature expired, signature time:…, server time:…` for an expired date,
    /// `app not found, appkey …` for an unknown key, and the core's message otherwise.
    pub fn from_error(error: &Error) -> Self {
        match (error.kind(), error.trace()) {
            (ErrorKind::SignatureMismatch, Some(trace)) => {
                let (status, number) = error.kind().apig_status_and_number();
                let message = format!("{APP_AUTH_PREFIX}{}", apig_mismatch_message(trace));
                Self { status, number, message, code: error.code() }
            }
            _ => Self::from_kind(error.kind(), error.message()),
        }
    }

    /// The answer to an error of `kind` with `message` and no trace (every error but a verifier's
    /// signature mismatch, whose message quotes the canonical request).
    pub fn from_kind(kind: ErrorKind, message: &str) -> Self {
        let (status, number) = kind.apig_status_and_number();
        let lead = match kind {
            ErrorKind::InvalidRequest | ErrorKind::BodyRead => "Bad request: ",
            ErrorKind::InvalidConfig => "Internal error: ",
            _ => APP_AUTH_PREFIX,
        };
        let mut text = String::with_capacity(lead.len() + message.len());
        text.push_str(lead);
        text.push_str(message);
        Self { status, number, message: text, code: kind.code() }
    }

    /// The answer to a request whose body is larger than `limit` bytes (a middleware's or gateway's
    /// own limit, not a core error): `413`, `APIG.0201`, `Request entity too large, limit N bytes`;
    /// its [`core_code`](Self::core_code) is `body_read`.
    pub fn body_too_large(limit: u64) -> Self {
        Self {
            status: 413,
            number: "0201",
            message: format!("Request entity too large, limit {limit} bytes"),
            code: ErrorKind::BodyRead.code(),
        }
    }

    /// The HTTP status (401, 400, 413 or 500).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The error number without prefix, e.g. `0303`.
    pub fn number(&self) -> &'static str {
        self.number
    }

    /// The full error code with `prefix`, e.g. `APIG.0303`.
    pub fn error_code(&self, prefix: &str) -> String {
        format!("{prefix}.{}", self.number)
    }

    /// The `error_msg` text.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The core's stable code of the underlying error (`signature_mismatch`, …).
    pub fn core_code(&self) -> &'static str {
        self.code
    }

    /// The JSON body `{"error_code":"APIG.0303","error_msg":"…","request_id":"…"}`.
    pub fn to_json(&self, prefix: &str, request_id: &str) -> String {
        let mut out = String::with_capacity(64 + self.message.len() + request_id.len());
        out.push_str("{\"error_code\":");
        json_string(&self.error_code(prefix), &mut out);
        out.push_str(",\"error_msg\":");
        json_string(&self.message, &mut out);
        out.push_str(",\"request_id\":");
        json_string(request_id, &mut out);
        out.push('}');
        out
    }
}

/// From an APIG "signature expired" rejection (`… signature expired, signature time:20240403T101500Z,
/// server time:20240403T103100Z …`, as APIG and [`Verifier`](crate::Verifier) word it; the whole
/// JSON body or the bare message), the seconds to add to the client's clock to match the server's:
/// server time − signature time. `None` when `text` is not such a rejection. Clients with a wrong
/// clock (browsers, devices) learn their offset from it and retry once.
pub fn clock_skew_from_apig_message(text: &str) -> Option<i64> {
    fn date_after(text: &str, label: &str) -> Option<SdkDate> {
        let start = crate::scan::find_text(text, label)? + label.len();
        SdkDate::parse(text.get(start..)?.trim_start().get(..16)?).ok()
    }
    crate::scan::find_text(text, "signature expired")?;
    let signed = date_after(text, "signature time:")?;
    let server = date_after(text, "server time:")?;
    Some(server.unix_seconds() - signed.unix_seconds())
}

/// Appends `s` as a JSON string literal.
fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::canonical_request_from_apig_message;
    use crate::trace::Trace;

    #[test]
    fn the_answer_to_a_kind_is_the_answer_to_its_traceless_error() {
        for kind in ErrorKind::ALL {
            let message = "a message: with \"quotes\" and\nlines";
            assert_eq!(
                ApigErrorResponse::from_kind(kind, message),
                ApigErrorResponse::from_error(&Error::new(kind, message))
            );
        }
    }

    #[test]
    fn every_kind_has_an_answer() {
        for kind in ErrorKind::ALL {
            let (status, number) = kind.apig_status_and_number();
            assert_eq!(status == 401, kind.is_authentication_failure() && number == "0303", "{kind:?}");
            let answer = ApigErrorResponse::from_error(&Error::new(kind, "m"));
            assert_eq!(answer.core_code(), kind.code());
        }
    }

    #[test]
    fn mismatch_message_echoes_the_canonical_request() {
        let trace = Trace { canonical_request: "GET\n/v1/\n\nhost:h\n\nhost\nabc".into(), string_to_sign: "s".into() };
        let err = Error::new(ErrorKind::SignatureMismatch, "verify signature fail").with_trace(trace.clone());
        let answer = ApigErrorResponse::from_error(&err);
        assert_eq!((answer.status(), answer.error_code("APIG")), (401, "APIG.0303".to_owned()));
        assert_eq!(
            answer.message(),
            "Incorrect app authentication information: verify signature fail, canonicalRequest:GET|/v1/||host:h||host|abc"
        );
        let json = answer.to_json("APIGW", "req-1");
        assert!(json.starts_with("{\"error_code\":\"APIGW.0303\",\"error_msg\":\"Incorrect app"));
        assert_eq!(canonical_request_from_apig_message(&json).as_deref(), Some(trace.canonical_request.as_str()));
    }

    #[test]
    fn clock_skew_from_apig_and_verifier_messages() {
        let apig = r#"{"error_msg":"Incorrect app authentication information: signature expired, signature time:20191115T033655Z, server time:20191115T035255Z","error_code":"APIG.0303"}"#;
        assert_eq!(clock_skew_from_apig_message(apig), Some(960));
        assert_eq!(clock_skew_from_apig_message("verify signature fail"), None);
        assert_eq!(clock_skew_from_apig_message("signature expired, signature time:garbage"), None);
        assert_eq!(clock_skew_from_apig_message("signature expired, signature time:2024"), None);
    }

    #[test]
    fn clock_skew_from_a_real_verifier_rejection() {
        use std::collections::HashMap;

        use crate::{FixedClock, SignableBody, SignableRequest, Verifier};
        let headers = [
            ("X-Sdk-Date", "20240403T103100Z"),
            (
                "Authorization",
                "SDK-HMAC-SHA256 Access=AK, SignedHeaders=x-sdk-date, Signature=0000000000000000000000000000000000000000000000000000000000000000",
            ),
        ];
        let server = SdkDate::parse("20240403T101500Z").unwrap().to_system_time();
        let verifier =
            Verifier::new(HashMap::from([("AK".to_owned(), "SK".to_owned())])).with_clock(FixedClock(server));
        let err = verifier.verify(&SignableRequest::new("GET", "/", &headers, SignableBody::Bytes(b""))).unwrap_err();
        let body = ApigErrorResponse::from_error(&err).to_json("APIG", "r");
        assert_eq!(clock_skew_from_apig_message(&body), Some(-960));
    }

    #[test]
    fn body_too_large_is_413_apig_0201() {
        let answer = ApigErrorResponse::body_too_large(DEFAULT_BODY_LIMIT);
        assert_eq!(
            (answer.status(), answer.error_code("APIG"), answer.core_code()),
            (413, "APIG.0201".into(), "body_read")
        );
        assert_eq!(answer.message(), "Request entity too large, limit 12582912 bytes");
        assert_eq!(
            ApigErrorResponse::body_too_large(10).to_json("APIG", "r"),
            r#"{"error_code":"APIG.0201","error_msg":"Request entity too large, limit 10 bytes","request_id":"r"}"#
        );
    }

    #[test]
    fn json_escapes() {
        let answer = ApigErrorResponse::from_error(&Error::new(ErrorKind::InvalidRequest, "bad \"x\"\n\u{1}"));
        assert_eq!(
            answer.to_json("APIG", "r"),
            r#"{"error_code":"APIG.0201","error_msg":"Bad request: bad \"x\"\n\u0001","request_id":"r"}"#
        );
    }
}
