//! The vector model: sign vectors and verify vectors, as JSON arrays.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Deserialize;

/// One vector of either kind.
// (a few hundred vectors, loaded once by a test runner: not worth a box per sign vector)
#[allow(clippy::large_enum_variant)]
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

/// The four strings a signer must reproduce (and, in v3 vectors, the headers it adds).
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
    /// v3: every header present when the canonical request was built, in order.
    #[serde(default)]
    pub headers_at_signing: Option<Vec<(String, String)>>,
    /// v3: the names in `headers_at_signing` the signer added.
    #[serde(default)]
    pub headers_added: Option<Vec<String>>,
    /// v3: the `SignedHeaders` list.
    #[serde(default)]
    pub signed_headers: Option<String>,
    /// v3: the path and query sent.
    #[serde(default)]
    pub wire_target: Option<String>,
}

impl SignExpected {
    /// v3: the headers the signer must add (names with their values from `headers_at_signing`),
    /// in order; `None` for a vector that lists none.
    ///
    /// # Errors
    /// A name of `headers_added` that `headers_at_signing` does not list.
    pub fn added_headers(&self) -> Result<Option<Vec<(String, String)>>, String> {
        let Some(names) = &self.headers_added else { return Ok(None) };
        let at_signing = self.headers_at_signing.as_deref().unwrap_or_default();
        names
            .iter()
            .map(|name| {
                at_signing
                    .iter()
                    .find(|(n, _)| n == name)
                    .cloned()
                    .ok_or_else(|| format!("headers_added names {name}, which headers_at_signing lacks"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

/// The credential type of a v3 vector: which id header its credentials add.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialType {
    /// BasicCredentials (regional services): `project_id` → `X-Project-Id`.
    Basic,
    /// GlobalCredentials (global services): `domain_id` → `X-Domain-Id`.
    Global,
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
    /// v3: `basic` or `global`; its presence marks a vector of Huawei Cloud's v3 SDKs, signed with
    /// the `huaweicloud-v3` profile.
    #[serde(default)]
    pub credential_type: Option<CredentialType>,
    /// v3: the security token (temporary credentials).
    #[serde(default)]
    pub security_token: Option<String>,
    /// v3: the project id (basic credentials).
    #[serde(default)]
    pub project_id: Option<String>,
    /// v3: the domain id (global credentials).
    #[serde(default)]
    pub domain_id: Option<String>,
    /// The request.
    pub request: TestRequest,
    /// Expected strings.
    pub expected: SignExpected,
}

impl SignVector {
    /// The signing profile the vector was produced with: `huaweicloud-v3` for a v3 vector
    /// (one with a `credential_type`), else `apig`.
    pub fn profile(&self) -> &'static str {
        if self.credential_type.is_some() { "huaweicloud-v3" } else { "apig" }
    }

    /// The project id the credentials add (basic credentials only).
    pub fn signer_project_id(&self) -> Option<&str> {
        self.project_id.as_deref().filter(|_| self.credential_type == Some(CredentialType::Basic))
    }

    /// The domain id the credentials add (global credentials only).
    pub fn signer_domain_id(&self) -> Option<&str> {
        self.domain_id.as_deref().filter(|_| self.credential_type == Some(CredentialType::Global))
    }
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
