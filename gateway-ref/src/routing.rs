//! The compiled configuration: groups matched on `Host`, APIs on method and path, environments,
//! apps and authorisations, and each API's policy pipeline. One [`Runtime`] is swapped atomically on
//! reload; a request keeps the one it started with.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use apig::{KeyResolver, SecretKey, Verifier, VerifyPolicy};
use hyper::Uri;
use hyper::http::uri::Authority;

use crate::backend_client::{self, TlsClient};
use crate::backend_limit::{self, HostLimit};
use crate::backend_request::BackendRequest;
use crate::config::{
    AppStatus, AuthType, Backend, ConfigError, ConfigFile, GatewaySettings, MatchMode, PlainHttp, PolicyDef,
    UpstreamDef,
};
use crate::metrics::ApiMetrics;
use crate::mock_backend::MockBackend;
use crate::policy::{self, Pipeline, Policy};
use crate::redact;
use crate::tls::TlsFront;
use crate::upstream::Upstream;

/// Where an API's requests go.
#[derive(Debug, Clone)]
pub enum BackendTarget {
    /// The built-in echo backend.
    Echo,
    /// A fixed answer ([`crate::mock_backend`]).
    Mock(Box<MockBackend>),
    /// An HTTP backend: scheme and authority, and a base path prepended to the request path.
    Http {
        /// `http://host:port`
        origin: String,
        /// `host:port`
        authority: Authority,
        /// Base path without a trailing `/` (may be empty).
        base_path: String,
        /// The TLS client of an `https://` backend (its verification settings).
        tls: Option<Arc<TlsClient>>,
    },
    /// A named upstream's servers, load-balanced; the upstream request's URI is
    /// `scheme://NAME/base/path` until a server is picked ([`crate::proxy::send`]).
    Upstream {
        /// The upstream.
        upstream: Arc<Upstream>,
        /// `http://NAME` or `https://NAME`.
        origin: String,
        /// Base path without a trailing `/` (may be empty).
        base_path: String,
    },
}

/// Match quality: literal segments matched, exact (not prefix) match, segment count.
type Score = (usize, bool, usize);

/// One path segment of an API path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param,
}

/// A compiled API.
#[derive(Debug)]
pub struct ApiRoute {
    /// API id.
    pub id: String,
    /// Its group's id.
    pub group_id: String,
    /// `None` for `ANY`.
    pub method: Option<String>,
    segments: Vec<Segment>,
    prefix: bool,
    /// Authentication.
    pub auth: AuthType,
    /// Backend.
    pub backend: BackendTarget,
    /// Backend timeout.
    pub timeout: Duration,
    /// The backend request's method, path and parameters, when they differ from the client's.
    pub backend_request: Option<BackendRequest>,
    /// The bound policies, in order.
    pub policies: Pipeline,
    /// The API's metric handles, resolved on its first observed request (with the status
    /// listener on).
    pub metrics: OnceLock<ApiMetrics>,
    /// Its group's answer to a request over plain HTTP (APIG's "HTTPS only").
    pub plain_http: PlainHttp,
}

impl ApiRoute {
    /// Match quality for `segments` of a request path: `None` when it does not match; higher is better.
    fn score(&self, method: &str, path: &[&str]) -> Option<Score> {
        if self.method.as_deref().is_some_and(|m| m != method) {
            return None;
        }
        if path.len() < self.segments.len() || (!self.prefix && path.len() != self.segments.len()) {
            return None;
        }
        let mut literals = 0;
        for (want, got) in self.segments.iter().zip(path) {
            match want {
                Segment::Literal(l) if l == got => literals += 1,
                Segment::Literal(_) => return None,
                Segment::Param if got.is_empty() => return None,
                Segment::Param => {}
            }
        }
        Some((literals, !self.prefix, self.segments.len()))
    }
}

#[derive(Debug)]
struct CompiledGroup {
    id: String,
    domains: Vec<String>,
    apis: Vec<Arc<ApiRoute>>,
    /// The debug domain (lower case) and its calls a day.
    debug: Option<(String, u64)>,
}

