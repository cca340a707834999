//! Third-party authorizer: before the backend is called, the gateway asks an HTTP service whether
//! the request may go on, with the request's identity sources; the answer is cached for a TTL.
//!
//! ```json
//! {"name": "sso", "type": "authorizer", "config": {
//!   "url": "http://127.0.0.1:9100/authorize",
//!   "identity_sources": [{"location": "header", "name": "X-Token"}, {"location": "query", "name": "ticket"}],
//!   "ttl_seconds": 60, "timeout_ms": 1000, "mode": "strict", "context_header_prefix": "X-Auth-"}}
//! ```
//! * The request: `POST url` with `{"api","environment","method","path","app","headers":{…},
//!   "query":{…}}` where `headers` and `query` hold the identity sources (and `app` the
//!   authenticated app key, if any).
//! * The answer: `200` with `{"status": "allow", "context": {"user": "alice"}}` lets the request
//!   go on and sends each context entry to the backend as a header (`X-Auth-User: alice`; client
//!   headers with that prefix are removed). `200` with `{"status": "deny"}`, or `401`/`403`, refuses
//!   it: `APIG.0312` 401. Results are cached per API and identity values for `ttl_seconds` (0: no
//!   cache).
//! * A request without every identity source is refused before any call: `APIG.0313` 401.
//! * When the authorizer cannot be reached, times out or answers anything else, `strict` mode
//!   (the default) refuses the request, `APIG.0314` 502; `relaxed` lets it through (the access-log
//!   record's `extra` says `"authorizer": "bypassed"`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};
use serde::Deserialize;

use super::{BackendOutcome, Decision, Policy, RequestContext, Stage};
use crate::access_log::AccessRecord;
use crate::body::ForwardBody;
use crate::error::GatewayError;

/// `APIG.0312` 401: the authorizer refused the request.
pub fn denied() -> GatewayError {
    GatewayError::new(StatusCode::UNAUTHORIZED, "0312", "Incorrect third-party authentication information")
}

/// `APIG.0313` 401: an identity source is missing.
pub fn identity_missing(what: &str) -> GatewayError {
    GatewayError::new(
        StatusCode::UNAUTHORIZED,
        "0313",
        format!("The identity source of the third-party authorizer is missing: {what}"),
    )
}

