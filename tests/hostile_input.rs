//! Hostile input: megabyte tag keys and values, operation names, baggage
//! and tracer tags are cut by documented limits and never produce an
//! oversize datagram; arbitrary configuration values give errors naming the
//! variable, never a panic.

mod support;
#[path = "../src/thrift/mod.rs"]
#[allow(dead_code, clippy::all)]
mod thrift;

mod env_vars;
use std::collections::HashMap;
use std::time::Duration;

use jaeger_tracer::{
    Tracer, TracerBuilder, DEFAULT_MAX_BAGGAGE_VALUE_LEN, DEFAULT_MAX_TAG_VALUE_LEN,
};
use proptest::prelude::*;
use support::{spans, UdpSink};

const MB: usize = 1 << 20;

#[test]
fn megabyte_inputs_are_cut_and_datagrams_stay_small() {
    let sink = UdpSink::start();
    let huge = "h".repeat(MB);
    let (tracer, guard) = Tracer::builder("hostile")
        .with_agent_host("127.0.0.1")
        .with_agent_port(sink.port())
        .with_tag("huge-process-tag", huge.clone())
        .init()
        .unwrap();
    let mut span = tracer.span(huge.clone()).start();
    span.set_tag(huge.clone(), huge.clone());
    span.set_baggage_item("k", huge.clone());
    assert_eq!(
        span.baggage_item("k").unwrap().len(),
        DEFAULT_MAX_BAGGAGE_VALUE_LEN
    );
    let mut headers: HashMap<String, String> = HashMap::new();
    tracer.inject(span.context(), &mut headers);
    assert!(headers.values().map(String::len).sum::<usize>() < 10_000);
    drop(span);
    drop(guard);

    let batches = sink.wait_for_spans(1, true, Duration::from_secs(5));
    assert!(sink.datagrams().iter().all(|d| d.len() <= 65_000));
    let s = &spans(&batches)[0];
    assert_eq!(s.operation_name.len(), DEFAULT_MAX_TAG_VALUE_LEN);
    let tag = s
        .tags
        .as_ref()
        .unwrap()
        .iter()
        .find(|t| t.key.starts_with('h'))
        .unwrap();
    assert_eq!(tag.key.len(), DEFAULT_MAX_TAG_VALUE_LEN);
    assert_eq!(tag.v_str.as_ref().unwrap().len(), DEFAULT_MAX_TAG_VALUE_LEN);
    let ptag = batches[0]
        .process
        .tags
        .as_ref()
        .unwrap()
        .iter()
        .find(|t| t.key == "huge-process-tag")
        .unwrap();
    assert_eq!(
        ptag.v_str.as_ref().unwrap().len(),
        DEFAULT_MAX_TAG_VALUE_LEN
    );
    let m = tracer.metrics();
    assert_eq!((m.spans_reported, m.baggage_truncations), (1, 1), "{m:?}");
}

#[test]
fn malformed_jaeger_tags_are_errors() {
    let huge = format!("k={}", "v".repeat(MB));
    for value in [
        "novalue",
        "=v",
        "a=1,,b",
        "k=${NOT_SET_ANYWHERE_42}",
        "k=${}",
        huge.as_str(),
    ] {
        let vars = [("JAEGER_SERVICE_NAME", "s"), ("JAEGER_TAGS", value)];
        let r = TracerBuilder::from_lookup(env_vars::lookup(&vars));
        match (value, r) {
            ("a=1,,b", Err(e)) => assert!(e.to_string().contains("JAEGER_TAGS"), "{e}"),
            (v, Ok(_)) if v.len() > 1000 || v == "a=1,,b" => {}
            (v, Ok(_)) => panic!("{v:?} accepted"),
            (_, Err(e)) => assert!(e.to_string().contains("JAEGER_TAGS"), "{e}"),
        }
    }
}

const VARS: &[&str] = &[
    "JAEGER_SERVICE_NAME",
    "JAEGER_DISABLED",
    "JAEGER_AGENT_HOST",
    "JAEGER_AGENT_PORT",
    "JAEGER_ENDPOINT",
    "JAEGER_USER",
    "JAEGER_PASSWORD",
    "JAEGER_AUTH_TOKEN",
    "JAEGER_TAGS",
    "JAEGER_TRACEID_128BIT",
    "JAEGER_SAMPLER_TYPE",
    "JAEGER_SAMPLER_PARAM",
    "JAEGER_SAMPLING_ENDPOINT",
    "JAEGER_SAMPLER_MAX_OPERATIONS",
    "JAEGER_SAMPLER_REFRESH_INTERVAL",
    "JAEGER_REPORTER_MAX_QUEUE_SIZE",
    "JAEGER_REPORTER_FLUSH_INTERVAL",
    "JAEGER_REPORTER_LOG_SPANS",
    "JAEGER_PROPAGATION",
    "JAEGER_REPORTER_ATTEMPT_RECONNECTING_DISABLED",
    "JAEGER_REPORTER_ATTEMPT_RECONNECT_INTERVAL",
    "JAEGER_SAMPLER_MANAGER_HOST_PORT",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,30}",
        "[0-9]{1,25}(\\.[0-9]{0,5})?(ns|us|ms|s|m|h|x)?",
        "(true|false|1|0|yes)",
        "([a-z]{0,5}=(\\$\\{[A-Z_]{0,6}(:[a-z]{0,3})?\\}|[a-z]{0,4}),?){0,4}",
        "(const|probabilistic|ratelimiting|remote|jaeger|b3|w3c|b3single|,)+",
        "https?://[a-z0-9.:/%@]{0,20}",
    ]
}

proptest! {
    /// Any environment: either a builder, or an error that names one of the
    /// variables. Never a panic.
    #[test]
    fn environment_parsing_never_panics(mut env in proptest::collection::btree_map(proptest::sample::select(VARS), value(), 0..8)) {
        // Credentials get marker values, so a leak into an error is visible.
        for (secret, marker) in [("JAEGER_PASSWORD", "pw-SECRET-1"), ("JAEGER_AUTH_TOKEN", "tok-SECRET-2")] {
            if let Some(v) = env.get_mut(secret) {
                *v = marker.to_owned();
            }
        }
        let lookup = |k: &str| env.get(k).cloned();
        match TracerBuilder::from_lookup(lookup) {
            Ok(_) => {}
            Err(e) => {
                let text = e.to_string();
                prop_assert!(e.is_config(), "{}", text);
                prop_assert!(VARS.iter().any(|v| text.contains(v)), "{}", text);
                prop_assert!(!text.contains("SECRET"), "{} leaks a credential", text);
            }
        }
    }
}
