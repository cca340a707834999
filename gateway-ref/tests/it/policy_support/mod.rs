//! Helpers of the policy tests: small HTTP servers (backends, authorizers) on 127.0.0.1, gateways
//! with an access-log file, and finding the Debian tools the Redis and Kafka tests need.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use apig_conformance::client::{self, RawResponse};
use apig_gateway::access_log::LogTarget;
use apig_gateway::server::RunningGateway;

/// A request as a [`TestServer`] received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// What a [`TestServer`] answers: status, content type, body, and a delay before answering.
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub delay: Duration,
    pub headers: Vec<(&'static str, &'static str)>,
}

impl Answer {
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Self { status, body: body.into(), delay: Duration::ZERO, headers: Vec::new() }
    }
}

pub type Handler = Arc<dyn Fn(&Received) -> Answer + Send + Sync>;

/// An HTTP/1.1 server on 127.0.0.1:0, one thread per connection, `Connection: close` answers; it
/// lives as long as the test process. Counts the requests it answered.
pub struct TestServer {
    pub port: u16,
    pub hits: Arc<AtomicUsize>,
}

impl TestServer {
    pub fn start(handler: Handler) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&hits);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let handler = Arc::clone(&handler);
                let counted = Arc::clone(&counted);
                std::thread::spawn(move || serve_one(stream, &handler, &counted));
            }
        });
        Self { port, hits }
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn serve_one(stream: TcpStream, handler: &Handler, hits: &AtomicUsize) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let target = parts.next().unwrap_or("").to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            return;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((n, v)) = h.split_once(':') {
            headers.push((n.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let len = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let received = Received { method, target, headers, body };
    let answer = handler(&received);
    hits.fetch_add(1, Ordering::SeqCst);
    std::thread::sleep(answer.delay);
    let mut stream = reader.into_inner();
    let extra: String = answer.headers.iter().map(|(n, v)| format!("{n}: {v}\r\n")).collect();
    let _ = write!(
        stream,
        "HTTP/1.1 {} X\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{}",
        answer.status,
        answer.body.len(),
        answer.body
    );
}

/// Starts a gateway on `config` (JSON) with the access log written to a file; returns the
/// gateway, the config path and the log path.
pub fn start_logged(name: &str, config: &str) -> (RunningGateway, PathBuf, PathBuf) {
    let dir = crate::common::temp_dir(name);
    let path = dir.join("gateway.json");
    std::fs::write(&path, config).unwrap();
    let log = dir.join("access.log");
    let mut options = crate::common::options(path.clone());
    options.access_log = LogTarget::File(log.clone());
    // and the status listener, whose metrics some tests read
    options.status = Some(([127, 0, 0, 1], 0).into());
    (RunningGateway::start(options).unwrap(), path, log)
}

/// The value of the sample `name` with label `policy` in the gateway's `/metrics`, read with a
/// Prometheus text parser (0 when there is none).
pub fn metric(gw: &RunningGateway, name: &str, policy: &str) -> f64 {
    let r =
        apig_conformance::client::request(gw.status_addr().unwrap(), "GET", "/metrics", &[("Host", "s")], b"").unwrap();
    assert_eq!(r.status, 200);
    let text = String::from_utf8(r.body).unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let sample = scrape.samples.iter().find(|s| s.metric == name && s.labels.get("policy") == Some(policy));
    match sample.map(|s| &s.value) {
        Some(prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v)) => *v,
        None => 0.0,
        Some(other) => panic!("{name}: {other:?}"),
    }
}

/// The access-log records written so far.
pub fn read_log(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad log line {l:?}: {e}")))
        .collect()
}

/// Waits (up to `limit`) until `check` holds.
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    check()
}

/// A plain GET with headers.
pub fn get(addr: SocketAddr, target: &str, headers: &[(&str, &str)]) -> RawResponse {
    let mut all = vec![("Host", "api.test")];
    all.extend_from_slice(headers);
    client::request(addr, "GET", target, &all, b"").unwrap()
}

/// Sleeps until the current `window_ms` window (aligned on the epoch, as the throttle's) has at
/// least `room_ms` left.
pub fn at_window_start(window_ms: u64, room_ms: u64) {
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            .try_into()
            .unwrap_or(u64::MAX);
        let left = window_ms - now % window_ms;
        if left >= room_ms {
            return;
        }
        std::thread::sleep(Duration::from_millis(left + 5));
    }
}

/// Sleeps until the next `window_ms` window begins.
pub fn next_window(window_ms: u64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .try_into()
        .unwrap_or(u64::MAX);
    std::thread::sleep(Duration::from_millis(window_ms - now % window_ms + 20));
}

/// The path of a Debian tool the test needs; fails clearly when `cargo xtask setup gateway` has
/// not installed it.
pub fn require_tool(binary: &str, package: &str) -> PathBuf {
    for dir in std::env::var("PATH").unwrap_or_default().split(':').chain(["/usr/bin", "/usr/sbin"]) {
        let p = Path::new(dir).join(binary);
        if p.is_file() {
            return p;
        }
    }
    panic!("{binary} is not installed: run `cargo xtask setup gateway` (installs the Debian package {package})");
}
