//! OpenTracing semantics of spans and contexts, checked on the wire: finish
//! once, drop finishes, baggage flows to children and across inject/extract,
//! active span, sampling.priority, no-op and global tracers, errors by the
//! conventions (`set_error`), a future dropped in its span logged cancelled.

mod support;
#[path = "../src/thrift/mod.rs"]
#[allow(dead_code, clippy::all)]
mod thrift;

use std::collections::HashMap;
use std::time::Duration;

use http::HeaderMap;
use jaeger_tracer::sampler::ConstSampler;
use jaeger_tracer::{global, Flags, SpanContext, Tracer};
use support::{spans, tag, UdpSink};

fn tracer_for(sink: &UdpSink) -> (Tracer, jaeger_tracer::TracerGuard) {
    Tracer::builder("semantics")
        .with_agent_host("127.0.0.1")
        .with_agent_port(sink.port())
        .init()
        .unwrap()
}

#[test]
fn finishing_twice_reports_once_and_drop_finishes() {
    let sink = UdpSink::start();
    let (tracer, guard) = tracer_for(&sink);
    let mut a = tracer.start("twice");
    a.finish();
    a.finish();
    a.set_tag("after-finish", true);
    drop(a);
    {
        let _b = tracer.start("dropped");
    }
    drop(guard);
    let all = spans(&sink.wait_for_spans(2, true, Duration::from_secs(5)));
    let names: Vec<_> = all.iter().map(|s| s.operation_name.as_str()).collect();
    assert_eq!(names.iter().filter(|n| **n == "twice").count(), 1);
    assert!(names.contains(&"dropped"));
    assert!(tag(
        all.iter().find(|s| s.operation_name == "twice").unwrap(),
        "after-finish"
    )
    .is_none());
    assert_eq!(tracer.metrics().spans_reported, 2);
}

#[test]
fn baggage_flows_to_children_and_across_processes() {
    let sink = UdpSink::start();
    let (client, guard) = tracer_for(&sink);
    let mut root = client.start("client");
    root.set_baggage_item("user", "alice smith");
    let child = client.span("call").child_of(root.context()).start();
    assert_eq!(child.baggage_item("user"), Some("alice smith"));

    // Over HTTP headers into a "server" tracer.
    let mut headers = HeaderMap::new();
    client.inject(child.context(), &mut headers);
    assert!(headers.contains_key("uber-trace-id"));
    assert_eq!(headers["uberctx-user"], "alice%20smith");
    let server_sink = UdpSink::start();
    let (server, server_guard) = Tracer::builder("server")
        .with_agent_host("127.0.0.1")
        .with_agent_port(server_sink.port())
        .init()
        .unwrap();
    let remote = server.extract(&headers).unwrap().expect("context found");
    assert!(remote.is_remote());
    let mut handled = server.span("handle").child_of(&remote).start();
    assert_eq!(handled.baggage_item("user"), Some("alice smith"));
    assert_eq!(handled.context().trace_id(), root.context().trace_id());
    handled.set_baggage_item("server", "seen");
    let ids = (handled.context().clone(), child.context().clone());
    drop(handled);
    drop(child);
    drop(root);
    drop(server_guard);
    drop(guard);

    let server_spans = spans(&server_sink.wait_for_spans(1, true, Duration::from_secs(5)));
    assert_eq!(server_spans[0].parent_span_id as u64, ids.1.span_id().get());
    assert_eq!(server_spans[0].trace_id_low as u64, ids.0.trace_id().low());
}

#[test]
fn text_map_carrier_and_display_form() {
    let (tracer, _g) = Tracer::builder("text")
        .with_agent_host("127.0.0.1")
        .init()
        .unwrap();
    let span = tracer.start("x");
    let mut map: HashMap<String, String> = HashMap::new();
    tracer.inject(span.context(), &mut map);
    assert_eq!(map["uber-trace-id"], span.context().to_string());
    let back: SpanContext = map["uber-trace-id"].parse().unwrap();
    assert_eq!(back.span_id(), span.context().span_id());
    let bad: HashMap<String, String> =
        [("uber-trace-id".to_string(), "zz:1:0:1".to_string())].into();
    let err = tracer.extract(&bad).unwrap_err();
    assert!(err.is_propagation(), "{err}");
}

