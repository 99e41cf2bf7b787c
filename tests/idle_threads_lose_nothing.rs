//! Finished spans first gather in a slot of their thread and travel to the
//! reporter a batch at a time. A thread that finishes a few spans and then
//! goes idle (or exits) must not keep them: the reporter empties every slot
//! when it polls, and a flush or close sees them too.

mod support;
#[path = "../src/thrift/mod.rs"]
#[allow(dead_code, clippy::all)]
mod thrift;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use jaeger_tracer::Tracer;
use support::UdpSink;

fn tracer(sink: &UdpSink, flush_interval: Duration) -> (Tracer, jaeger_tracer::TracerGuard) {
    Tracer::builder("idle")
        .with_agent_host("127.0.0.1")
        .with_agent_port(sink.port())
        .with_flush_interval(flush_interval)
        .init()
        .unwrap()
}

/// Runs `n` spans on a new thread that then waits, idle, until released.
fn finish_then_idle(tracer: &Tracer, n: usize) -> (mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let (release, idle) = mpsc::channel::<()>();
    let (done_tx, done) = mpsc::channel::<()>();
    let t = tracer.clone();
    let handle = std::thread::spawn(move || {
        let root = t.start("root");
        for _ in 0..n - 1 {
            t.span("child").child_of(root.context()).start();
        }
        drop(root);
        done_tx.send(()).unwrap();
        let _ = idle.recv();
    });
    done.recv().unwrap();
    (release, handle)
}

#[test]
fn flush_takes_the_spans_of_an_idle_thread() {
    let sink = UdpSink::start();
    // A flush interval far longer than the test: only the flush can send.
    let (tracer, _guard) = tracer(&sink, Duration::from_secs(3600));
    let (release, handle) = finish_then_idle(&tracer, 3);
    tracer.flush().unwrap();
    let spans = support::spans(&sink.wait_for_spans(3, true, Duration::from_secs(5)));
    assert_eq!(spans.len(), 3, "the idle thread's 3 spans were flushed");
    assert_eq!(tracer.metrics().spans_reported, 3);
    release.send(()).unwrap();
    handle.join().unwrap();
}

#[test]
fn idle_thread_spans_arrive_within_the_flush_interval() {
    let sink = UdpSink::start();
    let (tracer, _guard) = tracer(&sink, Duration::from_millis(200));
    let start = Instant::now();
    let (release, handle) = finish_then_idle(&tracer, 5);
    let spans = support::spans(&sink.wait_for_spans(5, true, Duration::from_secs(5)));
    assert_eq!(spans.len(), 5);
    // The reporter polls every few milliseconds and sends a segment when
    // its root is in: well within the interval plus scheduling slack.
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    release.send(()).unwrap();
    handle.join().unwrap();
}

#[test]
fn close_takes_the_spans_of_exited_and_idle_threads() {
    let sink = UdpSink::start();
    let (tracer, guard) = tracer(&sink, Duration::from_secs(3600));
    // One thread has exited, one is idle; each left fewer spans than a batch.
    std::thread::scope(|s| {
        s.spawn(|| {
            let _ = tracer.start("exited");
        });
    });
    let (release, handle) = finish_then_idle(&tracer, 2);
    drop(guard);
    let m = tracer.metrics();
    assert_eq!(m.spans_reported, 3, "{m:?}");
    assert_eq!(m.spans_lost(), 0, "{m:?}");
    let spans = support::spans(&sink.wait_for_spans(3, true, Duration::from_secs(5)));
    assert_eq!(spans.len(), 3);
    release.send(()).unwrap();
    handle.join().unwrap();
}
