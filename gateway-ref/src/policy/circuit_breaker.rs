//! Circuit breaker: stops calling a failing backend for a while.
//!
//! ```json
//! {"name": "breaker", "type": "circuit_breaker", "config": {
//!   "error_statuses": [500, 502, 503, 504], "latency_ms": 2000,
//!   "failure_count": 5, "failure_percent": null, "min_calls": 10, "window_seconds": 10,
//!   "open_seconds": 30, "half_open_probes": 1,
//!   "fallback": {"type": "error"}}}
//! ```
//! * A backend call fails when it cannot be reached, times out, answers with one of
//!   `error_statuses` (default: any 5xx) or, when `latency_ms` is set, answers slower than that.
//! * Calls are counted per API in a fixed window of `window_seconds`. Once the window has seen at
//!   least `min_calls` calls, the breaker opens when the failures reach `failure_count`, or
//!   `failure_percent` % of the calls (give exactly one of the two).
//! * While open (`open_seconds`), the backend is not called: the request gets the fallback —
//!   `{"type": "error"}` (default): `APIG.0202` 503 "circuit breaker open";
//!   `{"type": "response", "status": 200, "body": "...", "content_type": "application/json"}`: a
//!   fixed response; `{"type": "backend", "url": "http://host:port[/base]"}`: the same request to
//!   another HTTP backend (the API's own backend must be HTTP too).
//! * After the open period the breaker is half-open: `half_open_probes` requests go to the
//!   backend; if they succeed it closes, if one fails it opens again.
//! * Every state change is printed to stderr and added to the access-log record of the request
//!   that caused it, in order (a probe can cause two): `"extra": {"circuit_breaker":
//!   [{"policy": "breaker", "api": "orders", "from": "closed", "to": "open"}]}`.
//!
//! State is per API and in memory (per gateway instance); a config reload starts closed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode, Uri};
use serde::Deserialize;

use super::{BackendOutcome, Decision, Policy, RequestContext};
use crate::access_log::AccessRecord;
use crate::body::{ForwardBody, full};
use crate::error::GatewayError;

/// `APIG.0202` 503: the API's circuit breaker is open.
pub fn circuit_open() -> GatewayError {
    GatewayError::new(StatusCode::SERVICE_UNAVAILABLE, "0202", "Backend unavailable: circuit breaker open")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "type", rename_all = "snake_case")]
enum FallbackConfig {
    Error,
    Response {
        #[serde(default = "ok")]
        status: u16,
        #[serde(default)]
        body: String,
        #[serde(default)]
        content_type: Option<String>,
    },
    Backend {
        url: String,
    },
}

fn ok() -> u16 {
    200
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BreakerConfig {
    #[serde(default)]
    error_statuses: Vec<u16>,
    #[serde(default)]
    latency_ms: Option<u64>,
    #[serde(default)]
    failure_count: Option<u32>,
    #[serde(default)]
    failure_percent: Option<u32>,
    #[serde(default = "default_min_calls")]
    min_calls: u32,
    #[serde(default = "default_window")]
    window_seconds: u64,
    #[serde(default = "default_open")]
    open_seconds: u64,
    #[serde(default = "default_probes")]
    half_open_probes: u32,
    #[serde(default)]
    fallback: Option<FallbackConfig>,
}

fn default_min_calls() -> u32 {
    10
}
fn default_window() -> u64 {
    10
}
fn default_open() -> u64 {
    30
}
fn default_probes() -> u32 {
    1
}

#[derive(Debug, Clone)]
enum Fallback {
    Error,
    Response { status: StatusCode, body: Bytes, content_type: Option<HeaderValue> },
    Backend { origin: String, base_path: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trip {
    Count(u32),
    Percent(u32),
}

/// Breaker state of one API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Calls go to the backend and are counted.
    Closed,
    /// Calls get the fallback until the instant.
    Open(Instant),
    /// A few probe calls go to the backend.
    HalfOpen,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open(_) => "open",
            Self::HalfOpen => "half_open",
        }
    }
}

