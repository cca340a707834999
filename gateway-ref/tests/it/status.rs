//! The status listener over real sockets: `/metrics` scraped after a few requests (a 200, a 401
//! signature failure, a 404, a throttled 429, a backend that is down) and read with a Prometheus
//! text parser (`prometheus-parse`); `/healthz`, `/readyz`, 404 and 405; a good and a bad reload
//! in the reload metrics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::net::SocketAddr;

use apig::Algorithm;
use apig_conformance::client::{self, RawResponse};
use apig_gateway::server::RunningGateway;
use common::{assert_apig, send, signed, signed_headers, temp_dir};
use prometheus_parse::{Scrape, Value};

/// The base config, with an API `limited` throttled to one request an hour.
fn config() -> String {
    common::base_config(common::echo_backend())
        .replace(
            r#"{"id": "unpublished","#,
            r#"{"id": "limited", "method": "GET", "path": "/limited", "auth": "none", "backend": {"url": "echo:"}, "policies": ["one"]},
      {"id": "unpublished","#,
        )
        .replace(r#"["echo", "code","#, r#"["limited", "echo", "code","#)
        .replace(
            r#""policies": [
    {"name": "browser""#,
            r#""policies": [
    {"name": "one", "type": "throttle", "config": {"api_limit": 1, "interval": 1, "unit": "hour"}},
    {"name": "browser""#,
        )
}

/// A gateway on [`config`] with the status listener; `watch`: whether the file is watched.
fn start(name: &str, watch: bool) -> (RunningGateway, std::path::PathBuf) {
    let dir = temp_dir(name);
    let path = dir.join("gateway.json");
    std::fs::write(&path, config()).unwrap();
    let mut options = common::options(path.clone());
    if !watch {
        options.watch_interval = None;
    }
    options.status = Some(([127, 0, 0, 1], 0).into());
    (RunningGateway::start(options).unwrap(), path)
}

fn status(gw: &RunningGateway, method: &str, path: &str) -> RawResponse {
    client::request(gw.status_addr().unwrap(), method, path, &[("Host", "status")], b"").unwrap()
}

/// `/metrics`, parsed.
fn scrape(gw: &RunningGateway) -> Scrape {
    let r = status(gw, "GET", "/metrics");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some(apig_gateway::status::OPENMETRICS));
    let text = String::from_utf8(r.body).unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap()
}

/// The value of the sample `name` whose labels include `labels` (0 when there is none).
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<f64> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
            ref other => panic!("{name}: {other:?}"),
        })
        .collect();
    assert!(found.len() <= 1, "{name} {labels:?}: {found:?}");
    found.first().copied().unwrap_or(0.0)
}

/// The number of observations of histogram `name` for API `api`.
fn observations(scrape: &Scrape, name: &str, api: &str) -> f64 {
    let sample = scrape.samples.iter().find(|s| s.metric == name && s.labels.get("api") == Some(api));
    match sample.map(|s| &s.value) {
        Some(Value::Histogram(buckets)) => buckets.iter().map(|b| b.count).fold(0.0, f64::max),
        other => panic!("{name} {api}: {other:?}"),
    }
}

