//! The gateway's Prometheus metrics ([`prometheus_client`]): what the status listener
//! ([`crate::status`]) serves at `GET /metrics`. One place turns a finished request into
//! observations ([`Metrics::observe`], called where the access-log record is built); reloads, the
//! connection cap and the Kafka log push add their own. Every label comes from the configuration
//! (group and API ids, published environments) or from a fixed set (status, APIG error code,
//! outcome), never from a raw request: an unmatched request is counted with empty `group`, `api`
//! and `environment`.
//!
//! A request costs a few atomic additions and two histogram observations: the per-API handles are
//! resolved once per compiled API ([`ApiMetrics`], kept with the API and rebuilt with it on reload)
//! and the request counters of an API are found by a short scan without allocation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{OnceLock, RwLock};
use std::time::{Duration, SystemTime};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::context::{BackendOutcome, RequestContext};

/// Latency buckets, seconds: 0.5 ms to 10 s.
const LATENCY_BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// `group`, `api`, `environment`, `status`, `code` of `apig_gateway_requests_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    group: String,
    api: String,
    environment: String,
    status: u16,
    code: String,
}

/// `group`, `api`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiLabels {
    group: String,
    api: String,
}

/// `group`, `api` and a fixed `outcome` / `kind`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    group: String,
    api: String,
    outcome: &'static str,
}

/// `result` of a reload.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

/// `policy` (the definition's name) of the Kafka log push counters.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PolicyLabels {
    policy: String,
}

/// `upstream` and `server` (`host:port`) of the upstream health gauge.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServerLabels {
    upstream: String,
    server: String,
}

/// `server` (`host:port`) of the backend limit metrics.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendServerLabels {
    server: String,
}

/// `server` and `reason` (`queue_full`, `timeout`) of the backend limit refusals.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitRefusalLabels {
    server: String,
    reason: &'static str,
}

/// One limited backend `host:port` at a scrape ([`Metrics::set_backend_limits`]).
#[derive(Debug, Clone, Copy)]
pub struct BackendLimitSample<'a> {
    /// `host:port`.
    pub server: &'a str,
    /// Requests in flight to it.
    pub in_flight: usize,
    /// Requests waiting for a connection to it.
    pub waiting: usize,
    /// Connections open to it.
    pub connections: usize,
    /// Requests refused so far: its queue was full.
    pub refused_queue_full: u64,
    /// Requests refused so far: none free within the queue timeout.
    pub refused_timeout: u64,
}

/// How a reload went, as `apig_gateway_config_reloads_total{result}` counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadResult {
    /// A changed file was swapped in.
    Ok,
    /// The file equals the running configuration: nothing was swapped in.
    Unchanged,
    /// The file was refused; the running configuration is kept.
    Failed,
}

/// The gateway's metrics and their registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<ApiLabels, Histogram>,
    upstream_latency: Family<ApiLabels, Histogram>,
    policy_outcomes: Family<OutcomeLabels, Counter>,
    backend_errors: Family<OutcomeLabels, Counter>,
    reloads: Family<ResultLabels, Counter>,
    generation: Gauge,
    loaded_at: Gauge<f64, AtomicU64>,
    connections_open: Gauge,
    connections_refused: Counter,
    kafka_sent: Family<PolicyLabels, Counter>,
    kafka_dropped: Family<PolicyLabels, Counter>,
    kafka_failed: Family<PolicyLabels, Counter>,
    upstream_healthy: Family<ServerLabels, Gauge>,
    backend_in_flight: Family<BackendServerLabels, Gauge>,
    backend_waiting: Family<BackendServerLabels, Gauge>,
    backend_connections: Family<BackendServerLabels, Gauge>,
    backend_limit_refused: Family<LimitRefusalLabels, Counter>,
    /// The handles of unmatched requests (`group=""`, `api=""`).
    unmatched: ApiMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn histograms() -> Family<ApiLabels, Histogram> {
    Family::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS))
}

