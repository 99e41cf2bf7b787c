//! A sampled child span's application-thread cost in bursts and flat out,
//! with and without its 2 tags: where the cost of a delivered span goes.
//!
//! ```sh
//! cargo run --release --example bursts
//! ```
//!
//! A burst of 100,000 child spans after a 30 ms pause starts with an empty
//! queue: half or more of it is reported, and a delivered span's record (and
//! its tag slots) comes back last written by the reporter thread's core. A
//! flat-out run of 1,000,000 soon fills the queue and mostly drops (a
//! third reported); a dropped span's record is recycled on its own thread.
//! Prints the median over 10 rounds (the first 2 left out) of the CPU time
//! per child span, for each case, in alternation, and the share of each
//! case's spans dropped at the full queue (counted by the tracer as they
//! finish; the rest are reported).

use std::net::UdpSocket;
use std::time::Duration;

use jaeger_tracer::Tracer;

fn thread_cpu_ns() -> u64 {
    // The first field of schedstat is the thread's CPU time in nanoseconds.
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// One round: `spans` children of 100-child traces; CPU ns per child.
fn round(tracer: &Tracer, spans: u64, tags: bool) -> f64 {
    let traces = spans / 100;
    let t0 = thread_cpu_ns();
    for _ in 0..traces {
        let root = tracer.start("root");
        for _ in 0..100 {
            let mut child = tracer.span("child").child_of(root.context()).start();
            if tags {
                child.set_tag("component", "bench").set_tag("n", 7);
            }
        }
    }
    (thread_cpu_ns() - t0) as f64 / (traces * 100) as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let sink = UdpSocket::bind("127.0.0.1:0").expect("a loopback UDP socket");
    let port = sink.local_addr().expect("its address").port();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 70_000];
        while sink.recv(&mut buf).is_ok() {}
    });
    let (tracer, _guard) = Tracer::builder("bursts")
        .with_agent_host("127.0.0.1")
        .with_agent_port(port)
        .init()
        .expect("a tracer");
    let cases = [
        ("burst, 2 tags", 100_000, 30, true),
        ("burst, no tags", 100_000, 30, false),
        ("flat out, 2 tags", 1_000_000, 0, true),
        ("flat out, no tags", 1_000_000, 0, false),
    ];
    let mut costs = vec![Vec::new(); cases.len()];
    let mut dropped = vec![(0u64, 0u64); cases.len()];
    for r in 0..12 {
        for (i, (_, spans, pause_ms, tags)) in cases.iter().enumerate() {
            std::thread::sleep(Duration::from_millis(*pause_ms));
            let before = tracer.metrics();
            let cost = round(&tracer, *spans, *tags);
            let after = tracer.metrics();
            if r >= 2 {
                costs[i].push(cost);
                dropped[i].0 += after.spans_dropped_queue_full - before.spans_dropped_queue_full;
                dropped[i].1 += after.spans_finished() - before.spans_finished();
            }
        }
    }
    for (((name, ..), c), (lost, all)) in cases.iter().zip(costs).zip(dropped) {
        println!(
            "{name:>18}: {:6.1} ns per child span, {:4.1} % of spans dropped at the full queue",
            median(c),
            100.0 * lost as f64 / all.max(1) as f64
        );
    }
}
