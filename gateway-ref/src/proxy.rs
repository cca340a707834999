//! Forwarding to the backend: the upstream request head (hop-by-hop and client `X-Apig-*` headers
//! removed, raw path and query kept, `X-Forwarded-*` and `X-Request-Id` set), pooled connections,
//! the per-API timeout, and bodies streamed both ways.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Request, Response, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::body::{Body, BoxError, ForwardBody};
use crate::echo;
use crate::error::GatewayError;
use crate::routing::{ApiRoute, BackendTarget};

/// The pooled HTTP/1 client to backends.
pub type HttpClient = Client<HttpConnector, ForwardBody>;

/// A client with keep-alive connection pooling.
pub fn client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(Duration::from_secs(5)));
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(512)
        .build(connector)
}

/// Headers that are never forwarded (RFC 9110 §7.6.1 and the classic proxy ones).
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Removes hop-by-hop headers, including those named in `Connection`.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// The request to send to `api`'s backend.
///
/// # Errors
/// `APIG.0201` when the target cannot be joined to the backend URL.
pub fn upstream_request(
    api: &ApiRoute,
    parts: &Parts,
    host: &str,
    remote: SocketAddr,
    request_id: &str,
    body: ForwardBody,
) -> Result<Request<ForwardBody>, GatewayError> {
    let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let uri: Uri = match &api.backend {
        BackendTarget::Echo => target.parse(),
        BackendTarget::Http { origin, base_path } => format!("{origin}{base_path}{target}").parse(),
    }
    .map_err(|e| GatewayError::bad_request(format_args!("cannot forward the request target: {e}")))?;

    let mut headers = parts.headers.clone();
    strip_hop_by_hop(&mut headers);
    headers.remove(header::HOST);
    let apig: Vec<HeaderName> = headers.keys().filter(|n| n.as_str().starts_with("x-apig-")).cloned().collect();
    for name in apig {
        headers.remove(name);
    }
    let ip = remote.ip().to_string();
    let forwarded_for = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(prior) if !prior.trim().is_empty() => format!("{prior}, {ip}"),
        _ => ip,
    };
    if let Ok(v) = HeaderValue::from_str(&forwarded_for) {
        headers.insert("x-forwarded-for", v);
    }
    if let Ok(v) = HeaderValue::from_str(host) {
        headers.insert("x-forwarded-host", v);
    }
    headers.insert("x-forwarded-proto", HeaderValue::from_static("http"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-request-id", v);
    }

    if api.backend == BackendTarget::Echo
        && let Ok(v) = HeaderValue::from_str(host)
    {
        // what a real backend would see from the client: hyper's client sets the backend's own
        headers.insert(header::HOST, v);
    }
    let mut request = Request::new(body);
    *request.method_mut() = parts.method.clone();
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Ok(request)
}

/// Sends `request` to `api`'s backend (or the built-in echo) within the API's timeout; returns
/// the response (body streamed) and the time to its head.
///
/// # Errors
/// `APIG.0202` 502 when the backend cannot be reached or fails, `APIG.0203` 504 on timeout,
/// `APIG.0201` 413 when the client's streamed body exceeds the limit.
pub async fn send(
    client: &HttpClient,
    api: &ApiRoute,
    request: Request<ForwardBody>,
    limit: u64,
) -> Result<(Response<Body>, Duration), GatewayError> {
    let started = Instant::now();
    if api.backend == BackendTarget::Echo {
        let (parts, body) = request.into_parts();
        let bytes = body.collect_bytes().await.map_err(|e| body_error(&*e, limit))?;
        let head = Request::from_parts(parts, ());
        return Ok((echo::respond(&head, &bytes), started.elapsed()));
    }
    match tokio::time::timeout(api.timeout, client.request(request)).await {
        Err(_) => Err(GatewayError::backend_timeout(api.timeout.as_millis())),
        Ok(Err(e)) => {
            if is_length_limit(&e) {
                return Err(GatewayError::body_too_large(limit).closing());
            }
            Err(GatewayError::backend_unavailable(if e.is_connect() { "connection failed" } else { "request failed" }))
        }
        Ok(Ok(response)) => {
            let elapsed = started.elapsed();
            let (mut parts, body) = response.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            let body = body.map_err(|e| -> BoxError { Box::new(e) }).boxed();
            Ok((Response::from_parts(parts, body), elapsed))
        }
    }
}

fn body_error(e: &(dyn std::error::Error + 'static), limit: u64) -> GatewayError {
    if is_length_limit(e) {
        GatewayError::body_too_large(limit).closing()
    } else {
        GatewayError::bad_request(format_args!("reading the body failed: {e}"))
    }
}

/// Whether `e` (or its source chain) is the body size limit.
fn is_length_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        current = err.source();
    }
    false
}