#[derive(Debug)]
struct Breaker {
    state: State,
    window_start: Instant,
    calls: u32,
    failures: u32,
    probes: u32,
}

/// Markers handed from `before_backend` to `on_response`.
#[derive(Debug, Clone, Copy)]
struct Probe;
#[derive(Debug, Clone, Copy)]
struct FellBack;
#[derive(Debug, Clone, Default)]
struct Transitions(Vec<(&'static str, &'static str)>);

/// The circuit breaker policy.
#[derive(Debug)]
pub struct CircuitBreaker {
    name: String,
    error_statuses: Vec<u16>,
    latency: Option<Duration>,
    trip: Trip,
    min_calls: u32,
    window: Duration,
    open_for: Duration,
    probes: u32,
    fallback: Fallback,
    apis: Mutex<HashMap<String, Breaker, foldhash::fast::RandomState>>,
}

impl CircuitBreaker {
    /// Reads the settings of the policy named `name`.
    ///
    /// # Errors
    /// Unknown fields, both or neither of `failure_count` / `failure_percent`, zero durations,
    /// a bad fallback.
    pub fn from_config(name: &str, config: &serde_json::Value) -> Result<Self, String> {
        let c: BreakerConfig = serde_json::from_value(config.clone()).map_err(|e| format!("circuit_breaker: {e}"))?;
        let trip = match (c.failure_count, c.failure_percent) {
            (Some(n), None) if n > 0 => Trip::Count(n),
            (None, Some(p)) if (1..=100).contains(&p) => Trip::Percent(p),
            _ => return Err("circuit_breaker: give failure_count (> 0) or failure_percent (1-100)".to_owned()),
        };
        if c.window_seconds == 0 || c.open_seconds == 0 || c.half_open_probes == 0 {
            return Err("circuit_breaker: window_seconds, open_seconds and half_open_probes must be > 0".to_owned());
        }
        if c.error_statuses.iter().any(|s| !(100..=599).contains(s)) {
            return Err("circuit_breaker: error_statuses must be HTTP statuses".to_owned());
        }
        let fallback = match c.fallback {
            None | Some(FallbackConfig::Error) => Fallback::Error,
            Some(FallbackConfig::Response { status, body, content_type }) => Fallback::Response {
                status: StatusCode::from_u16(status).map_err(|_| "circuit_breaker: bad fallback status".to_owned())?,
                body: Bytes::from(body),
                content_type: content_type
                    .map(|t| HeaderValue::from_str(&t))
                    .transpose()
                    .map_err(|_| "circuit_breaker: bad fallback content_type".to_owned())?,
            },
            Some(FallbackConfig::Backend { url }) => {
                let uri: Uri = url.parse().map_err(|e| format!("circuit_breaker: bad fallback URL {url:?}: {e}"))?;
                let authority = uri.authority().filter(|_| uri.scheme_str() == Some("http") && uri.query().is_none());
                let Some(authority) = authority else {
                    return Err(format!("circuit_breaker: fallback URL {url:?} must be http://host:port[/path]"));
                };
                Fallback::Backend {
                    origin: format!("http://{authority}"),
                    base_path: uri.path().trim_end_matches('/').to_owned(),
                }
            }
        };
        Ok(Self {
            name: name.to_owned(),
            error_statuses: c.error_statuses,
            latency: c.latency_ms.map(Duration::from_millis),
            trip,
            min_calls: c.min_calls,
            window: Duration::from_secs(c.window_seconds),
            open_for: Duration::from_secs(c.open_seconds),
            probes: c.half_open_probes,
            fallback,
            apis: Mutex::new(HashMap::default()),
        })
    }

