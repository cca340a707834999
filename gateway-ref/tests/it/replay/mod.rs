//! Replays the conformance vectors through a running gateway over real sockets (the test
//! `conformance` and the example `conformance` behind `cargo xtask conformance gateway`; test
//! harness, so not part of the published crate).
//!
//! * Each **verify** vector: a gateway on `127.0.0.1:0` with the vector's key store as apps (all
//!   authorised), one catch-all API (`ANY /` prefix, app authentication, echo backend) and the
//!   test-only fixed clock set to the vector's `now`; the vector's request is sent byte for byte
//!   (headers in order, as given) with `X-Apig-Mode: debug`. Verdict: `accept` = 200 from the echo
//!   backend; `reject` = an APIG error whose `X-Apig-Error-Kind` debug header is compared with
//!   `expected_error` where the vector gives one.
//! * Each **sign** vector: the same, with the vector's expected `Authorization` added to its
//!   request (a v3 vector's with every header of `expected.headers_at_signing`: the security
//!   token, project or domain id the v3 SDK added) and the clock at its `X-Sdk-Date`; it must be
//!   accepted. This proves the gateway
//!   receives path, query, header and body bytes exactly as the signers signed them.
//!
//! The vector's configuration is compiled and swapped into the gateway, not written to a file:
//! key stores hold secrets a config file refuses (1 and 128 characters; APIG's AppSecrets have 8
//! to 64), which the verifier must handle all the same.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apig::{SdkDate, UrlParts};
use apig_conformance::client::{self, RawResponse};
use apig_conformance::{Outcome, Report, TestRequest, Vector, load_file};
use apig_gateway::access_log::LogTarget;
use apig_gateway::config::{
    Api, App, AppStatus, AuthType, Authorization, Backend, ConfigFile, Environment, GatewaySettings, Group, MatchMode,
};
use apig_gateway::routing::Runtime;
use apig_gateway::server::{ConfigSource, GatewayOptions, RunningGateway};

/// Replays every vector of `files`, printing failures; returns the report (caller prints the summary).
///
/// # Errors
/// A file that cannot be read or parsed.
pub fn run_files(files: &[PathBuf]) -> Result<Report, String> {
    let mut report = Report::default();
    for file in files {
        let vectors = load_file(file)?;
        let shown = file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
        for vector in &vectors {
            let outcome = match vector {
                Vector::Verify(v) => {
                    replay(&v.key_store, &v.now, &v.request, None, &v.expected_verdict, v.expected_error.as_deref())
                }
                Vector::Sign(v) => {
                    // a v3 vector's request is sent with every header present at signing (the
                    // caller's and those the v3 SDK added: token, project id, …)
                    let mut request = v.request.clone();
                    if let Some(at_signing) = &v.expected.headers_at_signing {
                        request.headers.clone_from(at_signing);
                    }
                    let date = request.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("x-sdk-date"));
                    match date {
                        None => Outcome::Fail("  sign vector without X-Sdk-Date".to_owned()),
                        Some((_, date)) => replay(
                            &BTreeMap::from([(v.key.clone(), v.secret.clone())]),
                            date,
                            &request,
                            Some(&v.expected.authorization),
                            "accept",
                            None,
                        ),
                    }
                }
            };
            report.record(&shown, vector.name(), outcome);
        }
    }
    Ok(report)
}

/// The gateway config for one vector.
pub fn vector_config(key_store: &BTreeMap<String, String>) -> ConfigFile {
    let apps: Vec<App> = key_store
        .iter()
        .enumerate()
        .map(|(i, (key, secret))| App {
            id: format!("app{i}"),
            name: None,
            key: key.clone(),
            secret: secret.clone(),
            status: AppStatus::Active,
            app_codes: Vec::new(),
        })
        .collect();
    let authorizations = apps
        .iter()
        .map(|a| Authorization { app: a.id.clone(), api: "all".to_owned(), environment: "RELEASE".to_owned() })
        .collect();
    ConfigFile {
        gateway: GatewaySettings::default(),
        groups: vec![Group {
            id: "vectors".to_owned(),
            name: None,
            domains: Vec::new(),
            apis: vec![Api {
                id: "all".to_owned(),
                name: None,
                method: "ANY".to_owned(),
                path: "/".to_owned(),
                match_mode: MatchMode::Prefix,
                auth: AuthType::App,
                backend: Backend {
                    url: "echo:".to_owned(),
                    timeout_ms: 5000,
                    tls: None,
                    method: None,
                    path: None,
                    parameters: Vec::new(),
                    mock: None,
                },
                policies: Vec::new(),
            }],
            ..Group::default()
        }],
        environments: vec![Environment { name: "RELEASE".to_owned(), published: vec!["all".to_owned()] }],
        apps,
        authorizations,
        policies: Vec::new(),
        upstreams: Vec::new(),
    }
}

