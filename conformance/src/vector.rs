//! The vector model: sign vectors and verify vectors, as JSON arrays.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Deserialize;

/// One vector of either kind.
#[derive(Debug, Clone)]
pub enum Vector {
    /// Sign a request, compare the four expected strings.
    Sign(SignVector),
    /// Verify a received request, compare the verdict (and the error code where given).
    Verify(VerifyVector),
}

impl Vector {
    /// The case name.
    pub fn name(&self) -> &str {
        match self {
            Self::Sign(v) => &v.name,
            Self::Verify(v) => &v.name,
        }
    }
}

/// A request as the vectors give it.
#[derive(Debug, Clone, Deserialize)]
pub struct TestRequest {
    /// HTTP method.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Header pairs, in order.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// UTF-8 body.
    #[serde(default)]
    pub body: Option<String>,
    /// Binary body, base64.
    #[serde(default)]
    pub body_base64: Option<String>,
}

impl TestRequest {
    /// The body bytes (empty when the vector gives none).
    ///
    /// # Errors
    /// When `body_base64` is not valid base64.
    pub fn body_bytes(&self) -> Result<Vec<u8>, String> {
        match (&self.body, &self.body_base64) {
            (_, Some(b64)) => {
                base64::engine::general_purpose::STANDARD.decode(b64).map_err(|e| format!("body_base64: {e}"))
            }
            (Some(text), None) => Ok(text.as_bytes().to_vec()),
            (None, None) => Ok(Vec::new()),
        }
    }

    /// The header pairs as borrowed strings.
    pub fn header_pairs(&self) -> Vec<(&str, &str)> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
    }
}

/// The four strings a signer must reproduce.
#[derive(Debug, Clone, Deserialize)]
pub struct SignExpected {
    /// Canonical request.
    pub canonical_request: String,
    /// String to sign.
    pub string_to_sign: String,
    /// Hex signature.
    pub signature: String,
    /// `Authorization` value.
    pub authorization: String,
}

/// A sign vector.
#[derive(Debug, Clone, Deserialize)]
pub struct SignVector {
    /// Case name.
    pub name: String,
    /// Access key.
    pub key: String,
    /// Secret key.
    pub secret: String,
    /// Algorithm token (default `SDK-HMAC-SHA256`).
    #[serde(default)]
    pub algorithm: Option<String>,
    /// V11 region.
    #[serde(default)]
    pub region_id: Option<String>,
    /// V11 service.
    #[serde(default)]
    pub service: Option<String>,
    /// The request.
    pub request: TestRequest,
    /// Expected strings.
    pub expected: SignExpected,
}

/// A verify vector.
#[derive(Debug, Clone, Deserialize)]
pub struct VerifyVector {
    /// Case name.
    pub name: String,
    /// Known credentials.
    pub key_store: BTreeMap<String, String>,
    /// The verifier's clock, `yyyyMMddTHHmmssZ`.
    pub now: String,
    /// The received request.
    pub request: TestRequest,
    /// `accept` or `reject`.
    pub expected_verdict: String,
    /// The expected error code, for some rejects.
    #[serde(default)]
    pub expected_error: Option<String>,
}

/// Loads every vector of one file (a JSON array of sign and/or verify vectors).
///
/// # Errors
/// A message naming the file when it cannot be read or is not a vector array.
pub fn load_file(path: &Path) -> Result<Vec<Vector>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let items: Vec<serde_json::Value> = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let result = if item.get("expected_verdict").is_some() {
                serde_json::from_value(item).map(Vector::Verify)
            } else {
                serde_json::from_value(item).map(Vector::Sign)
            };
            result.map_err(|e| format!("{}: vector #{i}: {e}", path.display()))
        })
        .collect()
}

/// Every `*.json` file of `dir`, sorted.
///
/// # Errors
/// When the folder cannot be read.
pub fn default_vector_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    Ok(files)
}
