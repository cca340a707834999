//! Per-API policies: an ordered pipeline of plug-ins, each hooking one or more stages of the
//! request path.
//!
//! ```text
//! routed ─▶ before_auth ─▶ (authentication) ─▶ after_auth ─▶ before_backend ─▶ backend ─▶ on_response
//! ```
//! * [`Policy::before_auth`] (async): may answer the request itself: CORS preflight, IP/app
//!   access control, throttling by source IP.
//! * [`Policy::after_auth`] (async): knows the app: throttling per app/user, third-party authorizer.
//! * [`Policy::before_backend`]: edits the upstream request (backend signing) or short-circuits
//!   (an open circuit breaker).
//! * [`Policy::on_response`]: edits the response head on every answer, errors included (CORS
//!   headers, response header rules), sees the backend outcome (circuit breaker), adds fields to
//!   the access-log record (log push).
//!
//! A policy is configured by a named [`PolicyDef`] and bound to APIs by name; [`TYPES`], the one
//! table of policy types, maps a definition's `type` to its constructor, one file per type in this
//! folder. A compiled policy keeps its state (counters, breaker, cache, queue) across reloads and
//! admin changes that leave its definition as it was ([`crate::routing::Runtime::compile_after`]).

pub mod access_control;
pub mod authorizer;
pub mod backend_signing;
pub mod circuit_breaker;
pub mod cors;
pub mod counter;
pub mod kafka_log;
pub mod redis_store;
pub mod response_headers;
pub mod throttle;
pub mod throttle_rules;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use hyper::Response;

use crate::access_log::AccessRecord;
use crate::body::{Body, ForwardBody};
use crate::config::PolicyDef;
use crate::error::GatewayError;

pub use crate::context::{BackendOutcome, Caller, RequestContext, extensions};

/// What a policy stage decides.
pub enum Decision {
    /// Go on with the next policy / stage.
    Continue,
    /// Answer the request with this response now (e.g. a CORS preflight).
    Respond(Response<Body>),
    /// Answer with an APIG error now.
    Reject(GatewayError),
}

/// The future of an async stage.
pub type StageFuture<'a> = Pin<Box<dyn Future<Output = Decision> + Send + 'a>>;

/// What an async stage returns: its decision when it could make it at once (no allocation —
/// access lists, CORS, in-memory counters, a cached authorizer verdict), else the future that
/// will (a Redis round trip, an authorizer call).
pub enum Stage<'a> {
    /// Decided.
    Done(Decision),
    /// Decided once the future completes.
    Pending(StageFuture<'a>),
}

impl From<Decision> for Stage<'_> {
    fn from(decision: Decision) -> Self {
        Self::Done(decision)
    }
}

/// A per-API policy. Every stage has a default that does nothing.
pub trait Policy: Send + Sync + std::fmt::Debug {
    /// The policy type (`cors`, …).
    fn kind(&self) -> &'static str;

    /// Before authentication.
    fn before_auth<'a>(&'a self, _ctx: &'a RequestContext) -> Stage<'a> {
        Stage::Done(Decision::Continue)
    }

    /// Before the request body is read, with `ctx.caller` set to the caller the request claims:
    /// its AppCode or key is known, the signature's checks that need no body passed and the app is
    /// authorised, but a signature is not verified yet. For checks without side effects that can
    /// refuse a request before its body is read (the app ACL); a policy that counts or calls out
    /// (throttle, authorizer) waits for [`Policy::after_auth`], so that a request with a forged
    /// signature never counts against the app it names.
    fn before_body<'a>(&'a self, _ctx: &'a RequestContext) -> Stage<'a> {
        Stage::Done(Decision::Continue)
    }

    /// After authentication (`ctx.caller` is set for authenticated APIs).
    fn after_auth<'a>(&'a self, _ctx: &'a RequestContext) -> Stage<'a> {
        Stage::Done(Decision::Continue)
    }

    /// Before the backend call, with the upstream request head to edit and the body that will be
    /// sent (buffered when the request was signed, streamed otherwise).
    fn before_backend(
        &self,
        _ctx: &RequestContext,
        _upstream: &mut hyper::http::request::Parts,
        _body: &ForwardBody,
    ) -> Decision {
        Decision::Continue
    }

