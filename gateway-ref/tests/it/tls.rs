//! The TLS front end over real sockets: certificates chosen by SNI per group, HTTP/2 by ALPN (a
//! request signed by the core and sent over h2), Debian's curl over HTTP/2, the groups' "HTTPS
//! only" options, certificates refused at start and on reload (and renewed ones picked up), a
//! failing handshake beside a connection in flight, the demo's self-signed certificate, h2c, and
//! the admin listener's allow-list and TLS. Certificates are made by rcgen at test time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use apig::{SignableBody, SignableRequest, Signer};
use apig_conformance::client;
use apig_gateway::server::{AdminOptions, ConfigSource, GatewayOptions, RunningGateway};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// A test certificate authority.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    der: CertificateDer<'static>,
    pem: String,
}

fn ca() -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "apig test CA");
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Ca { der: cert.der().clone(), pem: cert.pem(), issuer: Issuer::new(params, key) }
}

/// A leaf certificate for `names` signed by `ca`, written to `dir/NAME.pem` and `dir/NAME.key`;
/// its DER.
fn leaf(ca: &Ca, dir: &Path, file: &str, names: &[&str]) -> CertificateDer<'static> {
    let params = CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    std::fs::write(dir.join(format!("{file}.pem")), cert.pem()).unwrap();
    std::fs::write(dir.join(format!("{file}.key")), key.serialize_pem()).unwrap();
    cert.der().clone()
}

const CONFIG: &str = r#"{
  "groups": [
    {"id": "a", "domains": ["a.example", "www.a.example"], "certificates": [{"cert": "a.pem", "key": "a.key"}], "apis": [
      {"id": "a-signed", "method": "ANY", "path": "/signed", "match": "prefix", "auth": "app", "backend": {"url": "http://127.0.0.1:ECHO"}},
      {"id": "a-open", "method": "GET", "path": "/open", "auth": "none", "backend": {"url": "echo:"}}
    ]},
    {"id": "b", "domains": ["b.example", "www.b.example:8443"], "certificates": [{"cert": "b.pem", "key": "b.key"}],
     "plain_http": "redirect", "apis": [
      {"id": "b-open", "method": "GET", "path": "/b", "auth": "none", "backend": {"url": "echo:"}}
    ]},
    {"id": "c", "domains": ["c.example"], "certificates": [{"cert": "c.pem", "key": "c.key", "domains": ["c.example"]}],
     "plain_http": "refuse", "apis": [
      {"id": "c-open", "method": "GET", "path": "/c", "auth": "none", "backend": {"url": "echo:"}}
    ]}
  ],
  "environments": [{"name": "RELEASE", "published": ["a-signed", "a-open", "b-open", "c-open"]}],
  "apps": [{"id": "a1", "key": "AK1", "secret": "SK1-secret"}],
  "authorizations": [{"app": "a1", "api": "a-signed"}]
}"#;

struct Fixture {
    dir: PathBuf,
    ca: Ca,
    a: CertificateDer<'static>,
    b: CertificateDer<'static>,
    gw: RunningGateway,
}

impl Fixture {
    fn tls(&self) -> SocketAddr {
        self.gw.tls_addr().unwrap()
    }
}

