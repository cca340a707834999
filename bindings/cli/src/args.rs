//! The command line, declared with clap's derive API.

use std::path::PathBuf;

use apig::Algorithm;
use clap::builder::PossibleValuesParser;
use clap::{Args, Parser, Subcommand, ValueEnum};

const CREDENTIALS_HELP: &str = "\
Credentials (sign, request, credentials): the environment variables APIG_ACCESS_KEY and
APIG_SECRET_KEY, or --credentials FILE (JSON {\"access_key\": \"…\", \"secret_key\": \"…\"} or key=value
lines), or --profile NAME (a section of ~/.huaweicloud/credentials); else HUAWEICLOUD_SDK_AK and
HUAWEICLOUD_SDK_SK, then the [basic] profile; the ECS metadata service with --credentials-source
metadata|chain. `apig credentials` shows which one answers. The secret key is never taken from the
command line.

Exit status: 0 success; 1 verification failed, signature mismatch, transport failure, or an HTTP
error status with --fail; 2 usage or input error. Errors are printed as `error[<code>]: message`,
where <code> is the stable apig error code (invalid_request, signature_mismatch, …).";

/// Sign, verify, send and explain Huawei Cloud APIG App-authenticated (AK/SK) requests.
#[derive(Debug, Parser)]
#[command(name = "apig", version, after_long_help = CREDENTIALS_HELP, after_help = CREDENTIALS_HELP)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print the headers that sign a request (Host, X-Sdk-Date, Authorization).
    ///
    /// Example: apig sign GET 'https://api.example.com/v1/items?limit=10' -H 'Content-Type: application/json'
    Sign(SignArgs),
    /// Verify a raw HTTP request (request line, headers, blank line, body) with a key file.
    ///
    /// Example: apig verify request.http --keys keys.json
    Verify(VerifyArgs),
    /// Sign and send a request (curl-like) and print the response body.
    ///
    /// Example: apig request GET http://127.0.0.1:8080/demo/echo?hello=world
    Request(RequestArgs),
    /// Show which provider gives the credentials: its name, the access key, the expiry and whether a
    /// security token is present (never the secret or the token).
    ///
    /// Example: apig credentials --profile prod
    Credentials(CredentialsCommandArgs),
    /// Show line by line why the gateway rejected a signature (APIG.0303 "verify signature fail").
    ///
    /// Give the gateway's error (the JSON body or its error_msg text, from a file or stdin) and the same
    /// request arguments as for `sign`. The local canonical request is rebuilt (no credentials needed; the
    /// X-Sdk-Date the gateway saw is used unless -H 'X-Sdk-Date: …' or --date is given) and compared with
    /// the one the gateway echoed.
    ///
    /// Example: apig explain error.json POST https://api.example.com/v1/items -d @body.json
    #[command(override_usage = "apig explain [OPTIONS] [ERROR_FILE|-] <METHOD> <URL>")]
    Explain(ExplainArgs),
}

