//! Reporter throughput and a fixed-rate load generator, to a loopback UDP
//! sink (compact protocol), with default settings unless stated.
//!
//! `cargo bench --bench load` (LOAD_RATE=200000 LOAD_SECONDS=5 to change the
//! offered load). Prints:
//! * reporter: spans per second encoded and sent, per second of the
//!   reporter thread's CPU time (1,000,000 spans with 5 tags each, queued
//!   at once, then flushed; the reporter's CPU counted from the first span);
//! * load (run first): each tracer in turn offered the same fixed rate from
//!   2 threads (a root and a child per unit of work); CPU seconds per
//!   million spans (the test sinks' threads excluded) for every tracer, and
//!   for this crate also reported, dropped and peak RSS.

use std::net::UdpSocket;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jaeger_tracer::Tracer;

mod peers;

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
/// `thread` (to the nanosecond where the kernel keeps it so).
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
            .map(|t| {
                // Nanoseconds on the CPU where the kernel keeps them (the
                // reporter's figure, a quarter of a second, is then not
                // rounded to the 10 ms of a clock tick); ticks otherwise.
                std::fs::read_to_string(t.path().join("schedstat"))
                    .ok()
                    .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
                    .map(|ns| ns / 1e9)
                    .unwrap_or_else(|| {
                        parse(&std::fs::read_to_string(t.path().join("stat")).unwrap())
                    })
            })
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
    // The reporter thread works while the spans are queued too (it polls):
    // its CPU is counted from before the first span, or a faster reporter,
    // doing more of the work early, would look faster still.
    let cpu0 = cpu_seconds(Some("jaeger-reporter"));
    let t = Instant::now();
    for i in 0..N {
        let mut s = tracer.start("op");
        s.set_tag("component", "load")
            .set_tag("i", i as i64)
            .set_tag("ok", true)
            .set_tag("ratio", 0.5)
            .set_tag("peer.service", "db");
    }
    tracer.flush().unwrap();
    let wall = t.elapsed().as_secs_f64();
    let cpu = cpu_seconds(Some("jaeger-reporter")) - cpu0;
    drop(guard);
    let m = tracer.metrics();
    println!(
        "reporter: {} spans (5 tags) queued and drained in {wall:.2} s wall, {cpu:.3} s reporter CPU: {:.0} spans/s per reporter CPU second; {} datagrams, {:.1} MB, {} lost",
        m.spans_reported,
        m.spans_reported as f64 / cpu.max(0.01),
        datagrams.load(Ordering::Relaxed),
        bytes.load(Ordering::Relaxed) as f64 / 1e6,
        m.spans_lost()
    );
}

/// Offers `rate` spans/s (a root and one child per unit of work) from 2
/// threads for `seconds`; returns CPU seconds per million spans, the test
/// sinks' threads excluded.
fn fixed_rate(work: peers::Work, rate: u64, seconds: u64) -> f64 {
    let harness = || cpu_seconds(Some("udp-sink"));
    let cpu0 = cpu_seconds(None) - harness();
    let start = Instant::now();
    let per_thread = rate / 2;
    let units = per_thread * seconds / 2; // 2 spans a unit
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(move || {
                // Paced in 1 ms steps: each step does its share at once.
                let step = (per_thread / 2 / 1000).max(1);
                let mut done = 0;
                while done < units {
                    let due = Duration::from_secs_f64(done as f64 * 2.0 / per_thread as f64);
                    if let Some(wait) = due.checked_sub(start.elapsed()) {
                        std::thread::sleep(wait);
                    }
                    for _ in 0..step.min(units - done) {
                        work(1);
                    }
                    done += step.min(units - done);
                }
            });
        }
    });
    // Let the reporters drain before the CPU is read.
    std::thread::sleep(Duration::from_secs(2));
    let cpu = cpu_seconds(None) - harness() - cpu0;
    cpu / (rate * seconds) as f64 * 1e6
}

fn load_table() {
    let rate: u64 = std::env::var("LOAD_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let seconds: u64 = std::env::var("LOAD_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let impls = peers::all();
    // The harness alone (pacing sleeps and wake-ups, the loop) with no
    // tracer: subtracted to give each tracer's own CPU.
    let baseline = fixed_rate(no_tracing, rate, seconds);
    let mut rows = Vec::new();
    for (name, work) in &impls {
        let cpu = fixed_rate(*work, rate, seconds);
        if *name == "jaeger-tracer" {
            let m = peers::ours().metrics();
            println!(
                "load, jaeger-tracer: {} spans offered at {rate}/s for {seconds} s from 2 threads: {} reported, {} dropped (queue full {}), peak RSS {:.1} MiB",
                m.spans_finished(),
                m.spans_reported,
                m.spans_lost(),
                m.spans_dropped_queue_full,
                peak_rss_mib()
            );
        }
        rows.push((*name, cpu));
    }
    let ours = rows[0].1;
    let best_peer = rows[1..].iter().map(|r| r.1).fold(f64::INFINITY, f64::min);
    println!(
        "| tracer | CPU s per million spans at {rate}/s | net of the harness ({baseline:.3} with no tracer) |\n|---|---:|---:|"
    );
    for (name, cpu) in &rows {
        println!("| {name} | {cpu:.3} | {:.3} |", cpu - baseline);
    }
    println!(
        "ours / best peer: {:.2} (net of the harness: {:.2})",
        ours / best_peer,
        (ours - baseline) / (best_peer - baseline)
    );
}

/// The unit of work with no tracer at all.
fn no_tracing(n: u64) {
    std::hint::black_box(n);
}

fn main() {
    // The load first: the throughput run queues a million spans on purpose
    // and would dominate the peak RSS.
    load_table();
    reporter_throughput();
}
