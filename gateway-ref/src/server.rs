//! Listeners: the API listener and the TLS listener (one accept loop each per worker, the
//! connection cap, the TLS handshake with its timeout, HTTP/1.1 or HTTP/2 by ALPN, h2c when asked)
//! hand each request to [`crate::request_path`]; the admin listener, the status listener
//! ([`crate::status`]) and the reloader are started beside them.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, Result};
use apig::{Clock, FixedClock, SystemClock};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use ipnet::IpNet;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::access_log::{AccessLog, LogTarget};
use crate::config::{CertificateFiles, ConfigFile};
use crate::error::GatewayError;
use crate::metrics::Metrics;
use crate::proxy;
use crate::routing::Runtime;
use crate::shared::{ConnectionSlot, Shared};
use crate::tls::{SelfSigned, TlsFront, Transport};
use crate::{admin, reload, request_path, status, tls};

/// Where the configuration comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// The embedded demo.
    Demo,
    /// A file (`.json` or `.toml`), reloaded on change and on SIGHUP, written by the admin API.
    File(PathBuf),
}

/// The admin listener.
#[derive(Debug, Clone)]
pub struct AdminOptions {
    /// Loopback address to listen on.
    pub listen: SocketAddr,
    /// The bearer token every admin request must carry.
    pub token: String,
}

/// How to run a gateway.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// Address of the API listener.
    pub listen: SocketAddr,
    /// The configuration.
    pub config: ConfigSource,
    /// Test only: verify signatures against this instant instead of the system clock.
    pub fixed_clock: Option<SystemTime>,
    /// The admin API (needs a config file).
    pub admin: Option<AdminOptions>,
    /// The status listener's address (`GET /metrics`, `/healthz`, `/readyz`; any address: it
    /// exposes no secret and no action). `None`: no status listener, and no metrics are counted.
    pub status: Option<SocketAddr>,
    /// The access log.
    pub access_log: LogTarget,
    /// How often the config file is checked for changes (`None`: only on SIGHUP).
    pub watch_interval: Option<Duration>,
    /// Time a client has to send a request head (slow-header protection), on the API and the admin
    /// listeners.
    pub header_read_timeout: Duration,
    /// Worker threads, each a single-threaded runtime with its own accept loop and backend
    /// connection pool, so a request and its backend call stay on one thread (like nginx workers);
    /// with several, each connection goes to the next worker in turn, whichever accepted it.
    /// `0` (the default): serve on the caller's runtime.
    pub workers: usize,
    /// Address of the TLS listener (certificates by SNI from the config; the demo generates a
    /// self-signed one), HTTP/2 or HTTP/1.1 by ALPN.
    pub listen_tls: Option<SocketAddr>,
    /// HTTP/2 without TLS (h2c, prior knowledge) on the plain listener, besides HTTP/1.1.
    pub h2c: bool,
    /// Client networks the admin listener answers (any other gets 403); empty: every client, and
    /// the admin listener must be on a loopback address.
    pub admin_allow: Vec<IpNet>,
    /// A certificate and key for the admin listener: it then speaks HTTPS only.
    pub admin_tls: Option<CertificateFiles>,
}

impl GatewayOptions {
    /// Options for `config` on `listen`, everything else default.
    pub fn new(listen: SocketAddr, config: ConfigSource) -> Self {
        Self {
            listen,
            config,
            fixed_clock: None,
            admin: None,
            status: None,
            access_log: LogTarget::Stdout,
            watch_interval: Some(Duration::from_secs(1)),
            header_read_timeout: Duration::from_secs(10),
            workers: 0,
            listen_tls: None,
            h2c: false,
            admin_allow: Vec::new(),
            admin_tls: None,
        }
    }
}

/// Responses are written from one buffer (the head, then the body copied after it: one `write`)
/// rather than queued as separate buffers for one `writev`: ~500 fewer instructions per GET (0.6 %),
/// ~800 per 1 KiB POST, measured with `gateway-ref/bench/request_path.sh` (three runs each).
const WRITEV: bool = false;

