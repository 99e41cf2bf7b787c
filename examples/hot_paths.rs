//! The hot paths in a bare loop, for instruction counts and profiles
//! (criterion's harness would blur both).
//!
//! ```sh
//! cargo build --release --example hot_paths
//! N=100000 valgrind --tool=callgrind target/release/examples/hot_paths unsampled
//! N=200000 valgrind --tool=callgrind target/release/examples/hot_paths unsampled
//! ```
//!
//! The difference of the two totals over 100,000 is the instructions one
//! iteration costs. Paths: `unsampled` (start + finish of an unsampled
//! span), `sampled` (a child span with 2 tags under a root), `delivered`
//! (the same in bursts of 1,000 with a pause after each: every span
//! reaches the reporter, and its record comes back for reuse), `inject`
//! and `extract` (`uber-trace-id` with 2 baggage items, a `HashMap`
//! carrier), `inject_header_map` and `extract_header_map` (the same with
//! an `http::HeaderMap`). With valgrind, pass `--separate-threads=yes` and read the
//! main thread's file (`callgrind.out.<pid>-01`) for the application
//! thread alone.
//! Without valgrind it prints the time per iteration.

use std::collections::HashMap;
use std::hint::black_box;
use std::net::UdpSocket;
use std::time::Instant;

use jaeger_tracer::sampler::ConstSampler;
use jaeger_tracer::Tracer;

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "unsampled".into());
    let n: u64 = std::env::var("N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    // A sink that drains what the reporter sends.
    let sink = UdpSocket::bind("127.0.0.1:0").expect("a loopback UDP socket");
    let port = sink.local_addr().expect("its address").port();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 70_000];
        while sink.recv(&mut buf).is_ok() {}
    });
    let (tracer, _guard) = Tracer::builder("hot-paths")
        .with_agent_host("127.0.0.1")
        .with_agent_port(port)
        .with_sampler(ConstSampler::new(path != "unsampled"))
        .init()
        .expect("a tracer");
    let mut span = tracer.start("op");
    span.set_baggage_item("user", "alice")
        .set_baggage_item("tenant", "acme");
    let ctx = span.context().clone();
    let mut carrier: HashMap<String, String> = HashMap::new();
    tracer.inject(&ctx, &mut carrier);

    let t0 = Instant::now();
    match path.as_str() {
        "unsampled" => {
            for _ in 0..n {
                let span = tracer.start("op");
                black_box(span.context());
            }
        }
        "sampled" => {
            let root = tracer.start("root");
            for _ in 0..n {
                let mut child = tracer.span("child").child_of(root.context()).start();
                child.set_tag("component", "bench").set_tag("n", 7);
            }
        }
        "delivered" => {
            // As `sampled`, in bursts of 1,000 spans with a pause after
            // each, so that the reporter takes every span and the records
            // come back for reuse (`sampled` runs flat out: under valgrind,
            // which runs one thread at a time, most of its spans are
            // dropped at the full queue).
            let root = tracer.start("root");
            for i in 0..n {
                let mut child = tracer.span("child").child_of(root.context()).start();
                child.set_tag("component", "bench").set_tag("n", 7);
                if i % 1000 == 999 {
                    std::thread::sleep(std::time::Duration::from_millis(30));
                }
            }
        }
        "inject" => {
            for _ in 0..n {
                let mut c: HashMap<String, String> = HashMap::with_capacity(4);
                tracer.inject(black_box(&ctx), &mut c);
                black_box(c);
            }
        }
        "inject_header_map" => {
            for _ in 0..n {
                let mut h = http::HeaderMap::with_capacity(4);
                tracer.inject(black_box(&ctx), &mut h);
                black_box(h);
            }
        }
        "extract_header_map" => {
            let mut headers = http::HeaderMap::new();
            tracer.inject(&ctx, &mut headers);
            for _ in 0..n {
                black_box(tracer.extract(black_box(&headers)).ok());
            }
        }
        "extract" => {
            for _ in 0..n {
                black_box(tracer.extract(black_box(&carrier)).ok());
            }
        }
        other => {
            eprintln!(
                "unknown path {other:?}: unsampled, sampled, delivered, inject, extract, \
                 inject_header_map or extract_header_map"
            );
            std::process::exit(2);
        }
    }
    let per = t0.elapsed().as_nanos() as f64 / n as f64;
    println!("{path}: {per:.1} ns per iteration ({n} iterations)");
}
