//! Side-by-side cost on the application thread of a sampled child span
//! (start, 2 tags, finish) with each tracer's reporter running and sending
//! to a loopback UDP sink: this crate, fastrace (+ fastrace-jaeger),
//! rustracing_jaeger (compact reporter drained in a loop) and
//! opentelemetry_sdk (batch processor, Jaeger agent exporter).
//!
//! `scripts/bench-compare.sh` runs it and prints the our/peer ratio table.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

mod peers;

use peers::{all as impls, sink};

fn children(c: &mut Criterion) {
    let impls = impls();
    let mut group = c.benchmark_group("sampled_children");
    for n in [1u64, 10, 100, 1000] {
        group.throughput(Throughput::Elements(n));
        for (name, work) in &impls {
            group.bench_with_input(BenchmarkId::new(*name, n), &n, |b, &n| {
                b.iter(|| work(black_box(n)))
            });
        }
    }
    group.finish();
}

/// Two threads producing at once: the wall time of one 100-child trace on
/// each thread, reported per child.
fn two_threads(c: &mut Criterion) {
    let impls = impls();
    let mut group = c.benchmark_group("two_threads");
    group.throughput(Throughput::Elements(100));
    for (name, work) in &impls {
        let work = *work;
        group.bench_function(*name, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                std::thread::scope(|s| {
                    for _ in 0..2 {
                        s.spawn(move || {
                            for _ in 0..iters {
                                work(100);
                            }
                        });
                    }
                });
                start.elapsed()
            });
        });
    }
    group.finish();
}

fn unsampled(c: &mut Criterion) {
    let addr = sink();
    let (t, _guard) = jaeger_tracer::Tracer::builder("bench")
        .with_agent_host("127.0.0.1")
        .with_agent_port(addr.port())
        .with_sampler(jaeger_tracer::sampler::ConstSampler::new(false))
        .init()
        .unwrap();
    let noop = jaeger_tracer::Tracer::noop();
    let mut group = c.benchmark_group("start_finish");
    group.bench_function("jaeger-tracer_unsampled", |b| {
        b.iter(|| black_box(t.start("op")))
    });
    group.bench_function("jaeger-tracer_noop", |b| {
        b.iter(|| black_box(noop.start("op")))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = children, two_threads, unsampled
}
criterion_main!(benches);
