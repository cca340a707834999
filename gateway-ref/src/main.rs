//! `apig-gateway`: command-line arguments only; everything else is in the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

use apig_gateway::access_log::LogTarget;
use apig_gateway::config::{CertificateFiles, ConfigFile};
use apig_gateway::openapi;
use apig_gateway::routing::Runtime;
use apig_gateway::server::{AdminOptions, ConfigSource, Gateway, GatewayOptions};
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// mimalloc instead of the system allocator: a request makes a few dozen small, short-lived
/// allocations (headers, URLs, records), which glibc's malloc serves several times slower.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A reference API gateway for Huawei Cloud APIG app authentication.
///
/// With no arguments it runs the embedded demo on 127.0.0.1:8080: `GET|POST /demo/echo`, app key
/// `demo-access-key`, secret `demo-secret-key`.
#[derive(Debug, Parser)]
#[command(name = "apig-gateway", version)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Address of the API listener.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Configuration file (.json, .toml, .yaml or .yml); default: the embedded demo.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address of the TLS listener (HTTP/2 or HTTP/1.1 by ALPN): certificates by SNI from the
    /// config; the demo generates a self-signed one and prints its fingerprint.
    #[arg(long, value_name = "ADDR")]
    listen_tls: Option<SocketAddr>,
    /// Also accept HTTP/2 without TLS (h2c, prior knowledge) on --listen.
    #[arg(long)]
    h2c: bool,
    /// Address of the admin API (loopback only unless --admin-allow; needs --config and a token).
    #[arg(long)]
    admin_listen: Option<SocketAddr>,
    /// Client network (CIDR, e.g. 10.0.0.0/8, or one address) the admin API answers; repeatable.
    /// With it the admin API may listen beyond loopback; any other client gets 403.
    #[arg(long, value_name = "CIDR")]
    admin_allow: Vec<String>,
    /// Certificate chain (PEM) of the admin API: it then speaks HTTPS only (with --admin-tls-key).
    #[arg(long, value_name = "FILE", requires = "admin_tls_key")]
    admin_tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --admin-tls-cert.
    #[arg(long, value_name = "FILE", requires = "admin_tls_cert")]
    admin_tls_key: Option<PathBuf>,
    /// Bearer token of the admin API (at least 16 characters). On the command line it is visible
    /// in the process list: prefer --admin-token-file or the environment variable.
    #[arg(long, env = "APIG_GATEWAY_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// File holding the admin bearer token (its first line); takes precedence over
    /// APIG_GATEWAY_ADMIN_TOKEN.
    #[arg(long, value_name = "FILE")]
    admin_token_file: Option<PathBuf>,
    /// Whether --admin-token was given on the command line (not by the environment).
    #[arg(skip)]
    admin_token_on_command_line: bool,
    /// Address of the status listener: `GET /metrics` (Prometheus), `/healthz`, `/readyz`. Any
    /// address (it exposes no secret and no admin action); off when not given.
    #[arg(long, value_name = "ADDR")]
    status_listen: Option<SocketAddr>,
    /// Access log: `stdout`, `off`, or a file to append to.
    #[arg(long, default_value = "stdout")]
    access_log: LogTarget,
    /// How often the config file is checked for changes, in milliseconds (0: only on SIGHUP).
    #[arg(long, default_value_t = 1000)]
    watch_interval_ms: u64,
    /// Worker threads (default: one per CPU).
    #[arg(long)]
    workers: Option<usize>,
    /// TEST ONLY: verify signatures as at this instant (yyyyMMddTHHmmssZ) instead of the system
    /// clock. Used by the conformance replay; never in production.
    #[arg(long, value_name = "DATE")]
    fixed_clock: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Checks a configuration file and exits (0 when valid).
    Check {
        /// The file.
        config: PathBuf,
    },
    /// Imports an APIG export file (Swagger 2.0 / OpenAPI 3.0 with x-apigateway-*, JSON or YAML)
    /// into a configuration (see docs/openapi.md). Refused (exit status 1, nothing written) when
    /// the file is invalid or, unless --lenient, uses a feature the gateway cannot honour.
    Import {
        /// The file to import.
        file: PathBuf,
        /// The group id (default: the file's info.title).
        #[arg(long)]
        group: Option<String>,
        /// merge: imported APIs replace those of the same id, others stay; replace: the group's
        /// APIs are exactly the imported ones.
        #[arg(long, default_value = "merge")]
        mode: openapi::import::Mode,
        /// Skip the APIs with unsupported features (listed as warnings) instead of refusing.
        #[arg(long)]
        lenient: bool,
        /// Configuration to import into, written back in its own format (.json, .toml, .yaml,
        /// .yml; created when absent). Without it, the imported configuration goes to stdout as
        /// JSON.
        #[arg(long, value_name = "CONFIG")]
        out: Option<PathBuf>,
        /// Environment the imported APIs are published to.
        #[arg(long, default_value = "RELEASE", conflicts_with = "no_publish")]
        environment: String,
        /// Publish the imported APIs nowhere.
        #[arg(long)]
        no_publish: bool,
        /// The URL an HTTP-VPC channel stands for: NAME=http://host:port[/base] (repeatable).
        #[arg(long = "vpc-channel", value_name = "NAME=URL")]
        vpc_channels: Vec<String>,
        /// Bind the group to the file's host (Swagger) or first server's host (OpenAPI 3.0).
        #[arg(long)]
        bind_host: bool,
    },
    /// Exports a group of a configuration as an APIG import file, to stdout.
    Export {
        /// The configuration file.
        config: PathBuf,
        /// The group (default: the only one).
        #[arg(long)]
        group: Option<String>,
        /// swagger2 (default) or oas3.
        #[arg(long, default_value = "swagger2")]
        format: openapi::export::Version,
        /// YAML output.
        #[arg(long, conflicts_with = "json")]
        yaml: bool,
        /// JSON output (default).
        #[arg(long)]
        json: bool,
    },
    /// Runs only the built-in echo backend (for benchmarks).
    EchoServer {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:9000")]
        listen: SocketAddr,
    },
}

