//! The datagrams this crate sends, compact and binary, decode with the
//! official generated code of PyPI `jaeger-client` (`thrift_gen`, with the
//! Python `thrift` package) to exactly what the Rust generated code decodes.
//!
//! Needs `python3` with `jaeger-client` installed (`.ci/run` installs it).

mod support;
#[path = "../src/thrift/mod.rs"]
#[allow(dead_code, clippy::all)]
mod thrift;

use std::process::Command;
use std::time::Duration;

use jaeger_tracer::{AgentProtocol, Tracer};
use serde_json::{json, Value};
use support::UdpSink;
use thrift::jaeger;

fn tag_json(t: &jaeger::Tag) -> Value {
    json!({
        "key": t.key,
        "vType": t.v_type.0,
        "vStr": t.v_str,
        "vDouble": t.v_double.map(|d| d.0),
        "vBool": t.v_bool,
        "vLong": t.v_long,
        "vBinary": t.v_binary.as_ref().map(|b| b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
    })
}

fn tags_json(tags: &Option<Vec<jaeger::Tag>>) -> Value {
    tags.as_ref()
        .map_or(Value::Null, |ts| ts.iter().map(tag_json).collect())
}

/// The batch as the Python peer reports it. Its IDL predates `seqNo` and
/// `stats`; it skips them as unknown fields, which is itself checked: the
/// rest must still decode exactly.
fn batch_json(b: &jaeger::Batch) -> Value {
    json!({
        "process": {"serviceName": b.process.service_name, "tags": tags_json(&b.process.tags)},
        "spans": b.spans.iter().map(|s| json!({
            "traceIdLow": s.trace_id_low,
            "traceIdHigh": s.trace_id_high,
            "spanId": s.span_id,
            "parentSpanId": s.parent_span_id,
            "operationName": s.operation_name,
            "references": s.references.as_ref().map(|rs| rs.iter().map(|r| json!({
                "refType": r.ref_type.0, "traceIdLow": r.trace_id_low,
                "traceIdHigh": r.trace_id_high, "spanId": r.span_id,
            })).collect::<Vec<_>>()),
            "flags": s.flags,
            "startTime": s.start_time,
            "duration": s.duration,
            "tags": tags_json(&s.tags),
            "logs": s.logs.as_ref().map(|ls| ls.iter().map(|l| json!({
                "timestamp": l.timestamp, "fields": tags_json(&Some(l.fields.clone())),
            })).collect::<Vec<_>>()),
        })).collect::<Vec<_>>(),
    })
}

fn check(protocol: AgentProtocol, compact: bool) {
    let sink = UdpSink::start();
    let (tracer, guard) = Tracer::builder("python-peer")
        .with_agent_host("127.0.0.1")
        .with_agent_port(sink.port())
        .with_agent_protocol(protocol)
        .with_trace_id_128bit(true)
        .with_max_packet_size(4000)
        .init()
        .unwrap();
    // Several traces, all tag types, logs, references, and enough spans to
    // fill more than one datagram.
    for i in 0..20i64 {
        let mut root = tracer.span("request").with_tag("i", i).start();
        root.set_tag("s", "naïve ☃")
            .set_tag("b", i % 2 == 0)
            .set_tag("d", i as f64 / 3.0)
            // jaeger-client's thrift_gen predates `binary` and reads it as a
            // UTF-8 string, so only UTF-8-valid bytes can cross to Python;
            // arbitrary bytes are checked against the Rust generated code.
            .set_tag("bin", vec![0u8, 1, b'z', 0x7f]);
        root.log(|f| {
            f.event("step").field("n", i);
        });
        let ctx = root.context().clone();
        for j in 0..5 {
            let mut c = tracer.span("child").child_of(&ctx).start();
            c.set_tag("j", j);
        }
        drop(tracer.span("async").follows_from(&ctx).start());
    }
    drop(guard);
    let batches = sink.wait_for_spans(140, compact, Duration::from_secs(5));
    assert_eq!(batches.iter().map(|b| b.spans.len()).sum::<usize>(), 140);
    let datagrams = sink.datagrams();
    assert!(datagrams.len() > 1, "expected several datagrams");

    let dir =
        std::env::temp_dir().join(format!("jaeger-tracer-py-{}-{compact}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files: Vec<_> = datagrams
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let p = dir.join(format!("{i}.bin"));
            std::fs::write(&p, d).unwrap();
            p
        })
        .collect();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/decode_agent_datagrams.py"
    );
    let out = Command::new("python3")
        .arg(script)
        .arg(if compact { "compact" } else { "binary" })
        .args(&files)
        .output()
        .expect("python3 runs");
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        out.status.success(),
        "the Python decoder failed (is jaeger-client installed? `pip install jaeger-client`):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let python: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rust = Value::Array(batches.iter().map(batch_json).collect());
    assert_eq!(python, rust);
}

#[test]
fn compact_datagrams_decode_in_python() {
    check(AgentProtocol::Compact, true);
}

#[test]
fn binary_datagrams_decode_in_python() {
    check(AgentProtocol::Binary, false);
}
