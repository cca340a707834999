//! The structured access log: one JSON line per request, to stdout, a file, or nowhere.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{LineWriter, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use serde::Serialize;

/// Where the access log goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    /// Standard output (default).
    Stdout,
    /// Appended to a file.
    File(PathBuf),
    /// Not written.
    Off,
}

impl std::str::FromStr for LogTarget {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "stdout" | "-" => Self::Stdout,
            "off" | "none" => Self::Off,
            path => Self::File(PathBuf::from(path)),
        })
    }
}

/// One access-log line. The request's fields are borrowed from the request (no copy per
/// request); the record lives until the line is written.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AccessRecord<'a> {
    /// RFC 3339 UTC time the request arrived.
    pub time: String,
    /// `X-Request-Id`.
    pub request_id: &'a str,
    /// Client address.
    pub remote_addr: String,
    /// Method.
    pub method: &'a str,
    /// `Host`.
    pub host: &'a str,
    /// The raw request target.
    pub uri: &'a str,
    /// Response status.
    pub status: u16,
    /// APIG error code when the gateway answered with an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The core error code behind an authentication failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_error: Option<&'static str>,
    /// Group id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<&'a str>,
    /// API id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<&'a str>,
    /// Environment.
    pub environment: &'a str,
    /// The authenticated app's key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_key: Option<&'a str>,
    /// Time to the response head, milliseconds.
    pub latency_ms: f64,
    /// Backend time to the response head, milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_latency_ms: Option<f64>,
    /// `User-Agent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<&'a str>,
    /// Fields added by policies (`on_response`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl AccessRecord<'_> {
    /// Appends the record as one JSON object — byte for byte what `serde_json` makes of it (a
    /// test holds the two together), without its per-character escaping loop: the fields are
    /// almost always plain text, copied as they are.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        // each field: `,"name":` then the value; optional fields are left out when absent
        let field = |out: &mut Vec<u8>, name: &str, value: Option<&str>| {
            if let Some(value) = value {
                out.extend_from_slice(b",\"");
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b"\":");
                json_str(out, value);
            }
        };
        out.extend_from_slice(b"{\"time\":");
        json_str(out, &self.time);
        field(out, "request_id", Some(self.request_id));
        field(out, "remote_addr", Some(&self.remote_addr));
        field(out, "method", Some(self.method));
        field(out, "host", Some(self.host));
        field(out, "uri", Some(self.uri));
        out.extend_from_slice(b",\"status\":");
        push_number(out, u64::from(self.status));
        field(out, "error_code", self.error_code.as_deref());
        field(out, "auth_error", self.auth_error);
        field(out, "group", self.group);
        field(out, "api", self.api);
        field(out, "environment", Some(self.environment));
        field(out, "app_key", self.app_key);
        out.extend_from_slice(b",\"latency_ms\":");
        json_f64(out, self.latency_ms);
        if let Some(ms) = self.upstream_latency_ms {
            out.extend_from_slice(b",\"upstream_latency_ms\":");
            json_f64(out, ms);
        }
        field(out, "user_agent", self.user_agent);
        if !self.extra.is_empty() {
            out.extend_from_slice(b",\"extra\":");
            // policies' values: rare, any JSON; serde_json writes them
            let _ = serde_json::to_writer(&mut *out, &self.extra);
        }
        out.push(b'}');
    }
}

/// `s` as a JSON string: copied as is when nothing in it needs an escape (no control
/// character, quote or backslash), else escaped by `serde_json`.
fn json_str(out: &mut Vec<u8>, s: &str) {
    if !needs_escape(s.as_bytes()) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// Whether `bytes` hold a control character, a quote or a backslash: 8 bytes per step (SWAR),
/// the tail padded with spaces — access-log fields are short, so a vector loop never warms up.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // a byte of `w` is zero / below `n` (n <= 0x80): exact as a yes/no over the word
    let has_zero = |w: u64| w.wrapping_sub(ONES) & !w & HIGHS != 0;
    let has_below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS != 0;
    let word_needs = |w: u64| {
        has_below(w, 0x20) || has_zero(w ^ (ONES * u64::from(b'"'))) || has_zero(w ^ (ONES * u64::from(b'\\')))
    };
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if word_needs(u64::from_ne_bytes(word)) {
            return true;
        }
    }
    let rest = chunks.remainder();
    let mut word = [b' '; 8];
    word[..rest.len()].copy_from_slice(rest);
    word_needs(u64::from_ne_bytes(word))
}

/// `value` as serde_json writes an `f64` (`null` when not finite).
fn json_f64(out: &mut Vec<u8>, value: f64) {
    let _ = serde_json::to_writer(&mut *out, &value);
}

