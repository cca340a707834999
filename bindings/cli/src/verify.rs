//! `apig verify`: checks a raw HTTP request file with the core's verifier.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use apig::{
    ErrorKind, FixedClock, SecretKey, SignableBody, SignableRequest, Verifier, VerifyOptions, VerifyPolicy,
    apig_mismatch_message,
};

use crate::args::VerifyArgs;
use crate::errors::CliError;
use crate::input::{parse_date, read_stdin};
use crate::{http_message, output};

pub(crate) fn run(args: &VerifyArgs) -> Result<(), CliError> {
    let keys = read_keys(&args.keys)?;
    let bytes = match args.file.as_deref() {
        None => read_stdin("the request")?,
        Some(path) if path == Path::new("-") => read_stdin("the request")?,
        Some(path) => std::fs::read(path).map_err(|e| {
            CliError::usage(ErrorKind::InvalidRequest, format!("cannot read request file {}: {e}", path.display()))
        })?,
    };
    let raw = http_message::parse(&bytes)
        .map_err(|why| CliError::usage(ErrorKind::InvalidRequest, format!("not an HTTP request: {why}")))?;

    let options = VerifyOptions::<&str> {
        max_skew_seconds: args.max_skew.map(|secs| Duration::from_secs(secs).as_secs_f64()),
        require_host: Some(args.require_host),
        allow_unsigned_payload: Some(!args.forbid_unsigned_payload),
        ..VerifyOptions::default()
    };
    let policy = VerifyPolicy::try_from(options).map_err(|e| CliError::input(&e))?;
    let mut verifier = Verifier::new(keys).with_policy(policy);
    if let Some(now) = &args.now {
        verifier = verifier.with_clock(FixedClock(parse_date(now)?));
    }

    let headers: Vec<(&str, &str)> = raw.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let request = SignableRequest::new(&raw.method, &raw.target, &headers, SignableBody::Bytes(&raw.body));
    match verifier.verify(&request) {
        Ok(verified) => {
            let mut line = format!(
                "ok: access key {}, algorithm {}, signed headers {}, date {}",
                verified.access_key, verified.algorithm, verified.signed_headers, verified.date
            );
            if verified.unsigned_payload {
                line.push_str(" (the body is not authenticated: UNSIGNED-PAYLOAD)");
            }
            line.push('\n');
            output::stdout(line.as_bytes())
        }
        Err(error) => Err(match error.trace() {
            Some(trace) => CliError::verification(&error).with_detail(format!(
                "the verifier computed:\n{trace}\n\nas an APIG gateway would answer (input for `apig explain`):\n{}",
                apig_mismatch_message(trace)
            )),
            None => CliError::verification(&error),
        }),
    }
}

/// Reads `{"ACCESS_KEY": "SECRET_KEY", …}`.
fn read_keys(path: &Path) -> Result<HashMap<String, SecretKey>, CliError> {
    let bad = |why: String| CliError::usage(ErrorKind::InvalidConfig, format!("keys file {}: {why}", path.display()));
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read it: {e}")))?);
    let keys: HashMap<String, zeroize::Zeroizing<String>> = serde_json::from_str(&text).map_err(|e| {
        // only the position: the message may quote a secret
        bad(format!(
            "expected a JSON object {{\"ACCESS_KEY\": \"SECRET_KEY\", …}} (error at line {} column {})",
            e.line(),
            e.column()
        ))
    })?;
    Ok(keys.into_iter().map(|(ak, sk)| (ak, SecretKey::new(sk.as_str()))).collect())
}
