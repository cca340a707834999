//! The backend connection pool (hyper-util's): connections are reused once a response has been
//! read to its end (fixed length, chunked, no body), and a request whose pooled connection the
//! backend closed meanwhile is sent again on a new one, never answered 502.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{send, start_in, temp_dir};

/// The answers the raw backend gives, in turn, on every connection.
const ANSWERS: [&str; 3] = [
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfixed",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\nchunked\r\n0\r\n\r\n",
    "HTTP/1.1 204 No Content\r\n\r\n",
];

/// A keep-alive HTTP/1.1 backend for body-less requests that counts its connections; with
/// `close_after_answer` it closes each connection after one answer, without saying so.
fn raw_backend(close_after_answer: bool) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(100) {
            let Ok(stream) = stream else { continue };
            count.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || serve(stream, close_after_answer));
        }
    });
    (port, accepted)
}

fn serve(mut stream: TcpStream, close_after_answer: bool) {
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut pending = Vec::new();
    let mut answered = 0;
    let mut buf = [0u8; 4096];
    loop {
        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            pending.drain(..end + 4);
            let answer = ANSWERS[answered % ANSWERS.len()];
            if stream.write_all(answer.as_bytes()).is_err() {
                return;
            }
            answered += 1;
            if close_after_answer {
                return;
            }
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
        }
    }
}

fn config(port: u16) -> String {
    format!(
        r#"{{"groups": [{{"id": "g", "apis": [{{"id": "raw", "method": "GET", "path": "/raw", "auth": "none",
            "backend": {{"url": "http://127.0.0.1:{port}"}}}}]}}],
          "environments": [{{"name": "RELEASE", "published": ["raw"]}}]}}"#
    )
}

fn host(gw: &apig_gateway::RunningGateway) -> Vec<(String, String)> {
    vec![("Host".to_owned(), gw.addr().to_string())]
}

#[test]
fn a_connection_is_reused_after_fixed_length_chunked_and_empty_bodies() {
    let (port, accepted) = raw_backend(false);
    let (gw, _) = start_in(&temp_dir("pool-reuse"), &config(port));
    for i in 0..12 {
        let r = send(gw.addr(), "GET", "/raw", &host(&gw), b"");
        let (status, body) = match i % 3 {
            0 => (200, &b"fixed"[..]),
            1 => (200, &b"chunked"[..]),
            _ => (204, &b""[..]),
        };
        assert_eq!((r.status, r.body.as_slice()), (status, body), "request {i}");
        assert!(r.header("x-request-id").is_some());
        // hyper-util's pool takes a connection back from its own task once the answer has been
        // read: a request that arrives before that (a busy machine) opens one more connection
        std::thread::sleep(Duration::from_millis(5));
    }
    let accepted = accepted.load(Ordering::SeqCst);
    assert!(accepted <= 2, "sequential requests share the backend connections: {accepted} for 12 requests");
}

#[test]
fn a_pooled_connection_the_backend_closed_is_not_an_error() {
    let (port, accepted) = raw_backend(true);
    let (gw, _) = start_in(&temp_dir("pool-closed"), &config(port));
    for i in 0..10 {
        let r = send(gw.addr(), "GET", "/raw", &host(&gw), b"");
        assert_eq!((r.status, r.body.as_slice()), (200, &b"fixed"[..]), "request {i}");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 10, "one connection per request");
}
