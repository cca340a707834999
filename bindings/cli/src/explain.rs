//! `apig explain`: where the gateway's canonical request (echoed in an APIG.0303 message) differs
//! from the one built here, line by line, with a hint per line. The comparison is the core's
//! [`apig::explain`]; this file reads the inputs and renders the result.

use std::path::Path;
use std::time::SystemTime;

use apig::{Difference, ErrorKind, SignableRequest, Signer, canonical_request_from_apig_message, explain};
use serde::Serialize;

use crate::args::{ExplainArgs, OutputFormat};
use crate::errors::CliError;
use crate::input::{BodySource, Parsed, parse_date, read_stdin};
use crate::output;
use crate::sign::{sign, signable_body, streamed_hash};

/// The canonical request does not depend on the credentials: explain needs none and signs with this
/// placeholder (its signature is never shown).
const PLACEHOLDER_KEY: &str = "apig-explain";

pub(crate) fn run(args: &ExplainArgs) -> Result<(), CliError> {
    let spec = &args.spec;
    let (error_file, method, url) = match args.positionals.as_slice() {
        [method, url] => (None, method, url),
        [file, method, url] => (Some(Path::new(file)), method, url),
        _ => {
            return Err(CliError::usage(ErrorKind::InvalidRequest, "expected [ERROR_FILE|-] METHOD URL"));
        }
    };
    let parsed = Parsed::new(spec)?;
    let from_stdin = error_file.is_none_or(|p| p == Path::new("-"));
    if from_stdin && parsed.body == BodySource::Stdin {
        return Err(CliError::usage(
            ErrorKind::InvalidRequest,
            "stdin cannot carry both the gateway's error and the body: give the error as a file",
        ));
    }
    let text = match error_file {
        Some(path) if !from_stdin => std::fs::read(path).map_err(|e| {
            CliError::usage(ErrorKind::InvalidRequest, format!("cannot read error file {}: {e}", path.display()))
        })?,
        _ => read_stdin("the gateway's error")?,
    };
    let text = String::from_utf8_lossy(&text);
    let remote = canonical_request_from_apig_message(&text).ok_or_else(|| {
        CliError::usage(
            ErrorKind::InvalidRequest,
            "the error contains no `canonicalRequest:`: it is not an APIG signature mismatch (APIG.0303 \"verify \
             signature fail\"); other APIG.0303 messages (app not found, signature expired) say what is wrong",
        )
    })?;

    let date = match parsed.date {
        Some(date) => Some(date),
        None if parsed.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("x-sdk-date")) => None,
        None => gateway_date(&remote),
    };
    let signer = Signer::builder(PLACEHOLDER_KEY, PLACEHOLDER_KEY)
        .settings(parsed.settings.clone())
        .build()
        .map_err(|e| CliError::input(&e))?;
    let hash = if spec.unsigned_payload { None } else { streamed_hash(parsed.settings.algorithm, &parsed.body)? };
    let headers = parsed.header_refs();
    let body = signable_body(spec.unsigned_payload, &parsed.body, hash.as_deref());
    let local = sign(&signer, &SignableRequest::new(method, url, &headers, body), date)?;
    let differences = explain(&local.trace.canonical_request, &remote);

    let out = match args.output {
        OutputFormat::Text => render(&differences),
        OutputFormat::Json => {
            let json = ExplainJson {
                identical: differences.is_empty(),
                differences: differences.iter().map(DifferenceJson::from).collect(),
                local_canonical_request: &local.trace.canonical_request,
                remote_canonical_request: &remote,
            };
            output::json(&json)? + "\n"
        }
    };
    output::stdout(out.as_bytes())
}

/// The `X-Sdk-Date` the gateway saw (its canonical request's `x-sdk-date` line), as a time.
fn gateway_date(remote: &str) -> Option<SystemTime> {
    remote.lines().find_map(|line| line.strip_prefix("x-sdk-date:")).and_then(|d| parse_date(d).ok())
}

/// The differences as text, one block per line, for people.
pub(crate) fn render(differences: &[Difference]) -> String {
    if differences.is_empty() {
        return "The canonical requests are identical: the gateway hashed the same request.\n\
                The signature differs for another reason: a wrong secret key, another algorithm, or another \
                access key.\n"
            .to_owned();
    }
    let lines = if differences.len() == 1 { "line" } else { "lines" };
    let mut out =
        format!("The gateway's canonical request differs from the local one in {} {lines}:\n", differences.len());
    let absent = "(absent)";
    for d in differences {
        out.push_str(&format!(
            "\n  {}\n    local:   {}\n    gateway: {}\n    hint:    {}\n",
            d.kind,
            d.local.as_deref().unwrap_or(absent),
            d.remote.as_deref().unwrap_or(absent),
            d.hint
        ));
    }
    out
}

#[derive(Serialize)]
struct ExplainJson<'a> {
    identical: bool,
    differences: Vec<DifferenceJson<'a>>,
    local_canonical_request: &'a str,
    remote_canonical_request: &'a str,
}

#[derive(Serialize)]
struct DifferenceJson<'a> {
    line: &'static str,
    header: Option<&'a str>,
    local: Option<&'a str>,
    remote: Option<&'a str>,
    hint: &'static str,
}

impl<'a> From<&'a Difference> for DifferenceJson<'a> {
    fn from(d: &'a Difference) -> Self {
        Self {
            line: d.kind.as_str(),
            header: d.kind.header_name(),
            local: d.local.as_deref(),
            remote: d.remote.as_deref(),
            hint: d.hint,
        }
    }
}
