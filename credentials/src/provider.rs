//! The provider trait and the static provider.

use crate::credentials::Credentials;
use crate::error::CredentialsError;

/// Something that yields credentials: every provider, and a chain of them.
pub trait ProvideCredentials: Send + Sync {
    /// Credentials valid now. Providers of temporary credentials refresh them before they expire
    /// and answer from their cache meanwhile.
    ///
    /// # Errors
    /// A [`CredentialsError`] naming the provider and the source it read.
    fn credentials(&self) -> Result<Credentials, CredentialsError>;

    /// The provider's name in errors and in a chain's answer: `static`, `environment`, `profile`,
    /// `metadata`.
    fn name(&self) -> &'static str;
}

/// Fixed credentials, given in code. Never refreshed, no I/O.
#[derive(Debug, Clone)]
pub struct StaticProvider(pub Credentials);

impl ProvideCredentials for StaticProvider {
    fn credentials(&self) -> Result<Credentials, CredentialsError> {
        Ok(self.0.clone())
    }

    fn name(&self) -> &'static str {
        "static"
    }
}
