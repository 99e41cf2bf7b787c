//! With a queue of 10 and a sink that never reads, 100,000 finishes complete
//! without blocking, and every span is accounted for exactly:
//! finished = reported + dropped (each reason) + failed + still queued.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use jaeger_tracer::Tracer;

#[test]
fn full_queue_never_blocks_and_drops_are_counted_exactly() {
    // Bound but never read: the kernel buffer fills and the sink is stalled.
    let stalled = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (tracer, guard) = Tracer::builder("queue-full")
        .with_agent_host("127.0.0.1")
        .with_agent_port(stalled.local_addr().unwrap().port())
        .with_queue_size(10)
        .init()
        .unwrap();

    const N: u64 = 100_000;
    let started = Instant::now();
    for i in 0..N {
        let mut s = tracer.start("op");
        s.set_tag("i", i as i64);
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(2),
        "100,000 finishes took {elapsed:?}"
    );

    tracer.flush().unwrap();
    let m = tracer.metrics();
    assert_eq!(m.spans_finished(), N, "{m:?}");
    assert_eq!(m.spans_queued, 0, "{m:?}");
    assert!(
        m.spans_dropped_queue_full > 0,
        "a queue of 10 must overflow: {m:?}"
    );
    assert_eq!(
        m.spans_reported
            + m.spans_dropped_queue_full
            + m.spans_failed_to_send
            + m.spans_dropped_too_large,
        N,
        "{m:?}"
    );
    drop(guard);
    // After close, further spans are refused and counted, not lost silently.
    tracer.start("late").finish();
    let after = tracer.metrics();
    assert_eq!(after.spans_dropped_closed, 1, "{after:?}");
    assert_eq!(after.spans_finished(), N + 1);
}
