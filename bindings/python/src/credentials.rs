//! Credential providers: thin wrappers over the `apig-credentials` crate (`apig.Credentials`,
//! `apig.StaticProvider`, `EnvironmentProvider`, `ProfileProvider`, `MetadataProvider`,
//! `ChainProvider`, the base `apig.CredentialsProvider`), a Python object with a `credentials()`
//! method seen as a provider (duck typing), and `_ClientSigner`, what the client helpers sign with:
//! the provider's current credentials, a signer rebuilt only when they change, and the clock offset
//! learned from APIG's "signature expired" answer (the core's `clock_skew_from_apig_message`).
//! Refresh, parsing and defaults are the crate's: nothing here decides when to fetch.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apig::{SignableRequest, SigningOptions, SigningSettings, clock_skew_from_apig_message};
use apig_credentials::{self as creds, CredentialsError as CoreError, CredentialsErrorKind, ProvideCredentials};
use pyo3::exceptions::{PyConnectionError, PyOSError, PyTimeoutError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

use crate::convert::{self, Body};
use crate::errors::{self, check, credentials_error_to_py};
use crate::sign::{SignedRequest, Signer, secret_key};

/// Credentials: an access key and its secret; for temporary ones a security token and an expiry;
/// optionally the project or domain id of a Huawei Cloud service API. The secret is never shown.
#[pyclass(module = "apig", name = "Credentials", frozen)]
#[derive(Clone)]
pub(crate) struct Credentials {
    pub(crate) inner: creds::Credentials,
}

#[pymethods]
impl Credentials {
    #[new]
    #[pyo3(signature = (access_key, secret_key, *, security_token = None, project_id = None, domain_id = None, expires_at = None))]
    fn new(
        access_key: String,
        secret_key: &Bound<'_, PyAny>,
        security_token: Option<String>,
        project_id: Option<String>,
        domain_id: Option<String>,
        expires_at: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut inner = creds::Credentials::new(access_key, self::secret_key(secret_key)?);
        inner.security_token = security_token.map(Into::into);
        inner.project_id = project_id;
        inner.domain_id = domain_id;
        inner.expires_at = expires_at.filter(|e| !e.is_none()).map(convert::time).transpose()?;
        Ok(Self { inner })
    }

    /// The access key (AK).
    #[getter]
    fn access_key(&self) -> &str {
        &self.inner.access_key
    }

    /// The security token of temporary credentials.
    #[getter]
    fn security_token(&self) -> Option<&str> {
        self.inner.security_token.as_ref().map(|t| t.expose())
    }

    /// The project id (sent as `X-Project-Id`).
    #[getter]
    fn project_id(&self) -> Option<&str> {
        self.inner.project_id.as_deref()
    }

    /// The domain id (sent as `X-Domain-Id`).
    #[getter]
    fn domain_id(&self) -> Option<&str> {
        self.inner.domain_id.as_deref()
    }

    /// When temporary credentials expire: an aware `datetime` in UTC, or `None` (permanent).
    #[getter]
    fn expires_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner.expires_at.map(|at| aware_datetime(py, at)).transpose()
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<Self>().is_ok_and(|o| o.get().inner == self.inner)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let text = |value: Option<&str>| -> PyResult<String> {
            Ok(match value {
                Some(v) => PyString::new(py, v).repr()?.to_string(),
                None => "None".to_owned(),
            })
        };
        let expires = match self.expires_at(py)? {
            Some(at) => at.repr()?.to_string(),
            None => "None".to_owned(),
        };
        Ok(format!(
            "Credentials(access_key={}, security_token={}, project_id={}, domain_id={}, expires_at={expires})",
            text(Some(&self.inner.access_key))?,
            text(self.inner.security_token.as_ref().map(|_| "<redacted>"))?,
            text(self.inner.project_id.as_deref())?,
            text(self.inner.domain_id.as_deref())?,
        ))
    }
}

/// `datetime.datetime.fromtimestamp(seconds, timezone.utc)`.
fn aware_datetime(py: Python<'_>, at: SystemTime) -> PyResult<Bound<'_, PyAny>> {
    let seconds = match at.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    };
    let datetime = py.import("datetime")?;
    let utc = datetime.getattr("timezone")?.getattr("utc")?;
    datetime.getattr("datetime")?.call_method1("fromtimestamp", (seconds, utc))
}

/// The base class of every provider: `credentials()` and `name`. Not constructible itself.
#[pyclass(module = "apig", name = "CredentialsProvider", subclass, frozen)]
pub(crate) struct Provider {
    inner: Arc<dyn ProvideCredentials>,
    /// Whether `credentials()` may do I/O (then it runs with the GIL released).
    io: bool,
}

