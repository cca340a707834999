//! `apig request` and `apig explain` against a small HTTP server on 127.0.0.1 that verifies with the
//! core and answers 200, or 401 with an APIG.0303 body like the gateway's.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use apig::{ErrorKind, SignableBody, SignableRequest, Verifier, apig_mismatch_message};
use common::*;
use serde_json::Value;

/// A received request; what a tampering proxy may change before the server verifies it.
struct Received {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Serves `connections` requests on a fresh 127.0.0.1 port, changing each with `tamper` first;
/// returns the base URL.
fn serve(connections: usize, tamper: fn(&mut Received)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let Ok(stream) = stream else { continue };
            let _ = handle(stream, tamper);
        }
    });
    base
}

fn handle(stream: TcpStream, tamper: fn(&mut Received)) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        let (name, value) = trimmed.split_once(':').unwrap();
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    let length =
        headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("content-length")).map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mut request = Received { method, target, headers, body };
    tamper(&mut request);
    let (status, content_type, answer) = respond(&request);
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        answer.len()
    )?;
    stream.write_all(answer.as_bytes())?;
    stream.flush()
}

fn respond(r: &Received) -> (&'static str, &'static str, String) {
    if r.target.starts_with("/missing") {
        return ("404 Not Found", "text/plain", "no such route".to_owned());
    }
    let verifier = Verifier::new(HashMap::from([(AK.to_owned(), SK.to_owned())]));
    let headers: Vec<(&str, &str)> = r.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    match verifier.verify(&SignableRequest::new(&r.method, &r.target, &headers, SignableBody::Bytes(&r.body))) {
        Ok(v) => (
            "200 OK",
            "text/plain",
            format!("hello {}: {} {} {} bytes", v.access_key, r.method, r.target, r.body.len()),
        ),
        Err(e) => {
            let message = match (e.kind(), e.trace()) {
                (ErrorKind::SignatureMismatch, Some(trace)) => apig_mismatch_message(trace),
                _ => e.message().to_owned(),
            };
            let body = serde_json::json!({
                "error_msg": format!("Incorrect app authentication information: {message}"),
                "error_code": "APIG.0303",
                "request_id": "test-request",
            });
            ("401 Unauthorized", "application/json", body.to_string())
        }
    }
}

fn no_tamper(_: &mut Received) {}

fn tamper_tenant(r: &mut Received) {
    for (name, value) in &mut r.headers {
        if name.eq_ignore_ascii_case("x-tenant") {
            *value = "evil".to_owned();
        }
    }
}

fn tamper_body(r: &mut Received) {
    r.body.push(b'!');
    for (name, value) in &mut r.headers {
        if name.eq_ignore_ascii_case("content-length") {
            *value = r.body.len().to_string();
        }
    }
}

#[test]
fn signed_requests_are_accepted() {
    let base = serve(4, no_tamper);
    let out = run(apig_with(AK, SK).args(["request", "GET", &format!("{base}/demo/echo?hello=world")]), b"");
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("hello {AK}: GET /demo/echo?hello=world 0 bytes"));

    let out = run(apig_with(AK, SK).args(["request", "-i", "GET", &format!("{base}/demo/echo")]), b"");
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("HTTP/1.1 200 OK\n"), "{text}");
    assert!(text.contains("\ncontent-type: text/plain\n"), "{text}");
    assert!(text.ends_with(&format!("\n\nhello {AK}: GET /demo/echo 0 bytes")), "{text}");

    let file = temp_dir("request-body").join("body.json");
    std::fs::write(&file, br#"{"x": [1, 2, 3]}"#).unwrap();
    let out = run(
        apig_with(AK, SK)
            .args(["request", "-v", "POST", &format!("{base}/demo/echo"), "-H", "Content-Type: application/json", "-d"])
            .arg(format!("@{}", file.display())),
        b"",
    );
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("hello {AK}: POST /demo/echo 16 bytes"));
    let err = stderr(&out);
    assert!(err.contains("canonical request:\nPOST\n/demo/echo/\n"), "{err}");
    assert!(err.contains("> authorization: SDK-HMAC-SHA256 Access="), "{err}");
    // every header sent, the client's own too (once left out: accept, user-agent)
    for sent in ["> user-agent: apig-cli/", "> accept: */*\n", "> content-length: 16\n", "> host: 127.0.0.1:"] {
        assert!(err.contains(sent), "{sent} in {err}");
    }
    assert!(err.contains("< HTTP/1.1 200 OK"), "{err}");

    let out = run(
        apig_with(AK, SK).args(["request", "PUT", &format!("{base}/demo/echo?b=1&a=2"), "-d", "@-"]),
        b"from stdin",
    );
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("hello {AK}: PUT /demo/echo?b=1&a=2 10 bytes"));
}

