//! `apig sign`: the headers that sign a request, and (for `request` and `explain`) signing itself.

use std::time::SystemTime;

use apig::{Algorithm, SignableBody, SignableRequest, Signer, SigningOutput, SigningSettings, hash_reader};
use serde::Serialize;

use crate::args::{OutputFormat, SignArgs};
use crate::credentials;
use crate::errors::CliError;
use crate::input::{BodySource, Parsed};
use crate::output;

/// A signer with the settings parsed from the command line ([`Parsed::settings`]) and, for
/// temporary credentials, their security token; the provider's project and domain ids unless the
/// command line gave its own (`--project-id`, `--domain-id`).
pub(crate) fn signer(settings: &SigningSettings, credentials: credentials::Credentials) -> Result<Signer, CliError> {
    let mut builder = Signer::builder(credentials.access_key, credentials.secret).settings(settings.clone());
    if let Some(token) = credentials.security_token {
        builder = builder.security_token(token);
    }
    if let Some(id) = credentials.project_id.filter(|_| settings.project_id.is_none()) {
        builder = builder.project_id(id);
    }
    if let Some(id) = credentials.domain_id.filter(|_| settings.domain_id.is_none()) {
        builder = builder.domain_id(id);
    }
    builder.build().map_err(|e| CliError::input(&e))
}

/// Signs, at `date` when given (an `X-Sdk-Date` header still wins), else now.
pub(crate) fn sign(
    signer: &Signer,
    request: &SignableRequest<'_>,
    date: Option<SystemTime>,
) -> Result<SigningOutput, CliError> {
    match date {
        Some(time) => signer.sign_at(request, time),
        None => signer.sign(request),
    }
    .map_err(|e| CliError::input(&e))
}

/// The hash of a file or stdin body, streamed in constant memory.
pub(crate) fn streamed_hash(algorithm: Algorithm, body: &BodySource) -> Result<Option<String>, CliError> {
    let hash = match body {
        BodySource::File(path) => hash_reader(algorithm, BodySource::open(path)?),
        BodySource::Stdin => hash_reader(algorithm, std::io::stdin().lock()),
        BodySource::Empty | BodySource::Literal(_) => return Ok(None),
    };
    hash.map(Some).map_err(|e| CliError::input(&e))
}

/// How the body enters the signature: literal bytes, a streamed hash, or `UNSIGNED-PAYLOAD`.
pub(crate) fn signable_body<'a>(unsigned: bool, body: &'a BodySource, hash: Option<&'a str>) -> SignableBody<'a> {
    match (unsigned, body, hash) {
        (true, _, _) => SignableBody::Unsigned,
        (false, _, Some(hash)) => SignableBody::Precomputed(hash),
        (false, BodySource::Literal(bytes), None) => SignableBody::Bytes(bytes),
        (false, _, None) => SignableBody::Bytes(b""),
    }
}

/// The `--output json` object of `apig sign` (documented in docs/cli.md; other tools parse it).
#[derive(Serialize)]
struct SignJson<'a> {
    headers: Vec<[&'a str; 2]>,
    authorization: &'a str,
    signature: &'a str,
    signed_headers: &'a str,
    date: &'a str,
    credential_scope: Option<&'a str>,
    canonical_request: &'a str,
    string_to_sign: &'a str,
}

pub(crate) fn run(args: &SignArgs) -> Result<(), CliError> {
    let spec = &args.spec;
    let parsed = Parsed::new(spec)?;
    let credentials = credentials::load(&args.credentials)?;
    let signer = signer(&parsed.settings, credentials)?;
    let hash = if spec.unsigned_payload { None } else { streamed_hash(parsed.settings.algorithm, &parsed.body)? };
    let headers = parsed.header_refs();
    let body = signable_body(spec.unsigned_payload, &parsed.body, hash.as_deref());
    let signed = sign(&signer, &SignableRequest::new(&args.method, &args.url, &headers, body), parsed.date)?;

    let mut out = String::new();
    match args.output {
        OutputFormat::Json => {
            let json = SignJson {
                headers: signed.headers().map(|(n, v)| [n, v]).collect(),
                authorization: &signed.authorization,
                signature: &signed.signature,
                signed_headers: &signed.signed_headers,
                date: &signed.date,
                credential_scope: signed.credential_scope.as_deref(),
                canonical_request: &signed.trace.canonical_request,
                string_to_sign: &signed.trace.string_to_sign,
            };
            out.push_str(&output::json(&json)?);
            out.push('\n');
        }
        OutputFormat::Text => {
            for (name, value) in signed.headers() {
                out.push_str(&format!("{name}: {value}\n"));
            }
            if args.verbose {
                out.push_str(&format!("\n{}\n", signed.trace));
            }
        }
    }
    output::stdout(out.as_bytes())
}
