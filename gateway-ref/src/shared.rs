//! The state every connection, the admin API and the reloader share: the swappable compiled
//! configuration, the verifier's clock, the access log, request ids, the connection cap, the
//! metrics and readiness.
//! [`crate::server`], [`crate::admin`] and [`crate::reload`] all use it; it uses none of them.

use std::hash::{BuildHasher, Hasher};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::SystemTime;

use apig::Clock;
use arc_swap::ArcSwap;
use hyper::header::HeaderValue;

use crate::access_log::AccessLog;
use crate::metrics::Metrics;
use crate::routing::Runtime;

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
    /// Request ids.
    pub(crate) ids: RequestIds,
    /// Client connections open now (all workers), against `gateway.max_connections`.
    connections: AtomicUsize,
    /// Connections over the cap being answered now.
    pub(crate) refusing: AtomicUsize,
    /// The second (since the epoch) of the last "refusing connections" line on stderr.
    pub(crate) refusal_reported: AtomicU64,
    /// The metrics, when the status listener is on (`None`: nothing is counted).
    pub metrics: Option<Metrics>,
    /// Configurations swapped in so far (1: the one loaded at start).
    generation: AtomicU64,
    /// The calls counted today on the groups' debug domains.
    pub(crate) debug_calls: crate::debug_domain::DebugCalls,
    /// Whether the gateway serves: its configuration is loaded and its listeners bound and
    /// accepting (false again once it shuts down); `GET /readyz`.
    ready: AtomicBool,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("config_path", &self.config_path).finish_non_exhaustive()
    }
}

impl Shared {
    /// The state of a gateway starting with `runtime`.
    pub fn new(runtime: Runtime, clock: Arc<dyn Clock>, log: AccessLog, config_path: Option<PathBuf>) -> Self {
        Self::with_metrics(runtime, clock, log, config_path, None)
    }

    /// As [`Shared::new`], counting into `metrics`.
    pub fn with_metrics(
        runtime: Runtime,
        clock: Arc<dyn Clock>,
        log: AccessLog,
        config_path: Option<PathBuf>,
        metrics: Option<Metrics>,
    ) -> Self {
        if let Some(m) = &metrics {
            m.installed(1);
        }
        crate::backend_limit::register(&runtime.backend_limits);
        Self {
            runtime: ArcSwap::from_pointee(runtime),
            clock,
            log,
            config_path,
            write_lock: tokio::sync::Mutex::new(()),
            ids: RequestIds::new(),
            connections: AtomicUsize::new(0),
            debug_calls: crate::debug_domain::DebugCalls::default(),
            refusing: AtomicUsize::new(0),
            refusal_reported: AtomicU64::new(0),
            metrics,
            generation: AtomicU64::new(1),
            ready: AtomicBool::new(false),
        }
    }

    /// Swaps `runtime` in (a reload, an admin change): the next requests use it.
    pub fn install(&self, runtime: Runtime) {
        crate::backend_limit::register(&runtime.backend_limits);
        self.runtime.store(Arc::new(runtime));
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        if let Some(m) = &self.metrics {
            m.installed(generation);
        }
    }

    /// Configurations swapped in so far (1: the one loaded at start).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether the gateway serves (`GET /readyz`).
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Marks the gateway as serving, or as not (shutting down).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    /// Client connections open now.
    pub fn connections_open(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Request ids: a random per-process prefix and a counter.
#[derive(Debug)]
pub(crate) struct RequestIds {
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
    pub(crate) fn next(&self) -> (String, HeaderValue) {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut hex = [0u8; 32];
        for (i, byte) in self.prefix.to_be_bytes().into_iter().chain(n.to_be_bytes()).enumerate() {
            hex[2 * i] = HEX[usize::from(byte >> 4)];
            hex[2 * i + 1] = HEX[usize::from(byte & 0xf)];
        }
        // ASCII hex digits: valid UTF-8 and a valid header value (no per-character collect, no
        // per-byte header-value check: ~1 100 instructions a request less)
        let id = std::str::from_utf8(&hex).map_or_else(|_| String::from("0"), str::to_owned);
        let value = HeaderValue::from_maybe_shared(bytes::Bytes::copy_from_slice(&hex))
            .unwrap_or_else(|_| HeaderValue::from_static("0"));
        (id, value)
    }
}

/// One of the `gateway.max_connections` connections, given back when dropped.
pub(crate) struct ConnectionSlot(Arc<Shared>);

impl ConnectionSlot {
    /// A slot, or none when the cap (read at each connection, so a reload changes it) is reached.
    pub(crate) fn take(shared: &Arc<Shared>) -> Option<Self> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
