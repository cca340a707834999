//! The connection after an early answer (a rejection found before the request body is read): a
//! small body is discarded and the connection serves the client's next request; a larger body, or
//! one of unknown length, gets `Connection: close` and the gateway then closes. HTTP/1.1 over raw
//! sockets, and HTTP/2 (h2c), where the unread body's stream ends and the others go on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use apig::Algorithm;
use apig_conformance::client::{RawResponse, read_response, request_bytes};
use apig_gateway::server::RunningGateway;
use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt as _, Full};
use hyper::body::{Body, Frame, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};

/// The base config with a 1 MiB body limit (so a body over the discard limit is still accepted).
fn start(name: &str, h2c: bool) -> RunningGateway {
    let dir = temp_dir(name);
    let config = base_config(echo_backend())
        .replacen(r#""max_body_bytes": 65536"#, r#""max_body_bytes": 1048576"#, 1)
        .replacen(r#""method": "GET", "path": "/down""#, r#""method": "ANY", "path": "/down""#, 1);
    let path = dir.join("gateway.json");
    std::fs::write(&path, config).unwrap();
    let mut o = options(path);
    o.h2c = h2c;
    RunningGateway::start(o).unwrap()
}

/// The head of a signed `POST /echo` whose signature is refused before its body: `key` unknown, or
/// `date` expired; `framing` is its `Content-Length` or `Transfer-Encoding` line.
fn refused_post_head(addr: SocketAddr, key: &str, date: Option<&str>, framing: &str) -> String {
    let mut given = vec![("Content-Type", "text/plain")];
    if let Some(d) = date {
        given.push(("X-Sdk-Date", d));
    }
    let h = signed_headers(addr, "POST", "/echo", &given, b"x", key, "whatever-secret", Algorithm::SdkHmacSha256);
    let lines: String = h.iter().map(|(n, v)| format!("{n}: {v}\r\n")).collect();
    format!("POST /echo HTTP/1.1\r\n{lines}{framing}\r\n\r\n")
}

/// A valid signed `GET /echo`, as bytes (with `Connection: close`: the connection's last request).
fn valid_get(addr: SocketAddr) -> Vec<u8> {
    let h = signed_headers(addr, "GET", "/echo", &[], b"", "AK1", "SK1-secret", Algorithm::SdkHmacSha256);
    let h: Vec<(&str, &str)> = h.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    request_bytes("GET", "/echo", &h, b"")
}

fn read_one(s: &mut TcpStream) -> RawResponse {
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    read_response(s).unwrap()
}

/// After `first` on `s`: when it said `Connection: close`, the gateway closes the connection;
/// otherwise the connection answers a valid request. Returns whether it was kept.
fn connection_after(addr: SocketAddr, s: &mut TcpStream, first: &RawResponse, case: &str) -> bool {
    if first.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close")) {
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut rest = [0u8; 64];
        match s.read(&mut rest) {
            Ok(0) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            other => panic!("{case}: Connection: close, but the gateway did not close: {other:?}"),
        }
        return false;
    }
    s.write_all(&valid_get(addr)).unwrap_or_else(|e| panic!("{case}: the kept connection was closed: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let second = read_response(s).unwrap_or_else(|e| panic!("{case}: no answer on the kept connection: {e}"));
    assert_eq!(second.status, 200, "{case}: {:?}", String::from_utf8_lossy(&second.body));
    true
}

#[test]
fn a_small_body_refused_before_it_is_read_is_discarded_and_the_connection_serves_the_next_request() {
    // Before the fix the 401 did not say `Connection: close`, yet hyper closed the connection
    // (the body was dropped unread): the next request on it got no answer (case "body later")
    let gw = start("keepalive-small", false);
    let addr = gw.addr();
    let stale = "20200101T000000Z";
    let body = vec![b'x'; 1000];
    for (key, date) in [("NOBODY", None), ("AK1", Some(stale))] {
        for delay in [None, Some(Duration::from_millis(50))] {
            let case = format!("key {key}, date {date:?}, body after {delay:?}");
            let head = refused_post_head(addr, key, date, "Content-Length: 1000");
            let mut s = TcpStream::connect(addr).unwrap();
            match delay {
                None => s.write_all(&[head.as_bytes(), &body].concat()).unwrap(),
                Some(delay) => {
                    s.write_all(head.as_bytes()).unwrap();
                    std::thread::sleep(delay);
                    s.write_all(&body).unwrap();
                }
            }
            let first = read_one(&mut s);
            let msg = assert_apig(&first, 401, "APIG.0303");
            assert!(msg.contains(if date.is_some() { "expired" } else { "app not found" }), "{case}: {msg}");
            assert!(connection_after(addr, &mut s, &first, &case), "{case}: a small body closed the connection");
        }
    }
}

#[test]
fn a_large_or_chunked_body_refused_before_it_is_read_gets_connection_close() {
    // Before the fix these answers did not say `Connection: close` and hyper closed the connection
    let gw = start("keepalive-large", false);
    let addr = gw.addr();
    for framing in ["Content-Length: 200000", "Transfer-Encoding: chunked"] {
        let mut s = TcpStream::connect(addr).unwrap();
        // the head only: the client waits for the answer before sending more
        s.write_all(refused_post_head(addr, "NOBODY", None, framing).as_bytes()).unwrap();
        let first = read_one(&mut s);
        assert_apig(&first, 401, "APIG.0303");
        assert_eq!(first.header("connection"), Some("close"), "{framing}");
        assert!(!connection_after(addr, &mut s, &first, framing));
    }
    // a request refused with its body read to the end keeps the connection: a wrong signature
    let body = vec![b'x'; 1000];
    let h = signed_headers(addr, "POST", "/echo", &[], b"other", "AK1", "SK1-secret", Algorithm::SdkHmacSha256);
    let lines: String = h.iter().map(|(n, v)| format!("{n}: {v}\r\n")).collect();
    let head = format!("POST /echo HTTP/1.1\r\n{lines}Content-Length: 1000\r\n\r\n");
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(&[head.as_bytes(), &body].concat()).unwrap();
    let first = read_one(&mut s);
    let msg = assert_apig(&first, 401, "APIG.0303");
    assert!(msg.contains("signature"), "{msg}");
    assert!(connection_after(addr, &mut s, &first, "signature mismatch"), "{:?}", first.headers);
}

#[test]
fn a_small_refused_body_sent_too_slowly_is_cut_within_the_discard_timeout() {
    // the refused client that sends 1 byte of its 1000 holds its connection 1 s (DISCARD_TIMEOUT),
    // not the whole body timeout (60 s here)
    let gw = start("keepalive-slow", false);
    let addr = gw.addr();
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(refused_post_head(addr, "NOBODY", None, "Content-Length: 1000").as_bytes()).unwrap();
    s.write_all(b"x").unwrap();
    let started = Instant::now();
    let first = read_one(&mut s);
    assert_apig(&first, 401, "APIG.0303");
    assert!(started.elapsed() < Duration::from_millis(500), "the answer waited for the body");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut rest = [0u8; 64];
    match s.read(&mut rest) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("the gateway did not close: {other:?}"),
    }
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn a_body_being_streamed_to_a_backend_that_fails_gets_connection_close() {
    // `auth: none` streams the body to the backend; the backend is down (502) before it read it.
    // Before the fix the 502 did not say `Connection: close`, and hyper closed the connection.
    let gw = start("keepalive-streamed", false);
    let addr = gw.addr();
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(format!("POST /down HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 10\r\n\r\n").as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    s.write_all(b"0123456789").unwrap();
    let first = read_one(&mut s);
    assert_eq!(first.status, 502, "{:?}", String::from_utf8_lossy(&first.body));
    assert_eq!(first.header("connection"), Some("close"));
    assert!(!connection_after(addr, &mut s, &first, "streamed"));
}

/// A request body of 1000 bytes that never come.
struct NeverSent;

impl Body for NeverSent {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Pending
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(1000)
    }
}

#[test]
fn over_http2_a_refused_stream_with_an_unread_body_leaves_the_connections_other_streams_working() {
    // a guard: HTTP/2 ends the refused stream alone (no `Connection` header, which HTTP/2 forbids)
    let gw = start("keepalive-h2", true);
    let addr = gw.addr();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp)).await.unwrap();
        tokio::spawn(conn);
        let get = || {
            let h = signed_headers(addr, "GET", "/echo", &[], b"", "AK1", "SK1-secret", Algorithm::SdkHmacSha256);
            let mut r = hyper::Request::builder().method("GET").uri(format!("http://{addr}/echo"));
            for (n, v) in h.iter().filter(|(n, _)| !n.eq_ignore_ascii_case("host")) {
                r = r.header(n, v);
            }
            r.body(Full::new(Bytes::new()).map_err(|never| match never {}).boxed()).unwrap()
        };
        let h = signed_headers(addr, "POST", "/echo", &[], b"x", "NOBODY", "whatever", Algorithm::SdkHmacSha256);
        let mut refused = hyper::Request::builder().method("POST").uri(format!("http://{addr}/echo"));
        for (n, v) in h.iter().filter(|(n, _)| !n.eq_ignore_ascii_case("host")) {
            refused = refused.header(n, v);
        }
        let refused = refused.body(NeverSent.map_err(|never| match never {}).boxed()).unwrap();
        let (a, b) = tokio::join!(sender.send_request(refused), sender.clone().send_request(get()));
        let a = a.unwrap();
        assert_eq!(a.status(), 401);
        assert!(a.headers().get("connection").is_none());
        assert_eq!(b.unwrap().status(), 200);
        // and the connection serves more streams after it
        let c = sender.send_request(get()).await.unwrap();
        assert_eq!(c.status(), 200);
        assert!(!c.into_body().collect().await.unwrap().to_bytes().is_empty());
    });
}
