//! Explaining an `APIG.0303` signature mismatch: the gateway echoes its canonical request in the
//! error message (`verify signature fail, canonicalRequest:GET|/v1/|…`, newlines shown as `|`);
//! these functions recover it and compare it line by line with the client's own.

use std::fmt;

use crate::trace::Trace;

/// What precedes the canonical request in an APIG signature-mismatch message.
pub const CANONICAL_REQUEST_MARKER: &str = "canonicalRequest:";

/// The message a verifier returns on a signature mismatch, exactly as APIG words it:
/// `verify signature fail, canonicalRequest:<canonical request with each newline shown as |>`.
/// (APIG prefixes it with `Incorrect app authentication information: ` in its `error_msg`.)
pub fn apig_mismatch_message(trace: &Trace) -> String {
    format!("verify signature fail, {CANONICAL_REQUEST_MARKER}{}", trace.canonical_request_piped())
}

/// The gateway's canonical request inside an APIG signature-mismatch message, with `|` turned back
/// into newlines.
///
/// `text` is either the whole JSON error body (`{"error_msg":"… canonicalRequest:…","error_code":
/// "APIG.0303",…}`, JSON string escapes are undone) or the bare message. `None` when the text does
/// not contain `canonicalRequest:`.
///
/// A `|` inside a header value cannot be told apart from a newline in the message; [`explain`]
/// rejoins such lines using the signed header names.
pub fn canonical_request_from_apig_message(text: &str) -> Option<String> {
    let start = text.find(CANONICAL_REQUEST_MARKER)?;
    let rest = &text[start + CANONICAL_REQUEST_MARKER.len()..];
    let piped = if text.trim_start().starts_with('{') { json_string_tail(rest)? } else { rest.trim_end().to_owned() };
    Some(piped.replace('|', "\n"))
}

/// Undoes the JSON string escapes of `rest` up to its closing (unescaped) quote; `None` for a
/// broken escape. Without a closing quote the whole (trimmed) text is taken.
fn json_string_tail(rest: &str) -> Option<String> {
    let mut out = String::with_capacity(rest.len());
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                '/' => out.push('/'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => {
                    let first = hex4(&mut chars)?;
                    let code = if (0xd800..0xdc00).contains(&first) {
                        if chars.next()? != '\\' || chars.next()? != 'u' {
                            return None;
                        }
                        let second = hex4(&mut chars)?;
                        if !(0xdc00..0xe000).contains(&second) {
                            return None;
                        }
                        0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00)
                    } else {
                        first
                    };
                    out.push(char::from_u32(code)?);
                }
                _ => return None,
            },
            c => out.push(c),
        }
    }
    Some(out.trim_end().to_owned())
}

fn hex4(chars: &mut std::str::Chars<'_>) -> Option<u32> {
    let mut value = 0;
    for _ in 0..4 {
        value = value * 16 + chars.next()?.to_digit(16)?;
    }
    Some(value)
}

/// Which line of the canonical request a [`Difference`] is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LineKind {
    /// The method line.
    Method,
    /// The canonical URI line (the path).
    Uri,
    /// The canonical query line.
    Query,
    /// The canonical header line of this (lower-case) header name.
    Header(String),
    /// The `SignedHeaders` line.
    SignedHeaders,
    /// The payload hash line (body hash or `X-Sdk-Content-Sha256` value).
    PayloadHash,
    /// One side is not a canonical request at all (too few lines, no blank line after the headers).
    Unparsed,
}

impl LineKind {
    /// A stable name for this kind: `method`, `uri`, `query`, `header`, `signed_headers`,
    /// `payload_hash` or `unparsed` (the header name is in [`header_name`](Self::header_name)).
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Method => "method",
            Self::Uri => "uri",
            Self::Query => "query",
            Self::Header(_) => "header",
            Self::SignedHeaders => "signed_headers",
            Self::PayloadHash => "payload_hash",
            Self::Unparsed => "unparsed",
        }
    }

    /// The header name of a [`LineKind::Header`].
    pub fn header_name(&self) -> Option<&str> {
        match self {
            Self::Header(name) => Some(name),
            _ => None,
        }
    }
}

impl fmt::Display for LineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Header(name) => write!(f, "header {name}"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// One line where the local (client) and remote (gateway) canonical requests differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// Which line.
    pub kind: LineKind,
    /// The line in the local canonical request (`None`: the line is only in the remote one).
    pub local: Option<String>,
    /// The line in the remote canonical request (`None`: the line is only in the local one).
    pub remote: Option<String>,
    /// What the difference usually means, in plain language.
    pub hint: &'static str,
}

