//! The backend connection pool (`backend_client`): a connection is reused as soon as a response
//! has been read to its end (fixed length, chunked, no body), and a request whose pooled
//! connection the backend closed meanwhile (at once, or after a while idle) is sent again on a new
//! one, never answered 502. Per-host limits (`gateway.backend_limits`): never more connections to a
//! backend than its limit; requests beyond wait in a bounded queue for a bounded time, else are
//! answered `APIG.0202` 502, and counted; a reload that lowers the limit applies it at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{assert_apig, send, start_in, temp_dir};

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
    }
    // the connection is back in the pool when the answer's body ends, before the client has it
    let accepted = accepted.load(Ordering::SeqCst);
    assert_eq!(accepted, 1, "sequential requests share one backend connection: {accepted} for 12 requests");
}

#[test]
fn a_connection_the_backend_closed_while_idle_is_not_reused() {
    // the backend answers, then closes the connection after 50 ms idle (a keep-alive timeout)
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(20) {
            let Ok(mut stream) = stream else { continue };
            count.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let (mut pending, mut buf) = (Vec::new(), [0u8; 4096]);
                stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                loop {
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        pending.drain(..end + 4);
                        if stream.write_all(ANSWERS[0].as_bytes()).is_err() {
                            return;
                        }
                        stream.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
                    }
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return, // idle too long: closed
                        Ok(n) => pending.extend_from_slice(&buf[..n]),
                    }
                }
            });
        }
    });
    let (gw, _) = start_in(&temp_dir("pool-idle-closed"), &config(port));
    for i in 0..3 {
        let r = send(gw.addr(), "GET", "/raw", &host(&gw), b"");
        assert_eq!((r.status, r.body.as_slice()), (200, &b"fixed"[..]), "request {i}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 3, "a new connection after each idle close");
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

/// A slow keep-alive backend: each request is answered after `delay`; counts the connections
/// accepted, the most open at once and those open now.
fn slow_counting_backend(delay: Duration) -> (u16, Arc<AtomicUsize>, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (accepted, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (a, m) = (Arc::clone(&accepted), Arc::clone(&most));
    let open = Arc::new(AtomicUsize::new(0));
    let open_now = Arc::clone(&open);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(100) {
            let Ok(mut stream) = stream else { continue };
            a.fetch_add(1, Ordering::SeqCst);
            let now = open.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(now, Ordering::SeqCst);
            let open = Arc::clone(&open);
            std::thread::spawn(move || {
                stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let (mut pending, mut buf) = (Vec::new(), [0u8; 4096]);
                'conn: loop {
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        pending.drain(..end + 4);
                        std::thread::sleep(delay);
                        if stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow").is_err() {
                            break 'conn;
                        }
                    }
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => pending.extend_from_slice(&buf[..n]),
                    }
                }
                open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    (port, accepted, most, open_now)
}

/// A gateway with its status listener on `config`, and its config file.
fn start_with_status(name: &str, config: &str) -> (apig_gateway::RunningGateway, std::path::PathBuf) {
    let path = temp_dir(name).join("gateway.json");
    std::fs::write(&path, config).unwrap();
    let mut options = common::options(path.clone());
    options.status = Some(([127, 0, 0, 1], 0).into());
    (apig_gateway::RunningGateway::start(options).unwrap(), path)
}

/// `n` requests to `/raw` at once, each on its own connection: their answers.
fn at_once(gw: &apig_gateway::RunningGateway, n: usize) -> Vec<apig_conformance::client::RawResponse> {
    let (addr, host) = (gw.addr(), host(gw));
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let host = host.clone();
            std::thread::spawn(move || send(addr, "GET", "/raw", &host, b""))
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

/// The value of the metric line starting with `prefix` (name and labels).
fn metric(gw: &apig_gateway::RunningGateway, prefix: &str) -> Option<f64> {
    let r = send(gw.status_addr().unwrap(), "GET", "/metrics", &[("Host".to_owned(), "status".to_owned())], b"");
    let text = String::from_utf8(r.body).unwrap();
    text.lines().find_map(|l| l.strip_prefix(prefix)).and_then(|v| v.trim().parse().ok())
}

#[test]
fn a_backend_limit_of_two_lets_two_connections_through_queues_three_and_refuses_the_rest() {
    let (port, accepted, most, _) = slow_counting_backend(Duration::from_millis(400));
    let config = config(port).replacen(
        "{",
        r#"{"gateway": {"backend_limits": {"max_connections": 2, "queue": 3, "queue_timeout_ms": 5000}},"#,
        1,
    );
    let (gw, _) = start_with_status("limit-queue", &config);
    let answers = at_once(&gw, 8);
    let ok = answers.iter().filter(|r| r.status == 200).count();
    let refused: Vec<_> = answers.iter().filter(|r| r.status != 200).collect();
    // 2 sent at once, 3 waiting and sent as those end, 3 beyond the queue refused at once
    assert_eq!((ok, refused.len()), (5, 3), "{:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
    for r in refused {
        let message = assert_apig(r, 502, "APIG.0202");
        assert!(message.contains("connection limit of 127.0.0.1:") && message.contains("queue is full"), "{message}");
    }
    assert_eq!(most.load(Ordering::SeqCst), 2, "never more than the limit's connections at once");
    assert_eq!(accepted.load(Ordering::SeqCst), 2, "the waiting requests reuse the two connections");
    let server = format!("server=\"127.0.0.1:{port}\"");
    let refused = metric(&gw, &format!("apig_gateway_backend_limit_refused_total{{{server},reason=\"queue_full\"}}"));
    assert_eq!(refused, Some(3.0));
    assert_eq!(metric(&gw, &format!("apig_gateway_backend_connections_open{{{server}}}")), Some(2.0));
}

#[test]
fn a_request_waiting_longer_than_the_queue_timeout_is_answered_502() {
    let (port, accepted, _, _) = slow_counting_backend(Duration::from_millis(800));
    let config = config(port).replacen(
        "{",
        r#"{"gateway": {"backend_limits": {"max_connections": 1, "queue_timeout_ms": 150}},"#,
        1,
    );
    let (gw, _) = start_with_status("limit-timeout", &config);
    let started = std::time::Instant::now();
    let answers = at_once(&gw, 2);
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 502]);
    let refused = answers.iter().find(|r| r.status == 502).unwrap();
    let message = assert_apig(refused, 502, "APIG.0202");
    assert!(message.contains("none free within 150 ms"), "{message}");
    assert!(started.elapsed() >= Duration::from_millis(800));
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
    let server = format!("server=\"127.0.0.1:{port}\"");
    let refused = metric(&gw, &format!("apig_gateway_backend_limit_refused_total{{{server},reason=\"timeout\"}}"));
    assert_eq!(refused, Some(1.0));
}

/// Whether `check` holds within `limit` (polled every 20 ms).
fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    check()
}

#[test]
fn a_reload_that_lowers_a_backend_limit_applies_it_to_the_connections_at_once() {
    let (port, accepted, _, open) = slow_counting_backend(Duration::from_millis(100));
    let limited = |n: usize| {
        config(port).replacen(
            "{",
            &format!(r#"{{"gateway": {{"backend_limits": {{"max_connections": {n}, "queue": 10, "queue_timeout_ms": 5000}}}},"#),
            1,
        )
    };
    let (gw, path) = start_with_status("limit-reload", &limited(3));
    assert!(at_once(&gw, 3).iter().all(|r| r.status == 200));
    assert_eq!((accepted.load(Ordering::SeqCst), open.load(Ordering::SeqCst)), (3, 3));

    // the limit lowered to 1: the three pooled connections were opened under the old one
    std::fs::write(&path, limited(1)).unwrap();
    let reloaded = r#"apig_gateway_config_reloads_total{result="ok"}"#;
    assert!(eventually(Duration::from_secs(5), || metric(&gw, reloaded) == Some(1.0)), "no reload");
    let answers = at_once(&gw, 3);
    assert!(answers.iter().all(|r| r.status == 200), "{:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
    // one new connection under the new limit serves them in turn; the old ones are closed
    assert_eq!(accepted.load(Ordering::SeqCst), 4);
    assert!(eventually(Duration::from_secs(2), || open.load(Ordering::SeqCst) == 1), "{open:?} open");
    let server = format!("server=\"127.0.0.1:{port}\"");
    assert_eq!(metric(&gw, &format!("apig_gateway_backend_connections_open{{{server}}}")), Some(1.0));
}