impl Provider {
    fn call(&self, py: Python<'_>) -> Result<creds::Credentials, CoreError> {
        if self.io { py.detach(|| self.inner.credentials()) } else { self.inner.credentials() }
    }
}

#[pymethods]
impl Provider {
    /// Credentials valid now (providers of temporary credentials answer from their cache and refresh
    /// in the background). Raises `apig.CredentialsError`.
    fn credentials(&self, py: Python<'_>) -> PyResult<Credentials> {
        self.call(py).map(|inner| Credentials { inner }).map_err(|e| credentials_error_to_py(py, &e))
    }

    /// The provider's name: `static`, `environment`, `profile`, `metadata`, `chain`.
    #[getter]
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn __repr__(&self) -> String {
        format!("<apig credentials provider {:?}>", self.inner.name())
    }
}

fn provider(inner: impl ProvideCredentials + 'static, io: bool) -> PyClassInitializer<Provider> {
    PyClassInitializer::from(Provider { inner: Arc::new(inner), io })
}

/// Fixed credentials given in code (never refreshed, no I/O).
#[pyclass(module = "apig", name = "StaticProvider", extends = Provider, frozen)]
pub(crate) struct StaticProvider;

#[pymethods]
impl StaticProvider {
    #[new]
    #[pyo3(signature = (access_key, secret_key, *, security_token = None, project_id = None, domain_id = None))]
    fn new(
        access_key: String,
        secret_key: &Bound<'_, PyAny>,
        security_token: Option<String>,
        project_id: Option<String>,
        domain_id: Option<String>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let credentials = Credentials::new(access_key, secret_key, security_token, project_id, domain_id, None)?;
        Ok(provider(creds::StaticProvider(credentials.inner), false).add_subclass(Self))
    }
}

/// `HUAWEICLOUD_SDK_AK` / `_SK` / `_SECURITY_TOKEN` / `_PROJECT_ID` / `_DOMAIN_ID`, read at each call.
#[pyclass(module = "apig", name = "EnvironmentProvider", extends = Provider, frozen)]
pub(crate) struct EnvironmentProvider;

#[pymethods]
impl EnvironmentProvider {
    #[new]
    fn new() -> PyClassInitializer<Self> {
        provider(creds::EnvironmentProvider::new(), false).add_subclass(Self)
    }
}

/// A section (`[basic]` by default) of the profile file (`HUAWEICLOUD_SDK_CREDENTIALS_FILE`, else
/// `~/.huaweicloud/credentials`), read once.
#[pyclass(module = "apig", name = "ProfileProvider", extends = Provider, frozen)]
pub(crate) struct ProfileProvider;

#[pymethods]
impl ProfileProvider {
    #[new]
    #[pyo3(signature = (path = None, profile = None))]
    fn new(path: Option<std::path::PathBuf>, profile: Option<String>) -> PyClassInitializer<Self> {
        let inner = match (path, profile) {
            (None, None) => creds::ProfileProvider::new(),
            (path, profile) => {
                let default = creds::ProfileProvider::new();
                creds::ProfileProvider::from_file(
                    path.unwrap_or_else(|| default.path().to_owned()),
                    profile.unwrap_or_else(|| creds::BASIC.to_owned()),
                )
            }
        };
        provider(inner, true).add_subclass(Self)
    }
}

/// Temporary credentials of the ECS's agency from the metadata service, refreshed before they
/// expire (in the background, one fetch at a time).
#[pyclass(module = "apig", name = "MetadataProvider", extends = Provider, frozen)]
pub(crate) struct MetadataProvider;

#[pymethods]
impl MetadataProvider {
    #[new]
    #[pyo3(signature = (endpoint = None, *, refresh_margin = None, timeout = None, min_refresh_interval = None))]
    fn new(
        endpoint: Option<String>,
        refresh_margin: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
        min_refresh_interval: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let mut settings = creds::MetadataSettings::default();
        if let Some(endpoint) = endpoint {
            settings.endpoint = endpoint;
        }
        for (value, slot, name) in [
            (refresh_margin, &mut settings.refresh_margin, "refresh_margin"),
            (timeout, &mut settings.timeout, "timeout"),
            (min_refresh_interval, &mut settings.min_refresh_interval, "min_refresh_interval"),
        ] {
            if let Some(value) = value.filter(|v| !v.is_none()) {
                *slot = duration(value, name)?;
            }
        }
        Ok(provider(creds::MetadataProvider::with_settings(settings), true).add_subclass(Self))
    }
}

