//! Active health checks of an upstream's servers: every `interval_ms`, `GET path` on each server
//! (through the same client stack as requests, [`crate::backend_client`]); a 2xx or 3xx answer
//! within `timeout_ms` is a pass. `unhealthy_threshold` failures in a row take a server out of
//! rotation, `healthy_threshold` passes in a row bring it back ([`Upstream::probed`]).
//!
//! One Tokio task per upstream, started when the upstream is compiled and stopped when it is
//! dropped (a reload that changes or removes it); it holds the upstream only while checking.

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use http_body_util::BodyExt as _;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request};

use crate::backend_client::{self, PlainClient};
use crate::body::ForwardBody;
use crate::config::HealthCheckDef;
use crate::upstream::Upstream;

/// The plain-HTTP client of the health checks (one per process).
fn plain() -> &'static PlainClient {
    static CLIENT: OnceLock<PlainClient> = OnceLock::new();
    CLIENT.get_or_init(|| backend_client::plain(backend_client::CONNECT_TIMEOUT))
}

/// Starts `upstream`'s active health checker, if it has one and a Tokio runtime runs; the
/// upstream stops it when dropped.
pub fn start(upstream: &Arc<Upstream>) {
    let Some(check) = upstream.def.health_check.clone() else { return };
    let Ok(handle) = tokio::runtime::Handle::try_current() else { return };
    let task = handle.spawn(run(Arc::downgrade(upstream), check));
    upstream.set_checker(task.abort_handle());
}

/// Checks `upstream`'s servers every `check.interval_ms` until it is dropped.
async fn run(upstream: Weak<Upstream>, check: HealthCheckDef) {
    let interval = Duration::from_millis(check.interval_ms);
    let timeout = Duration::from_millis(check.timeout_ms);
    loop {
        tokio::time::sleep(interval).await;
        let Some(up) = upstream.upgrade() else { return };
        let mut probes = tokio::task::JoinSet::new();
        for i in 0..up.servers().len() {
            let (up, path) = (Arc::clone(&up), check.path.clone());
            probes.spawn(async move { (i, probe(&up, i, &path, timeout).await) });
        }
        while let Some(done) = probes.join_next().await {
            if let Ok((i, passed)) = done {
                up.probed(i, passed, &check);
            }
        }
    }
}

/// One health check of server `i`: whether it answered 2xx or 3xx within `timeout`.
async fn probe(up: &Arc<Upstream>, i: usize, path: &str, timeout: Duration) -> bool {
    let Some(uri) = up.uri(i, path.parse().ok()) else { return false };
    let mut request = Request::new(ForwardBody::Empty);
    *request.method_mut() = Method::GET;
    *request.uri_mut() = uri;
    request.headers_mut().insert(header::USER_AGENT, HeaderValue::from_static("apig-gateway-health-check"));
    let client = up.sender(plain());
    let check = async {
        let response = client.send(request).await.ok()?;
        let status = response.status();
        // the body is read (up to 64 KiB), so that the connection goes back to the pool
        let _ = http_body_util::Limited::new(response.into_body(), 64 * 1024).collect().await;
        Some(status.is_success() || status.is_redirection())
    };
    matches!(tokio::time::timeout(timeout, check).await, Ok(Some(true)))
}