/// `APIG.0314` 502: the authorizer failed (strict mode).
pub fn unavailable(why: &str) -> GatewayError {
    GatewayError::new(StatusCode::BAD_GATEWAY, "0314", format!("Third-party authorizer unavailable: {why}"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Location {
    Header,
    Query,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentitySource {
    location: Location,
    name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Mode {
    #[default]
    Strict,
    Relaxed,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorizerConfig {
    url: String,
    identity_sources: Vec<IdentitySource>,
    #[serde(default = "default_ttl")]
    ttl_seconds: u64,
    #[serde(default = "default_timeout")]
    timeout_ms: u64,
    #[serde(default)]
    mode: Mode,
    #[serde(default = "default_prefix")]
    context_header_prefix: String,
}

fn default_ttl() -> u64 {
    60
}
fn default_timeout() -> u64 {
    1000
}
fn default_prefix() -> String {
    "X-Auth-".to_owned()
}

/// The context headers an authorizer's allow answer gives the backend (shared by the cache and
/// the requests it answers).
type Context = std::sync::Arc<[(HeaderName, HeaderValue)]>;

/// The authorizer's verdict.
#[derive(Debug, Clone)]
enum Verdict {
    Allow(Context),
    Deny,
}

/// The answer body.
#[derive(Debug, Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    context: serde_json::Map<String, serde_json::Value>,
}

/// What `after_auth` hands to `before_backend` / `on_response` (one extension per request).
#[derive(Debug, Clone, Default)]
struct Outcome {
    /// The allow answer's context headers.
    granted: Option<Context>,
    /// Answered from the cache.
    cached: bool,
    /// Let through by relaxed mode while the authorizer failed.
    bypassed: bool,
}

const MAX_CACHE: usize = 10_000;

/// The third-party authorizer policy.
pub struct Authorizer {
    url: Uri,
    sources: Vec<IdentitySource>,
    /// The header name of each source (parsed once; `None` for query sources).
    source_headers: Vec<Option<HeaderName>>,
    ttl: Duration,
    timeout: Duration,
    mode: Mode,
    prefix: String,
    /// The gateway's one client stack ([`crate::backend_client`]).
    client: crate::backend_client::PlainClient,
    cache: Mutex<HashMap<String, (Instant, Verdict), foldhash::fast::RandomState>>,
}

impl std::fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorizer").field("url", &self.url).field("mode", &self.mode).finish_non_exhaustive()
    }
}

impl Authorizer {
    /// Reads the settings.
    ///
    /// # Errors
    /// Unknown fields, a URL that is not `http://`, no identity source, a zero timeout, a bad
    /// header prefix.
    pub fn from_config(config: &serde_json::Value) -> Result<Self, String> {
        let c: AuthorizerConfig = serde_json::from_value(config.clone()).map_err(|e| format!("authorizer: {e}"))?;
        let url: Uri = c.url.parse().map_err(|e| format!("authorizer: bad url {:?}: {e}", c.url))?;
        if url.scheme_str() != Some("http") || url.authority().is_none() {
            return Err(format!("authorizer: url {:?} must be http://host:port/path", c.url));
        }
        if c.identity_sources.is_empty() || c.identity_sources.iter().any(|s| s.name.is_empty()) {
            return Err("authorizer: give at least one identity source, each with a name".to_owned());
        }
        if c.timeout_ms == 0 {
            return Err("authorizer: timeout_ms must be > 0".to_owned());
        }
        let prefix = c.context_header_prefix.to_ascii_lowercase();
        if prefix.is_empty() || HeaderName::from_bytes(format!("{prefix}x").as_bytes()).is_err() {
            return Err("authorizer: context_header_prefix must start a valid header name".to_owned());
        }
        let source_headers = c
            .identity_sources
            .iter()
            .map(|s| match s.location {
                Location::Header => HeaderName::from_bytes(s.name.as_bytes())
                    .map(Some)
                    .map_err(|_| format!("authorizer: bad identity header name {:?}", s.name)),
                Location::Query => Ok(None),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            url,
            sources: c.identity_sources,
            source_headers,
            ttl: Duration::from_secs(c.ttl_seconds),
            timeout: Duration::from_millis(c.timeout_ms),
            mode: c.mode,
            prefix,
            client: crate::backend_client::plain(Duration::from_millis(c.timeout_ms)),
            cache: Mutex::new(HashMap::default()),
        })
    }

    /// The identity values in source order, each with its source (`None`: missing or empty).
    fn values<'a>(&'a self, ctx: &'a RequestContext) -> impl Iterator<Item = (&'a IdentitySource, Option<&'a str>)> {
        self.sources.iter().zip(&self.source_headers).map(|(s, header)| {
            let value = match header {
                Some(name) => ctx.headers.get(name).and_then(|v| v.to_str().ok()),
                None => query_value(&ctx.target, &s.name),
            };
            (s, value.filter(|v| !v.is_empty()))
        })
    }

    /// The first missing identity source, as `header NAME` / `query NAME`.
    fn missing(&self, ctx: &RequestContext) -> String {
        self.values(ctx)
            .find(|(_, value)| value.is_none())
            .map(|(s, _)| {
                let loc = if s.location == Location::Header { "header" } else { "query" };
                format!("{loc} {}", s.name)
            })
            .unwrap_or_default()
    }

    /// The identity values in source order (`None` when one is missing).
    fn identity<'a>(&'a self, ctx: &'a RequestContext) -> Option<Vec<&'a str>> {
        self.values(ctx).map(|(_, value)| value).collect()
    }

    /// The cache key: the API and the identity values, `\n`-separated (`None` when an identity
    /// source is missing).
    fn cache_key(&self, ctx: &RequestContext) -> Option<String> {
        let api = ctx.api.as_ref().map_or("", |(a, _)| a.as_str());
        let mut key = String::with_capacity(api.len() + 64);
        key.push_str(api);
        for (_, value) in self.values(ctx) {
            key.push('\n');
            key.push_str(value?);
        }
        Some(key)
    }

    fn cached(&self, key: &str) -> Option<Verdict> {
        let cache = self.cache.lock().ok()?;
        cache.get(key).filter(|(until, _)| Instant::now() < *until).map(|(_, v)| v.clone())
    }

    fn remember(&self, key: String, verdict: &Verdict) {
        if self.ttl.is_zero() {
            return;
        }
        let Ok(mut cache) = self.cache.lock() else { return };
        let now = Instant::now();
        if cache.len() >= MAX_CACHE {
            cache.retain(|_, (until, _)| *until > now);
            if cache.len() >= MAX_CACHE {
                cache.clear();
            }
        }
        cache.insert(key, (now + self.ttl, verdict.clone()));
    }

    async fn ask(&self, ctx: &RequestContext, values: &[&str]) -> Result<Verdict, String> {
        let mut headers = serde_json::Map::new();
        let mut query = serde_json::Map::new();
        for (s, value) in self.sources.iter().zip(values) {
            let map = if s.location == Location::Header { &mut headers } else { &mut query };
            map.insert(s.name.clone(), serde_json::Value::String((*value).to_owned()));
        }
        let body = serde_json::json!({
            "api": ctx.api.as_ref().map(|(a, _)| a.as_str()),
            "environment": ctx.environment,
            "method": ctx.method.as_str(),
            "path": ctx.target.split('?').next().unwrap_or(""),
            "app": ctx.caller.as_ref().map(|c| c.app_key.as_str()),
            "headers": headers,
            "query": query,
        });
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.url.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-request-id", ctx.request_id.as_str())
            .body(ForwardBody::Buffered([Bytes::from(body.to_string())].into()))
            .map_err(|e| e.to_string())?;
        let call = async {
            let response = self.client.send(request).await.map_err(|e| {
                if e.is_connect() { "connection failed".to_owned() } else { format!("request failed: {e}") }
            })?;
            let status = response.status();
            let bytes = Limited::new(response.into_body(), 64 * 1024)
                .collect()
                .await
                .map_err(|e| format!("reading the answer failed: {e}"))?
                .to_bytes();
            Ok::<_, String>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| format!("no answer within {} ms", self.timeout.as_millis()))??;
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Ok(Verdict::Deny),
            StatusCode::OK => {
                let answer: Answer =
                    serde_json::from_slice(&bytes).map_err(|e| format!("the answer is not the expected JSON: {e}"))?;
                match answer.status.as_str() {
                    "allow" => Ok(Verdict::Allow(self.context_headers(&answer.context))),
                    "deny" => Ok(Verdict::Deny),
                    other => Err(format!("unknown status {other:?} in the answer")),
                }
            }
            other => Err(format!("answered HTTP {}", other.as_u16())),
        }
    }

    fn context_headers(&self, context: &serde_json::Map<String, serde_json::Value>) -> Context {
        context
            .iter()
            .filter_map(|(k, v)| {
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let name = HeaderName::from_bytes(format!("{}{k}", self.prefix).as_bytes()).ok()?;
                Some((name, HeaderValue::from_str(&text).ok()?))
            })
            .collect()
    }

    /// Decides at once on a cached verdict; asks the authorizer otherwise.
    fn check<'a>(&'a self, ctx: &'a RequestContext) -> Stage<'a> {
        if ctx.preflight {
            return Stage::Done(Decision::Continue);
        }
        let Some(key) = self.cache_key(ctx) else {
            return Stage::Done(Decision::Reject(identity_missing(&self.missing(ctx))));
        };
        if let Some(verdict) = self.cached(&key) {
            return Stage::Done(self.conclude(ctx, verdict, Outcome { cached: true, ..Outcome::default() }));
        }
        Stage::Pending(Box::pin(async move {
            let values = self.identity(ctx).unwrap_or_default();
            match self.ask(ctx, &values).await {
                Ok(verdict) => {
                    self.remember(key, &verdict);
                    self.conclude(ctx, verdict, Outcome::default())
                }
                Err(why) if self.mode == Mode::Relaxed => {
                    eprintln!("apig-gateway: authorizer {}: {why}; relaxed mode lets the request through", self.url);
                    if let Ok(mut ext) = ctx.extensions.lock() {
                        ext.insert(Outcome { bypassed: true, ..Outcome::default() });
                    }
                    Decision::Continue
                }
                Err(why) => Decision::Reject(unavailable(&why)),
            }
        }))
    }

    /// The decision on `verdict`, noting the outcome for the later stages.
    fn conclude(&self, ctx: &RequestContext, verdict: Verdict, mut outcome: Outcome) -> Decision {
        let decision = match verdict {
            Verdict::Deny => Decision::Reject(denied()),
            Verdict::Allow(context) => {
                outcome.granted = Some(context);
                Decision::Continue
            }
        };
        if (outcome.cached || outcome.granted.is_some())
            && let Ok(mut ext) = ctx.extensions.lock()
        {
            ext.insert(outcome);
        }
        decision
    }
}

fn query_value<'a>(target: &'a str, name: &str) -> Option<&'a str> {
    let query = target.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then_some(v)
    })
}