/// A gateway on [`CONFIG`] with a TLS listener and the status listener, its certificates from
/// a fresh CA; no file watch (reloads are the test's).
fn fixture(name: &str) -> Fixture {
    let dir = common::temp_dir(name);
    let ca = ca();
    let a = leaf(&ca, &dir, "a", &["a.example", "www.a.example"]);
    let b = leaf(&ca, &dir, "b", &["b.example", "www.b.example"]);
    leaf(&ca, &dir, "c", &["c.example"]);
    let path = dir.join("gateway.json");
    std::fs::write(&path, CONFIG.replace("ECHO", &common::echo_backend().to_string())).unwrap();
    let mut options = common::options(path);
    options.watch_interval = None;
    options.listen_tls = Some(([127, 0, 0, 1], 0).into());
    options.status = Some(([127, 0, 0, 1], 0).into());
    let gw = RunningGateway::start(options).unwrap();
    Fixture { dir, ca, a, b, gw }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn client_config(ca: &CertificateDer<'static>, alpn: &[&[u8]]) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.clone()).unwrap();
    let mut config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// A TLS connection to `addr` with `sni`, trusting `ca`.
async fn connect(
    addr: SocketAddr,
    sni: &str,
    ca: &CertificateDer<'static>,
    alpn: &[&[u8]],
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from(sni.to_owned()).unwrap();
    TlsConnector::from(client_config(ca, alpn)).connect(name, tcp).await
}

fn presented(stream: &TlsStream<TcpStream>) -> CertificateDer<'static> {
    stream.get_ref().1.peer_certificates().unwrap()[0].clone().into_owned()
}

/// One request over HTTP/2 on `stream`: status, headers and body.
async fn h2<T>(io: T, request: Request<Full<Bytes>>) -> (u16, hyper::HeaderMap, Vec<u8>)
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(io)).await.unwrap();
    tokio::spawn(conn);
    let response = sender.send_request(request).await.unwrap();
    let (head, body) = response.into_parts();
    assert_eq!(head.version, hyper::Version::HTTP_2);
    (head.status.as_u16(), head.headers, body.collect().await.unwrap().to_bytes().to_vec())
}

/// A GET signed by the core for `url`, as a request with the signature's headers (`:authority`
/// carries the host that was signed).
fn signed_get(url: &str, secret: &str) -> Request<Full<Bytes>> {
    let signer = Signer::builder("AK1", secret).build().unwrap();
    let out = signer.sign(&SignableRequest::new("GET", url, &[], SignableBody::Bytes(b""))).unwrap();
    let mut request = Request::builder().method("GET").uri(url);
    for (name, value) in out.headers() {
        if !name.eq_ignore_ascii_case("host") {
            request = request.header(name, value);
        }
    }
    request.body(Full::new(Bytes::new())).unwrap()
}

/// The value of header `name` in an echo backend's answer.
fn echoed<'a>(echo: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    echo["headers"].as_array()?.iter().find(|h| h[0] == name).and_then(|h| h[1].as_str())
}

fn get(url: &str) -> Request<Full<Bytes>> {
    Request::builder().uri(url).body(Full::new(Bytes::new())).unwrap()
}

#[test]
fn each_group_presents_its_certificate_by_sni_and_unknown_sni_is_refused() {
    let f = fixture("sni");
    runtime().block_on(async {
        for (sni, want) in [("a.example", &f.a), ("www.a.example", &f.a), ("b.example", &f.b), ("www.b.example", &f.b)]
        {
            let stream = connect(f.tls(), sni, &f.ca.der, &[b"h2"]).await.unwrap();
            assert_eq!(&presented(&stream), want, "{sni}");
            assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]), "{sni}");
        }
        // no certificate for the name and no default: the handshake is refused
        let err = connect(f.tls(), "other.example", &f.ca.der, &[]).await.unwrap_err();
        assert!(err.to_string().contains("alert") || err.kind() != std::io::ErrorKind::Other, "{err}");
        // HTTP/1.1 by ALPN works too, and the backend learns the request came over https
        let stream = connect(f.tls(), "a.example", &f.ca.der, &[b"http/1.1"]).await.unwrap();
        assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
        tokio::spawn(conn);
        let request =
            Request::builder().uri("/open").header("host", "a.example").body(Full::new(Bytes::new())).unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), 200);
        let echo: serde_json::Value =
            serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
        assert_eq!(echoed(&echo, "x-forwarded-proto"), Some("https"), "{echo}");
    });
}