#[test]
fn active_span_is_implicit_parent_and_restored() {
    let sink = UdpSink::start();
    let (tracer, guard) = tracer_for(&sink);
    let outer = tracer.start("outer").activate();
    let outer_id = outer.context().span_id();
    {
        let mut inner = tracer.start("inner").activate();
        inner.set_baggage_item("k", "v");
        let leaf = tracer.start("leaf");
        assert_eq!(leaf.context().parent_id(), inner.context().span_id());
        assert_eq!(
            leaf.baggage_item("k"),
            Some("v"),
            "baggage set on the active span flows"
        );
    }
    let after = tracer.start("after");
    assert_eq!(
        after.context().parent_id(),
        outer_id,
        "previous active span restored"
    );
    let detached = tracer.span("detached").ignore_active().start();
    assert_eq!(detached.context().parent_id().get(), 0);
    drop((after, detached, outer));
    drop(guard);
    assert_eq!(
        spans(&sink.wait_for_spans(5, true, Duration::from_secs(5))).len(),
        5
    );
}

#[test]
fn active_spans_dropped_out_of_order_leave_the_newest_live_one_active() {
    let (tracer, _guard) = Tracer::builder("scopes")
        .with_agent_host("127.0.0.1")
        .init()
        .unwrap();
    let a = tracer.start("a").activate();
    let mut b = tracer.start("b").activate();
    let b_id = b.context().span_id();
    // The older one goes first (as when guards live in a struct, or are
    // dropped by hand): the newer one stays active.
    drop(a);
    assert_eq!(tracer.start("under b").context().parent_id(), b_id);
    // Baggage set on it still reaches the spans started under it.
    b.set_baggage_item("k", "v");
    assert_eq!(tracer.start("under b").baggage_item("k"), Some("v"));
    // Then nothing is active: no span that has finished comes back.
    drop(b);
    assert_eq!(tracer.start("alone").context().parent_id().get(), 0);

    // Plain context guards, the same: the one dropped need not be the last.
    let (x, y, z) = (tracer.start("x"), tracer.start("y"), tracer.start("z"));
    let gx = jaeger_tracer::scope::enter(x.context().clone());
    let gy = jaeger_tracer::scope::enter(y.context().clone());
    let gz = jaeger_tracer::scope::enter(z.context().clone());
    drop(gy);
    assert_eq!(
        tracer.start("c").context().parent_id(),
        z.context().span_id()
    );
    drop(gz);
    assert_eq!(
        tracer.start("c").context().parent_id(),
        x.context().span_id()
    );
    drop(gx);
    assert_eq!(tracer.start("c").context().parent_id().get(), 0);
}

#[test]
fn sampling_priority_overrides_the_sampler() {
    let sink = UdpSink::start();
    let (tracer, guard) = Tracer::builder("priority")
        .with_agent_host("127.0.0.1")
        .with_agent_port(sink.port())
        .with_sampler(ConstSampler::new(false))
        .init()
        .unwrap();
    // Not sampled: records nothing.
    let plain = tracer.start("plain");
    assert!(!plain.context().is_sampled() && !plain.is_recording());
    // Forced at start.
    let forced = tracer
        .span("forced")
        .with_tag("sampling.priority", 1u16)
        .start();
    assert!(forced.context().is_debug() && forced.context().is_sampled());
    // Forced later on an unsampled span (any integer type), and its children
    // follow.
    let mut late = tracer.start("late");
    late.set_tag("sampling.priority", 5i64);
    let late_child = tracer.span("late-child").child_of(late.context()).start();
    assert!(late_child.context().is_sampled());
    // Forced off on a sampled trace.
    let mut off = tracer.span("off").with_tag("sampling.priority", 1).start();
    off.set_tag("sampling.priority", 0);
    assert!(!off.context().is_sampled());
    drop((plain, forced, late, late_child, off));
    drop(guard);
    let all = spans(&sink.wait_for_spans(3, true, Duration::from_secs(5)));
    let mut names: Vec<_> = all.iter().map(|s| s.operation_name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["forced", "late", "late-child"]);
    for s in &all {
        assert_eq!(s.flags & 3, 3, "sampled + debug on {}", s.operation_name);
    }
    let forced = all.iter().find(|s| s.operation_name == "forced").unwrap();
    assert_eq!(tag(forced, "sampling.priority").unwrap().v_long, Some(1));
}

