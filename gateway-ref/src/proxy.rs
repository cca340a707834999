//! Forwarding to the backend: the upstream request head (hop-by-hop and client `X-Apig-*` headers
//! removed, raw path and query kept, `X-Forwarded-*` and `X-Request-Id` set), the server of an
//! upstream, the retry of an idempotent request that got no answer, the per-API timeout, and
//! bodies streamed both ways (over [`crate::backend_client`]'s pooled HTTP/1.1 and HTTP/2 client).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Body as HttpBody;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::http::uri::{PathAndQuery, Scheme};
use hyper::{Request, Response, Uri};

use crate::backend_client::{self, BackendBody, Client};
use crate::backend_limit::{self, LimitError, RequestPermit};
use crate::body::{Body, ForwardBody, body_timeout_of};
use crate::context::BackendOutcome;
use crate::echo;
use crate::error::GatewayError;
use crate::routing::{ApiRoute, BackendTarget};
use crate::upstream::Upstream as UpstreamGroup;

/// The client to backends: the gateway's pooled client ([`crate::backend_client`]) for `http://`
/// backends, one per worker; `https://` backends and upstreams carry their TLS client in the
/// compiled route. Cheap to clone (one shared pool).
#[derive(Clone, Debug)]
pub struct HttpClient {
    plain: Client,
}

/// A client with an empty connection pool.
pub fn client() -> HttpClient {
    HttpClient { plain: backend_client::plain(backend_client::CONNECT_TIMEOUT) }
}

/// Why a request to a backend failed.
enum SendError {
    /// The upstream has no healthy server.
    NoServer,
    /// The backend's `host:port` is at its connection limit ([`crate::backend_limit`]).
    Limited(LimitError),
    /// The connection could not be opened, or the exchange failed before a response head.
    Failed(backend_client::Error),
}

/// The backend's response head, and the request's place under its host's limit (held until the
/// response body ends).
type Sent = Result<(Response<BackendBody>, Option<RequestPermit>), SendError>;

/// The request's place under the limit of `uri`'s `host:port`, if it has one (waiting in its
/// queue when it is full).
async fn gate(uri: &Uri) -> Result<Option<RequestPermit>, SendError> {
    match backend_limit::lookup(uri) {
        None => Ok(None),
        Some(limit) => limit.acquire().await.map(Some).map_err(SendError::Limited),
    }
}

impl HttpClient {
    /// Sends `request` (absolute URI) to `api`'s backend: the upstream's servers when the URI
    /// still names the upstream, else the URI's origin (a circuit breaker's fallback may have
    /// changed it).
    async fn request(&self, api: &ApiRoute, request: Request<ForwardBody>) -> Sent {
        match &api.backend {
            BackendTarget::Upstream { upstream, .. }
                if request.uri().host() == Some(upstream.name.as_str()) && request.uri().port().is_none() =>
            {
                self.balanced(upstream, request).await
            }
            BackendTarget::Http { tls: Some(tls), .. } if request.uri().scheme() == Some(&Scheme::HTTPS) => {
                once(tls, request).await
            }
            _ => once(&self.plain, request).await,
        }
    }

    /// Sends `request` to one of `upstream`'s servers; an idempotent request with a replayable
    /// body that could not connect or got no answer is sent once more, to another server.
    async fn balanced(&self, upstream: &UpstreamGroup, mut request: Request<ForwardBody>) -> Sent {
        let Some(first) = upstream.pick(None) else { return Err(SendError::NoServer) };
        let target = request.uri().path_and_query().cloned();
        let replay = replayable(&request);
        let sender = upstream.sender(&self.plain);
        *request.uri_mut() = upstream.uri(first, target.clone()).ok_or(SendError::NoServer)?;
        let permit = gate(request.uri()).await?;
        let e = match sender.send(request).await {
            Ok(response) => {
                upstream.record(first, true);
                return Ok((response, permit));
            }
            Err(e) => e,
        };
        drop(permit);
        if !failed_before_answer(&e) {
            return Err(SendError::Failed(e));
        }
        upstream.record(first, false);
        let (Some(mut copy), Some(second)) =
            (replay, upstream.pick(Some(first)).or_else(|| upstream.is_available(first).then_some(first)))
        else {
            return Err(SendError::Failed(e));
        };
        *copy.uri_mut() = upstream.uri(second, target).ok_or(SendError::NoServer)?;
        let permit = gate(copy.uri()).await?;
        match sender.send(copy).await {
            Ok(response) => {
                upstream.record(second, true);
                Ok((response, permit))
            }
            Err(e) => {
                if failed_before_answer(&e) {
                    upstream.record(second, false);
                }
                Err(SendError::Failed(e))
            }
        }
    }
}

