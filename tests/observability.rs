//! The tracer's own observability: the counters of the Go client's metrics
//! (in the snapshot and through the `metrics` facade), span observers, the
//! logging reporter, the in-memory reporter, and the warnings a collector
//! URL without its path, a refused redirect and spans after a close get.

mod env_vars;
mod support;
#[path = "../src/thrift/mod.rs"]
#[allow(dead_code, clippy::all)]
mod thrift;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use jaeger_tracer::sampler::ConstSampler;
use jaeger_tracer::{FinishedSpan, SpanContext, SpanObserver, Tracer};

fn tracer(sampled: bool) -> (Tracer, jaeger_tracer::TracerGuard) {
    Tracer::builder("observability")
        .with_agent_host("127.0.0.1")
        .with_sampler(ConstSampler::new(sampled))
        .init()
        .unwrap()
}

#[test]
fn snapshot_counts_traces_spans_errors_and_baggage() {
    let (t, guard) = tracer(true);
    let root = t.start("root");
    let _child = t.span("child").child_of(root.context()).start();
    let remote: SpanContext = "abc:1:0:1".parse().unwrap();
    let _joined = t.span("server").child_of(&remote).start();
    let bad: HashMap<String, String> = [("uber-trace-id".to_string(), "nope".to_string())].into();
    assert!(t.extract(&bad).is_err());
    let mut s = t.start("bag");
    s.set_baggage_item("k", "v");
    drop((root, _child, _joined, s));
    let (u, uguard) = tracer(false);
    u.start("unsampled").finish();
    drop((guard, uguard));
    let m = t.metrics();
    assert_eq!(
        (m.traces_started_sampled, m.traces_joined_sampled),
        (2, 1),
        "{m:?}"
    );
    assert_eq!(
        (m.spans_started_sampled, m.spans_finished()),
        (4, 4),
        "{m:?}"
    );
    assert_eq!(
        (m.span_context_decoding_errors, m.baggage_updates),
        (1, 1),
        "{m:?}"
    );
    let m = u.metrics();
    assert_eq!(
        (
            m.traces_started_unsampled,
            m.spans_started_unsampled,
            m.spans_finished_unsampled
        ),
        (1, 1, 1),
        "{m:?}"
    );
}

#[test]
fn unsampled_spans_are_counted_by_kind_including_children_of_the_active_span() {
    let (u, _guard) = tracer(false);
    let root = u.start("root").activate();
    // `Tracer::start` under an active span: the builder-free path.
    let child = u.start("child");
    assert_eq!(child.context().trace_id(), root.context().trace_id());
    assert_eq!(child.context().parent_id(), root.context().span_id());
    assert!(!child.context().flags().is_sampled());
    let remote: SpanContext = "abc:1:0:0".parse().unwrap();
    let joined = u.span("server").child_of(&remote).start();
    drop((child, joined, root));
    let m = u.metrics();
    assert_eq!(
        (
            m.traces_started_unsampled,
            m.traces_joined_unsampled,
            m.spans_started_unsampled,
            m.spans_finished_unsampled,
            m.spans_started_sampled,
        ),
        (1, 1, 3, 3, 0),
        "{m:?}"
    );
}

#[derive(Default)]
struct Recorder {
    started: Mutex<Vec<String>>,
    finished: Mutex<Vec<(String, bool, Duration)>>,
}

impl SpanObserver for Recorder {
    fn on_start(&self, _ctx: &SpanContext, name: &str) {
        self.started.lock().unwrap().push(name.to_owned());
    }
    fn on_finish(&self, span: &FinishedSpan) {
        self.finished.lock().unwrap().push((
            span.operation_name().to_owned(),
            span.flags().is_sampled(),
            span.duration(),
        ));
    }
}

struct Panicky;

impl SpanObserver for Panicky {
    fn on_finish(&self, _: &FinishedSpan) {
        panic!("observer bug");
    }
}