#[test]
fn debug_id_header_starts_a_debug_trace() {
    let sink = UdpSink::start();
    let (tracer, guard) = Tracer::builder("debug-id")
        .with_agent_host("127.0.0.1")
        .with_agent_port(sink.port())
        .with_sampler(ConstSampler::new(false))
        .init()
        .unwrap();
    let headers: HashMap<String, String> =
        [("jaeger-debug-id".to_string(), "req-42".to_string())].into();
    let partial = tracer.extract(&headers).unwrap().unwrap();
    let span = tracer.span("server").child_of(&partial).start();
    assert!(span.context().is_debug() && span.context().is_sampled());
    assert_eq!(span.context().parent_id().get(), 0);
    drop(span);
    drop(guard);
    let all = spans(&sink.wait_for_spans(1, true, Duration::from_secs(5)));
    assert_eq!(
        tag(&all[0], "jaeger-debug-id").unwrap().v_str.as_deref(),
        Some("req-42")
    );
    assert_eq!(all[0].flags & 3, 3);
}

/// A B3 sampling decision received without a trace (the "sampling
/// state" alone, as some proxies send it) decides the new trace's root
/// over the local sampler, as a parent's flag would; its children follow;
/// a `sampling.priority` tag still wins.
#[test]
fn a_b3_sampling_decision_without_a_trace_decides_the_new_root() {
    let sink = UdpSink::start();
    let tracer_sampling = |sampled: bool| {
        Tracer::builder("b3-decision")
            .with_agent_host("127.0.0.1")
            .with_agent_port(sink.port())
            .with_sampler(ConstSampler::new(sampled))
            .with_propagation([jaeger_tracer::Propagation::B3])
            .init()
            .unwrap()
    };
    let headers = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    // Deny, against a sampler that samples everything.
    let (tracer, guard) = tracer_sampling(true);
    let denied = tracer
        .extract(&headers(&[("X-B3-Sampled", "0")]))
        .unwrap()
        .unwrap();
    let root = tracer.span("denied").child_of(&denied).start();
    assert!(!root.context().is_sampled());
    assert!(root.context().is_valid() && root.context().parent_id().get() == 0);
    let child = tracer.span("denied-child").child_of(root.context()).start();
    assert!(!child.context().is_sampled());
    let forced = tracer
        .span("forced")
        .child_of(&denied)
        .with_tag("sampling.priority", 1)
        .start();
    assert!(forced.context().is_sampled());
    drop((child, root, forced));
    drop(guard);
    // Accept and debug, against a sampler that samples nothing.
    let (tracer, guard) = tracer_sampling(false);
    let accepted = tracer.extract(&headers(&[("b3", "1")])).unwrap().unwrap();
    let root = tracer.span("accepted").child_of(&accepted).start();
    assert!(root.context().is_sampled() && !root.context().is_debug());
    let child = tracer
        .span("accepted-child")
        .child_of(root.context())
        .start();
    assert!(child.context().is_sampled());
    let debug = tracer
        .extract(&headers(&[("X-B3-Flags", "1")]))
        .unwrap()
        .unwrap();
    let debugged = tracer.span("debugged").child_of(&debug).start();
    assert!(debugged.context().is_sampled() && debugged.context().is_debug());
    drop((child, root, debugged));
    drop(guard);

    let all = spans(&sink.wait_for_spans(4, true, Duration::from_secs(5)));
    let mut names: Vec<&str> = all.iter().map(|s| s.operation_name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["accepted", "accepted-child", "debugged", "forced"]);
}