/// An app as the gateway checks it.
#[derive(Debug, Clone)]
pub struct AppEntry {
    /// App id.
    pub id: String,
    /// AppKey.
    pub key: String,
    secret: SecretKey,
}

/// A map looked up on every request (app keys, environments, authorisations): foldhash rather
/// than SipHash, which cost ~1 300 instructions a request over these lookups. The keys are the
/// configuration's; a request's values are only looked up, never inserted.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
/// The set of [`FastMap`].
type FastSet<K> = HashSet<K, foldhash::fast::RandomState>;

/// The active apps' secrets, for the core verifier.
#[derive(Debug, Default)]
pub struct KeyStore(FastMap<String, AppEntry>);

impl KeyResolver for KeyStore {
    fn resolve(&self, access_key: &str) -> Option<SecretKey> {
        self.0.get(access_key).map(|a| a.secret.clone())
    }
}

/// The result of routing.
#[derive(Debug)]
pub enum Route {
    /// The API, published in the environment.
    Found(Arc<ApiRoute>),
    /// No API matches, or it is not published in the environment.
    NotFound,
}

/// A compiled configuration.
pub struct Runtime {
    /// The source it was compiled from (what the admin API edits).
    pub source: ConfigFile,
    /// Gateway-wide settings.
    pub settings: GatewaySettings,
    groups: Vec<CompiledGroup>,
    published: FastMap<String, FastSet<String>>,
    keys: Arc<KeyStore>,
    app_codes: FastMap<String, AppEntry>,
    /// app id → API id → environments
    authorized: FastMap<String, FastMap<String, FastSet<String>>>,
    /// The core verifier over the active apps.
    pub verifier: Verifier<Arc<KeyStore>>,
    /// The compiled policies by name (each definition is in `source.policies`).
    policies: HashMap<String, Arc<dyn Policy>>,
    /// The upstreams by name (each definition is in `source.upstreams`).
    upstreams: HashMap<String, Arc<Upstream>>,
    /// The TLS front end: the domains' certificates by SNI, the TLS settings ([`crate::tls`]).
    pub tls: Arc<TlsFront>,
    /// The per-host backend limits ([`crate::backend_limit`]), registered when installed.
    pub backend_limits: Vec<Arc<HostLimit>>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("groups", &self.groups.len()).finish_non_exhaustive()
    }
}

impl Runtime {
    /// Checks `source` and compiles it.
    ///
    /// # Errors
    /// The first inconsistency, with the object path (`groups[0].apis[1].path`) as its position.
    pub fn compile(source: ConfigFile, file: &Path) -> Result<Self, ConfigError> {
        Self::compile_after(source, file, None)
    }

