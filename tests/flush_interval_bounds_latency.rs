//! Without any flush call, a finished span reaches the agent within about
//! one flush interval, also when its trace's root has not finished (the
//! open segment ages out), and with an interval longer than the machine's
//! uptime would allow as an `Instant` offset.

mod support;
#[path = "../src/thrift/mod.rs"]
#[allow(dead_code, clippy::all)]
mod thrift;

use std::time::{Duration, Instant};

use jaeger_tracer::Tracer;
use support::{spans, UdpSink};

#[test]
fn spans_arrive_after_one_interval_without_flush() {
    let sink = UdpSink::start();
    let interval = Duration::from_millis(200);
    let (tracer, guard) = Tracer::builder("interval")
        .with_agent_host("127.0.0.1")
        .with_agent_port(sink.port())
        .with_flush_interval(interval)
        .init()
        .unwrap();
    // A long request: its root stays open while children finish.
    let root = tracer.start("long-request");
    let t = Instant::now();
    tracer
        .span("step")
        .child_of(root.context())
        .start()
        .finish();
    let batches = sink.wait_for_spans(1, true, Duration::from_secs(5));
    let took = t.elapsed();
    let all = spans(&batches);
    assert_eq!(all.len(), 1, "the child arrives before its root finishes");
    assert_eq!(all[0].operation_name, "step");
    // One interval for the open segment, at most one more in the packet,
    // plus a tick: well under a second.
    assert!(
        took >= interval && took < Duration::from_secs(1),
        "{took:?}"
    );
    drop(root);
    drop(guard);
}

#[test]
fn an_interval_longer_than_the_uptime_still_flushes_at_close() {
    // Ten years: `Instant::now() - interval` does not exist on any machine;
    // nothing may panic, and close still delivers.
    let sink = UdpSink::start();
    let (tracer, guard) = Tracer::builder("long-interval")
        .with_agent_host("127.0.0.1")
        .with_agent_port(sink.port())
        .with_flush_interval(Duration::from_secs(10 * 365 * 24 * 3600))
        .init()
        .unwrap();
    tracer.start("op").finish();
    std::thread::sleep(Duration::from_millis(50));
    assert!(sink.datagrams().is_empty(), "nothing is due yet");
    drop(guard);
    assert_eq!(
        spans(&sink.wait_for_spans(1, true, Duration::from_secs(5))).len(),
        1
    );
}
