//! Per-host backend limits (`gateway.backend_limits`, `upstreams[].max_connections`): at most
//! `max_connections` connections open to one backend `host:port` and as many requests in flight
//! to it, with a bounded wait for a free one; beyond, the request is answered `APIG.0202` 502.
//!
//! Two gates share the one [`HostLimit`] of a `host:port`:
//! - a request takes one of its `max_connections` request permits before it is sent
//!   ([`HostLimit::acquire`]), held until the backend's response body ends; when none is free it
//!   waits, with at most `queue` others and for at most `queue_timeout_ms`;
//! - the client stack ([`crate::backend_client`]) takes one of its `max_connections` connection
//!   permits for each connection it opens ([`connection_permit`]), held by the connection's task
//!   as long as the connection lives: the connection count is exact even while an HTTP/2
//!   connection is being replaced or a connection closes.
//!
//! The limits are compiled with the configuration ([`crate::routing::Runtime`], kept across a
//! reload when unchanged) and registered by `host:port` ([`register`]) when the configuration is
//! installed. A reload that changes a host's limit applies the new one to new requests and new
//! connections at once; pooled connections opened under the old one are closed, not reused
//! ([`Stamp`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use hyper::Uri;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::ConfigFile;

/// A limit's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSettings {
    /// Connections open, and requests in flight, to the host at most.
    pub max_connections: usize,
    /// Requests waiting for one at most; more are refused at once.
    pub queue: usize,
    /// How long a request waits at most.
    pub queue_timeout: Duration,
}

/// Why a request was refused by a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitReason {
    /// `queue` requests were already waiting.
    QueueFull,
    /// No connection came free within the queue timeout.
    Timeout,
}

/// A request refused by a host's limit (the `APIG.0202` answer's detail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitError {
    /// `host:port`.
    pub server: String,
    /// Its `max_connections`.
    pub max_connections: usize,
    /// Why.
    pub reason: LimitReason,
    /// The queue timeout.
    pub waited: Duration,
}

impl std::fmt::Display for LimitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.reason {
            LimitReason::QueueFull => write!(
                f,
                "connection limit of {} reached ({} connections) and its wait queue is full",
                self.server, self.max_connections
            ),
            LimitReason::Timeout => write!(
                f,
                "connection limit of {} reached ({} connections), none free within {} ms",
                self.server,
                self.max_connections,
                self.waited.as_millis()
            ),
        }
    }
}

impl std::error::Error for LimitError {}

/// The limit of one backend `host:port`, and its counters.
#[derive(Debug)]
pub struct HostLimit {
    /// `host:port`.
    pub server: String,
    /// The settings.
    pub settings: LimitSettings,
    requests: Arc<Semaphore>,
    connections: Arc<Semaphore>,
    waiting: AtomicUsize,
    /// Replaced or dropped by a reload ([`register`]).
    retired: AtomicBool,
    refused_queue_full: AtomicU64,
    refused_timeout: AtomicU64,
}

/// One request's place under a host's limit, given back when dropped.
#[derive(Debug)]
pub struct RequestPermit(#[allow(dead_code)] OwnedSemaphorePermit);

/// Decrements the waiting count when a waiting request gets its permit, times out or is dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl HostLimit {
    /// The limit of `server` (`host:port`).
    pub fn new(server: String, settings: LimitSettings) -> Self {
        Self {
            server,
            settings,
            requests: Arc::new(Semaphore::new(settings.max_connections)),
            connections: Arc::new(Semaphore::new(settings.max_connections)),
            waiting: AtomicUsize::new(0),
            retired: AtomicBool::new(false),
            refused_queue_full: AtomicU64::new(0),
            refused_timeout: AtomicU64::new(0),
        }
    }

    fn refused(&self, reason: LimitReason) -> LimitError {
        let counter = match reason {
            LimitReason::QueueFull => &self.refused_queue_full,
            LimitReason::Timeout => &self.refused_timeout,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        LimitError {
            server: self.server.clone(),
            max_connections: self.settings.max_connections,
            reason,
            waited: self.settings.queue_timeout,
        }
    }

    /// A request's permit: at once when one is free, else after waiting in the bounded queue.
    ///
    /// # Errors
    /// The queue is full, or no permit came free within the queue timeout.
    pub async fn acquire(&self) -> Result<RequestPermit, LimitError> {
        if let Ok(permit) = Arc::clone(&self.requests).try_acquire_owned() {
            return Ok(RequestPermit(permit));
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.settings.queue {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(self.refused(LimitReason::QueueFull));
        }
        let waiting = Waiting(&self.waiting);
        let permit =
            tokio::time::timeout(self.settings.queue_timeout, Arc::clone(&self.requests).acquire_owned()).await;
        drop(waiting);
        match permit {
            Ok(Ok(permit)) => Ok(RequestPermit(permit)),
            _ => Err(self.refused(LimitReason::Timeout)),
        }
    }

    /// A new connection's permit, waiting at most the queue timeout.
    async fn connection(&self) -> Result<OwnedSemaphorePermit, LimitError> {
        let connections = Arc::clone(&self.connections);
        match tokio::time::timeout(self.settings.queue_timeout, connections.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(self.refused(LimitReason::Timeout)),
        }
    }

    /// Requests in flight now.
    pub fn in_flight(&self) -> usize {
        self.settings.max_connections.saturating_sub(self.requests.available_permits())
    }

    /// Connections open now (through this process's client stack).
    pub fn connections_open(&self) -> usize {
        self.settings.max_connections.saturating_sub(self.connections.available_permits())
    }

    /// Requests waiting now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    /// Requests refused so far: queue full, timed out.
    pub fn refused_counts(&self) -> (u64, u64) {
        (self.refused_queue_full.load(Ordering::Relaxed), self.refused_timeout.load(Ordering::Relaxed))
    }
}

/// `host:port` of `uri` (the scheme's port when it has none); `None` without a host.
pub fn server_of(uri: &Uri) -> Option<String> {
    let host = uri.host()?;
    let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("https") { 443 } else { 80 });
    Some(format!("{}:{port}", host.to_ascii_lowercase()))
}

/// The limits by `host:port`, for the connector and for requests whose URI was changed after
/// routing (a circuit breaker's fallback).
struct Registry {
    /// Whether any limit was ever registered: without one, no lookup at all.
    any: AtomicBool,
    limits: Mutex<HashMap<String, Weak<HostLimit>>>,
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry { any: AtomicBool::new(false), limits: Mutex::default() })
}