fn main() -> ExitCode {
    let matches = Args::command().get_matches();
    let mut args = match Args::from_arg_matches(&matches) {
        Ok(args) => args,
        Err(e) => e.exit(),
    };
    args.admin_token_on_command_line = matches.value_source("admin_token") == Some(ValueSource::CommandLine);
    if args.admin_token_on_command_line {
        eprintln!(
            "apig-gateway: warning: --admin-token on the command line is visible to every user in the process list; \
             use --admin-token-file FILE or APIG_GATEWAY_ADMIN_TOKEN"
        );
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("apig-gateway: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("apig-gateway: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Some(Command::Check { config }) => {
            Runtime::compile(ConfigFile::load(&config)?, &config)?;
            println!("{}: valid", config.display());
            return Ok(());
        }
        Some(Command::Import { file, group, mode, lenient, out, environment, no_publish, vpc_channels, bind_host }) => {
            let mut channels = std::collections::BTreeMap::new();
            for c in vpc_channels {
                let (name, url) = c
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("--vpc-channel {c:?}: give NAME=http://host:port[/base]"))?;
                channels.insert(name.to_owned(), url.to_owned());
            }
            let options = openapi::import::ImportOptions {
                group,
                mode,
                lenient,
                environment: (!no_publish).then_some(environment),
                vpc_channels: channels,
                bind_host,
            };
            return import(&file, out.as_deref(), &options);
        }
        Some(Command::Export { config, group, format, yaml, json: _ }) => {
            let source = ConfigFile::load(&config)?;
            let syntax = if yaml { openapi::Syntax::Yaml } else { openapi::Syntax::Json };
            let options = openapi::export::ExportOptions { group, version: format, syntax, info_version: None };
            let exported =
                openapi::export::export(&source, &options).map_err(|e| anyhow::anyhow!("{}: {e}", config.display()))?;
            for w in &exported.warnings {
                eprintln!("apig-gateway: warning: {w}");
            }
            return to_stdout(&exported.text);
        }
        Some(Command::EchoServer { listen }) => {
            let listener = tokio::net::TcpListener::bind(listen).await?;
            eprintln!("apig-gateway echo-server listening on http://{}", listener.local_addr()?);
            apig_gateway::echo::serve(listener).await;
            return Ok(());
        }
        None => {}
    }
    let demo = args.config.is_none();
    let mut options = GatewayOptions::new(args.listen, args.config.map_or(ConfigSource::Demo, ConfigSource::File));
    options.access_log = args.access_log;
    options.status = args.status_listen;
    options.listen_tls = args.listen_tls;
    options.h2c = args.h2c;
    options.admin_allow = args.admin_allow.iter().map(|c| parse_cidr(c)).collect::<anyhow::Result<_>>()?;
    if let (Some(cert), Some(key)) = (args.admin_tls_cert, args.admin_tls_key) {
        options.admin_tls = Some(CertificateFiles { cert, key });
    }
    // at least one worker thread: `--workers 1` is one single-threaded runtime, as documented
    options.workers =
        args.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)).max(1);
    options.watch_interval = (args.watch_interval_ms > 0).then(|| Duration::from_millis(args.watch_interval_ms));
    if let Some(date) = &args.fixed_clock {
        let d = apig::SdkDate::parse(date)?;
        let secs = u64::try_from(d.unix_seconds()).map_err(|_| anyhow::anyhow!("--fixed-clock before 1970"))?;
        options.fixed_clock = Some(UNIX_EPOCH + Duration::from_secs(secs));
    }
    if let Some(listen) = args.admin_listen {
        let token = match &args.admin_token_file {
            Some(_) if args.admin_token_on_command_line => {
                anyhow::bail!("give --admin-token-file or --admin-token, not both")
            }
            Some(file) => token_from_file(file)?,
            None => args.admin_token.ok_or_else(|| {
                anyhow::anyhow!(
                    "--admin-listen needs --admin-token-file FILE (or APIG_GATEWAY_ADMIN_TOKEN, --admin-token)"
                )
            })?,
        };
        options.admin = Some(AdminOptions { listen, token });
    }
    let fixed = options.fixed_clock.is_some();
    let admin_scheme = if options.admin_tls.is_some() { "https" } else { "http" };
    let gateway = Gateway::bind(options).await?;
    let addr = gateway.local_addr()?;
    // listening for SIGUSR1 before the banner says we are up (its default action ends the process)
    #[cfg(unix)]
    {
        let usr1 = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())?;
        tokio::spawn(reopen_access_log_on_sigusr1(usr1, std::sync::Arc::clone(gateway.shared())));
    }
    let tls = gateway
        .tls_addr()
        .map(|a| (a, gateway.self_signed().map(|s| (s.fingerprint.as_str(), s.public_key_pin.as_str()))));
    banner(addr, tls, gateway.admin_addr().map(|a| (admin_scheme, a)), gateway.status_addr(), demo, fixed);
    gateway.run(shutdown_signal()).await
}

