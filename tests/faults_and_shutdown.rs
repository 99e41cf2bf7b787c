//! Faults and shutdown: an agent stopped and restarted mid-stream, a
//! collector answering 429 or resetting mid-body, a panicking user callback,
//! close twice, 100,000 queued spans delivered at shutdown over UDP and
//! HTTP, and a dead sink that cannot hold shutdown past its deadline.

mod support;
#[path = "../src/thrift/mod.rs"]
#[allow(dead_code, clippy::all)]
mod thrift;

use std::collections::HashSet;
use std::net::UdpSocket;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jaeger_tracer::sampler::{Sampler, SamplingDecision};
use jaeger_tracer::{Collector, TraceId, Tracer};
use support::http::{HttpServer, Reply};
use support::UdpSink;
use thrift::{decode_agent_datagram, decode_bare_batch};

/// An agent that can be stopped (its socket closed) and started again on
/// the same port.
struct StoppableAgent {
    port: u16,
    spans: Arc<Mutex<Vec<i64>>>,
    running: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StoppableAgent {
    fn start(port: u16, spans: Arc<Mutex<Vec<i64>>>) -> StoppableAgent {
        let socket = UdpSocket::bind(("127.0.0.1", port)).unwrap();
        // Room for bursts while this (debug-built) decoder is descheduled:
        // kernel drops here would be the test's, not the tracer's.
        support::set_receive_buffer(&socket, 4 << 20);
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let port = socket.local_addr().unwrap().port();
        let running = Arc::new(AtomicBool::new(true));
        let (r, store) = (running.clone(), spans.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = vec![0u8; 70_000];
            while r.load(Ordering::SeqCst) {
                if let Ok(n) = socket.recv(&mut buf) {
                    let batch = decode_agent_datagram(&buf[..n], true).unwrap();
                    store
                        .lock()
                        .unwrap()
                        .extend(batch.spans.iter().map(|s| s.span_id));
                }
            }
        });
        StoppableAgent {
            port,
            spans,
            running,
            thread: Some(thread),
        }
    }

    fn stop(mut self) -> (u16, Arc<Mutex<Vec<i64>>>) {
        self.running.store(false, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap();
        (self.port, self.spans.clone())
    }
}

#[test]
fn agent_stopped_and_restarted_mid_stream() {
    let agent = StoppableAgent::start(0, Arc::new(Mutex::new(Vec::new())));
    let (tracer, guard) = Tracer::builder("restart")
        .with_agent_host("127.0.0.1")
        .with_agent_port(agent.port)
        .init()
        .unwrap();
    let batch = |n: usize| {
        for _ in 0..n {
            tracer.start("op").finish();
        }
        tracer.flush().unwrap();
    };
    batch(100);
    // Stopped only once it has read them: a datagram still in the socket
    // when it closes would be lost by the test, not the tracer.
    let deadline = Instant::now() + Duration::from_secs(5);
    while agent.spans.lock().unwrap().len() < 100 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let (port, spans) = agent.stop();
    for _ in 0..5 {
        batch(10);
        std::thread::sleep(Duration::from_millis(5));
    }
    let down = tracer.metrics();
    assert!(
        down.spans_failed_to_send > 0,
        "losses while the agent is down are counted: {down:?}"
    );
    let agent = StoppableAgent::start(port, spans.clone());
    for _ in 0..5 {
        batch(100);
        std::thread::sleep(Duration::from_millis(5));
    }
    // Until the agent has decoded what the socket accepted (the other tests
    // of this file load both cores meanwhile), at most 5 s.
    let sent = tracer.metrics().spans_reported as usize;
    let deadline = Instant::now() + Duration::from_secs(5);
    while spans.lock().unwrap().len() < sent && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    agent.stop();
    drop(guard);
    let m = tracer.metrics();
    let received = spans.lock().unwrap().len() as u64;
    assert_eq!(m.spans_finished(), 650);
    assert!(
        received >= 100 + 400,
        "flow resumed: {received} received, {m:?}"
    );
    // Everything not received was counted as failed (UDP cannot see a
    // datagram lost after the socket accepted it, so reported >= received).
    assert!(
        m.spans_reported >= received && m.spans_reported + m.spans_failed_to_send == 650,
        "{m:?}"
    );
}

#[test]
fn collector_429_and_reset_mid_body_then_success_delivers_once() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let server = HttpServer::start(move |_| match c.fetch_add(1, Ordering::SeqCst) {
        0 => Reply::Status(429, Vec::new()),
        _ => Reply::Status(202, Vec::new()),
    });
    server.reset_next(1);
    let (tracer, guard) = Tracer::builder("faults")
        .with_collector(Collector::new(server.url("/api/traces")).with_retries(4))
        .init()
        .unwrap();
    for _ in 0..50 {
        tracer.start("op").finish();
    }
    drop(guard);
    let accepted: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| !r.body.is_empty())
        .collect();
    // The reset request is never recorded; then a 429, then the 202.
    assert_eq!(accepted.len(), 2, "429 then 202");
    let delivered: Vec<i64> = decode_bare_batch(&accepted[1].body, false)
        .unwrap()
        .spans
        .iter()
        .map(|s| s.span_id)
        .collect();
    assert_eq!(
        delivered.iter().collect::<HashSet<_>>().len(),
        50,
        "delivered once, no duplicates"
    );
    let m = tracer.metrics();
    assert_eq!((m.spans_reported, m.spans_failed_to_send), (50, 0), "{m:?}");
}

