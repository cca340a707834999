//! Listeners and the request path: head checks, routing, policies, authentication, backend, the
//! error model, `X-Request-Id`, debug headers and the access log.

use std::convert::Infallible;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, Result};
use apig::{Authorization, Clock, FixedClock, SystemClock};
use arc_swap::ArcSwap;
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, HOST, HeaderMap, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::access_log::{AccessLog, AccessRecord, LogTarget, rfc3339, socket_addr_string};
use crate::body::{Body, TimedBody};
use crate::config::ConfigFile;
use crate::error::GatewayError;
use crate::policy::{BackendOutcome, Decision, RequestContext};
use crate::proxy::{self, HttpClient};
use crate::routing::{self, Route, Runtime};
use crate::{admin, auth, reload};

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
            access_log: LogTarget::Stdout,
            watch_interval: Some(Duration::from_secs(1)),
            header_read_timeout: Duration::from_secs(10),
            workers: 1,
        }
    }
}

const X_APIG_MODE: HeaderName = HeaderName::from_static("x-apig-mode");
const X_STAGE: HeaderName = HeaderName::from_static("x-stage");

/// Request headers hyper parses before the gateway sees the head: well above the 256 the gateway
/// allows, so that more get APIG's `494` rather than hyper's empty `431`. hyper allocates two
/// arrays of this many 32-byte slots for every request; at 2048 each is 64 KiB, the largest size
/// mimalloc serves from its fast (medium) pages, hence not more. A head with more headers still
/// gets hyper's `431` (docs/gateway.md, "Framing limits").
const MAX_PARSED_HEADERS: usize = 2048;
/// Connections over `gateway.max_connections` being answered at once; beyond, they are closed
/// without an answer.
const MAX_REFUSING: usize = 256;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Request ids: a random per-process prefix and a counter.
#[derive(Debug)]
struct RequestIds {
    prefix: u64,
    counter: AtomicU64,
}

impl RequestIds {
    fn new() -> Self {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_nanos());
        Self { prefix: h.finish(), counter: AtomicU64::new(1) }
    }

    /// The next id: 32 lower-case hex digits (the prefix, then the counter), as a string and as
    /// the header value (built once, shared by the upstream request and the response).
    fn next(&self) -> (String, HeaderValue) {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut hex = [0u8; 32];
        for (i, byte) in self.prefix.to_be_bytes().into_iter().chain(n.to_be_bytes()).enumerate() {
            hex[2 * i] = HEX[usize::from(byte >> 4)];
            hex[2 * i + 1] = HEX[usize::from(byte & 0xf)];
        }
        let id: String = hex.iter().map(|&b| char::from(b)).collect();
        let value = HeaderValue::from_bytes(&hex).unwrap_or_else(|_| HeaderValue::from_static("0"));
        (id, value)
    }
}

/// State shared by every connection.
pub struct Shared {
    /// The current compiled configuration (swapped atomically on reload).
    pub runtime: ArcSwap<Runtime>,
    /// The verifier's clock.
    pub clock: Arc<dyn Clock>,
    /// The access log.
    pub log: AccessLog,
    /// The config file, if any.
    pub config_path: Option<PathBuf>,
    /// Serialises admin changes and reloads.
    pub write_lock: tokio::sync::Mutex<()>,
    ids: RequestIds,
    /// Client connections open now (all workers), against `gateway.max_connections`.
    connections: AtomicUsize,
    /// Connections over the cap being answered now.
    refusing: AtomicUsize,
    /// The second (since the epoch) of the last "refusing connections" line on stderr.
    refusal_reported: AtomicU64,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("config_path", &self.config_path).finish_non_exhaustive()
    }
}