#[test]
fn noop_and_global_tracers() {
    let noop = Tracer::noop();
    let mut s = noop.span("x").with_tag("a", 1).start();
    s.set_tag("b", 2).set_baggage_item("k", "v");
    assert!(!s.context().is_valid());
    assert_eq!(s.baggage_item("k"), None);
    let mut map: HashMap<String, String> = HashMap::new();
    noop.inject(s.context(), &mut map);
    assert!(map.is_empty());
    map.insert("uber-trace-id".into(), "1:2:0:1".into());
    assert!(noop.extract(&map).unwrap().is_none());
    assert!(noop.flush().is_ok() && noop.close().is_ok());

    assert!(global::tracer().is_noop());
    let (t, _g) = Tracer::builder("global")
        .with_agent_host("127.0.0.1")
        .init()
        .unwrap();
    global::set_tracer(t);
    assert_eq!(global::tracer().service_name(), "global");
    assert!(global::take_tracer().is_some());
    assert!(global::tracer().is_noop());
}

#[test]
fn flags_and_context_accessors() {
    let ctx = SpanContext::new(
        jaeger_tracer::TraceId::new(0, 1),
        jaeger_tracer::SpanId::new(2),
        jaeger_tracer::SpanId::new(0),
        Flags::SAMPLED.with(Flags::FIREHOSE),
    );
    assert!(ctx.flags().is_firehose() && ctx.is_sampled() && !ctx.is_debug());
    assert_eq!(
        ctx.to_string(),
        "0000000000000001:0000000000000002:0000000000000000:9"
    );
}

#[test]
fn a_root_span_id_is_its_trace_id_low_half_and_children_draw_their_own() {
    let sink = UdpSink::start();
    let (tracer, _guard) = tracer_for(&sink);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..1000 {
        let root = tracer.start("root");
        let child = tracer.span("child").child_of(root.context()).start();
        let (r, c) = (root.context(), child.context());
        assert_eq!(r.span_id().get(), r.trace_id().low());
        assert_ne!(c.span_id(), r.span_id());
        assert_eq!(c.parent_id(), r.span_id());
        assert!(seen.insert(r.trace_id()), "trace ids repeat");
        assert!(seen.insert(jaeger_tracer::TraceId::new(1, c.span_id().get())));
    }
}

/// The builder lends the usual single parent instead of copying it; every
/// other order of references still names the first valid `ChildOf` as the
/// parent, sends the others, and merges the baggage of all.
#[cfg(feature = "testing")]
#[test]
fn references_in_any_order_pick_the_same_parent() {
    use jaeger_tracer::ReferenceType;
    let (t, reporter) = Tracer::builder("refs").init_in_memory().unwrap();
    let mut a = t.start("a");
    a.set_baggage_item("from-a", "1");
    let mut b = t.span("b").ignore_active().start();
    b.set_baggage_item("from-b", "2");
    let (a_ctx, b_ctx) = (a.context().clone(), b.context().clone());
    let invalid = SpanContext::default();

    let only = t.span("only").child_of(&a_ctx).start();
    let then_cause = t
        .span("then-cause")
        .child_of(&a_ctx)
        .follows_from(&b_ctx)
        .start();
    let cause_first = t
        .span("cause-first")
        .follows_from(&b_ctx)
        .child_of(&a_ctx)
        .start();
    let invalid_first = t
        .span("invalid-first")
        .child_of(&invalid)
        .child_of(&a_ctx)
        .start();
    for span in [&only, &then_cause, &cause_first, &invalid_first] {
        assert_eq!(span.context().trace_id(), a_ctx.trace_id());
        assert_eq!(span.context().parent_id(), a_ctx.span_id());
        assert_eq!(span.baggage_item("from-a"), Some("1"));
    }
    assert_eq!(only.baggage_item("from-b"), None);
    assert_eq!(then_cause.baggage_item("from-b"), Some("2"));
    assert_eq!(cause_first.baggage_item("from-b"), Some("2"));
    drop((only, then_cause, cause_first, invalid_first));

    let spans = reporter.spans();
    let refs = |name: &str| -> Vec<(ReferenceType, u64)> {
        let s = spans.iter().find(|s| s.operation_name() == name).unwrap();
        s.references().map(|(k, _, id)| (k, id.get())).collect()
    };
    let (a_id, b_id) = (a_ctx.span_id().get(), b_ctx.span_id().get());
    assert_eq!(refs("only"), [], "the parent alone goes as parent_id");
    assert_eq!(
        refs("then-cause"),
        [
            (ReferenceType::ChildOf, a_id),
            (ReferenceType::FollowsFrom, b_id)
        ]
    );
    assert_eq!(
        refs("cause-first"),
        [
            (ReferenceType::FollowsFrom, b_id),
            (ReferenceType::ChildOf, a_id)
        ]
    );
    assert_eq!(
        refs("invalid-first"),
        [(ReferenceType::ChildOf, a_id)],
        "an invalid context is left out"
    );
}