#[test]
fn observers_see_every_span_and_their_panics_are_contained() {
    let rec = Arc::new(Recorder::default());
    let (t, guard) = Tracer::builder("observers")
        .with_agent_host("127.0.0.1")
        .with_sampler(ConstSampler::new(false))
        .with_observer(rec.clone())
        .with_observer(Panicky)
        .init()
        .unwrap();
    {
        let _s = t.start("unsampled-op");
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut forced = t.start("forced-op");
    forced.set_tag("sampling.priority", 1);
    forced.finish();
    drop(guard);
    assert_eq!(*rec.started.lock().unwrap(), ["unsampled-op", "forced-op"]);
    let finished = rec.finished.lock().unwrap().clone();
    assert_eq!(finished.len(), 2);
    assert_eq!(
        (finished[0].0.as_str(), finished[0].1),
        ("unsampled-op", false)
    );
    assert!(
        finished[0].2 >= Duration::from_millis(5),
        "unsampled spans are timed for observers"
    );
    assert_eq!((finished[1].0.as_str(), finished[1].1), ("forced-op", true));
    let m = t.metrics();
    assert_eq!((m.observer_panics, m.spans_reported), (2, 1), "{m:?}");
}

/// A `log` logger keeping the records of the span log target, and the
/// crate's own warnings.
struct Capture(Mutex<Vec<String>>, Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        if record.target() == "jaeger_tracer::spans" {
            self.0.lock().unwrap().push(record.args().to_string());
        } else if record.target().starts_with("jaeger_tracer") && record.level() == log::Level::Warn
        {
            self.1.lock().unwrap().push(record.args().to_string());
        }
    }
    fn flush(&self) {}
}

fn logger() -> &'static Capture {
    static LOGGER: OnceLock<&'static Capture> = OnceLock::new();
    LOGGER.get_or_init(|| {
        let l: &'static Capture = Box::leak(Box::new(Capture(
            Mutex::new(Vec::new()),
            Mutex::new(Vec::new()),
        )));
        log::set_logger(l).unwrap();
        log::set_max_level(log::LevelFilter::Info);
        l
    })
}

#[test]
fn log_spans_reports_each_span_through_log() {
    let capture = logger();
    let vars = [
        ("JAEGER_SERVICE_NAME", "logged"),
        ("JAEGER_AGENT_HOST", "127.0.0.1"),
        ("JAEGER_REPORTER_LOG_SPANS", "true"),
    ];
    let (t, guard) = jaeger_tracer::TracerBuilder::from_lookup(env_vars::lookup(&vars))
        .unwrap()
        .init()
        .unwrap();
    let s = t.start("logged-op");
    let id = s.context().span_id().to_string();
    drop(s);
    drop(guard);
    let lines = capture.0.lock().unwrap().clone();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("logged-op") && l.contains(&id)),
        "{lines:?}"
    );
}

/// Sends one span to a collector at `url` that fails it; the crate's
/// warnings logged so far.
fn one_span_failing_to(capture: &Capture, url: String) -> Vec<String> {
    let (t, guard) = Tracer::builder("failing-collector")
        .with_collector(jaeger_tracer::Collector::new(url))
        .init()
        .unwrap();
    drop(t.start("lost"));
    drop(guard);
    assert_eq!(t.metrics().spans_failed_to_send, 1);
    capture.1.lock().unwrap().clone()
}

/// A redirect the spans cannot follow is reported with where it pointed,
/// without the credentials a `Location` may carry.
#[test]
fn a_refused_redirect_is_reported_with_its_target_and_no_credentials() {
    let capture = logger();
    let server = support::http::HttpServer::start(|_| {
        support::http::Reply::WithHeaders(
            301,
            vec![(
                "Location",
                "https://bob:hunter2@traces.example/api/traces".into(),
            )],
        )
    });
    let warnings = one_span_failing_to(capture, server.url("/api/traces"));
    let warning = warnings
        .iter()
        .find(|w| w.contains("301"))
        .unwrap_or_else(|| panic!("{warnings:?}"));
    assert!(warning.contains("traces.example/api/traces"), "{warning}");
    assert!(!warning.contains("hunter2"), "{warning}");
}

