//! Circuit breaker over real sockets: a failing backend trips it (count of 5xx, percentage of
//! timeouts), the open breaker answers 503 / a fixed fallback / another backend without calling
//! the backend, and after the open period a probe closes it again (or re-opens it when it fails).
//! Every state change is in the access log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::policy_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{assert_apig, echo_backend};
use policy_support::{Answer, Received, TestServer, eventually, get, read_log, start_logged};

fn flaky_backend(failing: Arc<AtomicBool>) -> TestServer {
    TestServer::start(Arc::new(move |_: &Received| {
        if failing.load(Ordering::SeqCst) { Answer::json(500, r#"{"error":"boom"}"#) } else { Answer::json(200, "{}") }
    }))
}

fn config(flaky: u16, slow: u16, echo: u16) -> String {
    format!(
        r#"{{
  "groups": [{{"id": "g", "apis": [
    {{"id": "b", "method": "GET", "path": "/b", "auth": "none", "backend": {{"url": "http://127.0.0.1:{flaky}"}}, "policies": ["count"]}},
    {{"id": "fixed", "method": "GET", "path": "/fixed", "auth": "none", "backend": {{"url": "http://127.0.0.1:{flaky}"}}, "policies": ["fixed"]}},
    {{"id": "other", "method": "GET", "path": "/other", "auth": "none", "backend": {{"url": "http://127.0.0.1:{flaky}"}}, "policies": ["other"]}},
    {{"id": "slow", "method": "GET", "path": "/slow", "auth": "none", "backend": {{"url": "http://127.0.0.1:{slow}", "timeout_ms": 150}}, "policies": ["percent"]}}
  ]}}],
  "environments": [{{"name": "RELEASE", "published": ["b", "fixed", "other", "slow"]}}],
  "policies": [
    {{"name": "count", "type": "circuit_breaker", "config": {{"failure_count": 3, "min_calls": 3, "window_seconds": 30, "open_seconds": 1}}}},
    {{"name": "fixed", "type": "circuit_breaker", "config": {{"failure_count": 2, "min_calls": 2, "open_seconds": 30,
       "fallback": {{"type": "response", "status": 200, "body": "{{\"fallback\":true}}", "content_type": "application/json"}}}}}},
    {{"name": "other", "type": "circuit_breaker", "config": {{"failure_count": 2, "min_calls": 2, "open_seconds": 30,
       "fallback": {{"type": "backend", "url": "http://127.0.0.1:{echo}/spare"}}}}}},
    {{"name": "percent", "type": "circuit_breaker", "config": {{"failure_percent": 50, "min_calls": 4, "open_seconds": 30}}}}
  ]
}}"#
    )
}

fn transitions(log: &std::path::Path, api: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for record in read_log(log) {
        for t in record["extra"]["circuit_breaker"].as_array().into_iter().flatten() {
            if t["api"] == api {
                out.push((t["from"].as_str().unwrap().to_owned(), t["to"].as_str().unwrap().to_owned()));
            }
        }
    }
    out
}

#[test]
fn trips_on_errors_answers_503_and_recovers_after_the_open_period() {
    let failing = Arc::new(AtomicBool::new(true));
    let flaky = flaky_backend(Arc::clone(&failing));
    let slow = TestServer::start(Arc::new(|_: &Received| Answer {
        delay: Duration::from_millis(600),
        ..Answer::json(200, "{}")
    }));
    let (gw, _, log) = start_logged("breaker", &config(flaky.port, slow.port, echo_backend()));
    let a = gw.addr();

    for _ in 0..3 {
        assert_eq!(get(a, "/b", &[]).status, 500, "the backend's own errors pass through while closed");
    }
    let hits = flaky.hits();
    let msg = assert_apig(&get(a, "/b", &[]), 503, "APIG.0202");
    assert_eq!(msg, "Backend unavailable: circuit breaker open");
    assert_eq!(flaky.hits(), hits, "an open breaker does not call the backend");

    // the backend recovers; after the open period one probe closes the breaker
    failing.store(false, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(get(a, "/b", &[]).status, 200);
    for _ in 0..3 {
        assert_eq!(get(a, "/b", &[]).status, 200);
    }

    // trips again; this time the probe fails and the breaker opens again
    failing.store(true, Ordering::SeqCst);
    for _ in 0..3 {
        assert_eq!(get(a, "/b", &[]).status, 500);
    }
    assert_eq!(get(a, "/b", &[]).status, 503);
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(get(a, "/b", &[]).status, 500, "the probe reaches the (still failing) backend");
    assert_eq!(get(a, "/b", &[]).status, 503);

    let expected: Vec<(String, String)> = [
        ("closed", "open"),
        ("open", "half_open"),
        ("half_open", "closed"),
        ("closed", "open"),
        ("open", "half_open"),
        ("half_open", "open"),
    ]
    .iter()
    .map(|(f, t)| ((*f).to_owned(), (*t).to_owned()))
    .collect();
    assert!(eventually(Duration::from_secs(3), || transitions(&log, "b") == expected), "{:?}", transitions(&log, "b"));
}

#[test]
fn fallbacks_and_percentage_of_timeouts() {
    let failing = Arc::new(AtomicBool::new(true));
    let flaky = flaky_backend(Arc::clone(&failing));
    let slow = TestServer::start(Arc::new(|r: &Received| {
        let delay = if r.target.contains("fast") { 0 } else { 600 };
        Answer { delay: Duration::from_millis(delay), ..Answer::json(200, "{}") }
    }));
    let (gw, _, log) = start_logged("breaker-fallback", &config(flaky.port, slow.port, echo_backend()));
    let a = gw.addr();

    for _ in 0..2 {
        assert_eq!(get(a, "/fixed", &[]).status, 500);
    }
    let r = get(a, "/fixed", &[]);
    assert_eq!((r.status, r.body.as_slice()), (200, br#"{"fallback":true}"#.as_slice()));
    assert_eq!(r.header("content-type"), Some("application/json"));

    for _ in 0..2 {
        assert_eq!(get(a, "/other", &[]).status, 500);
    }
    let r = get(a, "/other?x=1", &[]);
    assert_eq!(r.status, 200, "the spare backend answers");
    let echo = r.json().unwrap();
    assert_eq!(echo["path"], "/spare/other");
    assert_eq!(echo["query"], "x=1");

    // 2 of 4 calls time out (50 %): open
    assert_eq!(get(a, "/slow?fast", &[]).status, 200);
    assert_apig(&get(a, "/slow", &[]), 504, "APIG.0203");
    assert_eq!(get(a, "/slow?fast", &[]).status, 200);
    assert_apig(&get(a, "/slow", &[]), 504, "APIG.0203");
    assert_apig(&get(a, "/slow?fast", &[]), 503, "APIG.0202");
    assert!(eventually(Duration::from_secs(3), || transitions(&log, "slow") == [("closed".into(), "open".into())]));
}