    /// Checks `source` and compiles it to replace `previous`: a policy whose definition (name,
    /// type and config) is the same in both keeps its state, i.e. is the very same policy
    /// (throttling counters, circuit breakers, authorizer caches, Kafka queues); a new or changed
    /// definition gets a new policy.
    ///
    /// # Errors
    /// As [`Runtime::compile`].
    pub fn compile_after(source: ConfigFile, file: &Path, previous: Option<&Self>) -> Result<Self, ConfigError> {
        let err = |pos: String, reason: String| ConfigError::new(file, Some(pos), reason);
        let s = &source.gateway;
        if !matches!(s.error_prefix.as_str(), "APIG" | "APIGW") {
            return Err(err("gateway.error_prefix".into(), "must be \"APIG\" or \"APIGW\"".into()));
        }
        if s.max_uri_bytes < 64 || s.max_header_bytes < 1024 {
            return Err(err("gateway".into(), "max_uri_bytes must be >= 64 and max_header_bytes >= 1024".into()));
        }
        if s.body_timeout_ms == 0 || s.max_connections == 0 {
            return Err(err("gateway".into(), "body_timeout_ms and max_connections must be > 0".into()));
        }

        let mut policies = HashMap::new();
        for (i, def) in source.policies.iter().enumerate() {
            if def.name.is_empty() || def.name.chars().any(char::is_control) {
                return Err(err(
                    format!("policies[{i}].name"),
                    format!("policy name {:?}: {POLICY_NAME_RULE}", def.name),
                ));
            }
            let kept = previous.and_then(|p| p.policy_if_unchanged(def));
            let built = match kept {
                Some(policy) => policy,
                None => policy::build(def).map_err(|why| err(format!("policies[{i}]"), why))?,
            };
            if policies.insert(def.name.clone(), built).is_some() {
                return Err(err(format!("policies[{i}].name"), format!("duplicate policy name {:?}", def.name)));
            }
        }

        let mut upstreams = HashMap::new();
        for (i, def) in source.upstreams.iter().enumerate() {
            let kept = previous.and_then(|p| p.upstream_if_unchanged(def));
            let upstream = match kept {
                Some(upstream) => upstream,
                None => {
                    let made = Upstream::new(def).map_err(|(field, why)| err(format!("upstreams[{i}]{field}"), why))?;
                    if def.tls.as_ref().is_some_and(|t| t.insecure_skip_verify) {
                        eprintln!(
                            "apig-gateway: warning: upstreams[{i}] {:?}: tls.insecure_skip_verify: the servers' certificates are not verified",
                            def.name
                        );
                    }
                    let made = Arc::new(made);
                    crate::health_check::start(&made);
                    made
                }
            };
            if upstreams.insert(def.name.clone(), upstream).is_some() {
                return Err(err(format!("upstreams[{i}].name"), format!("duplicate upstream name {:?}", def.name)));
            }
        }

        let mut api_ids = HashSet::new();
        let mut groups = Vec::new();
        let mut group_ids = HashSet::new();
        let mut debug_domains: Vec<String> = Vec::new();
        for (g, group) in source.groups.iter().enumerate() {
            if !group_ids.insert(group.id.as_str()) {
                return Err(err(format!("groups[{g}].id"), format!("duplicate group id {:?}", group.id)));
            }
            check_id("group id", &group.id).map_err(|why| err(format!("groups[{g}].id"), why))?;
            let mut apis = Vec::new();
            for (a, api) in group.apis.iter().enumerate() {
                let at = |field: &str| format!("groups[{g}].apis[{a}]{field}");
                if api.id.is_empty() || !api_ids.insert(api.id.clone()) {
                    return Err(err(at(".id"), format!("empty or duplicate API id {:?}", api.id)));
                }
                check_id("API id", &api.id).map_err(|why| err(at(".id"), why))?;
                let method = match api.method.to_ascii_uppercase().as_str() {
                    "ANY" => None,
                    m @ ("GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS") => Some(m.to_owned()),
                    _ => return Err(err(at(".method"), format!("unknown method {:?}", api.method))),
                };
                let segments = parse_path(&api.path).map_err(|why| err(at(".path"), why))?;
                let backend = parse_backend(&api.backend, &upstreams).map_err(|(field, why)| {
                    // a URL's password is not shown
                    let why =
                        redact::url_password(&api.backend.url).map_or_else(|| why.clone(), |pw| redact::hide(&why, pw));
                    err(at(&format!(".backend.{field}")), why)
                })?;
                if api.backend.tls.as_ref().is_some_and(|t| t.insecure_skip_verify) {
                    eprintln!(
                        "apig-gateway: warning: {}: tls.insecure_skip_verify: the backend's certificate is not verified",
                        at(".backend")
                    );
                }
                if api.backend.timeout_ms == 0 {
                    return Err(err(at(".backend.timeout_ms"), "must be > 0".into()));
                }
                let backend = match (backend, &api.backend.mock) {
                    (BackendTarget::Mock(_), Some(mock)) => BackendTarget::Mock(Box::new(
                        MockBackend::new(mock).map_err(|why| err(at(".backend.mock"), why))?,
                    )),
                    (BackendTarget::Mock(_), None) => {
                        return Err(err(at(".backend.mock"), "a mock: backend needs its `mock` answer".into()));
                    }
                    (_, Some(_)) => {
                        return Err(err(at(".backend.mock"), "`mock` is for a mock: backend only".into()));
                    }
                    (backend, None) => backend,
                };
                let b = &api.backend;
                let backend_request = BackendRequest::compile(
                    &api.path,
                    api.match_mode == MatchMode::Prefix,
                    b.method.as_deref(),
                    b.path.as_deref(),
                    &b.parameters,
                )
                .map_err(|(field, why)| err(at(&format!(".backend.{field}")), why))?;
                let mut bound = Vec::new();
                for (p, name) in api.policies.iter().enumerate() {
                    let policy = policies
                        .get(name)
                        .ok_or_else(|| err(at(&format!(".policies[{p}]")), format!("unknown policy {name:?}")))?;
                    bound.push(Arc::clone(policy));
                }
                apis.push(Arc::new(ApiRoute {
                    id: api.id.clone(),
                    group_id: group.id.clone(),
                    method,
                    segments,
                    prefix: api.match_mode == MatchMode::Prefix,
                    auth: api.auth,
                    backend,
                    timeout: Duration::from_millis(api.backend.timeout_ms),
                    backend_request,
                    policies: Pipeline::new(bound),
                    metrics: OnceLock::new(),
                    plain_http: group.plain_http,
                }));
            }
            let domains: Vec<String> = group.domains.iter().map(|d| d.to_ascii_lowercase()).collect();
            let debug = crate::debug_domain::compile(group, &domains, &debug_domains)
                .map_err(|(field, why)| err(format!("groups[{g}].{field}"), why))?;
            if let Some((domain, _)) = &debug {
                debug_domains.push(domain.clone());
            }
            groups.push(CompiledGroup { id: group.id.clone(), domains, apis, debug });
        }

        let mut published: FastMap<String, FastSet<String>> = FastMap::default();
        for (e, env) in source.environments.iter().enumerate() {
            if env.name.is_empty() || published.contains_key(&env.name) {
                return Err(err(format!("environments[{e}].name"), format!("empty or duplicate {:?}", env.name)));
            }
            check_id("environment name", &env.name).map_err(|why| err(format!("environments[{e}].name"), why))?;
            let mut set = FastSet::default();
            for (p, api) in env.published.iter().enumerate() {
                if !api_ids.contains(api) {
                    return Err(err(format!("environments[{e}].published[{p}]"), format!("unknown API {api:?}")));
                }
                set.insert(api.clone());
            }
            published.insert(env.name.clone(), set);
        }

        let mut keys = FastMap::default();
        let mut app_codes = FastMap::default();
        let mut app_ids = HashSet::new();
        for (i, app) in source.apps.iter().enumerate() {
            if app.id.is_empty() || !app_ids.insert(app.id.as_str()) {
                return Err(err(format!("apps[{i}].id"), format!("empty or duplicate app id {:?}", app.id)));
            }
            check_id("app id", &app.id).map_err(|why| err(format!("apps[{i}].id"), why))?;
            if app.key.is_empty() || !app.key.bytes().all(|b| b.is_ascii_graphic() && b != b',' && b != b'/') {
                return Err(err(
                    format!("apps[{i}].key"),
                    "must be non-empty printable ASCII without ',' or '/'".into(),
                ));
            }
            if app.secret.is_empty() {
                return Err(err(format!("apps[{i}].secret"), "must not be empty".into()));
            }
            let entry =
                AppEntry { id: app.id.clone(), key: app.key.clone(), secret: SecretKey::new(app.secret.as_str()) };
            if app.status == AppStatus::Disabled {
                continue;
            }
            for code in &app.app_codes {
                if app_codes.insert(code.clone(), entry.clone()).is_some() {
                    return Err(err(format!("apps[{i}].app_codes"), "an AppCode is used twice".into()));
                }
            }
            if keys.insert(app.key.clone(), entry).is_some() {
                return Err(err(format!("apps[{i}].key"), format!("duplicate app key {:?}", app.key)));
            }
        }

        let mut authorized: FastMap<String, FastMap<String, FastSet<String>>> = FastMap::default();
        for (i, a) in source.authorizations.iter().enumerate() {
            if !app_ids.contains(a.app.as_str()) {
                return Err(err(format!("authorizations[{i}].app"), format!("unknown app {:?}", a.app)));
            }
            if !api_ids.contains(&a.api) {
                return Err(err(format!("authorizations[{i}].api"), format!("unknown API {:?}", a.api)));
            }
            authorized
                .entry(a.app.clone())
                .or_default()
                .entry(a.api.clone())
                .or_default()
                .insert(a.environment.clone());
        }

        let keys = Arc::new(KeyStore(keys));
        let policy = VerifyPolicy {
            max_skew: Duration::from_secs(s.max_skew_seconds),
            require_host: s.require_host_signed,
            allow_unsigned_payload: s.allow_unsigned_payload,
            ..VerifyPolicy::default()
        };
        let verifier = Verifier::new(Arc::clone(&keys)).with_policy(policy);
        let tls = Arc::new(TlsFront::compile(&source, file)?);
        let backend_limits = backend_limit::compile(&source, previous.map_or(&[][..], |p| &p.backend_limits));
        Ok(Self {
            settings: source.gateway.clone(),
            source,
            groups,
            published,
            keys,
            app_codes,
            authorized,
            verifier,
            policies,
            upstreams,
            tls,
            backend_limits,
        })
    }

