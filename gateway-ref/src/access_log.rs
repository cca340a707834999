//! The structured access log: one JSON line per request, to stdout, a file, or nowhere.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{LineWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

use crate::context::RequestContext;

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
    /// RFC 3339 UTC time the request arrived ([`rfc3339`]).
    pub time: LogText,
    /// `X-Request-Id`.
    pub request_id: &'a str,
    /// Client address ([`socket_addr_string`]).
    pub remote_addr: LogText,
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
    pub error_code: Option<&'a str>,
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
    pub extra: BTreeMap<&'static str, serde_json::Value>,
}

impl<'a> AccessRecord<'a> {
    /// Fills in the request's fields from its context: what it was, how it was routed and
    /// authenticated, the error it was answered with, how the backend call went; `status` and
    /// `latency` (to the response head) are the answer's. The fields policies added (`extra`) stay.
    pub fn fill(&mut self, ctx: &'a RequestContext, status: u16, latency: Duration) {
        let millis = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
        self.time = rfc3339(ctx.arrived);
        self.request_id = &ctx.request_id;
        self.remote_addr = socket_addr_string(ctx.remote);
        self.method = ctx.method.as_str();
        self.host = &ctx.host;
        self.uri = &ctx.target;
        self.status = status;
        self.error_code = ctx.error.as_ref().map(|(code, _)| code.as_str());
        self.auth_error = ctx.error.as_ref().and_then(|(_, core)| *core);
        self.group = ctx.api.as_ref().map(|(_, g)| g.as_str());
        self.api = ctx.api.as_ref().map(|(a, _)| a.as_str());
        self.environment = &ctx.environment;
        self.app_key = ctx.caller.as_ref().map(|c| c.app_key.as_str());
        self.latency_ms = millis(latency);
        self.upstream_latency_ms = ctx.outcome.latency().map(millis);
        self.user_agent = ctx.headers.get(hyper::header::USER_AGENT).and_then(|v| v.to_str().ok());
    }

    /// Appends the record as one JSON object — byte for byte what `serde_json` makes of it (a
    /// test holds the two together), without its per-character escaping loop: the fields are
    /// almost always plain text, copied as they are. A line is a few hundred bytes: give `out`
    /// room for one (the callers' 768 bytes) and it does not grow.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        // each field: `,"name":` then the value; optional fields are left out when absent
        let field = |out: &mut Vec<u8>, name: &[u8], value: Option<&str>| {
            if let Some(value) = value {
                out.extend_from_slice(name);
                json_str(out, value);
            }
        };
        out.extend_from_slice(b"{\"time\":");
        self.time.write_json(out);
        field(out, b",\"request_id\":", Some(self.request_id));
        out.extend_from_slice(b",\"remote_addr\":");
        self.remote_addr.write_json(out);
        field(out, b",\"method\":", Some(self.method));
        field(out, b",\"host\":", Some(self.host));
        field(out, b",\"uri\":", Some(self.uri));
        out.extend_from_slice(b",\"status\":");
        push_number(out, u64::from(self.status));
        field(out, b",\"error_code\":", self.error_code);
        field(out, b",\"auth_error\":", self.auth_error);
        field(out, b",\"group\":", self.group);
        field(out, b",\"api\":", self.api);
        field(out, b",\"environment\":", Some(self.environment));
        field(out, b",\"app_key\":", self.app_key);
        out.extend_from_slice(b",\"latency_ms\":");
        json_f64(out, self.latency_ms);
        if let Some(ms) = self.upstream_latency_ms {
            out.extend_from_slice(b",\"upstream_latency_ms\":");
            json_f64(out, ms);
        }
        field(out, b",\"user_agent\":", self.user_agent);
        if !self.extra.is_empty() {
            // policies' values (the authorizer's state on every request it checks): strings and
            // booleans written here, any other JSON by serde_json; in key order, as serde_json
            // writes a map
            out.extend_from_slice(b",\"extra\":{");
            for (i, (name, value)) in self.extra.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                json_str(out, name);
                out.push(b':');
                match value {
                    serde_json::Value::String(text) => json_str(out, text),
                    serde_json::Value::Bool(true) => out.extend_from_slice(b"true"),
                    serde_json::Value::Bool(false) => out.extend_from_slice(b"false"),
                    other => {
                        let _ = serde_json::to_writer(&mut *out, other);
                    }
                }
            }
            out.push(b'}');
        }
        out.push(b'}');
    }
}

