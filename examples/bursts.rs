//! A sampled child span's application-thread cost in bursts and flat out,
//! with and without its 2 tags (and, in bursts, with a third whose value
//! is allocated for the span, or with 5 static tags, more than a record
//! holds in itself): where the cost of a delivered span goes.
//!
//! ```sh
//! cargo run --release --example bursts
//! ```
//!
//! A burst of 100,000 child spans after a 30 ms pause starts with an empty
//! queue: about half of it is reported, and a delivered span's block comes
//! back last read by the reporter thread's core. A flat-out run of
//! 1,000,000 soon fills the queue and mostly drops (a third or less
//! reported); a dropped span's block is emptied and reused on its own
//! thread.
//! Prints the median over 10 rounds (the first 2 left out) of the CPU time
//! per child span, for each case, in alternation, the share of each
//! case's spans dropped at the full queue (counted by the tracer as they
//! finish; the rest are reported), and how many times the application
//! thread went to sleep during the case's rounds (voluntary context
//! switches: waiting for a lock, the allocator's included; should be 0).

use std::io::Read;
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

/// This thread's voluntary context switches so far (read into a buffer on
/// the stack, so reading allocates nothing).
fn voluntary_switches() -> u64 {
    let mut buf = [0u8; 4096];
    let Ok(mut file) = std::fs::File::open("/proc/thread-self/status") else {
        return 0;
    };
    let mut len = 0;
    while let Ok(n @ 1..) = file.read(&mut buf[len..]) {
        len += n;
    }
    std::str::from_utf8(&buf[..len])
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// The tags each child span gets.
#[derive(Clone, Copy)]
enum Tags {
    None,
    /// `component` and `n`, nothing allocated.
    Two,
    /// The two and a `url` allocated for the span.
    TwoAndOwned,
    /// Five, nothing allocated: three beyond the two a record holds in
    /// itself.
    Five,
}

/// One round: `spans` children of 100-child traces; CPU ns per child.
fn round(tracer: &Tracer, spans: u64, tags: Tags) -> f64 {
    let traces = spans / 100;
    let t0 = thread_cpu_ns();
    for _ in 0..traces {
        let root = tracer.start("root");
        for i in 0..100 {
            let mut child = tracer.span("child").child_of(root.context()).start();
            match tags {
                Tags::None => {}
                Tags::Two => {
                    child.set_tag("component", "bench").set_tag("n", 7);
                }
                Tags::TwoAndOwned => {
                    child
                        .set_tag("component", "bench")
                        .set_tag("n", 7)
                        .set_tag("url", format!("/items/{i}"));
                }
                Tags::Five => {
                    child
                        .set_tag("component", "bench")
                        .set_tag("n", 7)
                        .set_tag("http.method", "GET")
                        .set_tag("http.status_code", 200)
                        .set_tag("span.kind", "server");
                }
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
        ("burst, 2 tags", 100_000, 30, Tags::Two),
        ("burst, no tags", 100_000, 30, Tags::None),
        ("burst, + owned tag", 100_000, 30, Tags::TwoAndOwned),
        ("burst, 5 tags", 100_000, 30, Tags::Five),
        ("flat out, 2 tags", 1_000_000, 0, Tags::Two),
        ("flat out, no tags", 1_000_000, 0, Tags::None),
    ];
    let mut costs = vec![Vec::new(); cases.len()];
    let mut dropped = vec![(0u64, 0u64); cases.len()];
    let mut slept = vec![0u64; cases.len()];
    for r in 0..12 {
        for (i, (_, spans, pause_ms, tags)) in cases.iter().enumerate() {
            std::thread::sleep(Duration::from_millis(*pause_ms));
            let before = tracer.metrics();
            let switches = voluntary_switches();
            let cost = round(&tracer, *spans, *tags);
            let switches = voluntary_switches() - switches;
            let after = tracer.metrics();
            if r >= 2 {
                slept[i] += switches;
                costs[i].push(cost);
                dropped[i].0 += after.spans_dropped_queue_full - before.spans_dropped_queue_full;
                dropped[i].1 += after.spans_finished() - before.spans_finished();
            }
        }
    }
    for ((((name, ..), c), (lost, all)), slept) in cases.iter().zip(costs).zip(dropped).zip(slept) {
        println!(
            "{name:>18}: {:6.1} ns per child span, {:4.1} % of spans dropped at the full queue, slept {slept} times",
            median(c),
            100.0 * lost as f64 / all.max(1) as f64
        );
    }
}