#[test]
fn a_tampered_header_is_pinpointed_inline_and_by_explain() {
    let base = serve(2, tamper_tenant);
    let url = format!("{base}/demo/echo?x=1");
    let args = ["request", "GET", &url, "-H", "X-Tenant: acme", "-H", "Accept: text/plain"];
    let out = run(apig_with(AK, SK).args(args), b"");
    assert_eq!(status(&out), 0, "no --fail: the response is printed and the exit status is 0");
    let body = stdout(&out);
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["error_code"], "APIG.0303");
    let err = stderr(&out);
    assert!(err.contains("differs from the local one in 1 line:"), "{err}");
    assert!(err.contains("header x-tenant\n    local:   x-tenant:acme\n    gateway: x-tenant:evil\n"), "{err}");
    assert!(err.contains("apig explain"), "{err}");

    let out = run(apig_with(AK, SK).args(args).arg("--fail"), b"");
    assert_eq!(status(&out), 1);
    assert!(
        stderr(&out).ends_with("error[signature_mismatch]: the server answered 401 Unauthorized\n"),
        "{}",
        stderr(&out)
    );

    // the saved error body, explained later without credentials (the gateway's date is used)
    let saved = temp_dir("explain").join("error.json");
    std::fs::write(&saved, &body).unwrap();
    let explain = ["explain", saved.to_str().unwrap(), "GET", &url, "-H", "X-Tenant: acme", "-H", "Accept: text/plain"];
    let out = run(apig().args(explain), b"");
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("The gateway's canonical request differs from the local one in 1 line:\n"), "{text}");
    assert!(
        text.contains("x-tenant:evil") && text.contains("hint:    the gateway received a different value"),
        "{text}"
    );

    let out = run(apig().args(explain).args(["--output", "json"]), b"");
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["identical"], false);
    assert_eq!(v["differences"].as_array().unwrap().len(), 1);
    assert_eq!(
        (v["differences"][0]["line"].as_str(), v["differences"][0]["header"].as_str()),
        (Some("header"), Some("x-tenant"))
    );
    assert_eq!(v["differences"][0]["local"], "x-tenant:acme");

    // the bare error_msg from stdin, and the same request without the tampering: identical
    let message = serde_json::from_str::<Value>(&body).unwrap()["error_msg"]
        .as_str()
        .unwrap()
        .replace("x-tenant:evil", "x-tenant:acme");
    let out = run(
        apig().args(["explain", "GET", &url, "-H", "X-Tenant: acme", "-H", "Accept: text/plain"]),
        message.as_bytes(),
    );
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).starts_with("The canonical requests are identical"), "{}", stdout(&out));

    // a message that is not a mismatch
    let out = run(
        apig().args(["explain", "GET", &url]),
        br#"{"error_msg":"app not found, appkey X","error_code":"APIG.0303"}"#,
    );
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).starts_with("error[invalid_request]: the error contains no `canonicalRequest:`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_tampered_body_is_pinpointed() {
    let base = serve(1, tamper_body);
    let out = run(apig_with(AK, SK).args(["request", "POST", &format!("{base}/demo/echo"), "-d", "payload"]), b"");
    assert_eq!(status(&out), 0);
    let err = stderr(&out);
    assert!(err.contains("in 1 line:\n\n  payload_hash\n"), "{err}");
    assert!(err.contains("the body hash differs"), "{err}");
}

#[test]
fn http_errors_transport_errors_and_missing_credentials() {
    let base = serve(2, no_tamper);
    let out = run(apig_with(AK, SK).args(["request", "GET", &format!("{base}/missing")]), b"");
    assert_eq!((status(&out), stdout(&out).as_str()), (0, "no such route"));
    let out = run(apig_with(AK, SK).args(["request", "--fail", "GET", &format!("{base}/missing")]), b"");
    assert_eq!(status(&out), 1);
    assert_eq!(stderr(&out), "error[http_status]: the server answered 404 Not Found\n");

    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let out = run(apig_with(AK, SK).args(["request", "--timeout", "5", "GET", &format!("http://{closed}/")]), b"");
    assert_eq!(status(&out), 1);
    assert!(stderr(&out).starts_with("error[transport]: "), "{}", stderr(&out));

    // --timeout 0 would fail every request: refused with the arguments (once accepted, then failed)
    let out = run(apig_with(AK, SK).args(["request", "--timeout", "0", "GET", &format!("{base}/demo/echo")]), b"");
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).starts_with("error[invalid_request]: "), "{}", stderr(&out));
    assert!(stderr(&out).contains("at least 1 second"), "{}", stderr(&out));

    let out = run(apig().args(["request", "GET", &format!("{base}/demo/echo")]), b"");
    assert_eq!(status(&out), 2);
    assert!(stderr(&out).starts_with("error[no_provider]: chain provider"), "{}", stderr(&out));
    let out = run(apig_with(AK, SK).args(["request", "GET", "ftp://127.0.0.1/"]), b"");
    assert_eq!(status(&out), 2);
    assert!(stderr(&out).starts_with("error[invalid_request]: unsupported URL scheme"), "{}", stderr(&out));
}
