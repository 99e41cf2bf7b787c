//! 100,000 spans over 1,000 traces, then the guard dropped: the sink
//! receives every span, no datagram exceeds the max packet size, and the
//! spans of one trace arrive in one datagram whenever they fit in one.

mod support;
#[path = "../src/thrift/mod.rs"]
#[allow(dead_code, clippy::all)]
mod thrift;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use jaeger_tracer::Tracer;
use support::UdpSink;

const TRACES: usize = 1_000;
const SPANS_PER_TRACE: usize = 100;
const MAX_PACKET: usize = 65_000;

#[test]
fn all_spans_arrive_in_segments_within_packet_size() {
    let sink = UdpSink::start();
    let (tracer, guard) = Tracer::builder("segments")
        .with_agent_host("127.0.0.1")
        .with_agent_port(sink.port())
        .with_max_packet_size(MAX_PACKET)
        // Large enough for the whole burst: this test is about delivery and
        // packing, the queue-full test covers drops.
        .with_queue_size(TRACES * SPANS_PER_TRACE)
        // A trace's segment waits at most one flush interval for its root:
        // with the default second, a machine that stalls the reporter
        // thread for that long (a loaded VM, once) splits a trace. Packing
        // is the question here; the guard's close flushes everything.
        .with_flush_interval(Duration::from_secs(30))
        .init()
        .unwrap();

    // Two producer threads, each making whole traces (a root and 99
    // children), so traces interleave in the queue.
    std::thread::scope(|s| {
        for t in 0..2 {
            let tracer = tracer.clone();
            s.spawn(move || {
                for i in (t..TRACES).step_by(2) {
                    let mut root = tracer
                        .span("request")
                        .with_tag("trace.no", i as i64)
                        .start();
                    let ctx = root.context().clone();
                    for j in 1..SPANS_PER_TRACE {
                        let mut c = tracer.span("step").child_of(&ctx).start();
                        c.set_tag("j", j as i64);
                    }
                    root.finish();
                }
            });
        }
    });
    drop(guard);
    let m = tracer.metrics();
    assert_eq!(m.spans_reported, (TRACES * SPANS_PER_TRACE) as u64, "{m:?}");
    assert_eq!(m.spans_lost(), 0, "{m:?}");

    let total = TRACES * SPANS_PER_TRACE;
    let batches = sink.wait_for_spans(total, true, Duration::from_secs(10));
    let datagrams = sink.datagrams();
    assert!(
        datagrams.iter().all(|d| d.len() <= MAX_PACKET),
        "oversize datagram"
    );

    let mut ids = HashSet::new();
    let mut datagrams_of_trace: HashMap<i64, HashSet<usize>> = HashMap::new();
    for (i, b) in batches.iter().enumerate() {
        for s in &b.spans {
            assert!(ids.insert((s.trace_id_low, s.span_id)), "duplicate span");
            datagrams_of_trace
                .entry(s.trace_id_low)
                .or_default()
                .insert(i);
        }
    }
    assert_eq!(ids.len(), total, "every span arrives exactly once");
    assert_eq!(datagrams_of_trace.len(), TRACES);
    // A trace of 100 small spans is far below 65,000 bytes: never split.
    let split: Vec<_> = datagrams_of_trace
        .values()
        .filter(|d| d.len() > 1)
        .collect();
    assert!(
        split.is_empty(),
        "{} traces were split across datagrams: {m:?}",
        split.len()
    );
    // Packing: datagrams are well filled, not one per trace.
    assert!(
        batches.len() < TRACES / 5,
        "{} datagrams for {TRACES} traces",
        batches.len()
    );
    // seqNo increments by one per datagram.
    let mut seqs: Vec<i64> = batches.iter().map(|b| b.seq_no.unwrap()).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=batches.len() as i64).collect::<Vec<_>>());
}