    /// The upstreams, by name.
    pub fn upstreams(&self) -> impl Iterator<Item = &Upstream> {
        self.upstreams.values().map(AsRef::as_ref)
    }

    /// The compiled upstream of `def`'s name, when its definition here is `def` (kept with its
    /// servers' health and its health checker).
    fn upstream_if_unchanged(&self, def: &UpstreamDef) -> Option<Arc<Upstream>> {
        self.upstreams.get(&def.name).filter(|u| u.def == *def).cloned()
    }

    /// The compiled policies, by name.
    pub fn policies(&self) -> impl Iterator<Item = (&str, &dyn Policy)> {
        self.policies.iter().map(|(name, p)| (name.as_str(), p.as_ref()))
    }

    /// The compiled policy of `def`'s name, when its definition here is `def`.
    fn policy_if_unchanged(&self, def: &PolicyDef) -> Option<Arc<dyn Policy>> {
        let ours = self.source.policies.iter().find(|p| p.name == def.name)?;
        (ours == def).then(|| self.policies.get(&def.name).cloned()).flatten()
    }

    /// The API for `host`, `method` and the raw `path`, if it is published in `environment`.
    pub fn route(&self, host: &str, method: &str, path: &str, environment: &str) -> Route {
        let lowered;
        let host = if host.bytes().any(|b| b.is_ascii_uppercase()) {
            lowered = host.to_ascii_lowercase();
            lowered.as_str()
        } else {
            host
        };
        let host_no_port = strip_port(host);
        let rest = path.strip_prefix('/').unwrap_or(path);
        // the segments, on the stack for up to 16 of them
        let mut stack = [""; 16];
        let heap: Vec<&str>;
        let segments: &[&str] = if rest.is_empty() {
            &[]
        } else if rest.split('/').count() <= stack.len() {
            let mut n = 0;
            for (slot, seg) in stack.iter_mut().zip(rest.split('/')) {
                *slot = seg;
                n += 1;
            }
            &stack[..n]
        } else {
            heap = rest.split('/').collect();
            &heap
        };
        let mut best: Option<(Score, &Arc<ApiRoute>)> = None;
        for group in &self.groups {
            let host_ok = group.domains.is_empty()
                || group.domains.iter().any(|d| d == host || d == host_no_port)
                || group.debug.as_ref().is_some_and(|(d, _)| d == host || d == host_no_port);
            if !host_ok {
                continue;
            }
            for api in &group.apis {
                if let Some(score) = api.score(method, segments)
                    && best.as_ref().is_none_or(|(b, _)| score > *b)
                {
                    best = Some((score, api));
                }
            }
        }
        match best {
            Some((_, api)) if self.is_published(&api.id, environment) => Route::Found(Arc::clone(api)),
            _ => Route::NotFound,
        }
    }

