//! The tracers compared in the benches, each set up once per process with
//! its own reporter sending to a loopback UDP sink, and the unit of work:
//! a root span with `n` children, each child with 2 tags.

#[allow(dead_code)]
pub mod floor;

use std::net::{SocketAddr, UdpSocket};
use std::sync::OnceLock;

/// A UDP sink that reads and discards, so no sender ever sees a full
/// kernel buffer.
pub fn sink() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    std::thread::Builder::new()
        .name("udp-sink".into())
        .spawn(move || {
            let mut buf = vec![0u8; 70_000];
            while socket.recv(&mut buf).is_ok() {}
        })
        .unwrap();
    addr
}

pub fn ours() -> &'static jaeger_tracer::Tracer {
    static T: OnceLock<jaeger_tracer::Tracer> = OnceLock::new();
    T.get_or_init(|| {
        let addr = sink();
        let (t, guard) = jaeger_tracer::Tracer::builder("bench")
            .with_agent_host("127.0.0.1")
            .with_agent_port(addr.port())
            .init()
            .unwrap();
        std::mem::forget(guard);
        t
    })
}

pub fn ours_children(n: u64) {
    let t = ours();
    let root = t.start("root");
    for _ in 0..n {
        let mut c = t.span("child").child_of(root.context()).start();
        c.set_tag("component", "bench").set_tag("n", 7);
    }
}

pub fn fastrace_init() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let reporter = fastrace_jaeger::JaegerReporter::new(sink(), "bench").unwrap();
        fastrace::set_reporter(reporter, fastrace::collector::Config::default());
    });
}

pub fn fastrace_children(n: u64) {
    use fastrace::prelude::*;
    let root = Span::root("root", SpanContext::random());
    let _g = root.set_local_parent();
    for _ in 0..n {
        let _c = LocalSpan::enter_with_local_parent("child")
            .with_property(|| ("component", "bench"))
            .with_property(|| ("n", "7"));
    }
}

fn rustracing() -> &'static rustracing_jaeger::Tracer {
    static T: OnceLock<rustracing_jaeger::Tracer> = OnceLock::new();
    T.get_or_init(|| {
        let (tx, rx) = crossbeam_channel::bounded(10_000);
        let tracer = rustracing_jaeger::Tracer::with_sender(rustracing::sampler::AllSampler, tx);
        let mut reporter =
            rustracing_jaeger::reporter::JaegerCompactReporter::new("bench").unwrap();
        reporter.set_agent_addr(sink());
        std::thread::spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut batch = vec![first];
                while batch.len() < 50 {
                    match rx.try_recv() {
                        Ok(s) => batch.push(s),
                        Err(_) => break,
                    }
                }
                let _ = reporter.report(&batch);
            }
        });
        tracer
    })
}

pub fn rustracing_children(n: u64) {
    use rustracing::tag::Tag;
    let t = rustracing();
    let root = t.span("root").start();
    for _ in 0..n {
        let mut c = t.span("child").child_of(&root).start();
        c.set_tag(|| Tag::new("component", "bench"));
        c.set_tag(|| Tag::new("n", 7i64));
    }
}

// The Jaeger exporter of OpenTelemetry is deprecated upstream, but it is the
// pipeline that sends Jaeger Thrift to an agent, the work compared here.
#[allow(deprecated)]
fn otel() -> &'static opentelemetry_sdk::trace::Tracer {
    static T: OnceLock<(opentelemetry_sdk::trace::Tracer, tokio::runtime::Runtime)> =
        OnceLock::new();
    &T.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let addr = sink();
        let tracer = rt
            .block_on(async {
                opentelemetry_jaeger::new_agent_pipeline()
                    .with_endpoint(addr.to_string())
                    .with_service_name("bench")
                    .with_auto_split_batch(true)
                    .install_batch(opentelemetry_sdk::runtime::Tokio)
            })
            .unwrap();
        (tracer, rt)
    })
    .0
}

pub fn otel_children(n: u64) {
    use opentelemetry::trace::{Span as _, TraceContextExt, Tracer as _};
    use opentelemetry::{Context, KeyValue};
    let t = otel();
    let root = t.start("root");
    let cx = Context::current_with_span(root);
    for _ in 0..n {
        let mut c = t.start_with_context("child", &cx);
        c.set_attribute(KeyValue::new("component", "bench"));
        c.set_attribute(KeyValue::new("n", 7i64));
        c.end();
    }
}

/// A unit of work: a root with `n` children.
pub type Work = fn(u64);

/// Every tracer, by name, ready to run.
pub fn all() -> Vec<(&'static str, Work)> {
    fastrace_init();
    let mut all = vec![
        ("jaeger-tracer", ours_children as Work),
        ("fastrace", fastrace_children as Work),
        ("rustracing_jaeger", rustracing_children as Work),
    ];
    // opentelemetry-jaeger hands tokio a blocking UDP socket, which a debug
    // build of tokio refuses with a panic: a bench run as a test in a debug
    // build (`cargo test --benches`) goes without it.
    if cfg!(debug_assertions) {
        eprintln!(
            "peers: opentelemetry_sdk left out of this debug build (tokio refuses its socket)"
        );
    } else {
        all.push(("opentelemetry_sdk", otel_children as Work));
    }
    all
}

/// CPU time of the calling thread.
#[allow(dead_code)]
pub fn thread_cpu() -> std::time::Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
