//! The one error type of the crate and its stable codes.

use std::fmt;

use crate::trace::Trace;

/// What went wrong, as a closed set of kinds whose [`code`](ErrorKind::code) is the same string in
/// every language binding (Python `ApigError.code`, Node/WASM `error.code`, Kotlin/Swift enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request carries no `Authorization` header.
    MissingAuthorization,
    /// The `Authorization` header does not have the exact `ALG Access=…, SignedHeaders=…, Signature=…` form.
    MalformedAuthorization,
    /// The algorithm token is unknown, or not allowed by the verifier's policy.
    UnsupportedAlgorithm,
    /// The access key is not known to the verifier.
    UnknownAccessKey,
    /// The request has no `X-Sdk-Date` header.
    MissingDate,
    /// `X-Sdk-Date` is not of the form `yyyyMMdd'T'HHmmss'Z'`, or a time given to sign or verify at
    /// has no such form (outside `00010101T000000Z`..=`99991231T235959Z`).
    MalformedDate,
    /// `x-sdk-date` is not listed in `SignedHeaders`.
    DateNotSigned,
    /// The signing time is further from the verifier's clock than the allowed skew.
    Expired,
    /// A header listed in `SignedHeaders` is absent from the request.
    SignedHeaderMissing,
    /// The policy requires `host` to be signed and it is not.
    HostNotSigned,
    /// A header is given more than once with different values, so the signed value is ambiguous.
    DuplicateHeader,
    /// The V11 credential scope does not match the signing date, region or service.
    CredentialScopeMismatch,
    /// The request is signed with `UNSIGNED-PAYLOAD` and the policy forbids it.
    UnsignedPayloadNotAllowed,
    /// The signed `X-Sdk-Content-Sha256` hash is not the hash of the body received.
    PayloadHashMismatch,
    /// The signature does not match the one the verifier computed.
    SignatureMismatch,
    /// The request cannot be signed or verified as given (bad URL, header name or value, method).
    InvalidRequest,
    /// The signer or verifier settings are inconsistent (empty key, V11 without a region, …).
    InvalidConfig,
    /// Reading a streamed body failed.
    BodyRead,
}

impl ErrorKind {
    /// Every kind, in declaration order; bindings use it to prove their mapping is exhaustive.
    pub const ALL: [Self; 18] = [
        Self::MissingAuthorization,
        Self::MalformedAuthorization,
        Self::UnsupportedAlgorithm,
        Self::UnknownAccessKey,
        Self::MissingDate,
        Self::MalformedDate,
        Self::DateNotSigned,
        Self::Expired,
        Self::SignedHeaderMissing,
        Self::HostNotSigned,
        Self::DuplicateHeader,
        Self::CredentialScopeMismatch,
        Self::UnsignedPayloadNotAllowed,
        Self::PayloadHashMismatch,
        Self::SignatureMismatch,
        Self::InvalidRequest,
        Self::InvalidConfig,
        Self::BodyRead,
    ];

    /// The stable, snake_case code of this kind (`signature_mismatch`, `expired`, …).
    pub const fn code(self) -> &'static str {
        match self {
            Self::MissingAuthorization => "missing_authorization",
            Self::MalformedAuthorization => "malformed_authorization",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::UnknownAccessKey => "unknown_access_key",
            Self::MissingDate => "missing_date",
            Self::MalformedDate => "malformed_date",
            Self::DateNotSigned => "date_not_signed",
            Self::Expired => "expired",
            Self::SignedHeaderMissing => "signed_header_missing",
            Self::HostNotSigned => "host_not_signed",
            Self::DuplicateHeader => "duplicate_header",
            Self::CredentialScopeMismatch => "credential_scope_mismatch",
            Self::UnsignedPayloadNotAllowed => "unsigned_payload_not_allowed",
            Self::PayloadHashMismatch => "payload_hash_mismatch",
            Self::SignatureMismatch => "signature_mismatch",
            Self::InvalidRequest => "invalid_request",
            Self::InvalidConfig => "invalid_config",
            Self::BodyRead => "body_read",
        }
    }

    /// The kind whose [`code`](Self::code) is `code`.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.code() == code)
    }

    /// Whether this kind is a verification failure attributable to the caller's credentials or
    /// signature (APIG answers those with `APIG.0303`, HTTP 401), as opposed to a malformed request.
    pub const fn is_authentication_failure(self) -> bool {
        !matches!(self, Self::InvalidRequest | Self::InvalidConfig | Self::BodyRead)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An error from signing or verifying: a [`kind`](Error::kind) with a stable code, a human message
/// and, for a [`SignatureMismatch`](ErrorKind::SignatureMismatch), the verifier's own trace.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    trace: Option<Box<Trace>>,
}

impl Error {
    /// A new error of `kind` with a message for humans.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), trace: None }
    }

    pub(crate) fn with_trace(mut self, trace: Trace) -> Self {
        self.trace = Some(Box::new(trace));
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Shorthand for `self.kind().code()`.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// The message, without the code.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// On a signature mismatch: the canonical request and string to sign the verifier computed,
    /// to compare with the client's (what `apig explain` does).
    pub fn trace(&self) -> Option<&Trace> {
        self.trace.as_deref()
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("code", &self.kind.code())
            .field("message", &self.message)
            .field("trace", &self.trace)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.message)
    }
}

impl std::error::Error for Error {}

/// `text` as an error message shows it: in double quotes, at most 256 characters, with quotes,
/// backslashes and control characters escaped, so that no raw CR/LF from a request reaches a log.
/// (Written out rather than `{:?}`, whose escaping machinery is kilobytes of WebAssembly.)
pub(crate) fn quoted(text: &str) -> String {
    const MAX_CHARS: usize = 256;
    let mut out = String::with_capacity(text.len().min(MAX_CHARS) + 2);
    out.push('"');
    for (i, c) in text.chars().enumerate() {
        if i == MAX_CHARS {
            out.push('…');
            break;
        }
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => {
                const DIGITS: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u{");
                let code = u32::from(c);
                let digits = (32 - code.leading_zeros()).div_ceil(4).max(1);
                for shift in (0..digits).rev() {
                    out.push(char::from(DIGITS[((code >> (shift * 4)) & 0xf) as usize]));
                }
                out.push('}');
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_escapes_like_debug_and_bounds_the_length() {
        for text in ["GET", "a\"b\\c", "line\r\nX: 1", "tab\there", "nul\0bell\u{7}del\u{7f}", "é中"] {
            assert_eq!(quoted(text), format!("{text:?}"));
        }
        let long = "x".repeat(300);
        assert_eq!(quoted(&long), format!("\"{}…\"", "x".repeat(256)));
    }

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for kind in ErrorKind::ALL {
            assert!(seen.insert(kind.code()), "duplicate code {}", kind.code());
            assert_eq!(ErrorKind::from_code(kind.code()), Some(kind));
            assert!(kind.code().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
        assert_eq!(ErrorKind::from_code("nope"), None);
    }

    #[test]
    fn display_has_code_and_message() {
        let e = Error::new(ErrorKind::Expired, "too old");
        assert_eq!(e.to_string(), "expired: too old");
        assert_eq!(e.code(), "expired");
    }
}