/// Request headers hyper parses before the gateway sees the head: well above the 256 the gateway
/// allows, so that more get APIG's `494` rather than hyper's empty `431`. hyper allocates two
/// arrays of this many 32-byte slots for every request; at 2048 each is 64 KiB, the largest size
/// mimalloc serves from its fast (medium) pages, hence not more. A head with more headers still
/// gets hyper's `431` (docs/gateway.md, "Framing limits").
const MAX_PARSED_HEADERS: usize = 2048;
/// Connections over `gateway.max_connections` being answered at once; beyond, they are closed
/// without an answer.
const MAX_REFUSING: usize = 256;
/// HTTP/2 streams open at once on one connection (nginx's `http2_max_concurrent_streams`).
pub const H2_MAX_CONCURRENT_STREAMS: u32 = 128;
/// Largest HTTP/2 header list (decoded, as RFC 9113 counts it), as the HTTP/1.1 head buffer.
pub const H2_MAX_HEADER_LIST_BYTES: u32 = 512 * 1024;
/// HTTP/2 streams a client may open and reset before the server accepted them (the "rapid
/// reset" attack, CVE-2023-44487): then the connection is closed with `ENHANCE_YOUR_CALM`.
pub const H2_MAX_PENDING_ACCEPT_RESETS: usize = 20;
/// HTTP/2 streams the server may reset for a client's protocol errors before it closes the
/// connection (CVE-2024-27316 and the like).
pub const H2_MAX_LOCAL_ERROR_RESETS: usize = 256;

/// How a listener's connections speak HTTP.
#[derive(Clone)]
enum Protocols {
    /// HTTP/1.1 only (the plain listener without h2c).
    Http1(http1::Builder),
    /// HTTP/1.1 or HTTP/2, by the client's preface (TLS with ALPN, h2c).
    Auto(auto::Builder<TokioExecutor>),
}

impl Protocols {
    fn http1(header_read_timeout: Duration) -> http1::Builder {
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout)
            .max_buf_size(512 * 1024)
            .max_headers(MAX_PARSED_HEADERS)
            .writev(WRITEV)
            .keep_alive(true);
        builder
    }

    /// HTTP/1.1 as [`Protocols::http1`] and HTTP/2 with explicit limits against abuse.
    fn auto(header_read_timeout: Duration) -> auto::Builder<TokioExecutor> {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout)
            .max_buf_size(512 * 1024)
            .max_headers(MAX_PARSED_HEADERS)
            .writev(WRITEV)
            .keep_alive(true);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(H2_MAX_CONCURRENT_STREAMS)
            .max_header_list_size(H2_MAX_HEADER_LIST_BYTES)
            .max_pending_accept_reset_streams(H2_MAX_PENDING_ACCEPT_RESETS)
            .max_local_error_reset_streams(H2_MAX_LOCAL_ERROR_RESETS)
            // a connection whose client stops answering pings is closed
            .keep_alive_interval(Duration::from_secs(60))
            .keep_alive_timeout(Duration::from_secs(20));
        builder
    }
}

/// Drives a connection future until it ends or `stop`, then lets its current requests finish.
macro_rules! drive {
    ($conn:expr, $stop:ident) => {{
        let conn = $conn;
        tokio::pin!(conn);
        tokio::select! {
            _ = conn.as_mut() => {}
            _ = $stop.changed() => {
                conn.as_mut().graceful_shutdown();
                let _ = conn.await;
            }
        }
    }};
}

/// Serves one connection (`io`) with the listener's protocols until it ends or `stop`.
macro_rules! serve {
    ($io:expr, $protocols:expr, $service:expr, $stop:ident) => {
        match $protocols {
            Protocols::Http1(builder) => drive!(builder.serve_connection($io, $service), $stop),
            Protocols::Auto(builder) => drive!(builder.serve_connection($io, $service), $stop),
        }
    };
}

/// One listener's kind: plain or TLS, and how it speaks HTTP.
#[derive(Clone)]
struct ListenerKind {
    protocols: Protocols,
    transport: Transport,
}
/// A bound, not yet running gateway.
#[derive(Debug)]
pub struct Gateway {
    shared: Arc<Shared>,
    listener: TcpListener,
    tls_listener: Option<TcpListener>,
    self_signed: Option<SelfSigned>,
    h2c: bool,
    admin: Option<(TcpListener, String)>,
    admin_access: admin::Access,
    status: Option<TcpListener>,
    watch_interval: Option<Duration>,
    header_read_timeout: Duration,
    workers: usize,
}

