//! Criterion benchmarks: `cargo bench -p apig`. Figures are recorded in docs/BENCHMARKS.md.
//! With `APIG_BENCH_COUNT` set, a fixed-count run for instruction counts instead (see `main`).
#![allow(missing_docs, clippy::unwrap_used, clippy::panic)]

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use apig::{Algorithm, PayloadHasher, SdkDate, SecretKey, SignableBody, SignableRequest, Signer, Verifier};
use criterion::{Criterion, Throughput, criterion_group};

const AK: &str = "AKTESTEXAMPLE0000001";
const SK: &str = "sk-EXAMPLE-0123456789abcdefghijklmnopqrstuv";
const GET_URL: &str = "https://api.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs?limit=2&marker=13551d6b";
const GET_HEADERS: [(&str, &str); 3] =
    [("Host", "api.example.com"), ("Content-Type", "application/json"), ("X-Sdk-Date", "20240403T101500Z")];

fn signing(c: &mut Criterion) {
    let signer = Signer::new(AK, SK).unwrap();
    let mut group = c.benchmark_group("sign");
    group.bench_function("typical_get", |b| {
        b.iter(|| {
            let req = SignableRequest::new("GET", GET_URL, &GET_HEADERS, SignableBody::Bytes(b""));
            black_box(signer.sign(black_box(&req)).unwrap())
        });
    });
    let body = vec![b'x'; 1024];
    group.bench_function("post_1kib", |b| {
        b.iter(|| {
            let req = SignableRequest::new(
                "POST",
                "https://api.example.com/v1/items",
                &GET_HEADERS,
                SignableBody::Bytes(&body),
            );
            black_box(signer.sign(black_box(&req)).unwrap())
        });
    });
    let sm3 = Signer::builder(AK, SK).algorithm(Algorithm::SdkHmacSm3).build().unwrap();
    group.bench_function("typical_get_sm3", |b| {
        b.iter(|| {
            let req = SignableRequest::new("GET", GET_URL, &GET_HEADERS, SignableBody::Bytes(b""));
            black_box(sm3.sign(black_box(&req)).unwrap())
        });
    });
    group.finish();
}

fn verifying(c: &mut Criterion) {
    let signer = Signer::new(AK, SK).unwrap();
    let signed = signer.sign(&SignableRequest::new("GET", GET_URL, &GET_HEADERS, SignableBody::Bytes(b""))).unwrap();
    let mut headers: Vec<(&str, &str)> = GET_HEADERS.to_vec();
    headers.push(("Authorization", &signed.authorization));
    let now = UNIX_EPOCH
        + Duration::from_secs(u64::try_from(SdkDate::parse("20240403T101500Z").unwrap().unix_seconds()).unwrap());
    let target = "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs?limit=2&marker=13551d6b";
    let mut group = c.benchmark_group("verify");
    // A key store of long-lived SecretKeys (what a gateway keeps): the keyed HMAC is reused.
    let verifier = Verifier::new(HashMap::from([(AK.to_owned(), SecretKey::new(SK))]));
    group.bench_function("typical_get", |b| {
        b.iter(|| {
            let req = SignableRequest::new("GET", target, &headers, SignableBody::Bytes(b""));
            black_box(verifier.verify_at(black_box(&req), now).unwrap())
        });
    });
    // A map of plain strings: a SecretKey (and its keyed HMAC) is made on every lookup.
    let verifier = Verifier::new(HashMap::from([(AK.to_owned(), SK.to_owned())]));
    group.bench_function("typical_get_string_keys", |b| {
        b.iter(|| {
            let req = SignableRequest::new("GET", target, &headers, SignableBody::Bytes(b""));
            black_box(verifier.verify_at(black_box(&req), now).unwrap())
        });
    });
    group.finish();
}

