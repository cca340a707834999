//! The request path: one request, start to end, as named phases over one per-request
//! [`RequestContext`] (Pingora's `ProxyHttp` is the model). Each phase has typed inputs and
//! outputs; a phase that ends the request early returns a [`Stop`]:
//!
//! ```text
//! RequestContext::new ─▶ request_filter: head checks, routing
//!   ─▶ forward: admit (policies before_auth ─▶ identify ─▶ policies before_body ─▶ authenticate,
//!               the body read ─▶ policies after_auth)
//!               ─▶ upstream_request (+ policies before_backend) ─▶ proxy::send ─▶ typed Upstream
//!   ─▶ render (an error as APIG's JSON) ─▶ response_filter (policies on_response, X-Request-Id,
//!      debug headers) ─▶ logging (metrics observed from the context, the record built from it,
//!      access log, policies on_log)
//! ```
//!
//! Policies are the API's [`Pipeline`]: a new policy is a new [`crate::policy::Policy`]
//! implementor, not a change here.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use apig::Authorization;
use hyper::body::{Body as _, Incoming};
use hyper::header::{AUTHORIZATION, HOST, HeaderMap, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Request, Response};

use crate::access_log::AccessRecord;
use crate::auth;
use crate::body::{Body, ForwardBody, RequestBody, TimedBody};
use crate::config::PlainHttp;
use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::policy::{Decision, Pipeline};
use crate::proxy::{self, HttpClient};
use crate::routing::{ApiRoute, Route, Runtime};
use crate::shared::Shared;
use crate::tls::Transport;

/// What every request of one client connection shares, made once per connection: the gateway's
/// state, the worker's backend client, the client's address and the listener's transport.
pub(crate) struct Connection {
    pub(crate) shared: Arc<Shared>,
    pub(crate) client: HttpClient,
    pub(crate) remote: SocketAddr,
    pub(crate) transport: Transport,
}

/// How a phase ends the request before the backend answers.
pub enum Stop {
    /// With this response (a policy answered, e.g. a CORS preflight; boxed, as it is rare and
    /// large).
    Respond(Box<Response<Body>>),
    /// With this APIG error.
    Reject(GatewayError),
}

impl From<GatewayError> for Stop {
    fn from(e: GatewayError) -> Self {
        Self::Reject(e)
    }
}

/// A policy stage's decision as a phase result: go on, or stop here.
fn proceed(decision: Decision) -> Result<(), Stop> {
    match decision {
        Decision::Continue => Ok(()),
        Decision::Respond(r) => Err(Stop::Respond(Box::new(r))),
        Decision::Reject(e) => Err(Stop::Reject(e)),
    }
}

/// One request, start to end; never fails (every failure is an APIG error response). An early
/// answer on HTTP/1.x settles the request body it left unread ([`RequestBody::settle`]).
pub(crate) async fn handle(
    connection: Arc<Connection>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let Connection { shared, client, remote, transport } = &*connection;
    let (shared, remote, transport) = (&**shared, *remote, *transport);
    let rt = shared.runtime.load_full();
    let (mut parts, body) = request.into_parts();
    // HTTP/1.x with a body: an early answer must leave the connection usable or say it is not
    let settle = !body.is_end_stream() && parts.version < hyper::Version::HTTP_2;
    let mut body = RequestBody::Unread(body);
    let mut ctx = RequestContext::new(shared.ids.next(), remote, &mut parts);
    let routed = request_filter(&rt, &mut ctx, &parts).and_then(|api| {
        // a call on the group's debug domain counts against its daily quota
        match rt.debug_quota(&api.group_id, &ctx.host) {
            Some(quota) => shared.debug_calls.admit(&api.group_id, shared.clock.now(), quota).map(|()| api),
            None => Ok(api),
        }
    });
    let (api, answer) = match routed {
        Ok(api) => {
            let answer = forward(shared, client, transport, &rt, &api, &mut ctx, parts, &mut body).await;
            (Some(api), answer)
        }
        Err(e) => (None, Err(Stop::Reject(e))),
    };
    let policies = api.as_ref().map(|api| &api.policies);
    let early = answer.is_err();
    let (mut head, response_body) = render(&rt, &mut ctx, answer).into_parts();
    if settle && early {
        let timeout = Duration::from_millis(rt.settings.body_timeout_ms);
        body.settle(&ctx.headers, &mut head.headers, ctx.started, timeout);
    }
    let mut record = AccessRecord::default();
    let latency = response_filter(&ctx, policies, &mut head, &mut record);
    logging(shared, &ctx, api.as_deref(), record, head.status.as_u16(), latency);
    Ok(Response::from_parts(head, response_body))
}

