//! Throttling counters in Redis, so that several gateway instances behind a load balancer share
//! one limit. Each request runs one Lua script that increments every counter it touches (one key
//! per counter and window, `PREFIX:KEY:WINDOW-INDEX`) and sets the key's expiry on the first hit of
//! the window; Redis runs a script atomically, so two instances never lose an increment.
//!
//! The connection is made on first use and re-made after failures (redis-rs `ConnectionManager`);
//! every call is bounded by the configured timeout, and after a failure the store answers with an
//! error at once for one second (so a dead Redis costs at most one timeout per second).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use super::counter::{Count, CounterStore, HitFuture, Slot, window_of};

/// Increments `KEYS[i]`, sets its expiry to `ARGV[i]` ms when it is new, returns the counts.
const HIT_SCRIPT: &str = r"
local out = {}
for i, key in ipairs(KEYS) do
  local c = redis.call('INCR', key)
  if c == 1 then redis.call('PEXPIRE', key, ARGV[i]) end
  out[i] = c
end
return out
";

/// Counters in a Redis server.
pub struct RedisStore {
    client: redis::Client,
    prefix: String,
    timeout: Duration,
    script: Script,
    connection: OnceCell<ConnectionManager>,
    /// Until when (ms since the epoch) calls fail at once after a failure.
    down_until: AtomicU64,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore").field("prefix", &self.prefix).field("timeout", &self.timeout).finish()
    }
}

impl RedisStore {
    /// A store for the server at `url` (`redis://host:port[/db]`); keys start with `prefix`.
    ///
    /// # Errors
    /// A URL redis-rs cannot use.
    pub fn new(url: &str, prefix: &str, timeout: Duration) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("bad redis URL {url:?}: {e}"))?;
        Ok(Self {
            client,
            prefix: prefix.to_owned(),
            timeout,
            script: Script::new(HIT_SCRIPT),
            connection: OnceCell::new(),
            down_until: AtomicU64::new(0),
        })
    }

    async fn connection(&self) -> Result<ConnectionManager, String> {
        let conn = self
            .connection
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(self.timeout)
                    .set_response_timeout(self.timeout)
                    .set_number_of_retries(1)
                    .set_max_delay(1000);
                ConnectionManager::new_with_config(self.client.clone(), config).await
            })
            .await
            .map_err(|e| format!("redis: {e}"))?;
        Ok(conn.clone())
    }

    async fn hit_all(&self, slots: &[Slot], now_ms: u64) -> Result<Vec<Count>, String> {
        if now_ms < self.down_until.load(Ordering::Relaxed) {
            return Err("redis: unavailable (a call failed less than 1 s ago)".to_owned());
        }
        let result = self.call(slots, now_ms).await;
        if result.is_err() {
            self.down_until.store(now_ms + 1000, Ordering::Relaxed);
        }
        result
    }

    async fn call(&self, slots: &[Slot], now_ms: u64) -> Result<Vec<Count>, String> {
        let mut conn = self.connection().await?;
        let mut invocation = self.script.prepare_invoke();
        let mut resets = Vec::with_capacity(slots.len());
        for slot in slots {
            let (window, reset_ms) = window_of(now_ms, slot.window);
            invocation.key(format!("{}:{}:{window}", self.prefix, slot.key));
            // keep the key a little past its window: clocks of the instances differ slightly
            invocation.arg(reset_ms + 1000);
            resets.push(reset_ms);
        }
        let counts: Vec<u64> = tokio::time::timeout(self.timeout, invocation.invoke_async(&mut conn))
            .await
            .map_err(|_| format!("redis: no answer within {} ms", self.timeout.as_millis()))?
            .map_err(|e| format!("redis: {e}"))?;
        if counts.len() != slots.len() {
            return Err(format!("redis: the script returned {} counts for {} keys", counts.len(), slots.len()));
        }
        Ok(counts.into_iter().zip(resets).map(|(count, reset_ms)| Count { count, reset_ms }).collect())
    }
}

impl CounterStore for RedisStore {
    fn hit<'a>(&'a self, slots: &'a [Slot], now_ms: u64) -> HitFuture<'a> {
        Box::pin(self.hit_all(slots, now_ms))
    }
}
