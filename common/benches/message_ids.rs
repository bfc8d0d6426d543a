//! Cost of the ids every accepted event gets: ingress draws a v7 id for the request (when the
//! caller sent none) and one for the event's message, and one per published broker message.
//!
//! uuid draws the random bits of each id from the kernel unless its `fast-rng` feature is on;
//! with it, from `rand`'s thread-local generator (ChaCha, seeded from the kernel). The workspace
//! turns the feature on; comparing this benchmark with a build without it shows what that saves
//! per id (BENCHMARKS section 13).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use uuid::Uuid;

fn message_ids(c: &mut Criterion) {
    let mut group = c.benchmark_group("message_id");
    group.throughput(Throughput::Elements(1));
    group.bench_function("now_v7", |b| b.iter(|| black_box(Uuid::now_v7())));
    group.bench_function("new_v4", |b| b.iter(|| black_box(Uuid::new_v4())));
    group.finish();
}

criterion_group!(benches, message_ids);
criterion_main!(benches);
