//! Reporter throughput and a fixed-rate load generator, to a loopback UDP
//! sink (compact protocol), with default settings unless stated.
//!
//! `cargo bench --bench load` (LOAD_RATE=200000 LOAD_SECONDS=5 to change the
//! offered load). Prints:
//! * reporter: spans per second encoded and sent, per second of the
//!   reporter thread's CPU time (1,000,000 spans with 5 tags each, queued
//!   first, then drained);
//! * load (run first): spans offered at a fixed rate from 2 threads,
//!   reported, dropped, process CPU seconds per million spans (the test
//!   sink's thread excluded), peak RSS.

use std::net::UdpSocket;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jaeger_tracer::Tracer;

/// A sink that counts the spans of compact `emitBatch` datagrams: the
/// list header of `Batch.spans` is found by decoding just enough.
fn sink() -> (u16, Arc<AtomicU64>, Arc<AtomicU64>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    let (datagrams, bytes) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (d, b) = (datagrams.clone(), bytes.clone());
    std::thread::Builder::new()
        .name("udp-sink".into())
        .spawn(move || {
            let mut buf = vec![0u8; 70_000];
            while let Ok(n) = socket.recv(&mut buf) {
                d.fetch_add(1, Ordering::Relaxed);
                b.fetch_add(n as u64, Ordering::Relaxed);
            }
        })
        .unwrap();
    (port, datagrams, bytes)
}

/// CPU seconds (user + system) of this process, or of its thread named
/// `thread`.
fn cpu_seconds(thread: Option<&str>) -> f64 {
    let tick = 100.0; // USER_HZ on Linux
    let parse = |stat: &str| -> f64 {
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, r)| r)
            .unwrap_or("")
            .split_whitespace()
            .collect();
        (fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap()) / tick
    };
    match thread {
        None => parse(&std::fs::read_to_string("/proc/self/stat").unwrap()),
        Some(name) => std::fs::read_dir("/proc/self/task")
            .unwrap()
            .flatten()
            .filter(|t| {
                std::fs::read_to_string(t.path().join("comm"))
                    .unwrap_or_default()
                    .trim()
                    == name
            })
            .map(|t| parse(&std::fs::read_to_string(t.path().join("stat")).unwrap()))
            .sum(),
    }
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

fn reporter_throughput() {
    const N: u64 = 1_000_000;
    let (port, datagrams, bytes) = sink();
    let (tracer, guard) = Tracer::builder("throughput")
        .with_agent_host("127.0.0.1")
        .with_agent_port(port)
        .with_queue_size(N as usize)
        .with_flush_interval(Duration::from_secs(3600))
        .init()
        .unwrap();
    for i in 0..N {
        let mut s = tracer.start("op");
        s.set_tag("component", "load")
            .set_tag("i", i as i64)
            .set_tag("ok", true)
            .set_tag("ratio", 0.5)
            .set_tag("peer.service", "db");
    }
    let cpu0 = cpu_seconds(Some("jaeger-reporter"));
    let t = Instant::now();
    tracer.flush().unwrap();
    let wall = t.elapsed().as_secs_f64();
    let cpu = cpu_seconds(Some("jaeger-reporter")) - cpu0;
    drop(guard);
    let m = tracer.metrics();
    println!(
        "reporter: {} spans (5 tags) drained in {wall:.2} s wall, {cpu:.2} s reporter CPU: {:.0} spans/s per reporter CPU second; {} datagrams, {:.1} MB, {} lost",
        m.spans_reported,
        m.spans_reported as f64 / cpu.max(0.01),
        datagrams.load(Ordering::Relaxed),
        bytes.load(Ordering::Relaxed) as f64 / 1e6,
        m.spans_lost()
    );
}

fn fixed_rate() {
    let rate: u64 = std::env::var("LOAD_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let seconds: u64 = std::env::var("LOAD_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let (port, _, _) = sink();
    let (tracer, guard) = Tracer::builder("load")
        .with_agent_host("127.0.0.1")
        .with_agent_port(port)
        .init()
        .unwrap();
    // The sink is the harness, not the tracer: its CPU is left out.
    let cpu0 = cpu_seconds(None) - cpu_seconds(Some("udp-sink"));
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..2 {
            let tracer = tracer.clone();
            s.spawn(move || {
                let per_thread = rate / 2;
                let total = per_thread * seconds;
                // Paced in steps of 1 ms: each step offers its share at once.
                let step = (per_thread / 1000).max(1);
                let mut sent = 0;
                while sent < total {
                    let due = Duration::from_secs_f64(sent as f64 / per_thread as f64);
                    if let Some(wait) = due.checked_sub(start.elapsed()) {
                        std::thread::sleep(wait);
                    }
                    for _ in 0..step.min(total - sent) {
                        let mut root = tracer.start("request");
                        root.set_tag("http.method", "GET");
                        let mut child = tracer.span("db").child_of(root.context()).start();
                        child.set_tag("db.rows", 1);
                        drop(child);
                        drop(root);
                    }
                    sent += step.min(total - sent) * 2;
                }
            });
        }
    });
    let offered_for = start.elapsed().as_secs_f64();
    drop(guard);
    let cpu = cpu_seconds(None) - cpu_seconds(Some("udp-sink")) - cpu0;
    let m = tracer.metrics();
    println!(
        "load: {} spans offered at {rate}/s for {offered_for:.1} s from 2 threads: {} reported, {} dropped (queue full {}), {:.3} CPU s per million spans, peak RSS {:.1} MiB",
        m.spans_finished(),
        m.spans_reported,
        m.spans_lost(),
        m.spans_dropped_queue_full,
        cpu / (m.spans_finished() as f64 / 1e6),
        peak_rss_mib()
    );
}

fn main() {
    // The load first: the throughput run queues a million spans on purpose
    // and would dominate the peak RSS.
    fixed_rate();
    reporter_throughput();
}