    /// On every response (errors included), with the response head to edit.
    fn on_response(
        &self,
        _ctx: &RequestContext,
        _outcome: BackendOutcome,
        _response: &mut hyper::http::response::Parts,
        _record: &mut AccessRecord<'_>,
    ) {
    }

    /// Whether [`Policy::on_log`] needs this request's finished access-log record even when the
    /// access log itself is off. Asked once per request, after the response head; a policy that
    /// answers `false` is not given the record (so one that would drop it can say so here and spare
    /// the gateway building it).
    fn wants_log(&self) -> bool {
        false
    }

    /// With the finished access-log record (status and latencies set), after the response head;
    /// `json` is the record as its JSON line (without the newline) when the gateway has already
    /// made it for the access log, so a policy that wants the JSON need not make it again.
    fn on_log(&self, _ctx: &RequestContext, _record: &AccessRecord<'_>, _json: Option<&[u8]>) {}

    /// A log push policy's counters (records sent, dropped as the queue was full, dropped as
    /// their batch failed), for the metrics; `None` for other policies.
    fn push_counts(&self) -> Option<(u64, u64, u64)> {
        None
    }
}

/// The bit of the `i`-th bound policy in a [`Pipeline::wants_log`] mask.
fn log_bit(i: usize) -> u64 {
    1 << i.min(63)
}

/// The policies bound to one API, in binding order.
#[derive(Debug, Clone, Default)]
pub struct Pipeline(Vec<Arc<dyn Policy>>);

impl Pipeline {
    /// A pipeline of `policies`.
    pub fn new(policies: Vec<Arc<dyn Policy>>) -> Self {
        Self(policies)
    }

    /// Whether no policy is bound.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Runs every policy's [`Policy::before_auth`]; the first that does not continue wins.
    pub async fn before_auth(&self, ctx: &RequestContext) -> Decision {
        self.run(ctx, |p, ctx| p.before_auth(ctx)).await
    }

    /// Runs every policy's [`Policy::before_body`].
    pub async fn before_body(&self, ctx: &RequestContext) -> Decision {
        self.run(ctx, |p, ctx| p.before_body(ctx)).await
    }

    /// Runs every policy's [`Policy::after_auth`].
    pub async fn after_auth(&self, ctx: &RequestContext) -> Decision {
        self.run(ctx, |p, ctx| p.after_auth(ctx)).await
    }

    /// Runs one stage of every policy in binding order; the first that does not continue wins.
    async fn run<'a>(
        &'a self,
        ctx: &'a RequestContext,
        stage: impl Fn(&'a dyn Policy, &'a RequestContext) -> Stage<'a>,
    ) -> Decision {
        for p in &self.0 {
            let decision = match stage(p.as_ref(), ctx) {
                Stage::Done(decision) => decision,
                Stage::Pending(future) => future.await,
            };
            if !matches!(decision, Decision::Continue) {
                return decision;
            }
        }
        Decision::Continue
    }

    /// Runs every policy's [`Policy::before_backend`].
    pub fn before_backend(
        &self,
        ctx: &RequestContext,
        upstream: &mut hyper::http::request::Parts,
        body: &ForwardBody,
    ) -> Decision {
        for p in &self.0 {
            match p.before_backend(ctx, upstream, body) {
                Decision::Continue => {}
                other => return other,
            }
        }
        Decision::Continue
    }

    /// Runs every policy's [`Policy::on_response`], in reverse binding order (like middleware unwinding).
    pub fn on_response(
        &self,
        ctx: &RequestContext,
        outcome: BackendOutcome,
        response: &mut hyper::http::response::Parts,
        record: &mut AccessRecord<'_>,
    ) {
        for p in self.0.iter().rev() {
            p.on_response(ctx, outcome, response, record);
        }
    }

    /// Which policies want this request's finished access-log record: bit `i` for the `i`-th bound
    /// policy (every policy is asked once; the 64th and later share the last bit). `0`: none.
    pub fn wants_log(&self) -> u64 {
        self.0.iter().enumerate().filter(|(_, p)| p.wants_log()).fold(0, |mask, (i, _)| mask | log_bit(i))
    }

