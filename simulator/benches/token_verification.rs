//! Cost of verifying a Clockify webhook token: a first-time RS256 check, a cache hit, a cache miss.
//!
//! The ingress verifies the `Clockify-Signature` token of every webhook delivery before it
//! accepts it, so this is CPU spent per request. Clockify resends the same token on every
//! delivery of a webhook, and `CachedVerifier` makes the RS256 check run once per token; the gap
//! between `rs256_first_time` and `cached_hit` is what the cache saves per delivery. Verification
//! is async only to wait for a JWKS refresh; with a static key it completes on its first poll, so
//! `block_on` adds next to nothing.

use std::hint::black_box;

use common::token::TokenVerifier;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::executor::block_on;
use ingress::token_cache::{CacheOutcome, CachedVerifier};
use simulator::ClockifySigner;

const ADDON_KEY: &str = "bench-addon";
const WORKSPACE_ID: &str = "68adfddad138cb5a3ac9d7a1";
const ADDON_ID: &str = "68adfddad138cb5a3ac9d7a2";

fn token_verification(c: &mut Criterion) {
    let signer = ClockifySigner::test_key(ADDON_KEY);
    let verifier = TokenVerifier::new(signer.public_key_pem(), ADDON_KEY)
        .expect("the simulator's public key is a valid RSA PEM");
    let token = signer.webhook_token(WORKSPACE_ID, ADDON_ID, "NEW_TIME_ENTRY");
    let other_token = signer.webhook_token(WORKSPACE_ID, ADDON_ID, "TIME_ENTRY_UPDATED");
    block_on(verifier.verify(&token)).expect("the signer's webhook token verifies");

    let mut group = c.benchmark_group("webhook_token");
    group.throughput(Throughput::Elements(1));

    group.bench_function("rs256_first_time", |b| {
        b.iter(|| block_on(verifier.verify(black_box(&token))))
    });

    let cached = CachedVerifier::new(verifier.clone(), 10_000);
    let (_, first) = block_on(cached.verify(&token)).expect("the token verifies");
    assert_eq!(first, CacheOutcome::Miss, "a fresh cache misses");
    group.bench_function("cached_hit", |b| {
        b.iter(|| {
            let (claims, outcome) = block_on(cached.verify(black_box(&token))).expect("verifies");
            debug_assert_eq!(outcome, CacheOutcome::Hit);
            claims
        })
    });

    // Capacity one and two alternating tokens: every call misses, verifies with RS256, clears
    // the full cache and inserts, which is the worst case of a delivery with a new token.
    let thrashing = CachedVerifier::new(verifier, 1);
    let tokens = [token.as_str(), other_token.as_str()];
    let mut turn = 0usize;
    group.bench_function("cached_miss", |b| {
        b.iter(|| {
            turn ^= 1;
            let (claims, outcome) =
                block_on(thrashing.verify(black_box(tokens[turn]))).expect("verifies");
            debug_assert_eq!(outcome, CacheOutcome::Miss);
            claims
        })
    });

    group.finish();
}

criterion_group!(benches, token_verification);
criterion_main!(benches);