/// What to sign besides method and URL: shared by `sign`, `request` and `explain`.
#[derive(Debug, Args)]
pub(crate) struct RequestSpec {
    /// A request header, 'Name: value' (repeatable; order is kept; 'Name:' sends an empty value).
    #[arg(short = 'H', long = "header", value_name = "'NAME: VALUE'")]
    pub(crate) headers: Vec<String>,
    /// The body: DATA literally, @FILE (streamed, read as bytes), or @- for stdin. No Content-Type is
    /// added: pass one with -H.
    #[arg(short = 'd', long = "data", value_name = "DATA|@FILE|@-")]
    pub(crate) data: Option<String>,
    /// Sign UNSIGNED-PAYLOAD instead of the body hash (adds X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD).
    #[arg(long)]
    pub(crate) unsigned_payload: bool,
    /// The signing algorithm (the default and the list are the core's).
    #[arg(
        long,
        value_name = "ALGORITHM",
        default_value = Algorithm::default().as_str(),
        value_parser = PossibleValuesParser::new(Algorithm::ALL.map(Algorithm::as_str)),
    )]
    pub(crate) algorithm: String,
    /// The region of the V11 credential scope (required for V11-*).
    #[arg(long, value_name = "REGION")]
    pub(crate) region: Option<String>,
    /// The service of the V11 credential scope (default apic).
    #[arg(long, value_name = "SERVICE")]
    pub(crate) service: Option<String>,
    /// The signing time, yyyyMMddTHHmmssZ (default: now; an X-Sdk-Date header wins).
    #[arg(long, value_name = "yyyyMMddTHHmmssZ")]
    pub(crate) date: Option<String>,
    /// The client conventions: apig (default) or huaweicloud-v3 (alias v3: Huawei Cloud's v3 SDKs,
    /// e.g. UNSIGNED-PAYLOAD for a non-JSON Content-Type).
    #[arg(
        long = "signing-profile",
        value_name = "PROFILE",
        value_parser = PossibleValuesParser::new(["apig", "huaweicloud-v3", "v3"])
    )]
    pub(crate) signing_profile: Option<String>,
    /// A project id, sent and signed as X-Project-Id (Huawei Cloud regional service APIs).
    #[arg(long, value_name = "ID")]
    pub(crate) project_id: Option<String>,
    /// An account (domain) id, sent and signed as X-Domain-Id (global services: IAM, BSS, …).
    #[arg(long, value_name = "ID")]
    pub(crate) domain_id: Option<String>,
}

/// Where the credentials come from (besides APIG_ACCESS_KEY / APIG_SECRET_KEY).
#[derive(Debug, Args)]
pub(crate) struct CredentialArgs {
    /// A credentials file: JSON {"access_key": "…", "secret_key": "…"} or key=value lines
    /// (access_key=…, secret_key=…). Takes precedence over the environment.
    #[arg(long, value_name = "FILE")]
    pub(crate) credentials: Option<PathBuf>,
    /// The access key (overrides the file and APIG_ACCESS_KEY; the secret is never taken from argv).
    #[arg(long, value_name = "AK")]
    pub(crate) access_key: Option<String>,
    /// The security token of temporary credentials, sent and signed as X-Security-Token (overrides
    /// the file's security_token and APIG_SECURITY_TOKEN, which keep it out of the process list).
    #[arg(long, value_name = "TOKEN")]
    pub(crate) security_token: Option<String>,
    /// A profile (section) of the Huawei Cloud credentials file (HUAWEICLOUD_SDK_CREDENTIALS_FILE, else
    /// ~/.huaweicloud/credentials), as the v3 SDKs read it; wins over APIG_ACCESS_KEY/APIG_SECRET_KEY.
    #[arg(long, value_name = "NAME", conflicts_with = "credentials")]
    pub(crate) profile: Option<String>,
    /// Where credentials come from: auto (--credentials, --profile, APIG_* variables, then the
    /// HUAWEICLOUD_SDK_* variables and the credentials file's [basic] profile), environment
    /// (HUAWEICLOUD_SDK_*), profile, metadata (the ECS metadata service: temporary credentials), or chain
    /// (environment, profile, metadata: the v3 SDKs' order).
    #[arg(long, value_enum, value_name = "SOURCE", env = "APIG_CREDENTIALS_SOURCE", default_value_t = CredentialsSource::Auto)]
    pub(crate) credentials_source: CredentialsSource,
    /// The metadata service (default http://169.254.169.254).
    #[arg(long, value_name = "URL", env = "APIG_METADATA_ENDPOINT")]
    pub(crate) metadata_endpoint: Option<String>,
}

