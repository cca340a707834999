//! Kafka log push: every access-log record of the API (the same JSON object as the access log
//! line) is pushed to a Kafka topic by a pure-Rust client (`rskafka`).
//!
//! ```json
//! {"name": "to-kafka", "type": "kafka_log", "config": {
//!   "brokers": ["127.0.0.1:9092"], "topic": "apig-access-log", "partition": 0,
//!   "queue_size": 10000, "batch_size": 200, "linger_ms": 50, "timeout_ms": 2000}}
//! ```
//! A request never waits for Kafka: its record goes into a bounded in-memory queue
//! (`queue_size`) without blocking, and one background task sends batches (`batch_size` records,
//! or what arrived within `linger_ms`). When the queue is full (broker slow or down) the record is
//! dropped; when a batch cannot be sent within `timeout_ms` its records are dropped and the task
//! reconnects with a back-off. Both are counted: every 10 s with changes the gateway prints
//! `apig-gateway: kafka_log "NAME": sent N, dropped M (queue full), failed K (broker errors)`,
//! and each access-log record of the API carries `"extra": {"kafka_log_dropped": M+K}` once it is
//! non-zero.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rskafka::BackoffConfig;
use rskafka::chrono::{DateTime, Utc};
use rskafka::client::ClientBuilder;
use rskafka::client::partition::{Compression, PartitionClient, UnknownTopicHandling};
use rskafka::record::Record;
use serde::Deserialize;
use tokio::sync::Notify;

use super::counter::now_ms;
use super::{BackendOutcome, Policy, RequestContext};
use crate::access_log::AccessRecord;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KafkaConfig {
    brokers: Vec<String>,
    topic: String,
    #[serde(default)]
    partition: i32,
    #[serde(default = "default_queue")]
    queue_size: usize,
    #[serde(default = "default_batch")]
    batch_size: usize,
    #[serde(default = "default_linger")]
    linger_ms: u64,
    #[serde(default = "default_timeout")]
    timeout_ms: u64,
}

fn default_queue() -> usize {
    10_000
}
fn default_batch() -> usize {
    200
}
fn default_linger() -> u64 {
    50
}
fn default_timeout() -> u64 {
    2000
}

/// A queued record: its key (the API id) and the JSON line.
type Queued = (Option<String>, Vec<u8>);

/// Counters of the push.
#[derive(Debug, Default)]
pub struct KafkaStats {
    /// Records the broker acknowledged.
    pub sent: AtomicU64,
    /// Records dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Records dropped because their batch could not be sent.
    pub failed: AtomicU64,
}

#[derive(Debug, Clone)]
struct Settings {
    name: String,
    brokers: Vec<String>,
    topic: String,
    partition: i32,
    batch_size: usize,
    linger: Duration,
    timeout: Duration,
}

/// The bounded queue between the requests and the background task. A request appends its record
/// under a short lock and wakes the task only when the queue goes from empty to one record (the
/// linger starts) or reaches a full batch — not once per record, which would cost a task wake-up
/// (a cross-thread hand-off) on every request.
#[derive(Debug)]
struct Queue {
    records: Mutex<Vec<Queued>>,
    /// `records.len()`, written under the lock and read without it: the checks before a
    /// record is built, and the background task's waits, take no lock.
    len: AtomicUsize,
    capacity: usize,
    batch_size: usize,
    wake: Notify,
    /// Set when the policy is dropped (config reload): the task sends what is left and ends.
    closed: AtomicBool,
}

impl Queue {
    fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Whether a record would be refused now (a hint: [`Queue::push`] decides under the lock).
    fn is_full(&self) -> bool {
        self.len() >= self.capacity
    }

    /// Appends a record; `false` when the queue is full.
    fn push(&self, record: Queued) -> bool {
        let len = {
            let Ok(mut records) = self.records.lock() else { return false };
            if records.len() >= self.capacity {
                return false;
            }
            records.push(record);
            self.len.store(records.len(), Ordering::Release);
            records.len()
        };
        if len == 1 || len == self.batch_size {
            self.wake.notify_one();
        }
        true
    }

