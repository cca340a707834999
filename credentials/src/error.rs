//! The one error of every provider: a stable `code`, the provider and the source it read.

use std::fmt;

/// What went wrong, as a stable code (the same strings in every language that gets providers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialsErrorKind {
    /// A variable, file, section or key the provider needs is absent (or empty).
    Missing,
    /// A file or an answer that cannot be parsed (INI syntax, JSON, a date).
    Malformed,
    /// An answer (JSON) without an expected field.
    MissingField,
    /// The endpoint could not be reached (connection refused, no route, DNS).
    Unreachable,
    /// The endpoint did not answer within the timeout.
    Timeout,
    /// The endpoint answered with an HTTP error status.
    HttpStatus,
    /// The credentials expired and no fresh ones could be fetched.
    Expired,
    /// Every provider of a chain failed (the message lists each failure).
    NoProvider,
}

impl CredentialsErrorKind {
    /// Every kind, in declaration order (what bindings list as their `CREDENTIALS_ERROR_CODES`).
    pub const ALL: [Self; 8] = [
        Self::Missing,
        Self::Malformed,
        Self::MissingField,
        Self::Unreachable,
        Self::Timeout,
        Self::HttpStatus,
        Self::Expired,
        Self::NoProvider,
    ];

    /// The kind whose [`code`](Self::code) is `code` (`None` for any other string).
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.code() == code)
    }

    /// The stable code: `missing`, `malformed`, `missing_field`, `unreachable`, `timeout`,
    /// `http_status`, `expired`, `no_provider`.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Malformed => "malformed",
            Self::MissingField => "missing_field",
            Self::Unreachable => "unreachable",
            Self::Timeout => "timeout",
            Self::HttpStatus => "http_status",
            Self::Expired => "expired",
            Self::NoProvider => "no_provider",
        }
    }
}

/// A provider's failure: its kind, the provider (`environment`, `profile`, `metadata`, `chain`,
/// …) and the source it read (a variable name, a file path, a URL). Messages never hold a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialsError {
    kind: CredentialsErrorKind,
    provider: &'static str,
    source: String,
    message: String,
}

impl CredentialsError {
    /// A new error.
    pub fn new(
        kind: CredentialsErrorKind,
        provider: &'static str,
        source: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self { kind, provider, source: source.into(), message: message.into() }
    }

    /// The kind.
    pub fn kind(&self) -> CredentialsErrorKind {
        self.kind
    }

    /// The stable code of the kind.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// The provider that failed.
    pub fn provider(&self) -> &'static str {
        self.provider
    }

    /// What it read: a variable name, a file path, a URL.
    pub fn source_name(&self) -> &str {
        &self.source
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {} provider ({}): {}", self.code(), self.provider, self.source, self.message)
    }
}

impl std::error::Error for CredentialsError {}

#[cfg(test)]
mod tests {
    use super::CredentialsErrorKind;

    #[test]
    fn every_kind_is_listed_once_and_found_by_its_code() {
        for kind in CredentialsErrorKind::ALL {
            assert_eq!(CredentialsErrorKind::from_code(kind.code()), Some(kind));
        }
        let codes: std::collections::HashSet<_> = CredentialsErrorKind::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(codes.len(), CredentialsErrorKind::ALL.len());
        assert_eq!(CredentialsErrorKind::from_code("nope"), None);
    }
}