#[test]
fn a_request_signed_by_the_core_goes_through_over_http2_and_a_bad_signature_gets_the_http1_error() {
    let f = fixture("h2-signed");
    let port = f.tls().port();
    let url = format!("https://a.example:{port}/signed/items?b=2&a=1");
    runtime().block_on(async {
        let stream = connect(f.tls(), "a.example", &f.ca.der, &[b"h2"]).await.unwrap();
        let (status, headers, body) = h2(stream, signed_get(&url, "SK1-secret")).await;
        let echo: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, 200, "{echo}");
        assert!(headers.contains_key("x-request-id"));
        // the standalone echo backend saw the request, the signed host forwarded
        assert_eq!(echo["path"], "/signed/items", "{echo}");
        assert_eq!(echoed(&echo, "x-forwarded-host"), Some(format!("a.example:{port}").as_str()), "{echo}");

        let stream = connect(f.tls(), "a.example", &f.ca.der, &[b"h2"]).await.unwrap();
        let (status, _, body) = h2(stream, signed_get(&url, "wrong-secret")).await;
        let h2_error: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, 401, "{h2_error}");
        assert_eq!(h2_error["error_code"], "APIG.0303", "{h2_error}");

        // the same wrong signature over HTTP/1.1 (plain listener, same Host): the same answer
        let request = signed_get(&url, "wrong-secret");
        let mut headers: Vec<(String, String)> =
            request.headers().iter().map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned())).collect();
        headers.push(("Host".into(), format!("a.example:{port}")));
        let h1 = common::send(f.gw.addr(), "GET", "/signed/items?b=2&a=1", &headers, b"");
        let h1_error = h1.json().unwrap();
        assert_eq!(h1.status, 401);
        assert_eq!(h1_error["error_code"], h2_error["error_code"]);
        assert_eq!(h1_error["error_msg"], h2_error["error_msg"]);
    });
}