    /// Moves every queued record into `into` (empty), keeping the allocations of both.
    fn take(&self, into: &mut Vec<Queued>) {
        if let Ok(mut records) = self.records.lock() {
            std::mem::swap(&mut *records, into);
            self.len.store(0, Ordering::Release);
        }
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

/// The Kafka log push policy.
#[derive(Debug)]
pub struct KafkaLog {
    settings: Settings,
    queue: Arc<Queue>,
    /// Whether the background task runs; it is started on the first record, inside the
    /// gateway's runtime.
    started: AtomicBool,
    stats: Arc<KafkaStats>,
}

impl KafkaLog {
    /// Reads the settings of the policy named `name`.
    ///
    /// # Errors
    /// Unknown fields, no broker, an empty topic, zero sizes or timeout.
    pub fn from_config(name: &str, config: &serde_json::Value) -> Result<Self, String> {
        let c: KafkaConfig = serde_json::from_value(config.clone()).map_err(|e| format!("kafka_log: {e}"))?;
        if c.brokers.is_empty() || c.brokers.iter().any(|b| !b.contains(':')) {
            return Err("kafka_log: brokers must be a non-empty list of host:port".to_owned());
        }
        if c.topic.is_empty() || c.partition < 0 {
            return Err("kafka_log: topic must not be empty and partition must be >= 0".to_owned());
        }
        if c.queue_size == 0 || c.batch_size == 0 || c.timeout_ms == 0 {
            return Err("kafka_log: queue_size, batch_size and timeout_ms must be > 0".to_owned());
        }
        let queue = Queue {
            records: Mutex::new(Vec::new()),
            len: AtomicUsize::new(0),
            capacity: c.queue_size,
            batch_size: c.batch_size,
            wake: Notify::new(),
            closed: AtomicBool::new(false),
        };
        Ok(Self {
            settings: Settings {
                name: name.to_owned(),
                brokers: c.brokers,
                topic: c.topic,
                partition: c.partition,
                batch_size: c.batch_size,
                linger: Duration::from_millis(c.linger_ms),
                timeout: Duration::from_millis(c.timeout_ms),
            },
            queue: Arc::new(queue),
            started: AtomicBool::new(false),
            stats: Arc::new(KafkaStats::default()),
        })
    }

    /// The push counters.
    pub fn stats(&self) -> &KafkaStats {
        &self.stats
    }

    fn start(&self) {
        if self.started.load(Ordering::Relaxed) {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else { return };
        if self.started.compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
            handle.spawn(push(self.settings.clone(), Arc::clone(&self.queue), Arc::clone(&self.stats)));
        }
    }
}

impl Drop for KafkaLog {
    fn drop(&mut self) {
        self.queue.closed.store(true, Ordering::Release);
        self.queue.wake.notify_one();
    }
}

async fn connect(s: &Settings) -> Result<PartitionClient, String> {
    let backoff = BackoffConfig {
        init_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(500),
        base: 2.0,
        deadline: Some(s.timeout),
    };
    let work = async {
        let client = ClientBuilder::new(s.brokers.clone())
            .client_id("apig-gateway")
            .backoff_config(backoff)
            .build()
            .await
            .map_err(|e| e.to_string())?;
        client
            .partition_client(s.topic.clone(), s.partition, UnknownTopicHandling::Retry)
            .await
            .map_err(|e| e.to_string())
    };
    tokio::time::timeout(s.timeout, work).await.map_err(|_| "connection timed out".to_owned())?
}

/// How often the background task prints its counters (when they changed).
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// The background task: sends the queued records to the partition in batches until the policy
/// is dropped (config reload) and the queue is drained.
async fn push(s: Settings, queue: Arc<Queue>, stats: Arc<KafkaStats>) {
    let mut client: Option<PartitionClient> = None;
    let mut backoff = Duration::from_millis(200);
    let mut reported = (0, 0, 0);
    let mut next_report = tokio::time::Instant::now() + REPORT_EVERY;
    let mut taken: Vec<Queued> = Vec::new();
    loop {
        // wait for a first record; report the counters every 10 s, busy or idle
        loop {
            if tokio::time::Instant::now() >= next_report {
                reported = print_stats(&s.name, &stats, reported);
                next_report = tokio::time::Instant::now() + REPORT_EVERY;
            }
            if queue.len() > 0 || queue.is_closed() {
                break;
            }
            tokio::select! {
                () = queue.wake.notified() => {}
                () = tokio::time::sleep_until(next_report) => {}
            }
        }
        // linger for a full batch
        let deadline = tokio::time::Instant::now() + s.linger;
        while queue.len() < s.batch_size && !queue.is_closed() {
            tokio::select! {
                () = queue.wake.notified() => {}
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        queue.take(&mut taken);
        if taken.is_empty() {
            if queue.is_closed() {
                break;
            }
            continue;
        }
        if client.is_none() {
            match connect(&s).await {
                Ok(c) => {
                    client = Some(c);
                    backoff = Duration::from_millis(200);
                }
                Err(e) => {
                    stats.failed.fetch_add(taken.len() as u64, Ordering::Relaxed);
                    taken.clear();
                    eprintln!("apig-gateway: kafka_log {:?}: cannot connect to {:?}: {e}", s.name, s.brokers);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            }
        }
        let timestamp =
            DateTime::<Utc>::from_timestamp_millis(i64::try_from(now_ms()).unwrap_or(0)).unwrap_or_default();
        let mut records = taken.drain(..).map(|(key, value)| Record {
            key: key.map(String::into_bytes),
            value: Some(value),
            headers: std::collections::BTreeMap::new(),
            timestamp,
        });
        loop {
            let batch: Vec<Record> = records.by_ref().take(s.batch_size).collect();
            if batch.is_empty() {
                break;
            }
            let n = batch.len() as u64;
            let Some(c) = &client else {
                stats.failed.fetch_add(n, Ordering::Relaxed);
                continue;
            };
            match tokio::time::timeout(s.timeout, c.produce(batch, Compression::NoCompression)).await {
                Ok(Ok(_)) => {
                    stats.sent.fetch_add(n, Ordering::Relaxed);
                }
                Ok(Err(e)) => {
                    stats.failed.fetch_add(n, Ordering::Relaxed);
                    eprintln!("apig-gateway: kafka_log {:?}: produce failed: {e}", s.name);
                    client = None;
                }
                Err(_) => {
                    stats.failed.fetch_add(n, Ordering::Relaxed);
                    eprintln!("apig-gateway: kafka_log {:?}: produce timed out", s.name);
                    client = None;
                }
            }
        }
    }
    print_stats(&s.name, &stats, reported);
}

fn print_stats(name: &str, stats: &KafkaStats, before: (u64, u64, u64)) -> (u64, u64, u64) {
    let now = (
        stats.sent.load(Ordering::Relaxed),
        stats.dropped.load(Ordering::Relaxed),
        stats.failed.load(Ordering::Relaxed),
    );
    if now != before {
        eprintln!(
            "apig-gateway: kafka_log {name:?}: sent {}, dropped {} (queue full), failed {} (broker errors)",
            now.0, now.1, now.2
        );
    }
    now
}

impl Policy for KafkaLog {
    fn kind(&self) -> &'static str {
        "kafka_log"
    }

    fn push_counts(&self) -> Option<(u64, u64, u64)> {
        let s = &self.stats;
        Some((s.sent.load(Ordering::Relaxed), s.dropped.load(Ordering::Relaxed), s.failed.load(Ordering::Relaxed)))
    }

    fn on_response(
        &self,
        _ctx: &RequestContext,
        _outcome: BackendOutcome,
        _response: &mut hyper::http::response::Parts,
        record: &mut AccessRecord<'_>,
    ) {
        let lost = self.stats.dropped.load(Ordering::Relaxed) + self.stats.failed.load(Ordering::Relaxed);
        if lost > 0 {
            record.extra.insert("kafka_log_dropped", lost.into());
        }
    }

    fn wants_log(&self) -> bool {
        self.start();
        if self.queue.is_full() {
            // full: the record would be dropped, so it is counted here and never built
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    fn on_log(&self, _ctx: &RequestContext, record: &AccessRecord<'_>, json: Option<&[u8]>) {
        // `wants_log` has just declined the record if the queue was full
        let line = match json {
            // the access log's line: a copy is cheaper than writing it again
            Some(json) => json.to_vec(),
            None => {
                // an access-log line is a few hundred bytes: one allocation, no regrowth
                let mut line = Vec::with_capacity(768);
                record.write_json(&mut line);
                line
            }
        };
        if !self.queue.push((record.api.map(str::to_owned), line)) {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_configs() {
        for bad in [
            serde_json::json!({"brokers": [], "topic": "t"}),
            serde_json::json!({"brokers": ["nohost"], "topic": "t"}),
            serde_json::json!({"brokers": ["h:1"], "topic": ""}),
            serde_json::json!({"brokers": ["h:1"], "topic": "t", "queue_size": 0}),
            serde_json::json!({"brokers": ["h:1"], "topic": "t", "compression": "gzip"}),
        ] {
            assert!(KafkaLog::from_config("k", &bad).is_err(), "{bad}");
        }
    }
}
