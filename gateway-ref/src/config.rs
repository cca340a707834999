//! The declarative configuration file (JSON, TOML or YAML), mirroring APIG's objects: groups with bound
//! domains, APIs, environments with the APIs published to each, apps and their authorisations, and
//! named policies bound to APIs.
//!
//! Loading reports syntax and type errors with the file position (`file:line:column: reason`);
//! [`crate::routing::Runtime::compile`] then checks the references between objects.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The embedded demo configuration (`cargo run -p apig-gateway` with no `--config`).
pub const DEMO_CONFIG: &str = include_str!("demo.json");

/// The default body limit: 12 MiB, as APIG.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 12 * 1024 * 1024;
/// The default URI limit: 32 KiB, as APIG.
pub const DEFAULT_MAX_URI_BYTES: usize = 32 * 1024;
/// The default limit on the size of all request headers together.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 64 * 1024;
/// The default time a client has to send its whole request body.
pub const DEFAULT_BODY_TIMEOUT_MS: u64 = 60_000;
/// The default cap on client connections served at once (nginx's default `worker_connections`).
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// The default backend timeout.
pub const DEFAULT_TIMEOUT_MS: u64 = 5000;
/// The environment used when a request has no `X-Stage` header.
pub const DEFAULT_ENVIRONMENT: &str = "RELEASE";

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Gateway-wide settings.
    #[serde(default)]
    pub gateway: GatewaySettings,
    /// API groups (each with its domains and APIs).
    #[serde(default)]
    pub groups: Vec<Group>,
    /// Environments and the APIs published to each.
    #[serde(default)]
    pub environments: Vec<Environment>,
    /// Credentials.
    #[serde(default)]
    pub apps: Vec<App>,
    /// Which app may call which API in which environment.
    #[serde(default)]
    pub authorizations: Vec<Authorization>,
    /// Named policies, bound to APIs by name (see `docs/gateway.md`).
    #[serde(default)]
    pub policies: Vec<PolicyDef>,
    /// Named upstreams (APIG's VPC channels): load-balanced server groups that backends name
    /// (`upstream://NAME[/base-path]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstreams: Vec<UpstreamDef>,
}

/// Gateway-wide settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewaySettings {
    /// The error code prefix: `APIG` (default) or `APIGW`.
    pub error_prefix: String,
    /// Largest request body (default 12 MiB); larger gets `APIG.0201` 413.
    pub max_body_bytes: u64,
    /// Largest request URI (default 32 KiB); larger gets `APIG.0201` 414.
    pub max_uri_bytes: usize,
    /// Largest total size of the request headers (default 64 KiB); larger gets `APIG.0201` 494.
    pub max_header_bytes: usize,
    /// Largest clock skew accepted for a signature, in seconds (default the core's,
    /// [`apig::VerifyPolicy::default`]: 900).
    pub max_skew_seconds: u64,
    /// Require `host` to be signed (default the core's: false, as APIG).
    pub require_host_signed: bool,
    /// Accept `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` (default the core's: true, as APIG).
    pub allow_unsigned_payload: bool,
    /// Time a client has to send its whole request body, counted from the end of its head
    /// (default 60000 ms); then `APIG.0201` 408 and the connection is closed.
    pub body_timeout_ms: u64,
    /// Client connections served at once by the whole process (default 512); one more is answered
    /// `APIG.0308` 429 and closed. Keep it under the open-file limit (`ulimit -n`), which backend
    /// connections share.
    pub max_connections: usize,
    /// Forward only the request headers the client signed, on signature-authenticated requests
    /// (default false); see docs/gateway.md for the headers kept besides.
    pub drop_unsigned_headers: bool,
    /// The TLS listener's settings (`--listen-tls`): minimum version, cipher suites, the
    /// certificate for unknown SNI, the handshake timeout ([`crate::tls`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSettings>,
    /// Per-host backend limits: connections and requests in flight to each backend `host:port`,
    /// and the wait for a free one ([`crate::backend_limit`]; default: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend_limits: Option<BackendLimits>,
}

/// The default of `gateway.backend_limits.queue`.
pub const DEFAULT_BACKEND_QUEUE: usize = 128;
/// The default of `gateway.backend_limits.queue_timeout_ms`.
pub const DEFAULT_BACKEND_QUEUE_TIMEOUT_MS: u64 = 1_000;

