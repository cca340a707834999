//! Request throttling: limits per API, per user, per app and per client IP in a fixed time window,
//! per API or shared by every API the policy is bound to, with per-app and per-user exceptions and
//! throttling 2.0 rules ([`super::throttle_rules`]).
//!
//! ```json
//! {"name": "standard", "type": "throttle", "config": {
//!   "api_limit": 1000, "user_limit": 500, "app_limit": 100, "ip_limit": 50,
//!   "interval": 1, "unit": "minute", "scope": "per_api",
//!   "special_apps": [{"app": "web-shop", "limit": 300}],
//!   "special_users": [{"user": "alice", "limit": 1000}],
//!   "user_header": "X-User-Id", "client_ip_header": null,
//!   "rules": [], "store": {"type": "memory"}}}
//! ```
//! Excess gets `APIG.0308` 429 with APIG's text, `The throttling threshold has been reached: policy
//! app over ratelimit, limit:100, time:1 minute`. With `X-Apig-Mode: debug` every response carries
//! `X-Apig-RateLimit-Api|User|App|Ip|Rule: remain:9,limit:10,time:10 second`.
//!
//! Counters are incremented after authentication (the app is known then), in one store call per
//! request. The store is `memory` (this process) or `redis` (shared by a cluster:
//! `{"type": "redis", "url": "redis://127.0.0.1:6379", "prefix": "apig:throttle", "timeout_ms": 200,
//! "fail_open": true}`). A request waits for Redis at most `timeout_ms`, whatever the fault. When the
//! store fails the request is let through (`fail_open`, the default, like Kong's `fault_tolerant`)
//! or refused with `APIG.0308` 429 (`"fail_open": false`); the failure is marked in the access log
//! (`"extra": {"throttle_store_error": true}`) and printed at most once per second.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hyper::StatusCode;
use hyper::header::{HeaderName, HeaderValue};
use serde::Deserialize;

use super::access_control::client_ip;
use super::counter::{Count, CounterStore, MemoryStore, Slot, now_ms};
use super::redis_store::RedisStore;
use super::throttle_rules::{Param, Rule, RuleAction, RuleConfig, Unit};
use super::{BackendOutcome, Decision, Policy, RequestContext, Stage};
use crate::access_log::{AccessRecord, ipv4_text};
use crate::error::GatewayError;

/// `APIG.0308` 429 with APIG's message.
pub fn over_limit(policy: &str, limit: u64, interval: u64, unit: Unit) -> GatewayError {
    GatewayError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "0308",
        format!(
            "The throttling threshold has been reached: policy {policy} over ratelimit, limit:{limit}, time:{interval} {}",
            unit.name()
        ),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Scope {
    #[default]
    PerApi,
    Shared,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Special<K> {
    #[serde(alias = "app", alias = "user")]
    id: K,
    limit: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "type", rename_all = "snake_case")]
enum StoreConfig {
    Memory,
    Redis {
        url: String,
        #[serde(default = "default_prefix")]
        prefix: String,
        #[serde(default = "default_store_timeout")]
        timeout_ms: u64,
        #[serde(default = "default_fail_open")]
        fail_open: bool,
    },
}

fn default_prefix() -> String {
    "apig:throttle".to_owned()
}

fn default_store_timeout() -> u64 {
    200
}

fn default_fail_open() -> bool {
    true
}

fn default_interval() -> u64 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThrottleConfig {
    #[serde(default)]
    api_limit: Option<u64>,
    #[serde(default)]
    user_limit: Option<u64>,
    #[serde(default)]
    app_limit: Option<u64>,
    #[serde(default)]
    ip_limit: Option<u64>,
    #[serde(default = "default_interval")]
    interval: u64,
    #[serde(default)]
    unit: Unit,
    #[serde(default)]
    scope: Scope,
    #[serde(default)]
    special_apps: Vec<Special<String>>,
    #[serde(default)]
    special_users: Vec<Special<String>>,
    #[serde(default)]
    user_header: Option<String>,
    #[serde(default)]
    client_ip_header: Option<String>,
    #[serde(default)]
    rules: Vec<RuleConfig>,
    #[serde(default)]
    store: Option<StoreConfig>,
}

/// What a limit counts, for messages and debug headers.
#[derive(Debug, Clone, Copy)]
enum Dimension<'a> {
    Api,
    User,
    App,
    Ip,
    Rule(&'a str),
}

impl Dimension<'_> {
    fn header(self) -> HeaderName {
        HeaderName::from_static(match self {
            Self::Api => "x-apig-ratelimit-api",
            Self::User => "x-apig-ratelimit-user",
            Self::App => "x-apig-ratelimit-app",
            Self::Ip => "x-apig-ratelimit-ip",
            Self::Rule(_) => "x-apig-ratelimit-rule",
        })
    }

    /// `api`, `user`, `app`, `ip` or `rule:NAME`, as in APIG's message.
    fn label(self) -> std::borrow::Cow<'static, str> {
        match self {
            Self::Api => "api".into(),
            Self::User => "user".into(),
            Self::App => "app".into(),
            Self::Ip => "ip".into(),
            Self::Rule(name) => format!("rule:{name}").into(),
        }
    }
}