/// A short text the gateway writes itself (a record's time, a client address): on the stack when
/// it fits — no allocation, and no UTF-8 or escape check, since only ASCII digits and `-:.TZ`
/// are written there — else (an IPv6 address, a time past the year 9999) a `String`.
#[derive(Clone)]
pub struct LogText(Repr);

#[derive(Clone)]
enum Repr {
    /// The bytes and their length: ASCII digits and `-:.TZ` only.
    Inline([u8; 30], u8),
    /// Any other text.
    Heap(String),
}

impl LogText {
    /// The text's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline(bytes, len) => &bytes[..usize::from(*len)],
            Repr::Heap(text) => text.as_bytes(),
        }
    }

    /// Appends the text as a JSON string.
    #[inline]
    fn write_json(&self, out: &mut Vec<u8>) {
        match &self.0 {
            Repr::Inline(bytes, len) => {
                out.push(b'"');
                out.extend_from_slice(&bytes[..usize::from(*len)]);
                out.push(b'"');
            }
            Repr::Heap(text) => json_str(out, text),
        }
    }
}

/// Equal texts are equal wherever they are kept.
impl PartialEq for LogText {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for LogText {}

impl Default for LogText {
    fn default() -> Self {
        Self(Repr::Heap(String::new()))
    }
}

impl From<String> for LogText {
    fn from(text: String) -> Self {
        Self(Repr::Heap(text))
    }
}

impl From<&str> for LogText {
    fn from(text: &str) -> Self {
        Self(Repr::Heap(text.to_owned()))
    }
}

impl std::fmt::Display for LogText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.as_bytes()))
    }
}

impl std::fmt::Debug for LogText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&String::from_utf8_lossy(self.as_bytes()), f)
    }
}

impl Serialize for LogText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&String::from_utf8_lossy(self.as_bytes()))
    }
}

/// `s` as a JSON string: copied as is when nothing in it needs an escape (no control
/// character, quote or backslash), else escaped by `serde_json`.
fn json_str(out: &mut Vec<u8>, s: &str) {
    if needs_escape(s.as_bytes()) {
        let _ = serde_json::to_writer(&mut *out, s);
    } else {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

/// Whether `bytes` hold a control character, a quote or a backslash: 16 bytes per step (the
/// compiler makes vector compares of it), the last step overlapping the one before; shorter
/// inputs in one or two 8-byte words (SWAR). No byte-by-byte loop, no padding copy.
fn needs_escape(bytes: &[u8]) -> bool {
    let n = bytes.len();
    if n >= 16 {
        let (blocks, _) = bytes.as_chunks::<16>();
        for block in blocks {
            if block_needs_escape(block) {
                return true;
            }
        }
        return bytes.last_chunk::<16>().is_some_and(block_needs_escape);
    }
    let word = |at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[at..at + 8]);
        u64::from_le_bytes(w)
    };
    if n >= 8 {
        return word_needs_escape(word(0)) || word_needs_escape(word(n - 8));
    }
    // under 8 bytes: the bytes at 0, n/2 and n-1 (all of them when n <= 3), and two overlapping
    // halves (all of them when 4 <= n <= 7), padded with spaces
    let half = |at: usize| {
        let mut w = [0u8; 4];
        w.copy_from_slice(&bytes[at..at + 4]);
        u64::from(u32::from_le_bytes(w))
    };
    let w = match n {
        0 => u64::from_le_bytes([b' '; 8]),
        1..=3 => u64::from_le_bytes([bytes[0], bytes[n / 2], bytes[n - 1], b' ', b' ', b' ', b' ', b' ']),
        _ => half(0) | half(n - 4) << 32,
    };
    word_needs_escape(w)
}

