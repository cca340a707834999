//! `apig-rotation run`: the gateway (with its admin API), the metadata service, every client at
//! once; then the checks and the report.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::metadata::{API, Admin, Schedule, Service};
use crate::report::{ClientReport, Plan, check};

#[derive(clap::Args)]
pub(crate) struct RunArgs {
    /// The apig-gateway binary.
    #[arg(long)]
    gateway_bin: PathBuf,
    /// A folder for the gateway's config file.
    #[arg(long)]
    work_dir: PathBuf,
    /// The Python interpreter with apig-sdk and requests installed (no Python client without it).
    #[arg(long)]
    python: Option<PathBuf>,
    /// The node binary (no Node client without it); apig-sdk must resolve (NODE_PATH).
    #[arg(long)]
    node: Option<PathBuf>,
    /// How long the clients send requests.
    #[arg(long, default_value_t = 120)]
    seconds: u64,
    /// How long each key pair lives, in seconds.
    #[arg(long, default_value_t = 40.0)]
    lifetime: f64,
    /// A new key pair every this many seconds (less than the lifetime: the new one is out before
    /// the old one expires).
    #[arg(long, default_value_t = 20.0)]
    rotate_every: f64,
    /// How long the metadata service takes to answer a security-key fetch, in milliseconds: a
    /// request that waited on a refresh takes at least this long.
    #[arg(long, default_value_t = 500)]
    delay_ms: u64,
    /// Each client's refresh margin, in seconds (default: the lifetime less half the rotation
    /// interval, so each client asks a few times before the new pair is out, as a client of ECS
    /// does).
    #[arg(long)]
    refresh_margin: Option<f64>,
    /// Each client's least time between two refreshes, in seconds.
    #[arg(long, default_value_t = 1.0)]
    min_refresh_interval: f64,
    /// Requests in flight at once, per client.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Each client task's pause between two requests, in milliseconds.
    #[arg(long, default_value_t = 50)]
    pause_ms: u64,
    /// Fewer rotations than this fail the run.
    #[arg(long, default_value_t = 3)]
    min_rotations: usize,
}

/// A child process killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_listening(name: &str, port: u16, process: &mut Process) -> Result<()> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if let Some(status) = process.0.try_wait()? {
            bail!("{name} exited before listening ({status})");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("{name} is not listening on {address} after 20 s")
}

/// A thread that sleeps 10 ms at a time and notes how much longer each sleep took: how badly the
/// machine stalled the processes during the run (a diagnostic printed with the report).
struct Stalls {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(f64, u64)>,
}

