//! Throttling counters in Redis, so that several gateway instances behind a load balancer share
//! one limit. Each request runs one Lua script that increments every counter it touches (one key
//! per counter and window, `PREFIX:KEY:WINDOW-INDEX`) and sets the key's expiry on the first hit of
//! the window; Redis runs a script atomically, so two instances never lose an increment.
//!
//! The connection (one multiplexed connection, shared by every request) is opened in the
//! background: on first use and again after any failure. A request never waits longer than the
//! configured timeout in all (for the connection, then for the answer): requests arriving while
//! the connection is being opened wait for it together, each until its own deadline. After a
//! failure the store answers with an error at once for one second counted from the failure, so a
//! dead or silent Redis costs a request at most one timeout, and only one request a second.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Script};
use tokio::sync::watch;

use super::counter::{Count, CounterStore, HitFuture, Slot, now_ms, window_of};

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

/// How long after a failure calls fail at once.
const BACK_OFF_MS: u64 = 1000;

/// The state of the shared connection.
#[derive(Clone)]
enum Link {
    /// None open and none being opened (at first, and after a failure: why).
    Down(Option<String>),
    /// Being opened by a background task.
    Connecting,
    /// Open.
    Up(MultiplexedConnection),
}

/// Counters in a Redis server.
pub struct RedisStore {
    client: redis::Client,
    prefix: String,
    timeout: Duration,
    script: Script,
    link: Arc<watch::Sender<Link>>,
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
            link: Arc::new(watch::Sender::new(Link::Down(None))),
            down_until: AtomicU64::new(0),
        })
    }

    /// The open connection; opens one in the background when there is none, and waits for it
    /// (the caller bounds the wait).
    async fn connection(&self) -> Result<MultiplexedConnection, String> {
        let mut link = self.link.subscribe();
        let start = self.link.send_if_modified(|l| {
            let down = matches!(l, Link::Down(_));
            if down {
                *l = Link::Connecting;
            }
            down
        });
        if start {
            self.connect_in_background();
        }
        let ready = link.wait_for(|l| !matches!(l, Link::Connecting)).await.map_err(|_| "redis: store dropped")?;
        match &*ready {
            Link::Up(conn) => Ok(conn.clone()),
            Link::Down(why) => Err(format!("redis: cannot connect: {}", why.as_deref().unwrap_or("unknown error"))),
            Link::Connecting => Err("redis: cannot connect".to_owned()),
        }
    }

    /// Opens the connection on a task of its own: with more time than a request has (a slow
    /// network may need it), and without a request waiting on it.
    fn connect_in_background(&self) {
        let (client, link) = (self.client.clone(), Arc::clone(&self.link));
        let limit = self.timeout.max(Duration::from_secs(1));
        let config = AsyncConnectionConfig::new().set_connection_timeout(limit).set_response_timeout(self.timeout);
        tokio::spawn(async move {
            let opened =
                tokio::time::timeout(limit, client.get_multiplexed_async_connection_with_config(&config)).await;
            link.send_replace(match opened {
                Ok(Ok(conn)) => Link::Up(conn),
                Ok(Err(e)) => Link::Down(Some(e.to_string())),
                Err(_) => Link::Down(Some(format!("no connection within {} ms", limit.as_millis()))),
            });
        });
    }

    async fn hit_all(&self, slots: &[Slot], at_ms: u64) -> Result<Vec<Count>, String> {
        if at_ms < self.down_until.load(Ordering::Relaxed) {
            return Err("redis: unavailable (a call failed less than 1 s ago)".to_owned());
        }
        let result = match tokio::time::timeout(self.timeout, self.call(slots, at_ms)).await {
            Ok(result) => result,
            Err(_) => Err(format!("redis: no answer within {} ms", self.timeout.as_millis())),
        };
        if result.is_err() {
            // the back-off counts from the failure; the connection is opened again afterwards
            // (a silent server's is of no use, a broken one's neither)
            self.down_until.fetch_max(now_ms() + BACK_OFF_MS, Ordering::Relaxed);
            self.link.send_if_modified(|l| {
                let up = matches!(l, Link::Up(_));
                if up {
                    *l = Link::Down(None);
                }
                up
            });
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
        let counts: Vec<u64> = invocation.invoke_async(&mut conn).await.map_err(|e| format!("redis: {e}"))?;
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