#[test]
fn curl_speaks_http2_with_the_test_ca() {
    let f = fixture("curl");
    let Ok(version) = std::process::Command::new("curl").arg("--version").output() else {
        eprintln!("SKIPPED: curl is not installed (apt-get install curl)");
        return;
    };
    assert!(String::from_utf8_lossy(&version.stdout).contains("HTTP2"), "curl without HTTP/2");
    let ca = f.dir.join("ca.pem");
    std::fs::write(&ca, &f.ca.pem).unwrap();
    let port = f.tls().port();
    let out = std::process::Command::new("curl")
        .args(["-sS", "-i", "--http2", "--max-time", "5", "--cacert"])
        .arg(&ca)
        .args(["--resolve", &format!("b.example:{port}:127.0.0.1"), &format!("https://b.example:{port}/b?x=1")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text} {}", String::from_utf8_lossy(&out.stderr));
    assert!(text.starts_with("HTTP/2 200"), "{text}");
    assert!(text.contains("\"query\":\"x=1\"") || text.contains("x=1"), "{text}");
}

#[test]
fn https_only_groups_redirect_or_refuse_plain_http() {
    let f = fixture("https-only");
    let port = f.tls().port();
    // group b redirects to the TLS listener's port, the Host's port dropped
    let r = client::request(f.gw.addr(), "GET", "/b?x=1", &[("Host", "www.b.example:8443")], b"").unwrap();
    assert_eq!(r.status, 308);
    assert_eq!(r.header("location"), Some(format!("https://www.b.example:{port}/b?x=1").as_str()));
    // group c refuses with APIG's error
    let r = client::request(f.gw.addr(), "GET", "/c", &[("Host", "c.example")], b"").unwrap();
    let message = common::assert_apig(&r, 400, "APIG.0201");
    assert!(message.contains("HTTPS only"), "{message}");
    // group a serves plain HTTP as before, and c over TLS
    let r = client::request(f.gw.addr(), "GET", "/open", &[("Host", "a.example")], b"").unwrap();
    assert_eq!(r.status, 200);
    runtime().block_on(async {
        let stream = connect(f.tls(), "c.example", &f.ca.der, &[b"h2"]).await.unwrap();
        let (status, _, _) = h2(stream, get(&format!("https://c.example:{port}/c"))).await;
        assert_eq!(status, 200);
    });
}

fn metric(gw: &RunningGateway, line_start: &str) -> String {
    let r = client::request(gw.status_addr().unwrap(), "GET", "/metrics", &[("Host", "s")], b"").unwrap();
    let text = String::from_utf8(r.body).unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    assert!(!scrape.samples.is_empty());
    text.lines().find(|l| l.starts_with(line_start)).unwrap_or("").to_owned()
}

#[test]
fn bad_certificates_are_refused_on_reload_the_running_ones_kept_and_renewed_ones_picked_up() {
    let f = fixture("reload");
    let shared = Arc::clone(f.gw.shared());
    let rt = runtime();
    // a key that does not match its certificate (another one's key written over it)
    let a_key = std::fs::read(f.dir.join("a.key")).unwrap();
    std::fs::copy(f.dir.join("b.key"), f.dir.join("a.key")).unwrap();
    let err = rt.block_on(apig_gateway::reload::reload(&shared)).unwrap_err().to_string();
    assert!(err.contains("a.key") && err.contains("does not match") && err.contains("a.pem"), "{err}");
    assert!(err.contains("groups[0].certificates[0]"), "{err}");
    assert_eq!(
        metric(&f.gw, "apig_gateway_config_reloads_total{result=\"failed\"}"),
        "apig_gateway_config_reloads_total{result=\"failed\"} 1"
    );
    // a certificate file gone
    std::fs::write(f.dir.join("a.key"), a_key).unwrap();
    std::fs::remove_file(f.dir.join("b.pem")).unwrap();
    let err = rt.block_on(apig_gateway::reload::reload(&shared)).unwrap_err().to_string();
    assert!(err.contains("b.pem") && err.contains("No such file"), "{err}");
    // the running certificates stay
    rt.block_on(async {
        let stream = connect(f.tls(), "a.example", &f.ca.der, &[]).await.unwrap();
        assert_eq!(presented(&stream), f.a);
    });
    // renewed files, the config file unchanged: reloaded, and the new certificate presented
    let renewed = leaf(&f.ca, &f.dir, "a", &["a.example", "www.a.example"]);
    leaf(&f.ca, &f.dir, "b", &["b.example", "www.b.example"]);
    assert!(rt.block_on(apig_gateway::reload::reload(&shared)).unwrap());
    rt.block_on(async {
        let stream = connect(f.tls(), "a.example", &f.ca.der, &[]).await.unwrap();
        assert_eq!(presented(&stream), renewed);
        assert_ne!(renewed, f.a);
    });
    // and the admin reload says why it refuses
    std::fs::write(f.dir.join("c.key"), "not a key").unwrap();
    let err = rt.block_on(apig_gateway::reload::reload(&shared)).unwrap_err().to_string();
    assert!(err.contains("c.key") && err.contains("no PEM private key"), "{err}");
}

#[test]
fn bad_certificates_are_refused_at_start_with_the_file_and_the_reason() {
    let dir = common::temp_dir("start");
    let ca = ca();
    leaf(&ca, &dir, "a", &["a.example"]);
    leaf(&ca, &dir, "other", &["a.example"]);
    let config = |cert: &str, key: &str| {
        format!(
            r#"{{"groups": [{{"id": "a", "domains": ["a.example"], "certificates": [{{"cert": "{cert}", "key": "{key}"}}]}}]}}"#
        )
    };
    let path = dir.join("gw.json");
    let gateway = env!("CARGO_BIN_EXE_apig-gateway");
    for (cert, key, file, reason) in [
        ("missing.pem", "a.key", "missing.pem", "No such file"),
        ("a.pem", "other.key", "other.key", "does not match"),
        ("a.key", "a.key", "a.key", "no PEM certificate"),
    ] {
        std::fs::write(&path, config(cert, key)).unwrap();
        let err = RunningGateway::start(common::options(path.clone())).unwrap_err().to_string();
        assert!(err.contains(file) && err.contains(reason), "{err}");
        let out = std::process::Command::new(gateway)
            .args(["--listen", "127.0.0.1:0", "--listen-tls", "127.0.0.1:0", "--access-log", "off", "--config"])
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(file) && stderr.contains(reason), "{stderr}");
        let out = std::process::Command::new(gateway).arg("check").arg(&path).output().unwrap();
        assert!(!out.status.success(), "check");
    }
    // the TLS settings: typed errors naming the valid values
    for (tls, want) in [
        (r#"{"min_version": "1.1"}"#, "expected `1.2` or `1.3`"),
        (r#"{"cipher_suites": ["TLS_RSA_WITH_RC4_128_MD5"]}"#, "valid: TLS13_AES_256_GCM_SHA384"),
        (r#"{"min_version": "1.3", "cipher_suites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]}"#, "do not fit"),
    ] {
        std::fs::write(&path, format!(r#"{{"gateway": {{"tls": {tls}}}}}"#)).unwrap();
        let err = RunningGateway::start(common::options(path.clone())).unwrap_err().to_string();
        assert!(err.contains(want), "{err}");
    }
    // a TLS listener with no certificate at all (outside the demo)
    std::fs::write(&path, "{}").unwrap();
    let mut options = common::options(path.clone());
    options.listen_tls = Some(([127, 0, 0, 1], 0).into());
    let err = RunningGateway::start(options).unwrap_err().to_string();
    assert!(err.contains("--listen-tls needs a certificate"), "{err}");
}

#[test]
fn a_failing_handshake_does_not_disturb_a_connection_in_flight() {
    let f = fixture("isolation");
    let port = f.tls().port();
    runtime().block_on(async {
        // a connection in flight: handshake done, HTTP/2 up, one request answered
        let stream = connect(f.tls(), "a.example", &f.ca.der, &[b"h2"]).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await.unwrap();
        tokio::spawn(conn);
        let first = sender.send_request(get(&format!("https://a.example:{port}/open"))).await.unwrap();
        assert_eq!(first.status(), 200);
        // garbage instead of a ClientHello: closed (with an alert), and so is an unknown name
        let mut raw = TcpStream::connect(f.tls()).await.unwrap();
        raw.write_all(b"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n").await.unwrap();
        let mut sink = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), raw.read_to_end(&mut sink)).await.unwrap();
        assert!(read.is_err() || sink.len() < 64, "{sink:?}");
        assert!(connect(f.tls(), "nobody.example", &f.ca.der, &[b"h2"]).await.is_err());
        // a client that starts a handshake and stops: its connection only waits
        let mut stalled = TcpStream::connect(f.tls()).await.unwrap();
        stalled.write_all(&[0x16, 0x03, 0x01]).await.unwrap();
        // the connection in flight goes on
        let second = sender.send_request(get(&format!("https://a.example:{port}/open"))).await.unwrap();
        assert_eq!(second.status(), 200);
        drop(stalled);
    });
}

#[test]
fn the_demo_serves_a_self_signed_certificate_for_localhost_and_127_0_0_1() {
    let mut options = GatewayOptions::new(([127, 0, 0, 1], 0).into(), ConfigSource::Demo);
    options.access_log = apig_gateway::access_log::LogTarget::Off;
    options.listen_tls = Some(([127, 0, 0, 1], 0).into());
    let gw = RunningGateway::start(options).unwrap();
    let pem = gw.self_signed_pem().unwrap();
    let der = rustls::pki_types::pem::PemObject::from_pem_slice(pem.as_bytes()).unwrap();
    runtime().block_on(async {
        for name in ["localhost", "127.0.0.1"] {
            // trusting exactly that certificate, verified for each name
            let stream = connect(gw.tls_addr().unwrap(), name, &der, &[b"h2"]).await.unwrap();
            assert_eq!(presented(&stream), der, "{name}");
            let (status, _, body) =
                h2(stream, get(&format!("https://{name}:{}/demo/echo", gw.tls_addr().unwrap().port()))).await;
            let error: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!((status, error["error_code"].as_str()), (401, Some("APIG.0303")));
        }
    });
}

#[test]
fn the_demo_banner_prints_the_fingerprint_of_the_certificate_served() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_apig-gateway"))
        .args(["--listen", "127.0.0.1:0", "--listen-tls", "127.0.0.1:0", "--access-log", "off"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stderr.take().unwrap()));
    let mut addr = None;
    let mut fingerprint = None;
    let mut pin = None;
    for line in lines.by_ref().map_while(Result::ok).take(30) {
        if let Some(a) = line.strip_prefix("TLS (HTTP/2, HTTP/1.1) on https://") {
            addr = Some(a.parse::<SocketAddr>().unwrap());
        } else if line.starts_with("  ") && line.len() == 2 + 95 && line.as_bytes()[4] == b':' {
            fingerprint = Some(line.trim().to_owned());
        } else if let Some(at) = line.find("sha256//") {
            pin = Some(line[at..].split('\'').next().unwrap().to_owned());
            break;
        }
    }
    let (addr, fingerprint) = (addr.unwrap(), fingerprint.unwrap());
    let served = runtime().block_on(async {
        // accept any certificate: what is checked is that the banner names the one served
        let tcp = TcpStream::connect(addr).await.unwrap();
        let mut config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate))
            .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec()];
        let stream = TlsConnector::from(Arc::new(config))
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .unwrap();
        presented(&stream)
    });
    assert_eq!(apig_gateway::tls::fingerprint(&served), fingerprint);
    let pin = pin.unwrap();
    if std::process::Command::new("curl").arg("--version").output().is_ok() {
        // the banner's curl line: the pin accepts the generated key, a wrong pin is refused
        let url = format!("https://localhost:{}/demo/echo", addr.port());
        let curl = |pin: &str| {
            std::process::Command::new("curl")
                .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--http2", "-k", "--max-time", "5"])
                .args(["--pinnedpubkey", pin, "--resolve", &format!("localhost:{}:127.0.0.1", addr.port()), &url])
                .output()
                .unwrap()
        };
        assert_eq!(String::from_utf8_lossy(&curl(&pin).stdout), "401");
        assert!(!curl("sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").status.success());
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A verifier accepting any certificate (the fingerprint test checks the certificate itself).
#[derive(Debug)]
struct AnyCertificate;

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider().signature_verification_algorithms.supported_schemes()
    }
}

