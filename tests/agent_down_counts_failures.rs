//! With nothing listening on the agent port the application sees no error
//! and no panic; failed sends are counted; once a sink binds the port, spans
//! flow again.

mod support;
#[path = "../src/thrift/mod.rs"]
#[allow(dead_code, clippy::all)]
mod thrift;

use std::net::UdpSocket;
use std::time::Duration;

use jaeger_tracer::Tracer;
use support::UdpSink;

#[test]
fn failures_are_counted_and_flow_resumes() {
    // Find a free port, then release it: nothing listens there.
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (tracer, guard) = Tracer::builder("agent-down")
        .with_agent_host("127.0.0.1")
        .with_agent_port(port)
        .init()
        .unwrap();

    // Each flush sends one datagram; the kernel reports the refused ones
    // (ICMP port unreachable) on the following send.
    for _ in 0..10 {
        tracer.start("while-down").finish();
        tracer
            .flush()
            .expect("flush reports no transport error to the caller");
        std::thread::sleep(Duration::from_millis(5));
    }
    let down = tracer.metrics();
    assert!(down.spans_failed_to_send > 0, "{down:?}");
    assert!(down.send_errors > 0, "{down:?}");
    assert_eq!(down.spans_finished(), 10, "{down:?}");

    let sink = UdpSink::bind(UdpSocket::bind(("127.0.0.1", port)).expect("port still free"));
    for _ in 0..10 {
        tracer.start("after-up").finish();
        tracer.flush().unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    let batches = sink.wait_for_spans(9, true, Duration::from_secs(5));
    let arrived = batches
        .iter()
        .flat_map(|b| &b.spans)
        .filter(|s| s.operation_name == "after-up")
        .count();
    // The first send after the bind may still carry the stale refusal.
    assert!(
        arrived >= 9,
        "only {arrived} spans arrived after the sink bound"
    );
    // The failures so far travel to the agent in ClientStats.
    let last = batches.last().unwrap().stats.clone().unwrap();
    assert!(last.failed_to_emit_spans > 0);
    drop(guard);
    assert_eq!(tracer.metrics().spans_finished(), 20);
}

#[test]
fn unresolvable_agent_host_is_counted_not_raised() {
    let (tracer, guard) = Tracer::builder("dns-fail")
        .with_agent_host("no-such-agent.invalid")
        .init()
        .unwrap();
    tracer.start("op").finish();
    tracer.flush().unwrap();
    let m = tracer.metrics();
    assert_eq!(m.spans_failed_to_send, 1, "{m:?}");
    drop(guard);
}