/// Whether one of the 16 bytes needs an escape in JSON.
#[inline]
fn block_needs_escape(block: &[u8; 16]) -> bool {
    block.iter().fold(false, |acc, &b| acc | (b < 0x20) | (b == b'"') | (b == b'\\'))
}

/// Whether one of the 8 bytes of `w` needs an escape in JSON (SWAR: exact as a yes/no over the
/// word).
#[inline]
fn word_needs_escape(w: u64) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // a byte of `w` is zero / below `n` (n <= 0x80)
    let has_zero = |w: u64| w.wrapping_sub(ONES) & !w & HIGHS != 0;
    let has_below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS != 0;
    has_below(w, 0x20) || has_zero(w ^ (ONES * u64::from(b'"'))) || has_zero(w ^ (ONES * u64::from(b'\\')))
}

/// `value` as serde_json writes an `f64` (`null` when not finite). The latencies are whole
/// microseconds in milliseconds (`n / 1000`): below 10^12 ms such a value has at most 15
/// significant digits, so its shortest form — the one serde_json writes — is that decimal
/// itself, written here from the integer; any other value goes through serde_json (a test
/// holds the two together).
fn json_f64(out: &mut Vec<u8>, value: f64) {
    if value.is_sign_positive() && value < 1e12 {
        // n below 10^15 (`+ 0.5` then truncation: rounded, without a call to `round`)
        // (value in [0, 10^12): n in [0, 10^15], below 2^53, so both casts are exact)
        #[allow(clippy::cast_possible_truncation)]
        let n = (value * 1000.0 + 0.5) as i64;
        #[allow(clippy::cast_precision_loss)]
        let back = n as f64;
        if back / 1000.0 == value {
            // `whole.fraction`, the fraction without trailing zeros (`.0` when none), in one
            // buffer: the whole part's digits end where the fraction starts
            let n = n.unsigned_abs();
            let mut text = [0u8; 24];
            let fraction = (n % 1000) as u16;
            let (d1, d2, d3) = (fraction / 100, fraction / 10 % 10, fraction % 10);
            text[20..].copy_from_slice(&[b'.', digit(d1.into()), digit(d2.into()), digit(d3.into())]);
            let end = if d3 != 0 {
                24
            } else if d2 != 0 {
                23
            } else {
                22
            };
            let start = digits_before(n / 1000, &mut text, 20);
            out.extend_from_slice(&text[start..end]);
            return;
        }
    }
    let _ = serde_json::to_writer(&mut *out, &value);
}

/// The access-log writer (thread-safe; one line per write).
pub struct AccessLog {
    sink: Option<Mutex<Box<dyn Write + Send>>>,
    /// The file the sink appends to, opened again by [`AccessLog::reopen`].
    path: Option<PathBuf>,
    stdout: bool,
}

impl std::fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessLog").field("stdout", &self.stdout).field("file", &self.path).finish()
    }
}

impl AccessLog {
    /// Opens `target`.
    ///
    /// # Errors
    /// When the file cannot be opened for appending.
    pub fn open(target: &LogTarget) -> std::io::Result<Self> {
        Ok(match target {
            LogTarget::Off => Self { sink: None, path: None, stdout: false },
            LogTarget::Stdout => Self { sink: None, path: None, stdout: true },
            LogTarget::File(path) => {
                Self { sink: Some(Mutex::new(append_to(path)?)), path: Some(path.clone()), stdout: false }
            }
        })
    }

    /// Opens the log file again by its name (after logrotate moved it away: `SIGUSR1` does this),
    /// so that the next record goes to a new file of that name. Records already written are
    /// flushed to the old file first. Nothing to do for stdout or an access log that is off.
    ///
    /// # Errors
    /// When the file cannot be opened: records keep going to the old file.
    pub fn reopen(&self) -> std::io::Result<()> {
        let (Some(path), Some(sink)) = (&self.path, &self.sink) else { return Ok(()) };
        let fresh = append_to(path)?;
        let mut sink = sink.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = sink.flush();
        *sink = fresh;
        Ok(())
    }