/// A bound, not yet running gateway.
#[derive(Debug)]
pub struct Gateway {
    shared: Arc<Shared>,
    listener: TcpListener,
    admin: Option<(TcpListener, String)>,
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
        let shared = Arc::new(Shared {
            runtime: ArcSwap::from_pointee(runtime),
            clock,
            log,
            config_path: path,
            write_lock: tokio::sync::Mutex::new(()),
            ids: RequestIds::new(),
            connections: AtomicUsize::new(0),
            refusing: AtomicUsize::new(0),
            refusal_reported: AtomicU64::new(0),
        });
        Ok(Self {
            shared,
            listener,
            admin,
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
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        if self.shared.config_path.is_some() {
            tokio::spawn(reload::watch(Arc::clone(&self.shared), self.watch_interval, stop_rx.clone()));
        }
        if let Some((listener, token)) = self.admin {
            let (shared, timeout) = (Arc::clone(&self.shared), self.header_read_timeout);
            tokio::spawn(admin::serve(listener, Arc::new(token), shared, timeout, stop_rx.clone()));
        }
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout)
            .max_buf_size(512 * 1024)
            .max_headers(MAX_PARSED_HEADERS)
            .keep_alive(true);
        if self.workers <= 1 {
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
            let service = service_fn(move |req| handle(Arc::clone(&shared), client.clone(), remote, req));
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

/// One of the `gateway.max_connections` connections, given back when dropped.
struct ConnectionSlot(Arc<Shared>);

impl ConnectionSlot {
    /// A slot, or none when the cap (read at each connection, so a reload changes it) is reached.
    fn take(shared: &Arc<Shared>) -> Option<Self> {
        let limit = shared.runtime.load().settings.max_connections;
        if shared.connections.fetch_add(1, Ordering::AcqRel) >= limit {
            shared.connections.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Self(Arc::clone(shared)))
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::AcqRel);
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
        let shared = Arc::clone(gateway.shared());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let _ = runtime.block_on(gateway.run(async move {
                let _ = rx.await;
            }));
            runtime.shutdown_timeout(Duration::from_secs(2));
        });
        Ok(Self { addr, admin_addr, shared, stop: Some(tx), thread: Some(thread) })
    }

