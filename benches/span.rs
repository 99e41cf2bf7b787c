//! Application-thread cost of spans, and of inject/extract.
//!
//! `cargo bench --bench span` — spans go through the real pipeline: the
//! reporter thread encodes them and sends them to a UDP socket on loopback.

use std::collections::HashMap;
use std::net::UdpSocket;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;
use jaeger_tracer::sampler::ConstSampler;
use jaeger_tracer::{Tracer, TracerGuard};

/// A sink that drains the socket so the kernel buffer never fills.
fn sink() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 70_000];
        while socket.recv(&mut buf).is_ok() {}
    });
    port
}

fn tracer(sampled: bool) -> (Tracer, TracerGuard) {
    Tracer::builder("bench")
        .with_agent_host("127.0.0.1")
        .with_agent_port(sink())
        .with_sampler(ConstSampler::new(sampled))
        .init()
        .unwrap()
}

fn sampled(c: &mut Criterion) {
    let (tracer, _guard) = tracer(true);
    let mut group = c.benchmark_group("sampled");
    for n in [1u64, 10, 100, 1000] {
        group.throughput(Throughput::Elements(n));
        group.bench_with_input(BenchmarkId::new("root_with_children", n), &n, |b, &n| {
            b.iter(|| {
                let root = tracer.start("root");
                for _ in 0..n {
                    let mut child = tracer.span("child").child_of(root.context()).start();
                    child.set_tag("component", "bench");
                    child.set_tag("n", 7);
                }
            });
        });
    }
    group.finish();
}

fn unsampled(c: &mut Criterion) {
    let (tracer, _guard) = tracer(false);
    let noop = Tracer::noop();
    let mut group = c.benchmark_group("unsampled");
    // The span lives in a local and is dropped at the end of the scope, as
    // in application code; `black_box` sees its context so nothing is
    // optimised away.
    group.bench_function("start_finish", |b| {
        b.iter(|| {
            let span = tracer.start("op");
            black_box(span.context());
        });
    });
    group.bench_function("noop_start_finish", |b| {
        b.iter(|| {
            let span = noop.start("op");
            black_box(span.context());
        });
    });
    // The same, the span returned from the closure: criterion then moves the
    // 96-byte value through `black_box` before dropping it (copies that
    // application code does not make).
    group.bench_function("start_finish_returned", |b| {
        b.iter(|| black_box(tracer.start("op")));
    });
    group.bench_function("noop_start_finish_returned", |b| {
        b.iter(|| black_box(noop.start("op")));
    });
    group.finish();
}

fn inject_extract(c: &mut Criterion) {
    let (tracer, _guard) = tracer(true);
    let mut span = tracer.start("op");
    span.set_baggage_item("user", "alice")
        .set_baggage_item("tenant", "acme");
    let ctx = span.context().clone();
    let mut group = c.benchmark_group("inject_extract");
    group.bench_function("inject_uber_trace_id_2_baggage", |b| {
        b.iter(|| {
            let mut carrier: HashMap<String, String> = HashMap::with_capacity(4);
            tracer.inject(black_box(&ctx), &mut carrier);
            carrier
        });
    });
    let mut carrier: HashMap<String, String> = HashMap::new();
    tracer.inject(&ctx, &mut carrier);
    // The carrier's own share of the inject figure: the same three entries,
    // already formatted, copied into a new map (six strings allocated, three
    // keys hashed, all freed) without the tracer.
    let entries: Vec<(String, String)> = carrier
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    group.bench_function("carrier_alone_3_entries", |b| {
        b.iter(|| {
            let mut map: HashMap<String, String> = HashMap::with_capacity(4);
            for (k, v) in black_box(&entries) {
                map.insert(k.as_str().to_owned(), v.as_str().to_owned());
            }
            map
        });
    });
    group.bench_function("extract_uber_trace_id_2_baggage", |b| {
        b.iter(|| tracer.extract(black_box(&carrier)).unwrap());
    });
    // The same with the carrier of HTTP requests, `http::HeaderMap` (what
    // reqwest, hyper, axum and tonic pass around).
    group.bench_function("inject_header_map_uber_trace_id_2_baggage", |b| {
        b.iter(|| {
            let mut headers = HeaderMap::with_capacity(4);
            tracer.inject(black_box(&ctx), &mut headers);
            headers
        });
    });
    let mut headers = HeaderMap::new();
    tracer.inject(&ctx, &mut headers);
    // Its carrier's own share: the same three headers, already formatted,
    // copied into a new map by hand without the tracer (the values' bytes
    // copied and checked, the baggage names' too; the trace header's name
    // static).
    let entries: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    group.bench_function("header_map_alone_3_entries", |b| {
        b.iter(|| {
            let mut map = HeaderMap::with_capacity(4);
            for (k, v) in black_box(&entries) {
                let name = if k == "uber-trace-id" {
                    HeaderName::from_static("uber-trace-id")
                } else {
                    HeaderName::from_bytes(k.as_bytes()).unwrap()
                };
                map.insert(name, HeaderValue::from_str(v).unwrap());
            }
            map
        });
    });
    group.bench_function("extract_header_map_uber_trace_id_2_baggage", |b| {
        b.iter(|| tracer.extract(black_box(&headers)).unwrap());
    });
    group.finish();
}

/// `global::tracer()`, as code that cannot be handed a tracer calls it
/// per span: on one thread, and on two at once (each call timed as the
/// wall time of both threads' calls over their number).
fn global_tracer(c: &mut Criterion) {
    let (tracer, _guard) = tracer(true);
    jaeger_tracer::global::set_tracer(tracer);
    let mut group = c.benchmark_group("global");
    group.bench_function("tracer", |b| {
        b.iter(|| black_box(jaeger_tracer::global::tracer()));
    });
    group.bench_function("tracer_2_threads", |b| {
        b.iter_custom(|iters| {
            let start = std::time::Instant::now();
            std::thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| {
                        for _ in 0..iters {
                            black_box(jaeger_tracer::global::tracer());
                        }
                    });
                }
            });
            start.elapsed()
        });
    });
    group.finish();
    jaeger_tracer::global::take_tracer();
}

criterion_group!(benches, sampled, unsampled, inject_extract, global_tracer);
criterion_main!(benches);