    /// Whether records are written at all.
    pub fn enabled(&self) -> bool {
        self.stdout || self.sink.is_some()
    }

    /// Writes `line`, a record as [`AccessRecord::write_json`] made it, as one line (when the log
    /// is on). A failing log never fails a request.
    pub fn write_line(&self, mut line: Vec<u8>) {
        if !self.enabled() {
            return;
        }
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

/// `path` opened for appending (created when missing), written line by line.
fn append_to(path: &Path) -> std::io::Result<Box<dyn Write + Send>> {
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    Ok(Box::new(LineWriter::new(file)))
}

thread_local! {
    /// The second `rfc3339` last wrote on this thread and its text up to the seconds
    /// (`2026-11-26T10:45:14`): the calendar work is done once per second and thread.
    static SECOND: std::cell::Cell<(u64, [u8; 19])> = const { std::cell::Cell::new((u64::MAX, [0; 19])) };
}

/// `time` as RFC 3339 (UTC), as the `time` crate writes it (nanoseconds without trailing zeros,
/// none when zero; a test holds the two together), without its formatting machinery.
pub fn rfc3339(time: std::time::SystemTime) -> LogText {
    let Ok(since) = time.duration_since(std::time::UNIX_EPOCH) else { return rfc3339_by_time_crate(time).into() };
    let (mut secs, mut prefix) = SECOND.get();
    if secs != since.as_secs() {
        // the calendar fields from the core's `X-Sdk-Date` (`YYYYMMDDTHHMMSSZ`), rearranged
        let b = apig::SdkDate::from_system_time(time).to_bytes();
        if &b[..4] == b"0000" {
            return rfc3339_by_time_crate(time).into(); // year 10000 or later: no 16-character form
        }
        prefix = [
            b[0], b[1], b[2], b[3], b'-', b[4], b[5], b'-', b[6], b[7], b'T', b[9], b[10], b':', b[11], b[12], b':',
            b[13], b[14],
        ];
        secs = since.as_secs();
        SECOND.set((secs, prefix));
    }
    let mut text = [0u8; 30];
    text[..19].copy_from_slice(&prefix);
    let mut len = 19;
    let nanos = since.subsec_nanos();
    if nanos != 0 {
        // `.` and 9 digits, then without the trailing zeros
        text[19] = b'.';
        let mut rest = nanos;
        for at in [27, 25, 23, 21] {
            text[at..at + 2].copy_from_slice(pair(rest % 100));
            rest /= 100;
        }
        text[20] = digit(rest.into());
        len = 29;
        while text[len - 1] == b'0' {
            len -= 1;
        }
    }
    text[len] = b'Z';
    LogText(Repr::Inline(text, inline_len(len + 1)))
}

fn rfc3339_by_time_crate(time: std::time::SystemTime) -> String {
    time::OffsetDateTime::from(time).format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// `addr` as `Display` writes it (`a.b.c.d:port`, `[v6]:port`), without the formatting
/// machinery nor an allocation for the common IPv4 case.
pub fn socket_addr_string(addr: std::net::SocketAddr) -> LogText {
    match addr {
        std::net::SocketAddr::V4(v4) => {
            let mut text = [0u8; 30];
            let (quad, len) = ipv4_text(*v4.ip());
            text[..15].copy_from_slice(&quad);
            text[len] = b':';
            let mut digits = [0u8; 20];
            let port = decimal(u64::from(v4.port()), &mut digits);
            text[len + 1..len + 1 + port.len()].copy_from_slice(port);
            LogText(Repr::Inline(text, inline_len(len + 1 + port.len())))
        }
        v6 => v6.to_string().into(),
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
    let mut digits = [0u8; 20];
    out.extend_from_slice(decimal(value, &mut digits));
}

/// `value`'s decimal digits, written from the right into `digits`.
#[inline]
fn decimal(value: u64, digits: &mut [u8; 20]) -> &[u8] {
    let start = digits_before(value, digits, 20);
    &digits[start..]
}

/// Writes `value`'s decimal digits into `buf` so that they end at `end`, two at a time; returns
/// where they start. `buf[..end]` must have room for them (20 digits at most).
#[inline]
fn digits_before(mut value: u64, buf: &mut [u8], end: usize) -> usize {
    let mut at = end;
    while value >= 100 {
        at -= 2;
        buf[at..at + 2].copy_from_slice(pair(value % 100));
        value /= 100;
    }
    if value >= 10 {
        at -= 2;
        buf[at..at + 2].copy_from_slice(pair(value));
    } else {
        at -= 1;
        buf[at] = digit(value);
    }
    at
}

/// The ASCII digit of `d` (below 10).
fn digit(d: u64) -> u8 {
    debug_assert!(d < 10);
    // d % 10 < 10: the cast keeps every bit
    #[allow(clippy::cast_possible_truncation)]
    let d = (d % 10) as u8;
    b'0' + d
}

/// The length of an inline text (at most 30 bytes, the buffer's size) as its `u8`.
fn inline_len(len: usize) -> u8 {
    debug_assert!(len <= 30);
    u8::try_from(len).unwrap_or(30)
}

/// The two digits of `n` (below 100).
fn pair<T: Into<u64>>(n: T) -> &'static [u8] {
    /// `00` to `99`.
    const PAIRS: [u8; 200] = {
        let mut pairs = [0u8; 200];
        let mut i = 0;
        let mut tens = 0u8;
        while tens < 10 {
            let mut ones = 0u8;
            while ones < 10 {
                pairs[i] = b'0' + tens;
                pairs[i + 1] = b'0' + ones;
                i += 2;
                ones += 1;
            }
            tens += 1;
        }
        pairs
    };
    let i = (n.into() % 100) as usize * 2;
    &PAIRS[i..i + 2]
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
            assert_eq!(rfc3339(t).to_string(), rfc3339_by_time_crate(t), "{t:?}");
        }
        for day_secs in [0, 951_782_400, 951_868_800, 4_107_542_400, 253_402_300_799] {
            let t = UNIX_EPOCH + Duration::from_secs(day_secs);
            assert_eq!(rfc3339(t).to_string(), rfc3339_by_time_crate(t));
        }
        // the per-second cache: instants within one second, the next one, and back
        let second = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        for nanos in [0, 1, 999_999_999, 500_000_000, 1_000_000_000, 1_000_000_001, 7, 1_999_999_999, 3] {
            let t = second + Duration::from_nanos(nanos);
            assert_eq!(rfc3339(t).to_string(), rfc3339_by_time_crate(t), "{t:?}");
        }
    }

    #[test]
    #[allow(clippy::cast_precision_loss)] // the gateway's own u64 → f64 of microseconds, reproduced
    fn latencies_are_what_serde_json_writes() {
        let serde = |v: f64| serde_json::to_string(&v).unwrap_or_default();
        let ours = |v: f64| {
            let mut out = Vec::new();
            json_f64(&mut out, v);
            String::from_utf8(out).unwrap_or_default()
        };
        // every whole microsecond up to 3 s, computed as the gateway does
        for micros in 0..3_000_000u64 {
            let ms = (micros as f64).round() / 1e3;
            assert_eq!(ours(ms), serde(ms), "{micros}");
        }
        // large ones, random ones, and values that are not whole microseconds
        let mut x: u64 = 1;
        for i in 0..200_000u64 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let micros =
                (x >> 11) % [1_000, 1_000_000_000, 999_999_999_999_999, 1_000_000_000_000_000_000][(i % 4) as usize];
            let ms = (micros as f64).round() / 1e3;
            assert_eq!(ours(ms), serde(ms), "{micros}");
            let any = f64::from_bits(x);
            assert_eq!(ours(any), serde(any), "{any:e}");
            let fraction = (x >> 11) as f64 / (1u64 << 53) as f64 * 1e4;
            assert_eq!(ours(fraction), serde(fraction), "{fraction:e}");
        }
        for v in [
            0.0,
            -0.0,
            0.001,
            0.0005,
            0.1,
            0.2,
            0.3,
            1.0,
            1.5,
            12.0,
            999_999_999_999.999,
            1e12,
            1e15,
            1e16,
            1e21,
            -1.0,
            -0.001,
            5e-324,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ] {
            assert_eq!(ours(v), serde(v), "{v:e}");
        }
    }

