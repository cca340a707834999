//! Configuration reload: on SIGHUP and when the file changes (polled), the file is parsed and
//! compiled and, only if valid, swapped in atomically. In-flight requests finish on the runtime
//! they started with; a bad file is refused and the old configuration kept.
//!
//! The certificate and key files of the TLS front end ([`crate::tls`]) are read with the config:
//! one that cannot be used refuses the reload like a bad config file, and a renewed one (its
//! modification time or size changed) is a reason to reload even when the config file is the same.
//!
//! A file whose content equals the running configuration (and whose certificates did not change)
//! is not swapped in (that is what happens after every admin API change, which writes the file
//! the watcher then sees change). A file that differs is compiled against the running configuration: every policy whose definition did not
//! change keeps its state (throttling counters, circuit breakers, authorizer caches, Kafka queues);
//! a new or changed one starts afresh ([`Runtime::compile_after`]).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

use crate::config::{ConfigError, ConfigFile};
use crate::metrics::ReloadResult;
use crate::routing::Runtime;
use crate::shared::Shared;

/// Reloads the config file now; `true` when it differed from the running configuration and was
/// swapped in, `false` when it is the same (nothing is rebuilt).
///
/// # Errors
/// The file's error (with its position); the running configuration is unchanged.
pub async fn reload(shared: &Shared) -> Result<bool, ConfigError> {
    let Some(path) = &shared.config_path else {
        return Ok(false);
    };
    let _guard = shared.write_lock.lock().await;
    let result = compile(shared, path);
    if let Some(m) = &shared.metrics {
        m.reloaded(match &result {
            Ok(Some(_)) => ReloadResult::Ok,
            Ok(None) => ReloadResult::Unchanged,
            Err(_) => ReloadResult::Failed,
        });
    }
    let Some(runtime) = result? else { return Ok(false) };
    shared.install(runtime);
    Ok(true)
}

/// The file at `path` compiled against the running configuration, or `None` when it equals it.
fn compile(shared: &Shared, path: &Path) -> Result<Option<Runtime>, ConfigError> {
    let source = ConfigFile::load(path)?;
    let running = shared.runtime.load();
    if source == running.source && !running.tls.files_changed() {
        return Ok(None);
    }
    Runtime::compile_after(source, path, Some(&running)).map(Some)
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Reloads on SIGHUP and, every `interval`, when the file's modification time or size changed.
/// First removes the stale temporary files of the file ([`crate::persist::remove_stale_temp_files`]).
pub async fn watch(shared: Arc<Shared>, interval: Option<Duration>, mut stop: watch::Receiver<bool>) {
    let Some(path) = shared.config_path.clone() else { return };
    // temporary files a killed admin write left beside the file
    crate::persist::remove_stale_temp_files(&path);
    // the config file's stamp, and those of the certificates the running configuration read
    let stamps = |shared: &Shared| (stamp(&path), shared.runtime.load().tls.current_stamps());
    let mut last = stamps(&shared);
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let mut tick = tokio::time::interval(interval.unwrap_or(Duration::from_secs(3600)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        #[cfg(unix)]
        let hup_fut = async {
            match hup.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let hup_fut = std::future::pending::<()>();
        let why = tokio::select! {
            _ = stop.changed() => return,
            () = hup_fut => "SIGHUP",
            _ = tick.tick() => {
                if interval.is_none() { continue; }
                let now = stamps(&shared);
                if now == last { continue; }
                "file change"
            }
        };
        match reload(&shared).await {
            Ok(true) => eprintln!("apig-gateway: config reloaded ({why}) from {}", path.display()),
            Ok(false) => {}
            Err(e) => eprintln!("apig-gateway: config refused ({why}), keeping the running one: {e}"),
        }
        last = stamps(&shared);
    }
}
