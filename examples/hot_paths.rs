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
//! reaches the reporter, and its record comes back for reuse), `traces`
//! (a root with one such child, in bursts: what a root adds), `inject`
//! and `extract` (`uber-trace-id` with 2 baggage items, a `HashMap`
//! carrier), `inject_header_map` and `extract_header_map` (the same with
//! an `http::HeaderMap`), `extract_request` (the same headers among those
//! of a browser's request, as a server's middleware extracts them). With valgrind, pass `--separate-threads=yes` and read the
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
        "traces" => {
            // A root with one child, both with their tags (the root's are
            // the sampler's), in bursts of 500 traces with a pause after
            // each, as `delivered`: the root's start and finish (a new
            // trace id, the sampler's decision and tags) beside a child.
            for i in 0..n {
                let root = tracer.start("root");
                let mut child = tracer.span("child").child_of(root.context()).start();
                child.set_tag("component", "bench").set_tag("n", 7);
                drop(child);
                drop(root);
                if i % 500 == 499 {
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
        "extract_request" => {
            let mut headers = request_headers();
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
                "unknown path {other:?}: unsampled, sampled, delivered, traces, inject, extract, \
                 inject_header_map, extract_header_map or extract_request"
            );
            std::process::exit(2);
        }
    }
    let per = t0.elapsed().as_nanos() as f64 / n as f64;
    println!("{path}: {per:.1} ns per iteration ({n} iterations)");
}

/// The headers of a browser's request to an API, beside which a server
/// finds the tracing headers.
fn request_headers() -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    for (k, v) in [
        ("host", "api.example.com"),
        (
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
             Chrome/131.0.0.0 Safari/537.36",
        ),
        ("accept", "application/json, text/plain, */*"),
        ("accept-language", "en-US,en;q=0.9,de;q=0.8"),
        ("accept-encoding", "gzip, deflate, br, zstd"),
        ("referer", "https://app.example.com/orders/12345?tab=items"),
        ("content-type", "application/json"),
        ("content-length", "348"),
        ("x-request-id", "9f1c2d4e-8b7a-4c3d-9e2f-1a0b3c4d5e6f"),
        (
            "cookie",
            "session=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6\
             IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c; \
             theme=dark; locale=en-US; _ga=GA1.2.1234567890.1700000000",
        ),
    ] {
        h.insert(
            http::header::HeaderName::from_static(k),
            http::header::HeaderValue::from_static(v),
        );
    }
    h
}