    #[test]
    fn log_texts_compare_by_their_text() {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 8080));
        assert_eq!(socket_addr_string(addr), LogText::from("127.0.0.1:8080"));
        assert_ne!(socket_addr_string(addr), LogText::from("127.0.0.1:8081"));
        assert_eq!(LogText::default(), LogText::from(""));
    }

    #[test]
    fn socket_addr_string_is_display() {
        for addr in
            ["0.0.0.0:0", "127.0.0.1:8080", "255.255.255.255:65535", "10.20.3.100:443", "[::1]:9", "[fe80::1%2]:80"]
        {
            let addr: std::net::SocketAddr =
                addr.parse().unwrap_or_else(|_| std::net::SocketAddr::from(([1, 2, 3, 4], 5)));
            assert_eq!(socket_addr_string(addr).to_string(), addr.to_string());
        }
    }

    #[test]
    fn escape_check_is_exact_for_every_byte_anywhere() {
        for len in 0..=40 {
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
            time: "2026-11-26T10:45:14.123456Z".into(),
            request_id: "0b0f5c1e",
            remote_addr: "127.0.0.1:50312".into(),
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
            error_code: Some("APIG.0303"),
            auth_error: Some("signature_mismatch"),
            group: Some("g"),
            api: Some("a"),
            app_key: Some("k"),
            latency_ms: f64::NAN,
            upstream_latency_ms: Some(12.0),
            extra: BTreeMap::from([
                ("breaker", serde_json::json!({"from": "closed", "to": "open"})),
                ("n", serde_json::json!(3)),
                ("authorizer", serde_json::json!("cached")),
                ("a\"key\\\n", serde_json::json!("a \"value\"\u{1}é")),
                ("yes", serde_json::json!(true)),
                ("no", serde_json::json!(false)),
                ("none", serde_json::Value::Null),
                ("list", serde_json::json!([1.5, "x", null, {"k": [true]}])),
                ("f", serde_json::json!(-0.0)),
            ]),
            ..plain.clone()
        };
        assert_eq!(both(&full).0, both(&full).1);
        for extra in [
            BTreeMap::from([("authorizer", serde_json::json!("allowed"))]),
            BTreeMap::from([("kafka_log_dropped", serde_json::json!(12u64))]),
        ] {
            let r = AccessRecord { extra, ..plain.clone() };
            assert_eq!(both(&r).0, both(&r).1);
        }
        for status in [0, 9, 10, 99, 100, 404, 65535] {
            let r = AccessRecord { status, latency_ms: 1e21, upstream_latency_ms: Some(-0.0), ..plain.clone() };
            assert_eq!(both(&r).0, both(&r).1);
        }
        // the time and address as the gateway makes them (on the stack, or a String), and texts
        // from elsewhere that need escapes
        let now = std::time::SystemTime::now();
        for (time, remote_addr) in [
            (rfc3339(now), socket_addr_string(std::net::SocketAddr::from(([10, 0, 0, 1], 65535)))),
            (rfc3339(std::time::UNIX_EPOCH), socket_addr_string(std::net::SocketAddr::from(([0; 16], 0)))),
            (LogText::from("\"\\\u{1f}"), LogText::from(String::from("é\n"))),
        ] {
            let r = AccessRecord { time, remote_addr, ..plain.clone() };
            assert_eq!(both(&r).0, both(&r).1);
        }
    }
}
