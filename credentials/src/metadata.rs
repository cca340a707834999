//! Temporary credentials of the ECS's agency from the metadata service (SPEC-credentials §4.3),
//! refreshed before they expire: in the background while the cached ones are still valid (no
//! request waits on a refresh it does not need), by one fetch at a time (single-flight), and a
//! failed refresh keeps serving the cached credentials until they expire.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use apig::{Clock, SystemClock};
use serde::Deserialize;

use crate::credentials::Credentials;
use crate::error::{CredentialsError, CredentialsErrorKind};
use crate::provider::ProvideCredentials;

/// The metadata service of an ECS.
pub const DEFAULT_ENDPOINT: &str = "http://169.254.169.254";
/// Refresh when less than this is left (the v3 SDKs' 40 minutes).
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(40 * 60);
/// Connect and read timeout of each call (the v3 SDKs' 3 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
/// The fewest seconds between two background refreshes (the service may hand out the same
/// credentials until it rotates them).
pub const DEFAULT_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(10);

const TOKEN_PATH: &str = "/meta-data/latest/api/token";
const SECURITY_KEY_PATH: &str = "/openstack/latest/securitykey";
const PROVIDER: &str = "metadata";

/// The metadata provider's settings.
#[derive(Debug, Clone)]
pub struct MetadataSettings {
    /// Scheme and authority of the service (default [`DEFAULT_ENDPOINT`]).
    pub endpoint: String,
    /// Refresh when less than this is left (default [`DEFAULT_REFRESH_MARGIN`]).
    pub refresh_margin: Duration,
    /// Timeout of each HTTP call (default [`DEFAULT_TIMEOUT`]).
    pub timeout: Duration,
    /// The fewest time between two background refreshes (default [`DEFAULT_MIN_REFRESH_INTERVAL`]).
    pub min_refresh_interval: Duration,
}

impl Default for MetadataSettings {
    fn default() -> Self {
        Self {
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            refresh_margin: DEFAULT_REFRESH_MARGIN,
            timeout: DEFAULT_TIMEOUT,
            min_refresh_interval: DEFAULT_MIN_REFRESH_INTERVAL,
        }
    }
}

/// The ECS metadata provider. Cheap to clone (one shared cache).
#[derive(Clone)]
pub struct MetadataProvider {
    inner: Arc<Inner>,
}

struct Inner {
    settings: MetadataSettings,
    clock: Arc<dyn Clock>,
    agent: ureq::Agent,
    /// The cached credentials and when the last refresh started.
    state: Mutex<State>,
    /// Held while fetching: one fetch at a time.
    fetching: Mutex<()>,
    /// A background refresh is under way.
    refreshing: AtomicBool,
}

#[derive(Default)]
struct State {
    credentials: Option<Credentials>,
    last_refresh: Option<SystemTime>,
    /// The session token of the metadata service, once one was issued.
    session_token: Option<String>,
    /// The last background refresh's failure (reported if the cached credentials expire).
    last_error: Option<CredentialsError>,
}

impl MetadataProvider {
    /// The ECS metadata service at `169.254.169.254`, with the documented timeouts and margin.
    pub fn new() -> Self {
        Self::with_settings(MetadataSettings::default())
    }

    /// With `settings` and the system clock.
    pub fn with_settings(settings: MetadataSettings) -> Self {
        Self::with_clock(settings, SystemClock)
    }

    /// With `settings` and `clock` (tests).
    pub fn with_clock(settings: MetadataSettings, clock: impl Clock + 'static) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(settings.timeout))
            .timeout_global(Some(settings.timeout))
            .http_status_as_error(false)
            .build();
        Self {
            inner: Arc::new(Inner {
                settings,
                clock: Arc::new(clock),
                agent: ureq::Agent::new_with_config(config),
                state: Mutex::new(State::default()),
                fetching: Mutex::new(()),
                refreshing: AtomicBool::new(false),
            }),
        }
    }
}

impl Default for MetadataProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MetadataProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetadataProvider").field("settings", &self.inner.settings).finish_non_exhaustive()
    }
}