/// `--credentials-source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CredentialsSource {
    /// --credentials FILE, --profile NAME, APIG_ACCESS_KEY/APIG_SECRET_KEY, then environment and profile.
    Auto,
    /// HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK, HUAWEICLOUD_SDK_SECURITY_TOKEN.
    Environment,
    /// The credentials file's profile (--profile, default basic).
    Profile,
    /// The ECS metadata service (temporary credentials of the server's agency).
    Metadata,
    /// Environment, profile, then metadata (Huawei Cloud's v3 SDKs' default chain).
    Chain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// `Name: value` lines (with -v, then the canonical request and string to sign).
    Text,
    /// One JSON object: headers, authorization, signature, signed_headers, date, credential_scope,
    /// canonical_request, string_to_sign.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The HTTP method (GET, POST, …).
    #[arg(value_name = "METHOD")]
    pub(crate) method: String,
    /// The URL: scheme://host[:port]/path?query.
    #[arg(value_name = "URL")]
    pub(crate) url: String,
    #[command(flatten)]
    pub(crate) spec: RequestSpec,
    #[command(flatten)]
    pub(crate) credentials: CredentialArgs,
    /// Also print the canonical request and the string to sign.
    #[arg(short, long)]
    pub(crate) verbose: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub(crate) output: OutputFormat,
}

#[derive(Debug, Args)]
pub(crate) struct CredentialsCommandArgs {
    #[command(flatten)]
    pub(crate) credentials: CredentialArgs,
    /// Output format (json: {"provider", "source", "access_key", "expires_at", "security_token"}).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub(crate) output: OutputFormat,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The raw HTTP/1.1 request (CRLF or LF line ends); '-' or nothing reads stdin.
    #[arg(value_name = "FILE|-")]
    pub(crate) file: Option<PathBuf>,
    /// The keys the verifier knows: a JSON object {"ACCESS_KEY": "SECRET_KEY", …}.
    #[arg(long, value_name = "KEYS.json")]
    pub(crate) keys: PathBuf,
    /// The verifier's clock, yyyyMMddTHHmmssZ (default: now).
    #[arg(long, value_name = "yyyyMMddTHHmmssZ")]
    pub(crate) now: Option<String>,
    /// Largest accepted distance between X-Sdk-Date and the clock, in seconds (default 900).
    #[arg(long, value_name = "SECS")]
    pub(crate) max_skew: Option<u64>,
    /// Reject requests that do not sign the host header.
    #[arg(long)]
    pub(crate) require_host: bool,
    /// Reject requests signed with UNSIGNED-PAYLOAD (an unauthenticated body).
    #[arg(long)]
    pub(crate) forbid_unsigned_payload: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RequestArgs {
    /// The HTTP method (GET, POST, …).
    #[arg(value_name = "METHOD")]
    pub(crate) method: String,
    /// The URL: scheme://host[:port]/path?query.
    #[arg(value_name = "URL")]
    pub(crate) url: String,
    #[command(flatten)]
    pub(crate) spec: RequestSpec,
    #[command(flatten)]
    pub(crate) credentials: CredentialArgs,
    /// Also print the response status line and headers.
    #[arg(short = 'i', long)]
    pub(crate) include: bool,
    /// Print the canonical request, string to sign, request and response headers to stderr.
    #[arg(short, long)]
    pub(crate) verbose: bool,
    /// Exit with status 1 when the response status is 400 or above.
    #[arg(short = 'f', long)]
    pub(crate) fail: bool,
    /// Give up after this many seconds (connect and whole transfer); at least 1.
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = timeout_seconds)]
    pub(crate) timeout: u64,
}

/// `--timeout`: a whole number of seconds, at least 1 (0 would fail every request).
fn timeout_seconds(value: &str) -> Result<u64, String> {
    match value.parse::<u64>() {
        Ok(0) => Err("0 would time out at once: give at least 1 second".to_owned()),
        Ok(seconds) => Ok(seconds),
        Err(_) => Err(format!("{value:?} is not a whole number of seconds")),
    }
}

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// [ERROR_FILE|-] METHOD URL: the file with the gateway's error (the APIG.0303 JSON body or its
    /// error_msg text; '-' or nothing reads stdin), then the request's method and URL.
    #[arg(value_name = "ARG", num_args = 2..=3, required = true)]
    pub(crate) positionals: Vec<String>,
    #[command(flatten)]
    pub(crate) spec: RequestSpec,
    /// Output format (json: {"identical": bool, "differences": [{"line", "header", "local", "remote", "hint"}]}).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub(crate) output: OutputFormat,
}
