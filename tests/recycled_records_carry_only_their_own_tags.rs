//! Span records are reused: a thread's box serves its next span, writing
//! its tags over the last span's, and a finished record is copied into a
//! block's slot, as far as its tags go, over the record the reporter
//! encoded there before. The first tags live in the record itself and the
//! rest in slots of their own; static tags are only forgotten when a
//! record is cleared, owned ones are freed. Whatever the mix, each span must arrive with exactly its own tags,
//! in order: from none to well past the inline slots, owned, static and
//! numeric values, over rounds in which the records go round many times.

mod support;
#[path = "../src/thrift/mod.rs"]
#[allow(dead_code, clippy::all)]
mod thrift;

use std::collections::HashMap;
use std::time::Duration;

use jaeger_tracer::Tracer;
use support::{spans, UdpSink};

/// What a tag of the test holds, as it should arrive.
#[derive(Debug, Clone, PartialEq)]
enum Expected {
    Str(String),
    Long(i64),
}

/// The tags span `i` gets: `i % 14` of them (0 to 13, the inline slots and
/// well beyond), an owned string, a number or a static string in turn.
fn tags_of(i: u64) -> Vec<(String, Expected)> {
    (0..i % 14)
        .map(|j| {
            let key = format!("t{j}");
            let value = match (i + j) % 3 {
                0 => Expected::Str(format!("owned-{i}-{j}")),
                1 => Expected::Long((i * 100 + j) as i64),
                _ => Expected::Str("static".into()),
            };
            (key, value)
        })
        .collect()
}

#[test]
fn each_span_arrives_with_exactly_its_own_tags_however_its_record_was_used() {
    let sink = UdpSink::start();
    let (tracer, guard) = Tracer::builder("recycled-records")
        .with_agent_host("127.0.0.1")
        .with_agent_port(sink.port())
        .init()
        .unwrap();
    let mut expected: HashMap<i64, Vec<(String, Expected)>> = HashMap::new();
    let mut i = 0u64;
    for _round in 0..8 {
        for _trace in 0..40 {
            let root = tracer.start("root");
            for _ in 0..9 {
                let mut child = tracer.span("child").child_of(root.context()).start();
                let tags = tags_of(i);
                for (key, value) in &tags {
                    match value {
                        // An owned value, or a static one, by key.
                        Expected::Str(s) if s == "static" => {
                            child.set_tag(key.clone(), "static");
                        }
                        Expected::Str(s) => {
                            child.set_tag(key.clone(), s.clone());
                        }
                        Expected::Long(n) => {
                            child.set_tag(key.clone(), *n);
                        }
                    }
                }
                expected.insert(child.context().span_id().get() as i64, tags);
                i += 1;
            }
        }
        // The reporter encodes the round's spans and hands their records
        // back to the pool, for the next round.
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(guard);
    let children = expected.len();
    let m = tracer.metrics();
    assert_eq!(m.spans_dropped_queue_full, 0, "{m:?}");
    let batches = sink.wait_for_spans(children + 8 * 40, true, Duration::from_secs(10));
    let mut seen = 0;
    for span in spans(&batches) {
        if span.operation_name != "child" {
            continue;
        }
        let want = expected
            .get(&span.span_id)
            .unwrap_or_else(|| panic!("span {:x} was not sent", span.span_id));
        let got: Vec<(String, Expected)> = span
            .tags
            .iter()
            .flatten()
            .map(|t| {
                let value = match (&t.v_str, t.v_long) {
                    (Some(s), _) => Expected::Str(s.clone()),
                    (None, Some(n)) => Expected::Long(n),
                    _ => panic!("unexpected tag type {t:?}"),
                };
                (t.key.clone(), value)
            })
            .collect();
        assert_eq!(&got, want, "span {:x}", span.span_id);
        seen += 1;
    }
    assert_eq!(seen, children, "every child arrived once");
}
