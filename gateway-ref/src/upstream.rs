//! Upstreams (APIG's VPC channels): a named group of servers that backends refer to
//! (`upstream://NAME[/base-path]`), balanced round robin or by weight (smooth weighted round
//! robin, as nginx), with each server's health: taken out after consecutive failed requests
//! (passive ejection) or failed health checks (`health_check`), brought back by passing
//! health checks (or, without them, tried again after a while).
//!
//! An upstream is part of the compiled configuration ([`crate::routing::Runtime`]); one whose
//! definition a reload leaves as it was is kept, with its servers' health and its checker.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use hyper::Uri;
use hyper::http::uri::{Authority, PathAndQuery, Scheme};

use crate::backend_client::{self, Client, TlsClient};
use crate::config::{Balance, HealthCheckDef, UpstreamDef};

/// Largest server weight.
pub const MAX_WEIGHT: u32 = 1000;

/// One server of an upstream and its health.
#[derive(Debug)]
pub struct Server {
    /// `host:port`, as configured.
    pub authority: Authority,
    /// Weight (`weighted` balance).
    pub weight: u32,
    /// In rotation.
    healthy: AtomicBool,
    /// Requests failed in a row (passive).
    failures: AtomicU32,
    /// When it was ejected passively (milliseconds since the upstream was made).
    ejected_at: AtomicU64,
    /// Health checks passed in a row, failed in a row (active).
    passes: AtomicU32,
    fails: AtomicU32,
}

/// A compiled upstream.
pub struct Upstream {
    /// Its name (the authority of the backend URLs that name it).
    pub name: String,
    /// The definition it was made from (kept on reload when unchanged).
    pub def: UpstreamDef,
    scheme: Scheme,
    /// The TLS client (`scheme: https`).
    tls: Option<std::sync::Arc<TlsClient>>,
    servers: Vec<Server>,
    next: AtomicUsize,
    /// Smooth weighted round robin: each server's current weight.
    current: Mutex<Vec<i64>>,
    born: Instant,
    /// The active health checker, stopped when the upstream is dropped.
    checker: Mutex<Option<tokio::task::AbortHandle>>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream").field("name", &self.name).field("servers", &self.servers).finish_non_exhaustive()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        if let Some(task) = self.checker.get_mut().ok().and_then(Option::take) {
            task.abort();
        }
    }
}

/// The rule for upstream names: they are the authority of `upstream://NAME` URLs.
fn check_name(name: &str) -> Result<(), String> {
    let ok = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    if name.is_empty() || !name.bytes().all(ok) {
        return Err(format!("upstream name {name:?} must be letters, digits, '-', '.', '_' or '~'"));
    }
    Ok(())
}

impl Upstream {
    /// Checks `def` and makes the upstream (its health checker is started by `health_check::start`).
    ///
    /// # Errors
    /// The field at fault (relative: `.servers[1].weight`) and why.
    pub fn new(def: &UpstreamDef) -> Result<Self, (String, String)> {
        check_name(&def.name).map_err(|why| (".name".to_owned(), why))?;
        let scheme = match def.scheme.as_str() {
            "http" => Scheme::HTTP,
            "https" => Scheme::HTTPS,
            other => return Err((".scheme".to_owned(), format!("scheme {other:?} must be \"http\" or \"https\""))),
        };
        if def.servers.is_empty() {
            return Err((".servers".to_owned(), format!("upstream {:?} has no server", def.name)));
        }
        let mut servers = Vec::with_capacity(def.servers.len());
        for (i, s) in def.servers.iter().enumerate() {
            let authority: Authority = s
                .address
                .parse()
                .ok()
                .filter(|a: &Authority| !a.as_str().contains('@') && !a.host().is_empty())
                .ok_or_else(|| {
                    (format!(".servers[{i}].address"), format!("bad server address {:?}: host:port", s.address))
                })?;
            if s.weight == 0 || s.weight > MAX_WEIGHT {
                return Err((
                    format!(".servers[{i}].weight"),
                    format!("weight {} must be 1 to {MAX_WEIGHT}", s.weight),
                ));
            }
            servers.push(Server {
                authority,
                weight: s.weight,
                healthy: AtomicBool::new(true),
                failures: AtomicU32::new(0),
                ejected_at: AtomicU64::new(0),
                passes: AtomicU32::new(0),
                fails: AtomicU32::new(0),
            });
        }
        if let Some(h) = &def.health_check {
            check_health(h).map_err(|(field, why)| (format!(".health_check{field}"), why))?;
        }
        let tls = match (&scheme, &def.tls) {
            (s, Some(_)) if *s == Scheme::HTTP => {
                return Err((".tls".to_owned(), "tls settings need scheme \"https\"".to_owned()));
            }
            (s, tls) if *s == Scheme::HTTPS => Some(
                backend_client::for_backend(&tls.clone().unwrap_or_default())
                    .map_err(|why| (".tls".to_owned(), why))?,
            ),
            _ => None,
        };
        let n = servers.len();
        Ok(Self {
            name: def.name.clone(),
            def: def.clone(),
            scheme,
            tls,
            servers,
            next: AtomicUsize::new(0),
            current: Mutex::new(vec![0; n]),
            born: Instant::now(),
            checker: Mutex::new(None),
        })
    }

