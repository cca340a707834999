//! The one HTTP client stack for everything the gateway calls: backends, upstream servers and
//! their health checks, the third-party authorizer. A lean pool over hyper's connection API
//! (`hyper::client::conn::{http1, http2}`), connecting with hyper-rustls (rustls on `ring`: no C
//! build dependency): HTTP/1.1, and HTTP/2 when a TLS backend offers `h2` by ALPN (one multiplexed
//! connection per host).
//!
//! The pool keeps, per scheme and `host:port` (a foldhash map), a stack of idle HTTP/1.1
//! connections, most recently used first, and the host's HTTP/2 connection. An HTTP/1.1
//! connection goes back to the pool when its response body ends (no task per request); a
//! connection that is closed, idle longer than [`POOL_IDLE_TIMEOUT`] or opened under a per-host
//! limit a reload has replaced is never handed out. Each connection has one task, which drives
//! it and holds its place under the per-host connection limit of [`crate::backend_limit`]
//! ([`backend_limit::connection_permit`]) as long as it lives. At most [`POOL_MAX_IDLE_PER_HOST`]
//! idle connections are kept per host; a sweep every [`SWEEP_INTERVAL`] closes those idle too
//! long. A request that a reused connection could not send (closed before any byte went out) is
//! sent again on another, as hyper-util's pooled client does.
//!
//! TLS settings ([`BackendTls`]) are per backend or upstream: the system's root certificates by
//! default, or a CA bundle (PEM file); certificate verification can be turned off only explicitly
//! (`insecure_skip_verify`), and is then logged at load as a warning. The server name sent (SNI)
//! and verified is the backend URL's host. One client, with its own pool, is made per distinct
//! TLS settings and kept for the life of the process, so a reload keeps the connections.
//!
//! This replaced hyper-util's legacy pooled client (2026-12-08): its pool key's SipHash (three
//! times a request), the task it spawned per request to take the connection back and its checkout
//! machinery cost ~9 500 instructions a request more than this pool (`gateway-ref/bench/
//! request_path.sh`: signed GET 87 200 → 77 700, 1 KiB POST 159 000 → 148 600).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper::client::conn::{http1, http2};
use hyper::header::{self, HeaderValue};
use hyper::http::uri::{PathAndQuery, Scheme};
use hyper::rt::{Read, Write};
use hyper::{Request, Response, Uri};
use hyper_rustls::{ConfigBuilderExt as _, HttpsConnector};
use hyper_util::client::legacy::connect::{Connection, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::ClientConfig;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::sync::OwnedSemaphorePermit;
use tower_service::Service as _;

use crate::backend_limit::{self, Stamp};
use crate::body::{BoxError, ForwardBody};
use crate::config::BackendTls;

/// How long an idle backend connection is kept for reuse.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Idle connections kept per backend `host:port`.
pub const POOL_MAX_IDLE_PER_HOST: usize = 512;
/// How often a pool closes the connections idle longer than [`POOL_IDLE_TIMEOUT`].
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(15);
/// Time allowed to open a backend connection (the API's timeout applies too).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A pooled client for `http://` and, with TLS settings, `https://` backends. Cheap to clone
/// (one shared pool).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// The client for `http://` URLs only.
pub type PlainClient = Client;
/// A client for `https://` (and `http://`) URLs with one TLS configuration.
pub type TlsClient = Client;

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

/// How connections are opened.
enum Connector {
    Plain(HttpConnector),
    Tls(HttpsConnector<HttpConnector>),
}

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

struct Inner {
    connector: Connector,
    /// The hosts' pools: `http://` ones, then `https://` ones, by `host:port`.
    hosts: Mutex<[FastMap<Box<str>, Arc<HostPool>>; 2]>,
    /// Whether the idle sweep runs.
    sweeping: AtomicBool,
}

/// One host's connections.
#[derive(Default)]
struct HostPool {
    state: Mutex<HostState>,
}

#[derive(Default)]
struct HostState {
    /// Idle HTTP/1.1 connections, the most recently used last.
    idle: Vec<Idle>,
    /// The host's HTTP/2 connection, shared by its requests.
    h2: Option<(http2::SendRequest<ForwardBody>, Stamp)>,
}

struct Idle {
    sender: http1::SendRequest<ForwardBody>,
    stamp: Stamp,
    since: Instant,
}

/// The TCP connector every client uses: `TCP_NODELAY`, a connect timeout.
fn tcp(connect_timeout: Duration) -> HttpConnector {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect_timeout));
    http.enforce_http(false);
    http
}