/// One limit checked for a request.
#[derive(Debug, Clone, Copy)]
struct Check<'a> {
    dimension: Dimension<'a>,
    /// The user or app of a per-user / per-app counter.
    who: &'a str,
    limit: u64,
    interval: u64,
    unit: Unit,
}

/// The most limits one request can meet: api, user, app, ip and one 2.0 rule.
const MAX_CHECKS: usize = 5;

/// The limits that apply to a request, in order (no allocation: at most [`MAX_CHECKS`]).
#[derive(Debug, Default)]
struct Plan<'a> {
    checks: [Option<Check<'a>>; MAX_CHECKS],
    /// The matching rule's `count_by` value, part of its counter key.
    by: Option<Cow<'a, str>>,
}

impl<'a> Plan<'a> {
    fn push(&mut self, check: Check<'a>) {
        if let Some(free) = self.checks.iter_mut().find(|c| c.is_none()) {
            *free = Some(check);
        }
    }

    fn checks(&self) -> impl Iterator<Item = &Check<'a>> {
        self.checks.iter().flatten()
    }
}

/// What the debug headers show, handed from `after_auth` to `on_response`.
#[derive(Debug, Clone, Default)]
struct Counters(Vec<(HeaderName, HeaderValue)>);

/// A store failure seen by this request.
#[derive(Debug, Clone, Copy)]
struct StoreFailed;

/// The throttling policy.
#[derive(Debug)]
pub struct Throttle {
    name: String,
    api_limit: Option<u64>,
    user_limit: Option<u64>,
    app_limit: Option<u64>,
    ip_limit: Option<u64>,
    interval: u64,
    unit: Unit,
    scope: Scope,
    special_apps: Vec<Special<String>>,
    special_users: Vec<Special<String>>,
    user_header: HeaderName,
    client_ip_header: Option<String>,
    rules: Vec<Rule>,
    store: Arc<dyn CounterStore>,
    /// The store when it is this process's memory: counted without a future.
    memory: Option<Arc<MemoryStore>>,
    /// Let requests through when the store fails (else refuse them).
    fail_open: bool,
    last_error_report: AtomicU64,
}