impl Policy for Authorizer {
    fn kind(&self) -> &'static str {
        "authorizer"
    }

    fn after_auth<'a>(&'a self, ctx: &'a RequestContext) -> Stage<'a> {
        self.check(ctx)
    }

    fn before_backend(
        &self,
        ctx: &RequestContext,
        upstream: &mut hyper::http::request::Parts,
        _body: &ForwardBody,
    ) -> Decision {
        // a byte loop that stops at the first difference: most names differ within two bytes
        let prefixed = |n: &HeaderName| {
            let (name, prefix) = (n.as_str().as_bytes(), self.prefix.as_bytes());
            name.len() >= prefix.len() && name.iter().zip(prefix).all(|(a, b)| a == b)
        };
        if upstream.headers.keys().any(prefixed) {
            let spoofed: Vec<HeaderName> = upstream.headers.keys().filter(|n| prefixed(n)).cloned().collect();
            for name in spoofed {
                upstream.headers.remove(name);
            }
        }
        if let Ok(ext) = ctx.extensions.lock()
            && let Some(Outcome { granted: Some(context), .. }) = ext.get::<Outcome>()
        {
            for (name, value) in context.iter() {
                upstream.headers.insert(name.clone(), value.clone());
            }
        }
        Decision::Continue
    }

    fn on_response(
        &self,
        ctx: &RequestContext,
        _outcome: BackendOutcome,
        _response: &mut hyper::http::response::Parts,
        record: &mut AccessRecord<'_>,
    ) {
        let Ok(ext) = ctx.extensions.lock() else { return };
        let state = match ext.get::<Outcome>() {
            Some(Outcome { bypassed: true, .. }) => "bypassed",
            Some(Outcome { cached: true, .. }) => "cached",
            _ => return,
        };
        record.extra.insert("authorizer", serde_json::Value::String(state.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_configs() {
        for bad in [
            serde_json::json!({"url": "https://x/a", "identity_sources": [{"location": "header", "name": "t"}]}),
            serde_json::json!({"url": "http://x/a", "identity_sources": []}),
            serde_json::json!({"url": "http://x/a", "identity_sources": [{"location": "cookie", "name": "t"}]}),
            serde_json::json!({"url": "http://x/a", "identity_sources": [{"location": "header", "name": "t"}], "timeout_ms": 0}),
            serde_json::json!({"url": "http://x/a", "identity_sources": [{"location": "header", "name": "t"}], "mode": "lax"}),
        ] {
            assert!(Authorizer::from_config(&bad).is_err(), "{bad}");
        }
    }
}
