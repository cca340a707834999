//! Where the access key and secret come from: `--credentials FILE`, else `APIG_ACCESS_KEY` /
//! `APIG_SECRET_KEY`; `--access-key` overrides the access key. The secret never comes from argv.

use std::path::Path;

use apig::{ErrorKind, SecretKey};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::args::CredentialArgs;
use crate::errors::CliError;

/// The environment variable holding the access key.
pub(crate) const ACCESS_KEY_ENV: &str = "APIG_ACCESS_KEY";
/// The environment variable holding the secret key.
pub(crate) const SECRET_KEY_ENV: &str = "APIG_SECRET_KEY";

/// An access key and its secret.
pub(crate) struct Credentials {
    pub(crate) access_key: String,
    pub(crate) secret: SecretKey,
}

/// The credentials to sign with.
pub(crate) fn load(args: &CredentialArgs) -> Result<Credentials, CliError> {
    let (access_key, secret) = match &args.credentials {
        Some(path) => {
            let (access_key, secret) = read_file(path)?;
            let secret = secret.ok_or_else(|| missing(&format!("{} has no secret_key", path.display())))?;
            (args.access_key.clone().or(access_key), Some(secret))
        }
        None => (args.access_key.clone().or_else(|| env(ACCESS_KEY_ENV)), env(SECRET_KEY_ENV).map(SecretKey::new)),
    };
    match (access_key, secret) {
        (Some(access_key), Some(secret)) => Ok(Credentials { access_key, secret }),
        (None, _) => {
            Err(missing(&format!("no access key: set {ACCESS_KEY_ENV}, or pass --credentials FILE or --access-key")))
        }
        (Some(_), None) => Err(missing(&format!("no secret key: set {SECRET_KEY_ENV} or pass --credentials FILE"))),
    }
}

fn missing(what: &str) -> CliError {
    CliError::usage(
        ErrorKind::InvalidConfig,
        format!("{what} (see `apig sign --help`: credentials come from the environment or a file, never from argv)"),
    )
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[derive(Deserialize)]
struct JsonCredentials {
    access_key: Option<String>,
    secret_key: Option<Zeroizing<String>>,
}

/// Reads a credentials file: JSON `{"access_key": …, "secret_key": …}` or `key=value` lines.
fn read_file(path: &Path) -> Result<(Option<String>, Option<SecretKey>), CliError> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
        CliError::usage(ErrorKind::InvalidConfig, format!("cannot read credentials file {}: {e}", path.display()))
    })?);
    parse(&text)
        .map_err(|why| CliError::usage(ErrorKind::InvalidConfig, format!("credentials file {}: {why}", path.display())))
}

/// Parses the text of a credentials file.
fn parse(text: &str) -> Result<(Option<String>, Option<SecretKey>), String> {
    if text.trim_start().starts_with('{') {
        // only the position: serde_json's messages may quote the offending value, i.e. the secret
        let parsed: JsonCredentials = serde_json::from_str(text).map_err(|e| {
            format!(
                "expected JSON {{\"access_key\": \"…\", \"secret_key\": \"…\"}} (error at line {} column {})",
                e.line(),
                e.column()
            )
        })?;
        return Ok((parsed.access_key, parsed.secret_key.map(|s| SecretKey::new(s.as_str()))));
    }
    let (mut access_key, mut secret) = (None, None);
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("line {}: expected key=value", number + 1));
        };
        let value = unquote(value.trim());
        match key.trim() {
            "access_key" | "APIG_ACCESS_KEY" => access_key = Some(value.to_owned()),
            "secret_key" | "APIG_SECRET_KEY" => secret = Some(SecretKey::new(value)),
            other => {
                return Err(format!("line {}: unknown key {other:?} (expected access_key or secret_key)", number + 1));
            }
        }
    }
    Ok((access_key, secret))
}

fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(quote).and_then(|v| v.strip_suffix(quote)) {
            return inner;
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_key_value_files() {
        let (ak, sk) = parse(r#"{"access_key": "AK1", "secret_key": "s e c"}"#).unwrap();
        assert_eq!((ak.as_deref(), sk.unwrap().expose()), (Some("AK1"), &b"s e c"[..]));
        let (ak, sk) = parse("# demo\naccess_key = AK2\n\nAPIG_SECRET_KEY=\"quoted=value\"\n").unwrap();
        assert_eq!((ak.as_deref(), sk.unwrap().expose()), (Some("AK2"), &b"quoted=value"[..]));
        assert!(parse("secret=x").unwrap_err().contains("unknown key"));
        assert!(parse("just words").unwrap_err().contains("line 1"));
        let err = parse(r#"{"access_key": "AK", "secret_key": 12345678}"#).unwrap_err();
        assert!(!err.contains("12345678"), "{err}");
    }
}