/// A sampler the tracer cannot recognise as const: asked for every root
/// (and counting it).
#[derive(Debug)]
struct Asked(ConstSampler);

static ASKED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl jaeger_tracer::sampler::Sampler for Asked {
    fn should_sample(
        &self,
        trace_id: jaeger_tracer::TraceId,
        operation: &str,
    ) -> jaeger_tracer::sampler::SamplingDecision {
        ASKED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.0.should_sample(trace_id, operation)
    }
}

/// The default const sampler that samples everything is answered by the
/// tracer itself: its roots carry the same sampler tags, with the same
/// types, as those of a tracer that asks the sampler.
#[test]
fn a_const_sampler_answered_by_the_tracer_tags_roots_as_when_asked() {
    let sampler_tags = |asked: bool| {
        let sink = UdpSink::start();
        let builder = Tracer::builder("const")
            .with_agent_host("127.0.0.1")
            .with_agent_port(sink.port());
        let builder = if asked {
            builder.with_sampler(Asked(ConstSampler::new(true)))
        } else {
            builder
        };
        let (tracer, guard) = builder.init().unwrap();
        tracer.start("root").finish();
        drop(guard);
        let all = spans(&sink.wait_for_spans(1, true, Duration::from_secs(5)));
        assert_eq!(all.len(), 1);
        let root = &all[0];
        assert_eq!(root.flags & 1, 1, "sampled");
        ["sampler.type", "sampler.param"].map(|k| {
            let t = tag(root, k).unwrap_or_else(|| panic!("{k} missing"));
            (t.v_type, t.v_str.clone(), t.v_bool)
        })
    };
    let answered = sampler_tags(false);
    let asked = sampler_tags(true);
    assert_eq!(
        ASKED.load(std::sync::atomic::Ordering::Relaxed),
        1,
        "asked once"
    );
    assert_eq!(answered, asked);
    assert_eq!(answered[0].1.as_deref(), Some("const"));
    assert_eq!(answered[1].2, Some(true));
}

/// An error with a cause, as a library would return.
#[derive(Debug)]
struct CheckoutFailed {
    cause: std::io::Error,
}

impl std::fmt::Display for CheckoutFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("checkout failed")
    }
}

impl std::error::Error for CheckoutFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

