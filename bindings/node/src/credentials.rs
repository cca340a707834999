//! The credential providers of [`apig_credentials`] for JavaScript: one native class,
//! `NativeProvider`, made by a factory per provider (static, environment, profile, metadata, chain),
//! whose `credentials()` / `resolve()` run the provider on libuv's thread pool (an [`AsyncTask`]:
//! the metadata service's HTTP calls and file reads never block the event loop) and resolve to an
//! [`Answer`]. `lib/credentials.js` wraps it in the public classes (`StaticProvider`, …) and turns
//! an answer's error into an `ApigError` with the provider's code, provider and source.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use apig_credentials::{
    ChainProvider, Credentials, CredentialsError, CredentialsErrorKind, EnvironmentProvider, MetadataProvider,
    MetadataSettings, ProfileProvider, ProvideCredentials, StaticProvider,
};
use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Task};
use napi_derive::napi;

use crate::errors::{IntoJs, invalid_config};

/// Credentials as JavaScript gets them (`expiresAt` in milliseconds since 1970).
#[napi(object, object_from_js = false)]
pub struct CredentialsValue {
    /// The access key.
    pub access_key: String,
    /// The secret key.
    pub secret_key: String,
    /// The security token of temporary credentials.
    pub security_token: Option<String>,
    /// The project id.
    pub project_id: Option<String>,
    /// The domain id.
    pub domain_id: Option<String>,
    /// When they expire, in milliseconds since 1970.
    pub expires_at: Option<f64>,
}

/// A provider's failure, as `lib/credentials.js` turns it into an `ApigError`.
#[napi(object, object_from_js = false)]
pub struct CredentialsFailure {
    /// The stable code (`CredentialsErrorKind::code`).
    pub code: String,
    /// The provider that failed.
    pub provider: String,
    /// What it read.
    pub source: String,
    /// What is wrong (never a secret).
    pub message: String,
}

/// What `credentials()` / `resolve()` resolve to: the credentials and the provider that answered,
/// or the failure.
#[napi(object, object_from_js = false)]
pub struct Answer {
    /// The credentials, on success.
    pub credentials: Option<CredentialsValue>,
    /// The provider that answered (a chain's member, or the provider itself).
    pub provider: Option<String>,
    /// The failure.
    pub error: Option<CredentialsFailure>,
}

/// The static provider's input (checked by `lib/credentials.js`).
#[napi(object)]
pub struct StaticOptions {
    /// The access key.
    pub access_key: String,
    /// The secret key.
    pub secret_key: String,
    /// The security token.
    pub security_token: Option<String>,
    /// The project id.
    pub project_id: Option<String>,
    /// The domain id.
    pub domain_id: Option<String>,
}

/// The metadata provider's options (omitted: the crate's defaults).
#[napi(object)]
pub struct MetadataOptions {
    /// Scheme and authority of the metadata service.
    pub endpoint: Option<String>,
    /// Refresh when less than this many seconds are left.
    pub refresh_margin_seconds: Option<f64>,
    /// Timeout of each HTTP call, in milliseconds.
    pub timeout_ms: Option<f64>,
    /// The fewest seconds between two background refreshes.
    pub min_refresh_interval_seconds: Option<f64>,
}

/// One provider of any kind, shared by its JavaScript object, the chains holding it and the tasks
/// running it.
#[derive(Clone)]
struct Shared(Arc<dyn ProvideCredentials>);

impl ProvideCredentials for Shared {
    fn credentials(&self) -> Result<Credentials, CredentialsError> {
        self.0.credentials()
    }
    fn name(&self) -> &'static str {
        self.0.name()
    }
}

/// Internal: a credential provider of apig-credentials (the public classes are in
/// `lib/credentials.js`).
#[napi]
pub struct NativeProvider {
    inner: Provider,
}

#[derive(Clone)]
enum Provider {
    One(Shared),
    Chain(Arc<ChainProvider>),
}

impl NativeProvider {
    fn one(provider: impl ProvideCredentials + 'static) -> Self {
        Self { inner: Provider::One(Shared(Arc::new(provider))) }
    }
}

#[napi]
impl NativeProvider {
    /// Fixed credentials.
    #[napi(factory)]
    pub fn from_static(options: StaticOptions) -> Self {
        let mut credentials = Credentials::new(options.access_key, options.secret_key);
        credentials.security_token = options.security_token.map(Into::into);
        credentials.project_id = options.project_id;
        credentials.domain_id = options.domain_id;
        Self::one(StaticProvider(credentials))
    }

    /// `HUAWEICLOUD_SDK_AK`, `_SK`, `_SECURITY_TOKEN`, `_PROJECT_ID`, `_DOMAIN_ID`, read at each call.
    #[napi(factory)]
    pub fn environment() -> Self {
        Self::one(EnvironmentProvider::new())
    }

    /// A section of the credentials file (default: `[basic]` of the default file).
    #[napi(factory)]
    pub fn profile(path: Option<String>, section: Option<String>) -> Self {
        let section = section.unwrap_or_else(|| apig_credentials::BASIC.to_owned());
        match path {
            Some(path) => Self::one(ProfileProvider::from_file(path, section)),
            None => Self::one(ProfileProvider::with_section(section)),
        }
    }