/// A pooled client over plain TCP (`http://` URLs).
pub fn plain(connect_timeout: Duration) -> PlainClient {
    let mut http = tcp(connect_timeout);
    http.enforce_http(true);
    Client::new(Connector::Plain(http))
}

/// A pooled client for `https://` and `http://` URLs, verifying servers as `tls` says.
///
/// # Errors
/// When the CA bundle cannot be read or holds no certificate, or the system roots cannot be loaded.
pub fn tls(tls: &BackendTls, connect_timeout: Duration) -> Result<TlsClient, String> {
    let config = client_config(tls)?;
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_all_versions()
        .wrap_connector(tcp(connect_timeout));
    Ok(Client::new(Connector::Tls(https)))
}

/// Why a request got no response head.
#[derive(Debug)]
pub enum Error {
    /// No connection could be opened (TCP, TLS, or the host's connection limit:
    /// [`crate::backend_limit::LimitError`] in the source).
    Connect(BoxError),
    /// The exchange failed on an open connection.
    Request(hyper::Error),
}

impl Error {
    /// Whether no connection could be opened.
    pub fn is_connect(&self) -> bool {
        matches!(self, Self::Connect(_))
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connect(e) => write!(f, "client error (Connect): {e}"),
            Self::Request(e) => write!(f, "client error (SendRequest): {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Connect(e) => Some(&**e),
            Self::Request(e) => Some(e),
        }
    }
}

/// A connection checked out for one request.
enum Checked {
    H1(http1::SendRequest<ForwardBody>, Stamp),
    H2(http2::SendRequest<ForwardBody>),
}

impl Client {
    fn new(connector: Connector) -> Self {
        Self {
            inner: Arc::new(Inner {
                connector,
                hosts: Mutex::new([FastMap::default(), FastMap::default()]),
                sweeping: AtomicBool::new(false),
            }),
        }
    }

    /// The pool of `uri`'s scheme and `host:port`.
    fn host(&self, uri: &Uri) -> Option<Arc<HostPool>> {
        let authority = uri.authority()?.as_str();
        let scheme = usize::from(uri.scheme() == Some(&Scheme::HTTPS));
        let mut hosts = self.inner.hosts.lock().ok()?;
        if let Some(host) = hosts[scheme].get(authority) {
            return Some(Arc::clone(host));
        }
        let host = Arc::new(HostPool::default());
        hosts[scheme].insert(authority.into(), Arc::clone(&host));
        Some(host)
    }

    /// Sends `request` (absolute URI) on a pooled or new connection; its response body hands the
    /// connection back when it ends. A request a reused connection could not send goes out on
    /// the next one (or a new one).
    ///
    /// # Errors
    /// When no connection could be opened, or the exchange failed before a response head.
    pub async fn send(&self, mut request: Request<ForwardBody>) -> Result<Response<BackendBody>, Error> {
        let host = self.host(request.uri()).ok_or_else(|| Error::Connect("the URL has no host".into()))?;
        let uri = request.uri().clone();
        loop {
            let (checked, reused) = match host.checkout(&uri) {
                Some(checked) => (checked, true),
                // boxed: the handshakes' futures would make every request's future (moved
                // whole by hyper's server) kilobytes larger
                None => (Box::pin(self.connect(&host, &uri)).await?, false),
            };
            match checked {
                Checked::H1(mut sender, stamp) => {
                    if reused && sender.ready().await.is_err() {
                        continue; // closed meanwhile: the next one
                    }
                    if request.uri().scheme().is_some() {
                        origin_form(&mut request);
                    }
                    match sender.try_send_request(request).await {
                        Ok(response) => {
                            let (parts, body) = response.into_parts();
                            let release = Some(Release { host, sender, stamp, uri });
                            let mut body = BackendBody { body, release };
                            if body.body.is_end_stream() {
                                body.release();
                            }
                            return Ok(Response::from_parts(parts, body));
                        }
                        Err(mut e) => match e.take_message() {
                            Some(unsent) if reused => request = with_uri(unsent, &uri),
                            _ => return Err(Error::Request(e.into_error())),
                        },
                    }
                }
                Checked::H2(mut sender) => match sender.try_send_request(request).await {
                    Ok(response) => {
                        let (parts, body) = response.into_parts();
                        return Ok(Response::from_parts(parts, BackendBody { body, release: None }));
                    }
                    Err(mut e) => match e.take_message() {
                        Some(unsent) if reused => {
                            host.forget_h2();
                            request = unsent;
                        }
                        _ => return Err(Error::Request(e.into_error())),
                    },
                },
            }
        }
    }