impl Stalls {
    fn watch() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let (mut worst, mut count) = (0.0_f64, 0_u64);
            while !flag.load(Ordering::Relaxed) {
                let start = Instant::now();
                std::thread::sleep(Duration::from_millis(10));
                let over = start.elapsed().as_secs_f64() * 1000.0 - 10.0;
                worst = worst.max(over);
                count += u64::from(over > 100.0);
            }
            (worst, count)
        });
        Self { stop, thread }
    }

    /// The longest oversleep (ms) and how many exceeded 100 ms.
    fn stop(self) -> (f64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

/// The gateway's configuration: one API answered by the echo backend, no app yet (the
/// metadata service registers each key pair over the admin API).
fn gateway_config() -> serde_json::Value {
    serde_json::json!({
        "groups": [{
            "id": "rotation",
            "name": "credential rotation proof",
            "domains": [],
            "apis": [{"id": API, "method": "GET", "path": "/rotation/echo", "auth": "app", "backend": {"url": "echo:"}}]
        }],
        "environments": [{"name": "RELEASE", "published": [API]}],
        "apps": [],
        "authorizations": []
    })
}

pub(crate) fn run(args: &RunArgs) -> Result<()> {
    if args.rotate_every <= 0.0 || args.rotate_every >= args.lifetime {
        bail!(
            "--rotate-every must be more than 0 and less than --lifetime: a new pair comes out before the old one expires"
        );
    }
    std::fs::create_dir_all(&args.work_dir).with_context(|| format!("cannot create {}", args.work_dir.display()))?;
    let config = args.work_dir.join("gateway.json");
    std::fs::write(&config, serde_json::to_string_pretty(&gateway_config())?)?;
    let (api_port, admin_port) = (free_port()?, free_port()?);
    let token = format!("rotation-admin-token-{}", std::process::id());
    let log = args.work_dir.join("gateway.log");
    let stderr = std::fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
    let mut gateway = Process(
        Command::new(&args.gateway_bin)
            .arg("--config")
            .arg(&config)
            .args(["--listen", &format!("127.0.0.1:{api_port}"), "--admin-listen", &format!("127.0.0.1:{admin_port}")])
            .args(["--access-log", "off"])
            .env("APIG_GATEWAY_ADMIN_TOKEN", &token)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("cannot start {}", args.gateway_bin.display()))?,
    );
    wait_listening("apig-gateway", api_port, &mut gateway)?;
    wait_listening("apig-gateway's admin API", admin_port, &mut gateway)?;

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let started = Instant::now();
    let schedule = Schedule {
        lifetime: Duration::from_secs_f64(args.lifetime),
        rotate_every: Duration::from_secs_f64(args.rotate_every),
        delay: Duration::from_millis(args.delay_ms),
        // the last pair comes out at least half an interval before the clients stop
        last_rotation_before: started + Duration::from_secs(args.seconds)
            - Duration::from_secs_f64(args.rotate_every / 2.0),
    };
    let admin = Admin { url: format!("http://127.0.0.1:{admin_port}"), token, client: reqwest::Client::new() };
    let service = Service::new(schedule, admin, started);
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let metadata = format!("http://{}", listener.local_addr()?);
    runtime.spawn(service.clone().serve(listener));
    runtime.block_on(service.issue(0)).context("registering the first key pair with the gateway")?;
    runtime.spawn(service.clone().rotate());

    let margin = args.refresh_margin.unwrap_or(args.lifetime - args.rotate_every / 2.0);
    // each client has its own endpoint on the service (`/{name}`), so its fetches are told apart
    let client_args = |name: &str| {
        [
            format!("http://127.0.0.1:{api_port}"),
            format!("{metadata}/{name}"),
            args.seconds.to_string(),
            args.concurrency.to_string(),
            margin.to_string(),
            args.min_refresh_interval.to_string(),
            args.pause_ms.to_string(),
        ]
    };
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut commands = vec![("rust", Command::new(std::env::current_exe()?))];
    commands[0].1.arg("client");
    if let Some(python) = &args.python {
        let mut command = Command::new(python);
        command.arg(here.join("python_client.py"));
        commands.push(("python", command));
    }
    if let Some(node) = &args.node {
        let mut command = Command::new(node);
        command.arg(here.join("node_client.cjs"));
        commands.push(("node", command));
    }
    let stalls = Stalls::watch();
    let mut children = Vec::new();
    for (name, mut command) in commands {
        command.args(client_args(name)).stdin(Stdio::null()).stdout(Stdio::piped());
        let child = command.spawn().with_context(|| format!("cannot start the {name} client: {command:?}"))?;
        children.push((name, child));
    }
    let mut reports = Vec::new();
    let mut failed = Vec::new();
    for (name, child) in children {
        // each client stops by itself after `seconds`; the wait is bounded by its own deadline
        let output = child.wait_with_output().with_context(|| format!("waiting for the {name} client"))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout.lines().rev().find(|l| l.starts_with('{')).unwrap_or_default();
        match serde_json::from_str::<ClientReport>(line) {
            Ok(report) if output.status.success() => reports.push(report),
            Ok(_) | Err(_) => failed.push(format!("the {name} client failed ({}): {stdout}", output.status)),
        }
    }
    let (issued, fetches, errors) = service.summary();
    drop(runtime);
    drop(gateway);

    let plan = Plan {
        seconds: args.seconds,
        lifetime: Duration::from_secs_f64(args.lifetime),
        rotate_every: Duration::from_secs_f64(args.rotate_every),
        delay: Duration::from_millis(args.delay_ms),
        min_rotations: args.min_rotations,
    };
    let (summary, checks) = check(&plan, &issued, &fetches, &reports);
    print!("{summary}");
    let (worst, count) = stalls.stop();
    println!(
        "the machine: a thread of this harness sleeping 10 ms at a time overslept by up to {worst:.0} ms \
         ({count} times by more than 100 ms){}",
        if worst > 1000.0 { ": stalls that long can make requests slow and pairs go unfetched" } else { "" }
    );
    failed.extend(errors.into_iter().map(|e| format!("metadata service: {e}")));
    failed.extend(checks);
    if !failed.is_empty() {
        bail!("the rotation proof failed (the gateway's log: {}):\n  {}", log.display(), failed.join("\n  "));
    }
    println!(
        "rotation: every request of {} clients passed across {} rotations, each key pair was used by every client, \
         and no request after a client's first waited on a refresh",
        reports.len(),
        issued.len().saturating_sub(1)
    );
    Ok(())
}