/// Sends `request`; an idempotent request with a replayable body that could not connect or got
/// no answer (a backend may close an idle connection just as it is reused) is sent once more, as
/// nginx and Go's client do.
async fn once(sender: &Client, request: Request<ForwardBody>) -> Sent {
    let permit = gate(request.uri()).await?;
    let replay = replayable(&request);
    match sender.send(request).await {
        Ok(response) => Ok((response, permit)),
        Err(e) => match replay {
            Some(copy) if failed_before_answer(&e) => {
                sender.send(copy).await.map(|response| (response, permit)).map_err(SendError::Failed)
            }
            _ => Err(SendError::Failed(e)),
        },
    }
}

/// A copy of `request` to send again, when it is idempotent (RFC 9110 §9.2.2) and its body is not
/// a stream.
fn replayable(request: &Request<ForwardBody>) -> Option<Request<ForwardBody>> {
    if !request.method().is_idempotent() {
        return None;
    }
    let body = match request.body() {
        ForwardBody::Empty => ForwardBody::Empty,
        ForwardBody::Buffered(chunks) => ForwardBody::Buffered(chunks.clone()),
        // a client body known to be empty (a GET without one) is as good as none
        ForwardBody::Streaming(stream) if stream.is_end_stream() => ForwardBody::Empty,
        ForwardBody::Streaming(_) => return None,
    };
    let mut copy = Request::new(body);
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    Some(copy)
}

/// Whether the exchange failed without any answer: no connection, or a connection closed or reset
/// by the backend before the response head.
fn failed_before_answer(error: &backend_client::Error) -> bool {
    if limit_error(error).is_some() {
        return false; // the host is at its limit: another try would wait again
    }
    if error.is_connect() {
        return true;
    }
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        if let Some(h) = e.downcast_ref::<hyper::Error>()
            && (h.is_incomplete_message() || h.is_closed() || h.is_canceled())
        {
            return true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return matches!(io.kind(), std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe);
        }
        source = e.source();
    }
    false
}

/// The connection limit that refused to open a connection, if that is what failed.
fn limit_error(error: &backend_client::Error) -> Option<&LimitError> {
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        if let Some(limit) = e.downcast_ref::<LimitError>() {
            return Some(limit);
        }
        source = e.source();
    }
    None
}

/// What failed, for the error message: the TLS handshake, the connection, or the exchange.
fn failure(error: &backend_client::Error) -> &'static str {
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        if e.is::<rustls::Error>() {
            return "TLS handshake failed";
        }
        // an I/O error's own source skips the error it wraps: go into it
        source = match e.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    if error.is_connect() { "connection failed" } else { "request failed" }
}

/// Header names the gateway sets or reads on every request (constants: no parsing per use).
pub(crate) const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub(crate) const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
pub(crate) const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
/// `X-Request-Id`.
pub(crate) const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Whether `name` is never forwarded: the core's hop-by-hop list ([`apig::HOP_BY_HOP_HEADERS`],
/// RFC 9110 §7.6.1 and the classic proxy ones), the list every front end drops before signing.
/// [`upstream_request`] also leaves out, explicitly, the headers the gateway sets itself (`Host`,
/// `X-Forwarded-*`, `X-Request-Id`), those named in `Connection` and the client's `X-Apig-*`.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    apig::is_hop_by_hop(name.as_str())
}

/// The header names listed in `Connection` (hop-by-hop too).
fn connection_listed(headers: &HeaderMap) -> Vec<HeaderName> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect()
}