#[test]
fn set_error_tags_and_logs_by_the_conventions() {
    use jaeger_tracer::ext;
    let sink = UdpSink::start();
    let (tracer, guard) = tracer_for(&sink);
    let err = CheckoutFailed {
        cause: std::io::Error::new(std::io::ErrorKind::TimedOut, "payment service timed out"),
    };
    let mut span = tracer
        .span("checkout")
        .with_tag(ext::SPAN_KIND, ext::SPAN_KIND_SERVER)
        .start();
    span.set_error(&err);
    drop(span);
    // Through a trait object: no type to name.
    let boxed: Box<dyn std::error::Error> = Box::new(std::fmt::Error);
    tracer.start("boxed").set_error(boxed.as_ref());
    drop(guard);

    let all = spans(&sink.wait_for_spans(2, true, Duration::from_secs(5)));
    let by = |n: &str| all.iter().find(|s| s.operation_name == n).unwrap();
    let field = |s: &thrift::jaeger::Span, k: &str| {
        s.logs.as_ref().unwrap()[0]
            .fields
            .iter()
            .find(|t| t.key == k)
            .and_then(|t| t.v_str.clone())
    };
    let checkout = by("checkout");
    assert_eq!(tag(checkout, ext::ERROR).unwrap().v_bool, Some(true));
    assert_eq!(
        tag(checkout, ext::SPAN_KIND).unwrap().v_str.as_deref(),
        Some("server")
    );
    assert_eq!(field(checkout, ext::EVENT).as_deref(), Some("error"));
    assert_eq!(
        field(checkout, ext::ERROR_KIND).as_deref(),
        Some("span_semantics::CheckoutFailed")
    );
    assert_eq!(
        field(checkout, ext::MESSAGE).as_deref(),
        Some("checkout failed")
    );
    assert!(field(checkout, ext::ERROR_OBJECT)
        .unwrap()
        .starts_with("CheckoutFailed { cause:"));
    assert_eq!(
        field(checkout, ext::STACK).as_deref(),
        Some("payment service timed out")
    );
    let boxed = by("boxed");
    assert_eq!(tag(boxed, ext::ERROR).unwrap().v_bool, Some(true));
    assert_eq!(field(boxed, ext::ERROR_KIND), None);
    assert_eq!(field(boxed, ext::STACK), None);
    assert!(field(boxed, ext::MESSAGE).is_some());
}

#[test]
fn logs_over_the_cap_keep_the_oldest_and_newest_halves_and_count_the_rest() {
    let sink = UdpSink::start();
    let (tracer, guard) = Tracer::builder("log-cap")
        .with_agent_host("127.0.0.1")
        .with_agent_port(sink.port())
        .with_max_logs_per_span(10)
        .init()
        .unwrap();
    let logged = |name: &'static str, n: i64| {
        let mut span = tracer.start(name);
        for i in 0..n {
            span.log(|f| {
                f.field("i", i);
            });
        }
    };
    logged("over", 25);
    logged("at-the-cap", 10);
    logged("far-over", 10_003);
    drop(guard);

    let all = spans(&sink.wait_for_spans(3, true, Duration::from_secs(5)));
    // Each log as its `i`, or the count of the dropped ones as `-n`.
    let logs = |name: &str| -> Vec<i64> {
        let span = all.iter().find(|s| s.operation_name == name).unwrap();
        span.logs
            .iter()
            .flatten()
            .map(|l| {
                let field = |k: &str| l.fields.iter().find(|t| t.key == k);
                match (field("i"), field("dropped_log_count")) {
                    (Some(i), _) => i.v_long.unwrap(),
                    (None, Some(n)) => {
                        assert_eq!(
                            field("event").unwrap().v_str.as_deref(),
                            Some("dropped Span logs")
                        );
                        -n.v_long.unwrap()
                    }
                    _ => panic!("unexpected log {l:?}"),
                }
            })
            .collect()
    };
    assert_eq!(logs("over"), [0, 1, 2, 3, 4, -15, 20, 21, 22, 23, 24]);
    assert_eq!(logs("at-the-cap"), (0..10).collect::<Vec<_>>());
    assert_eq!(
        logs("far-over"),
        [0, 1, 2, 3, 4, -9_993, 9_998, 9_999, 10_000, 10_001, 10_002]
    );
}

