//! The gateway's integration tests, in one test binary: each module was a file of its own under
//! `tests/` (the history of each follows its `git mv`), and linking the gateway and its
//! dependencies into ~25 binaries cost CI more than running the tests. One module or one test:
//! `cargo test -p apig-gateway --test it pool::` or `--test it tls::a_test_name`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod policy_support;
mod replay;

mod apig_cli;
mod battery;
mod cli;
mod conformance;
mod console;
mod docs;
mod errors;
mod faults;
mod keepalive;
mod openapi;
mod policy_access;
mod policy_admin;
mod policy_authorizer;
mod policy_breaker;
mod policy_example;
mod policy_headers;
mod policy_kafka;
mod policy_redis;
mod policy_signing;
mod policy_throttle;
mod pool;
mod reload_admin;
mod requests;
mod status;
mod tls;
mod upstream;