/// Seconds (`float`, `int` or `timedelta`) as a `Duration`.
fn duration(value: &Bound<'_, PyAny>, name: &str) -> PyResult<Duration> {
    let seconds = convert::seconds(value)?;
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| PyValueError::new_err(format!("{name} must be a finite number of seconds >= 0, not {seconds}")))
}

/// Tries its providers in order (default: environment, profile file, ECS metadata) and says which
/// one answered.
#[pyclass(module = "apig", name = "ChainProvider", extends = Provider, frozen)]
pub(crate) struct ChainProvider {
    chain: Arc<creds::ChainProvider>,
}

#[pymethods]
impl ChainProvider {
    #[new]
    #[pyo3(signature = (providers = None))]
    fn new(providers: Option<&Bound<'_, PyAny>>) -> PyResult<PyClassInitializer<Self>> {
        let chain = match providers.filter(|p| !p.is_none()) {
            None => creds::ChainProvider::default_chain(),
            Some(list) => {
                let mut boxed: Vec<Box<dyn ProvideCredentials>> = Vec::new();
                for item in list.try_iter()? {
                    boxed.push(boxed_provider(&item?)?);
                }
                creds::ChainProvider::new(boxed)
            }
        };
        let chain = Arc::new(chain);
        let base = Provider { inner: Arc::clone(&chain) as Arc<dyn ProvideCredentials>, io: true };
        Ok(PyClassInitializer::from(base).add_subclass(Self { chain }))
    }

    /// `(credentials, name of the provider that answered)`.
    fn resolve(&self, py: Python<'_>) -> PyResult<(Credentials, &'static str)> {
        let answered = py.detach(|| self.chain.resolve()).map_err(|e| credentials_error_to_py(py, &e))?;
        Ok((Credentials { inner: answered.credentials }, answered.provider))
    }
}

/// One of our providers, shared with the Python object that holds it.
struct Shared(Arc<dyn ProvideCredentials>);

impl ProvideCredentials for Shared {
    fn credentials(&self) -> Result<creds::Credentials, CoreError> {
        self.0.credentials()
    }

    fn name(&self) -> &'static str {
        self.0.name()
    }
}

/// A Python object with a `credentials()` method returning `apig.Credentials` (duck typing).
struct PyProvider {
    object: Py<PyAny>,
    name: &'static str,
}

impl PyProvider {
    fn new(object: &Bound<'_, PyAny>) -> PyResult<Self> {
        if !object.hasattr("credentials")? {
            return Err(PyTypeError::new_err(format!(
                "a credentials provider must have a credentials() method returning apig.Credentials, not {}",
                type_name(object)
            )));
        }
        let name = match object.getattr("name").ok().and_then(|n| n.extract::<String>().ok()) {
            Some(name) => name,
            None => type_name(object),
        };
        Ok(Self { object: object.clone().unbind(), name: intern(name) })
    }

    fn call(&self, py: Python<'_>) -> PyResult<creds::Credentials> {
        let answer = self.object.bind(py).call_method0("credentials")?;
        match answer.cast::<Credentials>() {
            Ok(c) => Ok(c.get().inner.clone()),
            Err(_) => Err(PyTypeError::new_err(format!(
                "{}.credentials() returned {}, not apig.Credentials",
                self.name,
                type_name(&answer)
            ))),
        }
    }
}

impl ProvideCredentials for PyProvider {
    fn credentials(&self) -> Result<creds::Credentials, CoreError> {
        Python::attach(|py| self.call(py).map_err(|e| from_py(py, &e, self.name)))
    }

    fn name(&self) -> &'static str {
        self.name
    }
}

/// A Python provider's exception as the crate's error (inside a chain): an `apig.CredentialsError`
/// keeps its code, source and message; `TimeoutError` is `timeout`, another `OSError` (connection
/// errors) `unreachable`, anything else (a wrong return type, a bug) `malformed`.
fn from_py(py: Python<'_>, error: &PyErr, provider: &'static str) -> CoreError {
    let value = error.value(py);
    let text = |name: &str| value.getattr(name).ok().and_then(|v| v.extract::<String>().ok());
    if error.is_instance_of::<errors::CredentialsError>(py) {
        let kind = text("code")
            .as_deref()
            .and_then(CredentialsErrorKind::from_code)
            .unwrap_or(CredentialsErrorKind::Malformed);
        return CoreError::new(kind, provider, text("source").unwrap_or_default(), text("message").unwrap_or_default());
    }
    let kind = if error.is_instance_of::<PyTimeoutError>(py) {
        CredentialsErrorKind::Timeout
    } else if error.is_instance_of::<PyConnectionError>(py) || error.is_instance_of::<PyOSError>(py) {
        CredentialsErrorKind::Unreachable
    } else {
        CredentialsErrorKind::Malformed
    };
    CoreError::new(kind, provider, provider, format!("{}: {}", type_name(value), value))
}