/// `gateway.backend_limits`: at most `max_connections` connections open, and requests in flight,
/// to each backend `host:port` (plain and `https://` backends, every upstream's servers; an
/// upstream's own `max_connections` overrides it for its servers); a request beyond waits for a
/// free one, behind at most `queue` others and for at most `queue_timeout_ms`, else is answered
/// `APIG.0202` 502.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendLimits {
    /// Connections (and requests in flight) per backend `host:port`; `0`: no limit but the
    /// upstreams' own.
    #[serde(default)]
    pub max_connections: usize,
    /// Requests waiting per `host:port` at most (default 128; `0`: none wait).
    #[serde(default = "default_backend_queue")]
    pub queue: usize,
    /// How long a request waits at most, in milliseconds (default 1000).
    #[serde(default = "default_backend_queue_timeout")]
    pub queue_timeout_ms: u64,
}

impl Default for BackendLimits {
    fn default() -> Self {
        Self { max_connections: 0, queue: DEFAULT_BACKEND_QUEUE, queue_timeout_ms: DEFAULT_BACKEND_QUEUE_TIMEOUT_MS }
    }
}

fn default_backend_queue() -> usize {
    DEFAULT_BACKEND_QUEUE
}

fn default_backend_queue_timeout() -> u64 {
    DEFAULT_BACKEND_QUEUE_TIMEOUT_MS
}

impl Default for GatewaySettings {
    fn default() -> Self {
        // the verification defaults are the core's
        let verify = apig::VerifyPolicy::default();
        Self {
            error_prefix: "APIG".to_owned(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_uri_bytes: DEFAULT_MAX_URI_BYTES,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_skew_seconds: verify.max_skew.as_secs(),
            require_host_signed: verify.require_host,
            allow_unsigned_payload: verify.allow_unsigned_payload,
            body_timeout_ms: DEFAULT_BODY_TIMEOUT_MS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            drop_unsigned_headers: false,
            tls: None,
            backend_limits: None,
        }
    }
}

/// The default TLS handshake timeout.
pub const DEFAULT_HANDSHAKE_TIMEOUT_MS: u64 = 10_000;

/// The TLS listener's settings (`gateway.tls`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSettings {
    /// The oldest TLS version accepted: `"1.2"` (default) or `"1.3"`.
    pub min_version: TlsVersion,
    /// The cipher suites offered, by their IANA names (`TLS13_AES_128_GCM_SHA256`,
    /// `TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384`, …); empty (default): all that rustls offers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cipher_suites: Vec<String>,
    /// The certificate for a handshake whose SNI names no bound domain with a certificate (or
    /// has no SNI); absent (default): such a handshake is refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_certificate: Option<CertificateFiles>,
    /// Time a client has to complete the TLS handshake, in milliseconds (default 10000).
    pub handshake_timeout_ms: u64,
}

impl Default for TlsSettings {
    fn default() -> Self {
        Self {
            min_version: TlsVersion::V1_2,
            cipher_suites: Vec::new(),
            default_certificate: None,
            handshake_timeout_ms: DEFAULT_HANDSHAKE_TIMEOUT_MS,
        }
    }
}

/// A TLS protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TlsVersion {
    /// TLS 1.2 (and 1.3).
    #[default]
    #[serde(rename = "1.2")]
    V1_2,
    /// TLS 1.3 only.
    #[serde(rename = "1.3")]
    V1_3,
}

/// A certificate chain and its private key, as PEM files (a path relative to the config file's
/// folder, or absolute).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateFiles {
    /// The certificate chain (PEM: the certificate first, then its intermediates).
    pub cert: PathBuf,
    /// The private key (PEM: PKCS#8, PKCS#1 RSA or SEC1 EC).
    pub key: PathBuf,
}

/// A certificate bound to some of a group's domains (`groups[].certificates[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupCertificate {
    /// The certificate chain (PEM), relative to the config file's folder or absolute.
    pub cert: PathBuf,
    /// The private key (PEM).
    pub key: PathBuf,
    /// The group's domains it is presented for (chosen by SNI); absent: all the group's domains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domains: Option<Vec<String>>,
}

