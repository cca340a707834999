//! The status listener (`--status-listen ADDR`): `GET /metrics` ([`crate::metrics`], in the
//! OpenMetrics text format Prometheus scrapes), `GET /healthz` (200 while the process serves HTTP)
//! and `GET /readyz` (200 once the configuration is loaded and the listeners accept, 503 before
//! and while shutting down). It exposes no secret and no action: counters, ids of groups, APIs and
//! policies, and the readiness; it may listen on any address.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::body::{Body, full};
use crate::metrics::BackendLimitSample;
use crate::shared::Shared;

/// The content type of `GET /metrics`.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Serves the status endpoints on `listener` until the runtime ends: through a shutdown's drain
/// too, when `/readyz` answers 503.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, header_read_timeout: Duration) {
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, Infallible>(answer(&shared, &req)) }
            });
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The answer to one status request.
pub fn answer(shared: &Shared, req: &Request<Incoming>) -> Response<Body> {
    respond(shared, req.method(), req.uri().path())
}

fn respond(shared: &Shared, method: &Method, path: &str) -> Response<Body> {
    if !matches!(path, "/metrics" | "/healthz" | "/readyz") {
        return text(StatusCode::NOT_FOUND, "not found: GET /metrics, /healthz or /readyz\n");
    }
    if method != Method::GET && method != Method::HEAD {
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed: use GET\n");
        response.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    match path {
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/readyz" if shared.is_ready() => text(StatusCode::OK, "ready\n"),
        "/readyz" => text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n"),
        _ => match &shared.metrics {
            Some(metrics) => {
                metrics.set_connections_open(shared.connections_open());
                let runtime = shared.runtime.load();
                for (name, policy) in runtime.policies() {
                    if let Some((sent, dropped, failed)) = policy.push_counts() {
                        metrics.set_kafka(name, sent, dropped, failed);
                    }
                }
                metrics.set_upstream_health(runtime.upstreams().flat_map(|u| {
                    u.servers()
                        .iter()
                        .enumerate()
                        .map(|(i, s)| (u.name.as_str(), s.authority.to_string(), u.is_healthy(i)))
                }));
                metrics.set_backend_limits(runtime.backend_limits.iter().map(|l| {
                    let (refused_queue_full, refused_timeout) = l.refused_counts();
                    BackendLimitSample {
                        server: &l.server,
                        in_flight: l.in_flight(),
                        waiting: l.waiting(),
                        connections: l.connections_open(),
                        refused_queue_full,
                        refused_timeout,
                    }
                }));
                let mut response = Response::new(full(Bytes::from(metrics.encode())));
                response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(OPENMETRICS));
                response
            }
            None => text(StatusCode::NOT_FOUND, "metrics are off\n"),
        },
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut response = Response::new(full(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access_log::{AccessLog, LogTarget};
    use crate::config::ConfigFile;
    use crate::metrics::Metrics;
    use crate::routing::Runtime;

    #[test]
    fn readyz_is_503_until_the_gateway_serves() {
        let runtime = Runtime::compile(ConfigFile::demo().unwrap(), std::path::Path::new("<demo>")).unwrap();
        let log = AccessLog::open(&LogTarget::Off).unwrap();
        let shared = Shared::with_metrics(runtime, Arc::new(apig::SystemClock), log, None, Some(Metrics::new()));
        let status = |path| respond(&shared, &Method::GET, path).status();
        assert_eq!(status("/readyz"), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(status("/healthz"), StatusCode::OK);
        shared.set_ready(true);
        assert_eq!(status("/readyz"), StatusCode::OK);
        shared.set_ready(false);
        assert_eq!(status("/readyz"), StatusCode::SERVICE_UNAVAILABLE);
    }
}