impl Metrics {
    /// The metrics, all at zero, registered under the prefix `apig_gateway`.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("apig_gateway");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = histograms();
        let upstream_latency = histograms();
        let policy_outcomes = Family::<OutcomeLabels, Counter>::default();
        let backend_errors = Family::<OutcomeLabels, Counter>::default();
        let reloads = Family::<ResultLabels, Counter>::default();
        let generation = Gauge::default();
        let loaded_at = Gauge::<f64, AtomicU64>::default();
        let connections_open = Gauge::default();
        let connections_refused = Counter::default();
        let kafka_sent = Family::<PolicyLabels, Counter>::default();
        let kafka_dropped = Family::<PolicyLabels, Counter>::default();
        let kafka_failed = Family::<PolicyLabels, Counter>::default();
        let upstream_healthy = Family::<ServerLabels, Gauge>::default();
        let backend_in_flight = Family::<BackendServerLabels, Gauge>::default();
        let backend_waiting = Family::<BackendServerLabels, Gauge>::default();
        let backend_connections = Family::<BackendServerLabels, Gauge>::default();
        let backend_limit_refused = Family::<LimitRefusalLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests answered, by group, API, environment, status and APIG error code (empty: none)",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from the request head to the response head, by group and API",
            latency.clone(),
        );
        registry.register(
            "upstream_duration_seconds",
            "Backend time to its response head, by group and API (requests the backend answered)",
            upstream_latency.clone(),
        );
        registry.register(
            "policy_outcomes",
            "Requests refused by a policy: throttled, acl_denied, circuit_open, authorizer_denied, authorizer_unavailable",
            policy_outcomes.clone(),
        );
        registry.register(
            "backend_errors",
            "Backend calls that failed, by group, API and outcome (timeout, unavailable)",
            backend_errors.clone(),
        );
        registry.register("config_reloads", "Config file reloads, by result (ok, unchanged, failed)", reloads.clone());
        registry.register(
            "config_generation",
            "Configurations swapped in since the start (1: the one loaded at start)",
            generation.clone(),
        );
        registry.register(
            "config_loaded_timestamp_seconds",
            "When the running configuration was swapped in (Unix time)",
            loaded_at.clone(),
        );
        registry.register("connections_open", "Client connections open now", connections_open.clone());
        registry.register(
            "connections_refused",
            "Connections refused over gateway.max_connections (APIG.0308)",
            connections_refused.clone(),
        );
        registry.register("kafka_log_sent", "Records the kafka_log policy sent, by policy", kafka_sent.clone());
        registry.register(
            "kafka_log_dropped",
            "Records the kafka_log policy dropped because its queue was full, by policy",
            kafka_dropped.clone(),
        );
        registry.register(
            "kafka_log_failed",
            "Records the kafka_log policy dropped because their batch could not be sent, by policy",
            kafka_failed.clone(),
        );
        registry.register(
            "upstream_server_healthy",
            "Whether an upstream's server is in rotation (1) or taken out by health checks or failed requests (0)",
            upstream_healthy.clone(),
        );
        registry.register(
            "backend_requests_in_flight",
            "Requests in flight to a backend host:port under gateway.backend_limits",
            backend_in_flight.clone(),
        );
        registry.register(
            "backend_requests_waiting",
            "Requests waiting for a connection to a backend host:port at its limit",
            backend_waiting.clone(),
        );
        registry.register(
            "backend_connections_open",
            "Connections open to a backend host:port under gateway.backend_limits",
            backend_connections.clone(),
        );
        registry.register(
            "backend_limit_refused",
            "Requests answered APIG.0202 because a backend host:port was at its limit, by reason (queue_full, timeout)",
            backend_limit_refused.clone(),
        );
        let mut metrics = Self {
            registry,
            requests,
            latency,
            upstream_latency,
            policy_outcomes,
            backend_errors,
            reloads,
            generation,
            loaded_at,
            connections_open,
            connections_refused,
            kafka_sent,
            kafka_dropped,
            kafka_failed,
            upstream_healthy,
            backend_in_flight,
            backend_waiting,
            backend_connections,
            backend_limit_refused,
            unmatched: ApiMetrics::default(),
        };
        let unmatched = metrics.handles("", "");
        metrics.unmatched = unmatched;
        metrics
    }

    /// The handles of API `api` of group `group`.
    fn handles(&self, group: &str, api: &str) -> ApiMetrics {
        let labels = ApiLabels { group: group.to_owned(), api: api.to_owned() };
        let backend = |outcome| {
            self.backend_errors.get_or_create_owned(&OutcomeLabels {
                group: group.to_owned(),
                api: api.to_owned(),
                outcome,
            })
        };
        ApiMetrics {
            group: labels.group.clone(),
            api: labels.api.clone(),
            latency: Some(self.latency.get_or_create_owned(&labels)),
            upstream_latency: Some(self.upstream_latency.get_or_create_owned(&labels)),
            timeouts: backend("timeout"),
            unavailable: backend("unavailable"),
            requests: RwLock::default(),
        }
    }

    /// Records one finished request: `api` is the routed API's handle cell (`None`: unmatched),
    /// `status` and `latency` (to the response head) are its answer's. The one place a request
    /// becomes observations.
    pub fn observe(&self, api: Option<&OnceLock<ApiMetrics>>, ctx: &RequestContext, status: u16, latency: Duration) {
        let handles = match (api, &ctx.api) {
            (Some(cell), Some((api, group))) => cell.get_or_init(|| self.handles(group, api)),
            _ => &self.unmatched,
        };
        // an unmatched request's environment is whatever the client sent: not a label
        let environment = if api.is_some() { ctx.environment.as_str() } else { "" };
        let code = ctx.error.as_ref().map_or("", |(code, _)| code.as_str());
        handles.count(self, environment, status, code);
        if let Some(h) = &handles.latency {
            h.observe(latency.as_secs_f64());
        }
        match ctx.outcome {
            BackendOutcome::Answered(_, took) => {
                if let Some(h) = &handles.upstream_latency {
                    h.observe(took.as_secs_f64());
                }
            }
            BackendOutcome::TimedOut => {
                handles.timeouts.inc();
            }
            BackendOutcome::Unavailable => {
                handles.unavailable.inc();
            }
            BackendOutcome::NotCalled | BackendOutcome::Abandoned => {}
        }
        if let Some(outcome) = policy_outcome(code, status) {
            let labels = OutcomeLabels { group: handles.group.clone(), api: handles.api.clone(), outcome };
            self.policy_outcomes.get_or_create(&labels).inc();
        }
    }

    /// Records a reload's result.
    pub fn reloaded(&self, result: ReloadResult) {
        let result = match result {
            ReloadResult::Ok => "ok",
            ReloadResult::Unchanged => "unchanged",
            ReloadResult::Failed => "failed",
        };
        self.reloads.get_or_create(&ResultLabels { result }).inc();
    }

    /// Records that configuration number `generation` was swapped in now.
    pub fn installed(&self, generation: u64) {
        self.generation.set(i64::try_from(generation).unwrap_or(i64::MAX));
        let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        self.loaded_at.set(now.as_secs_f64());
    }

    /// Records a connection refused over the cap.
    pub fn connection_refused(&self) {
        self.connections_refused.inc();
    }

    /// Sets the open-connections gauge (at each scrape).
    pub fn set_connections_open(&self, open: usize) {
        self.connections_open.set(i64::try_from(open).unwrap_or(i64::MAX));
    }

    /// Sets the Kafka log push counters of policy `policy` (at each scrape, from the policy's own
    /// counters).
    pub fn set_kafka(&self, policy: &str, sent: u64, dropped: u64, failed: u64) {
        let labels = PolicyLabels { policy: policy.to_owned() };
        for (family, value) in [(&self.kafka_sent, sent), (&self.kafka_dropped, dropped), (&self.kafka_failed, failed)]
        {
            family.get_or_create(&labels).inner().store(value, Ordering::Relaxed);
        }
    }

    /// Sets the upstream health gauge (at each scrape, from the running configuration's
    /// upstreams): `servers` are each upstream's `(upstream, server, healthy)`; servers no
    /// longer configured leave the gauge.
    pub fn set_upstream_health<'a>(&self, servers: impl Iterator<Item = (&'a str, String, bool)>) {
        self.upstream_healthy.clear();
        for (upstream, server, healthy) in servers {
            let labels = ServerLabels { upstream: upstream.to_owned(), server };
            self.upstream_healthy.get_or_create(&labels).set(i64::from(healthy));
        }
    }

    /// Sets the backend limit metrics (at each scrape, from the running configuration's limits);
    /// servers no longer limited leave them.
    pub fn set_backend_limits<'a>(&self, limits: impl Iterator<Item = BackendLimitSample<'a>>) {
        self.backend_in_flight.clear();
        self.backend_waiting.clear();
        self.backend_connections.clear();
        self.backend_limit_refused.clear();
        for l in limits {
            let labels = BackendServerLabels { server: l.server.to_owned() };
            self.backend_in_flight.get_or_create(&labels).set(i64::try_from(l.in_flight).unwrap_or(i64::MAX));
            self.backend_waiting.get_or_create(&labels).set(i64::try_from(l.waiting).unwrap_or(i64::MAX));
            self.backend_connections.get_or_create(&labels).set(i64::try_from(l.connections).unwrap_or(i64::MAX));
            for (reason, n) in [("queue_full", l.refused_queue_full), ("timeout", l.refused_timeout)] {
                let labels = LimitRefusalLabels { server: l.server.to_owned(), reason };
                self.backend_limit_refused.get_or_create(&labels).inner().store(n, Ordering::Relaxed);
            }
        }
    }

    /// The metrics in the OpenMetrics text format (which Prometheus scrapes).
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        // writing to a String cannot fail
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// The policy outcome an APIG error code (`APIG.0308`) with `status` stands for.
fn policy_outcome(code: &str, status: u16) -> Option<&'static str> {
    let number = code.rsplit('.').next().unwrap_or("");
    Some(match number {
        "0308" => "throttled",
        "0401" | "0402" | "0405" => "acl_denied",
        // a backend error answered before the call: the circuit breaker's 503
        "0202" if status == 503 => "circuit_open",
        "0312" | "0313" => "authorizer_denied",
        "0314" => "authorizer_unavailable",
        _ => return None,
    })
}