    /// Hands the upstream its active health checker ([`crate::health_check::start`]), stopped
    /// when the upstream is dropped.
    pub fn set_checker(&self, task: tokio::task::AbortHandle) {
        if let Ok(mut checker) = self.checker.lock() {
            *checker = Some(task);
        }
    }

    /// The servers.
    pub fn servers(&self) -> &[Server] {
        &self.servers
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether server `i` takes requests: healthy, or (without active checks) ejected long enough
    /// ago to be tried again.
    pub fn is_available(&self, i: usize) -> bool {
        let Some(s) = self.servers.get(i) else { return false };
        if s.healthy.load(Ordering::Acquire) {
            return true;
        }
        self.def.health_check.is_none()
            && self.now_ms().saturating_sub(s.ejected_at.load(Ordering::Acquire)) >= self.def.passive.eject_ms
    }

    /// Whether server `i` is in rotation (the health gauge).
    pub fn is_healthy(&self, i: usize) -> bool {
        self.is_available(i)
    }

    /// The server for the next request, other than `exclude`; `None` when no server is available.
    pub fn pick(&self, exclude: Option<usize>) -> Option<usize> {
        let n = self.servers.len();
        let eligible = |i: usize| Some(i) != exclude && self.is_available(i);
        match self.def.balance {
            Balance::RoundRobin => {
                let start = self.next.fetch_add(1, Ordering::Relaxed);
                (0..n).map(|k| (start + k) % n).find(|&i| eligible(i))
            }
            Balance::Weighted => {
                // smooth weighted round robin (nginx): each eligible server gains its weight, the
                // largest is picked and loses the total
                let mut current = self.current.lock().ok()?;
                let mut total = 0i64;
                let mut best: Option<usize> = None;
                for (i, s) in self.servers.iter().enumerate() {
                    if !eligible(i) {
                        continue;
                    }
                    let w = i64::from(s.weight);
                    current[i] += w;
                    total += w;
                    if best.is_none_or(|b| current[i] > current[b]) {
                        best = Some(i);
                    }
                }
                if let Some(b) = best {
                    current[b] -= total;
                }
                best
            }
        }
    }

    /// The URI of `target` on server `i`.
    pub fn uri(&self, i: usize, target: Option<PathAndQuery>) -> Option<Uri> {
        let mut parts = hyper::http::uri::Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.servers.get(i)?.authority.clone());
        parts.path_and_query = Some(target.unwrap_or_else(|| PathAndQuery::from_static("/")));
        Uri::from_parts(parts).ok()
    }

    /// The client for this upstream's servers.
    pub fn sender<'a>(&'a self, plain: &'a Client) -> &'a Client {
        match &self.tls {
            Some(tls) => tls,
            None => plain,
        }
    }

    /// Records how a request to server `i` went (passive ejection): `false` for a connection
    /// failure or a reset before the answer.
    pub fn record(&self, i: usize, ok: bool) {
        let Some(s) = self.servers.get(i) else { return };
        if ok {
            if s.failures.load(Ordering::Relaxed) != 0 {
                s.failures.store(0, Ordering::Relaxed);
            }
            if self.def.health_check.is_none() && !s.healthy.load(Ordering::Relaxed) {
                s.healthy.store(true, Ordering::Release);
            }
            return;
        }
        let max = self.def.passive.max_failures;
        let failures = s.failures.fetch_add(1, Ordering::AcqRel) + 1;
        if max > 0 && failures >= max {
            s.ejected_at.store(self.now_ms(), Ordering::Release);
            s.passes.store(0, Ordering::Relaxed);
            if s.healthy.swap(false, Ordering::AcqRel) {
                eprintln!(
                    "apig-gateway: upstream {}: server {} ejected after {failures} failed requests",
                    self.name, s.authority
                );
            }
        }
    }