    /// Opens a connection to `uri`'s host under its connection limit, and spawns its task.
    async fn connect(&self, host: &Arc<HostPool>, uri: &Uri) -> Result<Checked, Error> {
        let (permit, stamp) = backend_limit::connection_permit(uri).await.map_err(|e| Error::Connect(e.into()))?;
        self.start_sweeping();
        match &self.inner.connector {
            Connector::Plain(c) => {
                let io = c.clone().call(uri.clone()).await.map_err(|e| Error::Connect(e.into()))?;
                handshake(host, io, permit, stamp).await
            }
            Connector::Tls(c) => {
                let io = c.clone().call(uri.clone()).await.map_err(Error::Connect)?;
                handshake(host, io, permit, stamp).await
            }
        }
    }

    /// Starts the sweep of idle connections (once, from within the runtime).
    fn start_sweeping(&self) {
        if self.inner.sweeping.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = Arc::downgrade(&self.inner);
        tokio::spawn(sweep(inner));
    }
}

/// Closes, every [`SWEEP_INTERVAL`], the idle connections idle longer than [`POOL_IDLE_TIMEOUT`]
/// or closed, until the client is dropped.
async fn sweep(inner: Weak<Inner>) {
    loop {
        tokio::time::sleep(SWEEP_INTERVAL).await;
        let Some(inner) = inner.upgrade() else { return };
        let hosts: Vec<Arc<HostPool>> = match inner.hosts.lock() {
            Ok(hosts) => hosts.iter().flat_map(|m| m.values().cloned()).collect(),
            Err(_) => return,
        };
        let now = Instant::now();
        for host in hosts {
            if let Ok(mut state) = host.state.lock() {
                state.idle.retain(|c| !c.sender.is_closed() && now.duration_since(c.since) < POOL_IDLE_TIMEOUT);
                if state.h2.as_ref().is_some_and(|(s, _)| s.is_closed()) {
                    state.h2 = None;
                }
            }
        }
    }
}

/// The HTTP/1.1 or HTTP/2 handshake on a new connection (HTTP/2 when TLS negotiated `h2`), and
/// the connection's task, which holds its limit's `permit` while the connection lives.
async fn handshake<I>(
    host: &Arc<HostPool>,
    io: I,
    permit: Option<OwnedSemaphorePermit>,
    stamp: Stamp,
) -> Result<Checked, Error>
where
    I: Read + Write + Connection + Unpin + Send + 'static,
{
    if io.connected().is_negotiated_h2() {
        let (sender, connection) = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .handshake(io)
            .await
            .map_err(|e| Error::Connect(e.into()))?;
        tokio::spawn(async move {
            let _permit = permit;
            let _ = connection.await;
        });
        if let Ok(mut state) = host.state.lock() {
            state.h2 = Some((sender.clone(), stamp));
        }
        return Ok(Checked::H2(sender));
    }
    let (sender, connection) = http1::handshake(io).await.map_err(|e| Error::Connect(e.into()))?;
    tokio::spawn(async move {
        let _permit = permit;
        let _ = connection.await;
    });
    Ok(Checked::H1(sender, stamp))
}

impl HostPool {
    /// The host's open HTTP/2 connection, else its most recently idle open HTTP/1.1 one.
    fn checkout(&self, uri: &Uri) -> Option<Checked> {
        let mut state = self.state.lock().ok()?;
        if let Some((sender, stamp)) = &state.h2 {
            if !sender.is_closed() && stamp.current(uri) {
                return Some(Checked::H2(sender.clone()));
            }
            state.h2 = None;
        }
        while let Some(c) = state.idle.pop() {
            if !c.sender.is_closed() && c.since.elapsed() < POOL_IDLE_TIMEOUT && c.stamp.current(uri) {
                return Some(Checked::H1(c.sender, c.stamp));
            }
        }
        None
    }

    /// Hands an HTTP/1.1 connection whose exchange is complete back.
    fn checkin(&self, uri: &Uri, sender: http1::SendRequest<ForwardBody>, stamp: Stamp) {
        if sender.is_closed() || !stamp.current(uri) {
            return;
        }
        let Ok(mut state) = self.state.lock() else { return };
        let now = Instant::now();
        // the oldest are first: drop those idle too long, and the excess
        let expired = state.idle.iter().take_while(|c| now.duration_since(c.since) >= POOL_IDLE_TIMEOUT).count();
        let excess = (state.idle.len() - expired + 1).saturating_sub(POOL_MAX_IDLE_PER_HOST);
        state.idle.drain(..expired + excess);
        state.idle.push(Idle { sender, stamp, since: now });
    }

