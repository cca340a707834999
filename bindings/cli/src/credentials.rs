//! Where the access key and secret come from: `--credentials FILE`, else `APIG_ACCESS_KEY` /
//! `APIG_SECRET_KEY`; `--access-key` overrides the access key. The secret never comes from argv.
//! The security token of temporary credentials likewise: `--security-token`, else the file's
//! `security_token`, else `APIG_SECURITY_TOKEN`.

use std::path::Path;

use apig::{ErrorKind, SecretKey, SecurityToken};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::args::CredentialArgs;
use crate::errors::CliError;

/// The environment variable holding the access key.
pub(crate) const ACCESS_KEY_ENV: &str = "APIG_ACCESS_KEY";
/// The environment variable holding the secret key.
pub(crate) const SECRET_KEY_ENV: &str = "APIG_SECRET_KEY";
/// The environment variable holding the security token of temporary credentials.
pub(crate) const SECURITY_TOKEN_ENV: &str = "APIG_SECURITY_TOKEN";

/// An access key, its secret and (temporary credentials) the security token.
pub(crate) struct Credentials {
    pub(crate) access_key: String,
    pub(crate) secret: SecretKey,
    pub(crate) security_token: Option<SecurityToken>,
}

/// What a credentials file holds.
type FileCredentials = (Option<String>, Option<SecretKey>, Option<SecurityToken>);

/// The credentials to sign with.
pub(crate) fn load(args: &CredentialArgs) -> Result<Credentials, CliError> {
    let (access_key, secret, token) = match &args.credentials {
        Some(path) => {
            let (access_key, secret, token) = read_file(path)?;
            let secret = secret.ok_or_else(|| missing(&format!("{} has no secret_key", path.display())))?;
            (args.access_key.clone().or(access_key), Some(secret), token)
        }
        None => (
            args.access_key.clone().or_else(|| env(ACCESS_KEY_ENV)),
            env(SECRET_KEY_ENV).map(SecretKey::new),
            env(SECURITY_TOKEN_ENV).map(SecurityToken::new),
        ),
    };
    let security_token = args.security_token.clone().map(SecurityToken::new).or(token);
    match (access_key, secret) {
        (Some(access_key), Some(secret)) => Ok(Credentials { access_key, secret, security_token }),
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
    security_token: Option<Zeroizing<String>>,
}

/// Reads a credentials file: JSON `{"access_key": …, "secret_key": …, "security_token": …}` or
/// `key=value` lines.
fn read_file(path: &Path) -> Result<FileCredentials, CliError> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
        CliError::usage(ErrorKind::InvalidConfig, format!("cannot read credentials file {}: {e}", path.display()))
    })?);
    parse(&text)
        .map_err(|why| CliError::usage(ErrorKind::InvalidConfig, format!("credentials file {}: {why}", path.display())))
}

/// Parses the text of a credentials file.
fn parse(text: &str) -> Result<FileCredentials, String> {
    if text.trim_start().starts_with('{') {
        // only the position: serde_json's messages may quote the offending value, i.e. the secret
        let parsed: JsonCredentials = serde_json::from_str(text).map_err(|e| {
            format!(
                "expected JSON {{\"access_key\": \"…\", \"secret_key\": \"…\"}} (error at line {} column {})",
                e.line(),
                e.column()
            )
        })?;
        return Ok((
            parsed.access_key,
            parsed.secret_key.map(|s| SecretKey::new(s.as_str())),
            parsed.security_token.map(|t| SecurityToken::new(t.as_str())),
        ));
    }
    let (mut access_key, mut secret, mut token) = (None, None, None);
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
            "security_token" | "APIG_SECURITY_TOKEN" => token = Some(SecurityToken::new(value)),
            other => {
                return Err(format!(
                    "line {}: unknown key {other:?} (expected access_key, secret_key or security_token)",
                    number + 1
                ));
            }
        }
    }
    Ok((access_key, secret, token))
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
        let (ak, sk, token) = parse(r#"{"access_key": "AK1", "secret_key": "s e c"}"#).unwrap();
        assert_eq!((ak.as_deref(), sk.unwrap().expose(), token), (Some("AK1"), &b"s e c"[..], None));
        let (ak, sk, _) = parse("# demo\naccess_key = AK2\n\nAPIG_SECRET_KEY=\"quoted=value\"\n").unwrap();
        assert_eq!((ak.as_deref(), sk.unwrap().expose()), (Some("AK2"), &b"quoted=value"[..]));
        let (_, _, token) = parse(r#"{"access_key": "A", "secret_key": "S", "security_token": "t+/="}"#).unwrap();
        assert_eq!(token.unwrap().expose(), "t+/=");
        let (_, _, token) = parse("access_key=A\nsecret_key=S\nsecurity_token = 'tok=='\n").unwrap();
        assert_eq!(token.unwrap().expose(), "tok==");
        assert!(parse("secret=x").unwrap_err().contains("unknown key"));
        assert!(parse("just words").unwrap_err().contains("line 1"));
        let err = parse(r#"{"access_key": "AK", "secret_key": 12345678}"#).unwrap_err();
        assert!(!err.contains("12345678"), "{err}");
    }
}