/// The access-log writer (thread-safe; one line per write).
pub struct AccessLog {
    sink: Option<Mutex<Box<dyn Write + Send>>>,
    stdout: bool,
}

impl std::fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessLog").field("stdout", &self.stdout).field("file", &self.sink.is_some()).finish()
    }
}

impl AccessLog {
    /// Opens `target`.
    ///
    /// # Errors
    /// When the file cannot be opened for appending.
    pub fn open(target: &LogTarget) -> std::io::Result<Self> {
        Ok(match target {
            LogTarget::Off => Self { sink: None, stdout: false },
            LogTarget::Stdout => Self { sink: None, stdout: true },
            LogTarget::File(path) => {
                let file = OpenOptions::new().create(true).append(true).open(path)?;
                Self { sink: Some(Mutex::new(Box::new(LineWriter::new(file)))), stdout: false }
            }
        })
    }

    /// Whether records are written at all.
    pub fn enabled(&self) -> bool {
        self.stdout || self.sink.is_some()
    }

    /// Writes `record` as one line. A failing log never fails a request.
    pub fn write(&self, record: &AccessRecord<'_>) {
        // a record is also made when only a policy (Kafka log push) wants it: do not serialise
        // it for a log that is off
        if !self.enabled() {
            return;
        }
        let mut line = Vec::with_capacity(768);
        record.write_json(&mut line);
        line.push(b'\n');
        if self.stdout {
            let _ = std::io::stdout().lock().write_all(&line);
        } else if let Some(sink) = &self.sink
            && let Ok(mut sink) = sink.lock()
        {
            let _ = sink.write_all(&line);
        }
    }
}

/// `time` as RFC 3339 (UTC), as the `time` crate writes it (nanoseconds without trailing zeros,
/// none when zero; a test holds the two together), without its formatting machinery.
pub fn rfc3339(time: std::time::SystemTime) -> String {
    // the calendar fields from the core's `X-Sdk-Date` (`YYYYMMDDTHHMMSSZ`), rearranged
    let Ok(since) = time.duration_since(std::time::UNIX_EPOCH) else { return rfc3339_by_time_crate(time) };
    let sdk = apig::SdkDate::from_system_time(time).to_string();
    let b = sdk.as_bytes();
    if b.len() != 16 {
        return rfc3339_by_time_crate(time); // year 10000 or later
    }
    let mut out = Vec::with_capacity(30);
    out.extend_from_slice(&b[0..4]);
    out.push(b'-');
    out.extend_from_slice(&b[4..6]);
    out.push(b'-');
    out.extend_from_slice(&b[6..8]);
    out.push(b'T');
    out.extend_from_slice(&b[9..11]);
    out.push(b':');
    out.extend_from_slice(&b[11..13]);
    out.push(b':');
    out.extend_from_slice(&b[13..15]);
    let mut nanos = u64::from(since.subsec_nanos());
    if nanos != 0 {
        let mut width = 9;
        while nanos % 10 == 0 {
            nanos /= 10;
            width -= 1;
        }
        out.push(b'.');
        push_digits(&mut out, nanos, width);
    }
    out.push(b'Z');
    String::from_utf8(out).unwrap_or_default()
}

fn rfc3339_by_time_crate(time: std::time::SystemTime) -> String {
    time::OffsetDateTime::from(time).format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// `value` in `width` decimal digits (at most 20), zero-padded: written from the right, with
/// divisions by the constant 10 only (no `pow`, no division by a variable).
fn push_digits(out: &mut Vec<u8>, mut value: u64, width: u32) {
    let mut digits = [b'0'; 20];
    let width = (width as usize).min(digits.len());
    for d in digits[..width].iter_mut().rev() {
        *d = b'0' + (value % 10) as u8;
        value /= 10;
    }
    out.extend_from_slice(&digits[..width]);
}

/// `addr` as `Display` writes it (`a.b.c.d:port`, `[v6]:port`), without the formatting
/// machinery for the common IPv4 case.
pub fn socket_addr_string(addr: std::net::SocketAddr) -> String {
    match addr {
        std::net::SocketAddr::V4(v4) => {
            let mut out = Vec::with_capacity(21);
            let (quad, len) = ipv4_text(*v4.ip());
            out.extend_from_slice(&quad[..len]);
            out.push(b':');
            push_number(&mut out, u64::from(v4.port()));
            String::from_utf8(out).unwrap_or_default()
        }
        v6 => v6.to_string(),
    }
}

/// `ip` as `Display` writes it (the dotted quad), on the stack: the bytes and their length.
pub fn ipv4_text(ip: std::net::Ipv4Addr) -> ([u8; 15], usize) {
    let mut quad = [0u8; 15];
    let mut len = 0;
    let mut put = |byte: u8| {
        quad[len] = byte;
        len += 1;
    };
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            put(b'.');
        }
        if octet >= 100 {
            put(b'0' + octet / 100);
        }
        if octet >= 10 {
            put(b'0' + octet / 10 % 10);
        }
        put(b'0' + octet % 10);
    }
    (quad, len)
}

