//! The CLI's one error type: a stable code (the core's, plus `transport` for network failures), a
//! message, and the exit status.

use std::fmt;
use std::process::ExitCode;

use apig::{Error, ErrorKind};

/// Exit status of a usage or input error (bad arguments, unreadable file, missing credentials…).
pub(crate) const EXIT_USAGE: u8 = 2;
/// Exit status of a failed verification, a signature mismatch, a transport failure, or an HTTP error
/// status with `--fail`.
pub(crate) const EXIT_FAILURE: u8 = 1;

/// The code of a network failure in `apig request` (the only code that is not a core error code).
pub(crate) const TRANSPORT: &str = "transport";

/// An error to report as `error[<code>]: message` with an exit status.
#[derive(Debug)]
pub(crate) struct CliError {
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) exit: u8,
    /// More to print after the error line (e.g. the verifier's canonical request).
    pub(crate) detail: Option<String>,
}

impl CliError {
    /// A usage or input error with the core kind that names it.
    pub(crate) fn usage(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { code: kind.code(), message: message.into(), exit: EXIT_USAGE, detail: None }
    }

    /// A core error met while building or signing a request from the user's input: always exit 2.
    pub(crate) fn input(error: &Error) -> Self {
        Self { code: error.code(), message: error.message().to_owned(), exit: EXIT_USAGE, detail: None }
    }

    /// A core error returned by verification: exit 1 when the request failed authentication, 2 when it
    /// could not be verified as given.
    pub(crate) fn verification(error: &Error) -> Self {
        Self {
            code: error.code(),
            message: error.message().to_owned(),
            exit: verification_exit(error.kind()),
            detail: None,
        }
    }

    /// A network failure (connect, TLS, timeout).
    pub(crate) fn transport(message: impl Into<String>) -> Self {
        Self { code: TRANSPORT, message: message.into(), exit: EXIT_FAILURE, detail: None }
    }

    /// Adds text printed after the error line.
    #[must_use]
    pub(crate) fn with_detail(mut self, detail: String) -> Self {
        self.detail = Some(detail);
        self
    }

    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.exit)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error[{}]: {}", self.code, self.message)?;
        match &self.detail {
            Some(detail) => write!(f, "\n{detail}"),
            None => Ok(()),
        }
    }
}

/// The exit status of a verification error, exhaustive over the core's kinds.
pub(crate) const fn verification_exit(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::MissingAuthorization
        | ErrorKind::MalformedAuthorization
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::UnknownAccessKey
        | ErrorKind::MissingDate
        | ErrorKind::MalformedDate
        | ErrorKind::DateNotSigned
        | ErrorKind::Expired
        | ErrorKind::SignedHeaderMissing
        | ErrorKind::HostNotSigned
        | ErrorKind::DuplicateHeader
        | ErrorKind::CredentialScopeMismatch
        | ErrorKind::UnsignedPayloadNotAllowed
        | ErrorKind::PayloadHashMismatch
        | ErrorKind::SignatureMismatch => EXIT_FAILURE,
        ErrorKind::InvalidRequest | ErrorKind::InvalidConfig | ErrorKind::BodyRead => EXIT_USAGE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_keeps_its_code_and_has_an_exit_status() {
        for kind in ErrorKind::ALL {
            let error = Error::new(kind, "m");
            let verification = CliError::verification(&error);
            assert_eq!(verification.code, kind.code());
            assert_eq!(verification.to_string(), format!("error[{}]: m", kind.code()));
            // exit 1 exactly for what APIG answers with APIG.0303 / 401
            let expected = if kind.is_authentication_failure() { EXIT_FAILURE } else { EXIT_USAGE };
            assert_eq!(verification.exit, expected, "{kind}");
            let input = CliError::input(&error);
            assert_eq!((input.code, input.exit), (kind.code(), EXIT_USAGE));
        }
        assert!(ErrorKind::from_code(TRANSPORT).is_none(), "transport must not shadow a core code");
    }
}