    /// Records a health check of server `i` (active).
    pub fn probed(&self, i: usize, passed: bool, check: &HealthCheckDef) {
        let Some(s) = self.servers.get(i) else { return };
        if passed {
            s.fails.store(0, Ordering::Relaxed);
            let passes = s.passes.fetch_add(1, Ordering::AcqRel) + 1;
            if passes >= check.healthy_threshold && !s.healthy.load(Ordering::Acquire) {
                s.failures.store(0, Ordering::Relaxed);
                s.healthy.store(true, Ordering::Release);
                eprintln!("apig-gateway: upstream {}: server {} healthy again", self.name, s.authority);
            }
        } else {
            s.passes.store(0, Ordering::Relaxed);
            let fails = s.fails.fetch_add(1, Ordering::AcqRel) + 1;
            if fails >= check.unhealthy_threshold && s.healthy.swap(false, Ordering::AcqRel) {
                eprintln!("apig-gateway: upstream {}: server {} failed {fails} health checks", self.name, s.authority);
            }
        }
    }
}

/// Checks the health-check settings.
fn check_health(h: &HealthCheckDef) -> Result<(), (String, String)> {
    if !h.path.starts_with('/') || h.path.parse::<PathAndQuery>().is_err() {
        return Err((".path".to_owned(), format!("path {:?} must start with '/'", h.path)));
    }
    if h.interval_ms == 0 || h.timeout_ms == 0 {
        return Err(("".to_owned(), "interval_ms and timeout_ms must be > 0".to_owned()));
    }
    if h.healthy_threshold == 0 || h.unhealthy_threshold == 0 {
        return Err(("".to_owned(), "healthy_threshold and unhealthy_threshold must be > 0".to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{PassiveDef, ServerDef};

    fn upstream(balance: Balance, weights: &[u32]) -> Upstream {
        let servers = weights
            .iter()
            .enumerate()
            .map(|(i, &weight)| ServerDef { address: format!("127.0.0.1:{}", 9000 + i), weight });
        Upstream::new(&UpstreamDef {
            name: "u".to_owned(),
            scheme: "http".to_owned(),
            balance,
            servers: servers.collect(),
            tls: None,
            health_check: None,
            passive: PassiveDef { max_failures: 2, eject_ms: 60_000 },
            max_connections: None,
        })
        .unwrap()
    }

    #[test]
    fn smooth_weighted_round_robin_spreads_by_weight() {
        let u = upstream(Balance::Weighted, &[5, 1, 1]);
        let picks: Vec<usize> = (0..7).map(|_| u.pick(None).unwrap()).collect();
        // nginx's sequence for 5, 1, 1: a a b a c a a
        assert_eq!(picks, [0, 0, 1, 0, 2, 0, 0]);
    }

    #[test]
    fn round_robin_skips_ejected_servers_and_the_excluded_one() {
        let u = upstream(Balance::RoundRobin, &[1, 1, 1]);
        let picks: Vec<usize> = (0..6).map(|_| u.pick(None).unwrap()).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
        u.record(1, false);
        assert!(u.is_available(1));
        u.record(1, false);
        assert!(!u.is_available(1));
        assert!((0..6).all(|_| u.pick(None) != Some(1)));
        assert_ne!(u.pick(Some(0)), Some(0));
        u.record(0, false);
        u.record(0, false);
        u.record(2, false);
        u.record(2, false);
        assert_eq!(u.pick(None), None);
    }

    #[test]
    fn bad_definitions_name_the_field() {
        let mut def = upstream(Balance::Weighted, &[1]).def.clone();
        def.servers[0].weight = 0;
        assert_eq!(Upstream::new(&def).unwrap_err().0, ".servers[0].weight");
        def.servers.clear();
        assert_eq!(Upstream::new(&def).unwrap_err().0, ".servers");
        def.servers.push(ServerDef { address: "a b".to_owned(), weight: 1 });
        assert_eq!(Upstream::new(&def).unwrap_err().0, ".servers[0].address");
    }
}