/// Makes `limits` (a configuration being installed) the ones of their `host:port`s. The
/// registry holds them weakly: a limit no longer in any running configuration lapses. A limit
/// replaced by one with other settings is retired: the connections opened under it are not
/// reused, new ones count under the new limit.
pub fn register(limits: &[Arc<HostLimit>]) {
    let registry = registry();
    let Ok(mut map) = registry.limits.lock() else { return };
    map.retain(|_, limit| limit.strong_count() > 0);
    for limit in limits {
        if let Some(old) = map.insert(limit.server.clone(), Arc::downgrade(limit)).and_then(|old| old.upgrade())
            && !Arc::ptr_eq(&old, limit)
        {
            old.retired.store(true, Ordering::Release);
        }
    }
    if !map.is_empty() {
        registry.any.store(true, Ordering::Release);
    }
}

/// The limit of `uri`'s `host:port`, if one is registered.
pub fn lookup(uri: &Uri) -> Option<Arc<HostLimit>> {
    let registry = registry();
    if !registry.any.load(Ordering::Acquire) {
        return None;
    }
    let server = server_of(uri)?;
    registry.limits.lock().ok()?.get(&server).and_then(Weak::upgrade)
}

/// A new connection's place under the limit of `uri`'s `host:port` (waiting at most the queue
/// timeout), held by the connection's task as long as the connection lives, and its [`Stamp`].
///
/// # Errors
/// No connection permit came free within the queue timeout.
pub async fn connection_permit(uri: &Uri) -> Result<(Option<OwnedSemaphorePermit>, Stamp), LimitError> {
    let stamp = Stamp::now(uri);
    match &stamp {
        Stamp::Limited(limit) => Ok((Some(limit.connection().await?), stamp)),
        Stamp::Unlimited => Ok((None, stamp)),
    }
}

/// The limit a pooled connection was opened under: a connection whose limit a reload replaced
/// (or that was opened while its host had none and has one now) is not reused, so that the new
/// limit counts every connection to its host.
#[derive(Debug, Clone)]
pub enum Stamp {
    /// Opened under this limit.
    Limited(Arc<HostLimit>),
    /// Opened without a limit.
    Unlimited,
}

impl Stamp {
    /// The stamp of a connection opened now to `uri`.
    fn now(uri: &Uri) -> Self {
        lookup(uri).map_or(Self::Unlimited, Self::Limited)
    }

    /// Whether a connection to `uri` with this stamp is still under its host's current limit.
    pub fn current(&self, uri: &Uri) -> bool {
        match self {
            Self::Limited(limit) => !limit.retired.load(Ordering::Acquire),
            Self::Unlimited => lookup(uri).is_none(),
        }
    }
}

/// The limits `source` sets, one per limited `host:port`: every plain and `https://` backend's
/// under `gateway.backend_limits.max_connections`, every upstream server's under its upstream's
/// `max_connections` or else the gateway's (a server in several upstreams: the smallest). A limit
/// of `previous` with the same settings is kept, with its connections and counters.
pub fn compile(source: &ConfigFile, previous: &[Arc<HostLimit>]) -> Vec<Arc<HostLimit>> {
    let defaults = source.gateway.backend_limits.clone().unwrap_or_default();
    let mut max: HashMap<String, usize> = HashMap::new();
    let mut limit = |server: String, n: usize| {
        if n > 0 {
            max.entry(server).and_modify(|m| *m = (*m).min(n)).or_insert(n);
        }
    };
    for api in source.groups.iter().flat_map(|g| &g.apis) {
        let url = api.backend.url.as_str();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            continue;
        }
        if let Some(server) = url.parse::<Uri>().ok().as_ref().and_then(server_of) {
            limit(server, defaults.max_connections);
        }
    }
    for upstream in &source.upstreams {
        let n = upstream.max_connections.unwrap_or(defaults.max_connections);
        for server in &upstream.servers {
            let uri = format!("{}://{}/", upstream.scheme, server.address);
            if let Some(server) = uri.parse::<Uri>().ok().as_ref().and_then(server_of) {
                limit(server, n);
            }
        }
    }
    let mut limits: Vec<Arc<HostLimit>> = max
        .into_iter()
        .map(|(server, max_connections)| {
            let settings = LimitSettings {
                max_connections,
                queue: defaults.queue,
                queue_timeout: Duration::from_millis(defaults.queue_timeout_ms),
            };
            previous
                .iter()
                .find(|l| l.server == server && l.settings == settings)
                .cloned()
                .unwrap_or_else(|| Arc::new(HostLimit::new(server, settings)))
        })
        .collect();
    limits.sort_by(|a, b| a.server.cmp(&b.server));
    limits
}
