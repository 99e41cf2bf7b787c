//! Application-thread CPU of a sampled child span when nothing is dropped.
//!
//! `cargo bench --bench paced` — the comparison loops of `compare.rs` run
//! flat out, faster than a reporter drains on a small machine, so some of
//! their spans are dropped (cheaply). Here one trace of 100 spans (a root,
//! 99 children with 2 tags) is followed by a short sleep, a rate the
//! reporter keeps up with; the run checks that every span was reported and
//! prints the application thread's CPU time per span, for several pauses.

use std::net::UdpSocket;
use std::time::Duration;

use jaeger_tracer::Tracer;

fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn run(pause: Duration, traces: u64) {
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sink.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 70_000];
        while sink.recv(&mut buf).is_ok() {}
    });
    let (tracer, guard) = Tracer::builder("paced")
        .with_agent_host("127.0.0.1")
        .with_agent_port(port)
        .init()
        .unwrap();
    let mut busy = Duration::ZERO;
    for _ in 0..traces {
        let t0 = thread_cpu();
        let root = tracer.start("root");
        for _ in 0..99 {
            let mut child = tracer.span("child").child_of(root.context()).start();
            child.set_tag("component", "bench").set_tag("n", 7);
        }
        drop(root);
        busy += thread_cpu() - t0;
        std::thread::sleep(pause);
    }
    drop(guard);
    let m = tracer.metrics();
    let spans = traces * 100;
    println!(
        "pause {:>4} µs per 100 spans: {:6.1} ns application CPU per sampled span; {} reported, {} dropped",
        pause.as_micros(),
        busy.as_nanos() as f64 / spans as f64,
        m.spans_reported,
        m.spans_dropped_queue_full
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass
    // nothing: run briefly then.
    let full = std::env::args().any(|a| a == "--bench");
    let traces = if full { 20_000 } else { 100 };
    for pause_us in [10, 30, 100] {
        run(Duration::from_micros(pause_us), traces);
    }
}
