//! Backends over the gateway's one client stack, on real sockets: `https://` backends verified
//! against a test CA made here (rcgen; nothing on disk but its public certificate), a wrong CA
//! refused, verification skipped only when asked; HTTP/2 to a backend that offers it by ALPN; and
//! upstreams: weights respected, a server killed mid-run (requests in flight retried on another
//! server, none failing after it is ejected, back in rotation once its health check passes), no
//! healthy server answered `APIG.0202` 502.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apig_conformance::client;
use bytes::Bytes;
use common::{assert_apig, closed_port, send, start_in, temp_dir};
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A test CA and a server certificate it signed for `localhost` and `127.0.0.1`.
struct TestPki {
    ca_pem: String,
    cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
}

fn pki() -> TestPki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "apig test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    TestPki { ca_pem: ca_cert.pem(), cert: cert.der().clone(), key: PrivatePkcs8KeyDer::from(key.serialize_der()) }
}

/// What a test backend saw.
#[derive(Default)]
struct Seen {
    requests: AtomicUsize,
    connections: AtomicUsize,
    sni: Mutex<Vec<String>>,
}

/// A backend on its own runtime: answers `TAG VERSION` (and waits 300 ms first on `/slow`),
/// over TLS (ALPN `alpn`) when given a certificate. Dropping it kills it: every connection closes.
struct TestBackend {
    port: u16,
    seen: Arc<Seen>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TestBackend {
    fn start(tag: &str, port: u16, tls: Option<(&TestPki, &[&[u8]])>) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind(("127.0.0.1", port))).unwrap();
        let port = listener.local_addr().unwrap().port();
        let acceptor = tls.map(|(pki, alpn)| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut config = rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(vec![pki.cert.clone()], PrivateKeyDer::Pkcs8(pki.key.clone_key()))
                .unwrap();
            config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
            tokio_rustls::TlsAcceptor::from(Arc::new(config))
        });
        let seen = Arc::new(Seen::default());
        let (tag, seen2) = (tag.to_owned(), Arc::clone(&seen));
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                seen2.connections.fetch_add(1, Ordering::SeqCst);
                let (tag, seen, acceptor) = (tag.clone(), Arc::clone(&seen2), acceptor.clone());
                tokio::spawn(async move {
                    let counted = Arc::clone(&seen);
                    let service = hyper::service::service_fn(move |r: Request<hyper::body::Incoming>| {
                        let (tag, seen) = (tag.clone(), Arc::clone(&counted));
                        async move {
                            if r.uri().path() != "/health" {
                                seen.requests.fetch_add(1, Ordering::SeqCst);
                            }
                            if r.uri().path().ends_with("/slow") {
                                tokio::time::sleep(Duration::from_millis(300)).await;
                            }
                            let body = format!("{tag} {:?}", r.version());
                            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))))
                        }
                    });
                    match acceptor {
                        None => {
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                        Some(acceptor) => {
                            let Ok(tls) = acceptor.accept(stream).await else { return };
                            let (_, conn) = tls.get_ref();
                            if let Some(name) = conn.server_name() {
                                seen.sni.lock().unwrap().push(name.to_owned());
                            }
                            let h2 = conn.alpn_protocol() == Some(b"h2");
                            let io = TokioIo::new(tls);
                            if h2 {
                                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                                    .serve_connection(io, service)
                                    .await;
                            } else {
                                let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                            }
                        }
                    }
                });
            }
        });
        Self { port, seen, runtime: Some(runtime) }
    }

    fn requests(&self) -> usize {
        self.seen.requests.load(Ordering::SeqCst)
    }

    /// Kills the server: its listener and every open connection close now.
    fn kill(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for TestBackend {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A config of `apis` (ids `ids`, all published) and `upstreams`.
fn config(apis: &str, ids: &[&str], upstreams: &str) -> String {
    let published = ids.iter().map(|id| format!("{id:?}")).collect::<Vec<_>>().join(",");
    format!(
        r#"{{"groups": [{{"id": "g", "apis": [{apis}]}}],
          "environments": [{{"name": "RELEASE", "published": [{published}]}}],
          "upstreams": [{upstreams}]}}"#
    )
}

