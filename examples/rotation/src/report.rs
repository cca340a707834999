//! What each client reports (one JSON line, the same from Rust, Python and Node), the checks the
//! proof makes of them, and the printed summary.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One client's run, as it prints it.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct ClientReport {
    /// `rust`, `python`, `node`.
    pub(crate) client: String,
    /// Requests sent after the first (the concurrent ones).
    pub(crate) requests: u64,
    /// Of those, how many failed: a transport error, a status other than 200, or an echo whose
    /// security token does not belong to its access key.
    pub(crate) failures: u64,
    /// The first few failures' descriptions.
    pub(crate) errors: Vec<String>,
    /// The first request's latency (it fetches the first credentials), in milliseconds.
    pub(crate) first_ms: f64,
    /// Every later request's latency, in milliseconds.
    pub(crate) latencies_ms: Vec<f64>,
    /// Requests per access key the gateway saw (from the echoed `Authorization`).
    pub(crate) keys: BTreeMap<String, u64>,
    /// The requests after the first that took more than 100 ms: `[start, duration]`, the start in
    /// milliseconds since 1970 (to set beside the metadata service's fetches).
    #[serde(default)]
    pub(crate) slow: Vec<[f64; 2]>,
}

impl ClientReport {
    /// Counts one echoed answer: the access key the gateway accepted, and whether the signed
    /// security token is the one issued with it.
    pub(crate) fn count_echo(&mut self, body: &str) -> Result<(), String> {
        let echo: serde_json::Value = serde_json::from_str(body).map_err(|e| format!("not the echo's JSON: {e}"))?;
        let header = |name: &str| {
            echo["headers"].as_array().and_then(|headers| {
                headers.iter().find(|h| h[0].as_str() == Some(name)).and_then(|h| h[1].as_str()).map(str::to_owned)
            })
        };
        let authorization = header("authorization").ok_or("no Authorization echoed")?;
        let access = authorization
            .split("Access=")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .ok_or_else(|| format!("no Access= in {authorization:?}"))?
            .to_owned();
        let token = header("x-security-token").ok_or("no X-Security-Token echoed")?;
        if !token.starts_with(&format!("rotation-token.{access}.")) {
            return Err(format!("the security token of another key pair was sent with {access}"));
        }
        *self.keys.entry(access).or_default() += 1;
        Ok(())
    }

    /// Records a request's latency (and its start, if it was slow).
    pub(crate) fn time(&mut self, start_epoch_ms: f64, ms: f64) {
        self.latencies_ms.push(ms);
        if ms > SLOW_MS {
            self.slow.push([start_epoch_ms, ms]);
        }
    }

    /// Records a failure (the first few are kept with their description).
    pub(crate) fn fail(&mut self, what: String) {
        self.failures += 1;
        if self.errors.len() < 5 {
            self.errors.push(what);
        }
    }
}

/// Each client's security-key fetches: `[received, answered]`, in milliseconds since 1970.
pub(crate) type Fetches = BTreeMap<String, Vec<[f64; 2]>>;

/// Requests slower than this are reported with their start.
pub(crate) const SLOW_MS: f64 = 100.0;

/// A key pair the metadata service issued.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    pub(crate) access_key: String,
    /// Seconds after the run's start when it was handed out.
    pub(crate) issued_at: f64,
}

/// What the run was asked to do, for the checks and the summary.
pub(crate) struct Plan {
    pub(crate) seconds: u64,
    pub(crate) lifetime: Duration,
    pub(crate) rotate_every: Duration,
    pub(crate) delay: Duration,
    pub(crate) min_rotations: usize,
}

/// `p` (0..=1) of sorted `values`.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let last = sorted.len() - 1;
    // an index in 0..=last: the product is finite and within range
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let index = ((last as f64) * p).round() as usize;
    sorted[index.min(last)]
}