/// A canonical request split into its lines (borrowed from the text).
struct Parsed<'a> {
    method: &'a str,
    uri: &'a str,
    query: &'a str,
    /// `(lower-case name, whole line)` in order.
    headers: Vec<(String, String)>,
    signed_headers: &'a str,
    payload_hash: &'a str,
}

fn parse(text: &str) -> Option<Parsed<'_>> {
    let lines: Vec<&str> = text.split('\n').collect();
    // method, uri, query, ≥0 headers, blank, signed headers, payload hash
    let n = lines.len();
    if n < 6 || !lines[n - 3].is_empty() {
        return None;
    }
    let signed_headers = lines[n - 2];
    let names: Vec<&str> = signed_headers.split(';').filter(|s| !s.is_empty()).collect();
    let block = &lines[3..n - 3];
    let headers = rejoined_headers(block, &names).unwrap_or_else(|| {
        block
            .iter()
            .map(|line| (line.split_once(':').map_or(*line, |(n, _)| n).to_ascii_lowercase(), (*line).to_owned()))
            .collect()
    });
    Some(Parsed {
        method: lines[0],
        uri: lines[1],
        query: lines[2],
        headers,
        signed_headers,
        payload_hash: lines[n - 1],
    })
}

/// The header lines, one per signed header name. A header value containing `|` comes back from an
/// APIG message split over several lines: a line that does not start the next signed header
/// continues the previous one. `None` when the lines do not match the names.
fn rejoined_headers(block: &[&str], names: &[&str]) -> Option<Vec<(String, String)>> {
    let mut headers: Vec<(String, String)> = Vec::with_capacity(names.len());
    for line in block {
        let name = line.split_once(':').map(|(name, _)| name.to_ascii_lowercase());
        match (name, names.get(headers.len()), headers.last_mut()) {
            (Some(name), Some(expected), _) if name == *expected => headers.push((name, (*line).to_owned())),
            (_, _, Some((_, previous))) => {
                previous.push('|');
                previous.push_str(line);
            }
            (_, _, None) => return None,
        }
    }
    (headers.len() == names.len()).then_some(headers)
}

/// Compares a local canonical request (the client's, e.g. [`Trace::canonical_request`]) with the
/// remote one (the gateway's, e.g. from [`canonical_request_from_apig_message`]) and lists the lines
/// that differ, in canonical order: method, URI, query, each header (by name), signed headers, payload
/// hash. An empty list means the canonical requests are identical, so the signature differs for
/// another reason (secret key, algorithm, or the date/scope of the string to sign).
pub fn explain(local: &str, remote: &str) -> Vec<Difference> {
    let (Some(l), Some(r)) = (parse(local), parse(remote)) else {
        if local == remote {
            return Vec::new();
        }
        return vec![Difference {
            kind: LineKind::Unparsed,
            local: Some(local.to_owned()),
            remote: Some(remote.to_owned()),
            hint: "one side is not a canonical request (method, URI, query, headers, blank line, signed headers, \
                   payload hash): check that the whole message was copied",
        }];
    };
    let mut out = Vec::new();
    let mut line = |kind: LineKind, local: &str, remote: &str, hint: &'static str| {
        if local != remote {
            out.push(Difference { kind, local: Some(local.to_owned()), remote: Some(remote.to_owned()), hint });
        }
    };
    line(
        LineKind::Method,
        l.method,
        r.method,
        "the gateway saw a different HTTP method: a redirect or proxy may have changed it",
    );
    line(
        LineKind::Uri,
        l.uri,
        r.uri,
        "the gateway saw a different path: check the URL path, its percent-encoding, and any proxy or base path \
         that rewrites it",
    );
    line(
        LineKind::Query,
        l.query,
        r.query,
        "the gateway saw a different query string: a parameter was added, removed or changed, or encoded differently",
    );
    let mut headers = Vec::new();
    for (name, local_line) in &l.headers {
        match r.headers.iter().find(|(n, _)| n == name) {
            Some((_, remote_line)) if remote_line == local_line => {}
            Some((_, remote_line)) => headers.push(Difference {
                kind: LineKind::Header(name.clone()),
                local: Some(local_line.clone()),
                remote: Some(remote_line.clone()),
                hint: changed_header_hint(name),
            }),
            None => headers.push(Difference {
                kind: LineKind::Header(name.clone()),
                local: Some(local_line.clone()),
                remote: None,
                hint: "a header the client signed was not received (dropped by the HTTP client or a proxy), or the \
                       gateway did not sign it",
            }),
        }
    }
    for (name, remote_line) in &r.headers {
        if !l.headers.iter().any(|(n, _)| n == name) {
            headers.push(Difference {
                kind: LineKind::Header(name.clone()),
                local: None,
                remote: Some(remote_line.clone()),
                hint: "the gateway signed a header the local request does not have: the request that was sent carried \
                       it (add it here with -H to compare)",
            });
        }
    }
    headers.sort_by(|a, b| a.kind.header_name().cmp(&b.kind.header_name()));
    out.extend(headers);
    if l.signed_headers != r.signed_headers {
        out.push(Difference {
            kind: LineKind::SignedHeaders,
            local: Some(l.signed_headers.to_owned()),
            remote: Some(r.signed_headers.to_owned()),
            hint: "the lists of signed headers differ: the request sent signed other headers than the one built here",
        });
    }
    if l.payload_hash != r.payload_hash {
        out.push(Difference {
            kind: LineKind::PayloadHash,
            local: Some(l.payload_hash.to_owned()),
            remote: Some(r.payload_hash.to_owned()),
            hint: payload_hint(l.payload_hash, r.payload_hash),
        });
    }
    out
}

