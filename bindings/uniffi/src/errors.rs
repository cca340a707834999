//! The one error type: a flat enum with one variant per [`apig::ErrorKind`], each carrying the core's
//! message; [`ApigError::code`] is the core's stable code (`expired`, `signature_mismatch`, …).
//!
//! Kotlin sees `ApigException.Expired(reason)` … with `e.code()`; Swift `ApigError.expired(reason:)`
//! with `e.code()`. A [`SignatureMismatch`](ApigError::SignatureMismatch) from a verifier also carries
//! the verifier's canonical request and string to sign, to compare with the client's.

use std::fmt;

use apig::ErrorKind;

use crate::convert::Trace;

/// An error from signing or verifying. `code()` is the same stable string in every apig binding.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Error)]
#[uniffi::export(Display)]
pub enum ApigError {
    /// The request carries no `Authorization` header.
    MissingAuthorization {
        /// What went wrong, for humans.
        reason: String,
    },
    /// The `Authorization` header is not of the form `ALG Access=…, SignedHeaders=…, Signature=…`.
    MalformedAuthorization {
        /// What went wrong, for humans.
        reason: String,
    },
    /// The algorithm is unknown, or not allowed by the verifier's policy.
    UnsupportedAlgorithm {
        /// What went wrong, for humans.
        reason: String,
    },
    /// The access key is not known to the verifier.
    UnknownAccessKey {
        /// What went wrong, for humans.
        reason: String,
    },
    /// The request has no `X-Sdk-Date` header.
    MissingDate {
        /// What went wrong, for humans.
        reason: String,
    },
    /// A date is not of the form `yyyyMMdd'T'HHmmss'Z'`, or a time is outside the years 0001 to
    /// 9999, which no `X-Sdk-Date` can carry.
    MalformedDate {
        /// What went wrong, for humans.
        reason: String,
    },
    /// `x-sdk-date` is not listed in `SignedHeaders`.
    DateNotSigned {
        /// What went wrong, for humans.
        reason: String,
    },
    /// The signing time is further from the verifier's clock than the allowed skew.
    Expired {
        /// What went wrong, for humans.
        reason: String,
    },
    /// A header listed in `SignedHeaders` is absent from the request.
    SignedHeaderMissing {
        /// What went wrong, for humans.
        reason: String,
    },
    /// The policy requires `host` to be signed and it is not.
    HostNotSigned {
        /// What went wrong, for humans.
        reason: String,
    },
    /// A header is given more than once with different values.
    DuplicateHeader {
        /// What went wrong, for humans.
        reason: String,
    },
    /// The V11 credential scope does not match the signing date, region or service.
    CredentialScopeMismatch {
        /// What went wrong, for humans.
        reason: String,
    },
    /// The request is signed with `UNSIGNED-PAYLOAD` and the policy forbids it.
    UnsignedPayloadNotAllowed {
        /// What went wrong, for humans.
        reason: String,
    },
    /// The signed `X-Sdk-Content-Sha256` is not the hash of the body received.
    PayloadHashMismatch {
        /// What went wrong, for humans.
        reason: String,
    },
    /// The signature does not match the one the verifier computed.
    SignatureMismatch {
        /// What went wrong, for humans.
        reason: String,
        /// The verifier's canonical request and string to sign (compare them with the client's).
        trace: Option<Trace>,
    },
    /// The request cannot be signed or verified as given (bad URL, header name or value, method).
    InvalidRequest {
        /// What went wrong, for humans.
        reason: String,
    },
    /// The signer or verifier settings are inconsistent (empty key, V11 without a region, …).
    InvalidConfig {
        /// What went wrong, for humans.
        reason: String,
    },
    /// Reading a streamed body failed.
    BodyRead {
        /// What went wrong, for humans.
        reason: String,
    },
    /// A credentials provider failed (`apig_credentials::CredentialsError`): `code()` is the
    /// provider error's stable code (`missing`, `malformed`, `missing_field`, `unreachable`,
    /// `timeout`, `http_status`, `expired`, `no_provider`), as in every language with providers.
    Credentials {
        /// What went wrong, for humans (never a secret).
        reason: String,
        /// The stable code, the same as `code()`.
        error_code: String,
        /// The provider that failed: `environment`, `profile`, `metadata`, `chain`, or a foreign
        /// provider's name.
        provider: String,
        /// What it read: a variable name, a file path and section, a URL.
        source: String,
    },
}

#[uniffi::export]
impl ApigError {
    /// The core's stable code of this error (`signature_mismatch`, `expired`, …).
    pub fn code(&self) -> String {
        match self {
            Self::Credentials { error_code, .. } => error_code.clone(),
            _ => self.kind().map_or("", ErrorKind::code).to_owned(),
        }
    }

    /// The message for humans, without the code.
    pub fn reason(&self) -> String {
        self.parts().0.to_owned()
    }
}