#[test]
fn h2c_is_served_on_the_plain_listener_when_asked() {
    let dir = common::temp_dir("h2c");
    let path = dir.join("gw.json");
    std::fs::write(
        &path,
        CONFIG.replace(r#""certificates": [{"cert": "a.pem", "key": "a.key"}], "#, "").replace("ECHO", "1"),
    )
    .unwrap();
    // without certificates for b and c the file is not valid: keep only group a
    let mut config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["groups"].as_array_mut().unwrap().truncate(1);
    config["environments"][0]["published"] = serde_json::json!(["a-open"]);
    config["authorizations"] = serde_json::json!([]);
    std::fs::write(&path, config.to_string()).unwrap();
    let mut options = common::options(path.clone());
    options.h2c = true;
    let gw = RunningGateway::start(options).unwrap();
    runtime().block_on(async {
        let tcp = TcpStream::connect(gw.addr()).await.unwrap();
        let (status, _, _) = h2(tcp, get(&format!("http://a.example:{}/open", gw.addr().port()))).await;
        assert_eq!(status, 200);
    });
    // HTTP/1.1 still works on the same listener
    let r = client::request(gw.addr(), "GET", "/open", &[("Host", "a.example")], b"").unwrap();
    assert_eq!(r.status, 200);
    // and without --h2c the HTTP/2 preface is not understood
    let plain = RunningGateway::start(common::options(path)).unwrap();
    runtime().block_on(async {
        let tcp = TcpStream::connect(plain.addr()).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp)).await.unwrap();
        tokio::spawn(conn);
        assert!(sender.send_request(get(&format!("http://a.example:{}/open", plain.addr().port()))).await.is_err());
    });
}

