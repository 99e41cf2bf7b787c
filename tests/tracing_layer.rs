//! The `tracing` layer end to end through the UDP sink: an `#[instrument]`ed
//! async call tree becomes the right span tree with tags and logs, error
//! events set `error`, and `tracing` spans join the active span of this
//! crate's API (and the other way round); `parent: None` starts a trace,
//! and `follows_from` becomes a `FollowsFrom` reference; a
//! `sampling.priority` field samples a span the sampler left out.
#![cfg(feature = "tracing")]

mod support;
#[path = "../src/thrift/mod.rs"]
#[allow(dead_code, clippy::all)]
mod thrift;

use std::time::Duration;

use jaeger_tracer::layer::JaegerLayer;
use jaeger_tracer::{Tracer, TracerGuard};
use support::{spans, tag, UdpSink};
use tracing::instrument;
use tracing_subscriber::layer::SubscriberExt;

/// A tracer sending to `sink`, and a subscriber with the layer over it.
fn layered(
    service: &str,
    sink: &UdpSink,
) -> (Tracer, TracerGuard, impl tracing::Subscriber + Send + Sync) {
    let (tracer, guard) = Tracer::builder(service)
        .with_agent_host("127.0.0.1")
        .with_agent_port(sink.port())
        .init()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(JaegerLayer::new(tracer.clone()));
    (tracer, guard, subscriber)
}

#[instrument(fields(order.items = items))]
async fn checkout(user: u64, items: i64) -> Result<(), String> {
    tracing::info!(step = "validate", "validating order");
    load_cart(user).await;
    charge(user).await
}

#[instrument]
async fn load_cart(user: u64) {
    tokio::task::yield_now().await;
    tracing::debug!(rows = 3, "cart loaded");
}

#[instrument(err)]
async fn charge(user: u64) -> Result<(), String> {
    tokio::time::sleep(Duration::from_millis(2)).await;
    tracing::error!(code = 402, "card declined");
    Err("declined".into())
}

#[test]
fn instrumented_async_tree_becomes_one_trace() {
    let sink = UdpSink::start();
    let (tracer, guard, subscriber) = layered("tracing-layer", &sink);
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _ = rt.block_on(checkout(7, 2));
        // A tracing span inside a span of this crate's API joins its trace,
        // and this crate's spans inside a tracing span are its children.
        let outer = tracer.start("api-root").activate();
        {
            let _t = tracing::info_span!("tracing-child").entered();
            tracer.start("api-grandchild").finish();
        }
        drop(outer);
    });
    drop(guard);

    let all = spans(&sink.wait_for_spans(6, true, Duration::from_secs(5)));
    let by = |n: &str| {
        all.iter()
            .find(|s| s.operation_name == n)
            .unwrap_or_else(|| panic!("no {n}"))
    };
    let (root, cart, pay) = (by("checkout"), by("load_cart"), by("charge"));
    assert_eq!(root.parent_span_id, 0);
    assert_eq!(cart.parent_span_id, root.span_id);
    assert_eq!(pay.parent_span_id, root.span_id);
    assert!([cart, pay]
        .iter()
        .all(|s| s.trace_id_low == root.trace_id_low));
    // Fields → tags.
    assert_eq!(tag(root, "user").unwrap().v_long, Some(7));
    assert_eq!(tag(root, "order.items").unwrap().v_long, Some(2));
    // Events → logs with level and fields.
    let logs = root.logs.clone().unwrap();
    let f = &logs[0].fields;
    let field = |k: &str| {
        f.iter()
            .find(|t| t.key == k)
            .unwrap()
            .v_str
            .clone()
            .unwrap()
    };
    assert_eq!(
        (field("level"), field("step"), field("message")),
        ("info".into(), "validate".into(), "validating order".into())
    );
    let cart_log = &cart.logs.clone().unwrap()[0].fields;
    assert!(cart_log
        .iter()
        .any(|t| t.key == "rows" && t.v_long == Some(3)));
    // Error events set the error tag.
    assert_eq!(tag(pay, "error").unwrap().v_bool, Some(true));
    assert!(tag(root, "error").is_none());

    let (api, tchild, grand) = (by("api-root"), by("tracing-child"), by("api-grandchild"));
    assert_eq!(tchild.parent_span_id, api.span_id);
    assert_eq!(grand.parent_span_id, tchild.span_id);
    assert_eq!(grand.trace_id_low, api.trace_id_low);
}

#[test]
fn own_diagnostics_do_not_recurse() {
    let (tracer, guard) = Tracer::builder("quiet")
        .with_agent_host("127.0.0.1")
        .init()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(JaegerLayer::new(tracer.clone()));
    tracing::subscriber::with_default(subscriber, || {
        let _s = tracing::info_span!("outer").entered();
        // An event under this crate's target, as its diagnostics would be.
        tracing::warn!(target: "jaeger_tracer::reporter", "internal warning");
    });
    drop(guard);
    assert_eq!(tracer.metrics().spans_reported, 1);
}