/// What a group does with a request that came over plain HTTP (APIG's "HTTPS only").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlainHttp {
    /// Served (default).
    #[default]
    Allow,
    /// Answered `308 Permanent Redirect` to the same URL over `https://` (the TLS listener's port).
    Redirect,
    /// Answered `APIG.0201` 400: the group accepts HTTPS only.
    Refuse,
}

impl PlainHttp {
    /// Whether this is the default, `allow` (not written to a config file).
    pub fn is_allow(&self) -> bool {
        *self == Self::Allow
    }
}

/// An API group: the APIs and the domains (`Host` values) they answer on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Unique id.
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Bound domains, matched against `Host` (with or without the port). Empty: any host.
    #[serde(default)]
    pub domains: Vec<String>,
    /// The group's APIs.
    #[serde(default)]
    pub apis: Vec<Api>,
    /// Certificates of its domains, presented on the TLS listener by SNI.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<GroupCertificate>,
    /// A request over plain HTTP: `allow` (default), `redirect` to HTTPS, or `refuse`.
    #[serde(default, skip_serializing_if = "PlainHttp::is_allow")]
    pub plain_http: PlainHttp,
    /// The group's debug domain (APIG gives each group one): a host the group also answers on,
    /// whose calls are counted per day (UTC) against `debug_quota`; past it they get APIG.0308 429.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug_domain: Option<String>,
    /// Calls a day allowed on `debug_domain` (default [`DEFAULT_DEBUG_QUOTA`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug_quota: Option<u64>,
}

/// Calls a day on a group's debug domain when the group does not say (APIG's 1000).
pub const DEFAULT_DEBUG_QUOTA: u64 = 1000;

/// Authentication of an API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthType {
    /// App authentication: an AK/SK signature.
    App,
    /// App authentication, also accepting `X-Apig-AppCode` simple authentication.
    AppCode,
    /// No authentication.
    None,
}

/// How an API path matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchMode {
    /// The whole path (default).
    #[default]
    Exact,
    /// The path, or the path followed by `/…`.
    Prefix,
}

/// An API: method, path, authentication and backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Api {
    /// Unique id (across groups).
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `GET`, `POST`, … or `ANY`.
    pub method: String,
    /// Path starting with `/`, with `{param}` segments.
    pub path: String,
    /// `exact` (default) or `prefix`.
    #[serde(default, rename = "match")]
    pub match_mode: MatchMode,
    /// `app`, `app_code` or `none`.
    pub auth: AuthType,
    /// Where requests go.
    pub backend: Backend,
    /// Names of the policies bound to this API, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
}

/// A backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backend {
    /// `http://host:port[/base-path]`, `echo:` for the built-in echo backend, or `mock:` for a fixed
    /// answer (`mock`).
    pub url: String,
    /// Time allowed for the backend's response head, in milliseconds (default 5000).
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// The backend request's method when it differs from the client's (absent or `ANY`: the
    /// client's); see [`crate::backend_request`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The backend request's path, with `{param}`s, replacing the client's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Backend parameters: constants, request parameters renamed or moved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<crate::backend_request::BackendParameter>,
    /// The fixed answer of a `mock:` backend ([`crate::mock_backend`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mock: Option<crate::mock_backend::MockResponse>,
    /// How an `https://` backend's certificate is verified (default: the system's roots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<BackendTls>,
}

/// How a backend's (or an upstream's servers') TLS certificate is verified. The server name
/// verified and sent as SNI is the URL's host (an upstream server's address).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendTls {
    /// A PEM file of the CA certificates to trust instead of the system's roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate (no verification at all; logged as a warning when loaded). For
    /// tests and trusted networks only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure_skip_verify: bool,
}

/// A named upstream: servers requests are balanced over, with health checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamDef {
    /// Unique name, used in backend URLs (`upstream://NAME`).
    pub name: String,
    /// `http` (default) or `https`: how the servers are spoken to.
    #[serde(default = "default_scheme")]
    pub scheme: String,
    /// `round_robin` (default) or `weighted` (smooth weighted round robin, as nginx).
    #[serde(default)]
    pub balance: Balance,
    /// The servers (at least one).
    pub servers: Vec<ServerDef>,
    /// TLS verification of the servers (`scheme: https`; default: the system's roots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<BackendTls>,
    /// Active health checks (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheckDef>,
    /// Passive ejection of a server whose requests fail.
    #[serde(default)]
    pub passive: PassiveDef,
    /// Connections (and requests in flight) per server at most, overriding
    /// `gateway.backend_limits.max_connections` for this upstream's servers (the wait queue and
    /// its timeout are the gateway's); default: the gateway's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<usize>,
}