#[test]
fn metrics_count_requests_by_api_status_and_code() {
    let (gw, _) = start("status-metrics", true);
    let addr: SocketAddr = gw.addr();
    assert_eq!(signed(addr, "GET", "/echo/a", b"").status, 200);
    let forged = signed_headers(addr, "GET", "/echo/b", &[], b"", "AK1", "wrong-secret", Algorithm::SdkHmacSha256);
    assert_apig(&send(addr, "GET", "/echo/b", &forged, b""), 401, "APIG.0303");
    let plain = |target: &str| client::request(addr, "GET", target, &[("Host", "api.test")], b"").unwrap();
    assert_apig(&plain("/nowhere"), 404, "APIG.0101");
    assert_eq!(plain("/limited").status, 200);
    assert_apig(&plain("/limited"), 429, "APIG.0308");
    assert_apig(&plain("/down"), 502, "APIG.0202");

    let m = scrape(&gw);
    let requests = |api: &str, environment: &str, status: &str, code: &str| {
        let group = if api.is_empty() { "" } else { "g" };
        let labels = [("group", group), ("api", api), ("environment", environment), ("status", status), ("code", code)];
        value(&m, "apig_gateway_requests_total", &labels)
    };
    assert_eq!(requests("echo", "RELEASE", "200", ""), 1.0);
    assert_eq!(requests("echo", "RELEASE", "401", "APIG.0303"), 1.0);
    // an unmatched request: no group, API or environment label value from the request
    assert_eq!(requests("", "", "404", "APIG.0101"), 1.0);
    assert_eq!(requests("limited", "RELEASE", "200", ""), 1.0);
    assert_eq!(requests("limited", "RELEASE", "429", "APIG.0308"), 1.0);
    assert_eq!(requests("down", "RELEASE", "502", "APIG.0202"), 1.0);
    let outcome = |api, outcome| value(&m, "apig_gateway_policy_outcomes_total", &[("api", api), ("outcome", outcome)]);
    assert_eq!(outcome("limited", "throttled"), 1.0);
    assert_eq!(outcome("echo", "throttled"), 0.0);
    let backend = |api, outcome| value(&m, "apig_gateway_backend_errors_total", &[("api", api), ("outcome", outcome)]);
    assert_eq!(backend("down", "unavailable"), 1.0);
    assert_eq!(backend("down", "timeout"), 0.0);
    assert_eq!(observations(&m, "apig_gateway_request_duration_seconds", "echo"), 2.0);
    assert_eq!(observations(&m, "apig_gateway_request_duration_seconds", "limited"), 2.0);
    // the backend answered the 200 only (the 401 never reached it)
    assert_eq!(observations(&m, "apig_gateway_upstream_duration_seconds", "echo"), 1.0);
    assert_eq!(value(&m, "apig_gateway_config_generation", &[]), 1.0);
    assert!(value(&m, "apig_gateway_config_loaded_timestamp_seconds", &[]) > 1.7e9);
    assert_eq!(value(&m, "apig_gateway_connections_refused_total", &[]), 0.0);

    // a second scrape sees one more of the same request, and nothing counted twice
    assert_eq!(signed(addr, "GET", "/echo/c", b"").status, 200);
    assert_eq!(value(&scrape(&gw), "apig_gateway_requests_total", &[("api", "echo"), ("status", "200")]), 2.0);
}

#[test]
fn health_readiness_and_other_paths() {
    let (gw, _) = start("status-health", true);
    let ok = status(&gw, "GET", "/healthz");
    assert_eq!((ok.status, ok.body.as_slice()), (200, b"ok\n".as_slice()));
    // ready once the gateway runs (`RunningGateway::start` returns once it is bound): 503 until then
    let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match status(&gw, "GET", "/readyz").status {
            200 => break,
            503 if std::time::Instant::now() < until => std::thread::sleep(std::time::Duration::from_millis(10)),
            other => panic!("/readyz: {other}"),
        }
    }
    assert_eq!(status(&gw, "GET", "/metrics/x").status, 404);
    assert_eq!(status(&gw, "GET", "/").status, 404);
    let post = status(&gw, "POST", "/metrics");
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    assert_eq!(status(&gw, "DELETE", "/readyz").status, 405);
}

#[test]
fn reloads_show_in_the_reload_metrics() {
    let (gw, path) = start("status-reload", false);
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    // what SIGHUP, the file watch and `POST /v1/reload` run
    let reload = || runtime.block_on(apig_gateway::reload::reload(gw.shared()));
    let reloads = |m: &Scrape, result| value(m, "apig_gateway_config_reloads_total", &[("result", result)]);
    // the same file: unchanged
    assert!(!reload().unwrap());
    // a bad file is refused: counted as failed, the generation stays
    std::fs::write(&path, "{ not json").unwrap();
    assert!(reload().is_err());
    let m = scrape(&gw);
    assert_eq!((reloads(&m, "unchanged"), reloads(&m, "failed"), reloads(&m, "ok")), (1.0, 1.0, 0.0));
    assert_eq!(value(&m, "apig_gateway_config_generation", &[]), 1.0);
    // a good, changed file is swapped in
    std::fs::write(&path, config().replace(r#""max_body_bytes": 65536"#, r#""max_body_bytes": 65535"#)).unwrap();
    assert!(reload().unwrap());
    let m = scrape(&gw);
    assert_eq!((reloads(&m, "unchanged"), reloads(&m, "failed"), reloads(&m, "ok")), (1.0, 1.0, 1.0));
    assert_eq!(value(&m, "apig_gateway_config_generation", &[]), 2.0);
}
