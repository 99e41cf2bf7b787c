//! Spans sent over UDP decode, through the generated Thrift code, to exactly
//! what was recorded: ids, parent and references, names, times, every tag
//! type, logs, flags and process tags — compact and binary.

mod support;
#[path = "../src/thrift/mod.rs"]
#[allow(dead_code, clippy::all)]
mod thrift;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jaeger_tracer::{AgentProtocol, Tracer};
use support::{spans, tag, UdpSink};
use thrift::jaeger;

fn micros(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_micros() as i64
}

fn check(protocol: AgentProtocol, compact: bool) {
    let sink = UdpSink::start();
    let (tracer, guard) = Tracer::builder("decode-test")
        .with_agent_host("127.0.0.1")
        .with_agent_port(sink.port())
        .with_agent_protocol(protocol)
        .with_tag("team", "core")
        .with_trace_id_128bit(true)
        .init()
        .unwrap();

    let start = UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
    let mut root = tracer
        .span("root-op")
        .with_start_time(start)
        .with_tag("initial", "yes")
        .start();
    root.set_tag("str", "value")
        .set_tag("bool", true)
        .set_tag("long", -42i64)
        .set_tag("double", 0.25)
        .set_tag("binary", vec![1u8, 2, 3]);
    root.log_at(start + Duration::from_micros(10), |f| {
        f.event("cache.miss")
            .field("key", "user:1")
            .field("attempt", 2);
    });
    root.set_baggage_item("tenant", "acme");
    let root_ctx = root.context().clone();

    let mut child = tracer
        .span("child-op")
        .child_of(&root_ctx)
        .with_start_time(start + Duration::from_micros(100))
        .start();
    assert_eq!(child.baggage_item("tenant"), Some("acme"));
    child.finish_at(start + Duration::from_micros(350));
    let child_ctx = child.context().clone();

    let mut job = tracer
        .span("queued-job")
        .follows_from(&root_ctx)
        .with_start_time(start + Duration::from_micros(400))
        .start();
    job.finish_at(start + Duration::from_micros(900));
    let job_ctx = job.context().clone();

    root.finish_at(start + Duration::from_micros(1000));
    drop(guard);

    let batches = sink.wait_for_spans(3, compact, Duration::from_secs(5));
    let all = spans(&batches);
    assert_eq!(all.len(), 3, "{all:?}");
    let by_name = |n: &str| all.iter().find(|s| s.operation_name == n).unwrap().clone();

    let r = by_name("root-op");
    assert_eq!(r.trace_id_high as u64, root_ctx.trace_id().high());
    assert_ne!(r.trace_id_high, 0, "128-bit trace id");
    assert_eq!(r.trace_id_low as u64, root_ctx.trace_id().low());
    assert_eq!(r.span_id as u64, root_ctx.span_id().get());
    assert_eq!(r.parent_span_id, 0);
    assert_eq!(r.flags, 1);
    assert_eq!(r.start_time, micros(start));
    assert_eq!(r.duration, 1000);
    assert_eq!(tag(&r, "initial").unwrap().v_str.as_deref(), Some("yes"));
    assert_eq!(tag(&r, "str").unwrap().v_str.as_deref(), Some("value"));
    let b = tag(&r, "bool").unwrap();
    assert_eq!((b.v_type, b.v_bool), (jaeger::TagType::BOOL, Some(true)));
    let l = tag(&r, "long").unwrap();
    assert_eq!((l.v_type, l.v_long), (jaeger::TagType::LONG, Some(-42)));
    let d = tag(&r, "double").unwrap();
    assert_eq!(d.v_type, jaeger::TagType::DOUBLE);
    assert_eq!(d.v_double.map(|x| x.0), Some(0.25));
    let bin = tag(&r, "binary").unwrap();
    assert_eq!(
        (bin.v_type, bin.v_binary.as_deref()),
        (jaeger::TagType::BINARY, Some(&[1u8, 2, 3][..]))
    );
    assert_eq!(
        tag(&r, "sampler.type").unwrap().v_str.as_deref(),
        Some("const")
    );
    let logs = r.logs.clone().unwrap();
    assert_eq!(logs.len(), 2, "the explicit log and the baggage log");
    assert_eq!(logs[0].timestamp, micros(start) + 10);
    let fields: Vec<(String, String)> = logs[0]
        .fields
        .iter()
        .map(|f| {
            (
                f.key.clone(),
                f.v_str
                    .clone()
                    .unwrap_or_else(|| f.v_long.unwrap().to_string()),
            )
        })
        .collect();
    assert_eq!(
        fields,
        [("event", "cache.miss"), ("key", "user:1"), ("attempt", "2")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let baggage_log: Vec<_> = logs[1]
        .fields
        .iter()
        .map(|f| f.v_str.clone().unwrap())
        .collect();
    assert_eq!(baggage_log, ["baggage", "tenant", "acme"]);

    let c = by_name("child-op");
    assert_eq!(c.trace_id_low, r.trace_id_low);
    assert_eq!(c.trace_id_high, r.trace_id_high);
    assert_eq!(c.span_id as u64, child_ctx.span_id().get());
    assert_eq!(c.parent_span_id, r.span_id);
    assert!(
        c.references.is_none(),
        "a lone ChildOf is carried by parentSpanId"
    );
    assert_eq!(c.start_time, micros(start) + 100);
    assert_eq!(c.duration, 250);
    assert!(
        tag(&c, "sampler.type").is_none(),
        "only the root carries sampler tags"
    );

    let j = by_name("queued-job");
    assert_eq!(j.span_id as u64, job_ctx.span_id().get());
    assert_eq!(j.parent_span_id, r.span_id);
    let refs = j.references.clone().unwrap();
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].ref_type, jaeger::SpanRefType::FOLLOWS_FROM);
    assert_eq!(refs[0].span_id, r.span_id);
    assert_eq!(refs[0].trace_id_high, r.trace_id_high);
    assert_eq!(j.duration, 500);

    // Process: service name and tracer tags, in every batch.
    for batch in &batches {
        assert_eq!(batch.process.service_name, "decode-test");
        let ptags = batch.process.tags.clone().unwrap();
        let get = |k: &str| {
            ptags
                .iter()
                .find(|t| t.key == k)
                .and_then(|t| t.v_str.clone())
        };
        assert!(get("jaeger.version").unwrap().starts_with("Rust-"));
        assert!(get("hostname").is_some());
        assert!(get("ip").unwrap().parse::<std::net::Ipv4Addr>().is_ok());
        assert_eq!(get("client-uuid").unwrap().len(), 36);
        assert_eq!(get("team").as_deref(), Some("core"));
        assert!(batch.seq_no.unwrap() >= 1);
        let stats = batch.stats.clone().unwrap();
        assert_eq!(stats.full_queue_dropped_spans, 0);
    }
    // The three spans of one trace arrive together.
    assert_eq!(batches.len(), 1);
}