    /// The state for API `api` (closed when it has seen no call).
    pub fn state(&self, api: &str) -> State {
        self.apis.lock().ok().and_then(|m| m.get(api).map(|b| b.state)).unwrap_or(State::Closed)
    }

    fn is_failure(&self, outcome: BackendOutcome) -> Option<bool> {
        match outcome {
            BackendOutcome::NotCalled | BackendOutcome::Abandoned => None,
            BackendOutcome::Unavailable | BackendOutcome::TimedOut => Some(true),
            BackendOutcome::Answered(status, took) => Some(
                if self.error_statuses.is_empty() { status >= 500 } else { self.error_statuses.contains(&status) }
                    || self.latency.is_some_and(|l| took > l),
            ),
        }
    }

    fn set_state(&self, api: &str, b: &mut Breaker, to: State, ctx: &RequestContext) {
        let from = b.state.name();
        b.state = to;
        b.calls = 0;
        b.failures = 0;
        b.window_start = Instant::now();
        b.probes = 0;
        eprintln!(
            "apig-gateway: circuit breaker {:?} of API {api:?}: {from} -> {} (request {})",
            self.name,
            to.name(),
            ctx.request_id
        );
        if let Ok(mut ext) = ctx.extensions.lock() {
            match ext.get_mut::<Transitions>() {
                Some(t) => t.0.push((from, to.name())),
                None => {
                    ext.insert(Transitions(vec![(from, to.name())]));
                }
            }
        }
    }

    /// Whether the request goes to the backend (and whether it is a half-open probe).
    fn admit(&self, ctx: &RequestContext, api: &str) -> (bool, bool) {
        let Ok(mut apis) = self.apis.lock() else { return (true, false) };
        let b = match apis.get_mut(api) {
            // the common case: a closed breaker lets the call through, no clock read
            Some(b) if b.state == State::Closed => return (true, false),
            Some(b) => b,
            None => {
                let b =
                    Breaker { state: State::Closed, window_start: Instant::now(), calls: 0, failures: 0, probes: 0 };
                apis.insert(api.to_owned(), b);
                return (true, false);
            }
        };
        if let State::Open(until) = b.state {
            let now = Instant::now();
            if now < until {
                return (false, false);
            }
            self.set_state(api, b, State::HalfOpen, ctx);
        }
        match b.state {
            State::HalfOpen if b.probes < self.probes => {
                b.probes += 1;
                (true, true)
            }
            State::HalfOpen | State::Open(_) => (false, false),
            State::Closed => (true, false),
        }
    }

    fn record(&self, ctx: &RequestContext, api: &str, failed: bool, probe: bool) {
        let Ok(mut apis) = self.apis.lock() else { return };
        let Some(b) = apis.get_mut(api) else { return };
        let now = Instant::now();
        match (b.state, probe) {
            (State::HalfOpen, true) => {
                let to = if failed { State::Open(now + self.open_for) } else { State::Closed };
                self.set_state(api, b, to, ctx);
            }
            (State::Closed, false) => {
                if now.duration_since(b.window_start) >= self.window {
                    b.window_start = now;
                    b.calls = 0;
                    b.failures = 0;
                }
                b.calls += 1;
                b.failures += u32::from(failed);
                let tripped = b.calls >= self.min_calls
                    && match self.trip {
                        Trip::Count(n) => b.failures >= n,
                        Trip::Percent(p) => u64::from(b.failures) * 100 >= u64::from(p) * u64::from(b.calls),
                    };
                if tripped {
                    self.set_state(api, b, State::Open(now + self.open_for), ctx);
                }
            }
            // a call that started before a state change, or a probe after a reload
            _ => {}
        }
    }

