//! Cluster throttling: two gateway processes share their counters in a real `redis-server`
//! (Debian, started here on a free 127.0.0.1 port), so the limit holds across both; when Redis
//! goes away requests are let through and the failure is logged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod policy_support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use apig_conformance::client::{self, RawResponse};
use common::{assert_apig, closed_port, temp_dir};
use policy_support::{at_window_start, eventually, next_window, read_log, require_tool};

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_redis(dir: &Path) -> (Proc, u16) {
    let server = require_tool("redis-server", "redis-server");
    let port = closed_port();
    let child = Command::new(server)
        .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
        .args(["--dir", dir.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let proc = Proc(child);
    let up = eventually(Duration::from_secs(10), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    assert!(up, "redis-server did not start on port {port}");
    (proc, port)
}

/// Starts `apig-gateway --config FILE` on a free port; returns it, its address and a channel of
/// its stderr lines.
fn start_gateway(config: &Path, log: &Path) -> (Proc, SocketAddr, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_apig-gateway"))
        .args(["--listen", "127.0.0.1:0", "--watch-interval-ms", "0", "--config"])
        .arg(config)
        .arg("--access-log")
        .arg(log)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let proc = Proc(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let until = Instant::now() + Duration::from_secs(20);
    while Instant::now() < until {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200))
            && let Some(addr) = line.strip_prefix("apig-gateway listening on http://")
        {
            return (proc, addr.trim().parse().unwrap(), rx);
        }
    }
    panic!("the gateway did not start");
}

fn get(addr: SocketAddr) -> RawResponse {
    client::request(addr, "GET", "/limited", &[("Host", "api.test")], b"").unwrap()
}

#[test]
fn two_gateways_share_one_limit_through_redis() {
    let dir = temp_dir("redis-cluster");
    let (redis, port) = start_redis(&dir);
    let config = format!(
        r#"{{
      "groups": [{{"id": "g", "apis": [{{"id": "limited", "method": "GET", "path": "/limited", "auth": "none",
                                      "backend": {{"url": "echo:"}}, "policies": ["cluster"]}}]}}],
      "environments": [{{"name": "RELEASE", "published": ["limited"]}}],
      "policies": [{{"name": "cluster", "type": "throttle", "config": {{"api_limit": 6, "interval": 2, "unit": "second",
                    "store": {{"type": "redis", "url": "redis://127.0.0.1:{port}", "prefix": "apig-test", "timeout_ms": 300}}}}}}]
    }}"#
    );
    let path = dir.join("gateway.json");
    std::fs::write(&path, config).unwrap();
    let (log1, log2) = (dir.join("gw1.log"), dir.join("gw2.log"));
    let (_gw1, a1, errors1) = start_gateway(&path, &log1);
    let (_gw2, a2, _errors2) = start_gateway(&path, &log2);

    at_window_start(2000, 1400);
    for round in 0..2 {
        if round > 0 {
            next_window(2000);
        }
        // 6 requests spread over both instances are allowed, then both refuse
        for i in 0..6 {
            let r = get(if i % 2 == 0 { a1 } else { a2 });
            assert_eq!(r.status, 200, "round {round} request {i}: {:?}", r.json());
        }
        let msg = assert_apig(&get(a1), 429, "APIG.0308");
        assert!(msg.ends_with("policy api over ratelimit, limit:6, time:2 second"), "{msg}");
        assert_apig(&get(a2), 429, "APIG.0308");
    }

    // Redis down: the gateways let requests through (fail open), log it, and stay fast
    drop(redis);
    next_window(2000);
    for addr in [a1, a2, a1, a1, a2, a1, a2, a1] {
        let started = Instant::now();
        assert_eq!(get(addr).status, 200);
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    }
    let saw = eventually(Duration::from_secs(5), || {
        read_log(&log1).iter().any(|r| r["extra"]["throttle_store_error"] == true)
    });
    assert!(saw, "no access-log record marks the store failure");
    let mut printed = false;
    while let Ok(line) = errors1.recv_timeout(Duration::from_millis(500)) {
        if line.contains("counter store failed") {
            printed = true;
            break;
        }
    }
    assert!(printed, "the store failure was not reported on stderr");
}