    /// The daily quota when `host` is the debug domain of group `group_id` (`None`: another host).
    pub fn debug_quota(&self, group_id: &str, host: &str) -> Option<u64> {
        let (domain, quota) = self.groups.iter().find(|g| g.id == group_id)?.debug.as_ref()?;
        let host = host.to_ascii_lowercase();
        (*domain == host || domain == strip_port(&host)).then_some(*quota)
    }

    /// Whether API `api` is published in `environment`.
    pub fn is_published(&self, api: &str, environment: &str) -> bool {
        self.published.get(environment).is_some_and(|set| set.contains(api))
    }

    /// The active app with AppKey `key`.
    pub fn app_by_key(&self, key: &str) -> Option<&AppEntry> {
        self.keys.0.get(key)
    }

    /// The active app with AppCode `code`.
    pub fn app_by_code(&self, code: &str) -> Option<&AppEntry> {
        self.app_codes.get(code)
    }

    /// Whether app `app` may call API `api` in `environment`.
    pub fn is_authorized(&self, app: &str, api: &str, environment: &str) -> bool {
        self.authorized.get(app).and_then(|apis| apis.get(api)).is_some_and(|envs| envs.contains(environment))
    }
}

/// The rule for policy names (written percent-encoded in admin URLs, so only control characters
/// are refused).
const POLICY_NAME_RULE: &str = "must not be empty nor have control characters";