/// `apig-gateway import`: the file imported into `out` (or alone, to stdout as JSON).
fn import(
    file: &std::path::Path,
    out: Option<&std::path::Path>,
    options: &openapi::import::ImportOptions,
) -> anyhow::Result<()> {
    use apig_gateway::config::Format;
    let text = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let (target, format) = match out {
        Some(path) => {
            let format = Format::of(path)?;
            let target = if path.exists() { ConfigFile::load(path)? } else { ConfigFile::default() };
            (target, format)
        }
        None => (ConfigFile::default(), Format::Json),
    };
    let (config, report) = openapi::import::import(&text, &target, options).map_err(|e| match &e {
        openapi::import::ImportError::Invalid { position: Some(_), .. } => anyhow::anyhow!("{}:{e}", file.display()),
        _ => anyhow::anyhow!("{}: {e}", file.display()),
    })?;
    for w in &report.warnings {
        eprintln!("apig-gateway: warning: {w}");
    }
    let text = config.to_text(format).map_err(|e| anyhow::anyhow!("cannot write the configuration: {e}"))?;
    match out {
        Some(path) => {
            apig_gateway::admin::write_atomically(path, text.as_bytes())
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            eprintln!(
                "apig-gateway: imported {} API(s) into group {:?} of {}{}",
                report.apis.len(),
                report.group,
                path.display(),
                report.environment.as_deref().map(|e| format!(", published to {e}")).unwrap_or_default()
            );
        }
        None => to_stdout(&text)?,
    }
    Ok(())
}

