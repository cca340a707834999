//! Forwarding to the backend: the upstream request head (hop-by-hop and client `X-Apig-*` headers
//! removed, raw path and query kept, `X-Forwarded-*` and `X-Request-Id` set), pooled connections,
//! the per-API timeout, and bodies streamed both ways.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::http::uri::{Authority, PathAndQuery, Scheme};
use hyper::{Request, Response, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::body::{Body, BoxError, ForwardBody, body_timeout_of};
use crate::context::BackendOutcome;
use crate::echo;
use crate::error::GatewayError;
use crate::routing::{ApiRoute, BackendTarget};

/// How long an idle backend connection is kept for reuse.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Idle connections kept per backend `host:port`.
const POOL_MAX_IDLE_PER_HOST: usize = 512;
/// Time allowed to open a backend connection (the API's timeout applies too).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The HTTP/1 client to backends: keep-alive connections pooled per `host:port`. Each worker has
/// its own (cheap to clone: one shared pool); a connection is handed back to the pool when the
/// backend's response body has been read to its end, and reused most-recently-idle first.
#[derive(Clone, Default)]
pub struct HttpClient {
    idle: Arc<Mutex<HashMap<String, Vec<IdleConnection>>>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient").finish_non_exhaustive()
    }
}

struct IdleConnection {
    sender: SendRequest<ForwardBody>,
    since: Instant,
}

/// A client with an empty connection pool.
pub fn client() -> HttpClient {
    HttpClient::default()
}

/// Why a request to a backend failed.
enum SendError {
    /// The connection could not be opened.
    Connect,
    /// The request failed on an open connection.
    Request(hyper::Error),
}

impl HttpClient {
    /// An idle, still open connection to `authority`, most recently used first.
    fn checkout(&self, authority: &str) -> Option<SendRequest<ForwardBody>> {
        let mut idle = self.idle.lock().ok()?;
        let list = idle.get_mut(authority)?;
        while let Some(c) = list.pop() {
            if !c.sender.is_closed() && c.since.elapsed() < POOL_IDLE_TIMEOUT {
                return Some(c.sender);
            }
        }
        None
    }

    /// Hands a connection whose exchange is complete back to the pool.
    fn checkin(&self, authority: &Authority, sender: SendRequest<ForwardBody>) {
        if sender.is_closed() {
            return;
        }
        let Ok(mut idle) = self.idle.lock() else { return };
        let now = Instant::now();
        let list = match idle.get_mut(authority.as_str()) {
            Some(list) => list,
            None => idle.entry(authority.as_str().to_owned()).or_default(),
        };
        // the oldest are at the front: drop those idle too long, and the excess
        let expired = list.iter().take_while(|c| now.duration_since(c.since) >= POOL_IDLE_TIMEOUT).count();
        let excess = (list.len() - expired + 1).saturating_sub(POOL_MAX_IDLE_PER_HOST);
        list.drain(..expired + excess);
        list.push(IdleConnection { sender, since: now });
    }

    /// Opens a connection to `authority` and spawns the task that drives it.
    async fn connect(authority: &Authority) -> Result<SendRequest<ForwardBody>, SendError> {
        let addr = (authority.host().trim_start_matches('[').trim_end_matches(']'), authority.port_u16().unwrap_or(80));
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => stream,
            _ => return Err(SendError::Connect),
        };
        let _ = stream.set_nodelay(true);
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(SendError::Request)?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }

    /// Sends `request` (absolute URI) on a pooled or new connection. A request that a reused
    /// connection closed before sending it is retried on the next one (or a new one).
    async fn request(&self, mut request: Request<ForwardBody>) -> Result<Response<Body>, SendError> {
        let authority = request.uri().authority().cloned().ok_or(SendError::Connect)?;
        if !request.headers().contains_key(header::HOST) {
            // as a browser would: the port only when it is not the default
            let host = match authority.port_u16() {
                Some(80) => HeaderValue::from_str(authority.host()),
                _ => HeaderValue::from_str(authority.as_str()),
            };
            if let Ok(host) = host {
                request.headers_mut().insert(header::HOST, host);
            }
        }
        let origin_form = request.uri().path_and_query().cloned().map_or_else(|| Uri::from_static("/"), Uri::from);
        *request.uri_mut() = origin_form;
        loop {
            let (mut sender, reused) = match self.checkout(authority.as_str()) {
                Some(sender) => (sender, true),
                None => (Self::connect(&authority).await?, false),
            };
            if reused && sender.ready().await.is_err() {
                continue; // closed meanwhile: the next one
            }
            // a backend may close an idle connection just as it is reused: the request goes out
            // and no answer comes back; an idempotent request with a replayable body is then sent
            // again on another connection (as nginx and Go's client do)
            let replay = if reused { replayable(&request) } else { None };
            match sender.try_send_request(request).await {
                Ok(response) => {
                    let (parts, body) = response.into_parts();
                    if body.is_end_stream() {
                        self.checkin(&authority, sender);
                        return Ok(Response::from_parts(parts, crate::body::empty()));
                    }
                    let body = PooledBody { body, release: Some((self.clone(), authority, sender)) };
                    return Ok(Response::from_parts(parts, body.boxed()));
                }
                Err(mut e) => match (e.take_message(), replay) {
                    (Some(unsent), _) if reused => request = unsent,
                    (_, Some(copy)) if closed_before_answer(e.error()) => request = copy,
                    _ => return Err(SendError::Request(e.into_error())),
                },
            }
        }
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

/// Whether the connection ended without any answer: closed, or reset by the backend.
fn closed_before_answer(error: &hyper::Error) -> bool {
    if error.is_incomplete_message() || error.is_closed() {
        return true;
    }
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return matches!(io.kind(), std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe);
        }
        source = e.source();
    }
    false
}