impl ProvideCredentials for MetadataProvider {
    fn credentials(&self) -> Result<Credentials, CredentialsError> {
        let inner = &self.inner;
        let now = inner.clock.now();
        if let Some(credentials) = inner.cached_valid(now) {
            if inner.needs_refresh(&credentials, now) {
                Inner::refresh_in_background(inner);
            }
            return Ok(credentials);
        }
        // none yet, or expired: this caller waits, and only one fetches
        let _fetching = inner.fetching.lock().unwrap_or_else(PoisonError::into_inner);
        let now = inner.clock.now();
        if let Some(credentials) = inner.cached_valid(now) {
            return Ok(credentials); // fetched by the caller we waited for
        }
        let had = inner.lock().credentials.is_some();
        match inner.fetch() {
            Ok(credentials) => {
                inner.store(credentials.clone(), now);
                Ok(credentials)
            }
            Err(e) if had => Err(CredentialsError::new(
                CredentialsErrorKind::Expired,
                PROVIDER,
                e.source_name().to_owned(),
                format!("the credentials expired and the refresh failed: {e}"),
            )),
            Err(e) => Err(e),
        }
    }

    fn name(&self) -> &'static str {
        PROVIDER
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn cached_valid(&self, now: SystemTime) -> Option<Credentials> {
        self.lock().credentials.clone().filter(|c| !c.is_expired_at(now))
    }

    fn needs_refresh(&self, credentials: &Credentials, now: SystemTime) -> bool {
        let Some(expires_at) = credentials.expires_at else { return false };
        let left = expires_at.duration_since(now).unwrap_or_default();
        let state = self.lock();
        let recent = state
            .last_refresh
            .is_some_and(|at| now.duration_since(at).unwrap_or_default() < self.settings.min_refresh_interval);
        left < self.settings.refresh_margin && !recent
    }

    fn store(&self, credentials: Credentials, now: SystemTime) {
        let mut state = self.lock();
        state.credentials = Some(credentials);
        state.last_refresh = Some(now);
        state.last_error = None;
    }

    /// Starts one background refresh unless one is under way.
    fn refresh_in_background(this: &Arc<Self>) {
        if this.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        this.lock().last_refresh = Some(this.clock.now());
        let inner = Arc::clone(this);
        std::thread::spawn(move || {
            {
                let _fetching = inner.fetching.lock().unwrap_or_else(PoisonError::into_inner);
                let now = inner.clock.now();
                match inner.fetch() {
                    Ok(credentials) => inner.store(credentials, now),
                    // the cached credentials are served until they expire
                    Err(e) => inner.lock().last_error = Some(e),
                }
            }
            inner.refreshing.store(false, Ordering::Release);
        });
    }

    /// One fetch: the session token (optional), then the security key.
    fn fetch(&self) -> Result<Credentials, CredentialsError> {
        let token = self.session_token(false)?;
        match self.security_key(token.as_deref())? {
            Fetched::Credentials(credentials) => Ok(credentials),
            Fetched::Unauthorized => {
                // the session token expired: a new one (failures now fatal), then once more
                let token = self.session_token(true)?;
                match self.security_key(token.as_deref())? {
                    Fetched::Credentials(credentials) => Ok(credentials),
                    Fetched::Unauthorized => Err(self.error(
                        CredentialsErrorKind::HttpStatus,
                        SECURITY_KEY_PATH,
                        "HTTP 401 with a fresh session token".to_owned(),
                    )),
                }
            }
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.endpoint.trim_end_matches('/'))
    }

    fn error(&self, kind: CredentialsErrorKind, path: &str, message: String) -> CredentialsError {
        CredentialsError::new(kind, PROVIDER, self.url(path), message)
    }

    fn transport(&self, path: &str, e: &ureq::Error) -> CredentialsError {
        let kind = match e {
            ureq::Error::Timeout(_) => CredentialsErrorKind::Timeout,
            _ => CredentialsErrorKind::Unreachable,
        };
        self.error(kind, path, e.to_string())
    }

    /// The session token: kept once issued; `None` when the service does not issue them.
    fn session_token(&self, renew: bool) -> Result<Option<String>, CredentialsError> {
        if !renew && let Some(token) = self.lock().session_token.clone() {
            return Ok(Some(token));
        }
        let response = self
            .agent
            .put(self.url(TOKEN_PATH))
            .header("X-Metadata-Token-Ttl-Seconds", "21600")
            .send_empty()
            .map_err(|e| self.transport(TOKEN_PATH, &e))?;
        let status = response.status().as_u16();
        match status {
            200 => {
                let token = response
                    .into_body()
                    .read_to_string()
                    .map_err(|e| self.transport(TOKEN_PATH, &e))?
                    .trim()
                    .to_owned();
                self.lock().session_token = Some(token.clone());
                Ok(Some(token))
            }
            404 | 405 | 503 if !renew => Ok(None),
            _ => Err(self.error(CredentialsErrorKind::HttpStatus, TOKEN_PATH, format!("HTTP {status}"))),
        }
    }