impl Throttle {
    /// Reads the settings of the policy named `name`.
    ///
    /// # Errors
    /// Unknown fields, no limit at all, a zero interval, a bad rule or Redis URL.
    pub fn from_config(name: &str, config: &serde_json::Value) -> Result<Self, String> {
        let c: ThrottleConfig = serde_json::from_value(config.clone()).map_err(|e| format!("throttle: {e}"))?;
        if c.interval == 0 {
            return Err("throttle: interval must be > 0".to_owned());
        }
        let rules = c
            .rules
            .into_iter()
            .map(|r| Rule::compile(r, c.interval, c.unit))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("throttle: {e}"))?;
        let limits = [c.api_limit, c.user_limit, c.app_limit, c.ip_limit];
        if limits.iter().all(Option::is_none)
            && c.special_apps.is_empty()
            && c.special_users.is_empty()
            && !rules.iter().any(|r| matches!(r.action, RuleAction::Limit { .. }))
        {
            return Err("throttle: give at least one of api_limit, user_limit, app_limit, ip_limit, rules".to_owned());
        }
        let (store, memory, fail_open): (Arc<dyn CounterStore>, _, _) = match c.store {
            None | Some(StoreConfig::Memory) => {
                let memory = Arc::new(MemoryStore::default());
                (Arc::clone(&memory) as Arc<dyn CounterStore>, Some(memory), true)
            }
            Some(StoreConfig::Redis { url, prefix, timeout_ms, fail_open }) => {
                let timeout = Duration::from_millis(timeout_ms.max(1));
                (Arc::new(RedisStore::new(&url, &prefix, timeout)?) as _, None, fail_open)
            }
        };
        let user_header = c.user_header.as_deref().unwrap_or("x-user-id");
        let user_header = HeaderName::from_bytes(user_header.as_bytes())
            .map_err(|_| format!("throttle: bad user_header {user_header:?}"))?;
        Ok(Self {
            name: name.to_owned(),
            api_limit: c.api_limit,
            user_limit: c.user_limit,
            app_limit: c.app_limit,
            ip_limit: c.ip_limit,
            interval: c.interval,
            unit: c.unit,
            scope: c.scope,
            special_apps: c.special_apps,
            special_users: c.special_users,
            user_header,
            client_ip_header: c.client_ip_header.map(|h| h.to_ascii_lowercase()),
            rules,
            store,
            memory,
            fail_open,
            last_error_report: AtomicU64::new(0),
        })
    }

    fn window(&self, check: &Check<'_>) -> Duration {
        Duration::from_secs(check.interval.saturating_mul(check.unit.seconds()))
    }

    /// Writes the counter key of `check` into `key`: the policy, the API unless the scope is
    /// shared, the dimension (`api`, `user:ID`, `app:ID`, `ip:ADDRESS`, `rule:NAME[:VALUE]`),
    /// `:`-separated.
    fn write_key(&self, ctx: &RequestContext, plan: &Plan<'_>, check: &Check<'_>, ip: IpAddr, key: &mut String) {
        use std::fmt::Write as _;
        key.clear();
        key.push_str(&self.name);
        if let (Some((api, _)), Scope::PerApi) = (&ctx.api, self.scope) {
            key.push(':');
            key.push_str(api);
        }
        let mut part = |p: &str| {
            key.push(':');
            key.push_str(p);
        };
        match check.dimension {
            Dimension::Api => part("api"),
            Dimension::User => {
                part("user");
                part(check.who);
            }
            Dimension::App => {
                part("app");
                part(check.who);
            }
            Dimension::Ip => {
                part("ip");
                match ip {
                    // the dotted quad without `Display`'s padding support
                    IpAddr::V4(v4) => {
                        let (quad, len) = ipv4_text(v4);
                        part(std::str::from_utf8(&quad[..len]).unwrap_or_default());
                    }
                    IpAddr::V6(_) => {
                        let _ = write!(key, ":{ip}");
                    }
                }
            }
            Dimension::Rule(name) => {
                part("rule");
                part(name);
                if let Some(by) = &plan.by {
                    part(by);
                }
            }
        }
    }

    /// The limits that apply to the request (`None`: excluded by a rule).
    fn plan<'a>(&'a self, ctx: &'a RequestContext, ip: IpAddr) -> Option<Plan<'a>> {
        let rule = self.rules.iter().find(|r| r.matches(ctx, ip));
        if rule.is_some_and(|r| matches!(r.action, RuleAction::Exclude)) {
            return None;
        }
        let basic = |dimension, who, limit| Check { dimension, who, limit, interval: self.interval, unit: self.unit };
        let mut plan = Plan::default();
        if let Some(limit) = self.api_limit {
            plan.push(basic(Dimension::Api, "", limit));
        }
        let user = ctx.headers.get(&self.user_header).and_then(|v| v.to_str().ok()).filter(|u| !u.is_empty());
        if let Some(user) = user {
            let special = self.special_users.iter().find(|s| s.id == user).map(|s| s.limit);
            if let Some(limit) = special.or(self.user_limit) {
                plan.push(basic(Dimension::User, user, limit));
            }
        }
        if let Some(caller) = &ctx.caller {
            let special =
                self.special_apps.iter().find(|s| s.id == caller.app_id || s.id == caller.app_key).map(|s| s.limit);
            if let Some(limit) = special.or(self.app_limit) {
                plan.push(basic(Dimension::App, &caller.app_id, limit));
            }
        }
        if let Some(limit) = self.ip_limit {
            plan.push(basic(Dimension::Ip, "", limit));
        }
        if let Some(rule) = rule
            && let RuleAction::Limit { limit, interval, unit, count_by } = &rule.action
        {
            plan.by = count_by.as_ref().map(|p: &Param| p.value(ctx, ip).unwrap_or_default());
            plan.push(Check {
                dimension: Dimension::Rule(&rule.name),
                who: "",
                limit: *limit,
                interval: *interval,
                unit: *unit,
            });
        }
        Some(plan)
    }

    /// The decision for the counts of `plan`'s slots.
    fn decide(&self, ctx: &RequestContext, plan: &Plan<'_>, counts: &[Count]) -> Decision {
        let mut exceeded = None;
        let mut shown = Counters::default();
        for (check, count) in plan.checks().zip(counts) {
            if count.count > check.limit && exceeded.is_none() {
                exceeded = Some(check);
            }
            if ctx.debug {
                let text = format!(
                    "remain:{},limit:{},time:{} {}",
                    check.limit.saturating_sub(count.count),
                    check.limit,
                    check.interval,
                    check.unit.name()
                );
                if let Ok(v) = HeaderValue::from_str(&text) {
                    shown.0.push((check.dimension.header(), v));
                }
            }
        }
        if ctx.debug
            && let Ok(mut ext) = ctx.extensions.lock()
        {
            ext.insert(shown);
        }
        match exceeded {
            Some(c) => Decision::Reject(over_limit(&c.dimension.label(), c.limit, c.interval, c.unit)),
            None => Decision::Continue,
        }
    }

    fn store_failed(&self, ctx: &RequestContext, error: &str) -> Decision {
        self.report_store_error(error);
        if let Ok(mut ext) = ctx.extensions.lock() {
            ext.insert(StoreFailed);
        }
        if self.fail_open {
            Decision::Continue
        } else {
            Decision::Reject(GatewayError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "0308",
                format!("The throttling threshold has been reached: policy {} cannot count requests now", self.name),
            ))
        }
    }

    /// Checks the request: synchronously with the in-memory store, else through the store's future.
    fn check<'a>(&'a self, ctx: &'a RequestContext) -> Stage<'a> {
        let ip = match client_ip(ctx, self.client_ip_header.as_deref()) {
            Ok(ip) => ip,
            Err(e) => return Stage::Done(Decision::Reject(e)),
        };
        let plan = match self.plan(ctx, ip) {
            Some(plan) if plan.checks().next().is_some() => plan,
            _ => return Stage::Done(Decision::Continue),
        };
        let now = now_ms();
        let mut key = String::with_capacity(96);
        if let Some(memory) = &self.memory {
            // one key buffer for every counter; the store copies a key only for a new counter
            let mut counts = [Count { count: 0, reset_ms: 0 }; MAX_CHECKS];
            for (check, count) in plan.checks().zip(&mut counts) {
                self.write_key(ctx, &plan, check, ip, &mut key);
                *count = memory.hit_key(&key, self.window(check), now);
            }
            return Stage::Done(self.decide(ctx, &plan, &counts));
        }
        let slots: Vec<Slot> = plan
            .checks()
            .map(|check| {
                self.write_key(ctx, &plan, check, ip, &mut key);
                Slot { key: key.clone(), window: self.window(check) }
            })
            .collect();
        Stage::Pending(Box::pin(async move {
            match self.store.hit(&slots, now).await {
                Ok(counts) => self.decide(ctx, &plan, &counts),
                Err(e) => self.store_failed(ctx, &e),
            }
        }))
    }

    fn report_store_error(&self, error: &str) {
        let now = now_ms() / 1000;
        let last = self.last_error_report.swap(now, Ordering::Relaxed);
        if last != now {
            eprintln!(
                "apig-gateway: throttle {:?}: counter store failed, {} requests: {error}",
                self.name,
                if self.fail_open { "letting through" } else { "refusing" }
            );
        }
    }
}

