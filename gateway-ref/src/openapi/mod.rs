//! APIG's own import/export format: Swagger 2.0 or OpenAPI 3.0 with `x-apigateway-*` extensions,
//! in JSON or YAML, to and from this gateway's configuration ([`import`], [`export`]). The mapping
//! follows APIG's documentation (see `docs/openapi.md`): a file is one API group; each operation
//! one API; the extensions carry the match mode, the backend, throttling, access control and CORS.
//!
//! What cannot be carried is never dropped in silence: an import is refused listing every such
//! feature with its API (`operationId`) and JSON pointer (or, `lenient`, those APIs are skipped and
//! listed as warnings); an export names what it leaves out.

pub mod export;
pub mod import;

use std::fmt;

use serde::Serialize;
use serde_json::Value;

/// The name of the CORS policy an import binds for `x-apigateway-cors: true`.
pub const CORS_POLICY: &str = "apig-cors";

/// The settings of [`CORS_POLICY`]: the fixed headers APIG adds for simple CORS.
pub fn cors_config() -> Value {
    serde_json::json!({
        "allow_origins": ["*"],
        "allow_methods": ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"],
        "allow_headers": ["X-Sdk-Date", "X-Sdk-Nonce", "X-Proxy-Signed-Headers", "X-Sdk-Content-Sha256",
            "X-Forwarded-For", "Authorization", "Content-Type", "Accept", "Accept-Ranges", "Cache-Control", "Range"],
        "max_age": 172_800
    })
}

/// One thing an import or export could not carry, or carries differently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// Where, as a JSON pointer into the OpenAPI document (`/paths/~1items/get/security`) or an
    /// object path into the configuration (`groups[0].apis[1].backend`).
    pub at: String,
    /// The API (`operationId` on import, the API id on export), when the issue is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Its method and path (`GET /items/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// What and why.
    pub reason: String,
    /// APIG's error code for the case, where it has one (`APIG.3301`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.at)?;
        match (&self.api, &self.route) {
            (Some(api), Some(route)) => write!(f, " ({api}: {route})")?,
            (Some(api), None) => write!(f, " ({api})")?,
            _ => {}
        }
        write!(f, ": {}", self.reason)?;
        if let Some(code) = self.code {
            write!(f, " [{code}]")?;
        }
        Ok(())
    }
}

/// A JSON pointer token: `~` → `~0`, `/` → `~1` (RFC 6901).
pub fn pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The output form of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Syntax {
    /// JSON (default).
    #[default]
    Json,
    /// YAML.
    Yaml,
}

/// Parses an OpenAPI document in JSON or YAML (JSON when it starts with `{`).
///
/// # Errors
/// An empty file (`APIG.3609`), or one that is neither (`APIG.3600`): `line:column` when known, and
/// the reason.
pub fn parse_document(text: &str) -> Result<Value, (Option<String>, String, &'static str)> {
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return Err((None, "the file is empty".into(), "APIG.3609"));
    }
    let value: Value = if trimmed.starts_with('{') {
        serde_json::from_str(text).map_err(|e| {
            let reason = e.to_string();
            let reason = reason.split(" at line ").next().unwrap_or(&reason).to_owned();
            (Some(format!("{}:{}", e.line(), e.column())), format!("not valid JSON: {reason}"), "APIG.3600")
        })?
    } else {
        crate::config::from_yaml(text)
            .map_err(|(position, reason)| (position, format!("not valid YAML: {reason}"), "APIG.3600"))?
    };
    if !value.is_object() {
        return Err((Some("1:1".into()), "the document must be a JSON or YAML object".into(), "APIG.3600"));
    }
    Ok(value)
}
