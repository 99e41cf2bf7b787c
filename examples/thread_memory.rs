//! What a thread that finishes a sampled span costs in memory while it
//! lives: its slot's block of records (14 KiB) and its span box, against
//! the same threads finishing no span.
//!
//! ```sh
//! cargo run --release --example thread_memory          # 1,000 threads
//! cargo run --release --example thread_memory -- 5000
//! ```
//!
//! Linux only (it reads `/proc/self/status` and `/proc/self/smaps`). Each
//! case runs in a process of its own, so that memory one case freed is not
//! what the next one reuses.

use std::sync::{Arc, Barrier};

use jaeger_tracer::Tracer;

fn kib(line: &str) -> u64 {
    line.split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .map_or(0, kib)
}

/// The resident KiB of the mappings the size of the threads' stacks.
fn stacks_kib(stack_kib: u64) -> u64 {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    let (mut total, mut size) = (0, 0);
    for line in smaps.lines() {
        if line.starts_with("Size:") {
            size = kib(line);
        } else if line.starts_with("Rss:") && size == stack_kib {
            total += kib(line);
        }
    }
    total
}

/// Runs `threads` threads that each finish a span (`with_span`) or not,
/// and measures while they are all alive.
fn case(threads: usize, with_span: bool) {
    const STACK_KIB: u64 = 256;
    let (tracer, guard) = Tracer::builder("thread-memory")
        .with_agent_host("127.0.0.1")
        .with_agent_port(9)
        .init()
        .expect("a tracer");
    let before = rss_kib();
    let alive = Arc::new(Barrier::new(threads + 1));
    let exit = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (tracer, alive, exit) = (tracer.clone(), alive.clone(), exit.clone());
            std::thread::Builder::new()
                .stack_size(STACK_KIB as usize * 1024)
                .spawn(move || {
                    if with_span {
                        drop(tracer.start("work"));
                    }
                    alive.wait();
                    exit.wait();
                })
                .expect("a thread")
        })
        .collect();
    alive.wait();
    let (during, stacks) = (rss_kib(), stacks_kib(STACK_KIB));
    exit.wait();
    for h in handles {
        h.join().expect("the thread ends");
    }
    drop(guard);
    let grown = during.saturating_sub(before);
    println!(
        "{threads} threads {}: +{grown} KiB resident ({} KiB a thread), of which stacks {stacks} KiB ({} a thread)",
        if with_span { "that each finished a sampled span" } else { "without a span" },
        grown / threads as u64,
        stacks / threads as u64,
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let threads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    match args.next().as_deref() {
        Some("span") => case(threads, true),
        Some("none") => case(threads, false),
        _ => {
            // Each case in a process of its own.
            let me = std::env::current_exe().expect("this program");
            for mode in ["none", "span"] {
                let status = std::process::Command::new(&me)
                    .args([threads.to_string(), mode.to_owned()])
                    .status()
                    .expect("a child process");
                assert!(status.success(), "the {mode} case failed");
            }
        }
    }
}