/// A backend's response body; its connection goes back to the pool once the body has ended
/// (a body dropped before its end takes the connection with it).
struct PooledBody {
    body: Incoming,
    release: Option<(HttpClient, Authority, SendRequest<ForwardBody>)>,
}

impl PooledBody {
    fn release(&mut self) {
        if let Some((client, authority, sender)) = self.release.take() {
            client.checkin(&authority, sender);
        }
    }
}

impl HttpBody for PooledBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(None) => {
                this.release();
                Poll::Ready(None)
            }
            Poll::Ready(Some(Ok(frame))) => {
                if this.body.is_end_stream() {
                    this.release();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.release = None;
                Poll::Ready(Some(Err(Box::new(e))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
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
        BackendTarget::Http { authority, base_path, .. } if base_path.is_empty() => {
            let mut uri = hyper::http::uri::Parts::default();
            uri.scheme = Some(Scheme::HTTP);
            uri.authority = Some(authority.clone());
            uri.path_and_query = Some(target);
            Uri::from_parts(uri).map_err(|e| e.to_string())
        }
        BackendTarget::Http { origin, base_path, .. } => {
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
    let ip = remote.ip();
    let forwarded_for = match request_headers.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(prior) if !prior.trim().is_empty() => format!("{prior}, {ip}"),
        _ => ip.to_string(),
    };
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

    if api.backend == BackendTarget::Echo
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
    /// The client's body failed on the way (too large, too slow, broken): the error to answer.
    ClientBody(GatewayError),
}

impl Upstream {
    /// The outcome policies and the access log see.
    pub fn outcome(&self) -> BackendOutcome {
        match self {
            Self::Answered(response, took) => BackendOutcome::Answered(response.status().as_u16(), *took),
            Self::TimedOut(_) => BackendOutcome::TimedOut,
            Self::Unavailable(_) => BackendOutcome::Unavailable,
            Self::ClientBody(_) => BackendOutcome::Abandoned,
        }
    }

    /// The backend's response, or the APIG error that answers the client instead.
    ///
    /// # Errors
    /// `APIG.0203` 504 on timeout, `APIG.0202` 502 when the backend is unavailable, the client's
    /// body error (`APIG.0201` 400/408/413).
    pub fn into_response(self) -> Result<Response<Body>, GatewayError> {
        match self {
            Self::Answered(response, _) => Ok(response),
            Self::TimedOut(timeout) => Err(GatewayError::backend_timeout(timeout.as_millis())),
            Self::Unavailable(what) => Err(GatewayError::backend_unavailable(what)),
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
    if api.backend == BackendTarget::Echo {
        let (parts, body) = request.into_parts();
        return match body.collect_bytes().await {
            Ok(bytes) => Upstream::Answered(echo::respond(&Request::from_parts(parts, ()), &bytes), started.elapsed()),
            Err(e) => Upstream::ClientBody(body_error(&*e, limit)),
        };
    }
    match tokio::time::timeout(api.timeout, client.request(request)).await {
        Err(_) => Upstream::TimedOut(api.timeout),
        Ok(Err(SendError::Connect)) => Upstream::Unavailable("connection failed"),
        Ok(Err(SendError::Request(e))) => {
            if is_length_limit(&e) {
                return Upstream::ClientBody(GatewayError::body_too_large(limit).closing());
            }
            if let Some(t) = body_timeout_of(&e) {
                return Upstream::ClientBody(GatewayError::body_timeout(t.0));
            }
            Upstream::Unavailable("request failed")
        }
        Ok(Ok(response)) => {
            let elapsed = started.elapsed();
            let (mut parts, body) = response.into_parts();
            strip_hop_by_hop(&mut parts.headers);
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