/// Head checks and routing: the API the request is for. Once routed, `Host` is the target's
/// authority for an absolute-form target (what the verifier, the policies and the backend see).
fn request_filter(rt: &Runtime, ctx: &mut RequestContext, parts: &Parts) -> Result<Arc<ApiRoute>, GatewayError> {
    check_head(rt, parts, &ctx.headers)?;
    let api = match rt.route(&ctx.host, ctx.routed_method(), parts.uri.path(), &ctx.environment) {
        Route::Found(api) => api,
        Route::NotFound => return Err(GatewayError::api_not_found()),
    };
    ctx.api = Some((api.id.clone(), api.group_id.clone()));
    if parts.uri.authority().is_some()
        && let Ok(authority) = HeaderValue::from_str(&ctx.host)
    {
        ctx.headers.insert(HOST, authority);
    }
    Ok(api)
}

/// For a routed request: admission (policies and authentication), the upstream request and the
/// backend call; the response to send (the backend's or a policy's), or the error.
#[expect(clippy::too_many_arguments, reason = "the phase's inputs, each borrowed from the request")]
async fn forward(
    shared: &Shared,
    client: &HttpClient,
    transport: Transport,
    rt: &Runtime,
    api: &ApiRoute,
    ctx: &mut RequestContext,
    parts: Parts,
    body: &mut RequestBody,
) -> Result<Response<Body>, Stop> {
    https_only(api, ctx, &parts, transport)?;
    let body = admit(shared, rt, api, ctx, &parts, body).await?;
    let request = upstream_request(rt, api, ctx, &parts, transport, body)?;
    let upstream = proxy::send(client, api, request, rt.settings.max_body_bytes).await;
    ctx.outcome = upstream.outcome();
    Ok(upstream.into_response()?)
}

/// APIG's "HTTPS only": a request over plain HTTP to a group with `plain_http: redirect` is
/// answered `308` to the same URL over `https://` (the TLS listener's port; 443 without one), with
/// `plain_http: refuse` `APIG.0201` 400.
fn https_only(api: &ApiRoute, ctx: &RequestContext, parts: &Parts, transport: Transport) -> Result<(), Stop> {
    if transport.tls {
        return Ok(());
    }
    match api.plain_http {
        PlainHttp::Allow => Ok(()),
        PlainHttp::Refuse => Err(GatewayError::bad_request("the API accepts HTTPS only").into()),
        PlainHttp::Redirect => {
            // the host without its port (a bracketed IPv6 address keeps its brackets)
            let host = match ctx.host.rsplit_once(':') {
                Some((h, port))
                    if port.bytes().all(|b| b.is_ascii_digit()) && (!h.contains(':') || h.ends_with(']')) =>
                {
                    h
                }
                _ => ctx.host.as_str(),
            };
            let port = match transport.https_port {
                Some(443) | None => String::new(),
                Some(p) => format!(":{p}"),
            };
            let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
            let location = HeaderValue::from_str(&format!("https://{host}{port}{target}"))
                .map_err(|_| GatewayError::bad_request("the Host header cannot be redirected"))?;
            let mut response = Response::new(crate::body::empty());
            *response.status_mut() = hyper::StatusCode::PERMANENT_REDIRECT;
            response.headers_mut().insert(hyper::header::LOCATION, location);
            Err(Stop::Respond(Box::new(response)))
        }
    }
}

/// Whether the request may go on, and its body to forward: the policies' `before_auth` stage,
/// every authentication check that needs no body (key, date, the app's authorisation), the
/// policies' `before_body` stage with the claimed caller, then the body read (within its
/// deadline) and the signature verified, and the policies' `after_auth` stage with the caller.
async fn admit(
    shared: &Shared,
    rt: &Runtime,
    api: &ApiRoute,
    ctx: &mut RequestContext,
    parts: &Parts,
    body: &mut RequestBody,
) -> Result<ForwardBody, Stop> {
    proceed(api.policies.before_auth(ctx).await)?;
    if ctx.preflight {
        // a preflight no policy answered: the API has no CORS policy
        return Err(GatewayError::api_not_found().into());
    }
    let now = shared.clock.now();
    let identified = auth::identify(rt, api, &ctx.environment, parts, &ctx.headers, now)?;
    ctx.caller = identified.caller().cloned();
    let decision = api.policies.before_body(ctx).await;
    ctx.caller = None;
    proceed(decision)?;
    // a signature reads the body to its end (or the answer closes the connection); else it is streamed
    let read = matches!(identified, auth::Identified::Signature { .. });
    let Some(body) = body.take(read) else {
        return Err(GatewayError::bad_request("the request body was taken already").into());
    };
    let body = TimedBody::new(body, ctx.started, Duration::from_millis(rt.settings.body_timeout_ms));
    let (caller, forward) = auth::authenticate(rt, parts, &ctx.headers, identified, body, now).await?;
    ctx.caller = caller;
    proceed(api.policies.after_auth(ctx).await)?;
    Ok(forward)
}

