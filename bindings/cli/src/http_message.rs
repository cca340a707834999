//! A raw HTTP/1.1 request as saved in a file: request line, header lines, a blank line, the body.
//! Lines may end in CRLF or LF. With `Content-Length` the body is exactly that many bytes; without
//! it, everything after the blank line. Chunked bodies and folded header lines are refused.

/// A request read from a file, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawRequest {
    pub(crate) method: String,
    /// The request target as received (`/path?query`, or absolute).
    pub(crate) target: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

/// Largest header section accepted (request line and headers).
const MAX_HEAD: usize = 1 << 20;

/// Parses `bytes`; the error says what is wrong, for humans.
pub(crate) fn parse(bytes: &[u8]) -> Result<RawRequest, String> {
    let mut rest = bytes;
    let mut request_line = None;
    let mut headers = Vec::new();
    let mut consumed = 0usize;
    loop {
        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
            return Err(match request_line {
                None => "no request line (expected e.g. 'GET /path HTTP/1.1')".to_owned(),
                Some(_) => "the headers do not end with a blank line".to_owned(),
            });
        };
        consumed += end + 1;
        if consumed > MAX_HEAD {
            return Err("the header section is larger than 1 MiB".to_owned());
        }
        let raw = &rest[..end];
        rest = &rest[end + 1..];
        let line = std::str::from_utf8(raw.strip_suffix(b"\r").unwrap_or(raw))
            .map_err(|_| "a request or header line is not valid UTF-8".to_owned())?;
        match &request_line {
            // blank lines before the request line are ignored (RFC 9112 §2.2)
            None if line.is_empty() => {}
            None => request_line = Some(line.to_owned()),
            Some(_) if line.is_empty() => break,
            Some(_) => headers.push(header_line(line)?),
        }
    }
    let request_line = request_line.unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("bad request line {request_line:?} (expected 'METHOD TARGET HTTP/1.1')"));
    };
    if method.is_empty() || target.is_empty() || !version.starts_with("HTTP/") {
        return Err(format!("bad request line {request_line:?} (expected 'METHOD TARGET HTTP/1.1')"));
    }
    let header = |name: &str| headers.iter().find(|(n, _): &&(String, String)| n.eq_ignore_ascii_case(name));
    if header("transfer-encoding").is_some() {
        return Err("Transfer-Encoding bodies are not supported: save the request with Content-Length".to_owned());
    }
    let body = match header("content-length") {
        Some((_, value)) => {
            let length: usize =
                value.parse().map_err(|_| format!("Content-Length {value:?} is not a number of bytes"))?;
            rest.get(..length)
                .ok_or_else(|| format!("the body has {} bytes, fewer than its Content-Length {length}", rest.len()))?
        }
        None => rest,
    };
    Ok(RawRequest { method: method.to_owned(), target: target.to_owned(), headers, body: body.to_vec() })
}

fn header_line(line: &str) -> Result<(String, String), String> {
    if line.starts_with([' ', '\t']) {
        return Err(format!("folded header line {line:?} is not supported"));
    }
    let Some((name, value)) = line.split_once(':') else {
        return Err(format!("bad header line {line:?} (expected 'Name: value')"));
    };
    if name.is_empty() || name.ends_with([' ', '\t']) {
        return Err(format!("bad header name in {line:?}"));
    }
    Ok((name.to_owned(), value.trim_matches([' ', '\t']).to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_and_lf() {
        for text in
            ["GET /a?b=1 HTTP/1.1\r\nHost: h\r\nX-A:  v \r\n\r\n", "\r\nGET /a?b=1 HTTP/1.1\nHost: h\nX-A:v\n\n"]
        {
            let r = parse(text.as_bytes()).unwrap();
            assert_eq!((r.method.as_str(), r.target.as_str()), ("GET", "/a?b=1"));
            assert_eq!(r.headers, [("Host".to_owned(), "h".to_owned()), ("X-A".to_owned(), "v".to_owned())]);
            assert!(r.body.is_empty());
        }
    }

    #[test]
    fn bodies() {
        let r = parse(b"POST / HTTP/1.1\nContent-Length: 3\n\nabcdef").unwrap();
        assert_eq!(r.body, b"abc");
        let r = parse(b"POST / HTTP/1.1\n\nab\r\ncd").unwrap();
        assert_eq!(r.body, b"ab\r\ncd");
        assert!(parse(b"POST / HTTP/1.1\nContent-Length: 9\n\nabc").unwrap_err().contains("fewer"));
        assert!(parse(b"POST / HTTP/1.1\nContent-Length: x\n\n").unwrap_err().contains("not a number"));
        assert!(parse(b"POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n").unwrap_err().contains("Content-Length"));
    }

    #[test]
    fn malformed() {
        for bad in [
            &b""[..],
            b"GET /\n\n",
            b"GET / HTTP/1.1",
            b"GET / HTTP/1.1\nHost h\n\n",
            b"GET / HTTP/1.1\nHost: h\n folded\n\n",
            b"GET / HTTP/1.1\nHost : h\n\n",
            b"GET / HTTP/1.1\nX: \xff\n\n",
            b"GET  / HTTP/1.1\n\n",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