impl Policy for Throttle {
    fn kind(&self) -> &'static str {
        "throttle"
    }

    fn after_auth<'a>(&'a self, ctx: &'a RequestContext) -> Stage<'a> {
        self.check(ctx)
    }

    fn on_response(
        &self,
        ctx: &RequestContext,
        _outcome: BackendOutcome,
        response: &mut hyper::http::response::Parts,
        record: &mut AccessRecord<'_>,
    ) {
        let Ok(ext) = ctx.extensions.lock() else { return };
        if ext.get::<StoreFailed>().is_some() {
            record.extra.insert("throttle_store_error", serde_json::Value::Bool(true));
        }
        if ctx.debug
            && let Some(counters) = ext.get::<Counters>()
        {
            for (name, value) in &counters.0 {
                response.headers.append(name.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_matches_apig() {
        let e = over_limit("api", 10, 1, Unit::Second);
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(e.code, "0308");
        assert!(e.message.ends_with("policy api over ratelimit, limit:10, time:1 second"), "{}", e.message);
    }

    fn context(target: &str) -> RequestContext {
        let mut headers = hyper::HeaderMap::new();
        headers.insert("x-user-id", HeaderValue::from_static("alice"));
        let mut ctx = RequestContext::for_test("", target, headers);
        ctx.api = Some(("a".to_owned(), "g".to_owned()));
        ctx.caller =
            Some(super::super::Caller { app_id: "app-1".to_owned(), app_key: "key-1".to_owned(), method: "app" });
        ctx
    }

    /// The counter keys of a request, in check order.
    fn keys(t: &Throttle, ctx: &RequestContext, ip: IpAddr) -> Vec<String> {
        let plan = t.plan(ctx, ip).unwrap();
        let mut key = String::from("stale text is cleared");
        plan.checks()
            .map(|c| {
                t.write_key(ctx, &plan, c, ip, &mut key);
                key.clone()
            })
            .collect()
    }

    #[test]
    fn ip_keys_are_the_addresses() {
        let t = Throttle::from_config("t", &serde_json::json!({"ip_limit": 1, "scope": "shared"})).unwrap();
        let ctx = context("/");
        for ip in ["0.0.0.0", "10.0.12.255", "192.168.100.9", "::1", "fd00::1:2"] {
            assert_eq!(keys(&t, &ctx, ip.parse().unwrap()), [format!("t:ip:{ip}")]);
        }
    }

    #[test]
    fn keys_name_the_policy_api_and_dimension() {
        let config = serde_json::json!({"api_limit": 9, "user_limit": 9, "app_limit": 9, "ip_limit": 9,
            "rules": [{"name": "by-tier", "limit": 9, "count_by": "query:tier",
                       "conditions": [{"param": "query:tier", "op": "exists"}]}]});
        let t = Throttle::from_config("p", &config).unwrap();
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(
            keys(&t, &context("/x?tier=gold"), ip),
            ["p:a:api", "p:a:user:alice", "p:a:app:app-1", "p:a:ip:10.1.2.3", "p:a:rule:by-tier:gold"]
        );
        assert_eq!(keys(&t, &context("/x"), ip), ["p:a:api", "p:a:user:alice", "p:a:app:app-1", "p:a:ip:10.1.2.3"]);
        let mut shared = config.clone();
        shared["scope"] = "shared".into();
        shared["rules"][0].as_object_mut().unwrap().remove("count_by");
        let t = Throttle::from_config("p", &shared).unwrap();
        assert_eq!(
            keys(&t, &context("/x?tier=gold"), ip),
            ["p:api", "p:user:alice", "p:app:app-1", "p:ip:10.1.2.3", "p:rule:by-tier"]
        );
    }

    #[test]
    fn refuses_bad_configs() {
        for bad in [
            serde_json::json!({}),
            serde_json::json!({"api_limit": 1, "interval": 0}),
            serde_json::json!({"api_limit": 1, "unit": "week"}),
            serde_json::json!({"api_limit": 1, "store": {"type": "redis", "url": "nope://"}}),
            serde_json::json!({"api_limit": 1, "rules": [{"name": "x"}]}),
        ] {
            assert!(Throttle::from_config("t", &bad).is_err(), "{bad}");
        }
        assert!(Throttle::from_config("t", &serde_json::json!({"app_limit": 3, "unit": "day"})).is_ok());
    }
}
