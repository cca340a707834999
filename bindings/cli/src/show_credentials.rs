//! `apig credentials`: which provider answers, the access key, the expiry and whether a security
//! token is present. Never the secret or the token.

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::args::{CredentialsCommandArgs, OutputFormat};
use crate::credentials;
use crate::errors::CliError;
use crate::output;

/// The `--output json` object (documented in docs/cli.md).
#[derive(Serialize)]
struct CredentialsJson<'a> {
    provider: &'a str,
    source: &'a str,
    access_key: &'a str,
    /// RFC 3339, or null for permanent credentials.
    expires_at: Option<String>,
    /// Whether a security token is present (never its value).
    security_token: bool,
}

pub(crate) fn run(args: &CredentialsCommandArgs) -> Result<(), CliError> {
    let loaded = credentials::load(&args.credentials)?;
    let expires_at = loaded.expires_at.and_then(|at| OffsetDateTime::from(at).format(&Rfc3339).ok());
    let json = CredentialsJson {
        provider: loaded.provider,
        source: &loaded.source,
        access_key: &loaded.access_key,
        expires_at,
        security_token: loaded.security_token.is_some(),
    };
    let out = match args.output {
        OutputFormat::Json => format!("{}\n", output::json(&json)?),
        OutputFormat::Text => format!(
            "provider: {}\nsource: {}\naccess_key: {}\nexpires_at: {}\nsecurity_token: {}\n",
            json.provider,
            json.source,
            json.access_key,
            json.expires_at.as_deref().unwrap_or("never"),
            if json.security_token { "present" } else { "absent" },
        ),
    };
    output::stdout(out.as_bytes())
}