    /// Forgets the host's HTTP/2 connection (it refused a new stream: going away).
    fn forget_h2(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.h2 = None;
        }
    }
}

/// `request` with its URI in origin form and a `Host` header (the URI's host, and its port
/// when not the scheme's default), as HTTP/1.1 sends it.
fn origin_form(request: &mut Request<ForwardBody>) {
    let uri = request.uri();
    if !request.headers().contains_key(header::HOST)
        && let Some(authority) = uri.authority()
    {
        let default_port = if uri.scheme() == Some(&Scheme::HTTPS) { 443 } else { 80 };
        let host = match authority.port_u16() {
            Some(port) if port != default_port => HeaderValue::from_str(authority.as_str()),
            _ => HeaderValue::from_str(authority.host()),
        };
        if let Ok(host) = host {
            request.headers_mut().insert(header::HOST, host);
        }
    }
    let target = request.uri().path_and_query().cloned().unwrap_or_else(|| PathAndQuery::from_static("/"));
    *request.uri_mut() = Uri::from(target);
}

/// `request` with its absolute URI back (to go out on an HTTP/2 connection after all).
fn with_uri(mut request: Request<ForwardBody>, uri: &Uri) -> Request<ForwardBody> {
    *request.uri_mut() = uri.clone();
    request
}

/// What hands an HTTP/1.1 connection back to its host's pool.
struct Release {
    host: Arc<HostPool>,
    sender: http1::SendRequest<ForwardBody>,
    stamp: Stamp,
    uri: Uri,
}

/// A backend's response body; an HTTP/1.1 connection goes back to the pool once the body has
/// ended (a body dropped before its end, or failing, takes the connection with it).
pub struct BackendBody {
    body: Incoming,
    release: Option<Release>,
}

impl std::fmt::Debug for BackendBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendBody").finish_non_exhaustive()
    }
}

impl BackendBody {
    fn release(&mut self) {
        if let Some(Release { host, sender, stamp, uri }) = self.release.take() {
            host.checkin(&uri, sender, stamp);
        }
    }
}

impl HttpBody for BackendBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        let frame = Pin::new(&mut this.body).poll_frame(cx);
        match &frame {
            Poll::Ready(None) => this.release(),
            Poll::Ready(Some(Ok(_))) if this.body.is_end_stream() => this.release(),
            Poll::Ready(Some(Err(_))) => this.release = None,
            _ => {}
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The crypto provider: rustls on `ring`.
fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    Arc::clone(PROVIDER.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider())))
}

/// The rustls client configuration of `tls` (ALPN is set by the connector: `h2`, `http/1.1`).
fn client_config(tls: &BackendTls) -> Result<ClientConfig, String> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    if tls.insecure_skip_verify {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
            .with_no_client_auth());
    }
    let builder = match &tls.ca_file {
        None => {
            builder.with_native_roots().map_err(|e| format!("TLS: cannot load the system's root certificates: {e}"))?
        }
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            let shown = path.display();
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("tls.ca_file {shown}: {e}"))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("tls.ca_file {shown}: {e}"))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!("tls.ca_file {shown}: no usable CA certificate in the file"));
            }
            builder.with_root_certificates(roots)
        }
    };
    Ok(builder.with_no_client_auth())
}

/// The clients made so far, one per distinct TLS settings: backends sharing settings share a
/// pool, and a reload keeps it.
fn cache() -> &'static Mutex<HashMap<BackendTls, Arc<TlsClient>>> {
    static CACHE: OnceLock<Mutex<HashMap<BackendTls, Arc<TlsClient>>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// The backend client for `tls` (made once per distinct settings).
///
/// # Errors
/// As [`tls`].
pub fn for_backend(settings: &BackendTls) -> Result<Arc<TlsClient>, String> {
    if let Some(client) = cache().lock().ok().and_then(|c| c.get(settings).cloned()) {
        return Ok(client);
    }
    let client = Arc::new(tls(settings, CONNECT_TIMEOUT)?);
    if let Ok(mut cache) = cache().lock() {
        cache.insert(settings.clone(), Arc::clone(&client));
    }
    Ok(client)
}

/// `insecure_skip_verify`: any certificate is accepted (the handshake's signatures are still
/// checked, so the session is encrypted, but not to a verified peer).
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