const TOKEN: &str = "admin-token-0123456789";

fn admin_gateway(dir: &Path, allow: &[&str], tls: Option<(&Path, &Path)>) -> anyhow::Result<RunningGateway> {
    let path = dir.join("gw.json");
    std::fs::write(&path, "{}").unwrap();
    let mut options = common::options(path);
    options.admin = Some(AdminOptions { listen: ([127, 0, 0, 1], 0).into(), token: TOKEN.to_owned() });
    options.admin_allow = allow.iter().map(|c| c.parse().unwrap()).collect();
    options.admin_tls = tls
        .map(|(cert, key)| apig_gateway::config::CertificateFiles { cert: cert.to_path_buf(), key: key.to_path_buf() });
    RunningGateway::start(options)
}

#[test]
fn the_admin_api_answers_only_the_allowed_networks_and_still_wants_its_token() {
    let dir = common::temp_dir("admin-allow");
    // outside the list: 403, even with the token
    let gw = admin_gateway(&dir, &["10.0.0.0/8"], None).unwrap();
    let auth = format!("Bearer {TOKEN}");
    let r =
        client::request(gw.admin_addr().unwrap(), "GET", "/v1/apps", &[("Host", "a"), ("Authorization", &auth)], b"")
            .unwrap();
    assert_eq!(r.status, 403, "{:?}", String::from_utf8_lossy(&r.body));
    drop(gw);
    // inside: the token is still required
    let gw = admin_gateway(&dir, &["10.0.0.0/8", "127.0.0.0/8"], None).unwrap();
    let admin = gw.admin_addr().unwrap();
    assert_eq!(client::request(admin, "GET", "/v1/apps", &[("Host", "a")], b"").unwrap().status, 401);
    let r = client::request(admin, "GET", "/v1/apps", &[("Host", "a"), ("Authorization", &auth)], b"").unwrap();
    assert_eq!(r.status, 200);
    drop(gw);
    // a non-loopback address needs the list
    let mut options = common::options(dir.join("gw.json"));
    options.admin = Some(AdminOptions { listen: ([0, 0, 0, 0], 0).into(), token: TOKEN.to_owned() });
    let err = RunningGateway::start(options).unwrap_err().to_string();
    assert!(err.contains("--admin-allow"), "{err}");
}

