//! Finish latency percentiles on the application thread, under load: two
//! threads finish spans at full speed into a queue of 1,000 drained by the
//! reporter towards a UDP sink that reads slowly.
//!
//! `cargo bench --bench finish_latency` (SPANS=2000000 to change the count).

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use jaeger_tracer::Tracer;

fn main() {
    // `cargo bench` passes `--bench`; nothing else is parsed.
    let total: usize = std::env::var("SPANS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 70_000];
        while socket.recv(&mut buf).is_ok() {
            std::thread::sleep(Duration::from_micros(200));
        }
    });
    let (tracer, guard) = Tracer::builder("finish-latency")
        .with_agent_host("127.0.0.1")
        .with_agent_port(port)
        .with_queue_size(1_000)
        .init()
        .unwrap();
    let started = Instant::now();
    let mut all: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let tracer = tracer.clone();
                s.spawn(move || {
                    let mut lat = Vec::with_capacity(total / 2);
                    for i in 0..total / 2 {
                        let mut span = tracer.start("op");
                        span.set_tag("i", i as i64).set_tag("component", "bench");
                        let t = Instant::now();
                        span.finish();
                        lat.push(t.elapsed().as_nanos() as u64);
                    }
                    lat
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let elapsed = started.elapsed();
    drop(guard);
    all.sort_unstable();
    let p = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    let m = tracer.metrics();
    println!(
        "finish latency over {} spans from 2 threads ({:.0} spans/s offered):",
        all.len(),
        all.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  p50 {} ns  p99 {} ns  p99.9 {} ns  max {} ns",
        p(0.5),
        p(0.99),
        p(0.999),
        all[all.len() - 1]
    );
    println!(
        "  reported {}  dropped (queue full) {}  other losses {}",
        m.spans_reported,
        m.spans_dropped_queue_full,
        m.spans_lost() - m.spans_dropped_queue_full
    );
}
