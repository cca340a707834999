//! A chain of providers, tried in order; it says which one answered.

use crate::credentials::Credentials;
use crate::env::EnvironmentProvider;
use crate::error::{CredentialsError, CredentialsErrorKind};
use crate::metadata::MetadataProvider;
use crate::profile::ProfileProvider;
use crate::provider::ProvideCredentials;

/// Tries its providers in order and answers with the first that yields credentials; remembers
/// which one did, and asks it directly afterwards (a metadata provider keeps refreshing its own).
pub struct ChainProvider {
    providers: Vec<Box<dyn ProvideCredentials>>,
    chosen: std::sync::OnceLock<usize>,
}

/// Credentials and the provider that gave them.
#[derive(Debug, Clone)]
pub struct Answered {
    /// The credentials.
    pub credentials: Credentials,
    /// The provider's name (`environment`, `profile`, `metadata`, …).
    pub provider: &'static str,
}

impl ChainProvider {
    /// The documented order of Huawei Cloud's v3 SDKs: environment, profile file, ECS metadata.
    pub fn default_chain() -> Self {
        Self::new(vec![
            Box::new(EnvironmentProvider::new()),
            Box::new(ProfileProvider::new()),
            Box::new(MetadataProvider::new()),
        ])
    }

    /// A chain of `providers`, tried in this order.
    pub fn new(providers: Vec<Box<dyn ProvideCredentials>>) -> Self {
        Self { providers, chosen: std::sync::OnceLock::new() }
    }

    /// The credentials and the provider that answered.
    ///
    /// # Errors
    /// Once a provider has answered, its errors (a metadata refresh failing after expiry). Before:
    /// `no_provider`, the message listing each provider's error.
    pub fn resolve(&self) -> Result<Answered, CredentialsError> {
        if let Some(&i) = self.chosen.get() {
            let provider = &self.providers[i];
            return provider.credentials().map(|credentials| Answered { credentials, provider: provider.name() });
        }
        let mut failures = Vec::new();
        for (i, provider) in self.providers.iter().enumerate() {
            match provider.credentials() {
                Ok(credentials) => {
                    let _ = self.chosen.set(i);
                    return Ok(Answered { credentials, provider: provider.name() });
                }
                Err(e) => failures.push(e.to_string()),
            }
        }
        Err(CredentialsError::new(
            CredentialsErrorKind::NoProvider,
            "chain",
            self.providers.iter().map(|p| p.name()).collect::<Vec<_>>().join(", "),
            format!("no provider gave credentials: {}", failures.join("; ")),
        ))
    }
}

impl ProvideCredentials for ChainProvider {
    fn credentials(&self) -> Result<Credentials, CredentialsError> {
        self.resolve().map(|answered| answered.credentials)
    }

    fn name(&self) -> &'static str {
        "chain"
    }
}

impl std::fmt::Debug for ChainProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.providers.iter().map(|p| p.name()).collect();
        f.debug_struct("ChainProvider").field("providers", &names).finish_non_exhaustive()
    }
}