/// Checks the run and writes its summary; the list of failed checks (empty: the proof holds).
///
/// A request waited on a refresh when it took longer than the metadata service's delay **and** one
/// of its client's security-key fetches ran, from start to answer, within it: a request blocked on
/// a fetch starts before the fetch and ends after its answer. A request slow for another reason (a
/// busy machine) spans no whole fetch of its client's, and is counted and shown but not failed.
pub(crate) fn check(
    plan: &Plan,
    issued: &[Issued],
    fetches: &Fetches,
    clients: &[ClientReport],
) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut failed = Vec::new();
    let rotations = issued.len().saturating_sub(1);
    let delay_ms = plan.delay.as_secs_f64() * 1000.0;
    let _ = writeln!(
        out,
        "rotation: {} s, {} key pairs issued ({rotations} rotations): each living {} s, a new one every {} s, \
         metadata answers delayed {delay_ms:.0} ms; {} security-key fetches",
        plan.seconds,
        issued.len(),
        plan.lifetime.as_secs_f64(),
        plan.rotate_every.as_secs_f64(),
        fetches.values().map(Vec::len).sum::<usize>(),
    );
    let _ = writeln!(
        out,
        "{:<8} {:>9} {:>9} {:>10} {:>9} {:>9} {:>9} {:>10} {:>8} {:>7} {:>7}",
        "client", "requests", "failures", "first", "p50", "p99", "max", "pairs used", "fetches", "slower", "waited"
    );
    for client in clients {
        let mut sorted = client.latencies_ms.clone();
        sorted.sort_by(f64::total_cmp);
        let max = sorted.last().copied().unwrap_or(0.0);
        // every pair from the first it signed with (a client started late may never see the first)
        let first = issued.iter().position(|pair| client.keys.contains_key(&pair.access_key)).unwrap_or(0);
        let due = &issued[first..];
        let used = due.iter().filter(|pair| client.keys.contains_key(&pair.access_key)).count();
        let own = fetches.get(&client.client).map_or(&[][..], Vec::as_slice);
        let slower: Vec<&[f64; 2]> = client.slow.iter().filter(|[_, ms]| *ms > delay_ms).collect();
        // 5 ms of slack for the two processes' readings of the clock
        let waited: Vec<&&[f64; 2]> = slower
            .iter()
            .filter(|[start, ms]| own.iter().any(|[from, to]| *from >= start - 5.0 && *to <= start + ms + 5.0))
            .collect();
        let _ = writeln!(
            out,
            "{:<8} {:>9} {:>9} {:>7.1} ms {:>6.1} ms {:>6.1} ms {:>6.1} ms {:>6}/{} {:>8} {:>7} {:>7}",
            client.client,
            client.requests,
            client.failures,
            client.first_ms,
            percentile(&sorted, 0.5),
            percentile(&sorted, 0.99),
            max,
            used,
            due.len(),
            own.len(),
            slower.len(),
            waited.len()
        );
        let name = &client.client;
        if client.requests == 0 {
            failed.push(format!("{name}: no request was sent"));
        }
        if client.failures > 0 {
            failed.push(format!("{name}: {} requests failed, e.g. {:?}", client.failures, client.errors));
        }
        for pair in due.iter().filter(|pair| !client.keys.contains_key(&pair.access_key)) {
            failed
                .push(format!("{name}: never used the key pair {} issued at {:.1} s", pair.access_key, pair.issued_at));
        }
        for key in client.keys.keys().filter(|key| !issued.iter().any(|pair| &pair.access_key == *key)) {
            failed.push(format!("{name}: used the access key {key}, which the metadata service never issued"));
        }
        if let Some([start, ms]) = waited.first() {
            failed.push(format!(
                "{name}: {} requests after the first waited on a refresh (longer than the metadata delay, \
                 {delay_ms:.0} ms, over a whole fetch of the client's; e.g. {ms:.1} ms from {start:.0})",
                waited.len()
            ));
        }
    }
    let _ = writeln!(
        out,
        "(slower: requests after the first slower than the metadata delay; waited: those of them over a whole \
         security-key fetch of their client's, i.e. that waited on a refresh)"
    );
    if rotations < plan.min_rotations {
        failed.push(format!("only {rotations} rotations (at least {} wanted)", plan.min_rotations));
    }
    (out, failed)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn plan() -> Plan {
        Plan {
            seconds: 10,
            lifetime: Duration::from_secs(4),
            rotate_every: Duration::from_secs(2),
            delay: Duration::from_millis(300),
            min_rotations: 1,
        }
    }

    fn issued() -> Vec<Issued> {
        ["AK1", "AK2"].iter().map(|k| Issued { access_key: (*k).to_owned(), issued_at: 0.0 }).collect()
    }

    fn echo(access: &str, token: &str) -> String {
        serde_json::json!({"headers": [["authorization", format!("SDK-HMAC-SHA256 Access={access}, SignedHeaders=x, Signature=y")], ["x-security-token", token]]}).to_string()
    }

    #[test]
    fn a_run_that_holds_and_each_way_it_can_fail() {
        let mut good =
            ClientReport { client: "rust".into(), requests: 2, latencies_ms: vec![1.0], ..ClientReport::default() };
        good.count_echo(&echo("AK1", "rotation-token.AK1.x")).unwrap();
        good.count_echo(&echo("AK2", "rotation-token.AK2.y")).unwrap();
        // slower than the delay (a busy machine) but over no whole fetch of its own: shown, not failed
        good.time(10_000.0, 400.0);
        let fetches = BTreeMap::from([
            ("rust".to_owned(), vec![[10_100.0, 10_600.0]]),
            ("node".to_owned(), vec![[20_010.0, 20_320.0]]),
        ]);
        let (summary, failed) = check(&plan(), &issued(), &fetches, &[good]);
        assert!(failed.is_empty(), "{failed:?}");
        assert!(summary.contains("2/2"), "{summary}");

        // a token of another pair, a pair never used, a request that waited on its fetch, a failure
        let mut bad =
            ClientReport { client: "node".into(), requests: 2, latencies_ms: vec![1.0], ..ClientReport::default() };
        bad.time(20_000.0, 330.0);
        assert!(bad.count_echo(&echo("AK1", "rotation-token.AK2.y")).unwrap_err().contains("another key pair"));
        bad.count_echo(&echo("AK1", "rotation-token.AK1.y")).unwrap();
        bad.fail("HTTP 401".into());
        let (_, failed) = check(&plan(), &issued(), &fetches, &[bad]);
        let all = failed.join("\n");
        assert!(all.contains("1 requests failed") && all.contains("never used the key pair AK2"), "{all}");
        assert!(all.contains("1 requests after the first waited on a refresh"), "{all}");
        // a client whose first pair was the second: nothing before it is due
        let mut late = ClientReport { client: "python".into(), requests: 1, ..ClientReport::default() };
        late.count_echo(&echo("AK2", "rotation-token.AK2.y")).unwrap();
        let (summary, failed) = check(&plan(), &issued(), &fetches, &[late]);
        assert!(failed.is_empty() && summary.contains("1/1"), "{failed:?} {summary}");
        let (_, failed) = check(&Plan { min_rotations: 3, ..plan() }, &issued(), &fetches, &[]);
        assert!(failed[0].contains("only 1 rotations"), "{failed:?}");
    }
}