fn changed_header_hint(name: &str) -> &'static str {
    match name {
        "host" => {
            "the gateway saw a different Host: a proxy, a non-default port, or a Host header that differs from the URL"
        }
        "x-sdk-date" => "the signing time differs: the X-Sdk-Date sent is not the one that was signed",
        "content-type" => {
            "the gateway received a different Content-Type: HTTP clients often add a charset or a multipart boundary \
             after signing"
        }
        "x-sdk-content-sha256" | "x-sdk-content-sm3" => {
            "the declared body hash differs: the X-Sdk-Content-* header sent is not the one that was signed"
        }
        _ => "the gateway received a different value for this header: it was changed in transit or by the HTTP client",
    }
}

fn payload_hint(local: &str, remote: &str) -> &'static str {
    const UNSIGNED: &str = crate::request::UNSIGNED_PAYLOAD;
    if local == UNSIGNED || remote == UNSIGNED {
        "one side used UNSIGNED-PAYLOAD and the other a body hash: sign with the same body mode as the request sent"
    } else {
        "the body hash differs: the body was changed in transit or signed differently (another file, a trailing \
         newline, compression or re-encoding)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANONICAL: &str = "POST\n/v1/items/\nlimit=10\ncontent-type:application/json\nhost:api.example.com\n\
                             x-sdk-date:20240403T101500Z\n\ncontent-type;host;x-sdk-date\n\
                             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn trace(canonical: &str) -> Trace {
        Trace { canonical_request: canonical.to_owned(), string_to_sign: String::new() }
    }

    #[test]
    fn message_round_trips_bare_and_in_json() {
        let message = apig_mismatch_message(&trace(CANONICAL));
        assert!(message.starts_with("verify signature fail, canonicalRequest:POST|/v1/items/|limit=10|content-type:"));
        assert!(!message.contains('\n'));
        assert_eq!(canonical_request_from_apig_message(&message).as_deref(), Some(CANONICAL));
        let full = format!("Incorrect app authentication information: {message}\n");
        assert_eq!(canonical_request_from_apig_message(&full).as_deref(), Some(CANONICAL));
        // As a gateway's JSON body, with escapes a JSON encoder may produce (`\u0026` for `&`, `\/`).
        let json_msg = message.replace('&', "\\u0026").replace('/', "\\/");
        let body = format!(
            r#"{{"error_msg":"Incorrect app authentication information: {json_msg}","error_code":"APIG.0303","request_id":"r1"}}"#
        );
        assert_eq!(canonical_request_from_apig_message(&body).as_deref(), Some(CANONICAL));
    }

    #[test]
    fn messages_without_a_canonical_request() {
        assert_eq!(canonical_request_from_apig_message("app not found, appkey AK"), None);
        assert_eq!(canonical_request_from_apig_message(r#"{"error_msg":"canonicalRequest:GET\q"}"#), None);
        assert_eq!(canonical_request_from_apig_message(r#"{"error_msg":"canonicalRequest:\ud800x"}"#), None);
        assert_eq!(
            canonical_request_from_apig_message(r#"{"m":"canonicalRequest:\ud83d\ude00|"}"#).as_deref(),
            Some("😀\n")
        );
    }

    #[test]
    fn identical_requests_have_no_difference() {
        assert!(explain(CANONICAL, CANONICAL).is_empty());
    }

    #[test]
    fn each_changed_line_is_found_with_its_hint() {
        let remote = CANONICAL
            .replace("POST", "PUT")
            .replace("/v1/items/", "/v1/items2/")
            .replace("limit=10", "limit=11")
            .replace("host:api.example.com", "host:proxy.internal")
            .replace("e3b0c442", "ffffffff");
        let diffs = explain(CANONICAL, &remote);
        let kinds: Vec<String> = diffs.iter().map(|d| d.kind.to_string()).collect();
        assert_eq!(kinds, ["method", "uri", "query", "header host", "payload_hash"]);
        let host = &diffs[3];
        assert_eq!(host.local.as_deref(), Some("host:api.example.com"));
        assert_eq!(host.remote.as_deref(), Some("host:proxy.internal"));
        assert!(host.hint.contains("different Host"));
        assert!(diffs[4].hint.contains("body hash differs"));
    }

    #[test]
    fn missing_and_extra_headers() {
        let remote = CANONICAL
            .replace("content-type:application/json\n", "")
            .replace("content-type;host;x-sdk-date", "host;x-sdk-date;x-tenant")
            .replace("x-sdk-date:20240403T101500Z\n", "x-sdk-date:20240403T101500Z\nx-tenant:t1\n");
        let diffs = explain(CANONICAL, &remote);
        assert_eq!(diffs.len(), 3, "{diffs:#?}");
        assert_eq!(diffs[0].kind, LineKind::Header("content-type".into()));
        assert_eq!(diffs[0].remote, None);
        assert!(diffs[0].hint.contains("not received"));
        assert_eq!(diffs[1].kind, LineKind::Header("x-tenant".into()));
        assert_eq!(diffs[1].local, None);
        assert_eq!(diffs[2].kind, LineKind::SignedHeaders);
    }

    #[test]
    fn pipes_inside_header_values_are_rejoined() {
        let local = CANONICAL.replace("application/json", "a|b:c|d");
        let remote = canonical_request_from_apig_message(&apig_mismatch_message(&trace(&local))).unwrap();
        assert_ne!(remote, local);
        assert!(explain(&local, &remote).is_empty(), "{:#?}", explain(&local, &remote));
        let changed = remote.replace("a\nb:c\nd", "a\nb:c\ne");
        let diffs = explain(&local, &changed);
        assert_eq!(diffs.len(), 1);
        assert_eq!(diffs[0].remote.as_deref(), Some("content-type:a|b:c|e"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC*", other in "[a-z:|\n;\\\\\"{}u0-9]*") {
            let _ = canonical_request_from_apig_message(&text);
            let _ = canonical_request_from_apig_message(&format!("{{\"m\":\"canonicalRequest:{other}"));
            let _ = explain(&text, &other);
            let _ = explain(&other, CANONICAL);
        }

        #[test]
        fn message_round_trip_and_one_changed_header(
            // no `x` in values: a value containing `|x-hN:` is the documented ambiguity of the `|` form
            values in proptest::collection::vec("[ -wy-~]{0,12}", 1..5),
            changed in 0usize..5,
        ) {
            let names: Vec<String> = (0..values.len()).map(|i| format!("x-h{i}")).collect();
            let mut local = String::from("GET\n/a/\nq=1\n");
            for (name, value) in names.iter().zip(&values) {
                local.push_str(&format!("{name}:{}\n", value.trim()));
            }
            local.push_str(&format!("\n{}\n{}", names.join(";"), "0".repeat(64)));
            let remote = canonical_request_from_apig_message(&apig_mismatch_message(&trace(&local))).unwrap();
            proptest::prop_assert!(explain(&local, &remote).is_empty());
            let changed = changed % values.len();
            let tampered = local.replace(&format!("{}:", names[changed]), &format!("{}:~", names[changed]));
            let diffs = explain(&local, &tampered);
            proptest::prop_assert_eq!(diffs.len(), 1);
            proptest::prop_assert_eq!(&diffs[0].kind, &LineKind::Header(names[changed].clone()));
        }
    }

    #[test]
    fn unsigned_payload_and_garbage() {
        let remote =
            CANONICAL.replace("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "UNSIGNED-PAYLOAD");
        assert!(explain(CANONICAL, &remote)[0].hint.contains("UNSIGNED-PAYLOAD"));
        let diffs = explain(CANONICAL, "not a canonical request");
        assert_eq!(diffs[0].kind, LineKind::Unparsed);
        assert_eq!(diffs[0].kind.as_str(), "unparsed");
    }
}
