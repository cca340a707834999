//! Criterion benchmarks: `cargo bench -p apig`. Figures are recorded in docs/BENCHMARKS.md.
#![allow(missing_docs, clippy::unwrap_used)]

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use apig::{Algorithm, PayloadHasher, SdkDate, SecretKey, SignableBody, SignableRequest, Signer, Verifier};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

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
    let now = UNIX_EPOCH + Duration::from_secs(SdkDate::parse("20240403T101500Z").unwrap().unix_seconds() as u64);
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
criterion_main!(benches);
