//! The intermediate strings of a signature, public because every 401 is debugged with them.

use std::fmt;

/// The canonical request and string to sign behind a signature (the signer's on success, the
/// verifier's on [`SignatureMismatch`](crate::ErrorKind::SignatureMismatch)).
///
/// `Display` and the fields give the exact strings; `Debug` (what logs of a [`SigningOutput`]
/// or an [`Error`] show) writes the value of an `x-security-token` line as `***`.
///
/// [`SigningOutput`]: crate::SigningOutput
/// [`Error`]: crate::Error
#[derive(Clone, PartialEq, Eq)]
pub struct Trace {
    /// The canonical request, exactly as hashed (lines joined with `\n`).
    pub canonical_request: String,
    /// The string to sign, exactly as fed to the HMAC.
    pub string_to_sign: String,
}

impl Trace {
    /// The canonical request as APIG echoes it in an `APIG.0303` message: newlines shown as `|`.
    pub fn canonical_request_piped(&self) -> String {
        self.canonical_request.replace('\n', "|")
    }
}

impl fmt::Debug for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = "x-security-token:";
        let mut shown = String::with_capacity(self.canonical_request.len());
        for (i, line) in self.canonical_request.split('\n').enumerate() {
            if i > 0 {
                shown.push('\n');
            }
            shown.push_str(if line.starts_with(prefix) { "x-security-token:***" } else { line });
        }
        f.debug_struct("Trace")
            .field("canonical_request", &shown)
            .field("string_to_sign", &self.string_to_sign)
            .finish()
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "canonical request:\n{}", self.canonical_request)?;
        write!(f, "string to sign:\n{}", self.string_to_sign)
    }
}