fn default_scheme() -> String {
    "http".to_owned()
}

/// How an upstream picks a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Balance {
    /// Each healthy server in turn.
    #[default]
    RoundRobin,
    /// Healthy servers in proportion to their weights, spread out (smooth weighted round robin).
    Weighted,
}

/// One server of an upstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerDef {
    /// `host:port`.
    pub address: String,
    /// Weight for `weighted` balance, 1 to 1000 (default 1).
    #[serde(default = "default_weight")]
    pub weight: u32,
}

fn default_weight() -> u32 {
    1
}

/// Active health checks: `GET path` on each server every `interval_ms`; a 2xx or 3xx within
/// `timeout_ms` is a pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckDef {
    /// The path requested (default `/`).
    #[serde(default = "default_check_path")]
    pub path: String,
    /// Time between checks of a server, in milliseconds (default 5000).
    #[serde(default = "default_check_interval")]
    pub interval_ms: u64,
    /// Time allowed for the answer, in milliseconds (default 1000).
    #[serde(default = "default_check_timeout")]
    pub timeout_ms: u64,
    /// Passes in a row that bring an unhealthy server back (default 2).
    #[serde(default = "default_healthy_threshold")]
    pub healthy_threshold: u32,
    /// Failures in a row that take a healthy server out (default 3).
    #[serde(default = "default_unhealthy_threshold")]
    pub unhealthy_threshold: u32,
}

fn default_check_path() -> String {
    "/".to_owned()
}
fn default_check_interval() -> u64 {
    5000
}
fn default_check_timeout() -> u64 {
    1000
}
fn default_healthy_threshold() -> u32 {
    2
}
fn default_unhealthy_threshold() -> u32 {
    3
}

/// Passive ejection: a server whose requests fail `max_failures` times in a row (no connection,
/// reset or closed before an answer, no answer in time) is taken out; the active health check
/// brings it back, or, without one, `eject_ms` later it is tried again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PassiveDef {
    /// Failures in a row that eject a server (default 3; 0: never ejected passively).
    pub max_failures: u32,
    /// Without active checks: how long an ejected server is left out, in milliseconds (default 10000).
    pub eject_ms: u64,
}

impl Default for PassiveDef {
    fn default() -> Self {
        Self { max_failures: 3, eject_ms: 10_000 }
    }
}

fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_MS
}

/// An environment and the APIs published to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// `RELEASE` (selected when there is no `X-Stage` header) or another name.
    pub name: String,
    /// Ids of the APIs published here.
    #[serde(default)]
    pub published: Vec<String>,
}

/// Whether an app may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppStatus {
    /// Usable (default).
    #[default]
    Active,
    /// Refused as if unknown.
    Disabled,
}

/// An app (credential).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct App {
    /// Unique id.
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// AppKey (access key).
    pub key: String,
    /// AppSecret: 8 to 64 characters (APIG's rule). A file's error about it never shows the value.
    #[serde(deserialize_with = "crate::redact::app_secret")]
    pub secret: String,
    /// `active` (default) or `disabled`.
    #[serde(default)]
    pub status: AppStatus,
    /// AppCodes for `X-Apig-AppCode` simple authentication. A file's error about them never shows
    /// a value.
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "crate::redact::app_codes")]
    pub app_codes: Vec<String>,
}

/// An app's authorisation for an API in an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// App id.
    pub app: String,
    /// API id.
    pub api: String,
    /// Environment (default `RELEASE`).
    #[serde(default = "default_environment")]
    pub environment: String,
}

fn default_environment() -> String {
    DEFAULT_ENVIRONMENT.to_owned()
}

/// A named policy, bound to APIs by name. Its `config` is read by the policy type (see
/// [`crate::policy`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDef {
    /// Unique name.
    pub name: String,
    /// The policy type, e.g. `cors`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Type-specific settings.
    #[serde(default)]
    pub config: serde_json::Value,
}