/// Writes `text` to stdout: a closed pipe is an error to report, not a panic.
fn to_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| anyhow::anyhow!("cannot write to stdout: {e}"))
}

/// The first line of `file`, without its line end.
fn token_from_file(file: &std::path::Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("cannot read the admin token file {}: {e}", file.display()))?;
    Ok(text.lines().next().unwrap_or("").to_owned())
}

/// `10.0.0.0/8`, or one address (`10.1.2.3`, `::1`) as a network of its own.
fn parse_cidr(text: &str) -> anyhow::Result<ipnet::IpNet> {
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| anyhow::anyhow!("--admin-allow {text:?}: expected a CIDR (10.0.0.0/8, fd00::/8) or an IP address"))
}

fn banner(
    addr: SocketAddr,
    tls: Option<(SocketAddr, Option<(&str, &str)>)>,
    admin: Option<(&str, SocketAddr)>,
    status: Option<SocketAddr>,
    demo: bool,
    fixed_clock: bool,
) {
    eprintln!("apig-gateway listening on http://{addr}");
    if let Some((tls_addr, _)) = tls {
        eprintln!("TLS (HTTP/2, HTTP/1.1) on https://{tls_addr}");
    }
    if let Some((_, Some((fingerprint, _)))) = tls {
        eprintln!("self-signed certificate for localhost and 127.0.0.1, generated now; SHA-256 fingerprint:");
        eprintln!("  {fingerprint}");
    }
    if let Some((scheme, admin)) = admin {
        eprintln!("admin API on {scheme}://{admin}");
        eprintln!("console on {scheme}://{admin}/console (sign in with the admin token)");
    }
    if let Some(status) = status {
        eprintln!("status on http://{status}: /metrics (Prometheus), /healthz, /readyz");
    }
    if fixed_clock {
        eprintln!("WARNING: --fixed-clock is set: signatures are checked against a fixed time (test only)");
    }
    if demo {
        eprintln!(
            "demo configuration: GET|POST /demo/echo (echo backend), app key demo-access-key, secret demo-secret-key"
        );
        eprintln!("try:");
        let keys = "APIG_ACCESS_KEY=demo-access-key APIG_SECRET_KEY=demo-secret-key";
        let request = format!("request GET 'http://{addr}/demo/echo?hello=world'");
        if on_path("apig") {
            eprintln!("  {keys} apig {request}");
        } else {
            // no `apig` to run: the form that works from a checkout of this repository
            eprintln!("  {keys} cargo run -q --release -p apig-cli -- {request}");
            eprintln!("(in the apig repository; `cargo install --path bindings/cli` puts `apig` on PATH)");
        }
        if let Some((tls_addr, Some((_, pin)))) = tls {
            // -k skips the CA check a self-signed certificate cannot pass; the pin still checks the key
            eprintln!(
                "over TLS and HTTP/2 (unsigned, so APIG.0303 401; the pin checks the generated key, -k only the CA):"
            );
            eprintln!(
                "  curl --http2 -k --pinnedpubkey 'sha256//{pin}' -i https://localhost:{}/demo/echo",
                tls_addr.port()
            );
        }
    }
}

/// Whether an executable file `name` is in a `PATH` directory (for the banner's command).
fn on_path(name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(name)).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// `SIGUSR1` opens the access-log file again (logrotate's `postrotate`: docs/gateway.md,
/// "Running it in production"); a file that cannot be opened is reported and the old one kept.
#[cfg(unix)]
async fn reopen_access_log_on_sigusr1(
    mut usr1: tokio::signal::unix::Signal,
    shared: std::sync::Arc<apig_gateway::shared::Shared>,
) {
    while usr1.recv().await.is_some() {
        match shared.log.reopen() {
            Ok(()) => eprintln!("apig-gateway: SIGUSR1: access log reopened"),
            Err(e) => {
                eprintln!("apig-gateway: SIGUSR1: cannot reopen the access log (still writing the old file): {e}")
            }
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    eprintln!("apig-gateway: shutting down");
}