/// Checks the id of a group, an API or an app, or an environment's name: admin URLs carry it as it
/// is (`/v1/apps/{id}`), so it is made of RFC 3986 unreserved characters (letters, digits, `-`,
/// `.`, `_`, `~`), and is neither `.` nor `..`.
fn check_id(what: &str, id: &str) -> Result<(), String> {
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    if id.is_empty() || id == "." || id == ".." || !id.bytes().all(unreserved) {
        return Err(format!(
            "{what} {id:?} must be letters, digits, '-', '.', '_' or '~' (not \".\" or \"..\"): admin URLs carry it as it is"
        ));
    }
    Ok(())
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_once("]:").map_or(host, |(h, _)| h).trim_start_matches('[').trim_end_matches(']');
    }
    host.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map_or(host, |(h, _)| h)
}

fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("path {path:?} must start with '/'"));
    };
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    rest.split('/')
        .map(|seg| {
            if seg.is_empty() || seg == "." || seg == ".." {
                Err(format!("path {path:?} has an empty or dot segment"))
            } else if seg.starts_with('{') && seg.ends_with('}') && seg.len() > 2 {
                Ok(Segment::Param)
            } else if seg.contains(['{', '}', '?', '#']) {
                Err(format!("path segment {seg:?} must be a literal or a whole {{param}}"))
            } else {
                Ok(Segment::Literal(seg.to_owned()))
            }
        })
        .collect()
}