#[test]
fn tracing_spans_exited_out_of_order_leave_the_newest_entered_active() {
    let (tracer, _guard) = Tracer::builder("exits")
        .with_agent_host("127.0.0.1")
        .init()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(JaegerLayer::new(tracer.clone()));
    tracing::subscriber::with_default(subscriber, || {
        let a = tracing::info_span!("a").entered();
        let b = tracing::info_span!("b").entered();
        let b_ctx = jaeger_tracer::scope::current_context().expect("b is active");
        // `a` exits first: `b` is still entered, so it stays the parent.
        drop(a);
        let child = tracer.start("api-child");
        assert_eq!(child.context().parent_id(), b_ctx.span_id());
        assert_eq!(child.context().trace_id(), b_ctx.trace_id());
        drop(b);
        assert!(jaeger_tracer::scope::current_context().is_none());
    });
}

#[test]
fn explicit_roots_start_traces_and_follows_from_becomes_a_reference() {
    let sink = UdpSink::start();
    let (_tracer, guard, subscriber) = layered("roots-and-links", &sink);
    tracing::subscriber::with_default(subscriber, || {
        let outer = tracing::info_span!("outer").entered();
        // `parent: None` asks for a root even inside an entered span.
        drop(tracing::info_span!(parent: None, "explicit-root"));
        // A child that also follows from a span of another trace keeps its
        // parent and gains the link.
        let cause = tracing::info_span!(parent: None, "cause");
        let linked = tracing::info_span!("linked");
        linked.follows_from(&cause);
        drop((linked, cause));
        drop(outer);
    });
    drop(guard);

    let all = spans(&sink.wait_for_spans(4, true, Duration::from_secs(5)));
    let by = |n: &str| {
        all.iter()
            .find(|s| s.operation_name == n)
            .unwrap_or_else(|| panic!("no {n}"))
    };
    let (outer, root, cause, linked) =
        (by("outer"), by("explicit-root"), by("cause"), by("linked"));
    assert_eq!(root.parent_span_id, 0);
    assert_ne!(root.trace_id_low, outer.trace_id_low);
    assert_eq!(cause.parent_span_id, 0);
    assert_ne!(cause.trace_id_low, outer.trace_id_low);

    assert_eq!(linked.parent_span_id, outer.span_id);
    assert_eq!(linked.trace_id_low, outer.trace_id_low);
    let refs: Vec<_> = linked
        .references
        .clone()
        .expect("references written")
        .into_iter()
        .map(|r| (r.ref_type, r.trace_id_low, r.span_id))
        .collect();
    assert_eq!(
        refs,
        vec![
            (
                thrift::jaeger::SpanRefType::CHILD_OF,
                outer.trace_id_low,
                outer.span_id
            ),
            (
                thrift::jaeger::SpanRefType::FOLLOWS_FROM,
                cause.trace_id_low,
                cause.span_id
            ),
        ]
    );
}

/// A `sampling.priority` field forces sampling the OpenTracing way, also on
/// a trace the sampler left out: set when the span is made, or recorded
/// later.
#[test]
fn a_sampling_priority_field_samples_an_unsampled_span() {
    let sink = UdpSink::start();
    let (tracer, guard) = Tracer::builder("tracing-priority")
        .with_agent_host("127.0.0.1")
        .with_agent_port(sink.port())
        .with_sampler(jaeger_tracer::sampler::ConstSampler::new(false))
        .init()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(JaegerLayer::new(tracer.clone()));
    tracing::subscriber::with_default(subscriber, || {
        drop(tracing::info_span!("left out", user = 1).entered());
        drop(tracing::info_span!("forced", sampling.priority = 1u64, user = 2).entered());
        let later = tracing::info_span!("forced later", sampling.priority = tracing::field::Empty);
        later.record("sampling.priority", 1i64);
        drop(later);
    });
    drop(guard);
    let all = spans(&sink.wait_for_spans(2, true, Duration::from_secs(5)));
    let mut names: Vec<_> = all.iter().map(|s| s.operation_name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["forced", "forced later"], "{all:?}");
    for s in &all {
        assert_eq!(s.flags & 3, 3, "sampled and debug: {s:?}");
        let priorities = s.tags.iter().flatten();
        let priorities = priorities.filter(|t| t.key == "sampling.priority");
        assert_eq!(priorities.count(), 1, "{s:?}");
    }
    let forced = all.iter().find(|s| s.operation_name == "forced").unwrap();
    assert_eq!(tag(forced, "user").and_then(|t| t.v_long), Some(2));
    assert_eq!(tracer.metrics().spans_finished_unsampled, 1);
}
