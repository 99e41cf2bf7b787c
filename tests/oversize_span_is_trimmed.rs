//! A span too big for one packet is trimmed (logs first, then tags) and
//! arrives with a marker tag; one that cannot fit even bare is dropped and
//! counted. No datagram is ever larger than the max packet size.

mod support;
#[path = "../src/thrift/mod.rs"]
#[allow(dead_code, clippy::all)]
mod thrift;

use std::time::Duration;

use jaeger_tracer::Tracer;
use support::{spans, tag, UdpSink};

const MAX_PACKET: usize = 65_000;

fn tracer_for(sink: &UdpSink) -> (Tracer, jaeger_tracer::TracerGuard) {
    Tracer::builder("oversize")
        .with_agent_host("127.0.0.1")
        .with_agent_port(sink.port())
        .with_max_packet_size(MAX_PACKET)
        .init()
        .unwrap()
}

#[test]
fn span_with_100k_tags_arrives_without_tags_and_marked() {
    let sink = UdpSink::start();
    let (tracer, guard) = tracer_for(&sink);
    let mut big = tracer.start("many-tags");
    for i in 0..100_000i64 {
        big.set_tag("k", i);
    }
    big.finish();
    let mut small = tracer.start("small");
    small.set_tag("kept", true);
    small.finish();
    drop(guard);

    let batches = sink.wait_for_spans(2, true, Duration::from_secs(5));
    assert!(sink.datagrams().iter().all(|d| d.len() <= MAX_PACKET));
    let all = spans(&batches);
    let big = all
        .iter()
        .find(|s| s.operation_name == "many-tags")
        .expect("trimmed span arrives");
    assert_eq!(
        tag(big, "jaeger.trimmed").unwrap().v_str.as_deref(),
        Some("tags")
    );
    assert_eq!(big.tags.as_ref().unwrap().len(), 1);
    let small = all.iter().find(|s| s.operation_name == "small").unwrap();
    assert!(tag(small, "jaeger.trimmed").is_none());
    assert_eq!(tag(small, "kept").unwrap().v_bool, Some(true));
    let m = tracer.metrics();
    assert_eq!(
        (m.spans_trimmed, m.spans_reported, m.spans_lost()),
        (1, 2, 0),
        "{m:?}"
    );
}

#[test]
fn span_with_1mb_log_field_keeps_its_tags() {
    let sink = UdpSink::start();
    let (tracer, guard) = tracer_for(&sink);
    let mut span = tracer.start("huge-log");
    span.set_tag("http.method", "GET");
    let payload = "x".repeat(1 << 20);
    span.log(move |f| {
        f.field("dump", payload);
    });
    span.finish();
    drop(guard);

    let batches = sink.wait_for_spans(1, true, Duration::from_secs(5));
    assert!(sink.datagrams().iter().all(|d| d.len() <= MAX_PACKET));
    let all = spans(&batches);
    assert_eq!(all.len(), 1);
    assert!(all[0].logs.is_none());
    assert_eq!(
        tag(&all[0], "jaeger.trimmed").unwrap().v_str.as_deref(),
        Some("logs")
    );
    assert_eq!(
        tag(&all[0], "http.method").unwrap().v_str.as_deref(),
        Some("GET")
    );
}

#[test]
fn span_that_cannot_fit_bare_is_dropped_and_counted() {
    let sink = UdpSink::start();
    let (tracer, guard) = Tracer::builder("oversize")
        .with_agent_host("127.0.0.1")
        .with_agent_port(sink.port())
        .with_max_packet_size(MAX_PACKET)
        // Lifting the name cap lets a name alone exceed a packet.
        .with_max_tag_value_len(usize::MAX)
        .init()
        .unwrap();
    tracer.start("x".repeat(100_000)).finish();
    tracer.start("fine").finish();
    drop(guard);

    let batches = sink.wait_for_spans(1, true, Duration::from_secs(5));
    let all = spans(&batches);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].operation_name, "fine");
    let m = tracer.metrics();
    assert_eq!(m.spans_dropped_too_large, 1, "{m:?}");
    assert_eq!(
        batches[0].stats.as_ref().unwrap().too_large_dropped_spans,
        1
    );
    assert_eq!(m.spans_finished(), 2);
}

#[test]
fn long_operation_name_is_truncated_by_default() {
    let sink = UdpSink::start();
    let (tracer, guard) = tracer_for(&sink);
    tracer.start("y".repeat(100_000)).finish();
    drop(guard);
    let batches = sink.wait_for_spans(1, true, Duration::from_secs(5));
    let all = spans(&batches);
    assert_eq!(
        all[0].operation_name.len(),
        jaeger_tracer::DEFAULT_MAX_TAG_VALUE_LEN
    );
}
