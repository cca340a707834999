//! Shared helpers of the integration tests: a gateway on 127.0.0.1:0 from a JSON config, backends
//! (echo, slow, down), and requests signed by the core.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::too_many_arguments)]

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use apig::{Algorithm, SignableBody, SignableRequest, Signer};
use apig_conformance::client::{self, RawResponse};
use apig_gateway::access_log::LogTarget;
use apig_gateway::server::{ConfigSource, GatewayOptions, RunningGateway};

/// A fresh temporary folder for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "apig-gw-test-{}-{name}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Options for a config file, access log off, fast file watching.
pub fn options(path: PathBuf) -> GatewayOptions {
    let mut o = GatewayOptions::new(([127, 0, 0, 1], 0).into(), ConfigSource::File(path));
    o.access_log = LogTarget::Off;
    o.watch_interval = Some(Duration::from_millis(100));
    o.header_read_timeout = Duration::from_secs(2);
    o
}

/// Writes `config` to `dir/gateway.json` and starts a gateway on it.
pub fn start_in(dir: &std::path::Path, config: &str) -> (RunningGateway, PathBuf) {
    let path = dir.join("gateway.json");
    std::fs::write(&path, config).unwrap();
    (RunningGateway::start(options(path.clone())).unwrap(), path)
}

/// A port nothing listens on.
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A backend that accepts connections and never answers (for 10 s at most).
pub fn slow_backend() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        l.set_nonblocking(true).unwrap();
        let until = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < until {
            if let Ok((s, _)) = l.accept() {
                held.push(s);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    port
}

/// The standalone echo server (`apig-gateway echo-server`) on a free port, for the test's lifetime.
pub fn echo_backend() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    l.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(l).unwrap();
            apig_gateway::echo::serve(listener).await;
        });
    });
    port
}

/// The config most tests use; `DOWN`, `SLOW` and `ECHO` are replaced by ports.
pub const BASE_CONFIG: &str = r#"{
  "gateway": {"max_body_bytes": 65536, "max_uri_bytes": 4096, "max_header_bytes": 16384},
  "groups": [
    {"id": "g", "domains": [], "apis": [
      {"id": "echo", "method": "ANY", "path": "/echo", "match": "prefix", "auth": "app", "backend": {"url": "echo:"}},
      {"id": "code", "method": "GET", "path": "/code", "auth": "app_code", "backend": {"url": "echo:"}},
      {"id": "open", "method": "ANY", "path": "/open", "match": "prefix", "auth": "none", "backend": {"url": "echo:"}},
      {"id": "items", "method": "GET", "path": "/items/{id}", "auth": "app", "backend": {"url": "echo:"}},
      {"id": "proxied", "method": "ANY", "path": "/proxied", "match": "prefix", "auth": "none", "backend": {"url": "http://127.0.0.1:ECHO/base"}},
      {"id": "signed-proxied", "method": "ANY", "path": "/signed", "match": "prefix", "auth": "app", "backend": {"url": "http://127.0.0.1:ECHO"}},
      {"id": "down", "method": "GET", "path": "/down", "auth": "none", "backend": {"url": "http://127.0.0.1:DOWN"}},
      {"id": "slow", "method": "GET", "path": "/slow", "auth": "none", "backend": {"url": "http://127.0.0.1:SLOW", "timeout_ms": 300}},
      {"id": "unpublished", "method": "GET", "path": "/unpublished", "auth": "none", "backend": {"url": "echo:"}},
      {"id": "staged", "method": "GET", "path": "/staged", "auth": "none", "backend": {"url": "echo:"}},
      {"id": "cors", "method": "POST", "path": "/cors", "auth": "app", "backend": {"url": "echo:"}, "policies": ["browser"]}
    ]},
    {"id": "h", "domains": ["api.example.com"], "apis": [
      {"id": "hosted", "method": "GET", "path": "/hosted", "auth": "none", "backend": {"url": "echo:"}}
    ]}
  ],
  "environments": [
    {"name": "RELEASE", "published": ["echo", "code", "open", "items", "proxied", "signed-proxied", "down", "slow", "cors", "hosted"]},
    {"name": "TEST", "published": ["staged"]}
  ],
  "apps": [
    {"id": "a1", "key": "AK1", "secret": "SK1-secret", "app_codes": ["code-1"]},
    {"id": "a2", "key": "AK2", "secret": "SK2-secret"},
    {"id": "off", "key": "AKOFF", "secret": "SKOFF-secret", "status": "disabled"}
  ],
  "authorizations": [
    {"app": "a1", "api": "echo"}, {"app": "a1", "api": "code"}, {"app": "a1", "api": "items"},
    {"app": "a1", "api": "signed-proxied"}, {"app": "a1", "api": "cors"}, {"app": "a2", "api": "code"}
  ],
  "policies": [
    {"name": "browser", "type": "cors", "config": {"allow_origins": ["https://app.example.com"]}}
  ]
}"#;

/// The base config with real ports.
pub fn base_config(echo: u16) -> String {
    BASE_CONFIG
        .replace("ECHO", &echo.to_string())
        .replace("DOWN", &closed_port().to_string())
        .replace("SLOW", &slow_backend().to_string())
}

/// A gateway on the base config.
pub fn start_base(name: &str) -> (RunningGateway, PathBuf) {
    let dir = temp_dir(name);
    start_in(&dir, &base_config(echo_backend()))
}

/// Signs a request to `addr` with the core and returns the headers to send (given + added).
pub fn signed_headers(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    key: &str,
    secret: &str,
    algorithm: Algorithm,
) -> Vec<(String, String)> {
    let url = format!("http://{addr}{target}");
    let mut builder = Signer::builder(key, secret).algorithm(algorithm);
    if algorithm.is_v11() {
        builder = builder.region("cn-north-4");
    }
    let signer = builder.build().unwrap();
    let out = signer.sign(&SignableRequest::new(method, &url, headers, SignableBody::Bytes(body))).unwrap();
    let mut all: Vec<(String, String)> = headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
    all.extend(out.headers().map(|(n, v)| (n.to_owned(), v.to_owned())));
    all
}

/// Sends a request with owned headers.
pub fn send(addr: SocketAddr, method: &str, target: &str, headers: &[(String, String)], body: &[u8]) -> RawResponse {
    let h: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    client::request(addr, method, target, &h, body).unwrap()
}

/// Signs with AK1 (SDK-HMAC-SHA256) and sends.
pub fn signed(addr: SocketAddr, method: &str, target: &str, body: &[u8]) -> RawResponse {
    let h = signed_headers(addr, method, target, &[], body, "AK1", "SK1-secret", Algorithm::SdkHmacSha256);
    send(addr, method, target, &h, body)
}

/// Asserts an APIG error: status, code, and returns the message.
pub fn assert_apig(r: &RawResponse, status: u16, code: &str) -> String {
    let json = r.json().unwrap_or_else(|| panic!("not JSON: HTTP {} {:?}", r.status, String::from_utf8_lossy(&r.body)));
    assert_eq!(r.status, status, "{json}");
    assert_eq!(json["error_code"], code, "{json}");
    assert_eq!(json["request_id"].as_str(), r.header("x-request-id"), "{json}");
    json["error_msg"].as_str().unwrap().to_owned()
}