impl Gateway {
    /// Loads the configuration and binds the listeners.
    ///
    /// # Errors
    /// An invalid configuration (with its position; a certificate or key that cannot be used
    /// names the file and why), an address in use, a non-loopback admin address without an
    /// allow-list, an admin API without a config file, an access-log file that cannot be opened,
    /// a TLS listener with no certificate configured (outside the demo).
    pub async fn bind(options: GatewayOptions) -> Result<Self> {
        let (source, path) = match &options.config {
            ConfigSource::Demo => (ConfigFile::demo()?, None),
            ConfigSource::File(path) => (ConfigFile::load(path)?, Some(path.clone())),
        };
        let shown = path.clone().unwrap_or_else(|| PathBuf::from("<demo>"));
        let mut runtime = Runtime::compile(source, &shown)?;
        let mut self_signed = None;
        if options.listen_tls.is_some() && !runtime.tls.has_certificates() {
            anyhow::ensure!(
                path.is_none(),
                "--listen-tls needs a certificate in {}: groups[].certificates or gateway.tls.default_certificate",
                shown.display()
            );
            // the demo: a self-signed certificate made now
            let generated = tls::self_signed(&["localhost", "127.0.0.1"]).map_err(anyhow::Error::msg)?;
            runtime.tls = Arc::new(
                TlsFront::with_default(&runtime.source, generated.certified.clone()).map_err(anyhow::Error::msg)?,
            );
            self_signed = Some(generated);
        }
        let clock: Arc<dyn Clock> = match options.fixed_clock {
            Some(t) => Arc::new(FixedClock(t)),
            None => Arc::new(SystemClock),
        };
        let log = AccessLog::open(&options.access_log).context("cannot open the access log")?;
        let listener =
            TcpListener::bind(options.listen).await.with_context(|| format!("cannot listen on {}", options.listen))?;
        let tls_listener = match options.listen_tls {
            None => None,
            Some(addr) => {
                Some(TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr} (TLS)"))?)
            }
        };
        let admin_tls = match &options.admin_tls {
            None => None,
            Some(files) => Some(tls::single_certificate(&files.cert, &files.key).map_err(anyhow::Error::msg)?),
        };
        let admin = match &options.admin {
            None => None,
            Some(a) => {
                anyhow::ensure!(
                    a.listen.ip().is_loopback() || !options.admin_allow.is_empty(),
                    "the admin API listens on loopback addresses only, unless --admin-allow CIDR names the clients \
                     allowed"
                );
                anyhow::ensure!(path.is_some(), "the admin API needs --config FILE (it persists its changes there)");
                anyhow::ensure!(a.token.len() >= 16, "the admin token must be at least 16 characters");
                let l = TcpListener::bind(a.listen).await.with_context(|| format!("cannot listen on {}", a.listen))?;
                Some((l, a.token.clone()))
            }
        };
        let status = match options.status {
            None => None,
            Some(addr) => {
                Some(TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr} (status)"))?)
            }
        };
        let metrics = status.is_some().then(Metrics::new);
        let shared = Arc::new(Shared::with_metrics(runtime, clock, log, path, metrics));
        Ok(Self {
            shared,
            listener,
            tls_listener,
            self_signed,
            h2c: options.h2c,
            admin,
            admin_access: admin::Access { allow: options.admin_allow.clone(), tls: admin_tls },
            status,
            watch_interval: options.watch_interval,
            header_read_timeout: options.header_read_timeout,
            workers: options.workers,
        })
    }

    /// The API listener's address.
    ///
    /// # Errors
    /// When the socket has no local address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The TLS listener's address, if any.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The self-signed certificate generated for the demo's TLS listener, if any.
    pub fn self_signed(&self) -> Option<&SelfSigned> {
        self.self_signed.as_ref()
    }

