//! Abuse and ambiguity over raw sockets (issue #19): heads with too many headers, requests refused
//! before their body is read, slow bodies, the connection cap, headers added after signing, and
//! absolute-form request targets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use apig::{Algorithm, SignableBody, SignableRequest, Signer};
use apig_conformance::client::{RawResponse, read_response, send_raw};
use common::*;

/// The base config with `gateway` settings replaced by `gateway` (a JSON object's fields).
fn config_with(gateway: &str) -> String {
    base_config(echo_backend()).replacen(
        r#""gateway": {"max_body_bytes": 65536"#,
        &format!(r#""gateway": {{{gateway}, "max_body_bytes": 65536"#),
        1,
    )
}

/// Opens a connection and sends `head` (and nothing more).
fn open_with(addr: SocketAddr, head: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(head).unwrap();
    s
}

/// Reads one response within `limit`.
fn answer_within(s: &mut TcpStream, limit: Duration) -> std::io::Result<RawResponse> {
    s.set_read_timeout(Some(limit)).unwrap();
    read_response(s)
}

/// The head of a signed `POST /echo` with a 1000-byte body, without the body.
fn signed_post_head(addr: SocketAddr, key: &str, secret: &str, date: Option<&str>) -> String {
    let body = vec![b'x'; 1000];
    let mut given = vec![("Content-Type", "text/plain")];
    if let Some(d) = date {
        given.push(("X-Sdk-Date", d));
    }
    let h = signed_headers(addr, "POST", "/echo", &given, &body, key, secret, Algorithm::SdkHmacSha256);
    let lines: String = h.iter().map(|(n, v)| format!("{n}: {v}\r\n")).collect();
    // the signer's headers include `Host`
    format!("POST /echo HTTP/1.1\r\n{lines}Content-Length: 1000\r\n\r\n")
}

#[test]
fn many_request_headers_get_the_apig_494() {
    // hyper parsed at most 1000 headers and answered more with an empty 431 before this fix
    let (gw, _) = start_base("many-headers");
    let addr = gw.addr();
    for (count, why) in [(1500, "more than 256 headers"), (2000, "limit 16384 bytes")] {
        let mut head = format!("GET /open HTTP/1.1\r\nHost: {addr}\r\n");
        for i in 0..count {
            head.push_str(&format!("h{i}: v\r\n"));
        }
        head.push_str("\r\n");
        let r = send_raw(addr, head.as_bytes(), Duration::from_secs(10)).unwrap();
        let msg = assert_apig(&r, 494, "APIG.0201");
        assert!(msg.contains(why), "{count} headers: {msg}");
    }
    assert_eq!(signed(addr, "GET", "/echo", b"").status, 200);
}

#[test]
fn a_request_that_will_be_refused_is_refused_before_its_body_is_read() {
    // Before the fix the gateway read the whole body before checking the key: these clients,
    // which send 1 byte of a 1000-byte body, got no answer (until the gateway's body timeout).
    let (gw, _) = start_base("before-body");
    let addr = gw.addr();
    let stale = "20200101T000000Z";
    let cases = [
        ("unknown key", signed_post_head(addr, "NOBODY", "whatever-secret", None), 401, "APIG.0303", "app not found"),
        ("expired date", signed_post_head(addr, "AK1", "SK1-secret", Some(stale)), 401, "APIG.0303", "expired"),
        ("app not authorised", signed_post_head(addr, "AK2", "SK2-secret", None), 403, "APIG.0304", "not authorized"),
    ];
    for (name, head, status, code, text) in cases {
        let started = Instant::now();
        let mut s = open_with(addr, head.as_bytes());
        s.write_all(b"x").unwrap();
        let r = answer_within(&mut s, Duration::from_secs(5)).unwrap_or_else(|e| panic!("{name}: no answer: {e}"));
        let msg = assert_apig(&r, status, code);
        assert!(msg.contains(text), "{name}: {msg}");
        assert!(started.elapsed() < Duration::from_secs(5), "{name}");
    }
    // the signed request with its whole body still passes
    let body = vec![b'x'; 1000];
    let h = signed_headers(addr, "POST", "/echo", &[], &body, "AK1", "SK1-secret", Algorithm::SdkHmacSha256);
    assert_eq!(send(addr, "POST", "/echo", &h, &body).status, 200);

    // an app ACL (the policies' `before_body` stage) refuses before the body too
    let config = base_config(echo_backend())
        .replacen(
            r#""auth": "app", "backend": {"url": "echo:"}}"#,
            r#""auth": "app", "backend": {"url": "echo:"}, "policies": ["deny-a1"]}"#,
            1,
        )
        .replacen(
            r#""policies": [
    {"name": "browser""#,
            r#""policies": [
    {"name": "deny-a1", "type": "access_control", "config": {"app_deny": ["AK1"]}},
    {"name": "browser""#,
            1,
        );
    assert!(config.contains("deny-a1\", \"type"), "the test's config edit did not apply");
    let (acl, _) = start_in(&temp_dir("before-body-acl"), &config);
    let mut s = open_with(acl.addr(), signed_post_head(acl.addr(), "AK1", "SK1-secret", None).as_bytes());
    s.write_all(b"x").unwrap();
    let r = answer_within(&mut s, Duration::from_secs(5)).expect("app ACL: no answer before the body");
    assert_apig(&r, 403, "APIG.0405");
}

#[test]
fn a_head_fault_behind_a_declared_body_hash_is_refused_before_the_body() {
    // Before the core's head check the gateway verified the head against an empty body, met the
    // declared X-Sdk-Content-Sha256 (the hash of a non-empty body) first and waited for the body
    // to check it: a conflicting repeat of a signed header got no answer until the body timeout.
    let (gw, _) = start_base("head-fault-declared-hash");
    let addr = gw.addr();
    let body = vec![b'x'; 1000];
    let hash = Algorithm::SdkHmacSha256.hash_function().hash_hex(&body);
    let given = [("X-Sdk-Content-Sha256", hash.as_str()), ("X-Project-Id", "p1")];
    let h = signed_headers(addr, "POST", "/echo", &given, &body, "AK1", "SK1-secret", Algorithm::SdkHmacSha256);
    let lines: String = h.iter().map(|(n, v)| format!("{n}: {v}\r\n")).collect();
    let head = format!("POST /echo HTTP/1.1\r\n{lines}X-Project-Id: p2\r\nContent-Length: 1000\r\n\r\n");
    let mut s = open_with(addr, head.as_bytes());
    s.write_all(b"x").unwrap();
    let r = answer_within(&mut s, Duration::from_secs(5)).expect("no answer before the body");
    let msg = assert_apig(&r, 401, "APIG.0303");
    assert!(msg.contains("more than once"), "{msg}");
    // the same request without the repeat, with its whole body, passes
    assert_eq!(send(addr, "POST", "/echo", &h, &body).status, 200);
}

#[test]
fn a_slow_body_gets_408_within_the_body_timeout() {
    // Before the fix there was no body deadline (and `body_timeout_ms` was an unknown field)
    let dir = temp_dir("slow-body");
    let (gw, _) = start_in(&dir, &config_with(r#""body_timeout_ms": 1000"#));
    let addr = gw.addr();
    let signed_head = signed_post_head(addr, "AK1", "SK1-secret", None);
    let open_head = format!("POST /open HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 1000\r\n\r\n");
    let proxied_head = format!("POST /proxied HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 1000\r\n\r\n");
    for (name, head) in [
        ("signed, buffered", signed_head),
        ("open, streamed to the built-in echo", open_head),
        ("open, streamed to a real backend", proxied_head),
    ] {
        let started = Instant::now();
        let mut s = open_with(addr, head.as_bytes());
        let mut writer = s.try_clone().unwrap();
        // a byte every 100 ms: the 1000 bytes would take 100 s
        let drip = std::thread::spawn(move || {
            for _ in 0..60 {
                if writer.write_all(b"x").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let r = answer_within(&mut s, Duration::from_secs(5)).unwrap_or_else(|e| panic!("{name}: no answer: {e}"));
        let took = started.elapsed();
        let msg = assert_apig(&r, 408, "APIG.0201");
        assert!(msg.contains("1000 ms"), "{name}: {msg}");
        assert_eq!(r.header("connection"), Some("close"), "{name}");
        assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(4), "{name}: {took:?}");
        drop(s);
        drip.join().unwrap();
    }
    assert_eq!(signed(addr, "GET", "/echo", b"").status, 200);
}

#[test]
fn over_the_connection_cap_new_connections_get_429_and_signed_traffic_gets_through() {
    // Before the fix there was no cap (and `max_connections` was an unknown field). The cap is 4;
    // the test's header timeout is 2 s, so idle connections free their slots after 2 s.
    let dir = temp_dir("conn-cap");
    let (gw, _) = start_in(&dir, &config_with(r#""max_connections": 4"#));
    let addr = gw.addr();
    // two send half a head, two nothing at all
    let idle: Vec<TcpStream> =
        (0..4).map(|i| open_with(addr, if i % 2 == 0 { b"GET /open HTTP/1.1\r\n" } else { b"" })).collect();
    std::thread::sleep(Duration::from_millis(300));
    // two more: answered at once with APIG.0308 429, without their request being read
    let started = Instant::now();
    for _ in 0..2 {
        let mut extra = TcpStream::connect(addr).unwrap();
        let r = answer_within(&mut extra, Duration::from_secs(3)).unwrap();
        let msg = assert_apig(&r, 429, "APIG.0308");
        assert!(msg.contains("too many connections, limit 4"), "{msg}");
    }
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    // the idle ones are cut at the header timeout; a signed request is then served
    let served = (0..50).any(|_| {
        let h = signed_headers(addr, "GET", "/echo", &[], b"", "AK1", "SK1-secret", Algorithm::SdkHmacSha256);
        if send(addr, "GET", "/echo", &h, b"").status == 200 {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
        false
    });
    assert!(served, "no signed request was served after the idle connections timed out");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    drop(idle);
}

/// Signs `GET {url}` with AK1, the given headers signed (and `host`, the URL's); returns the
/// headers to send but `Host`, which the caller writes.
fn sign_url(url: &str, headers: &[(&str, &str)]) -> Vec<(String, String)> {
    let signer = Signer::builder("AK1", "SK1-secret").build().unwrap();
    let out = signer.sign(&SignableRequest::new("GET", url, headers, SignableBody::Bytes(b""))).unwrap();
    let mut all: Vec<(String, String)> = headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
    all.extend(
        out.headers().filter(|(n, _)| !n.eq_ignore_ascii_case("host")).map(|(n, v)| (n.to_owned(), v.to_owned())),
    );
    all
}

#[test]
fn drop_unsigned_headers_forwards_only_what_the_client_signed() {
    // Before the fix `drop_unsigned_headers` was an unknown field and headers added after signing
    // reached the backend.
    let dir = temp_dir("drop-unsigned");
    let (gw, _) = start_in(&dir, &config_with(r#""drop_unsigned_headers": true"#));
    let addr = gw.addr();
    let mut h = signed_headers(
        addr,
        "GET",
        "/signed/x",
        &[("X-Signed", "yes")],
        b"",
        "AK1",
        "SK1-secret",
        Algorithm::SdkHmacSha256,
    );
    // added after signing: still accepted (the signature does not cover them), not forwarded
    h.push(("X-Added".into(), "evil".into()));
    h.push(("X-Forwarded-Host".into(), "evil.example".into()));
    h.push(("X-Forwarded-For".into(), "6.6.6.6".into()));
    let r = send(addr, "GET", "/signed/x", &h, b"");
    assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
    // the standalone echo server (a real backend over TCP) shows the headers it received
    let json = r.json().unwrap();
    let seen: Vec<String> =
        json["headers"].as_array().unwrap().iter().map(|p| p[0].as_str().unwrap().to_ascii_lowercase()).collect();
    for kept in
        ["x-signed", "x-sdk-date", "authorization", "host", "x-forwarded-for", "x-forwarded-host", "x-request-id"]
    {
        assert!(seen.iter().any(|n| n == kept), "{kept} not forwarded: {seen:?}");
    }
    assert!(!seen.iter().any(|n| n == "x-added"), "{seen:?}");
    let header = |json: &serde_json::Value, name: &str| {
        json["headers"].as_array().unwrap().iter().find(|p| p[0] == name).map(|p| p[1].as_str().unwrap().to_owned())
    };
    assert_eq!(header(&json, "x-forwarded-host").unwrap(), addr.to_string());
    assert_eq!(header(&json, "x-forwarded-for").unwrap(), "127.0.0.1");

    // a body: its unsigned Content-Length and Content-Type are dropped, the gateway frames the body
    let body = b"{\"k\": 1}";
    let mut h = signed_headers(addr, "POST", "/signed/x", &[], body, "AK1", "SK1-secret", Algorithm::SdkHmacSha256);
    h.push(("Content-Type".into(), "application/json".into()));
    let r = send(addr, "POST", "/signed/x", &h, body);
    assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
    let json = r.json().unwrap();
    assert_eq!(json["body"], "{\"k\": 1}", "{json}");
    assert_eq!(header(&json, "content-type"), None, "{json}");
    assert_eq!(header(&json, "content-length").as_deref(), Some("8"), "{json}");

    // without the option, the unsigned header goes through (as before)
    let (plain, _) = start_base("keep-unsigned");
    let mut h =
        signed_headers(plain.addr(), "GET", "/signed/x", &[], b"", "AK1", "SK1-secret", Algorithm::SdkHmacSha256);
    h.push(("X-Added".into(), "evil".into()));
    let json = send(plain.addr(), "GET", "/signed/x", &h, b"").json().unwrap();
    assert!(json["headers"].as_array().unwrap().iter().any(|p| p[0] == "x-added"), "{json}");
}

#[test]
fn an_absolute_form_target_is_routed_and_verified_on_its_authority() {
    // RFC 9112 §3.2.2: with `GET http://host/path`, `Host` is ignored. Before the fix the gateway
    // routed and verified on `Host`: 404 for the first request, 401 for the second.
    let (gw, _) = start_base("absolute-form");
    let addr = gw.addr();
    // group `h` answers on api.example.com only
    let head = "GET http://api.example.com/hosted HTTP/1.1\r\nHost: elsewhere.example\r\nConnection: close\r\n\r\n";
    let r = send_raw(addr, head.as_bytes(), Duration::from_secs(5)).unwrap();
    assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
    let json = r.json().unwrap();
    let host = json["headers"].as_array().unwrap().iter().find(|p| p[0] == "host").unwrap();
    assert_eq!(host[1], "api.example.com");

    // signed for the target's authority, sent with another Host: verified on the authority
    let lines: String =
        sign_url("http://signed.example/echo?a=1", &[]).iter().map(|(n, v)| format!("{n}: {v}\r\n")).collect();
    let head = format!(
        "GET http://signed.example/echo?a=1 HTTP/1.1\r\nHost: attacker.example\r\n{lines}Connection: close\r\n\r\n"
    );
    let r = send_raw(addr, head.as_bytes(), Duration::from_secs(5)).unwrap();
    assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));

    // and signed for the Host header's name instead: refused
    let lines: String =
        sign_url("http://attacker.example/echo?a=1", &[]).iter().map(|(n, v)| format!("{n}: {v}\r\n")).collect();
    let head = format!(
        "GET http://signed.example/echo?a=1 HTTP/1.1\r\nHost: attacker.example\r\n{lines}Connection: close\r\n\r\n"
    );
    let r = send_raw(addr, head.as_bytes(), Duration::from_secs(5)).unwrap();
    assert_apig(&r, 401, "APIG.0303");

    // user information in the target is refused
    let head = "GET http://u:p@api.example.com/hosted HTTP/1.1\r\nHost: api.example.com\r\n\r\n";
    let r = send_raw(addr, head.as_bytes(), Duration::from_secs(5)).unwrap();
    assert_apig(&r, 400, "APIG.0201");
}

/// A child process killed when dropped.
struct Proc(std::process::Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn slow_bodies_naming_any_key_do_not_stop_a_gateway_with_few_file_descriptors() {
    // The battery's attack: a well-formed Authorization naming an unknown key, then a body sent a
    // byte at a time, on more connections than the gateway has file descriptors (256 here, the
    // config has no max_connections: the default 512 is above the limit). Before the fix the
    // gateway read each body before refusing it, so these connections held every descriptor and
    // the signed request below was never accepted. Now each is refused on its head and closed.
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = temp_dir("fd-limit");
    let path = dir.join("gateway.json");
    std::fs::write(&path, base_config(echo_backend())).unwrap();
    let mut child = Command::new("sh")
        .args(["-c", "ulimit -n 256 && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_apig-gateway"))
        .args(["--listen", "127.0.0.1:0", "--watch-interval-ms", "0", "--workers", "1", "--access-log", "off"])
        .arg("--config")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let _gateway = Proc(child);
    let addr: SocketAddr = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("apig-gateway listening on http://").map(|a| a.trim().parse().unwrap()))
        .expect("the gateway did not start");
    std::thread::spawn(move || lines.for_each(drop));

    let head = signed_post_head(addr, "NOBODY", "whatever-secret", None);
    let mut attackers = Vec::new();
    for _ in 0..400 {
        if let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(b"x");
            attackers.push(s);
        }
    }
    // the attackers keep their connections open (and would go on sending); a signed request is
    // served meanwhile
    let started = Instant::now();
    let h = signed_headers(addr, "GET", "/echo", &[], b"", "AK1", "SK1-secret", Algorithm::SdkHmacSha256);
    let h: Vec<(&str, &str)> = h.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let bytes = apig_conformance::client::request_bytes("GET", "/echo", &h, b"");
    let r = send_raw(addr, &bytes, Duration::from_secs(5)).expect("the signed request was not served");
    assert_eq!(r.status, 200);
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    // and every attacker was answered 401 without its body
    let mut answered = 0;
    for s in &mut attackers {
        if let Ok(r) = answer_within(s, Duration::from_millis(500))
            && r.status == 401
        {
            answered += 1;
        }
    }
    assert!(answered >= attackers.len() * 9 / 10, "{answered} of {} answered 401", attackers.len());
}
