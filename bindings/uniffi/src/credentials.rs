//! Credential providers ([`apig_credentials`]) for Kotlin and Swift: [`Credentials`], the
//! [`CredentialsProvider`] interface (also implementable in Kotlin/Swift), the static, environment,
//! profile-file, metadata and chain providers, and [`clock_skew_from_apig_message`] for HTTP clients
//! that retry once on an expired signature. Each type wraps the crate's and delegates to it.

use std::collections::BTreeSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use apig_credentials::{self as core, CredentialsError, CredentialsErrorKind, ProvideCredentials};

use crate::convert::{Algorithm, Profile, SignerOptions};
use crate::errors::ApigError;
use crate::sign::Signer;

/// An access key, its secret, and for temporary credentials a security token and an expiry;
/// optionally the project or domain id of Huawei Cloud service APIs. `toString()`/`description`
/// never shows the secret or the token.
#[derive(Clone, PartialEq, Eq, uniffi::Object)]
#[uniffi::export(Display, Eq, Hash)]
pub struct Credentials(core::Credentials);

#[uniffi::export]
impl Credentials {
    /// Credentials given in code (a foreign provider builds them too). `expires_at` makes them
    /// temporary: `ChainProvider` and the HTTP helpers treat them as refreshable by their provider.
    #[uniffi::constructor(default(security_token = None, expires_at = None, project_id = None, domain_id = None))]
    pub fn new(
        access_key: String,
        secret_key: String,
        security_token: Option<String>,
        expires_at: Option<SystemTime>,
        project_id: Option<String>,
        domain_id: Option<String>,
    ) -> Self {
        let mut credentials = core::Credentials::new(access_key, secret_key);
        credentials.security_token = security_token.map(Into::into);
        credentials.expires_at = expires_at;
        credentials.project_id = project_id;
        credentials.domain_id = domain_id;
        Self(credentials)
    }

    /// The access key (AK).
    pub fn access_key(&self) -> String {
        self.0.access_key.clone()
    }

    /// The secret key (SK). Handle with care: it is the one value never printed.
    pub fn secret_key(&self) -> String {
        String::from_utf8_lossy(self.0.secret.expose()).into_owned()
    }

    /// The security token of temporary credentials.
    pub fn security_token(&self) -> Option<String> {
        self.0.security_token.as_ref().map(|t| t.expose().to_owned())
    }

    /// When temporary credentials expire (none: permanent).
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.0.expires_at
    }

    /// The project id (`X-Project-Id`).
    pub fn project_id(&self) -> Option<String> {
        self.0.project_id.clone()
    }

    /// The domain (account) id (`X-Domain-Id`).
    pub fn domain_id(&self) -> Option<String> {
        self.0.domain_id.clone()
    }

    /// A [`Signer`] for these credentials: the key pair, and the security token, project id and
    /// domain id as the signer's options (each request gets the header, signed). The other
    /// arguments are `Signer(…)`'s.
    ///
    /// # Errors
    /// `InvalidConfig`, as `Signer(…)`.
    #[uniffi::method(default(algorithm = None, region = None, service = None, profile = None))]
    pub fn signer(
        &self,
        algorithm: Option<Algorithm>,
        region: Option<String>,
        service: Option<String>,
        profile: Option<Profile>,
    ) -> Result<Arc<Signer>, ApigError> {
        let options = SignerOptions {
            security_token: self.security_token(),
            project_id: self.0.project_id.clone(),
            domain_id: self.0.domain_id.clone(),
            profile,
        };
        Signer::new(self.access_key(), self.secret_key(), algorithm, region, service, Some(options)).map(Arc::new)
    }
}

/// The core's redacted `Debug`: the access key, expiry and ids; the secret and token as `***`.
impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// By access key (equal credentials have equal keys).
impl Hash for Credentials {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.access_key.hash(state);
    }
}

/// Anything that yields credentials: every provider here, and providers written in Kotlin or Swift
/// (implement `credentials()` and `name()`; throw `ApigException.Credentials` on failure).
#[uniffi::export(with_foreign)]
pub trait CredentialsProvider: Send + Sync {
    /// Credentials valid now. Providers of temporary credentials refresh them before they expire
    /// and answer from their cache meanwhile.
    ///
    /// # Errors
    /// `Credentials`, with the stable code, the provider and the source it read.
    fn credentials(&self) -> Result<Arc<Credentials>, ApigError>;

    /// The provider's name in errors and in a chain's answer (`static`, `environment`, `profile`,
    /// `metadata`, `chain`, or your own).
    fn name(&self) -> String;
}

