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

/// One access-log line.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AccessRecord {
    /// RFC 3339 UTC time the request arrived.
    pub time: String,
    /// `X-Request-Id`.
    pub request_id: String,
    /// Client address.
    pub remote_addr: String,
    /// Method.
    pub method: String,
    /// `Host`.
    pub host: String,
    /// The raw request target.
    pub uri: String,
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
    pub group: Option<String>,
    /// API id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Environment.
    pub environment: String,
    /// The authenticated app's key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_key: Option<String>,
    /// Time to the response head, milliseconds.
    pub latency_ms: f64,
    /// Backend time to the response head, milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_latency_ms: Option<f64>,
    /// `User-Agent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Fields added by policies (`on_response`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl AccessRecord {
    /// Appends the record as one JSON object — byte for byte what `serde_json` makes of it (a
    /// test holds the two together), without its per-character escaping loop: the fields are
    /// almost always plain text, copied as they are.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"time\":");
        json_str(out, &self.time);
        out.extend_from_slice(b",\"request_id\":");
        json_str(out, &self.request_id);
        out.extend_from_slice(b",\"remote_addr\":");
        json_str(out, &self.remote_addr);
        out.extend_from_slice(b",\"method\":");
        json_str(out, &self.method);
        out.extend_from_slice(b",\"host\":");
        json_str(out, &self.host);
        out.extend_from_slice(b",\"uri\":");
        json_str(out, &self.uri);
        out.extend_from_slice(b",\"status\":");
        let mut digits = [0u8; 5];
        let mut n = self.status;
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        out.extend_from_slice(&digits[at..]);
        if let Some(code) = &self.error_code {
            out.extend_from_slice(b",\"error_code\":");
            json_str(out, code);
        }
        if let Some(code) = self.auth_error {
            out.extend_from_slice(b",\"auth_error\":");
            json_str(out, code);
        }
        if let Some(group) = &self.group {
            out.extend_from_slice(b",\"group\":");
            json_str(out, group);
        }
        if let Some(api) = &self.api {
            out.extend_from_slice(b",\"api\":");
            json_str(out, api);
        }
        out.extend_from_slice(b",\"environment\":");
        json_str(out, &self.environment);
        if let Some(key) = &self.app_key {
            out.extend_from_slice(b",\"app_key\":");
            json_str(out, key);
        }
        out.extend_from_slice(b",\"latency_ms\":");
        json_f64(out, self.latency_ms);
        if let Some(ms) = self.upstream_latency_ms {
            out.extend_from_slice(b",\"upstream_latency_ms\":");
            json_f64(out, ms);
        }
        if let Some(ua) = &self.user_agent {
            out.extend_from_slice(b",\"user_agent\":");
            json_str(out, ua);
        }
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
    // no early exit: the loop vectorises
    let plain = !s.bytes().fold(false, |escape, b| escape | (b < 0x20) | (b == b'"') | (b == b'\\'));
    if plain {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *out, s);
    }
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
    pub fn write(&self, record: &AccessRecord) {
        // a record is also made when only a policy (Kafka log push) wants it: do not serialise
        // it for a log that is off
        if !self.enabled() {
            return;
        }
        let mut line = Vec::with_capacity(512);
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

/// `time` as RFC 3339 (UTC).
pub fn rfc3339(time: std::time::SystemTime) -> String {
    time::OffsetDateTime::from(time).format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(record: &AccessRecord) -> (String, String) {
        let mut ours = Vec::new();
        record.write_json(&mut ours);
        (String::from_utf8(ours).unwrap_or_default(), serde_json::to_string(record).unwrap_or_default())
    }

    #[test]
    fn write_json_is_what_serde_json_writes() {
        let plain = AccessRecord {
            time: "2026-11-26T10:45:14.123456Z".to_owned(),
            request_id: "0b0f5c1e".to_owned(),
            remote_addr: "127.0.0.1:50312".to_owned(),
            method: "GET".to_owned(),
            host: "api.example.com".to_owned(),
            uri: "/demo/echo?a=1&b=%20".to_owned(),
            status: 200,
            environment: "RELEASE".to_owned(),
            latency_ms: 0.183,
            ..AccessRecord::default()
        };
        assert_eq!(both(&plain).0, both(&plain).1);
        let full = AccessRecord {
            uri: "/x?q=\"quoted\"\\back\u{1}ctl\u{7f}é😀".to_owned(),
            user_agent: Some("tab\there\nnewline".to_owned()),
            status: 5,
            error_code: Some("APIG.0303".to_owned()),
            auth_error: Some("signature_mismatch"),
            group: Some("g".to_owned()),
            api: Some("a".to_owned()),
            app_key: Some("k".to_owned()),
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