fn replay(
    key_store: &BTreeMap<String, String>,
    now: &str,
    request: &TestRequest,
    authorization: Option<&str>,
    expected_verdict: &str,
    expected_error: Option<&str>,
) -> Outcome {
    let now = match SdkDate::parse(now) {
        Ok(d) => unix_time(d.unix_seconds()),
        Err(e) => return Outcome::Fail(format!("  bad clock {now:?}: {e}")),
    };
    let runtime = match Runtime::compile(vector_config(key_store), Path::new("<vector>")) {
        Ok(rt) => rt,
        Err(e) => return Outcome::Fail(format!("  cannot compile the gateway config: {e}")),
    };
    // started on the demo, then given the vector's configuration before any request
    let mut options = GatewayOptions::new(([127, 0, 0, 1], 0).into(), ConfigSource::Demo);
    options.fixed_clock = Some(now);
    options.access_log = LogTarget::Off;
    options.watch_interval = None;
    let gateway = match RunningGateway::start(options) {
        Ok(g) => g,
        Err(e) => return Outcome::Fail(format!("  cannot start the gateway: {e:#}")),
    };
    gateway.shared().runtime.store(Arc::new(runtime));
    let result = send(&gateway, request, authorization);
    gateway.stop();
    let response = match result {
        Ok(r) => r,
        Err(e) => return Outcome::Fail(format!("  request failed: {e}")),
    };
    judge(&response, expected_verdict, expected_error)
}

fn send(gateway: &RunningGateway, request: &TestRequest, authorization: Option<&str>) -> Result<RawResponse, String> {
    let parts = UrlParts::parse(&request.url).map_err(|e| e.to_string())?;
    let mut target = if parts.path.is_empty() { "/".to_owned() } else { parts.path.to_owned() };
    if let Some(q) = parts.query {
        target.push('?');
        target.push_str(q);
    }
    let body = request.body_bytes()?;
    let mut headers = request.header_pairs();
    let host = parts.host_header();
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host"))
        && let Some(host) = host
    {
        headers.insert(0, ("Host", host));
    }
    if let Some(a) = authorization {
        headers.push(("Authorization", a));
    }
    headers.push(("X-Apig-Mode", "debug"));
    client::request(gateway.addr(), &request.method, &target, &headers, &body).map_err(|e| e.to_string())
}

fn judge(response: &RawResponse, expected_verdict: &str, expected_error: Option<&str>) -> Outcome {
    let verdict = if response.status == 200 { "accept" } else { "reject" };
    let kind = response.header("x-apig-error-kind");
    if verdict != expected_verdict {
        return Outcome::Fail(format!(
            "  verdict: expected {expected_verdict}, got {verdict} (HTTP {}, {})",
            response.status,
            String::from_utf8_lossy(&response.body)
        ));
    }
    if verdict == "reject" {
        if response.error_code().is_none() {
            return Outcome::Fail(format!("  reject without an APIG error body: HTTP {}", response.status));
        }
        if let Some(expected) = expected_error
            && kind != Some(expected)
        {
            return Outcome::Fail(format!("  error: expected {expected}, got {kind:?} (HTTP {})", response.status));
        }
    }
    Outcome::Pass
}

fn unix_time(seconds: i64) -> SystemTime {
    match u64::try_from(seconds) {
        Ok(s) => UNIX_EPOCH + Duration::from_secs(s),
        Err(_) => UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs()),
    }
}