    /// The admin listener's address, if any.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    /// The status listener's address, if any.
    pub fn status_addr(&self) -> Option<SocketAddr> {
        self.status.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The shared state.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Serves until `shutdown` completes, then lets open connections finish their current request.
    ///
    /// # Errors
    /// Never in practice (accept errors are logged and retried).
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let stopping = Arc::clone(&self.shared);
        tokio::spawn(async move {
            shutdown.await;
            // not ready from now on (a load balancer stops sending), while open requests finish
            stopping.set_ready(false);
            let _ = stop_tx.send(true);
        });
        if self.shared.config_path.is_some() {
            tokio::spawn(reload::watch(Arc::clone(&self.shared), self.watch_interval, stop_rx.clone()));
        }
        if let Some((listener, token)) = self.admin {
            let (shared, timeout) = (Arc::clone(&self.shared), self.header_read_timeout);
            let access = Arc::new(self.admin_access);
            let api = self.listener.local_addr()?;
            tokio::spawn(admin::serve(listener, Arc::new(token), access, shared, api, timeout, stop_rx.clone()));
        }
        if let Some(listener) = self.status {
            let (shared, timeout) = (Arc::clone(&self.shared), self.header_read_timeout);
            tokio::spawn(status::serve(listener, shared, timeout));
        }
        let https_port = self.tls_listener.as_ref().and_then(|l| l.local_addr().ok()).map(|a| a.port());
        let plain = ListenerKind {
            protocols: if self.h2c {
                Protocols::Auto(Protocols::auto(self.header_read_timeout))
            } else {
                Protocols::Http1(Protocols::http1(self.header_read_timeout))
            },
            transport: Transport { tls: false, https_port },
        };
        let secure = ListenerKind {
            protocols: Protocols::Auto(Protocols::auto(self.header_read_timeout)),
            transport: Transport { tls: true, https_port },
        };
        if self.workers == 0 {
            // the listeners are bound: connections queue until the loops take them
            self.shared.set_ready(!*stop_rx.borrow());
            let client = proxy::client();
            let tls_loop = async {
                if let Some(listener) = self.tls_listener {
                    accept_loop(listener, secure, client.clone(), Arc::clone(&self.shared), stop_rx.clone(), None)
                        .await;
                }
            };
            let plain_loop =
                accept_loop(self.listener, plain, client.clone(), Arc::clone(&self.shared), stop_rx.clone(), None);
            tokio::join!(plain_loop, tls_loop);
            return Ok(());
        }
        let std_listener = self.listener.into_std()?;
        let std_tls_listener = self.tls_listener.map(TcpListener::into_std).transpose()?;
        // one worker serves alone; several take turns at the connections, whoever accepted them
        let spread = self.workers > 1;
        let (plain_spread, mut plain_inboxes) = Spread::new(self.workers);
        let (tls_spread, mut tls_inboxes) = Spread::new(self.workers);
        let mut threads = Vec::new();
        for i in 0..self.workers {
            let listener = std_listener.try_clone()?;
            let tls_listener = std_tls_listener.as_ref().map(std::net::TcpListener::try_clone).transpose()?;
            let (plain, secure) = (plain.clone(), secure.clone());
            let (shared, stop) = (Arc::clone(&self.shared), stop_rx.clone());
            let plain_share =
                spread.then(|| Share { me: i, spread: Arc::clone(&plain_spread), inbox: plain_inboxes.remove(0) });
            let tls_share =
                spread.then(|| Share { me: i, spread: Arc::clone(&tls_spread), inbox: tls_inboxes.remove(0) });
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            threads.push(std::thread::Builder::new().name(format!("apig-worker-{i}")).spawn(move || {
                runtime.block_on(async move {
                    let client = proxy::client();
                    let tls_loop = async {
                        match tls_listener.map(TcpListener::from_std).transpose() {
                            Ok(Some(l)) => {
                                accept_loop(l, secure, client.clone(), Arc::clone(&shared), stop.clone(), tls_share)
                                    .await
                            }
                            Ok(None) => {}
                            Err(e) => eprintln!("apig-gateway: worker {i} cannot listen (TLS): {e}"),
                        }
                    };
                    let plain_loop = async {
                        match TcpListener::from_std(listener) {
                            Ok(l) => {
                                accept_loop(l, plain, client.clone(), Arc::clone(&shared), stop.clone(), plain_share)
                                    .await
                            }
                            Err(e) => eprintln!("apig-gateway: worker {i} cannot listen: {e}"),
                        }
                    };
                    tokio::join!(plain_loop, tls_loop);
                });
            })?);
        }
        self.shared.set_ready(!*stop_rx.borrow());
        for t in threads {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
        Ok(())
    }
}

/// Accepts connections until `stop`, then lets open connections finish (at most 5 s). On the TLS
/// listener each connection first completes its handshake (within the configuration's
/// `handshake_timeout_ms`) on its own task: a failed one is closed and affects no other. With a
/// `share` of the listener (several workers), a connection accepted out of this worker's turn is
/// handed to the worker whose turn it is, and the connections handed to this one are served here:
/// the first worker to wake would otherwise take a whole burst of connections (64 of 64 in a
/// `wrk -c64` run), leaving the other cores idle for as long as they stay open.
async fn accept_loop(
    listener: TcpListener,
    kind: ListenerKind,
    client: proxy::HttpClient,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    mut share: Option<Share>,
) {
    let live = Arc::new(AtomicU64::new(0));
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => match &share {
                    Some(share) => match share.hand_over(stream, remote) {
                        Some(kept) => kept,
                        None => continue,
                    },
                    None => (stream, remote),
                },
                Err(e) => {
                    eprintln!("apig-gateway: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            handed = Share::receive(&mut share) => match TcpStream::from_std(handed.0) {
                Ok(stream) => (stream, handed.1),
                Err(e) => {
                    eprintln!("apig-gateway: cannot take a connection from another worker: {e}");
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let Some(slot) = ConnectionSlot::take(&shared) else {
            if let Some(m) = &shared.metrics {
                m.connection_refused();
            }
            if kind.transport.tls {
                // a plain-text answer means nothing to a TLS client, and a handshake to send one
                // over is what the cap saves: closed at once
                drop(stream);
            } else {
                tokio::spawn(refuse(stream, Arc::clone(&shared)));
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let client = client.clone();
        let kind = kind.clone();
        let mut stop = stop.clone();
        let live = Arc::clone(&live);
        live.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let transport = kind.transport;
            // the TLS settings and certificates of the configuration running now
            let front = transport.tls.then(|| Arc::clone(&shared.runtime.load().tls));
            let connection = Arc::new(request_path::Connection { shared, client, remote, transport });
            let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                request_path::handle(Arc::clone(&connection), req)
            });
            match front {
                Some(front) => {
                    let handshake = front.acceptor().accept(stream);
                    // a handshake that fails or takes too long closes this connection only
                    if let Ok(Ok(stream)) = tokio::time::timeout(front.handshake_timeout(), handshake).await {
                        serve!(TokioIo::new(stream), &kind.protocols, service, stop);
                    }
                }
                None => serve!(TokioIo::new(stream), &kind.protocols, service, stop),
            }
            live.fetch_sub(1, Ordering::Relaxed);
            drop(slot);
        });
    }
    let until = Instant::now() + Duration::from_secs(5);
    while live.load(Ordering::Relaxed) > 0 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A connection accepted by one worker for another.
type Handed = (std::net::TcpStream, SocketAddr);

/// One listener's workers: connections go to them in turn, whichever worker accepted them, so
/// that a burst of connections (all taken by the first worker to wake) is spread evenly.
struct Spread {
    next: std::sync::atomic::AtomicUsize,
    inboxes: Vec<tokio::sync::mpsc::UnboundedSender<Handed>>,
}

impl Spread {
    fn new(workers: usize) -> (Arc<Self>, Vec<tokio::sync::mpsc::UnboundedReceiver<Handed>>) {
        let (inboxes, receivers) = (0..workers).map(|_| tokio::sync::mpsc::unbounded_channel()).unzip();
        (Arc::new(Self { next: std::sync::atomic::AtomicUsize::new(0), inboxes }), receivers)
    }
}

/// A worker's place in its listener's [`Spread`].
struct Share {
    me: usize,
    spread: Arc<Spread>,
    inbox: tokio::sync::mpsc::UnboundedReceiver<Handed>,
}

impl Share {
    /// The accepted connection back when it is this worker's turn (or it cannot be handed over),
    /// else `None`: the worker whose turn it is serves it.
    fn hand_over(&self, stream: TcpStream, remote: SocketAddr) -> Option<(TcpStream, SocketAddr)> {
        let to = self.spread.next.fetch_add(1, Ordering::Relaxed) % self.spread.inboxes.len();
        if to == self.me {
            return Some((stream, remote));
        }
        let std = match stream.into_std() {
            Ok(std) => std,
            Err(e) => {
                eprintln!("apig-gateway: cannot hand a connection to another worker: {e}");
                return None;
            }
        };
        match self.spread.inboxes[to].send((std, remote)) {
            Ok(()) => None,
            // that worker has ended: served here
            Err(tokio::sync::mpsc::error::SendError((std, remote))) => {
                TcpStream::from_std(std).ok().map(|s| (s, remote))
            }
        }
    }

    /// The next connection another worker handed to this one (never, without a share).
    async fn receive(share: &mut Option<Self>) -> Handed {
        match share {
            Some(share) => match share.inbox.recv().await {
                Some(handed) => handed,
                None => std::future::pending().await,
            },
            None => std::future::pending().await,
        }
    }
}

/// Answers a connection over `gateway.max_connections` with `APIG.0308` 429 and closes it,
/// without reading its request (so it costs no parsing and holds no slot): at most 1 s to write
/// the answer, then 0.5 s for the client to read it (closing a socket with unread request bytes
/// would reset it and lose the answer). When too many are being answered already, the connection
/// is closed at once.
async fn refuse(mut stream: TcpStream, shared: Arc<Shared>) {
    let second = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs();
    if shared.refusal_reported.swap(second, Ordering::Relaxed) != second {
        eprintln!(
            "apig-gateway: {} connections open (gateway.max_connections): refusing new ones",
            shared.runtime.load().settings.max_connections
        );
    }
    if shared.refusing.fetch_add(1, Ordering::AcqRel) < MAX_REFUSING {
        let rt = shared.runtime.load();
        let (request_id, _) = shared.ids.next();
        let error = GatewayError::too_many_connections(rt.settings.max_connections);
        let body = error.body_json(&rt.settings.error_prefix, &request_id);
        let answer = format!(
            "HTTP/1.1 {} {}\r\ncontent-type: application/json;charset=UTF-8\r\ncontent-length: {}\r\n\
             connection: close\r\nx-request-id: {request_id}\r\n\r\n{body}",
            error.status.as_u16(),
            error.status.canonical_reason().unwrap_or(""),
            body.len()
        );
        drop(rt);
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            stream.write_all(answer.as_bytes()).await?;
            stream.shutdown().await
        })
        .await;
        let mut sink = [0u8; 4096];
        let _ = tokio::time::timeout(Duration::from_millis(500), async {
            while stream.read(&mut sink).await.is_ok_and(|n| n > 0) {}
        })
        .await;
    }
    shared.refusing.fetch_sub(1, Ordering::AcqRel);
}

