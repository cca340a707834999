//! Listeners: the API listener (one accept loop per worker, the connection cap) hands each request
//! to [`crate::request_path`]; the admin listener, the status listener ([`crate::status`]) and the
//! reloader are started beside it.

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
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::access_log::{AccessLog, LogTarget};
use crate::config::ConfigFile;
use crate::error::GatewayError;
use crate::metrics::Metrics;
use crate::proxy;
use crate::routing::Runtime;
use crate::shared::{ConnectionSlot, Shared};
use crate::{admin, reload, request_path, status};

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
    /// connection pool, so a request and its backend call stay on one thread (like nginx workers).
    /// `0` or `1`: serve on the caller's runtime.
    pub workers: usize,
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
            workers: 1,
        }
    }
}

/// Request headers hyper parses before the gateway sees the head: well above the 256 the gateway
/// allows, so that more get APIG's `494` rather than hyper's empty `431`. hyper allocates two
/// arrays of this many 32-byte slots for every request; at 2048 each is 64 KiB, the largest size
/// mimalloc serves from its fast (medium) pages, hence not more. A head with more headers still
/// gets hyper's `431` (docs/gateway.md, "Framing limits").
const MAX_PARSED_HEADERS: usize = 2048;
/// Connections over `gateway.max_connections` being answered at once; beyond, they are closed
/// without an answer.
const MAX_REFUSING: usize = 256;

/// A bound, not yet running gateway.
#[derive(Debug)]
pub struct Gateway {
    shared: Arc<Shared>,
    listener: TcpListener,
    admin: Option<(TcpListener, String)>,
    status: Option<TcpListener>,
    watch_interval: Option<Duration>,
    header_read_timeout: Duration,
    workers: usize,
}

impl Gateway {
    /// Loads the configuration and binds the listeners.
    ///
    /// # Errors
    /// An invalid configuration (with its position), an address in use, a non-loopback admin
    /// address, an admin API without a config file, an access-log file that cannot be opened.
    pub async fn bind(options: GatewayOptions) -> Result<Self> {
        let (source, path) = match &options.config {
            ConfigSource::Demo => (ConfigFile::demo()?, None),
            ConfigSource::File(path) => (ConfigFile::load(path)?, Some(path.clone())),
        };
        let shown = path.clone().unwrap_or_else(|| PathBuf::from("<demo>"));
        let runtime = Runtime::compile(source, &shown)?;
        let clock: Arc<dyn Clock> = match options.fixed_clock {
            Some(t) => Arc::new(FixedClock(t)),
            None => Arc::new(SystemClock),
        };
        let log = AccessLog::open(&options.access_log).context("cannot open the access log")?;
        let listener =
            TcpListener::bind(options.listen).await.with_context(|| format!("cannot listen on {}", options.listen))?;
        let admin = match &options.admin {
            None => None,
            Some(a) => {
                anyhow::ensure!(a.listen.ip().is_loopback(), "the admin API listens on loopback addresses only");
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
            admin,
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
            let api = self.listener.local_addr()?;
            tokio::spawn(admin::serve(listener, Arc::new(token), shared, api, timeout, stop_rx.clone()));
        }
        if let Some(listener) = self.status {
            let (shared, timeout) = (Arc::clone(&self.shared), self.header_read_timeout);
            tokio::spawn(status::serve(listener, shared, timeout));
        }
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout)
            .max_buf_size(512 * 1024)
            .max_headers(MAX_PARSED_HEADERS)
            .keep_alive(true);
        if self.workers <= 1 {
            // the listener is bound: connections queue until the loop takes them
            self.shared.set_ready(!*stop_rx.borrow());
            accept_loop(self.listener, builder, self.shared, stop_rx).await;
            return Ok(());
        }
        let std_listener = self.listener.into_std()?;
        let mut threads = Vec::new();
        for i in 0..self.workers {
            let listener = std_listener.try_clone()?;
            let (builder, shared, stop) = (builder.clone(), Arc::clone(&self.shared), stop_rx.clone());
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            threads.push(std::thread::Builder::new().name(format!("apig-worker-{i}")).spawn(move || {
                runtime.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(listener) => accept_loop(listener, builder, shared, stop).await,
                        Err(e) => eprintln!("apig-gateway: worker {i} cannot listen: {e}"),
                    }
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

/// Accepts connections until `stop`, then lets open connections finish (at most 5 s).
async fn accept_loop(
    listener: TcpListener,
    builder: http1::Builder,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let client = proxy::client();
    let live = Arc::new(AtomicU64::new(0));
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    eprintln!("apig-gateway: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let Some(slot) = ConnectionSlot::take(&shared) else {
            if let Some(m) = &shared.metrics {
                m.connection_refused();
            }
            tokio::spawn(refuse(stream, Arc::clone(&shared)));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let client = client.clone();
        let builder = builder.clone();
        let mut stop = stop.clone();
        let live = Arc::clone(&live);
        live.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let service = service_fn(move |req| request_path::handle(Arc::clone(&shared), client.clone(), remote, req));
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
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
        let shared = Arc::clone(gateway.shared());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let _ = runtime.block_on(gateway.run(async move {
                let _ = rx.await;
            }));
            runtime.shutdown_timeout(Duration::from_secs(2));
        });
        Ok(Self { addr, admin_addr, status_addr, shared, stop: Some(tx), thread: Some(thread) })
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