/// The answer of [`ChainProvider::resolve`]: credentials and the provider that gave them.
#[derive(Clone, uniffi::Record)]
pub struct Answered {
    /// The credentials.
    pub credentials: Arc<Credentials>,
    /// The provider's name (`environment`, `profile`, `metadata`, …).
    pub provider: String,
}

/// One of the crate's providers, as the interface.
fn provide(provider: &dyn ProvideCredentials) -> Result<Arc<Credentials>, ApigError> {
    Ok(Arc::new(Credentials(provider.credentials()?)))
}

macro_rules! provider {
    ($name:ident) => {
        #[uniffi::export]
        impl CredentialsProvider for $name {
            fn credentials(&self) -> Result<Arc<Credentials>, ApigError> {
                provide(&self.0)
            }

            fn name(&self) -> String {
                self.0.name().to_owned()
            }
        }
    };
}

/// Fixed credentials, given in code. Never refreshed, no I/O.
#[derive(Debug, uniffi::Object)]
pub struct StaticProvider(core::StaticProvider);

#[uniffi::export]
impl StaticProvider {
    /// Permanent credentials, or temporary ones with a `security_token`; the ids as [`Credentials`].
    #[uniffi::constructor(default(security_token = None, project_id = None, domain_id = None))]
    pub fn new(
        access_key: String,
        secret_key: String,
        security_token: Option<String>,
        project_id: Option<String>,
        domain_id: Option<String>,
    ) -> Self {
        let credentials = Credentials::new(access_key, secret_key, security_token, None, project_id, domain_id);
        Self(core::StaticProvider(credentials.0))
    }
}

provider!(StaticProvider);

/// `HUAWEICLOUD_SDK_AK`, `HUAWEICLOUD_SDK_SK` (required), `HUAWEICLOUD_SDK_SECURITY_TOKEN`,
/// `HUAWEICLOUD_SDK_PROJECT_ID`, `HUAWEICLOUD_SDK_DOMAIN_ID`, read at each call (empty = unset).
#[derive(Debug, uniffi::Object)]
pub struct EnvironmentProvider(core::EnvironmentProvider);

#[uniffi::export]
impl EnvironmentProvider {
    /// The process environment.
    #[uniffi::constructor]
    pub fn new() -> Self {
        Self(core::EnvironmentProvider::new())
    }
}

impl Default for EnvironmentProvider {
    fn default() -> Self {
        Self::new()
    }
}

provider!(EnvironmentProvider);

/// One section of the profile file (INI, keys `ak`, `sk`, `security_token`, `project_id`,
/// `domain_id`), read once on first use.
#[derive(Debug, uniffi::Object)]
pub struct ProfileProvider(core::ProfileProvider);

#[uniffi::export]
impl ProfileProvider {
    /// Section `profile` (default `basic`) of the file at `path` (default: the file
    /// `HUAWEICLOUD_SDK_CREDENTIALS_FILE` names, else `~/.huaweicloud/credentials`).
    #[uniffi::constructor(default(path = None, profile = None))]
    pub fn new(path: Option<String>, profile: Option<String>) -> Self {
        let path = path.map_or_else(|| core::ProfileProvider::new().path().to_owned(), Into::into);
        Self(core::ProfileProvider::from_file(path, profile.unwrap_or_else(|| core::BASIC.to_owned())))
    }
}

provider!(ProfileProvider);

/// Temporary credentials of the ECS's agency from the metadata service, refreshed in the
/// background before they expire (one fetch at a time; a failed refresh keeps serving the cached
/// credentials until they expire).
#[derive(Debug, uniffi::Object)]
pub struct MetadataProvider(core::MetadataProvider);

#[uniffi::export]
impl MetadataProvider {
    /// The service at `endpoint` (scheme and authority). Arguments left `null`/`nil` keep the
    /// crate's defaults: `http://169.254.169.254`, refresh 2400 s before expiry, 3000 ms per HTTP
    /// call, at least 10 s between background refreshes.
    #[uniffi::constructor(default(
        endpoint = None,
        refresh_margin_seconds = None,
        timeout_ms = None,
        min_refresh_interval_seconds = None
    ))]
    pub fn new(
        endpoint: Option<String>,
        refresh_margin_seconds: Option<u64>,
        timeout_ms: Option<u64>,
        min_refresh_interval_seconds: Option<u64>,
    ) -> Self {
        let default = core::MetadataSettings::default();
        let settings = core::MetadataSettings {
            endpoint: endpoint.unwrap_or(default.endpoint),
            refresh_margin: refresh_margin_seconds.map_or(default.refresh_margin, Duration::from_secs),
            timeout: timeout_ms.map_or(default.timeout, Duration::from_millis),
            min_refresh_interval: min_refresh_interval_seconds
                .map_or(default.min_refresh_interval, Duration::from_secs),
        };
        Self(core::MetadataProvider::with_settings(settings))
    }
}