/// The backend of `backend`: the field at fault (`url`, `tls`) and why when it cannot be used.
fn parse_backend(
    backend: &Backend,
    upstreams: &HashMap<String, Arc<Upstream>>,
) -> Result<BackendTarget, (&'static str, String)> {
    let url = backend.url.as_str();
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    if backend.tls.is_some() && scheme.as_deref() != Some("https") {
        return Err(("tls", format!("tls settings need an https:// backend URL, not {url:?}")));
    }
    if url == "echo:" {
        return Ok(BackendTarget::Echo);
    }
    if url == "mock:" {
        return Ok(BackendTarget::Mock(Box::default()));
    }
    const FORMS: &str = "http://host:port[/path], https://host:port[/path], upstream://NAME[/path], echo: or mock:";
    let uri: Uri = url.parse().map_err(|e| ("url", format!("bad backend URL {url:?}: {e}")))?;
    let authority = uri.authority().ok_or_else(|| ("url", format!("backend URL {url:?} has no host")))?;
    if uri.query().is_some() {
        return Err(("url", format!("backend URL {url:?} must not have a query")));
    }
    if authority.as_str().contains('@') {
        return Err(("url", format!("backend URL {url:?} must not have user information")));
    }
    let base_path = uri.path().trim_end_matches('/').to_owned();
    match uri.scheme_str() {
        Some("http") => Ok(BackendTarget::Http {
            origin: format!("http://{authority}"),
            authority: authority.clone(),
            base_path,
            tls: None,
        }),
        Some("https") => {
            let tls =
                backend_client::for_backend(&backend.tls.clone().unwrap_or_default()).map_err(|why| ("tls", why))?;
            Ok(BackendTarget::Http {
                origin: format!("https://{authority}"),
                authority: authority.clone(),
                base_path,
                tls: Some(tls),
            })
        }
        Some("upstream") => {
            let name = authority.as_str();
            let upstream = upstreams.get(name).ok_or_else(|| ("url", format!("unknown upstream {name:?}")))?;
            let scheme = upstream.def.scheme.as_str();
            Ok(BackendTarget::Upstream {
                upstream: Arc::clone(upstream),
                origin: format!("{scheme}://{name}"),
                base_path,
            })
        }
        _ => Err(("url", format!("backend URL {url:?} must be {FORMS}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime(json: &str) -> Result<Runtime, ConfigError> {
        let file = ConfigFile::parse(json, crate::config::Format::Json, Path::new("t.json"))?;
        Runtime::compile(file, Path::new("t.json"))
    }

    const API: &str = r#"{"id":"ID","method":"M","path":"P","match":"MODE","auth":"none","backend":{"url":"echo:"}}"#;

    fn api(id: &str, method: &str, path: &str, mode: &str) -> String {
        API.replace("ID", id)
            .replace("\"M\"", &format!("{method:?}"))
            .replace("\"P\"", &format!("{path:?}"))
            .replace("MODE", mode)
    }

    #[test]
    fn routes_by_host_method_path_and_environment() {
        let apis = [
            api("exact", "GET", "/a/b", "exact"),
            api("param", "GET", "/a/{x}", "exact"),
            api("prefix", "ANY", "/a", "prefix"),
            api("test-only", "GET", "/t", "exact"),
        ]
        .join(",");
        let json = format!(
            r#"{{"groups":[{{"id":"g","domains":["api.example.com"],"apis":[{apis}]}}],
            "environments":[{{"name":"RELEASE","published":["exact","param","prefix"]}},{{"name":"TEST","published":["test-only"]}}]}}"#
        );
        let rt = runtime(&json).unwrap();
        let id = |host, method, path, env| match rt.route(host, method, path, env) {
            Route::Found(api) => api.id.clone(),
            Route::NotFound => "-".to_owned(),
        };
        assert_eq!(id("api.example.com", "GET", "/a/b", "RELEASE"), "exact");
        assert_eq!(id("API.example.com:8080", "GET", "/a/c", "RELEASE"), "param");
        assert_eq!(id("api.example.com", "POST", "/a/b", "RELEASE"), "prefix");
        assert_eq!(id("api.example.com", "GET", "/a/b/c/d", "RELEASE"), "prefix");
        assert_eq!(id("api.example.com", "GET", "/ab", "RELEASE"), "-");
        assert_eq!(id("other.example.com", "GET", "/a/b", "RELEASE"), "-");
        assert_eq!(id("api.example.com", "GET", "/t", "RELEASE"), "-");
        assert_eq!(id("api.example.com", "GET", "/t", "TEST"), "test-only");
    }

    #[test]
    fn a_recompile_keeps_the_upstreams_whose_definition_is_unchanged() {
        let json = r#"{"upstreams": [{"name": "u", "servers": [{"address": "127.0.0.1:1"}]},
                                     {"name": "v", "servers": [{"address": "127.0.0.1:2"}]}]}"#;
        let before = runtime(json).unwrap();
        let changed = json.replace("127.0.0.1:2", "127.0.0.1:3");
        let file = ConfigFile::parse(&changed, crate::config::Format::Json, Path::new("t.json")).unwrap();
        let after = Runtime::compile_after(file, Path::new("t.json"), Some(&before)).unwrap();
        assert!(Arc::ptr_eq(&before.upstreams["u"], &after.upstreams["u"]), "unchanged: the same upstream");
        assert!(!Arc::ptr_eq(&before.upstreams["v"], &after.upstreams["v"]), "changed: a new one");
        assert_eq!(after.upstreams["v"].servers()[0].authority.as_str(), "127.0.0.1:3");
    }

    #[test]
    fn refuses_inconsistent_configs_with_a_position() {
        let bad = [
            (r#"{"environments":[{"name":"RELEASE","published":["nope"]}]}"#, "environments[0].published[0]"),
            (r#"{"authorizations":[{"app":"a","api":"b"}]}"#, "authorizations[0].app"),
            (r#"{"gateway":{"error_prefix":"X"}}"#, "gateway.error_prefix"),
            (r#"{"apps":[{"id":"a/b","key":"k","secret":"12345678"}]}"#, "apps[0].id"),
            (r#"{"apps":[{"id":"a b","key":"k","secret":"12345678"}]}"#, "apps[0].id"),
            (r#"{"apps":[{"id":"a\u0000","key":"k","secret":"12345678"}]}"#, "apps[0].id"),
            (r#"{"apps":[{"id":"..","key":"k","secret":"12345678"}]}"#, "apps[0].id"),
            (r#"{"groups":[{"id":"g/1"}]}"#, "groups[0].id"),
            (r#"{"environments":[{"name":"RE LEASE"}]}"#, "environments[0].name"),
            (r#"{"policies":[{"name":"a\nb","type":"cors"}]}"#, "policies[0].name"),
            (r#"{"policies":[{"name":"","type":"cors"}]}"#, "policies[0].name"),
        ];
        for (json, pos) in bad {
            let e = runtime(json).unwrap_err();
            assert_eq!(e.position.as_deref(), Some(pos), "{e}");
        }
        let bad_api = format!(r#"{{"groups":[{{"id":"g","apis":[{}]}}]}}"#, api("x", "GET", "a/b", "exact"));
        assert_eq!(runtime(&bad_api).unwrap_err().position.as_deref(), Some("groups[0].apis[0].path"));
        let bad_id = format!(r#"{{"groups":[{{"id":"g","apis":[{}]}}]}}"#, api("x/y", "GET", "/a", "exact"));
        let e = runtime(&bad_id).unwrap_err();
        assert_eq!(e.position.as_deref(), Some("groups[0].apis[0].id"));
        assert!(e.reason.starts_with("API id \"x/y\" must be letters, digits"), "{e}");
        // ids made of every allowed character, and a policy name with a blank, are fine
        let good = format!(
            r#"{{"groups":[{{"id":"G-1.x_~","apis":[{}]}}],"environments":[{{"name":"pre_PROD-2"}}],
            "apps":[{{"id":"My.app-1_~","key":"k","secret":"12345678"}}],"policies":[{{"name":"my policy","type":"cors"}}]}}"#,
            api("Z.z-9_~", "GET", "/a", "exact")
        );
        runtime(&good).unwrap();
        // a backend URL's password is not shown
        let with_password = format!(
            r#"{{"groups":[{{"id":"g","apis":[{}]}}]}}"#,
            API.replace("ID", "x")
                .replace("\"M\"", "\"GET\"")
                .replace("\"P\"", "\"/a\"")
                .replace("MODE", "exact")
                .replace("echo:", "https://u:hunter22@h")
        );
        let e = runtime(&with_password).unwrap_err();
        assert_eq!(e.position.as_deref(), Some("groups[0].apis[0].backend.url"));
        assert!(!e.reason.contains("hunter22") && e.reason.contains("u:***@h"), "{e}");
    }
}