/// The request to send to the backend: built from the client's ([`proxy::upstream_request`]),
/// unsigned headers dropped when configured, then edited by the policies' `before_backend` stage.
fn upstream_request(
    rt: &Runtime,
    api: &ApiRoute,
    ctx: &RequestContext,
    parts: &Parts,
    transport: Transport,
    body: ForwardBody,
) -> Result<Request<ForwardBody>, Stop> {
    let upstream =
        proxy::upstream_request(api, parts, &ctx.headers, &ctx.host, ctx.remote, &ctx.request_id_value, body)?;
    let (mut head, body) = upstream.into_parts();
    if transport.tls {
        head.headers.insert(proxy::X_FORWARDED_PROTO, HeaderValue::from_static("https"));
    }
    if rt.settings.drop_unsigned_headers && ctx.caller.as_ref().is_some_and(|c| c.method == "signature") {
        drop_unsigned_headers(&mut head.headers, &ctx.headers, ctx.remote);
    }
    proceed(api.policies.before_backend(ctx, &mut head, &body))?;
    Ok(Request::from_parts(head, body))
}

/// The answer as a response: an error becomes APIG's JSON (recorded in the context for the
/// access log; with `X-Apig-Mode: debug`, the core error code in `X-Apig-Error-Kind`).
fn render(rt: &Runtime, ctx: &mut RequestContext, answer: Result<Response<Body>, Stop>) -> Response<Body> {
    let e = match answer {
        Ok(response) => return response,
        Err(Stop::Respond(response)) => return *response,
        Err(Stop::Reject(e)) => e,
    };
    let prefix = rt.settings.error_prefix.as_str();
    ctx.error = Some((e.full_code(prefix), e.core_code));
    let mut response = e.to_response(prefix, &ctx.request_id);
    if ctx.debug
        && let Some(code) = e.core_code
    {
        response.headers_mut().insert("x-apig-error-kind", HeaderValue::from_static(code));
    }
    response
}

/// The response head on every answer, errors included: the policies' `on_response` stage (which
/// may add fields to the access-log record), `X-Request-Id`, and with `X-Apig-Mode: debug` the
/// latencies. Returns the latency to the response head.
fn response_filter(
    ctx: &RequestContext,
    policies: Option<&Pipeline>,
    head: &mut hyper::http::response::Parts,
    record: &mut AccessRecord<'_>,
) -> Duration {
    if let Some(policies) = policies {
        policies.on_response(ctx, ctx.outcome, head, record);
    }
    head.headers.insert(proxy::X_REQUEST_ID, ctx.request_id_value.clone());
    let latency = ctx.started.elapsed();
    if ctx.debug {
        let millis = |d: Duration| HeaderValue::from(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        head.headers.insert("x-apig-latency", millis(latency));
        if let Some(upstream) = ctx.outcome.latency() {
            head.headers.insert("x-apig-upstream-latency", millis(upstream));
        }
    }
    latency
}

/// The finished request's observations: the metrics, when on ([`crate::metrics::Metrics::observe`]),
/// and the access-log record, when the access log or a policy (Kafka log push) wants it, built from
/// the context ([`AccessRecord::fill`]), written, and handed to the policies that asked.
fn logging<'a>(
    shared: &Shared,
    ctx: &'a RequestContext,
    api: Option<&ApiRoute>,
    mut record: AccessRecord<'a>,
    status: u16,
    latency: Duration,
) {
    if let Some(metrics) = &shared.metrics {
        metrics.observe(api.map(|api| &api.metrics), ctx, status, latency);
    }
    let policies = api.map(|api| &api.policies);
    let policy_log = policies.map(|p| (p, p.wants_log())).filter(|(_, wanted)| *wanted != 0);
    if !shared.log.enabled() && policy_log.is_none() {
        return;
    }
    record.fill(ctx, status, latency);
    // the JSON line is made once when both the access log and a policy want it
    let line = shared.log.enabled().then(|| {
        let mut line = Vec::with_capacity(768);
        record.write_json(&mut line);
        line
    });
    if let Some((policies, wanted)) = policy_log {
        policies.on_log(ctx, &record, line.as_deref(), wanted);
    }
    if let Some(line) = line {
        shared.log.write_line(line);
    }
}

