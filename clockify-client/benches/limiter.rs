//! Cost of one outbound rate-limiter decision: the shared GCRA script in Redis, and the local
//! governor fallback used while Redis is away.
//!
//! Every outbound Clockify call of a worker waits on `RateLimiter::acquire` first, so this is the
//! fixed overhead added to each call when no wait is needed. The rate is set so high that no
//! decision ever sleeps: what is measured is the decision itself (a Redis round trip plus the
//! Lua script, or an in-process GCRA check), not pacing.

use std::sync::Arc;

use clockify_client::metrics::OutboundMetrics;
use clockify_client::rate_limit::{LimiterMode, Priority, RateLimitSettings, RateLimiter};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const REDIS_URL: &str = "redis://127.0.0.1:6379";
const WORKSPACE_ID: &str = "68adfddad138cb5a3ac9d7a1";
const START_REDIS: &str = "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 \
    --save \"\" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log";

/// A bucket so generous that no decision waits: `requests_per_second` must exceed the rate the
/// benchmark can call at, or after the burst is spent it measures the pacing instead of the
/// decision (at 1e6/s the local limiter, which decides in well under a microsecond, did exactly
/// that).
fn settings(requests_per_second: f64) -> RateLimitSettings {
    RateLimitSettings {
        requests_per_second,
        headroom: 0.0,
        burst: 1_000_000,
        fallback_share: 1.0,
        // Per process, so a run never shares a bucket with a test or another run.
        key_prefix: format!("bench-{}", std::process::id()),
    }
}

fn metrics() -> Arc<OutboundMetrics> {
    Arc::new(OutboundMetrics::new(&prometheus::Registry::new()))
}

fn limiter_decision(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime builds");

    let redis = runtime
        .block_on(RateLimiter::connect_redis(REDIS_URL))
        .unwrap_or_else(|| {
            panic!("Redis is not reachable at {REDIS_URL}; start it with: {START_REDIS}")
        });
    // A Redis round trip takes tens of microseconds, far slower than one slot per microsecond.
    let shared = RateLimiter::new(settings(1e6), Some(redis), metrics());
    let mode = runtime.block_on(shared.acquire(WORKSPACE_ID, Priority::Interactive, None));
    assert_eq!(
        mode,
        LimiterMode::Shared,
        "the Redis limiter fell back to the local one; is Redis at {REDIS_URL} answering? \
         start it with: {START_REDIS}"
    );

    // One slot per nanosecond: a local decision cannot keep up, so it never waits.
    let local = RateLimiter::new(settings(1e9), None, metrics());
    assert_eq!(
        runtime.block_on(local.acquire(WORKSPACE_ID, Priority::Interactive, None)),
        LimiterMode::LocalFallback
    );

    let mut group = c.benchmark_group("limiter_acquire");
    group.throughput(Throughput::Elements(1));
    group.bench_function("redis_gcra", |b| {
        b.to_async(&runtime)
            .iter(|| shared.acquire(WORKSPACE_ID, Priority::Interactive, None))
    });
    group.bench_function("governor_fallback", |b| {
        b.to_async(&runtime)
            .iter(|| local.acquire(WORKSPACE_ID, Priority::Interactive, None))
    });
    group.finish();

    assert!(
        !shared.is_degraded(),
        "Redis stopped answering during the benchmark; the figures mix in the fallback"
    );
}

criterion_group!(benches, limiter_decision);
criterion_main!(benches);
