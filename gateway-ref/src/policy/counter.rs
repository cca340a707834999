//! Fixed-window request counters for throttling: the [`CounterStore`] interface and the in-memory
//! store of a single gateway instance. [`super::redis_store`] keeps them in Redis for a cluster.
//!
//! Windows are aligned on the Unix epoch (a 1-minute window runs from :00 to :59), so gateways
//! that share a store agree on which window a request falls in without talking to each other.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::hash::BuildHasher;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One counter to increment: its key (without the window) and its window length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// The counter's identity, e.g. `api:orders` or `app:web-shop`.
    pub key: String,
    /// The window length.
    pub window: Duration,
}

/// A counter after one increment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    /// Requests counted in the current window, this one included.
    pub count: u64,
    /// Milliseconds until the window ends.
    pub reset_ms: u64,
}

/// The window a request at `now_ms` falls in: its index and the milliseconds left in it.
pub fn window_of(now_ms: u64, window: Duration) -> (u64, u64) {
    let len = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
    let index = now_ms / len;
    (index, (index + 1).saturating_mul(len).saturating_sub(now_ms))
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The future of [`CounterStore::hit`].
pub type HitFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<Count>, String>> + Send + 'a>>;

/// Where counters live.
pub trait CounterStore: Send + Sync + fmt::Debug {
    /// Increments every slot's counter for the window containing `now_ms`, atomically per slot,
    /// and returns the counts in the same order.
    ///
    /// # Errors
    /// When the store cannot be reached (the caller decides what to do).
    fn hit<'a>(&'a self, slots: &'a [Slot], now_ms: u64) -> HitFuture<'a>;
}

const SHARDS: usize = 16;

/// A shard prunes its counters of past windows every this many new counters.
const PRUNE_EVERY: u32 = 256;

/// Counters in this process's memory, sharded to keep lock contention low. Entries of past
/// windows are pruned as a shard grows.
pub struct MemoryStore {
    shards: [Mutex<Shard>; SHARDS],
    hasher: foldhash::fast::RandomState,
}

/// One shard: its counters, and how many were added since it was last pruned.
#[derive(Default)]
struct Shard {
    counters: HashMap<String, Entry, foldhash::fast::RandomState>,
    added: u32,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    window: u64,
    count: u64,
    expires_ms: u64,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore").field("counters", &self.len()).finish_non_exhaustive()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            shards: std::array::from_fn(|_| Mutex::new(Shard::default())),
            hasher: foldhash::fast::RandomState::default(),
        }
    }
}

impl MemoryStore {
    /// Increments one counter (synchronous: it never waits on anything but a short lock).
    pub fn hit_one(&self, slot: &Slot, now_ms: u64) -> Count {
        self.hit_key(&slot.key, slot.window, now_ms)
    }

    /// Increments the counter `key` of a `window`-long window; the key is copied only when the
    /// counter is new.
    pub fn hit_key(&self, key: &str, window: Duration, now_ms: u64) -> Count {
        let (window, reset_ms) = window_of(now_ms, window);
        let shard = usize::try_from(self.hasher.hash_one(key) % SHARDS as u64).unwrap_or(0);
        let Ok(mut shard) = self.shards[shard].lock() else {
            // a poisoned lock means a panic elsewhere; count nothing rather than fail the request
            return Count { count: 0, reset_ms };
        };
        let fresh = Entry { window, count: 1, expires_ms: now_ms + reset_ms };
        match shard.counters.get_mut(key) {
            Some(entry) if entry.window == window => {
                entry.count += 1;
                entry.expires_ms = fresh.expires_ms;
                Count { count: entry.count, reset_ms }
            }
            Some(entry) => {
                *entry = fresh;
                Count { count: 1, reset_ms }
            }
            None => {
                shard.added += 1;
                if shard.added >= PRUNE_EVERY {
                    shard.added = 0;
                    shard.counters.retain(|_, e| e.expires_ms > now_ms);
                }
                shard.counters.insert(key.to_owned(), fresh);
                Count { count: 1, reset_ms }
            }
        }
    }

    /// Drops the counters of windows that have ended.
    pub fn prune(&self, now_ms: u64) {
        for shard in &self.shards {
            if let Ok(mut shard) = shard.lock() {
                shard.counters.retain(|_, e| e.expires_ms > now_ms);
            }
        }
    }

    /// The number of live counters.
    pub fn len(&self) -> usize {
        self.shards.iter().filter_map(|s| s.lock().ok().map(|s| s.counters.len())).sum()
    }

    /// Whether no counter is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl CounterStore for MemoryStore {
    fn hit<'a>(&'a self, slots: &'a [Slot], now_ms: u64) -> HitFuture<'a> {
        let counts = slots.iter().map(|s| self.hit_one(s, now_ms)).collect();
        Box::pin(std::future::ready(Ok(counts)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(key: &str, secs: u64) -> Slot {
        Slot { key: key.to_owned(), window: Duration::from_secs(secs) }
    }

    #[test]
    fn windows_are_aligned_on_the_epoch() {
        assert_eq!(window_of(61_500, Duration::from_secs(60)), (1, 58_500));
        assert_eq!(window_of(0, Duration::from_secs(1)), (0, 1000));
        assert_eq!(window_of(999, Duration::from_secs(1)), (0, 1));
    }

    #[test]
    fn counts_per_key_and_resets_with_the_window() {
        let store = MemoryStore::default();
        let a = slot("a", 1);
        assert_eq!(store.hit_one(&a, 10_000).count, 1);
        assert_eq!(store.hit_one(&a, 10_500).count, 2);
        assert_eq!(store.hit_one(&slot("b", 1), 10_500).count, 1);
        assert_eq!(store.hit_one(&a, 10_999).count, 3);
        let next = store.hit_one(&a, 11_000);
        assert_eq!((next.count, next.reset_ms), (1, 1000));
    }

    #[test]
    fn prunes_past_windows() {
        let store = MemoryStore::default();
        for i in 0..5000u64 {
            store.hit_one(&slot(&format!("k{i}"), 1), 1000);
        }
        assert_eq!(store.len(), 5000);
        store.prune(1999);
        assert_eq!(store.len(), 5000);
        store.prune(2000);
        assert!(store.is_empty());
    }

    #[test]
    fn shards_prune_themselves_as_they_grow() {
        let store = MemoryStore::default();
        for i in 0..5000u64 {
            store.hit_one(&slot(&format!("old{i}"), 1), 1000);
        }
        // 5000 new counters after the old window: every shard has pruned at least once
        for i in 0..5000u64 {
            store.hit_one(&slot(&format!("new{i}"), 1), 3000);
        }
        assert!(store.len() <= 5000, "{}", store.len());
        assert_eq!(store.hit_one(&slot("new1", 1), 3000).count, 2);
    }
}