/// Headers the gateway sets on the upstream request itself, kept by `drop_unsigned_headers`.
const GATEWAY_SET: [HeaderName; 5] =
    [HOST, proxy::X_FORWARDED_FOR, proxy::X_FORWARDED_HOST, proxy::X_FORWARDED_PROTO, proxy::X_REQUEST_ID];

/// `gateway.drop_unsigned_headers`: removes from the upstream request every header the client's
/// verified signature does not cover, except `Authorization` (the signature itself, so the
/// backend can verify it again) and the headers the gateway sets ([`GATEWAY_SET`]); an unsigned
/// `X-Forwarded-For` from the client is not kept in the gateway's either, which then names only
/// the client's address. Framing (`Content-Length`) is set by the gateway's client from the body it
/// forwards.
fn drop_unsigned_headers(upstream: &mut HeaderMap, request_headers: &HeaderMap, remote: SocketAddr) {
    let authorization = request_headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let Some(signed) = authorization.and_then(|v| Authorization::parse(v).ok()) else {
        return;
    };
    let mut kept = HeaderMap::with_capacity(upstream.len());
    let mut current: Option<HeaderName> = None;
    for (name, value) in std::mem::take(upstream) {
        if let Some(name) = name {
            current = Some(name);
        }
        let Some(name) = &current else { continue };
        if *name == AUTHORIZATION || GATEWAY_SET.contains(name) || signed.is_signed(name.as_str()) {
            kept.append(name.clone(), value);
        }
    }
    if !signed.is_signed(proxy::X_FORWARDED_FOR.as_str())
        && let Ok(ip) = HeaderValue::from_str(&remote.ip().to_string())
    {
        kept.insert(proxy::X_FORWARDED_FOR, ip);
    }
    *upstream = kept;
}

/// Limits and framing checks on the request head, before anything else.
fn check_head(rt: &Runtime, parts: &Parts, headers: &HeaderMap) -> Result<(), GatewayError> {
    let s = &rt.settings;
    let uri_len = parts.uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    if uri_len > s.max_uri_bytes {
        return Err(GatewayError::uri_too_large(s.max_uri_bytes).closing());
    }
    let header_bytes: usize = headers.iter().map(|(n, v)| n.as_str().len() + v.len() + 4).sum();
    if header_bytes > s.max_header_bytes {
        return Err(GatewayError::headers_too_large(format_args!("limit {} bytes", s.max_header_bytes)).closing());
    }
    if headers.len() > 256 {
        return Err(GatewayError::headers_too_large("more than 256 headers").closing());
    }
    if headers.contains_key(hyper::header::TRANSFER_ENCODING) && headers.contains_key(hyper::header::CONTENT_LENGTH) {
        return Err(GatewayError::bad_request("both Content-Length and Transfer-Encoding").closing());
    }
    match headers.get_all(HOST).iter().count() {
        0 if parts.uri.authority().is_none() => return Err(GatewayError::bad_request("missing Host header")),
        0 | 1 => {}
        _ => return Err(GatewayError::bad_request("more than one Host header")),
    }
    if parts.uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(GatewayError::bad_request("the request target has user information"));
    }
    if parts.uri.path_and_query().is_none() || !parts.uri.path().starts_with('/') {
        return Err(GatewayError::bad_request("the request target must be a path"));
    }
    if parts.uri.path().split('/').any(is_dot_segment) {
        return Err(GatewayError::bad_request("the path has a '.' or '..' segment"));
    }
    Ok(())
}

/// `.` or `..`, also percent-encoded (`%2e`, `.%2E`, …).
fn is_dot_segment(segment: &str) -> bool {
    // one or two dots, each `.` or `%2e` (any case); without allocating, as every segment of
    // every request goes through here
    let mut rest = segment.as_bytes();
    let mut dots = 0;
    while !rest.is_empty() {
        rest = match rest {
            [b'.', tail @ ..] => tail,
            [b'%', b'2', e, tail @ ..] if e.eq_ignore_ascii_case(&b'e') => tail,
            _ => return false,
        };
        dots += 1;
    }
    dots == 1 || dots == 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments() {
        for s in [".", "..", "%2e", "%2E%2e", ".%2E"] {
            assert!(is_dot_segment(s), "{s}");
        }
        for s in ["", "a", "...", "%2e%2e%2e", ".a", "%2f"] {
            assert!(!is_dot_segment(s), "{s}");
        }
    }
}
