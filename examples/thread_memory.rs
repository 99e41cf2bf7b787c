//! What a thread that finishes a sampled span costs in memory while it
//! lives: its slot's block of records (14 KiB) and its span box, against
//! the same threads finishing no span. A thread idle for a second gives
//! its block back: the same number of threads started once the first have
//! idled 2 s take those blocks again rather than new memory.
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

/// Starts `threads` threads that each finish a span (`with_span`) or
/// not, and returns once they are all alive (they exit at `exit`).
fn wave(
    tracer: &Tracer,
    threads: usize,
    with_span: bool,
    exit: &Arc<Barrier>,
) -> Vec<std::thread::JoinHandle<()>> {
    let alive = Arc::new(Barrier::new(threads + 1));
    let handles = (0..threads)
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
    handles
}

const STACK_KIB: u64 = 256;

/// Runs `threads` threads that each finish a span (`with_span`) or not,
/// and measures while they are all alive; then, once they have been idle
/// for 2 s, as many more.
fn case(threads: usize, with_span: bool) {
    let (tracer, guard) = Tracer::builder("thread-memory")
        .with_agent_host("127.0.0.1")
        .with_agent_port(9)
        .init()
        .expect("a tracer");
    let exit = Arc::new(Barrier::new(2 * threads + 1));
    let before = rss_kib();
    let mut handles = wave(&tracer, threads, with_span, &exit);
    let (during, stacks) = (rss_kib(), stacks_kib(STACK_KIB));
    // Idle threads give their blocks back within a second.
    std::thread::sleep(std::time::Duration::from_secs(2));
    let idle = rss_kib();
    handles.extend(wave(&tracer, threads, with_span, &exit));
    let second = rss_kib().saturating_sub(idle);
    exit.wait();
    for h in handles {
        h.join().expect("the thread ends");
    }
    drop(guard);
    let grown = during.saturating_sub(before);
    println!(
        "{threads} threads {}: +{grown} KiB resident ({} KiB a thread), of which stacks {stacks} KiB ({} a thread); \
         {threads} more once those idled 2 s: +{second} KiB ({} a thread)",
        if with_span { "that each finished a sampled span" } else { "without a span" },
        grown / threads as u64,
        stacks / threads as u64,
        second / threads as u64,
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
