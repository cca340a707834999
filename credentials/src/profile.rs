//! Credentials from the profile file `~/.huaweicloud/credentials` (INI), as Huawei Cloud's v3
//! SDKs read it (SPEC-credentials §4.2).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ini::Ini;

use crate::credentials::Credentials;
use crate::error::{CredentialsError, CredentialsErrorKind};
use crate::provider::ProvideCredentials;

/// The variable naming the file (else `$HOME/.huaweicloud/credentials`).
pub const CREDENTIALS_FILE_VAR: &str = "HUAWEICLOUD_SDK_CREDENTIALS_FILE";

/// The section read for regional services.
pub const BASIC: &str = "basic";
/// The section read for global services.
pub const GLOBAL: &str = "global";

/// One section (`[basic]` by default, `[global]`, or any profile name) of an INI file: keys `ak`,
/// `sk` (required), `security_token`, `project_id`, `domain_id` (key names in any case, `#`/`;`
/// comments). Read once, on first use; a failed read is tried again on the next call.
#[derive(Debug)]
pub struct ProfileProvider {
    path: PathBuf,
    section: String,
    cached: Mutex<Option<Credentials>>,
}

impl ProfileProvider {
    /// The `[basic]` section of the file `HUAWEICLOUD_SDK_CREDENTIALS_FILE` names, else of
    /// `$HOME/.huaweicloud/credentials` (`%USERPROFILE%` on Windows).
    pub fn new() -> Self {
        Self::from_file(default_path(), BASIC)
    }

    /// Section `section` (a profile name) of the default file, as [`ProfileProvider::new`] finds it.
    pub fn with_section(section: impl Into<String>) -> Self {
        Self::from_file(default_path(), section)
    }

    /// Section `section` of the file at `path`.
    pub fn from_file(path: impl Into<PathBuf>, section: impl Into<String>) -> Self {
        Self { path: path.into(), section: section.into(), cached: Mutex::new(None) }
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<Credentials, CredentialsError> {
        let source = format!("{} [{}]", self.path.display(), self.section);
        let error = |kind, message: String| CredentialsError::new(kind, "profile", source.clone(), message);
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(error(CredentialsErrorKind::Missing, "no such file".to_owned()));
            }
            Err(e) => return Err(error(CredentialsErrorKind::Malformed, format!("cannot read it: {e}"))),
        };
        // (the parser's message names a line and column, never a value)
        let ini = Ini::load_from_str(&text).map_err(|e| {
            error(CredentialsErrorKind::Malformed, format!("not an INI file: line {} column {}", e.line, e.col))
        })?;
        let section = ini
            .section(Some(self.section.as_str()))
            .ok_or_else(|| error(CredentialsErrorKind::Missing, format!("no [{}] section", self.section)))?;
        let get = |key: &str| section.get(key).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        let required =
            |key: &str| get(key).ok_or_else(|| error(CredentialsErrorKind::Missing, format!("no `{key}` key")));
        let mut credentials = Credentials::new(required("ak")?, required("sk")?);
        credentials.security_token = get("security_token").map(Into::into);
        credentials.project_id = get("project_id");
        credentials.domain_id = get("domain_id");
        Ok(credentials)
    }
}

impl Default for ProfileProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl ProvideCredentials for ProfileProvider {
    fn credentials(&self) -> Result<Credentials, CredentialsError> {
        let mut cached = self.cached.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(credentials) = cached.as_ref() {
            return Ok(credentials.clone());
        }
        let credentials = self.read()?;
        *cached = Some(credentials.clone());
        Ok(credentials)
    }

    fn name(&self) -> &'static str {
        "profile"
    }
}

/// `HUAWEICLOUD_SDK_CREDENTIALS_FILE`, else `<home>/.huaweicloud/credentials`.
fn default_path() -> PathBuf {
    if let Some(path) = std::env::var_os(CREDENTIALS_FILE_VAR).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let home = std::env::var_os(if cfg!(windows) { "USERPROFILE" } else { "HOME" }).unwrap_or_default();
    PathBuf::from(home).join(".huaweicloud").join("credentials")
}