/// A guard dropped at once (`let (tracer, _) = …`) closes the tracer: the
/// spans finished after it are counted, and the first one is logged with
/// that cause, once.
#[test]
fn spans_after_a_guard_dropped_at_once_are_warned_of_once() {
    let capture = logger();
    let (t, _) = Tracer::builder("guard-dropped")
        .with_agent_host("127.0.0.1")
        .init()
        .unwrap();
    for _ in 0..3 {
        drop(t.start("late"));
    }
    assert_eq!(t.metrics().spans_dropped_closed, 3);
    let warned = capture
        .1
        .lock()
        .unwrap()
        .iter()
        .filter(|w| w.contains("TracerGuard") && w.contains("`let (tracer, _guard)"))
        .count();
    assert_eq!(warned, 1);
}

/// A sampling endpoint's credentials and secret query values stay out of
/// the warnings about its answers and out of the errors about the
/// endpoint itself.
#[test]
fn sampling_endpoint_secrets_stay_out_of_warnings_and_errors() {
    let capture = logger();
    let server = support::http::HttpServer::start(|_| {
        support::http::Reply::Status(200, b"{not a strategy".to_vec())
    });
    let url = server.url("/sampling?access_token=tok-s3cret").replacen(
        "http://",
        "http://alice:pw-s3cret@",
        1,
    );
    let sampler = jaeger_tracer::sampler::RemoteSampler::builder("secret-endpoint")
        .with_endpoint(url)
        .with_refresh_interval(Duration::from_millis(100));
    let (_t, guard) = Tracer::builder("secret-endpoint")
        .with_agent_host("127.0.0.1")
        .with_remote_sampler(sampler)
        .init()
        .unwrap();
    let warned = || {
        capture
            .1
            .lock()
            .unwrap()
            .iter()
            .find(|w| w.contains("ignoring sampling strategy"))
            .cloned()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while warned().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(guard);
    let warning = warned().expect("a warning about the strategy");
    assert!(warning.contains("access_token=REDACTED"), "{warning}");
    assert!(!warning.contains("s3cret"), "{warning}");
    let err = jaeger_tracer::sampler::RemoteSampler::builder("s")
        .with_endpoint("ftp://alice:pw-s3cret@host/sampling?access_token=tok-s3cret")
        .start()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not http(s)") && !err.contains("s3cret"),
        "{err}"
    );
}

/// A collector that cannot be reached is reported with the cause a user
/// can act on, not only the HTTP client's "error sending request": a
/// refused connection, a certificate the client does not trust.
#[test]
fn an_unreachable_collector_is_reported_with_its_cause() {
    let capture = logger();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api/traces", closed.local_addr().unwrap());
    drop(closed);
    let warnings = one_span_failing_to(capture, url);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("error sending request") && w.contains("Connection refused")),
        "{warnings:?}"
    );

    let (_pem, cert, key) = support::http::self_signed();
    let server = support::http::HttpServer::start_tls(cert, key, |_| {
        support::http::Reply::Status(202, Vec::new())
    });
    let url = server.url("/api/traces");
    let warnings = one_span_failing_to(capture, url.clone());
    assert!(
        warnings
            .iter()
            .any(|w| w.contains(&url) && w.contains("invalid peer certificate: UnknownIssuer")),
        "{warnings:?}"
    );
    assert!(server.requests().is_empty());
}