#[test]
fn the_admin_api_speaks_https_with_its_certificate() {
    let dir = common::temp_dir("admin-tls");
    let ca = ca();
    leaf(&ca, &dir, "admin", &["localhost"]);
    leaf(&ca, &dir, "other", &["localhost"]);
    // a mismatched pair is refused at start
    let err = admin_gateway(&dir, &[], Some((&dir.join("admin.pem"), &dir.join("other.key")))).unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
    let gw = admin_gateway(&dir, &[], Some((&dir.join("admin.pem"), &dir.join("admin.key")))).unwrap();
    let admin = gw.admin_addr().unwrap();
    runtime().block_on(async {
        let stream = connect(admin, "localhost", &ca.der, &[b"http/1.1"]).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
        tokio::spawn(conn);
        let request = Request::builder()
            .uri("/v1/apps")
            .header("host", "localhost")
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        assert_eq!(sender.send_request(request).await.unwrap().status(), 200);
    });
    // plain HTTP gets no answer
    assert!(client::request(admin, "GET", "/v1/apps", &[("Host", "a")], b"").is_err());
}

#[test]
fn a_handshake_not_completed_in_time_is_closed_and_the_default_certificate_serves_unknown_names() {
    let dir = common::temp_dir("handshake-timeout");
    let ca = ca();
    let default = leaf(&ca, &dir, "default", &["default.example"]);
    let path = dir.join("gw.json");
    let tls = r#"{"handshake_timeout_ms": 200, "default_certificate": {"cert": "default.pem", "key": "default.key"}}"#;
    std::fs::write(&path, format!(r#"{{"gateway": {{"tls": {tls}}}}}"#)).unwrap();
    let mut options = common::options(path);
    options.listen_tls = Some(([127, 0, 0, 1], 0).into());
    let gw = RunningGateway::start(options).unwrap();
    runtime().block_on(async {
        // a client that sends half a ClientHello and waits: closed after the timeout
        let mut stalled = TcpStream::connect(gw.tls_addr().unwrap()).await.unwrap();
        stalled.write_all(&[0x16, 0x03, 0x01, 0x00, 0xff]).await.unwrap();
        let started = std::time::Instant::now();
        let mut sink = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), stalled.read_to_end(&mut sink)).await;
        assert!(read.is_ok(), "not closed within 5 s");
        assert!(started.elapsed() >= Duration::from_millis(150), "{:?}", started.elapsed());
        // any name without a certificate of its own gets the default one
        let stream = connect(gw.tls_addr().unwrap(), "default.example", &ca.der, &[]).await.unwrap();
        assert_eq!(presented(&stream), default);
    });
}

#[test]
fn the_minimum_version_and_the_cipher_suites_are_those_configured() {
    let dir = common::temp_dir("versions");
    let ca = ca();
    leaf(&ca, &dir, "default", &["default.example"]);
    let path = dir.join("gw.json");
    let tls = r#"{"min_version": "1.3", "cipher_suites": ["TLS13_CHACHA20_POLY1305_SHA256"],
                  "default_certificate": {"cert": "default.pem", "key": "default.key"}}"#;
    std::fs::write(&path, format!(r#"{{"gateway": {{"tls": {tls}}}}}"#)).unwrap();
    let mut options = common::options(path);
    options.listen_tls = Some(([127, 0, 0, 1], 0).into());
    let gw = RunningGateway::start(options).unwrap();
    let addr = gw.tls_addr().unwrap();
    runtime().block_on(async {
        let stream = connect(addr, "default.example", &ca.der, &[]).await.unwrap();
        let session = stream.get_ref().1;
        assert_eq!(session.protocol_version(), Some(rustls::ProtocolVersion::TLSv1_3));
        assert_eq!(
            session.negotiated_cipher_suite().map(|s| s.suite()),
            Some(rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256)
        );
        // a TLS 1.2 client is refused
        let mut roots = RootCertStore::empty();
        roots.add(ca.der.clone()).unwrap();
        let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS12])
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let tcp = TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from("default.example").unwrap();
        assert!(TlsConnector::from(Arc::new(config)).connect(name, tcp).await.is_err());
    });
}

