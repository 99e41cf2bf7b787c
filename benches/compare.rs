//! Side-by-side cost on the application thread of a sampled child span
//! (start, 2 tags, finish) with each tracer's reporter running and sending
//! to a loopback UDP sink: this crate, fastrace (+ fastrace-jaeger),
//! rustracing_jaeger (compact reporter drained in a loop) and
//! opentelemetry_sdk (batch processor, Jaeger agent exporter).
//!
//! Two measures of the same work: `sampled_children` times the application
//! thread's own CPU (`CLOCK_THREAD_CPUTIME_ID`), which is what tracing costs
//! the application; `wall_*` time the wall clock, which on a small machine
//! also counts the time the application thread waits for a core while the
//! tracer's background threads (and the test sink) run.
//!
//! `scripts/bench-compare.sh` runs it and prints the our/peer ratio tables.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

mod peers;

use peers::{all as impls, sink, thread_cpu};

fn children(c: &mut Criterion) {
    let impls = impls();
    for (group_name, cpu) in [("sampled_children", true), ("wall_sampled_children", false)] {
        let mut group = c.benchmark_group(group_name);
        for n in [1u64, 10, 100, 1000] {
            group.throughput(Throughput::Elements(n));
            for (name, work) in &impls {
                group.bench_with_input(BenchmarkId::new(*name, n), &n, |b, &n| {
                    if cpu {
                        b.iter_custom(|iters| {
                            let t0 = thread_cpu();
                            for _ in 0..iters {
                                work(black_box(n));
                            }
                            thread_cpu() - t0
                        })
                    } else {
                        b.iter(|| work(black_box(n)))
                    }
                });
            }
        }
        group.finish();
    }
}

/// Two threads producing at once, one 100-child trace after another on
/// each: the wall time, per child. (Wall time here: timed by thread CPU,
/// criterion would run fastrace long enough for its unbounded collector to
/// exhaust memory.)
fn two_threads(c: &mut Criterion) {
    let impls = impls();
    let mut group = c.benchmark_group("wall_two_threads");
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
    // The span in a local, dropped at the end of the scope (as in
    // application code); `benches/span.rs` also times it returned through
    // `black_box`.
    group.bench_function("jaeger-tracer_unsampled", |b| {
        b.iter(|| {
            let span = t.start("op");
            black_box(span.context());
        })
    });
    group.bench_function("jaeger-tracer_noop", |b| {
        b.iter(|| {
            let span = noop.start("op");
            black_box(span.context());
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = children, two_threads, unsampled
}
criterion_main!(benches);
