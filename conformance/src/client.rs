//! A minimal, blocking HTTP/1.1 client over a raw `TcpStream`, sending exactly the bytes given
//! (header order, case and duplicates kept). Used by the gateway's conformance replay and its tests,
//! which need to send requests no ordinary client would.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A response as read from the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    /// Status code.
    pub status: u16,
    /// Header pairs as received.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// `error_code` of an APIG error body.
    pub fn error_code(&self) -> Option<String> {
        self.json().and_then(|v| v.get("error_code").and_then(|c| c.as_str()).map(str::to_owned))
    }
}

/// The bytes of a request: request line, the headers as given, `Content-Length` when there is a
/// body and none is given, `Connection: close`, then the body.
pub fn request_bytes(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(format!("{method} {target} HTTP/1.1\r\n").as_bytes());
    for (n, v) in headers {
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let has_length = headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-length"));
    if !body.is_empty() && !has_length {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(body);
    out
}

/// Sends one request built by [`request_bytes`] and reads the response.
///
/// # Errors
/// Connection and I/O errors, timeouts (10 s), a response that is not HTTP.
pub fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<RawResponse> {
    send_raw(addr, &request_bytes(method, target, headers, body), Duration::from_secs(10))
}

/// Writes `bytes` and reads one response (the connection is then dropped).
///
/// # Errors
/// As [`request`]; an `UnexpectedEof` when the server closed without answering.
pub fn send_raw(addr: SocketAddr, bytes: &[u8], timeout: Duration) -> io::Result<RawResponse> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    // the server may answer (e.g. 413) and close before reading everything: ignore write errors
    let _ = stream.write_all(bytes);
    read_response(&mut stream)
}

/// Reads one response from `stream`.
///
/// # Errors
/// I/O errors, or a malformed response.
pub fn read_response(stream: &mut impl Read) -> io::Result<RawResponse> {
    let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_owned());
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = find(&buf, b"\r\n\r\n") {
            break pos;
        }
        let n = match stream.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if buf.is_empty() => return Err(e),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => 0,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed before a response head"));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| bad("response head is not UTF-8"))?.to_owned();
    let mut rest = buf[head_end + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| bad("bad status line"))?;
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':').map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))).collect();
    let get = |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    let mut read_more = |rest: &mut Vec<u8>| -> io::Result<bool> {
        match stream.read(&mut chunk) {
            Ok(0) => Ok(false),
            Ok(n) => {
                rest.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Ok(false),
            Err(e) => Err(e),
        }
    };
    let no_body = status == 204 || status == 304 || (100..200).contains(&status);
    let body = if no_body {
        Vec::new()
    } else if let Some(len) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
        while rest.len() < len {
            if !read_more(&mut rest)? {
                return Err(bad("body shorter than Content-Length"));
            }
        }
        rest.truncate(len);
        rest
    } else if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut body = Vec::new();
        let mut pos = 0;
        loop {
            let line_end = loop {
                if let Some(p) = find(&rest[pos..], b"\r\n") {
                    break pos + p;
                }
                if !read_more(&mut rest)? {
                    return Err(bad("truncated chunk size"));
                }
            };
            let size_text = std::str::from_utf8(&rest[pos..line_end]).map_err(|_| bad("bad chunk size"))?;
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| bad("bad chunk size"))?;
            let start = line_end + 2;
            while rest.len() < start + size + 2 {
                if !read_more(&mut rest)? {
                    return Err(bad("truncated chunk"));
                }
            }
            if size == 0 {
                break body;
            }
            body.extend_from_slice(&rest[start..start + size]);
            pos = start + size + 2;
        }
    } else {
        while read_more(&mut rest)? {}
        rest
    };
    Ok(RawResponse { status, headers, body })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