    /// The API address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The admin address.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
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

/// One request, start to end; never fails (every failure is an APIG error response).
async fn handle(
    shared: Arc<Shared>,
    client: HttpClient,
    remote: SocketAddr,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let started = Instant::now();
    let rt = shared.runtime.load_full();
    let (request_id, request_id_value) = shared.ids.next();
    let (parts, body) = request.into_parts();
    let header = |name: &HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let debug = header(&X_APIG_MODE).is_some_and(|m| m.trim().eq_ignore_ascii_case("debug"));
    // an absolute-form target (`GET http://host/path`) names the host; `Host` is then ignored
    // (RFC 9112 §3.2.2)
    let host = parts.uri.authority().map(|a| a.as_str()).or_else(|| header(&HOST)).unwrap_or("").to_owned();
    let environment = routing::environment(header(&X_STAGE)).to_owned();
    let preflight = parts.method == Method::OPTIONS
        && parts.headers.contains_key(hyper::header::ORIGIN)
        && parts.headers.contains_key(hyper::header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut ctx = RequestContext {
        request_id,
        remote,
        method: parts.method.clone(),
        host,
        target: parts.uri.path_and_query().map_or_else(|| parts.uri.to_string(), |pq| pq.as_str().to_owned()),
        headers: hyper::HeaderMap::new(),
        environment,
        api: None,
        preflight,
        caller: None,
        debug,
        started,
        extensions: std::sync::Mutex::default(),
    };
    // the record's request fields are filled at the end, once it is known whether the access log
    // or a policy (Kafka log push) wants it; what they need of the request is kept here cheaply
    let arrived = std::time::SystemTime::now();
    let user_agent = parts.headers.get(hyper::header::USER_AGENT).cloned();
    let (mut error_code, mut auth_error) = (None, None);

    let mut api_route = None;
    let mut outcome = BackendOutcome::NotCalled;
    let result =
        process(&shared, &client, &rt, &mut ctx, &request_id_value, parts, body, &mut api_route, &mut outcome).await;
    let prefix = rt.settings.error_prefix.as_str();
    let (response, upstream) = match result {
        Ok((response, upstream)) => (response, upstream),
        Err(e) => {
            error_code = Some(e.full_code(prefix));
            auth_error = e.core_code;
            let mut response = e.to_response(prefix, &ctx.request_id);
            if debug && let Some(code) = e.core_code {
                response.headers_mut().insert("x-apig-error-kind", HeaderValue::from_static(code));
            }
            (response, None)
        }
    };
    let (mut head, body) = response.into_parts();
    let mut record = AccessRecord { error_code, auth_error, ..AccessRecord::default() };
    if let Some(api) = &api_route {
        api.policies.on_response(&ctx, outcome, &mut head, &mut record);
    }
    head.headers.insert(proxy::X_REQUEST_ID, request_id_value);
    let latency = started.elapsed();
    if debug {
        head.headers
            .insert("x-apig-latency", HeaderValue::from(u64::try_from(latency.as_millis()).unwrap_or(u64::MAX)));
        if let Some(up) = upstream {
            head.headers.insert(
                "x-apig-upstream-latency",
                HeaderValue::from(u64::try_from(up.as_millis()).unwrap_or(u64::MAX)),
            );
        }
    }
    let policy_log = api_route.as_ref().map(|api| (api, api.policies.wants_log())).filter(|(_, wanted)| *wanted != 0);
    if shared.log.enabled() || policy_log.is_some() {
        record.time = rfc3339(arrived);
        record.request_id = &ctx.request_id;
        record.remote_addr = socket_addr_string(remote);
        record.method = ctx.method.as_str();
        record.host = &ctx.host;
        record.uri = &ctx.target;
        record.environment = &ctx.environment;
        record.user_agent = user_agent.as_ref().and_then(|v| v.to_str().ok());
        record.status = head.status.as_u16();
        record.api = ctx.api.as_ref().map(|(a, _)| a.as_str());
        record.group = ctx.api.as_ref().map(|(_, g)| g.as_str());
        record.app_key = ctx.caller.as_ref().map(|c| c.app_key.as_str());
        record.latency_ms = (latency.as_secs_f64() * 1e6).round() / 1e3;
        record.upstream_latency_ms = upstream.map(|u| (u.as_secs_f64() * 1e6).round() / 1e3);
        // the JSON line is made once when both the access log and a policy want it
        let line = shared.log.enabled().then(|| {
            let mut line = Vec::with_capacity(768);
            record.write_json(&mut line);
            line
        });
        if let Some((api, wanted)) = policy_log {
            api.policies.on_log(&ctx, &record, line.as_deref(), wanted);
        }
        if let Some(line) = line {
            shared.log.write_line(line);
        }
    }
    Ok(Response::from_parts(head, body))
}

/// Head checks, routing, policies, authentication and the backend call.
#[allow(clippy::too_many_arguments)]
async fn process(
    shared: &Shared,
    client: &HttpClient,
    rt: &Runtime,
    ctx: &mut RequestContext,
    request_id: &HeaderValue,
    mut parts: hyper::http::request::Parts,
    body: Incoming,
    api_route: &mut Option<Arc<routing::ApiRoute>>,
    outcome: &mut BackendOutcome,
) -> Result<(Response<Body>, Option<Duration>), GatewayError> {
    check_head(rt, &parts)?;
    let routed_method = if ctx.preflight {
        parts
            .headers
            .get(hyper::header::ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("OPTIONS")
            .trim()
    } else {
        parts.method.as_str()
    };
    let api = match rt.route(&ctx.host, routed_method, parts.uri.path(), &ctx.environment) {
        Route::Found(api) => api,
        Route::NotFound => return Err(GatewayError::api_not_found()),
    };
    ctx.api = Some((api.id.clone(), api.group_id.clone()));
    *api_route = Some(Arc::clone(&api));
    // the request headers move to `ctx` (no copy): policies read them there, also in
    // `on_response`, and so do authentication and the upstream request (`parts.headers` is empty)
    ctx.headers = std::mem::take(&mut parts.headers);
    if parts.uri.authority().is_some()
        && let Ok(authority) = HeaderValue::from_str(&ctx.host)
    {
        // the verifier, the policies and the backend see the target's authority as `Host`
        ctx.headers.insert(HOST, authority);
    }

    match api.policies.before_auth(ctx).await {
        Decision::Continue => {}
        Decision::Respond(r) => return Ok((r, None)),
        Decision::Reject(e) => return Err(e),
    }
    if ctx.preflight {
        // a preflight no policy answered: the API has no CORS policy
        return Err(GatewayError::api_not_found());
    }
    // every check that needs no body runs before the body is read: authentication's (key, date,
    // the app's authorisation), then the policies' `before_body` stage with the claimed caller
    let now = shared.clock.now();
    let identified = auth::identify(rt, &api, &ctx.environment, &parts, &ctx.headers, now)?;
    ctx.caller = identified.caller().cloned();
    let decision = api.policies.before_body(ctx).await;
    ctx.caller = None;
    match decision {
        Decision::Continue => {}
        Decision::Respond(r) => return Ok((r, None)),
        Decision::Reject(e) => return Err(e),
    }
    let body = TimedBody::new(body, ctx.started, Duration::from_millis(rt.settings.body_timeout_ms));
    let (caller, forward) = auth::authenticate(rt, &parts, &ctx.headers, identified, body, now).await?;
    ctx.caller = caller;
    match api.policies.after_auth(ctx).await {
        Decision::Continue => {}
        Decision::Respond(r) => return Ok((r, None)),
        Decision::Reject(e) => return Err(e),
    }
    let upstream = proxy::upstream_request(&api, &parts, &ctx.headers, &ctx.host, ctx.remote, request_id, forward)?;
    let (mut up_parts, up_body) = upstream.into_parts();
    if rt.settings.drop_unsigned_headers && ctx.caller.as_ref().is_some_and(|c| c.method == "signature") {
        drop_unsigned_headers(&mut up_parts.headers, &ctx.headers, ctx.remote);
    }
    match api.policies.before_backend(ctx, &mut up_parts, &up_body) {
        Decision::Continue => {}
        Decision::Respond(r) => return Ok((r, None)),
        Decision::Reject(e) => return Err(e),
    }
    let result = proxy::send(client, &api, Request::from_parts(up_parts, up_body), rt.settings.max_body_bytes).await;
    *outcome = match &result {
        Ok((r, d)) => BackendOutcome::Answered(r.status().as_u16(), *d),
        Err(e) if e.code == "0203" => BackendOutcome::TimedOut,
        Err(e) if e.code == "0202" => BackendOutcome::Unavailable,
        Err(_) => BackendOutcome::NotCalled,
    };
    let (response, upstream) = result?;
    Ok((response, Some(upstream)))
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
fn check_head(rt: &Runtime, parts: &hyper::http::request::Parts) -> Result<(), GatewayError> {
    let s = &rt.settings;
    let uri_len = parts.uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    if uri_len > s.max_uri_bytes {
        return Err(GatewayError::uri_too_large(s.max_uri_bytes).closing());
    }
    let header_bytes: usize = parts.headers.iter().map(|(n, v)| n.as_str().len() + v.len() + 4).sum();
    if header_bytes > s.max_header_bytes {
        return Err(GatewayError::headers_too_large(format_args!("limit {} bytes", s.max_header_bytes)).closing());
    }
    if parts.headers.len() > 256 {
        return Err(GatewayError::headers_too_large("more than 256 headers").closing());
    }
    if parts.headers.contains_key(hyper::header::TRANSFER_ENCODING)
        && parts.headers.contains_key(hyper::header::CONTENT_LENGTH)
    {
        return Err(GatewayError::bad_request("both Content-Length and Transfer-Encoding").closing());
    }
    match parts.headers.get_all(HOST).iter().count() {
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

    #[test]
    fn request_ids_are_unique() {
        let ids = RequestIds::new();
        let ((a, a_value), (b, _)) = (ids.next(), ids.next());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{a}");
        assert_eq!(a_value.as_bytes(), a.as_bytes());
        assert_eq!(a, format!("{:016x}{:016x}", ids.prefix, 1));
    }
}