/// A sampling endpoint that fails (here a wrong path: 404) is warned of
/// once, with what it answered, not at every poll; its recovery is
/// followed.
#[test]
fn a_failing_sampling_endpoint_is_warned_of_once() {
    let capture = logger();
    let asked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = asked.clone();
    let server = support::http::HttpServer::start(move |_| {
        if counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 4 {
            support::http::Reply::Status(404, b"404 page not found".to_vec())
        } else {
            support::http::Reply::Status(
                200,
                br#"{"strategyType":0,"probabilisticSampling":{"samplingRate":1}}"#.to_vec(),
            )
        }
    });
    let url = server.url("/wrong-path");
    let sampler = jaeger_tracer::sampler::RemoteSampler::builder("failing-endpoint")
        .with_endpoint(url.clone())
        .with_initial_rate(0.0)
        .with_refresh_interval(Duration::from_millis(100))
        .start()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while sampler.stats().updates_ok == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            sampler.stats()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(sampler.stats().queries_err, 4);
    let warned: Vec<String> = capture
        .1
        .lock()
        .unwrap()
        .iter()
        .filter(|w| w.contains(&url))
        .cloned()
        .collect();
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(warned[0].contains("answered 404 Not Found"), "{warned:?}");
}

/// A collector URL without the collector's path: the 404 is reported with
/// the path a Jaeger collector takes batches at.
#[test]
fn a_collector_url_missing_its_path_is_reported_with_the_right_one() {
    let capture = logger();
    let server = support::http::HttpServer::start(|r| {
        if r.target == "/api/traces" {
            support::http::Reply::Status(202, Vec::new())
        } else {
            support::http::Reply::Status(404, b"404 page not found".to_vec())
        }
    });
    let warnings = one_span_failing_to(capture, server.url("/"));
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("404") && w.contains("at /api/traces")),
        "{warnings:?}"
    );
}

#[cfg(feature = "testing")]
#[test]
fn in_memory_reporter_keeps_finished_spans() {
    let (t, reporter) = Tracer::builder("mem").init_in_memory().unwrap();
    let mut root = t.start("root");
    root.set_tag("k", "v").log(|f| {
        f.event("e");
    });
    let child = t.span("child").child_of(root.context()).start();
    drop(child);
    drop(root);
    let spans = reporter.spans();
    assert_eq!(
        spans
            .iter()
            .map(FinishedSpan::operation_name)
            .collect::<Vec<_>>(),
        ["child", "root"]
    );
    assert_eq!(spans[0].parent_id(), spans[1].span_id());
    assert_eq!(spans[1].tag("k").and_then(|v| v.as_str()), Some("v"));
    assert_eq!(spans[1].logs().count(), 1);
    assert_eq!(t.metrics().spans_reported, 2);
    reporter.clear();
    assert!(reporter.is_empty());
}

#[cfg(feature = "metrics")]
#[test]
fn metrics_facade_exports_the_counters() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();
    let (t, guard) = Tracer::builder("facade")
        .with_agent_host("127.0.0.1")
        .with_flush_interval(Duration::from_millis(40))
        .init()
        .unwrap();
    for _ in 0..10 {
        t.start("op").finish();
    }
    let bad: HashMap<String, String> = [("uber-trace-id".to_string(), "x".to_string())].into();
    assert!(t.extract(&bad).is_err());
    t.flush().unwrap();
    drop(guard);
    let values: HashMap<String, DebugValue> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, v)| {
            let k = key.key();
            let mut labels: Vec<String> = k
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            labels.sort();
            (format!("{}{{{}}}", k.name(), labels.join(",")), v)
        })
        .collect();
    let counter = |k: &str| match values.get(k) {
        Some(DebugValue::Counter(v)) => *v,
        other => panic!("{k}: {other:?} in {:?}", values.keys().collect::<Vec<_>>()),
    };
    assert_eq!(counter("jaeger_tracer_reporter_spans{result=ok}"), 10);
    assert_eq!(counter("jaeger_tracer_started_spans{sampled=y}"), 10);
    assert_eq!(counter("jaeger_tracer_traces{sampled=y,state=started}"), 10);
    assert_eq!(counter("jaeger_tracer_span_context_decoding_errors{}"), 1);
    assert_eq!(counter("jaeger_tracer_dropped_spans{reason=queue_full}"), 0);
    assert!(matches!(
        values.get("jaeger_tracer_reporter_queue_length{}"),
        Some(DebugValue::Gauge(_))
    ));
}
