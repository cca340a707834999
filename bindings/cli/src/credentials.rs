//! Where the access key and secret come from: `--credentials FILE`, `--profile NAME` (a section of
//! Huawei Cloud's credentials file), else `APIG_ACCESS_KEY` / `APIG_SECRET_KEY` (`--access-key`
//! overrides the access key), else the providers of `apig-credentials` (`HUAWEICLOUD_SDK_*`
//! variables, the credentials file's `[basic]` profile; the ECS metadata service when asked with
//! `--credentials-source metadata|chain`). The secret never comes from argv. The security token of
//! temporary credentials: `--security-token` wins over every source. A provider's project and
//! domain ids are signed unless `--project-id` / `--domain-id` give others.

use std::path::Path;
use std::time::SystemTime;

use apig::{ErrorKind, SecretKey, SecurityToken};
use apig_credentials::{
    AK_VAR, Answered, ChainProvider, CredentialsError, CredentialsErrorKind, EnvironmentProvider, MetadataProvider,
    MetadataSettings, ProfileProvider, ProvideCredentials, SK_VAR,
};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::args::{CredentialArgs, CredentialsSource};
use crate::errors::{CliError, EXIT_FAILURE, EXIT_USAGE};

/// The environment variable holding the access key.
pub(crate) const ACCESS_KEY_ENV: &str = "APIG_ACCESS_KEY";
/// The environment variable holding the secret key.
pub(crate) const SECRET_KEY_ENV: &str = "APIG_SECRET_KEY";
/// The environment variable holding the security token of temporary credentials.
pub(crate) const SECURITY_TOKEN_ENV: &str = "APIG_SECURITY_TOKEN";

/// An access key, its secret, (temporary credentials) the security token and expiry, and the
/// provider that gave them.
pub(crate) struct Credentials {
    pub(crate) access_key: String,
    pub(crate) secret: SecretKey,
    pub(crate) security_token: Option<SecurityToken>,
    pub(crate) expires_at: Option<SystemTime>,
    /// `explicit` (--credentials, --access-key, APIG_*), or the `apig-credentials` provider's name.
    pub(crate) provider: &'static str,
    /// What the provider read (a file, variables, a URL).
    pub(crate) source: String,
    /// The provider's project id (a profile's `project_id`, `HUAWEICLOUD_SDK_PROJECT_ID`).
    pub(crate) project_id: Option<String>,
    /// The provider's domain id (a profile's `domain_id`, `HUAWEICLOUD_SDK_DOMAIN_ID`).
    pub(crate) domain_id: Option<String>,
}

/// What a credentials file holds.
type FileCredentials = (Option<String>, Option<SecretKey>, Option<SecurityToken>);

/// The credentials to sign with: `--credentials FILE`, `--profile NAME`, `APIG_*` or `--access-key`,
/// then Huawei Cloud's providers (`--credentials-source`). `--security-token` overrides the token.
pub(crate) fn load(args: &CredentialArgs) -> Result<Credentials, CliError> {
    let mut credentials = resolve(args)?;
    if let Some(token) = &args.security_token {
        credentials.security_token = Some(SecurityToken::new(token.as_str()));
    }
    Ok(credentials)
}

