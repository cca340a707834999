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
        let Ok(mut line) = serde_json::to_vec(record) else { return };
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