/// A future run in a span and dropped before it completes (a timeout, the
/// losing branch of a `select!`) leaves its span saying so, one a panic
/// interrupted leaves it failed; one that completes does neither.
#[test]
fn a_future_dropped_before_completing_logs_its_span_cancelled() {
    use jaeger_tracer::FutureExt;
    use std::future::Future;
    use std::task::{Context, Poll, Waker};

    let sink = UdpSink::start();
    let (tracer, guard) = tracer_for(&sink);
    let mut cx = Context::from_waker(Waker::noop());
    let mut pending = Box::pin(std::future::pending::<()>().in_span(tracer.start("given up")));
    assert!(pending.as_mut().poll(&mut cx).is_pending());
    drop(pending);
    // A panic in the future's poll: its span is marked failed.
    let panicking = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut cx = Context::from_waker(Waker::noop());
        let mut f = Box::pin(
            std::future::poll_fn(|_| -> Poll<()> { panic!("boom") })
                .in_span(tracer.start("panicked")),
        );
        let _ = f.as_mut().poll(&mut cx);
    }));
    assert!(panicking.is_err());
    let mut done = Box::pin(std::future::ready(7).in_span(tracer.start("completed")));
    assert_eq!(done.as_mut().poll(&mut cx), Poll::Ready(7));
    drop(done);
    drop(guard);
    let all = spans(&sink.wait_for_spans(3, true, Duration::from_secs(5)));
    let event = |name: &str, event: &str| {
        let span = all.iter().find(|s| s.operation_name == name).unwrap();
        span.logs.iter().flatten().any(|log| {
            log.fields
                .iter()
                .any(|f| f.key == "event" && f.v_str.as_deref() == Some(event))
        })
    };
    let failed = |name: &str| {
        let span = all.iter().find(|s| s.operation_name == name).unwrap();
        tag(span, "error").and_then(|t| t.v_bool) == Some(true)
    };
    assert!(
        event("given up", "cancelled") && !failed("given up"),
        "{all:?}"
    );
    assert!(event("panicked", "error") && failed("panicked"), "{all:?}");
    assert!(!event("panicked", "cancelled"), "{all:?}");
    assert!(
        !event("completed", "cancelled") && !failed("completed"),
        "{all:?}"
    );
}

/// Spans move into tasks and threads (an axum handler's future, a spawned
/// job) and tracers are shared: the public types are `Send` and `Sync`
/// (checked when this compiles), and a span finished on another thread
/// than the one that started it is reported whole, under its parent.
#[cfg(feature = "testing")]
#[test]
fn spans_cross_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Tracer>();
    shared::<jaeger_tracer::TracerGuard>();
    shared::<jaeger_tracer::Span>();
    shared::<jaeger_tracer::SpanBuilder<'static>>();
    shared::<SpanContext>();
    shared::<jaeger_tracer::Reference>();
    shared::<jaeger_tracer::FinishedSpan>();
    shared::<jaeger_tracer::Error>();
    shared::<jaeger_tracer::MetricsSnapshot>();
    shared::<jaeger_tracer::testing::InMemoryReporter>();

    let (t, reporter) = Tracer::builder("threads").init_in_memory().unwrap();
    let root = t.start("root");
    let mut child = t.span("moved").child_of(root.context()).start();
    child.set_tag("started.on", "main");
    let handle = std::thread::spawn(move || {
        child.set_tag("finished.on", "worker").log(|f| {
            f.field("event", "work");
        });
        child.context().clone()
    });
    let child_ctx = handle.join().unwrap();
    drop(root);
    let spans = reporter.spans();
    let moved = spans
        .iter()
        .find(|s| s.operation_name() == "moved")
        .expect("the span finished on the worker is reported");
    assert_eq!(moved.span_id(), child_ctx.span_id());
    assert_eq!(moved.parent_id(), child_ctx.parent_id());
    let tags: Vec<_> = moved.tags().map(|(k, v)| (k, v.to_string())).collect();
    assert_eq!(
        tags,
        [
            ("started.on", "main".to_string()),
            ("finished.on", "worker".to_string())
        ]
    );
    assert_eq!(moved.logs().count(), 1);
}