fn hashing(c: &mut Criterion) {
    let mut group = c.benchmark_group("body_hash");
    for (name, size) in [("1MiB", 1usize << 20), ("64MiB", 64 << 20)] {
        let data = vec![0x5au8; size];
        group.throughput(Throughput::Bytes(size as u64));
        if size > 1 << 20 {
            group.sample_size(10);
        }
        group.bench_function(format!("sha256_{name}"), |b| {
            b.iter(|| {
                let mut h = PayloadHasher::for_algorithm(Algorithm::SdkHmacSha256);
                for chunk in data.chunks(64 * 1024) {
                    h.update(chunk);
                }
                black_box(h.finalize_hex())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, signing, verifying, hashing);

/// Fixed-count mode for instruction counts (deterministic, unlike times on a shared machine):
/// `APIG_BENCH_COUNT=10000 APIG_BENCH_CASE=sign_get valgrind --tool=callgrind <bench binary>`
/// runs one case that many times and exits; the difference between a run of N and a run of 0
/// divided by N is the case's instructions per operation. Cases: see [`run_count`]. Valgrind
/// has no SHA-NI, so the software SHA-256 rounds (`sha2::sha256::compress256`, ~23.5k
/// instructions per signature) dominate; subtract them (`callgrind_annotate --inclusive=no`) to
/// compare the core's own work. The binary is the one `cargo bench -p apig --bench sign
/// --no-run` prints; times: `cargo bench -p apig --bench sign -- '^(sign|verify)/'`.
fn main() {
    if let Some(count) = std::env::var("APIG_BENCH_COUNT").ok().and_then(|n| n.parse::<u32>().ok()) {
        let case = std::env::var("APIG_BENCH_CASE").unwrap_or_else(|_| "sign_get".to_owned());
        run_count(&case, count);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

/// Runs `case` `count` times: `sign_get` (the criterion `sign/typical_get`), `sign_get_clock` (the
/// same request without `X-Sdk-Date`: the date is formatted from the time, as a gateway signing
/// forwarded requests does), `sign_get_clock_lower` (that with lower-case header names, as a
/// gateway's HTTP library hands them over), `sign_post_1kib`, `sign_get_sm3`, `verify_get` (the criterion
/// `verify/typical_get`), `verify_get_precomputed` (body hash given, as a gateway passes it).
fn run_count(case: &str, count: u32) {
    let signer = Signer::new(AK, SK).unwrap();
    let sm3 = Signer::builder(AK, SK).algorithm(Algorithm::SdkHmacSm3).build().unwrap();
    let now = UNIX_EPOCH
        + Duration::from_secs(u64::try_from(SdkDate::parse("20240403T101500Z").unwrap().unix_seconds()).unwrap());
    let signed = signer.sign(&SignableRequest::new("GET", GET_URL, &GET_HEADERS, SignableBody::Bytes(b""))).unwrap();
    let mut headers: Vec<(&str, &str)> = GET_HEADERS.to_vec();
    headers.push(("Authorization", &signed.authorization));
    let target = "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs?limit=2&marker=13551d6b";
    let verifier = Verifier::new(HashMap::from([(AK.to_owned(), SecretKey::new(SK))]));
    let body = vec![b'x'; 1024];
    let empty_hash = apig::HashFunction::Sha256.empty_hash();
    for _ in 0..count {
        match case {
            "sign_get" => {
                let req = SignableRequest::new("GET", GET_URL, &GET_HEADERS, SignableBody::Bytes(b""));
                black_box(signer.sign(black_box(&req)).unwrap());
            }
            "sign_get_clock" => {
                let req = SignableRequest::new("GET", GET_URL, &GET_HEADERS[..2], SignableBody::Bytes(b""));
                black_box(signer.sign_at(black_box(&req), now).unwrap());
            }
            "sign_get_clock_lower" => {
                let headers = [("host", "api.example.com"), ("content-type", "application/json")];
                let req = SignableRequest::new("GET", GET_URL, &headers, SignableBody::Bytes(b""));
                black_box(signer.sign_at(black_box(&req), now).unwrap());
            }
            "sign_post_1kib" => {
                let url = "https://api.example.com/v1/items";
                let req = SignableRequest::new("POST", url, &GET_HEADERS, SignableBody::Bytes(&body));
                black_box(signer.sign(black_box(&req)).unwrap());
            }
            "sign_get_sm3" => {
                let req = SignableRequest::new("GET", GET_URL, &GET_HEADERS, SignableBody::Bytes(b""));
                black_box(sm3.sign(black_box(&req)).unwrap());
            }
            "verify_get" => {
                let req = SignableRequest::new("GET", target, &headers, SignableBody::Bytes(b""));
                black_box(verifier.verify_at(black_box(&req), now).unwrap());
            }
            "verify_get_precomputed" => {
                let req = SignableRequest::new("GET", target, &headers, SignableBody::Precomputed(empty_hash));
                black_box(verifier.verify_at(black_box(&req), now).unwrap());
            }
            other => panic!("unknown APIG_BENCH_CASE {other}"),
        }
    }
}