    fn fall_back(&self, ctx: &RequestContext, up: &mut hyper::http::request::Parts) -> Decision {
        if let Ok(mut ext) = ctx.extensions.lock() {
            ext.insert(FellBack);
        }
        match &self.fallback {
            Fallback::Error => Decision::Reject(circuit_open()),
            Fallback::Response { status, body, content_type } => {
                let mut response = Response::new(full(body.clone()));
                *response.status_mut() = *status;
                if let Some(t) = content_type {
                    response.headers_mut().insert(header::CONTENT_TYPE, t.clone());
                }
                Decision::Respond(response)
            }
            Fallback::Backend { origin, base_path } => {
                let target = ctx.target.as_str();
                match format!("{origin}{base_path}{target}").parse::<Uri>() {
                    Ok(uri) => {
                        up.uri = uri;
                        up.headers.remove(header::HOST);
                        Decision::Continue
                    }
                    Err(_) => Decision::Reject(circuit_open()),
                }
            }
        }
    }
}

impl Policy for CircuitBreaker {
    fn kind(&self) -> &'static str {
        "circuit_breaker"
    }

    fn before_backend(
        &self,
        ctx: &RequestContext,
        upstream: &mut hyper::http::request::Parts,
        _body: &ForwardBody,
    ) -> Decision {
        let Some((api, _)) = &ctx.api else { return Decision::Continue };
        match self.admit(ctx, api) {
            (true, probe) => {
                if probe && let Ok(mut ext) = ctx.extensions.lock() {
                    ext.insert(Probe);
                }
                Decision::Continue
            }
            (false, _) => self.fall_back(ctx, upstream),
        }
    }

    fn on_response(
        &self,
        ctx: &RequestContext,
        outcome: BackendOutcome,
        _response: &mut hyper::http::response::Parts,
        record: &mut AccessRecord<'_>,
    ) {
        let Some((api, _)) = &ctx.api else { return };
        let (fell_back, probe) = match ctx.extensions.lock() {
            Ok(ext) => (ext.get::<FellBack>().is_some(), ext.get::<Probe>().is_some()),
            Err(_) => return,
        };
        if !fell_back && let Some(failed) = self.is_failure(outcome) {
            self.record(ctx, api, failed, probe);
        } else if probe {
            // a probe that never reached the backend frees its slot
            if let Ok(mut apis) = self.apis.lock()
                && let Some(b) = apis.get_mut(api)
            {
                b.probes = b.probes.saturating_sub(1);
            }
        }
        if let Ok(ext) = ctx.extensions.lock()
            && let Some(Transitions(all)) = ext.get::<Transitions>()
        {
            let list = all
                .iter()
                .map(|(from, to)| serde_json::json!({"policy": self.name, "api": api, "from": from, "to": to}))
                .collect();
            record.extra.insert("circuit_breaker", serde_json::Value::Array(list));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_configs() {
        for bad in [
            serde_json::json!({}),
            serde_json::json!({"failure_count": 1, "failure_percent": 50}),
            serde_json::json!({"failure_percent": 101}),
            serde_json::json!({"failure_count": 1, "open_seconds": 0}),
            serde_json::json!({"failure_count": 1, "fallback": {"type": "backend", "url": "https://x"}}),
            serde_json::json!({"failure_count": 1, "fallback": {"type": "response", "status": 1000}}),
        ] {
            assert!(CircuitBreaker::from_config("b", &bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn failures() {
        let b = CircuitBreaker::from_config("b", &serde_json::json!({"failure_count": 1, "latency_ms": 100})).unwrap();
        assert_eq!(b.is_failure(BackendOutcome::Answered(200, Duration::from_millis(5))), Some(false));
        assert_eq!(b.is_failure(BackendOutcome::Answered(200, Duration::from_millis(500))), Some(true));
        assert_eq!(b.is_failure(BackendOutcome::Answered(503, Duration::ZERO)), Some(true));
        assert_eq!(b.is_failure(BackendOutcome::Answered(404, Duration::ZERO)), Some(false));
        assert_eq!(b.is_failure(BackendOutcome::TimedOut), Some(true));
        assert_eq!(b.is_failure(BackendOutcome::NotCalled), None);
    }
}