fn resolve(args: &CredentialArgs) -> Result<Credentials, CliError> {
    let profile = || {
        let section = args.profile.as_deref().unwrap_or(apig_credentials::BASIC);
        let provider = ProfileProvider::from_file(ProfileProvider::new().path(), section);
        let source = format!("{} [{section}]", provider.path().display());
        (provider, source)
    };
    let metadata = || {
        let mut settings = MetadataSettings::default();
        if let Some(endpoint) = &args.metadata_endpoint {
            settings.endpoint.clone_from(endpoint);
        }
        let source = settings.endpoint.clone();
        (MetadataProvider::with_settings(settings), source)
    };
    let env_source = format!("{AK_VAR}, {SK_VAR}");
    let chain: Vec<(Box<dyn ProvideCredentials>, String)> = match args.credentials_source {
        CredentialsSource::Auto => {
            let explicit = args.credentials.is_some()
                || (args.profile.is_none()
                    && (args.access_key.is_some() || env(ACCESS_KEY_ENV).is_some() || env(SECRET_KEY_ENV).is_some()));
            if explicit {
                return explicit_credentials(args);
            }
            let (profile, profile_source) = profile();
            if args.profile.is_some() {
                vec![(Box::new(profile), profile_source)]
            } else {
                vec![(Box::new(EnvironmentProvider::new()), env_source), (Box::new(profile), profile_source)]
            }
        }
        CredentialsSource::Environment => vec![(Box::new(EnvironmentProvider::new()), env_source)],
        CredentialsSource::Profile => {
            let (provider, source) = profile();
            vec![(Box::new(provider), source)]
        }
        CredentialsSource::Metadata => {
            let (provider, source) = metadata();
            vec![(Box::new(provider), source)]
        }
        CredentialsSource::Chain => {
            let (profile, profile_source) = profile();
            let (metadata, metadata_source) = metadata();
            vec![
                (Box::new(EnvironmentProvider::new()), env_source),
                (Box::new(profile), profile_source),
                (Box::new(metadata), metadata_source),
            ]
        }
    };
    let sources: Vec<(&'static str, String)> = chain.iter().map(|(p, source)| (p.name(), source.clone())).collect();
    let single = chain.len() == 1;
    let mut providers: Vec<Box<dyn ProvideCredentials>> = chain.into_iter().map(|(provider, _)| provider).collect();
    // one provider answers with its own error (code, provider, source); several through the chain
    let answered = match providers.pop() {
        Some(provider) if single => {
            let credentials = provider.credentials().map_err(|e| provider_error(&e, true))?;
            Answered { credentials, provider: provider.name() }
        }
        last => {
            providers.extend(last);
            ChainProvider::new(providers).resolve().map_err(|e| provider_error(&e, false))?
        }
    };
    let source = sources.into_iter().find(|(name, _)| *name == answered.provider).map(|(_, s)| s).unwrap_or_default();
    let c = answered.credentials;
    Ok(Credentials {
        access_key: c.access_key,
        secret: c.secret,
        security_token: c.security_token,
        expires_at: c.expires_at,
        provider: answered.provider,
        source,
        project_id: c.project_id,
        domain_id: c.domain_id,
    })
}

/// A provider's failure: its code, provider and source; exit 1 for a service that failed
/// (unreachable, timeout, HTTP status, expired), 2 for missing or malformed input.
fn provider_error(error: &CredentialsError, single: bool) -> CliError {
    let exit = match error.kind() {
        CredentialsErrorKind::Unreachable
        | CredentialsErrorKind::Timeout
        | CredentialsErrorKind::HttpStatus
        | CredentialsErrorKind::Expired => EXIT_FAILURE,
        _ => EXIT_USAGE,
    };
    let hint = if single {
        ""
    } else {
        " (or set APIG_ACCESS_KEY and APIG_SECRET_KEY, pass --credentials FILE or --profile NAME; see `apig sign --help`)"
    };
    let message = format!("{} provider ({}): {}{hint}", error.provider(), error.source_name(), error.message());
    CliError { code: error.code(), message, exit, detail: None }
}

/// `--credentials FILE`, else `APIG_ACCESS_KEY` / `APIG_SECRET_KEY` / `APIG_SECURITY_TOKEN`;
/// `--access-key` overrides the access key.
fn explicit_credentials(args: &CredentialArgs) -> Result<Credentials, CliError> {
    let (access_key, secret, token, source) = match &args.credentials {
        Some(path) => {
            let (access_key, secret, token) = read_file(path)?;
            let secret = secret.ok_or_else(|| missing(&format!("{} has no secret_key", path.display())))?;
            (args.access_key.clone().or(access_key), Some(secret), token, path.display().to_string())
        }
        None => (
            args.access_key.clone().or_else(|| env(ACCESS_KEY_ENV)),
            env(SECRET_KEY_ENV).map(SecretKey::new),
            env(SECURITY_TOKEN_ENV).map(SecurityToken::new),
            format!("{ACCESS_KEY_ENV}, {SECRET_KEY_ENV}"),
        ),
    };
    match (access_key, secret) {
        (Some(access_key), Some(secret)) => Ok(Credentials {
            access_key,
            secret,
            security_token: token,
            expires_at: None,
            provider: "explicit",
            source,
            project_id: None,
            domain_id: None,
        }),
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