#[derive(Debug)]
struct PanickySampler;

impl Sampler for PanickySampler {
    fn should_sample(&self, _: TraceId, operation: &str) -> SamplingDecision {
        if operation == "boom" {
            panic!("user sampler panicked");
        }
        SamplingDecision::new(true, "test", 1)
    }
}

#[test]
fn a_panicking_user_callback_does_not_stop_reporting() {
    let sink = UdpSink::start();
    let (tracer, guard) = Tracer::builder("panics")
        .with_agent_host("127.0.0.1")
        .with_agent_port(sink.port())
        .with_sampler(PanickySampler)
        .init()
        .unwrap();
    tracer.start("before").finish();
    assert!(catch_unwind(AssertUnwindSafe(|| tracer.start("boom"))).is_err());
    // A log closure that panics: the span is finished by its drop while
    // unwinding, without the half-built log.
    assert!(catch_unwind(AssertUnwindSafe(|| {
        let mut s = tracer.start("log-panics");
        s.log(|_| panic!("user log closure panicked"));
    }))
    .is_err());
    tracer.start("after").finish();
    drop(guard);
    let batches = sink.wait_for_spans(3, true, Duration::from_secs(5));
    let mut names: Vec<String> = batches
        .iter()
        .flat_map(|b| b.spans.iter().map(|s| s.operation_name.clone()))
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["after", "before", "log-panics"]);
}

#[test]
fn close_twice_and_flush_after_close() {
    let (tracer, guard) = Tracer::builder("twice")
        .with_agent_host("127.0.0.1")
        .init()
        .unwrap();
    tracer.start("op").finish();
    tracer.close().unwrap();
    let t = Instant::now();
    tracer.close().unwrap();
    assert!(t.elapsed() < Duration::from_millis(50));
    assert!(tracer.flush().unwrap_err().is_closed());
    tracer.start("late").finish();
    drop(guard);
    let m = tracer.metrics();
    assert_eq!(
        (m.spans_dropped_closed, m.spans_finished()),
        (1, 2),
        "{m:?}"
    );
}

#[test]
fn shutdown_delivers_100k_queued_spans_over_http() {
    let server = HttpServer::start(|_| Reply::Status(202, Vec::new()));
    let (tracer, guard) = Tracer::builder("shutdown-http")
        .with_collector(Collector::new(server.url("/api/traces")))
        .with_queue_size(100_000)
        .with_flush_interval(Duration::from_secs(60))
        .with_close_timeout(Duration::from_secs(20))
        .init()
        .unwrap();
    for i in 0..100_000i64 {
        tracer.start("op").set_tag("i", i);
    }
    let t = Instant::now();
    guard.close().unwrap();
    assert!(t.elapsed() < Duration::from_secs(20));
    let ids: HashSet<i64> = server
        .requests()
        .iter()
        .flat_map(|r| {
            decode_bare_batch(&r.body, false)
                .unwrap()
                .spans
                .into_iter()
                .map(|s| s.span_id)
        })
        .collect();
    assert_eq!(ids.len(), 100_000);
    assert_eq!(tracer.metrics().spans_reported, 100_000);
}

#[test]
fn shutdown_with_a_dead_collector_returns_by_the_deadline() {
    let server = HttpServer::start(|_| Reply::Hang);
    let (tracer, guard) = Tracer::builder("dead")
        .with_collector(
            Collector::new(server.url("/api/traces")).with_timeout(Duration::from_secs(30)),
        )
        .with_close_timeout(Duration::from_millis(500))
        .init()
        .unwrap();
    for _ in 0..1000 {
        tracer.start("op").finish();
    }
    let t = Instant::now();
    let err = guard.close().unwrap_err();
    let took = t.elapsed();
    assert!(err.is_timeout(), "{err}");
    assert!(took < Duration::from_millis(1500), "{took:?}");
    let m = tracer.metrics();
    // Not delivered, not lost silently: still counted as queued.
    assert_eq!(m.spans_finished(), 1000);
    assert!(m.spans_queued > 0 && m.spans_reported == 0, "{m:?}");
}

#[test]
fn collector_closing_without_an_answer_is_retried_and_delivers_once() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let server = HttpServer::start(move |_| match c.fetch_add(1, Ordering::SeqCst) {
        0 => Reply::Close,
        _ => Reply::Status(202, Vec::new()),
    });
    let (tracer, guard) = Tracer::builder("closing")
        .with_collector(Collector::new(server.url("/api/traces")))
        .init()
        .unwrap();
    for _ in 0..20 {
        tracer.start("op").finish();
    }
    drop(guard);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2, "the closed attempt and its retry");
    let ids: HashSet<i64> = decode_bare_batch(&reqs[1].body, false)
        .unwrap()
        .spans
        .iter()
        .map(|s| s.span_id)
        .collect();
    assert_eq!(ids.len(), 20);
    let m = tracer.metrics();
    assert_eq!((m.spans_reported, m.spans_failed_to_send), (20, 0), "{m:?}");
}
