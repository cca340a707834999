//! The Rust client: apig-credentials' `MetadataProvider` behind apig-reqwest's middleware, on a
//! reqwest client. One request first (it fetches the first credentials), then `concurrency`
//! tasks sending requests until the time is up; its report is one JSON line on stdout.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Result;
use apig_credentials::{MetadataProvider, MetadataSettings};
use apig_reqwest::SigningMiddleware;
use reqwest_middleware::ClientWithMiddleware;

use crate::metadata::epoch_ms;
use crate::report::ClientReport;

/// The arguments every client (Rust, Python, Node) takes, in this order.
#[derive(clap::Args)]
pub(crate) struct ClientArgs {
    /// The gateway's API listener, e.g. http://127.0.0.1:8080.
    gateway: String,
    /// The metadata service, e.g. http://127.0.0.1:9000.
    metadata: String,
    /// How long to send requests.
    seconds: f64,
    /// Requests in flight at once.
    concurrency: usize,
    /// The provider's refresh margin, in seconds.
    refresh_margin: f64,
    /// The provider's least time between two refreshes, in seconds.
    min_refresh_interval: f64,
    /// Each task's pause between two requests, in milliseconds.
    pause_ms: u64,
}

pub(crate) fn main(args: &ClientArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let report = runtime.block_on(run(args))?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

async fn run(args: &ClientArgs) -> Result<ClientReport> {
    let provider = MetadataProvider::with_settings(MetadataSettings {
        endpoint: args.metadata.clone(),
        refresh_margin: Duration::from_secs_f64(args.refresh_margin),
        min_refresh_interval: Duration::from_secs_f64(args.min_refresh_interval),
        ..MetadataSettings::default()
    });
    let client =
        reqwest_middleware::ClientBuilder::new(reqwest::Client::new()).with(SigningMiddleware::new(provider)).build();
    let report = Arc::new(Mutex::new(ClientReport { client: "rust".to_owned(), ..ClientReport::default() }));
    let url = format!("{}/rotation/echo?client=rust", args.gateway.trim_end_matches('/'));

    let started = Instant::now();
    let first = send(&client, &url).await;
    {
        let mut report = report.lock().unwrap_or_else(PoisonError::into_inner);
        report.first_ms = started.elapsed().as_secs_f64() * 1000.0;
        if let Err(e) = first.and_then(|body| report.count_echo(&body)) {
            report.fail(format!("the first request: {e}"));
        }
    }

    let deadline = started + Duration::from_secs_f64(args.seconds);
    let mut tasks = Vec::new();
    for worker in 0..args.concurrency {
        let (client, report) = (client.clone(), Arc::clone(&report));
        let url = format!("{url}&worker={worker}");
        let pause = Duration::from_millis(args.pause_ms);
        tasks.push(tokio::spawn(async move {
            let mut n = 0_u64;
            while Instant::now() < deadline {
                let (start, epoch) = (Instant::now(), epoch_ms());
                let result = send(&client, &format!("{url}&n={n}")).await;
                let ms = start.elapsed().as_secs_f64() * 1000.0;
                {
                    let mut report = report.lock().unwrap_or_else(PoisonError::into_inner);
                    report.requests += 1;
                    report.time(epoch, ms);
                    if let Err(e) = result.and_then(|body| report.count_echo(&body)) {
                        report.fail(e);
                    }
                }
                n += 1;
                tokio::time::sleep(pause).await;
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let report = std::mem::take(&mut *report.lock().unwrap_or_else(PoisonError::into_inner));
    Ok(report)
}

/// One signed GET: the echoed body of a 200, else what went wrong.
async fn send(client: &ClientWithMiddleware, url: &str) -> Result<String, String> {
    let response = client.get(url).send().await.map_err(|e| format!("{e:#}"))?;
    let status = response.status();
    let body = response.text().await.map_err(|e| format!("{e:#}"))?;
    if status != 200 {
        return Err(format!("HTTP {status}: {body}"));
    }
    Ok(body)
}
