//! Credentials from the environment, as Huawei Cloud's v3 SDKs read them (SPEC-credentials §4.1).

use std::fmt;
use std::sync::Arc;

use crate::credentials::Credentials;
use crate::error::{CredentialsError, CredentialsErrorKind};
use crate::provider::ProvideCredentials;

/// The access key variable.
pub const AK_VAR: &str = "HUAWEICLOUD_SDK_AK";
/// The secret key variable.
pub const SK_VAR: &str = "HUAWEICLOUD_SDK_SK";
/// The security token variable (temporary credentials, never refreshed).
pub const SECURITY_TOKEN_VAR: &str = "HUAWEICLOUD_SDK_SECURITY_TOKEN";
/// The project id variable.
pub const PROJECT_ID_VAR: &str = "HUAWEICLOUD_SDK_PROJECT_ID";
/// The domain id variable.
pub const DOMAIN_ID_VAR: &str = "HUAWEICLOUD_SDK_DOMAIN_ID";

type Lookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// `HUAWEICLOUD_SDK_AK` / `_SK` (both required), `_SECURITY_TOKEN`, `_PROJECT_ID`, `_DOMAIN_ID`;
/// an empty value counts as unset. Read at each call (no I/O beyond the environment).
#[derive(Clone)]
pub struct EnvironmentProvider {
    lookup: Lookup,
}

impl EnvironmentProvider {
    /// Reads the process environment.
    pub fn new() -> Self {
        Self::with_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup` (tests, or a map of your own).
    pub fn with_lookup(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self { lookup: Arc::new(lookup) }
    }

    fn var(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }
}

impl Default for EnvironmentProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for EnvironmentProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnvironmentProvider")
    }
}

impl ProvideCredentials for EnvironmentProvider {
    fn credentials(&self) -> Result<Credentials, CredentialsError> {
        let missing = |name: &str| {
            CredentialsError::new(CredentialsErrorKind::Missing, "environment", name, format!("{name} is not set"))
        };
        let access_key = self.var(AK_VAR).ok_or_else(|| missing(AK_VAR))?;
        let secret = self.var(SK_VAR).ok_or_else(|| missing(SK_VAR))?;
        let mut credentials = Credentials::new(access_key, secret);
        credentials.security_token = self.var(SECURITY_TOKEN_VAR).map(Into::into);
        credentials.project_id = self.var(PROJECT_ID_VAR);
        credentials.domain_id = self.var(DOMAIN_ID_VAR);
        Ok(credentials)
    }

    fn name(&self) -> &'static str {
        "environment"
    }
}