/// The file format, from the extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.json`
    Json,
    /// `.toml`
    Toml,
    /// `.yaml` or `.yml`
    Yaml,
}

impl Format {
    /// The format of `path`.
    ///
    /// # Errors
    /// When the extension is none of `.json`, `.toml`, `.yaml`, `.yml`.
    pub fn of(path: &Path) -> Result<Self, ConfigError> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("json") => Ok(Self::Json),
            Some("toml") => Ok(Self::Toml),
            Some("yaml" | "yml") => Ok(Self::Yaml),
            _ => Err(ConfigError::new(path, None, "the config file must end in .json, .toml, .yaml or .yml")),
        }
    }
}

/// A config that cannot be used: where (file, and line:column or object path) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (`<demo>` for the embedded demo).
    pub file: PathBuf,
    /// `line:column` for syntax and type errors, an object path (`groups[0].apis[1]`) for others.
    pub position: Option<String>,
    /// Why.
    pub reason: String,
}

impl ConfigError {
    /// A new error.
    pub fn new(file: &Path, position: Option<String>, reason: impl Into<String>) -> Self {
        Self { file: file.to_path_buf(), position, reason: reason.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.position {
            Some(pos) => write!(f, "{}:{pos}: {}", self.file.display(), self.reason),
            None => write!(f, "{}: {}", self.file.display(), self.reason),
        }
    }
}

impl std::error::Error for ConfigError {}

impl ConfigFile {
    /// The embedded demo configuration.
    ///
    /// # Errors
    /// Never in a released build (a test parses it); typed for symmetry.
    pub fn demo() -> Result<Self, ConfigError> {
        Self::parse(DEMO_CONFIG, Format::Json, Path::new("<demo>"))
    }

    /// Reads and parses `path` (format from the extension).
    ///
    /// # Errors
    /// When the file cannot be read or parsed; the error names the position.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let format = Format::of(path)?;
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::new(path, None, e.to_string()))?;
        Self::parse(&text, format, path)
    }

    /// Parses `text`.
    ///
    /// # Errors
    /// On a syntax or type error, with `line:column`.
    pub fn parse(text: &str, format: Format, file: &Path) -> Result<Self, ConfigError> {
        match format {
            Format::Json => serde_json::from_str(text).map_err(|e| {
                let reason = e.to_string();
                // serde_json appends " at line L column C": keep the reason alone
                let reason = reason.split(" at line ").next().unwrap_or(&reason).to_owned();
                ConfigError::new(file, Some(format!("{}:{}", e.line(), e.column())), reason)
            }),
            Format::Toml => toml::from_str(text).map_err(|e| {
                let position = e.span().map(|span| line_column(text, span.start));
                ConfigError::new(file, position, e.message().to_owned())
            }),
            Format::Yaml => from_yaml(text).map_err(|(position, reason)| ConfigError::new(file, position, reason)),
        }
    }

    /// The text of this config in `format`.
    ///
    /// # Errors
    /// When the config cannot be represented (e.g. a `null` in a policy config written as TOML).
    pub fn to_text(&self, format: Format) -> Result<String, String> {
        match format {
            Format::Json => serde_json::to_string_pretty(self).map(|mut s| {
                s.push('\n');
                s
            }),
            Format::Toml => return toml::to_string_pretty(self).map_err(|e| e.to_string()),
            Format::Yaml => return to_yaml(self),
        }
        .map_err(|e| e.to_string())
    }
}

/// Parses YAML `text` as a `T`: on error, `line:column` (when known) and the reason without it.
///
/// # Errors
/// A syntax or type error.
pub fn from_yaml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, (Option<String>, String)> {
    serde_saphyr::from_str(text).map_err(|e| {
        let position = e.location().map(|l| format!("{}:{}", l.line(), l.column()));
        (position, yaml_reason(&e))
    })
}

/// The message of a YAML error, without the position and source snippet the crate adds.
fn yaml_reason(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    let text = text.lines().next().unwrap_or(&text);
    // "… at line L, column C": keep the reason alone
    text.split(" at line ").next().unwrap_or(text).trim().to_owned()
}

/// `value` as YAML text.
///
/// # Errors
/// When the value cannot be represented.
pub fn to_yaml<T: Serialize>(value: &T) -> Result<String, String> {
    serde_saphyr::to_string(value).map_err(|e| e.to_string())
}