/// A provider's name as the `&'static str` the crate's trait wants: each distinct name is kept once.
fn intern(name: String) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES.get_or_init(Default::default).lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(&known) = names.get(name.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.into_boxed_str());
    names.insert(leaked);
    leaked
}

/// One of our providers (shared), or a Python object with `credentials()`.
fn boxed_provider(object: &Bound<'_, PyAny>) -> PyResult<Box<dyn ProvideCredentials>> {
    if let Ok(ours) = object.cast::<Provider>() {
        return Ok(Box::new(Shared(Arc::clone(&ours.get().inner))));
    }
    Ok(Box::new(PyProvider::new(object)?))
}

fn type_name(object: &Bound<'_, PyAny>) -> String {
    object.get_type().name().map_or_else(|_| "?".to_owned(), |n| n.to_string())
}

/// Where a client helper's credentials come from.
enum Source {
    /// One of our providers.
    Native { inner: Arc<dyn ProvideCredentials>, io: bool },
    /// A Python object with `credentials()`.
    Python(PyProvider),
    /// A fixed `apig.Signer` (the helpers' `key, secret` / `signer=` forms).
    Fixed(Arc<apig::Signer>),
}

/// What the client helpers sign with (`apig.requests`, `apig.httpx`, `apig.aiohttp`): each request
/// gets the provider's current credentials (token, project and domain id as the core adds them),
/// signed at the system time plus the clock offset learned from an expired answer.
#[pyclass(module = "apig._apig", name = "_ClientSigner", frozen)]
pub(crate) struct ClientSigner {
    source: Source,
    settings: SigningSettings,
    /// The last credentials and the signer built for them.
    cache: Mutex<Option<(creds::Credentials, Arc<apig::Signer>)>>,
    /// Seconds added to the system clock when signing.
    offset: AtomicI64,
}