    fn security_key(&self, token: Option<&str>) -> Result<Fetched, CredentialsError> {
        let mut request = self.agent.get(self.url(SECURITY_KEY_PATH));
        if let Some(token) = token {
            request = request.header("X-Metadata-Token", token);
        }
        let response = request.call().map_err(|e| self.transport(SECURITY_KEY_PATH, &e))?;
        let status = response.status().as_u16();
        let body = response.into_body().read_to_string().map_err(|e| self.transport(SECURITY_KEY_PATH, &e))?;
        if status == 401 && !body.contains("Please configure Cloud Service Agency first") {
            return Ok(Fetched::Unauthorized);
        }
        if status >= 400 {
            let hint = if body.contains("Cloud Service Agency") { ": the ECS has no agency configured" } else { "" };
            return Err(self.error(
                CredentialsErrorKind::HttpStatus,
                SECURITY_KEY_PATH,
                format!("HTTP {status}{hint}"),
            ));
        }
        parse_security_key(&body)
            .map(Fetched::Credentials)
            .map_err(|(kind, why)| self.error(kind, SECURITY_KEY_PATH, why))
    }
}

enum Fetched {
    Credentials(Credentials),
    Unauthorized,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(alias = "credentials")]
    credential: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The service's JSON → credentials; field spellings as Python's v3 SDK accepts them.
fn parse_security_key(body: &str) -> Result<Credentials, (CredentialsErrorKind, String)> {
    let answer: Answer = serde_json::from_str(body).map_err(|e| {
        (CredentialsErrorKind::Malformed, format!("not the expected JSON (line {} column {})", e.line(), e.column()))
    })?;
    let fields = answer.credential.ok_or((CredentialsErrorKind::MissingField, "no `credential` object".to_owned()))?;
    let field = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| fields.get(*n).and_then(serde_json::Value::as_str))
            .filter(|v| !v.is_empty())
            .ok_or_else(|| (CredentialsErrorKind::MissingField, format!("no `{}` field", names[0])))
    };
    let access = field(&["access", "accessKeyId", "access_key_id"])?;
    let secret = field(&["secret", "secretAccessKey", "secret_access_key"])?;
    let token = field(&["securitytoken", "securityToken", "security_token"])?;
    let expires = field(&["expires_at", "expiration"])?;
    let expires_at = time::OffsetDateTime::parse(expires, &time::format_description::well_known::Rfc3339)
        .map_err(|_| (CredentialsErrorKind::Malformed, format!("`expires_at` is not an RFC 3339 time: {expires:?}")))?;
    Ok(Credentials::new(access, secret).with_security_token(token).with_expiry(expires_at.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_spelling_and_fraction_parses() {
        for (body, expiry) in [
            (
                r#"{"credential":{"access":"A","secret":"S","securitytoken":"T","expires_at":"2020-01-08T03:50:07.574000Z"}}"#,
                1_578_455_407,
            ),
            (
                r#"{"credentials":{"accessKeyId":"A","secretAccessKey":"S","securityToken":"T","expiration":"2020-01-08T03:50:07Z"}}"#,
                1_578_455_407,
            ),
            (
                r#"{"credential":{"access_key_id":"A","secret_access_key":"S","security_token":"T","expires_at":"2020-01-08T03:50:07.123456789Z"}}"#,
                1_578_455_407,
            ),
        ] {
            let c = parse_security_key(body).unwrap();
            assert_eq!(
                (c.access_key.as_str(), c.secret.expose(), c.security_token.unwrap().expose()),
                ("A", &b"S"[..], "T")
            );
            let at = c.expires_at.unwrap().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
            assert_eq!(at, expiry);
        }
        let missing =
            parse_security_key(r#"{"credential":{"access":"A","secret":"S","expires_at":"2020-01-08T03:50:07Z"}}"#);
        assert_eq!(missing.unwrap_err().0, CredentialsErrorKind::MissingField);
        assert_eq!(parse_security_key("{").unwrap_err().0, CredentialsErrorKind::Malformed);
        assert_eq!(parse_security_key("{}").unwrap_err().0, CredentialsErrorKind::MissingField);
        let bad_date = r#"{"credential":{"access":"A","secret":"S","securitytoken":"T","expires_at":"tomorrow"}}"#;
        assert_eq!(parse_security_key(bad_date).unwrap_err().0, CredentialsErrorKind::Malformed);
    }
}