    /// The ECS metadata service.
    #[napi(factory)]
    pub fn metadata(env: Env, options: MetadataOptions) -> napi::Result<Self> {
        metadata_settings(options).map(|settings| Self::one(MetadataProvider::with_settings(settings))).into_js(&env)
    }

    /// `providers` in this order; none: the default chain (environment, profile, metadata).
    #[napi(factory)]
    pub fn chain(providers: Option<Vec<&NativeProvider>>) -> Self {
        let chain = match providers {
            None => ChainProvider::default_chain(),
            Some(list) => ChainProvider::new(
                list.into_iter()
                    .map(|p| -> Box<dyn ProvideCredentials> {
                        match &p.inner {
                            Provider::One(shared) => Box::new(shared.clone()),
                            Provider::Chain(chain) => Box::new(ChainMember(Arc::clone(chain))),
                        }
                    })
                    .collect(),
            ),
        };
        Self { inner: Provider::Chain(Arc::new(chain)) }
    }

    /// The provider's name: `static`, `environment`, `profile`, `metadata`, `chain`.
    #[napi(getter)]
    pub fn name(&self) -> &'static str {
        match &self.inner {
            Provider::One(shared) => shared.name(),
            Provider::Chain(_) => "chain",
        }
    }

    /// The credentials (off the event loop), and which provider answered.
    #[napi(ts_return_type = "Promise<Answer>")]
    pub fn credentials(&self) -> AsyncTask<Fetch> {
        AsyncTask::new(Fetch { provider: self.inner.clone() })
    }
}

/// A chain inside a chain.
struct ChainMember(Arc<ChainProvider>);

impl ProvideCredentials for ChainMember {
    fn credentials(&self) -> Result<Credentials, CredentialsError> {
        self.0.resolve().map(|answered| answered.credentials)
    }
    fn name(&self) -> &'static str {
        "chain"
    }
}

fn metadata_settings(options: MetadataOptions) -> Result<MetadataSettings, apig::Error> {
    let mut settings = MetadataSettings::default();
    if let Some(endpoint) = options.endpoint {
        settings.endpoint = endpoint;
    }
    let duration = |value: Option<f64>, scale: f64, name: &str| -> Result<Option<Duration>, apig::Error> {
        value
            .map(|v| {
                Duration::try_from_secs_f64(v / scale)
                    .map_err(|_| invalid_config(format!("{name} must be a finite number ≥ 0, not {v}")))
            })
            .transpose()
    };
    if let Some(margin) = duration(options.refresh_margin_seconds, 1.0, "refreshMarginSeconds")? {
        settings.refresh_margin = margin;
    }
    if let Some(timeout) = duration(options.timeout_ms, 1000.0, "timeoutMs")? {
        settings.timeout = timeout;
    }
    if let Some(interval) = duration(options.min_refresh_interval_seconds, 1.0, "minRefreshIntervalSeconds")? {
        settings.min_refresh_interval = interval;
    }
    Ok(settings)
}

/// One `credentials()` call, run on the thread pool.
pub struct Fetch {
    provider: Provider,
}

impl Task for Fetch {
    type Output = Result<(Credentials, &'static str), CredentialsError>;
    type JsValue = Answer;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        Ok(match &self.provider {
            Provider::One(one) => one.credentials().map(|c| (c, one.name())),
            Provider::Chain(chain) => chain.resolve().map(|answered| (answered.credentials, answered.provider)),
        })
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Answer> {
        Ok(match output {
            Ok((credentials, provider)) => {
                Answer { credentials: Some(value(&credentials)), provider: Some(provider.to_owned()), error: None }
            }
            Err(error) => Answer { credentials: None, provider: None, error: Some(failure(&error)) },
        })
    }
}

fn value(credentials: &Credentials) -> CredentialsValue {
    // milliseconds since 1970 of a date before year 285 000: exact in an f64
    #[allow(clippy::cast_precision_loss)]
    let expires_at =
        credentials.expires_at.map(|at| at.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_millis() as f64));
    CredentialsValue {
        access_key: credentials.access_key.clone(),
        secret_key: String::from_utf8_lossy(credentials.secret.expose()).into_owned(),
        security_token: credentials.security_token.as_ref().map(|t| t.expose().to_owned()),
        project_id: credentials.project_id.clone(),
        domain_id: credentials.domain_id.clone(),
        expires_at,
    }
}

fn failure(error: &CredentialsError) -> CredentialsFailure {
    CredentialsFailure {
        code: error.code().to_owned(),
        provider: error.provider().to_owned(),
        source: error.source_name().to_owned(),
        message: error.message().to_owned(),
    }
}

/// Every credential provider error code, in the crate's order (`CREDENTIALS_ERROR_CODES` must be
/// this list).
#[napi(skip_typescript)]
pub fn credentials_error_codes() -> Vec<&'static str> {
    CredentialsErrorKind::ALL.iter().map(|kind| kind.code()).collect()
}