/// One HTTP/2 frame: length, type, flags, stream id, payload.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
    let mut f = vec![len[1], len[2], len[3], kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

#[test]
fn a_rapid_reset_flood_over_http2_is_cut_off() {
    let f = fixture("rapid-reset");
    runtime().block_on(async {
        let mut stream = connect(f.tls(), "a.example", &f.ca.der, &[b"h2"]).await.unwrap();
        // the preface, empty SETTINGS, then 200 streams each opened (GET /open) and reset at once
        let mut flood = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        flood.extend(frame(0x4, 0, 0, &[]));
        // HPACK: :method GET, :scheme https, :path /, then :authority as a literal
        let mut block = vec![0x82, 0x87, 0x84, 0x01, 9];
        block.extend_from_slice(b"a.example");
        for i in 0..200u32 {
            let id = 2 * i + 1;
            flood.extend(frame(0x1, 0x4 | 0x1, id, &block));
            flood.extend(frame(0x3, 0, id, &8u32.to_be_bytes())); // RST_STREAM CANCEL
        }
        stream.write_all(&flood).await.unwrap();
        // the server answers with GOAWAY ENHANCE_YOUR_CALM (0xb) and closes the connection
        let mut received = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), async {
            let mut buf = [0u8; 16384];
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => received.extend_from_slice(&buf[..n]),
                }
            }
        })
        .await;
        assert!(read.is_ok(), "the connection stayed open");
        let mut at = 0;
        let mut goaway = None;
        while at + 9 <= received.len() {
            let len =
                usize::from(received[at]) << 16 | usize::from(received[at + 1]) << 8 | usize::from(received[at + 2]);
            if received[at + 3] == 0x7 && at + 9 + 8 <= received.len() {
                let code = &received[at + 9 + 4..at + 9 + 8];
                goaway = Some(u32::from_be_bytes(code.try_into().unwrap()));
            }
            at += 9 + len;
        }
        assert_eq!(goaway, Some(0xb), "{} bytes received", received.len());
        // another connection is served as usual
        let stream = connect(f.tls(), "a.example", &f.ca.der, &[b"h2"]).await.unwrap();
        let (status, _, _) = h2(stream, get(&format!("https://a.example:{}/open", f.tls().port()))).await;
        assert_eq!(status, 200);
    });
}

#[test]
fn a_tls_connection_over_the_cap_is_closed_at_once() {
    let dir = common::temp_dir("tls-cap");
    let ca = ca();
    leaf(&ca, &dir, "default", &["default.example"]);
    let path = dir.join("gw.json");
    let config = r#"{"gateway": {"max_connections": 1,
        "tls": {"default_certificate": {"cert": "default.pem", "key": "default.key"}}}}"#;
    std::fs::write(&path, config).unwrap();
    let mut options = common::options(path);
    options.listen_tls = Some(([127, 0, 0, 1], 0).into());
    let gw = RunningGateway::start(options).unwrap();
    let addr = gw.tls_addr().unwrap();
    runtime().block_on(async {
        let held = connect(addr, "default.example", &ca.der, &[]).await.unwrap();
        // the second is closed without a handshake (no plain-text answer a TLS client cannot read)
        let mut over = TcpStream::connect(addr).await.unwrap();
        let mut sink = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), over.read_to_end(&mut sink)).await.unwrap();
        assert!(read.is_err() || sink.is_empty(), "{:?}", String::from_utf8_lossy(&sink));
        drop(held);
        // its slot comes back once the held connection is gone
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while connect(addr, "default.example", &ca.der, &[]).await.is_err() {
            assert!(std::time::Instant::now() < deadline, "the slot was not given back");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
}