/// A gateway running on its own thread and runtime (for tests, the conformance runner and embedding).
#[derive(Debug)]
pub struct RunningGateway {
    addr: SocketAddr,
    admin_addr: Option<SocketAddr>,
    status_addr: Option<SocketAddr>,
    tls_addr: Option<SocketAddr>,
    self_signed_pem: Option<String>,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningGateway {
    /// Binds and starts a gateway with `options` on a new 2-thread runtime.
    ///
    /// # Errors
    /// As [`Gateway::bind`], or when the runtime cannot be created.
    pub fn start(options: GatewayOptions) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        let gateway = runtime.block_on(Gateway::bind(options))?;
        let addr = gateway.local_addr()?;
        let admin_addr = gateway.admin_addr();
        let status_addr = gateway.status_addr();
        let tls_addr = gateway.tls_addr();
        let self_signed_pem = gateway.self_signed().map(|s| s.cert_pem.clone());
        let shared = Arc::clone(gateway.shared());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let _ = runtime.block_on(gateway.run(async move {
                let _ = rx.await;
            }));
            runtime.shutdown_timeout(Duration::from_secs(2));
        });
        Ok(Self {
            addr,
            admin_addr,
            status_addr,
            tls_addr,
            self_signed_pem,
            shared,
            stop: Some(tx),
            thread: Some(thread),
        })
    }

    /// The API address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The admin address.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// The status listener's address.
    pub fn status_addr(&self) -> Option<SocketAddr> {
        self.status_addr
    }

    /// The TLS listener's address.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_addr
    }

    /// The demo's self-signed certificate (PEM), when it was generated.
    pub fn self_signed_pem(&self) -> Option<&str> {
        self.self_signed_pem.as_deref()
    }

    /// The shared state (e.g. to trigger a reload).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Stops the gateway and waits for its thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for RunningGateway {
    fn drop(&mut self) {
        self.shutdown();
    }
}