/// `line:column` (1-based) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> String {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("{line}:{column}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_parses() {
        let demo = ConfigFile::demo().unwrap();
        assert_eq!(demo.apps[0].key, "demo-access-key");
        assert_eq!(demo.groups[0].apis.len(), 2);
    }

    #[test]
    fn json_errors_have_positions() {
        let err =
            ConfigFile::parse("{\n  \"groups\": [ {\"idd\": 1} ]\n}", Format::Json, Path::new("x.json")).unwrap_err();
        assert_eq!(err.position.as_deref(), Some("2:20"));
        assert!(err.reason.contains("unknown field `idd`"), "{err}");
        assert!(err.to_string().starts_with("x.json:2:20: unknown field"), "{err}");
    }

    #[test]
    fn toml_errors_have_positions() {
        let err =
            ConfigFile::parse("[gateway]\nmax_body_bytes = \"big\"\n", Format::Toml, Path::new("x.toml")).unwrap_err();
        assert_eq!(err.position.as_deref(), Some("2:18"), "{err}");
    }

    #[test]
    fn app_secrets_are_8_to_64_characters_and_never_shown() {
        let app = |secret: &str| format!(r#"{{"apps": [{{"id": "a", "key": "k", "secret": {secret}}}]}}"#);
        for secret in ["\"\"", "\"SECRET7\"", &format!("\"{}\"", "S".repeat(65)), "12345678901"] {
            let err = ConfigFile::parse(&app(secret), Format::Json, Path::new("x.json")).unwrap_err();
            assert!(err.to_string().starts_with("x.json:1:"), "{err}");
            assert!(!err.to_string().contains("SECRET") && !err.to_string().contains("12345678901"), "{err}");
        }
        for secret in ["\"12345678\"", &format!("\"{}\"", "é".repeat(64))] {
            ConfigFile::parse(&app(secret), Format::Json, Path::new("x.json")).unwrap();
        }
        let err = ConfigFile::parse(
            "[[apps]]\nid = \"a\"\nkey = \"k\"\nsecret = \"SECRET7\"\n",
            Format::Toml,
            Path::new("x.toml"),
        )
        .unwrap_err();
        assert_eq!(err.position.as_deref(), Some("4:10"), "{err}");
        assert!(err.reason.contains("8 to 64 characters") && !err.reason.contains("SECRET7"), "{err}");
    }

    #[test]
    fn yaml_errors_have_positions() {
        let err = ConfigFile::parse("groups:\n  - id: g\n    idd: 1\n", Format::Yaml, Path::new("x.yaml")).unwrap_err();
        assert_eq!(err.position.as_deref(), Some("3:5"), "{err}");
        assert!(err.reason.contains("unknown field `idd`"), "{err}");
        assert!(err.to_string().starts_with("x.yaml:3:5: unknown field"), "{err}");
        let err = ConfigFile::parse("gateway:\n  max_body_bytes: big\n", Format::Yaml, Path::new("x.yml")).unwrap_err();
        assert_eq!(err.position.as_deref(), Some("2:19"), "{err}");
        let err = ConfigFile::parse("groups: [\n", Format::Yaml, Path::new("x.yml")).unwrap_err();
        assert!(err.position.is_some(), "{err}");
        let err = ConfigFile::parse("apps:\n- {id: a, key: k, secret: SECRET7}\n", Format::Yaml, Path::new("x.yml"))
            .unwrap_err();
        assert!(err.to_string().starts_with("x.yml:2:"), "{err}");
        assert!(err.reason.contains("8 to 64 characters") && !err.to_string().contains("SECRET7"), "{err}");
        assert_eq!(Format::of(Path::new("a.YML")).unwrap(), Format::Yaml);
        assert_eq!(Format::of(Path::new("a.yaml")).unwrap(), Format::Yaml);
    }

    #[test]
    fn round_trips_through_every_format() {
        let demo = ConfigFile::demo().unwrap();
        for format in [Format::Json, Format::Toml, Format::Yaml] {
            let text = demo.to_text(format).unwrap();
            assert_eq!(ConfigFile::parse(&text, format, Path::new("x")).unwrap(), demo, "{format:?}");
        }
    }
}