provider!(MetadataProvider);

/// Tries its providers in order and answers with the first that yields credentials; then keeps
/// asking that one.
#[derive(Debug, uniffi::Object)]
pub struct ChainProvider(core::ChainProvider);

#[uniffi::export]
impl ChainProvider {
    /// A chain of `providers`, in this order; `null`/`nil`: the default chain of Huawei Cloud's v3
    /// SDKs (environment, profile file, ECS metadata).
    #[uniffi::constructor(default(providers = None))]
    pub fn new(providers: Option<Vec<Arc<dyn CredentialsProvider>>>) -> Self {
        Self(match providers {
            None => core::ChainProvider::default_chain(),
            Some(list) => core::ChainProvider::new(
                list.into_iter()
                    .map(|provider| {
                        let name = intern(provider.name());
                        Box::new(Foreign { provider, name }) as Box<dyn ProvideCredentials>
                    })
                    .collect(),
            ),
        })
    }

    /// The credentials and the name of the provider that gave them.
    ///
    /// # Errors
    /// `Credentials` with code `no_provider` (the reason lists each provider's failure) before a
    /// provider answered; afterwards that provider's errors.
    pub fn resolve(&self) -> Result<Answered, ApigError> {
        let answered = self.0.resolve()?;
        Ok(Answered {
            credentials: Arc::new(Credentials(answered.credentials)),
            provider: answered.provider.to_owned(),
        })
    }
}

provider!(ChainProvider);

/// A provider given to a chain through the interface (one of ours, or written in Kotlin/Swift).
struct Foreign {
    provider: Arc<dyn CredentialsProvider>,
    name: &'static str,
}

impl ProvideCredentials for Foreign {
    fn credentials(&self) -> Result<core::Credentials, CredentialsError> {
        self.provider.credentials().map(|c| c.0.clone()).map_err(|e| match e {
            ApigError::Credentials { reason, error_code, provider, source } => {
                CredentialsError::new(kind_of(&error_code), intern(provider), source, reason)
            }
            other => CredentialsError::new(CredentialsErrorKind::Missing, self.name, "", other.to_string()),
        })
    }

    fn name(&self) -> &'static str {
        self.name
    }
}

/// The kind whose code is `code` (an unknown code, from a foreign provider: `missing`).
fn kind_of(code: &str) -> CredentialsErrorKind {
    CredentialsErrorKind::from_code(code).unwrap_or(CredentialsErrorKind::Missing)
}

/// The crate names providers with `&'static str`; a foreign provider's name is kept once per
/// distinct name.
fn intern(name: String) -> &'static str {
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = names.get(name.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.into_boxed_str());
    names.insert(leaked);
    leaked
}

/// A Kotlin/Swift exception thrown by a foreign provider that is not an `ApigException`.
impl From<uniffi::UnexpectedUniFFICallbackError> for ApigError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Credentials {
            reason: format!("the provider failed: {}", error.reason),
            error_code: CredentialsErrorKind::Missing.code().to_owned(),
            provider: "foreign".to_owned(),
            source: String::new(),
        }
    }
}

/// From an APIG "signature expired" rejection (the JSON body or its message), the seconds to add to
/// the client's clock to match the server's (server time − signature time); none for any other
/// text. HTTP clients learn their clock offset from it and retry once (`retryOnExpired`).
#[uniffi::export]
pub fn clock_skew_from_apig_message(text: &str) -> Option<i64> {
    apig::clock_skew_from_apig_message(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_credentials_kind_round_trips_through_its_code() {
        for code in
            ["missing", "malformed", "missing_field", "unreachable", "timeout", "http_status", "expired", "no_provider"]
        {
            assert_eq!(kind_of(code).code(), code);
        }
    }

    #[test]
    fn a_provider_error_keeps_code_provider_and_source() {
        let error =
            ApigError::from(CredentialsError::new(CredentialsErrorKind::Malformed, "metadata", "http://x/", "bad"));
        assert_eq!(error.code(), "malformed");
        assert_eq!(error.to_string(), "malformed: metadata provider (http://x/): bad");
        assert!(error.kind().is_none());
    }

    #[test]
    fn credentials_never_print_the_secret_or_token() {
        let c = Credentials::new("AK".into(), "s3cr3t".into(), Some("t0k3n".into()), None, None, None);
        let shown = c.to_string();
        assert!(shown.contains("AK") && !shown.contains("s3cr3t") && !shown.contains("t0k3n"), "{shown}");
    }
}
