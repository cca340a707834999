//! Kafka log push against a real broker protocol: Debian's `kcat -X test.mock.num.brokers=1`
//! runs librdkafka's in-memory mock broker on loopback; the gateway's pure-Rust client pushes the
//! access-log records there, and `kcat -C` reads them back. A dead or silent broker never slows
//! or fails a request, and the records it loses are counted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::policy_support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{closed_port, slow_backend};
use policy_support::{eventually, get, metric, read_log, require_tool, start_logged};

/// The mock broker (a `kcat` producer kept alive by its open stdin) and its bootstrap address.
struct MockBroker {
    child: Child,
    addr: String,
}

impl Drop for MockBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mock_broker() -> MockBroker {
    let kcat = require_tool("kcat", "kcat");
    let mut child = Command::new(kcat)
        .args(["-X", "test.mock.num.brokers=1", "-b", "unused:9092", "-P", "-t", "keepalive"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            // "Mock cluster enabled: original bootstrap.servers and security.protocol ignored and replaced with 127.0.0.1:PORT"
            if let Some(pos) = line.find("replaced with ") {
                let _ = tx.send(line[pos + "replaced with ".len()..].trim().to_owned());
            }
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(10)).expect("kcat printed no mock broker address");
    MockBroker { child, addr }
}

/// The record values of `topic` partition 0, read back with `kcat -C` (bounded).
fn consume(broker: &str, topic: &str) -> Vec<serde_json::Value> {
    let out = Command::new(require_tool("kcat", "kcat"))
        .args(["-b", broker, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%s\n"])
        .args(["-X", "socket.timeout.ms=3000", "-m", "10"])
        .stderr(Stdio::null())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON record {l:?}: {e}")))
        .collect()
}

fn config(broker: &str, dead: u16, silent: u16) -> String {
    format!(
        r#"{{
  "groups": [{{"id": "g", "apis": [
    {{"id": "logged", "method": "GET", "path": "/logged", "auth": "none", "backend": {{"url": "echo:"}}, "policies": ["kafka"]}},
    {{"id": "dead", "method": "GET", "path": "/dead", "auth": "none", "backend": {{"url": "echo:"}}, "policies": ["kafka-dead"]}},
    {{"id": "silent", "method": "GET", "path": "/silent", "auth": "none", "backend": {{"url": "echo:"}}, "policies": ["kafka-silent"]}}
  ]}}],
  "environments": [{{"name": "RELEASE", "published": ["logged", "dead", "silent"]}}],
  "policies": [
    {{"name": "kafka", "type": "kafka_log", "config": {{"brokers": ["{broker}"], "topic": "apig-access", "linger_ms": 20}}}},
    {{"name": "kafka-dead", "type": "kafka_log", "config": {{"brokers": ["127.0.0.1:{dead}"], "topic": "t", "queue_size": 4, "timeout_ms": 300}}}},
    {{"name": "kafka-silent", "type": "kafka_log", "config": {{"brokers": ["127.0.0.1:{silent}"], "topic": "t", "queue_size": 4, "timeout_ms": 300}}}}
  ]
}}"#
    )
}

#[test]
fn records_arrive_at_the_broker_and_a_dead_or_silent_broker_never_slows_requests() {
    let broker = mock_broker();
    let (gw, _, log) = start_logged("kafka", &config(&broker.addr, closed_port(), slow_backend()));
    let a = gw.addr();

    let mut ids = Vec::new();
    for i in 0..20 {
        let r = get(a, &format!("/logged?n={i}"), &[]);
        assert_eq!(r.status, 200);
        ids.push(r.header("x-request-id").unwrap().to_owned());
    }
    let mut got = Vec::new();
    let arrived = eventually(Duration::from_secs(15), || {
        got = consume(&broker.addr, "apig-access");
        got.len() >= 20
    });
    assert!(arrived, "{} of 20 records arrived", got.len());
    let got_ids: Vec<&str> = got.iter().map(|r| r["request_id"].as_str().unwrap()).collect();
    assert_eq!(got_ids, ids, "every record, in order");
    assert_eq!(got[3]["uri"], "/logged?n=3");
    assert_eq!(got[3]["status"], 200);
    assert_eq!(got[3]["api"], "logged");
    // with the access log on, the pushed record is the logged line
    let logged = read_log(&log);
    assert_eq!(logged.iter().find(|r| r["request_id"] == got[3]["request_id"]), Some(&got[3]));
    // and counted in the status listener's metrics
    assert!(eventually(Duration::from_secs(5), || metric(&gw, "apig_gateway_kafka_log_sent_total", "kafka") >= 20.0));

    // a dead broker (connection refused) and a silent one (accepts, never answers)
    for path in ["/dead", "/silent"] {
        let started = Instant::now();
        for _ in 0..30 {
            let one = Instant::now();
            assert_eq!(get(a, path, &[]).status, 200);
            assert!(one.elapsed() < Duration::from_millis(250), "{path}: a request took {:?}", one.elapsed());
        }
        assert!(started.elapsed() < Duration::from_secs(3), "{path}: {:?}", started.elapsed());
        let api = &path[1..];
        let counted = eventually(Duration::from_secs(5), || {
            get(a, path, &[]);
            read_log(&log).iter().any(|r| r["api"] == api && r["extra"]["kafka_log_dropped"].as_u64().unwrap_or(0) > 0)
        });
        assert!(counted, "{path}: the lost records are not counted in the access log");
        let policy = format!("kafka-{api}");
        let lost = metric(&gw, "apig_gateway_kafka_log_dropped_total", &policy)
            + metric(&gw, "apig_gateway_kafka_log_failed_total", &policy);
        assert!(lost > 0.0, "{path}: the lost records are not in the metrics");
        assert_eq!(metric(&gw, "apig_gateway_kafka_log_sent_total", &policy), 0.0);
    }

    // the broker goes away while the gateway runs: requests stay fast
    drop(broker);
    for _ in 0..20 {
        let one = Instant::now();
        assert_eq!(get(a, "/logged", &[]).status, 200);
        assert!(one.elapsed() < Duration::from_millis(250), "{:?}", one.elapsed());
    }
}

#[test]
fn with_the_access_log_off_records_still_carry_the_request() {
    let broker = mock_broker();
    let dir = common::temp_dir("kafka-log-off");
    let (gw, _) = common::start_in(&dir, &config(&broker.addr, closed_port(), slow_backend()));
    let r = get(gw.addr(), "/logged?off=1", &[("User-Agent", "kafka-test/1")]);
    assert_eq!(r.status, 200);
    let id = r.header("x-request-id").unwrap().to_owned();
    let mut got = Vec::new();
    let arrived = eventually(Duration::from_secs(15), || {
        got = consume(&broker.addr, "apig-access");
        !got.is_empty()
    });
    assert!(arrived, "no record arrived");
    let record = &got[0];
    assert_eq!(record["request_id"], id.as_str());
    assert_eq!(record["method"], "GET");
    assert_eq!(record["uri"], "/logged?off=1");
    assert_eq!(record["environment"], "RELEASE");
    assert_eq!(record["user_agent"], "kafka-test/1");
    assert!(record["remote_addr"].as_str().unwrap().starts_with("127.0.0.1:"), "{record}");
    assert_eq!(record["host"], "api.test");
    assert!(record["time"].as_str().unwrap().ends_with('Z'), "{record}");
}