#[test]
fn compact_protocol_decodes_exactly() {
    check(AgentProtocol::Compact, true);
}

#[test]
fn binary_protocol_decodes_exactly() {
    check(AgentProtocol::Binary, false);
}

/// Times taken by the tracer itself (a raw counter reading on x86-64
/// Linux, converted by the reporter thread) arrive as wall-clock
/// microseconds: between the wall clock read before the start and after
/// the finish, and a duration no shorter than the sleep inside the span.
#[test]
fn times_taken_by_the_tracer_arrive_as_wall_clock_microseconds() {
    let sink = UdpSink::start();
    let (tracer, guard) = Tracer::builder("clock-test")
        .with_agent_host("127.0.0.1")
        .with_agent_port(sink.port())
        .init()
        .unwrap();
    // The reporter calibrates the fast clock within tens of milliseconds:
    // the spans below take raw readings wherever there is one.
    std::thread::sleep(Duration::from_millis(200));
    let before = micros(SystemTime::now());
    for i in 0..3 {
        let mut span = tracer.start(format!("timed-{i}"));
        std::thread::sleep(Duration::from_millis(20));
        span.finish();
    }
    let after = micros(SystemTime::now());
    drop(guard);

    let mut all = spans(&sink.wait_for_spans(3, true, Duration::from_secs(5)));
    assert_eq!(all.len(), 3, "{all:?}");
    all.sort_by_key(|s| s.start_time);
    let mut last_start = 0;
    for s in &all {
        // (The fast clock is re-anchored to the wall clock at every tick,
        // to within a few microseconds: a millisecond of slack.)
        assert!(
            s.start_time >= before - 1_000 && s.start_time + s.duration <= after + 1_000,
            "{} ({} µs) outside {before}..{after}",
            s.start_time,
            s.duration
        );
        assert!(s.duration >= 20_000, "slept 20 ms, took {} µs", s.duration);
        assert!(s.start_time >= last_start + 20_000, "one after another");
        last_start = s.start_time;
    }
}
