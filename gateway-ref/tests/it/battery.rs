//! The bad-input battery: malformed, ambiguous, oversized and slow requests. Never a 5xx from the
//! gateway itself, never a panic (the gateway keeps answering afterwards), and an APIG JSON error
//! for every request HTTP/1.1 can frame. Requests hyper cannot frame at all (a bare CR in a
//! header, a head over 512 KiB, a broken request line) get hyper's own empty 400/431 and the
//! connection is closed: documented in docs/gateway.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cloned_ref_to_slice_refs)]

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use apig::Algorithm;
use apig_conformance::client::send_raw;
use common::*;

enum Expect {
    /// An APIG JSON error with this status.
    Apig(u16),
    /// Accepted by the backend.
    Ok,
    /// Refused by the HTTP framing layer: a 4xx without APIG body, or the connection closed.
    Framing,
}

fn raw(head: &str, body: &[u8]) -> Vec<u8> {
    let mut v = head.replace('\n', "\r\n").into_bytes();
    v.extend_from_slice(body);
    v
}

#[test]
fn bad_input_battery() {
    let (gw, _) = start_base("battery");
    let addr = gw.addr();
    let signed_h = signed_headers(addr, "GET", "/echo", &[], b"", "AK1", "SK1-secret", Algorithm::SdkHmacSha256);
    let sig_lines: String = signed_h.iter().map(|(n, v)| format!("{n}: {v}\n")).collect();
    let auth = signed_h.iter().find(|(n, _)| n == "Authorization").unwrap().1.clone();
    let date = signed_h.iter().find(|(n, _)| n == "X-Sdk-Date").unwrap().1.clone();
    let h = format!("Host: {addr}\n");
    let mut non_utf8 = format!("GET /echo HTTP/1.1\n{h}X-Bin: ").replace('\n', "\r\n").into_bytes();
    non_utf8.extend_from_slice(&[0xff, 0xfe, 0x80]);
    non_utf8.extend_from_slice(
        format!("\n{}Connection: close\n\n", sig_lines.replace(&h, "")).replace('\n', "\r\n").as_bytes(),
    );
    let mut non_utf8_open = format!("GET /open HTTP/1.1\n{h}X-Bin: ").replace('\n', "\r\n").into_bytes();
    non_utf8_open.extend_from_slice(&[0xff, 0xfe, 0x80]);
    non_utf8_open.extend_from_slice(b"\r\nConnection: close\r\n\r\n");

    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        ("baseline", raw(&format!("GET /echo HTTP/1.1\n{sig_lines}Connection: close\n\n"), b""), Expect::Ok),
        (
            "malformed Authorization",
            raw(&format!("GET /echo HTTP/1.1\n{h}X-Sdk-Date: {date}\nAuthorization: SDK-HMAC-SHA256 garbage\n\n"), b""),
            Expect::Apig(401),
        ),
        (
            "Authorization of 10 KB",
            raw(
                &format!(
                    "GET /echo HTTP/1.1\n{h}X-Sdk-Date: {date}\nAuthorization: SDK-HMAC-SHA256 Access={}\n\n",
                    "A".repeat(10_000)
                ),
                b"",
            ),
            Expect::Apig(401),
        ),
        (
            "two different Authorization",
            raw(
                &format!(
                    "GET /echo HTTP/1.1\n{sig_lines}Authorization: {}\n\n",
                    auth.replace("Signature=", "Signature=0")
                ),
                b"",
            ),
            Expect::Apig(401),
        ),
        (
            "two equal Authorization",
            raw(&format!("GET /echo HTTP/1.1\n{sig_lines}Authorization: {auth}\nConnection: close\n\n"), b""),
            Expect::Ok,
        ),
        (
            "two Host",
            raw(&format!("GET /echo HTTP/1.1\n{sig_lines}Host: evil.example.com\n\n"), b""),
            Expect::Apig(400),
        ),
        ("no Host", raw(&format!("GET /echo HTTP/1.1\n{}\n", sig_lines.replace(&h, "")), b""), Expect::Apig(400)),
        (
            "two different X-Sdk-Date",
            raw(&format!("GET /echo HTTP/1.1\n{sig_lines}X-Sdk-Date: 20200101T000000Z\n\n"), b""),
            Expect::Apig(401),
        ),
        (
            "no X-Sdk-Date",
            raw(&format!("GET /echo HTTP/1.1\n{}\n", sig_lines.replace(&format!("X-Sdk-Date: {date}\n"), "")), b""),
            Expect::Apig(401),
        ),
        (
            "malformed X-Sdk-Date",
            raw(&format!("GET /echo HTTP/1.1\n{}\n", sig_lines.replace(&date, "2020-01-01")), b""),
            Expect::Apig(401),
        ),
        ("non-UTF-8 header, signed API", non_utf8, Expect::Apig(400)),
        ("non-UTF-8 header, open API", non_utf8_open, Expect::Ok),
        ("CR inside a header value", raw(&format!("GET /open HTTP/1.1\n{h}X-Evil: a\rb\n\n"), b""), Expect::Framing),
        ("LF header folding", raw(&format!("GET /open HTTP/1.1\n{h}X-Fold: a\n  b\n\n"), b""), Expect::Framing),
        (
            "header of 100 KB",
            raw(&format!("GET /open HTTP/1.1\n{h}X-Big: {}\n\n", "b".repeat(100_000)), b""),
            Expect::Apig(494),
        ),
        (
            "head of 600 KB",
            raw(&format!("GET /open HTTP/1.1\n{h}X-Big: {}\n\n", "b".repeat(600_000)), b""),
            Expect::Framing,
        ),
        ("URI of 40 KB", raw(&format!("GET /open?{} HTTP/1.1\n{h}\n", "q".repeat(40_000)), b""), Expect::Apig(414)),
        (
            "body of 1 MB declared",
            raw(&format!("POST /open HTTP/1.1\n{h}Content-Length: 1000000\n\n"), &vec![b'x'; 1_000_000]),
            Expect::Apig(413),
        ),
        ("%2F in a segment", raw(&format!("GET /open/a%2Fb HTTP/1.1\n{h}Connection: close\n\n"), b""), Expect::Ok),
        ("dot-dot segment", raw(&format!("GET /open/../echo HTTP/1.1\n{h}\n"), b""), Expect::Apig(400)),
        ("encoded dot-dot", raw(&format!("GET /open/%2e%2E/echo HTTP/1.1\n{h}\n"), b""), Expect::Apig(400)),
        ("single dot", raw(&format!("GET /open/./x HTTP/1.1\n{h}\n"), b""), Expect::Apig(400)),
        ("double slash", raw(&format!("GET //open HTTP/1.1\n{h}\n"), b""), Expect::Apig(404)),
        ("asterisk target", raw(&format!("OPTIONS * HTTP/1.1\n{h}\n"), b""), Expect::Apig(400)),
        (
            "absolute-form target",
            raw(&format!("GET http://{addr}/open HTTP/1.1\n{h}Connection: close\n\n"), b""),
            Expect::Ok,
        ),
        // hyper lets Transfer-Encoding win and drops Content-Length (RFC 9112 §6.3); the backend gets
        // one framing of the gateway's own, so nothing can be smuggled
        (
            "Content-Length and Transfer-Encoding",
            raw(
                &format!(
                    "POST /open HTTP/1.1\n{h}Content-Length: 5\nTransfer-Encoding: chunked\nConnection: close\n\n5\nhello\n0\n\n"
                ),
                b"",
            ),
            Expect::Ok,
        ),
        (
            "two different Content-Length",
            raw(&format!("POST /open HTTP/1.1\n{h}Content-Length: 5\nContent-Length: 6\n\nhello!"), b""),
            Expect::Framing,
        ),
        (
            "non-numeric Content-Length",
            raw(&format!("POST /open HTTP/1.1\n{h}Content-Length: five\n\nhello"), b""),
            Expect::Framing,
        ),
        (
            "bad chunk size",
            raw(&format!("POST /open HTTP/1.1\n{h}Transfer-Encoding: chunked\n\nzz\nhello\n0\n\n"), b""),
            Expect::Apig(400),
        ),
        ("garbage request line", raw("\u{1}\u{2} NOT HTTP\n\n", b""), Expect::Framing),
        ("unknown method", raw(&format!("BREW /open HTTP/1.1\n{h}Connection: close\n\n"), b""), Expect::Ok),
        ("unknown method on a GET API", raw(&format!("BREW /items/1 HTTP/1.1\n{h}\n"), b""), Expect::Apig(404)),
        ("HTTP/1.0 without Host", raw("GET /open HTTP/1.0\n\n", b""), Expect::Apig(400)),
        ("header name with space", raw(&format!("GET /open HTTP/1.1\n{h}Bad Name: x\n\n"), b""), Expect::Framing),
    ];

    let mut failures = Vec::new();
    for (name, bytes, expect) in &cases {
        let result = send_raw(addr, bytes, Duration::from_secs(5));
        let verdict =
            match (&result, expect) {
                (Ok(r), _) if r.status >= 500 => Err(format!("5xx: {} {}", r.status, String::from_utf8_lossy(&r.body))),
                (Ok(r), Expect::Ok) if r.status == 200 => Ok(()),
                (Ok(r), Expect::Apig(s))
                    if r.status == *s && r.error_code().is_some_and(|c| c.starts_with("APIG.0")) =>
                {
                    if r.header("x-request-id").is_some() { Ok(()) } else { Err("no X-Request-Id".to_owned()) }
                }
                (Ok(r), Expect::Framing) if (400..500).contains(&r.status) => Ok(()),
                (Err(_), Expect::Framing) => Ok(()),
                (Ok(r), _) => Err(format!("got HTTP {} {}", r.status, String::from_utf8_lossy(&r.body))),
                (Err(e), _) => Err(format!("no response: {e}")),
            };
        if let Err(why) = verdict {
            failures.push(format!("{name}: {why}"));
        }
    }
    // still alive and answering after the whole battery
    assert_eq!(signed(addr, "GET", "/echo", b"").status, 200);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn slow_headers_are_cut_off() {
    let (gw, _) = start_base("slowloris");
    let addr = gw.addr();
    // a few slow clients, each sending a byte every 300 ms; the header timeout is 2 s here
    let started = Instant::now();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
                let head = format!("GET /open HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ");
                let mut buf = [0u8; 1024];
                for b in head.bytes().chain(std::iter::repeat(b'a')).take(60) {
                    if s.write_all(&[b]).is_err() {
                        return true;
                    }
                    match s.read(&mut buf) {
                        Ok(0) => return true,
                        Ok(n) => {
                            let text = String::from_utf8_lossy(&buf[..n]);
                            assert!(!text.starts_with("HTTP/1.1 5"), "{text}");
                            return true;
                        }
                        Err(_) => {}
                    }
                    std::thread::sleep(Duration::from_millis(250));
                }
                false
            })
        })
        .collect();
    // meanwhile normal requests are served
    assert_eq!(signed(addr, "GET", "/echo", b"").status, 200);
    for h in handles {
        assert!(h.join().unwrap(), "a slow client was never cut off");
    }
    assert!(started.elapsed() < Duration::from_secs(15));
}
