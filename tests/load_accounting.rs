//! Load: spans at full speed from 2 threads into a queue of 1,000 with a
//! slow collector. Application threads never wait for the sink, memory stays
//! bounded, and every span is accounted for exactly.
//!
//! CI runs 200,000 spans; the documented long run is
//! `LOAD_SPANS=1000000 cargo test --release --test load_accounting`.
//! Finish latency percentiles: `cargo bench --bench finish_latency`.

mod support;

use support::rss_kib;
#[path = "../src/thrift/mod.rs"]
#[allow(dead_code, clippy::all)]
mod thrift;

use std::time::{Duration, Instant};

use jaeger_tracer::{Collector, Tracer};
use support::http::{HttpServer, Reply};

#[test]
fn full_speed_from_two_threads_with_a_slow_sink() {
    let total: u64 = std::env::var("LOAD_SPANS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let server = HttpServer::start(|_| {
        std::thread::sleep(Duration::from_millis(50));
        Reply::Status(202, Vec::new())
    });
    let (tracer, guard) = Tracer::builder("load")
        .with_collector(Collector::new(server.url("/api/traces")))
        .with_queue_size(1_000)
        .with_close_timeout(Duration::from_secs(5))
        .init()
        .unwrap();
    let before = rss_kib();
    let started = Instant::now();
    let slowest = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let tracer = tracer.clone();
                s.spawn(move || {
                    let mut slowest = Duration::ZERO;
                    for i in 0..total / 2 {
                        let mut span = tracer.start("op");
                        span.set_tag("i", i as i64).set_tag("component", "load");
                        let t = Instant::now();
                        span.finish();
                        slowest = slowest.max(t.elapsed());
                    }
                    slowest
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .max()
            .unwrap()
    });
    let elapsed = started.elapsed();
    let grown = rss_kib().saturating_sub(before);
    let _ = guard.close();
    let m = tracer.metrics();
    println!("{total} spans in {elapsed:?}; slowest finish {slowest:?}; RSS +{grown} KiB; {m:?}");
    // The sink takes 50 ms per batch: producers that waited for it would
    // take minutes. A loose bound, for a loaded CI machine.
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
    assert!(
        slowest < Duration::from_millis(100),
        "a finish took {slowest:?}"
    );
    // Bounded by the queue and the reporter's buffers, not by the total.
    assert!(grown < 64 * 1024, "RSS grew by {grown} KiB");
    // Exact accounting: every span in exactly one outcome.
    assert_eq!(m.spans_finished(), total, "{m:?}");
    assert_eq!(
        m.spans_reported
            + m.spans_dropped_queue_full
            + m.spans_failed_to_send
            + m.spans_dropped_too_large
            + m.spans_queued,
        total
    );
    assert!(
        m.spans_dropped_queue_full > 0,
        "the slow sink must overflow the queue: {m:?}"
    );
}