    /// Runs [`Policy::on_log`] of the policies in `wanted` (from [`Pipeline::wants_log`]).
    /// `json` as for [`Policy::on_log`].
    pub fn on_log(&self, ctx: &RequestContext, record: &AccessRecord<'_>, json: Option<&[u8]>, wanted: u64) {
        for (i, p) in self.0.iter().enumerate() {
            if wanted & log_bit(i) != 0 {
                p.on_log(ctx, record, json);
            }
        }
    }
}

/// A policy type: the name a definition gives as its `type`, and the constructor that checks the
/// definition's `config` and builds the policy.
#[derive(Clone, Copy)]
pub struct PolicyType {
    /// The `type` of a definition.
    pub name: &'static str,
    /// Checks a definition of this type and builds its policy (the message names what is wrong).
    pub build: fn(&PolicyDef) -> Result<Arc<dyn Policy>, String>,
}

impl std::fmt::Debug for PolicyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyType").field("name", &self.name).finish_non_exhaustive()
    }
}

/// Every policy type, one file each in this folder: the one table that config parsing (and so
/// the admin API), the error for an unknown type and the policy example test go by. A new policy
/// is a new [`Policy`] implementor and a row here; the request path does not change.
pub const TYPES: &[PolicyType] = &[
    PolicyType { name: "cors", build: |d| Ok(Arc::new(cors::Cors::from_config(&d.config)?)) },
    PolicyType { name: "throttle", build: |d| Ok(Arc::new(throttle::Throttle::from_config(&d.name, &d.config)?)) },
    PolicyType {
        name: "access_control",
        build: |d| Ok(Arc::new(access_control::AccessControl::from_config(&d.config)?)),
    },
    PolicyType {
        name: "backend_signing",
        build: |d| Ok(Arc::new(backend_signing::BackendSigning::from_config(&d.config)?)),
    },
    PolicyType {
        name: "response_headers",
        build: |d| Ok(Arc::new(response_headers::ResponseHeaders::from_config(&d.config)?)),
    },
    PolicyType {
        name: "circuit_breaker",
        build: |d| Ok(Arc::new(circuit_breaker::CircuitBreaker::from_config(&d.name, &d.config)?)),
    },
    PolicyType { name: "authorizer", build: |d| Ok(Arc::new(authorizer::Authorizer::from_config(&d.config)?)) },
    PolicyType { name: "kafka_log", build: |d| Ok(Arc::new(kafka_log::KafkaLog::from_config(&d.name, &d.config)?)) },
];

/// Builds the policy a definition describes.
///
/// # Errors
/// An unknown `type` (the message lists the known ones, from [`TYPES`]), or settings the type
/// refuses; the message never shows a credential of the config (see
/// [`crate::redact::policy_error`]).
pub fn build(def: &PolicyDef) -> Result<Arc<dyn Policy>, String> {
    build_type(def).map_err(|why| crate::redact::policy_error(&why, &def.config))
}

fn build_type(def: &PolicyDef) -> Result<Arc<dyn Policy>, String> {
    match TYPES.iter().find(|t| t.name == def.kind) {
        Some(t) => (t.build)(def),
        None => {
            let known: Vec<&str> = TYPES.iter().map(|t| t.name).collect();
            Err(format!("unknown policy type {:?} (known: {})", def.kind, known.join(", ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_builds_policies_of_its_kind_and_unknown_types_list_the_table() {
        for t in TYPES {
            assert_eq!(TYPES.iter().filter(|u| u.name == t.name).count(), 1, "{} twice", t.name);
        }
        let def = |kind: &str| PolicyDef { name: "p".into(), kind: kind.into(), config: serde_json::json!({}) };
        // a row builds a policy of its kind
        assert_eq!(build(&def("cors")).map(|p| p.kind()).ok(), Some("cors"));
        let e = build(&def("nope")).err().unwrap_or_default();
        let names: Vec<&str> = TYPES.iter().map(|t| t.name).collect();
        assert_eq!(e, format!("unknown policy type \"nope\" (known: {})", names.join(", ")));
    }
}
