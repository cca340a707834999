//! Credentials: an access key, its secret, and for temporary credentials a security token and an
//! expiry; optionally the project or domain id a Huawei Cloud service API needs.

use std::fmt;
use std::time::SystemTime;

use apig::{SecretKey, SecurityToken, Signer, SignerBuilder};

/// What a provider yields. `Debug` never shows the secret or the token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The access key (AK).
    pub access_key: String,
    /// The secret key (SK): zeroized on drop, never printed.
    pub secret: SecretKey,
    /// The security token of temporary credentials.
    pub security_token: Option<SecurityToken>,
    /// When temporary credentials expire (`None`: permanent).
    pub expires_at: Option<SystemTime>,
    /// The project id (`HUAWEICLOUD_SDK_PROJECT_ID`, a profile's `project_id`).
    pub project_id: Option<String>,
    /// The domain (account) id (`HUAWEICLOUD_SDK_DOMAIN_ID`, a profile's `domain_id`).
    pub domain_id: Option<String>,
}

impl Credentials {
    /// Permanent credentials.
    pub fn new(access_key: impl Into<String>, secret: impl Into<SecretKey>) -> Self {
        Self {
            access_key: access_key.into(),
            secret: secret.into(),
            security_token: None,
            expires_at: None,
            project_id: None,
            domain_id: None,
        }
    }

    /// With a security token (temporary credentials).
    #[must_use]
    pub fn with_security_token(mut self, token: impl Into<SecurityToken>) -> Self {
        self.security_token = Some(token.into());
        self
    }

    /// With an expiry.
    #[must_use]
    pub fn with_expiry(mut self, expires_at: SystemTime) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// Whether they expire at or before `now`.
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// A signer builder for these credentials: the key pair, the token, the project and domain
    /// ids. Add settings (`.profile(…)`, `.algorithm(…)`) and `build()`.
    pub fn signer_builder(&self) -> SignerBuilder {
        let mut builder = Signer::builder(self.access_key.clone(), self.secret.clone());
        if let Some(token) = &self.security_token {
            builder = builder.security_token(token.clone());
        }
        if let Some(id) = &self.project_id {
            builder = builder.project_id(id.clone());
        }
        if let Some(id) = &self.domain_id {
            builder = builder.domain_id(id.clone());
        }
        builder
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .field("secret", &self.secret)
            .field("security_token", &self.security_token)
            .field("expires_at", &self.expires_at)
            .field("project_id", &self.project_id)
            .field("domain_id", &self.domain_id)
            .finish()
    }
}
