//! The reporter works, and shuts down without deadlock, in a program with no
//! async runtime, inside a multi-thread tokio runtime and inside a
//! current-thread runtime; the active span follows a future across `.await`.

mod support;
#[path = "../src/thrift/mod.rs"]
#[allow(dead_code, clippy::all)]
mod thrift;

use std::time::Duration;

use jaeger_tracer::{FutureExt, Tracer};
use support::{spans, UdpSink};

fn tracer_for(sink: &UdpSink) -> (Tracer, jaeger_tracer::TracerGuard) {
    Tracer::builder("runtimes")
        .with_agent_host("127.0.0.1")
        .with_agent_port(sink.port())
        .init()
        .unwrap()
}

async fn handler(tracer: Tracer) {
    let mut db = tracer.start("db");
    tokio::time::sleep(Duration::from_millis(2)).await;
    db.set_tag("rows", 1);
    db.finish();
    tokio::task::yield_now().await;
    // Still inside the request span after the await points.
    tracer.start("render").finish();
}

async fn run_requests(tracer: Tracer) {
    for _ in 0..3 {
        let root = tracer.start("request");
        handler(tracer.clone()).in_span(root).await;
    }
}

fn check_tree(sink: &UdpSink) {
    let all = spans(&sink.wait_for_spans(9, true, Duration::from_secs(5)));
    assert_eq!(all.len(), 9);
    for root in all.iter().filter(|s| s.operation_name == "request") {
        assert_eq!(root.parent_span_id, 0);
        let children: Vec<_> = all
            .iter()
            .filter(|s| s.parent_span_id == root.span_id)
            .collect();
        let mut names: Vec<_> = children.iter().map(|s| s.operation_name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["db", "render"]);
        assert!(children.iter().all(|c| c.trace_id_low == root.trace_id_low));
    }
}

#[test]
fn no_runtime() {
    let sink = UdpSink::start();
    let (tracer, guard) = tracer_for(&sink);
    let root = tracer.start("request").activate();
    tracer.start("db").finish();
    drop(root);
    drop(guard);
    let all = spans(&sink.wait_for_spans(2, true, Duration::from_secs(5)));
    assert_eq!(all.len(), 2);
    let db = all.iter().find(|s| s.operation_name == "db").unwrap();
    let req = all.iter().find(|s| s.operation_name == "request").unwrap();
    assert_eq!(db.parent_span_id, req.span_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_thread_runtime() {
    let sink = UdpSink::start();
    let (tracer, guard) = tracer_for(&sink);
    let task = tokio::spawn(run_requests(tracer.clone()));
    task.await.unwrap();
    // Dropping the guard inside the runtime blocks this worker only briefly
    // and must not deadlock.
    drop(guard);
    check_tree(&sink);
}

#[tokio::test(flavor = "current_thread")]
async fn current_thread_runtime() {
    let sink = UdpSink::start();
    let (tracer, guard) = tracer_for(&sink);
    run_requests(tracer.clone()).await;
    tracer.flush().unwrap();
    drop(guard);
    check_tree(&sink);
}

#[test]
fn init_in_one_runtime_close_after_it_is_gone() {
    let sink = UdpSink::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (tracer, guard) = rt.block_on(async { tracer_for(&sink) });
    rt.block_on(run_requests(tracer.clone()));
    drop(rt);
    drop(guard);
    check_tree(&sink);
}