#[pymethods]
impl ClientSigner {
    /// `credentials`: a provider (ours or any object with `credentials()`) or an `apig.Signer`;
    /// the options are `apig.Signer`'s (they cannot go with a `Signer`).
    #[new]
    #[pyo3(signature = (
        credentials, *, algorithm = None, region = None, service = None, excluded_headers = None,
        project_id = None, domain_id = None, profile = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        credentials: &Bound<'_, PyAny>,
        algorithm: Option<&str>,
        region: Option<&str>,
        service: Option<&str>,
        excluded_headers: Option<&str>,
        project_id: Option<&str>,
        domain_id: Option<&str>,
        profile: Option<&str>,
    ) -> PyResult<Self> {
        let any_option =
            [algorithm, region, service, excluded_headers, project_id, domain_id, profile].iter().any(Option::is_some);
        let options = SigningOptions {
            algorithm,
            region,
            service,
            excluded_headers,
            profile,
            project_id,
            domain_id,
            ..SigningOptions::default()
        };
        let source = if let Ok(signer) = credentials.cast::<Signer>() {
            if any_option {
                return Err(PyTypeError::new_err("signer options cannot go with an apig.Signer"));
            }
            Source::Fixed(Arc::new(signer.get().inner.clone()))
        } else if let Ok(ours) = credentials.cast::<Provider>() {
            Source::Native { inner: Arc::clone(&ours.get().inner), io: ours.get().io }
        } else {
            Source::Python(PyProvider::new(credentials)?)
        };
        let settings = check(py, SigningSettings::try_from(options))?;
        Ok(Self { source, settings, cache: Mutex::new(None), offset: AtomicI64::new(0) })
    }

    /// Whether getting the credentials may wait on I/O: none fetched yet, or the last ones expired
    /// (async helpers then ask in a worker thread, see `prefetch`).
    fn may_block(&self) -> bool {
        match &self.source {
            Source::Fixed(_) | Source::Native { io: false, .. } => false,
            Source::Native { .. } | Source::Python(_) => {
                let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
                cache.as_ref().is_none_or(|(c, _)| c.is_expired_at(SystemTime::now()))
            }
        }
    }

    /// Gets the credentials once (with the GIL released for our providers): run in a worker
    /// thread by the async helpers when `may_block()`.
    fn prefetch(&self, py: Python<'_>) -> PyResult<()> {
        self.signer(py).map(drop)
    }

    /// Signs with the current credentials at the system time plus the clock offset.
    #[pyo3(signature = (method, url, headers = None, body = None, *, unsigned_payload = false))]
    fn sign(
        &self,
        py: Python<'_>,
        method: &Bound<'_, PyAny>,
        url: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
        body: Option<&Bound<'_, PyAny>>,
        unsigned_payload: bool,
    ) -> PyResult<SignedRequest> {
        let signer = self.signer(py)?;
        let method = convert::text(method, "method")?;
        let url = convert::text(url, "URL")?;
        let headers = convert::headers(headers)?;
        let body = match body {
            _ if unsigned_payload => Body::Unsigned,
            None => Body::Empty,
            Some(b) if b.is_none() => Body::Empty,
            Some(b) => convert::body(b, || signer.algorithm())?,
        };
        let now = self.now();
        let signable = body.signable();
        let output = convert::with_pairs(&headers, |pairs| {
            let sign = || signer.sign_at(&SignableRequest::new(&method, &url, pairs, signable), now);
            if body.is_large() { py.detach(sign) } else { sign() }
        });
        Ok(SignedRequest::from(check(py, output)?))
    }

    /// Reads an APIG answer (the JSON body or its `error_msg`): when it is a "signature expired"
    /// rejection naming the server's time, adds the difference to the clock offset and returns
    /// `True` (the helper then signs again and retries once).
    fn learn(&self, text: &str) -> bool {
        match clock_skew_from_apig_message(text) {
            Some(skew) => {
                self.offset.fetch_add(skew, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// Seconds added to the system clock when signing (learned from expired answers).
    #[getter]
    fn clock_offset(&self) -> i64 {
        self.offset.load(Ordering::Relaxed)
    }

    #[setter]
    fn set_clock_offset(&self, seconds: i64) {
        self.offset.store(seconds, Ordering::Relaxed);
    }
}

impl ClientSigner {
    /// The signer for the provider's current credentials (rebuilt when they change).
    fn signer(&self, py: Python<'_>) -> PyResult<Arc<apig::Signer>> {
        let credentials = match &self.source {
            Source::Fixed(signer) => return Ok(Arc::clone(signer)),
            // a Python provider's exception goes up as it was raised
            Source::Python(object) => object.call(py)?,
            Source::Native { inner, io } => {
                let answer = if *io { py.detach(|| inner.credentials()) } else { inner.credentials() };
                answer.map_err(|e| credentials_error_to_py(py, &e))?
            }
        };
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((cached, signer)) = cache.as_ref()
            && *cached == credentials
        {
            return Ok(Arc::clone(signer));
        }
        let mut builder = apig::Signer::builder(credentials.access_key.clone(), credentials.secret.clone())
            .settings(self.settings.clone());
        if let Some(token) = &credentials.security_token {
            builder = builder.security_token(token.clone());
        }
        // the helper's own project / domain id (options) win over the credentials'
        if let Some(id) = credentials.project_id.clone().filter(|_| self.settings.project_id.is_none()) {
            builder = builder.project_id(id);
        }
        if let Some(id) = credentials.domain_id.clone().filter(|_| self.settings.domain_id.is_none()) {
            builder = builder.domain_id(id);
        }
        let signer = Arc::new(check(py, builder.build())?);
        *cache = Some((credentials, Arc::clone(&signer)));
        Ok(signer)
    }

    /// The system time plus the learned offset.
    fn now(&self) -> SystemTime {
        let offset = self.offset.load(Ordering::Relaxed);
        let magnitude = Duration::from_secs(offset.unsigned_abs());
        let now = SystemTime::now();
        if offset >= 0 { now.checked_add(magnitude) } else { now.checked_sub(magnitude) }.unwrap_or(now)
    }
}

/// Adds the classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Credentials>()?;
    m.add_class::<Provider>()?;
    m.add_class::<StaticProvider>()?;
    m.add_class::<EnvironmentProvider>()?;
    m.add_class::<ProfileProvider>()?;
    m.add_class::<MetadataProvider>()?;
    m.add_class::<ChainProvider>()?;
    m.add_class::<ClientSigner>()?;
    m.add("CREDENTIALS_ERROR_CODES", PyTuple::new(m.py(), CredentialsErrorKind::ALL.map(CredentialsErrorKind::code))?)?;
    Ok(())
}
