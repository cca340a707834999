//! The Rust conformance runner: `cargo xtask conformance rust [FILE...]`.
//!
//! Walks every vector of the given files (default: every `*.json` in `conformance/`) through the
//! public API of the `apig` crate, prints each failure with a diff and ends with
//! `N passed, M failed`; exits 1 on any failure, 2 when a file cannot be read.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use apig::{Algorithm, SdkDate, SignableBody, SignableRequest, Signer, Verifier};
use apig_conformance::report::compare;
use apig_conformance::{Outcome, Report, SignVector, Vector, VerifyVector, default_vector_files, load_file};

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let files = if args.is_empty() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        match default_vector_files(dir) {
            Ok(files) => files,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        }
    } else {
        args
    };
    let mut report = Report::default();
    for file in &files {
        let vectors = match load_file(file) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        };
        let shown = file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
        for vector in &vectors {
            let outcome = match vector {
                Vector::Sign(v) => run_sign(v),
                Vector::Verify(v) => run_verify(v),
            };
            report.record(&shown, vector.name(), outcome);
        }
    }
    println!("{}", report.summary());
    if report.failed() == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn run_sign(v: &SignVector) -> Outcome {
    let result = (|| {
        let algorithm: Algorithm = v.algorithm.as_deref().unwrap_or("SDK-HMAC-SHA256").parse()?;
        let mut builder = Signer::builder(v.key.as_str(), v.secret.as_str()).algorithm(algorithm);
        if let Some(region) = &v.region_id {
            builder = builder.region(region.as_str());
        }
        if let Some(service) = &v.service {
            builder = builder.service(service.as_str());
        }
        builder = builder.profile(v.profile().parse()?);
        if let Some(token) = &v.security_token {
            builder = builder.security_token(token.as_str());
        }
        if let Some(project_id) = v.signer_project_id() {
            builder = builder.project_id(project_id);
        }
        if let Some(domain_id) = v.signer_domain_id() {
            builder = builder.domain_id(domain_id);
        }
        let signer = builder.build()?;
        let body = v.request.body_bytes().map_err(|e| apig::Error::new(apig::ErrorKind::InvalidRequest, e))?;
        let headers = v.request.header_pairs();
        signer.sign(&SignableRequest::new(&v.request.method, &v.request.url, &headers, SignableBody::Bytes(&body)))
    })();
    match result {
        Err(e) => Outcome::Fail(format!("  signing failed: {e}")),
        Ok(out) => {
            let mut diff = String::new();
            compare("canonical_request", &v.expected.canonical_request, &out.trace.canonical_request, &mut diff);
            compare("string_to_sign", &v.expected.string_to_sign, &out.trace.string_to_sign, &mut diff);
            compare("signature", &v.expected.signature, &out.signature, &mut diff);
            compare("authorization", &v.expected.authorization, &out.authorization, &mut diff);
            if let Some(signed) = &v.expected.signed_headers {
                compare("signed_headers", signed, &out.signed_headers, &mut diff);
            }
            match v.expected.added_headers() {
                Err(e) => diff.push_str(&format!("  bad vector: {e}\n")),
                Ok(None) => {}
                Ok(Some(expected)) => {
                    let show = |h: &mut dyn Iterator<Item = (&str, &str)>| {
                        h.map(|(n, v)| format!("{n}: {v}\n")).collect::<String>()
                    };
                    let added = show(&mut out.headers().filter(|(n, _)| *n != "Authorization"));
                    let expected = show(&mut expected.iter().map(|(n, v)| (n.as_str(), v.as_str())));
                    compare("headers_added", &expected, &added, &mut diff);
                }
            }
            if let Some(target) = &v.expected.wire_target {
                // the signer never rewrites the URL: the target sent is the request's own
                let sent = apig::UrlParts::parse(&v.request.url)
                    .map(|u| u.query.map_or_else(|| u.path.to_owned(), |q| format!("{}?{q}", u.path)))
                    .unwrap_or_default();
                compare("wire_target", target, &sent, &mut diff);
            }
            if diff.is_empty() { Outcome::Pass } else { Outcome::Fail(diff) }
        }
    }
}

fn run_verify(v: &VerifyVector) -> Outcome {
    let now = match SdkDate::parse(&v.now) {
        Ok(d) => d.to_system_time(),
        Err(e) => return Outcome::Fail(format!("  bad `now`: {e}")),
    };
    let body = match v.request.body_bytes() {
        Ok(b) => b,
        Err(e) => return Outcome::Fail(format!("  {e}")),
    };
    let keys: HashMap<String, String> = v.key_store.clone().into_iter().collect();
    let verifier = Verifier::new(keys);
    let headers = v.request.header_pairs();
    let result = verifier
        .verify_at(&SignableRequest::new(&v.request.method, &v.request.url, &headers, SignableBody::Bytes(&body)), now);
    let (verdict, code) = match &result {
        Ok(_) => ("accept", None),
        Err(e) => ("reject", Some(e.code())),
    };
    if verdict != v.expected_verdict {
        return Outcome::Fail(format!(
            "  verdict: expected {}, got {verdict}{}",
            v.expected_verdict,
            result.err().map(|e| format!(" ({e})")).unwrap_or_default()
        ));
    }
    match (&v.expected_error, code) {
        (Some(expected), Some(actual)) if expected != actual => {
            Outcome::Fail(format!("  error code: expected {expected}, got {actual}"))
        }
        _ => Outcome::Pass,
    }
}