/// `value` in decimal, no padding.
fn push_number(out: &mut Vec<u8>, value: u64) {
    let mut width = 1;
    let mut rest = value / 10;
    while rest > 0 {
        width += 1;
        rest /= 10;
    }
    push_digits(out, value, width);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(record: &AccessRecord<'_>) -> (String, String) {
        let mut ours = Vec::new();
        record.write_json(&mut ours);
        (String::from_utf8(ours).unwrap_or_default(), serde_json::to_string(record).unwrap_or_default())
    }

    #[test]
    fn rfc3339_is_what_the_time_crate_writes() {
        use std::time::{Duration, UNIX_EPOCH};
        let mut secs: u64 = 0;
        let mut nanos: u32 = 0;
        // days across leap years and centuries (1970 … ~2500), sub-second parts with and without
        // trailing zeros
        for i in 0..20_000u64 {
            secs = secs.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407 + i);
            nanos = nanos.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let t = UNIX_EPOCH
                + Duration::new(secs % 16_725_225_600, [0, nanos % 1_000_000_000, 120_000_000, 5][(i % 4) as usize]);
            assert_eq!(rfc3339(t), rfc3339_by_time_crate(t), "{t:?}");
        }
        for day_secs in [0, 951_782_400, 951_868_800, 4_107_542_400, 253_402_300_799] {
            let t = UNIX_EPOCH + Duration::from_secs(day_secs);
            assert_eq!(rfc3339(t), rfc3339_by_time_crate(t));
        }
    }

    #[test]
    fn socket_addr_string_is_display() {
        for addr in
            ["0.0.0.0:0", "127.0.0.1:8080", "255.255.255.255:65535", "10.20.3.100:443", "[::1]:9", "[fe80::1%2]:80"]
        {
            let addr: std::net::SocketAddr =
                addr.parse().unwrap_or_else(|_| std::net::SocketAddr::from(([1, 2, 3, 4], 5)));
            assert_eq!(socket_addr_string(addr), addr.to_string());
        }
    }

    #[test]
    fn escape_check_is_exact_for_every_byte_anywhere() {
        for len in [0, 1, 7, 8, 9, 16, 23, 40] {
            for fill in [b'x', b' ', 0x7f, 0x80, 0xff, b'!', b'#', b'[', b']'] {
                let plain = vec![fill; len];
                assert!(!needs_escape(&plain), "{len} {fill}");
                for at in 0..len {
                    for byte in 0..=255u8 {
                        let mut b = plain.clone();
                        b[at] = byte;
                        let expected = byte < 0x20 || byte == b'"' || byte == b'\\';
                        assert_eq!(needs_escape(&b), expected, "{len} {fill} {at} {byte}");
                    }
                }
            }
        }
    }

    #[test]
    fn write_json_is_what_serde_json_writes() {
        let plain = AccessRecord {
            time: "2026-11-26T10:45:14.123456Z".to_owned(),
            request_id: "0b0f5c1e",
            remote_addr: "127.0.0.1:50312".to_owned(),
            method: "GET",
            host: "api.example.com",
            uri: "/demo/echo?a=1&b=%20",
            status: 200,
            environment: "RELEASE",
            latency_ms: 0.183,
            ..AccessRecord::default()
        };
        assert_eq!(both(&plain).0, both(&plain).1);
        let full = AccessRecord {
            uri: "/x?q=\"quoted\"\\back\u{1}ctl\u{7f}é😀",
            user_agent: Some("tab\there\nnewline"),
            status: 5,
            error_code: Some("APIG.0303".to_owned()),
            auth_error: Some("signature_mismatch"),
            group: Some("g"),
            api: Some("a"),
            app_key: Some("k"),
            latency_ms: f64::NAN,
            upstream_latency_ms: Some(12.0),
            extra: BTreeMap::from([
                ("breaker".to_owned(), serde_json::json!({"from": "closed", "to": "open"})),
                ("n".to_owned(), serde_json::json!(3)),
            ]),
            ..plain.clone()
        };
        assert_eq!(both(&full).0, both(&full).1);
        for status in [0, 9, 10, 99, 100, 404, 65535] {
            let r = AccessRecord { status, latency_ms: 1e21, upstream_latency_ms: Some(-0.0), ..plain.clone() };
            assert_eq!(both(&r).0, both(&r).1);
        }
    }
}