/// The metric handles of one API, resolved once (when its first request is observed) and kept
/// with the compiled API ([`crate::routing::ApiRoute`]).
#[derive(Debug, Default)]
pub struct ApiMetrics {
    group: String,
    api: String,
    latency: Option<Histogram>,
    upstream_latency: Option<Histogram>,
    timeouts: Counter,
    unavailable: Counter,
    /// The API's request counters seen so far, by environment, status and code: a handful per
    /// API, scanned without allocating.
    requests: RwLock<Vec<(String, u16, String, Counter)>>,
}

impl ApiMetrics {
    /// Adds one to the API's request counter for `environment`, `status`, `code`.
    fn count(&self, metrics: &Metrics, environment: &str, status: u16, code: &str) {
        let find = |list: &[(String, u16, String, Counter)]| {
            list.iter().position(|(e, s, c, _)| *s == status && c == code && e == environment)
        };
        if let Ok(list) = self.requests.read()
            && let Some(i) = find(&list)
        {
            list[i].3.inc();
            return;
        }
        let labels = RequestLabels {
            group: self.group.clone(),
            api: self.api.clone(),
            environment: environment.to_owned(),
            status,
            code: code.to_owned(),
        };
        let counter = metrics.requests.get_or_create_owned(&labels);
        counter.inc();
        if let Ok(mut list) = self.requests.write()
            && find(&list).is_none()
        {
            list.push((labels.environment, status, labels.code, counter));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_outcomes_from_codes() {
        assert_eq!(policy_outcome("APIG.0308", 429), Some("throttled"));
        assert_eq!(policy_outcome("APIGW.0402", 403), Some("acl_denied"));
        assert_eq!(policy_outcome("APIG.0202", 503), Some("circuit_open"));
        assert_eq!(policy_outcome("APIG.0202", 502), None);
        assert_eq!(policy_outcome("APIG.0312", 401), Some("authorizer_denied"));
        assert_eq!(policy_outcome("APIG.0303", 401), None);
        assert_eq!(policy_outcome("", 200), None);
    }
}