impl ApigError {
    /// The core kind of this error (none for a credentials provider's error).
    pub fn kind(&self) -> Option<ErrorKind> {
        Some(match self {
            Self::MissingAuthorization { .. } => ErrorKind::MissingAuthorization,
            Self::MalformedAuthorization { .. } => ErrorKind::MalformedAuthorization,
            Self::UnsupportedAlgorithm { .. } => ErrorKind::UnsupportedAlgorithm,
            Self::UnknownAccessKey { .. } => ErrorKind::UnknownAccessKey,
            Self::MissingDate { .. } => ErrorKind::MissingDate,
            Self::MalformedDate { .. } => ErrorKind::MalformedDate,
            Self::DateNotSigned { .. } => ErrorKind::DateNotSigned,
            Self::Expired { .. } => ErrorKind::Expired,
            Self::SignedHeaderMissing { .. } => ErrorKind::SignedHeaderMissing,
            Self::HostNotSigned { .. } => ErrorKind::HostNotSigned,
            Self::DuplicateHeader { .. } => ErrorKind::DuplicateHeader,
            Self::CredentialScopeMismatch { .. } => ErrorKind::CredentialScopeMismatch,
            Self::UnsignedPayloadNotAllowed { .. } => ErrorKind::UnsignedPayloadNotAllowed,
            Self::PayloadHashMismatch { .. } => ErrorKind::PayloadHashMismatch,
            Self::SignatureMismatch { .. } => ErrorKind::SignatureMismatch,
            Self::InvalidRequest { .. } => ErrorKind::InvalidRequest,
            Self::InvalidConfig { .. } => ErrorKind::InvalidConfig,
            Self::BodyRead { .. } => ErrorKind::BodyRead,
            Self::Credentials { .. } => return None,
        })
    }

    fn parts(&self) -> (&str, Option<&Trace>) {
        match self {
            Self::SignatureMismatch { reason, trace } => (reason, trace.as_ref()),
            Self::MissingAuthorization { reason }
            | Self::MalformedAuthorization { reason }
            | Self::UnsupportedAlgorithm { reason }
            | Self::UnknownAccessKey { reason }
            | Self::MissingDate { reason }
            | Self::MalformedDate { reason }
            | Self::DateNotSigned { reason }
            | Self::Expired { reason }
            | Self::SignedHeaderMissing { reason }
            | Self::HostNotSigned { reason }
            | Self::DuplicateHeader { reason }
            | Self::CredentialScopeMismatch { reason }
            | Self::UnsignedPayloadNotAllowed { reason }
            | Self::PayloadHashMismatch { reason }
            | Self::InvalidRequest { reason }
            | Self::InvalidConfig { reason }
            | Self::BodyRead { reason }
            | Self::Credentials { reason, .. } => (reason, None),
        }
    }
}

impl From<apig::Error> for ApigError {
    fn from(error: apig::Error) -> Self {
        let reason = error.message().to_owned();
        match error.kind() {
            ErrorKind::MissingAuthorization => Self::MissingAuthorization { reason },
            ErrorKind::MalformedAuthorization => Self::MalformedAuthorization { reason },
            ErrorKind::UnsupportedAlgorithm => Self::UnsupportedAlgorithm { reason },
            ErrorKind::UnknownAccessKey => Self::UnknownAccessKey { reason },
            ErrorKind::MissingDate => Self::MissingDate { reason },
            ErrorKind::MalformedDate => Self::MalformedDate { reason },
            ErrorKind::DateNotSigned => Self::DateNotSigned { reason },
            ErrorKind::Expired => Self::Expired { reason },
            ErrorKind::SignedHeaderMissing => Self::SignedHeaderMissing { reason },
            ErrorKind::HostNotSigned => Self::HostNotSigned { reason },
            ErrorKind::DuplicateHeader => Self::DuplicateHeader { reason },
            ErrorKind::CredentialScopeMismatch => Self::CredentialScopeMismatch { reason },
            ErrorKind::UnsignedPayloadNotAllowed => Self::UnsignedPayloadNotAllowed { reason },
            ErrorKind::PayloadHashMismatch => Self::PayloadHashMismatch { reason },
            ErrorKind::SignatureMismatch => Self::SignatureMismatch { reason, trace: error.trace().map(Trace::from) },
            ErrorKind::InvalidRequest => Self::InvalidRequest { reason },
            ErrorKind::InvalidConfig => Self::InvalidConfig { reason },
            ErrorKind::BodyRead => Self::BodyRead { reason },
        }
    }
}

impl From<apig_credentials::CredentialsError> for ApigError {
    fn from(error: apig_credentials::CredentialsError) -> Self {
        Self::Credentials {
            reason: error.message().to_owned(),
            error_code: error.code().to_owned(),
            provider: error.provider().to_owned(),
            source: error.source_name().to_owned(),
        }
    }
}

/// `code: reason`, as the core's `Display`; a provider's error also names the provider and source (Kotlin `toString()`, Swift `description`).
impl fmt::Display for ApigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Credentials { error_code, provider, source, reason } => {
                write!(f, "{error_code}: {provider} provider ({source}): {reason}")
            }
            _ => write!(f, "{}: {}", self.code(), self.parts().0),
        }
    }
}

impl std::error::Error for ApigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_kind_maps_to_its_own_variant_with_the_same_code() {
        let mut seen = std::collections::HashSet::new();
        for kind in ErrorKind::ALL {
            let error = ApigError::from(apig::Error::new(kind, format!("because {kind}")));
            assert_eq!(error.kind(), Some(kind));
            assert_eq!(error.code(), kind.code());
            assert_eq!(error.reason(), format!("because {kind}"));
            assert_eq!(error.to_string(), format!("{}: because {}", kind.code(), kind.code()));
            assert!(seen.insert(std::mem::discriminant(&error)), "{kind:?} shares a variant");
        }
        assert_eq!(seen.len(), ErrorKind::ALL.len());
    }
}