/// Removes hop-by-hop headers, including those named in `Connection`.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    if !headers.keys().any(is_hop_by_hop) {
        return; // the usual case: nothing to remove (`Connection` is one of them)
    }
    for name in connection_listed(headers) {
        headers.remove(name);
    }
    for name in apig::HOP_BY_HOP_HEADERS {
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
    request_headers: &HeaderMap,
    host: &str,
    remote: SocketAddr,
    request_id: &HeaderValue,
    body: ForwardBody,
) -> Result<Request<ForwardBody>, GatewayError> {
    // the backend request definition's method, path and parameters ([`crate::backend_request`])
    let rewrite = match &api.backend_request {
        Some(def) => Some(def.apply(parts.uri.path(), parts.uri.query(), request_headers)?),
        None => None,
    };
    let target = match &rewrite {
        Some(r) => PathAndQuery::from_maybe_shared(Bytes::from(r.target.clone()))
            .map_err(|e| GatewayError::bad_request(format_args!("cannot forward the request target: {e}")))?,
        None => parts.uri.path_and_query().cloned().unwrap_or_else(|| PathAndQuery::from_static("/")),
    };
    let uri = match &api.backend {
        BackendTarget::Echo | BackendTarget::Mock(_) => Ok(Uri::from(target)),
        BackendTarget::Http { authority, base_path, tls: None, .. } if base_path.is_empty() => {
            let mut uri = hyper::http::uri::Parts::default();
            uri.scheme = Some(Scheme::HTTP);
            uri.authority = Some(authority.clone());
            uri.path_and_query = Some(target);
            Uri::from_parts(uri).map_err(|e| e.to_string())
        }
        BackendTarget::Http { origin, base_path, .. } | BackendTarget::Upstream { origin, base_path, .. } => {
            format!("{origin}{base_path}{target}").parse::<Uri>().map_err(|e| e.to_string())
        }
    }
    .map_err(|e| GatewayError::bad_request(format_args!("cannot forward the request target: {e}")))?;

    // one pass over the client's headers: hop-by-hop (and those `Connection` names), `Host`,
    // client `X-Apig-*` and the forwarding headers the gateway sets are left out
    let listed =
        if request_headers.contains_key(header::CONNECTION) { connection_listed(request_headers) } else { Vec::new() };
    let mut headers = HeaderMap::with_capacity(request_headers.len() + 4);
    for (name, value) in request_headers {
        let n = name.as_str();
        let skip = is_hop_by_hop(name)
            || *name == header::HOST
            || n.starts_with("x-apig-")
            || matches!(n, "x-forwarded-for" | "x-forwarded-host" | "x-forwarded-proto" | "x-request-id")
            || listed.contains(name);
        if !skip {
            headers.append(name.clone(), value.clone());
        }
    }
    let mut forwarded_for = Vec::with_capacity(64);
    if let Some(prior) = request_headers.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok())
        && !prior.trim().is_empty()
    {
        forwarded_for.extend_from_slice(prior.as_bytes());
        forwarded_for.extend_from_slice(b", ");
    }
    write_ip(&mut forwarded_for, remote.ip());
    if let Ok(v) = HeaderValue::from_maybe_shared(Bytes::from(forwarded_for)) {
        headers.insert(X_FORWARDED_FOR, v);
    }
    let host_value = match request_headers.get(header::HOST) {
        Some(v) if v.as_bytes() == host.as_bytes() => Ok(v.clone()),
        _ => HeaderValue::from_str(host),
    };
    if let Ok(v) = &host_value {
        headers.insert(X_FORWARDED_HOST, v.clone());
    }
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
    headers.insert(X_REQUEST_ID, request_id.clone());

    if matches!(api.backend, BackendTarget::Echo)
        && let Ok(v) = host_value
    {
        // what a real backend would see from the client: hyper's client sets the backend's own
        headers.insert(header::HOST, v);
    }
    if let Some(r) = &rewrite {
        for name in &r.remove_headers {
            headers.remove(name);
        }
        for (name, value) in &r.set_headers {
            headers.insert(name.clone(), value.clone());
        }
    }
    let mut request = Request::new(body);
    *request.method_mut() = rewrite.and_then(|r| r.method).unwrap_or_else(|| parts.method.clone());
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Ok(request)
}

/// Appends `ip` as text: an IPv4 address by hand (`Ipv4Addr`'s `Display` cost ~1 300 instructions a
/// request, for `X-Forwarded-For`), an IPv6 one by `Display`.
fn write_ip(out: &mut Vec<u8>, ip: std::net::IpAddr) {
    match ip {
        std::net::IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                if octet >= 100 {
                    out.push(b'0' + octet / 100);
                }
                if octet >= 10 {
                    out.push(b'0' + octet / 10 % 10);
                }
                out.push(b'0' + octet % 10);
            }
        }
        std::net::IpAddr::V6(_) => out.extend_from_slice(ip.to_string().as_bytes()),
    }
}