fn api(id: &str, backend: &str) -> String {
    format!(
        r#"{{"id": "{id}", "method": "ANY", "path": "/{id}", "match": "prefix", "auth": "none", "backend": {backend}}}"#
    )
}

fn get(gw: &apig_gateway::RunningGateway, target: &str) -> client::RawResponse {
    send(gw.addr(), "GET", target, &[("Host".to_owned(), gw.addr().to_string())], b"")
}

fn text(r: &client::RawResponse) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

#[test]
fn https_backends_are_verified_against_the_configured_ca() {
    let dir = temp_dir("https-backend");
    let pki = pki();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let other = dir.join("other-ca.pem");
    std::fs::write(&other, pki_other_ca()).unwrap();
    let h1 = TestBackend::start("h1", 0, Some((&pki, &[b"http/1.1"])));
    let h2 = TestBackend::start("h2", 0, Some((&pki, &[b"h2", b"http/1.1"])));
    let ca_s = ca.display().to_string().replace('\\', "\\\\");
    let other_s = other.display().to_string().replace('\\', "\\\\");
    let apis = [
        api("a", &format!(r#"{{"url": "https://localhost:{}/x", "tls": {{"ca_file": "{ca_s}"}}}}"#, h1.port)),
        api("b", &format!(r#"{{"url": "https://localhost:{}", "tls": {{"ca_file": "{other_s}"}}}}"#, h1.port)),
        api("c", &format!(r#"{{"url": "https://127.0.0.1:{}", "tls": {{"insecure_skip_verify": true}}}}"#, h1.port)),
        api("d", &format!(r#"{{"url": "https://localhost:{}", "tls": {{"ca_file": "{ca_s}"}}}}"#, h2.port)),
    ]
    .join(",");
    let (gw, _) = start_in(&dir, &config(&apis, &["a", "b", "c", "d"], ""));

    // verified with the CA file, SNI the URL's host, HTTP/1.1 where the backend offers only that
    let r = get(&gw, "/a");
    assert_eq!((r.status, text(&r).as_str()), (200, "h1 HTTP/1.1"));
    assert!(h1.seen.sni.lock().unwrap().iter().all(|n| n == "localhost"), "{:?}", h1.seen.sni.lock().unwrap());
    // another CA: the certificate is refused, the client gets the backend error
    let r = get(&gw, "/b");
    let msg = assert_apig(&r, 502, "APIG.0202");
    assert!(msg.contains("TLS handshake failed"), "{msg}");
    // verification off, explicitly
    let r = get(&gw, "/c");
    assert_eq!((r.status, text(&r).as_str()), (200, "h1 HTTP/1.1"));
    // HTTP/2 when the backend offers it, one connection for every request, also at once
    for _ in 0..3 {
        let r = get(&gw, "/d/any?q=1");
        assert_eq!((r.status, text(&r).as_str()), (200, "h2 HTTP/2.0"));
    }
    let (addr, host) = (gw.addr(), vec![("Host".to_owned(), gw.addr().to_string())]);
    let at_once: Vec<_> = (0..4)
        .map(|_| {
            let host = host.clone();
            std::thread::spawn(move || send(addr, "GET", "/d/slow", &host, b""))
        })
        .collect();
    for r in at_once.into_iter().map(|t| t.join().unwrap()) {
        assert_eq!((r.status, text(&r).as_str()), (200, "h2 HTTP/2.0"));
    }
    assert_eq!(h1.requests(), 2);
    assert_eq!(h2.requests(), 7);
    assert_eq!(h2.seen.connections.load(Ordering::SeqCst), 1, "HTTP/2 requests share one connection");
}

/// A PEM CA certificate that signed nothing the tests serve.
fn pki_other_ca() -> String {
    pki().ca_pem
}

#[test]
fn bad_backend_tls_settings_are_refused_with_the_field() {
    let dir = temp_dir("https-bad");
    let missing = dir.join("nope.pem");
    let cases = [
        (format!(r#"{{"url": "https://localhost:1", "tls": {{"ca_file": "{}"}}}}"#, missing.display()), ".backend.tls"),
        (r#"{"url": "http://localhost:1", "tls": {"insecure_skip_verify": true}}"#.to_owned(), ".backend.tls"),
        (r#"{"url": "upstream://nope"}"#.to_owned(), ".backend.url"),
    ];
    for (backend, field) in cases {
        let file = apig_gateway::ConfigFile::parse(
            &config(&api("a", &backend), &["a"], ""),
            apig_gateway::config::Format::Json,
            std::path::Path::new("t.json"),
        )
        .unwrap();
        let e = apig_gateway::routing::Runtime::compile(file, std::path::Path::new("t.json")).unwrap_err();
        assert_eq!(e.position.as_deref(), Some(format!("groups[0].apis[0]{field}").as_str()), "{e}");
    }
    let bad_upstreams = [
        (r#"{"name": "u", "servers": []}"#, "upstreams[0].servers"),
        (r#"{"name": "u", "servers": [{"address": "127.0.0.1:1", "weight": 0}]}"#, "upstreams[0].servers[0].weight"),
        (r#"{"name": "u", "scheme": "ftp", "servers": [{"address": "127.0.0.1:1"}]}"#, "upstreams[0].scheme"),
        (r#"{"name": "u/v", "servers": [{"address": "127.0.0.1:1"}]}"#, "upstreams[0].name"),
    ];
    for (upstream, pos) in bad_upstreams {
        let file = apig_gateway::ConfigFile::parse(
            &config("", &[], upstream),
            apig_gateway::config::Format::Json,
            std::path::Path::new("t.json"),
        )
        .unwrap();
        let e = apig_gateway::routing::Runtime::compile(file, std::path::Path::new("t.json")).unwrap_err();
        assert_eq!(e.position.as_deref(), Some(pos), "{e}");
    }
}

#[test]
fn weights_are_respected() {
    let (a, b) = (TestBackend::start("A", 0, None), TestBackend::start("B", 0, None));
    let upstream = format!(
        r#"{{"name": "pair", "balance": "weighted",
             "servers": [{{"address": "127.0.0.1:{}", "weight": 3}}, {{"address": "127.0.0.1:{}", "weight": 1}}]}}"#,
        a.port, b.port
    );
    let (gw, _) =
        start_in(&temp_dir("weights"), &config(&api("a", r#"{"url": "upstream://pair/base"}"#), &["a"], &upstream));
    let mut answered: HashMap<String, usize> = HashMap::new();
    for _ in 0..40 {
        let r = get(&gw, "/a");
        assert_eq!(r.status, 200, "{}", text(&r));
        *answered.entry(text(&r)).or_default() += 1;
    }
    assert_eq!(answered.get("A HTTP/1.1"), Some(&30), "{answered:?}");
    assert_eq!(answered.get("B HTTP/1.1"), Some(&10), "{answered:?}");
}

#[test]
fn an_upstream_without_a_healthy_server_answers_502() {
    let upstream = format!(
        r#"{{"name": "gone", "servers": [{{"address": "127.0.0.1:{}"}}], "passive": {{"max_failures": 1, "eject_ms": 60000}}}}"#,
        closed_port()
    );
    let (gw, _) =
        start_in(&temp_dir("no-healthy"), &config(&api("a", r#"{"url": "upstream://gone"}"#), &["a"], &upstream));
    let msg = assert_apig(&get(&gw, "/a"), 502, "APIG.0202");
    assert!(msg.contains("connection failed"), "{msg}");
    let msg = assert_apig(&get(&gw, "/a"), 502, "APIG.0202");
    assert!(msg.contains("no healthy server"), "{msg}");
}

/// The `apig_gateway_upstream_server_healthy` gauge of `server`, by a real Prometheus text parser.
fn healthy_gauge(status: SocketAddr, server: &str) -> Option<f64> {
    let r = client::request(status, "GET", "/metrics", &[("Host", "status")], b"").unwrap();
    let text = String::from_utf8(r.body).unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    scrape.samples.iter().find_map(|s| {
        let ours = s.metric == "apig_gateway_upstream_server_healthy" && s.labels.get("server") == Some(server);
        match (ours, &s.value) {
            (true, prometheus_parse::Value::Gauge(v)) => Some(*v),
            (true, prometheus_parse::Value::Untyped(v)) => Some(*v),
            _ => None,
        }
    })
}

#[test]
fn a_server_killed_mid_run_is_ejected_and_returns_after_its_health_check() {
    let servers: Vec<TestBackend> = ["A", "B", "C"].iter().map(|t| TestBackend::start(t, 0, None)).collect();
    let mut servers = servers.into_iter();
    let (a, mut b, c) = (servers.next().unwrap(), servers.next().unwrap(), servers.next().unwrap());
    let b_port = b.port;
    let upstream = format!(
        r#"{{"name": "trio", "servers": [{{"address": "127.0.0.1:{}"}}, {{"address": "127.0.0.1:{}"}}, {{"address": "127.0.0.1:{}"}}],
             "health_check": {{"path": "/health", "interval_ms": 100, "timeout_ms": 200, "healthy_threshold": 2, "unhealthy_threshold": 2}},
             "passive": {{"max_failures": 1}}}}"#,
        a.port, b.port, c.port
    );
    let dir = temp_dir("killed");
    let path = dir.join("gateway.json");
    std::fs::write(&path, config(&api("a", r#"{"url": "upstream://trio", "timeout_ms": 3000}"#), &["a"], &upstream))
        .unwrap();
    let mut options = common::options(path);
    options.status = Some(([127, 0, 0, 1], 0).into());
    let gw = apig_gateway::RunningGateway::start(options).unwrap();
    let (addr, status) = (gw.addr(), gw.status_addr().unwrap());
    let b_server = format!("127.0.0.1:{b_port}");
    assert_eq!(healthy_gauge(status, &b_server), Some(1.0));

    // six slow requests in flight, two on each server; B is killed while they wait
    let in_flight: Vec<_> = (0..6)
        .map(|_| {
            let t =
                std::thread::spawn(move || send(addr, "GET", "/a/slow", &[("Host".to_owned(), addr.to_string())], b""));
            std::thread::sleep(Duration::from_millis(20));
            t
        })
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    let b_before = b.requests();
    assert!(b_before >= 1, "B got none of the requests in flight");
    b.kill();
    for t in in_flight {
        let r = t.join().unwrap();
        assert_eq!(r.status, 200, "a request in flight on the killed server was not retried: {}", text(&r));
        assert_ne!(text(&r), "B HTTP/1.1");
    }
    // ejected: every request succeeds, none reaches B
    for _ in 0..12 {
        let r = get(&gw, "/a");
        assert_eq!(r.status, 200, "{}", text(&r));
        assert_ne!(text(&r), "B HTTP/1.1");
    }
    assert_eq!(healthy_gauge(status, &b_server), Some(0.0));

    // B comes back on its port: after two passed health checks it is in rotation again
    let b = TestBackend::start("B", b_port, None);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = get(&gw, "/a");
        assert_eq!(r.status, 200, "{}", text(&r));
        if text(&r) == "B HTTP/1.1" {
            break;
        }
        assert!(Instant::now() < deadline, "B is not back in rotation after 5 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(b.requests() >= 1);
    assert_eq!(healthy_gauge(status, &b_server), Some(1.0));
}
