//! The one per-request context: what the request path knows of a request as it goes through its
//! phases ([`crate::request_path`]), and what policies see of it. Created when the head arrives,
//! filled in by the phases (the routed API, the caller, the backend's outcome, the error
//! answered), read by the response filter and the access log ([`crate::access_log`]).

pub mod extensions;

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use hyper::Method;
use hyper::header::{HOST, HeaderMap, HeaderName, HeaderValue};
use hyper::http::request::Parts;

const X_APIG_MODE: HeaderName = HeaderName::from_static("x-apig-mode");
const X_STAGE: HeaderName = HeaderName::from_static("x-stage");

/// The environment used when a request has no `X-Stage` header (as [`crate::config::DEFAULT_ENVIRONMENT`]).
const DEFAULT_ENVIRONMENT: &str = crate::config::DEFAULT_ENVIRONMENT;

/// The caller, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// App id.
    pub app_id: String,
    /// AppKey.
    pub app_key: String,
    /// `signature` or `app_code`.
    pub method: &'static str,
}

/// How the backend call went: what the circuit breaker counts and the access log reports. Made
/// from the typed result of the call ([`crate::proxy::Upstream::outcome`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendOutcome {
    /// The backend was not called (the request was answered before).
    #[default]
    NotCalled,
    /// The backend answered with this status after this long.
    Answered(u16, Duration),
    /// The backend could not be reached, or failed the exchange without an answer.
    Unavailable,
    /// The backend did not answer within the API's timeout.
    TimedOut,
    /// The call was given up because the client's body failed on the way (too large, too slow,
    /// broken): no verdict on the backend.
    Abandoned,
}

impl BackendOutcome {
    /// The backend's time to its response head, when it answered.
    pub fn latency(self) -> Option<Duration> {
        match self {
            Self::Answered(_, took) => Some(took),
            _ => None,
        }
    }
}

/// What the request path knows of one request; what policies see of it.
#[derive(Debug)]
pub struct RequestContext {
    /// `X-Request-Id`.
    pub request_id: String,
    /// `X-Request-Id` as the header value set on the upstream request and the response.
    pub request_id_value: HeaderValue,
    /// The client's address.
    pub remote: SocketAddr,
    /// Method as received.
    pub method: Method,
    /// `Host` as received (or the authority of an absolute-form target).
    pub host: String,
    /// The raw request target (path and query).
    pub target: String,
    /// The request headers as received (including any client `X-Apig-*`), moved here from the
    /// request head; once routed, `Host` is the target's authority for an absolute-form target.
    pub headers: HeaderMap,
    /// The environment (`X-Stage`, default `RELEASE`).
    pub environment: String,
    /// The matched API's id and group id.
    pub api: Option<(String, String)>,
    /// Whether this is a CORS preflight (`OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`), routed by the requested method.
    pub preflight: bool,
    /// The authenticated caller (during the `before_body` phase: the caller the request claims).
    pub caller: Option<Caller>,
    /// `X-Apig-Mode: debug`.
    pub debug: bool,
    /// When the request head arrived (monotonic: latencies, the body deadline).
    pub started: Instant,
    /// When the request head arrived (wall clock: the access log's `time`).
    pub arrived: SystemTime,
    /// How the backend call went.
    pub outcome: BackendOutcome,
    /// The APIG error the request was answered with: its full code (`APIG.0303`) and the core
    /// error code behind an authentication failure.
    pub error: Option<(String, Option<&'static str>)>,
    /// Per-request values policies hand from one stage to a later one (e.g. throttling counters
    /// for the debug headers, an authorizer's context for the backend).
    pub extensions: std::sync::Mutex<extensions::Extensions>,
}

impl RequestContext {
    /// The context of a request whose head just arrived from `remote`, with id `request_id`. The
    /// request's headers move into the context (`parts.headers` is left empty).
    pub fn new(request_id: (String, HeaderValue), remote: SocketAddr, parts: &mut Parts) -> Self {
        let headers = std::mem::take(&mut parts.headers);
        let header = |name: &HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
        let debug = header(&X_APIG_MODE).is_some_and(|m| m.trim().eq_ignore_ascii_case("debug"));
        // an absolute-form target (`GET http://host/path`) names the host; `Host` is then ignored
        // (RFC 9112 §3.2.2)
        let host = parts.uri.authority().map(|a| a.as_str()).or_else(|| header(&HOST)).unwrap_or("").to_owned();
        let environment = match header(&X_STAGE).map(str::trim) {
            Some(s) if !s.is_empty() => s,
            _ => DEFAULT_ENVIRONMENT,
        }
        .to_owned();
        let preflight = parts.method == Method::OPTIONS
            && headers.contains_key(hyper::header::ORIGIN)
            && headers.contains_key(hyper::header::ACCESS_CONTROL_REQUEST_METHOD);
        let (request_id, request_id_value) = request_id;
        Self {
            request_id,
            request_id_value,
            remote,
            method: parts.method.clone(),
            host,
            target: parts.uri.path_and_query().map_or_else(|| parts.uri.to_string(), |pq| pq.as_str().to_owned()),
            headers,
            environment,
            api: None,
            preflight,
            caller: None,
            debug,
            started: Instant::now(),
            arrived: SystemTime::now(),
            outcome: BackendOutcome::NotCalled,
            error: None,
            extensions: std::sync::Mutex::default(),
        }
    }

    /// The method the request is routed by: the requested one for a CORS preflight.
    pub fn routed_method(&self) -> &str {
        if self.preflight {
            self.headers
                .get(hyper::header::ACCESS_CONTROL_REQUEST_METHOD)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("OPTIONS")
                .trim()
        } else {
            self.method.as_str()
        }
    }

    /// A `GET target` from 127.0.0.1:1 to `host` with `headers`, in `RELEASE`, not yet routed or
    /// authenticated: the context a policy's unit test starts from.
    #[cfg(test)]
    pub(crate) fn for_test(host: &str, target: &str, headers: HeaderMap) -> Self {
        let (mut parts, ()) = hyper::Request::get(target).body(()).unwrap_or_default().into_parts();
        parts.headers = headers;
        let mut ctx = Self::new((String::new(), HeaderValue::from_static("")), ([127, 0, 0, 1], 1).into(), &mut parts);
        host.clone_into(&mut ctx.host);
        target.clone_into(&mut ctx.target);
        "RELEASE".clone_into(&mut ctx.environment);
        ctx.debug = false;
        ctx.preflight = false;
        ctx
    }
}