/// What a backend call came to.
#[derive(Debug)]
pub enum Upstream {
    /// The backend answered: its response (head's hop-by-hop headers removed, body streamed) and
    /// the time to its head.
    Answered(Response<Body>, Duration),
    /// No response head within the API's timeout (the timeout).
    TimedOut(Duration),
    /// The backend could not be reached, or failed the exchange without an answer (what failed).
    Unavailable(&'static str),
    /// The backend's `host:port` is at its connection limit and no connection came free (why).
    Limited(LimitError),
    /// The client's body failed on the way (too large, too slow, broken): the error to answer.
    ClientBody(GatewayError),
}

impl Upstream {
    /// The outcome policies and the access log see.
    pub fn outcome(&self) -> BackendOutcome {
        match self {
            Self::Answered(response, took) => BackendOutcome::Answered(response.status().as_u16(), *took),
            Self::TimedOut(_) => BackendOutcome::TimedOut,
            Self::Unavailable(_) | Self::Limited(_) => BackendOutcome::Unavailable,
            Self::ClientBody(_) => BackendOutcome::Abandoned,
        }
    }

    /// The backend's response, or the APIG error that answers the client instead.
    ///
    /// # Errors
    /// `APIG.0203` 504 on timeout, `APIG.0202` 502 when the backend is unavailable or at its
    /// connection limit, the client's
    /// body error (`APIG.0201` 400/408/413).
    pub fn into_response(self) -> Result<Response<Body>, GatewayError> {
        match self {
            Self::Answered(response, _) => Ok(response),
            Self::TimedOut(timeout) => Err(GatewayError::backend_timeout(timeout.as_millis())),
            Self::Unavailable(what) => Err(GatewayError::backend_unavailable(what)),
            Self::Limited(why) => Err(GatewayError::backend_unavailable(why)),
            Self::ClientBody(e) => Err(e),
        }
    }
}

/// Sends `request` to `api`'s backend (or the built-in echo) within the API's timeout; `limit` is
/// the client body's size limit (for its error message).
pub async fn send(client: &HttpClient, api: &ApiRoute, request: Request<ForwardBody>, limit: u64) -> Upstream {
    let started = Instant::now();
    if let BackendTarget::Mock(mock) = &api.backend {
        return Upstream::Answered(mock.respond(), started.elapsed());
    }
    if matches!(api.backend, BackendTarget::Echo) {
        let (parts, body) = request.into_parts();
        return match body.collect_bytes().await {
            Ok(bytes) => Upstream::Answered(echo::respond(&Request::from_parts(parts, ()), &bytes), started.elapsed()),
            Err(e) => Upstream::ClientBody(body_error(&*e, limit)),
        };
    }
    match tokio::time::timeout(api.timeout, client.request(api, request)).await {
        Err(_) => Upstream::TimedOut(api.timeout),
        Ok(Err(SendError::NoServer)) => Upstream::Unavailable("no healthy server in the upstream"),
        Ok(Err(SendError::Limited(why))) => Upstream::Limited(why),
        Ok(Err(SendError::Failed(e))) => {
            if let Some(why) = limit_error(&e) {
                return Upstream::Limited(why.clone());
            }
            if is_length_limit(&e) {
                return Upstream::ClientBody(GatewayError::body_too_large(limit).closing());
            }
            if let Some(t) = body_timeout_of(&e) {
                return Upstream::ClientBody(GatewayError::body_timeout(t.0));
            }
            Upstream::Unavailable(failure(&e))
        }
        Ok(Ok((response, permit))) => {
            let elapsed = started.elapsed();
            let (mut parts, body) = response.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            let body = if body.is_end_stream() {
                crate::body::empty()
            } else if permit.is_some() {
                Permitted { body, permit }.map_err(Into::into).boxed()
            } else {
                body.map_err(Into::into).boxed()
            };
            Upstream::Answered(Response::from_parts(parts, body), elapsed)
        }
    }
}

fn body_error(e: &(dyn std::error::Error + 'static), limit: u64) -> GatewayError {
    if is_length_limit(e) {
        GatewayError::body_too_large(limit).closing()
    } else if let Some(t) = body_timeout_of(e) {
        GatewayError::body_timeout(t.0)
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

/// A backend's response body holding its request's place under the host's limit until it ends.
struct Permitted {
    body: BackendBody,
    permit: Option<RequestPermit>,
}

impl HttpBody for Permitted {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let frame = std::pin::Pin::new(&mut this.body).poll_frame(cx);
        if matches!(frame, std::task::Poll::Ready(None | Some(Err(_)))) || this.body.is_end_stream() {
            this.permit = None;
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_addresses_are_written_as_display_writes_them() {
        for ip in ["0.0.0.0", "127.0.0.1", "10.20.100.255", "1.2.3.4", "::1", "2001:db8::8a2e:370:7334"] {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            let mut out = Vec::new();
            write_ip(&mut out, ip);
            assert_eq!(String::from_utf8(out).unwrap(), ip.to_string());
        }
    }
}
