//! Our/peer cost ratios measured in alternation, so that the drift of a
//! shared machine (on a small virtual machine the same binary runs up to
//! 2-3 times slower for minutes at a time) falls on every tracer alike.
//!
//! `cargo bench --bench ratio` (`RATIO_ROUNDS=21` for more rounds,
//! `RATIO_SPANS=1000000` for longer bursts). For each shape (a root with n
//! children, each child with 2 tags; and two threads at once, each doing
//! roots with 100 children, timed by both threads' CPU) it runs rounds; in
//! each round every tracer in turn, in a rotating order, does a burst of
//! the same number of child spans (100,000 by default) flat out, timed by
//! the application thread's CPU clock, then pauses while the reporters
//! catch up. A round
//! gives one ratio per peer (ours / theirs); the table shows each tracer's
//! median cost per child span and the median and range of the per-round
//! ratios.
//!
//! The burst's length sets the regime. A burst after a pause starts with
//! an empty queue (this crate's takes 20,000 spans): about half of a
//! 100,000-span burst of ours is reported, and a delivered span's block
//! makes the round trip to the reporter thread's core and back. A long
//! flat-out run soon fills the queue, and then mostly drops (a third or
//! less of ours reported); a dropped span's block is emptied and reused
//! on its own thread, cheaply (what `compare.rs`, which runs flat out for
//! seconds, mostly measures).
//!
//! The peers are rustracing_jaeger and opentelemetry_sdk, each with its
//! reporter running and sending to a loopback UDP sink (see `peers`).
//! fastrace is measured by `compare.rs` alone: its collector buffers
//! without bound, and what it keeps would weigh on the tracers measured
//! after it in the same process.
//!
//! A yardstick runs in the same rounds: the minimal pipeline of this
//! crate's shape (`peers/floor.rs`), which does only what any tracer of
//! that shape must for a sampled span (two clock reads, an id, a record
//! from a per-thread pool, a per-thread slot, batches through a bounded
//! crossbeam channel to a thread that reads them) and none of what makes a
//! tracer usable. Its ratio is to rustracing_jaeger: how far below a peer
//! the shape itself lets a tracer go. After the table: the cost of the two
//! clock reads every timed span needs (measured in every round), against
//! the 0.2 × rustracing_jaeger target; the time a cache line takes to go
//! from one core to the other and back (also measured in every round: on a
//! VM it moves with where the host runs the vCPUs, and a delivered span's
//! record, batch and counters make such trips); and the share of spans each
//! of the two delivered to its reporting thread.

use std::time::Duration;

mod peers;

/// Child spans per tracer per round, by default.
const SPANS: u64 = 100_000;

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// A unit of work: one thread doing roots with `n` children each, or two
/// threads at once doing roots with 100 children each.
#[derive(Clone, Copy)]
enum Shape {
    Children(u64),
    TwoThreads,
}

/// Application-thread CPU per child span of one round of `work`: `spans`
/// children in all (the CPU time of both threads, for two).
fn round(work: peers::Work, shape: Shape, spans: u64) -> f64 {
    let on_this_thread = |n: u64, spans: u64| {
        let traces = (spans / n).max(1);
        let t0 = peers::thread_cpu();
        for _ in 0..traces {
            work(std::hint::black_box(n));
        }
        (peers::thread_cpu() - t0, traces * n)
    };
    let (busy, children) = match shape {
        Shape::Children(n) => on_this_thread(n, spans),
        Shape::TwoThreads => std::thread::scope(|s| {
            let a = s.spawn(|| on_this_thread(100, spans / 2));
            let b = s.spawn(|| on_this_thread(100, spans / 2));
            let (a, b) = (a.join().unwrap(), b.join().unwrap());
            (a.0 + b.0, a.1 + b.1)
        }),
    };
    busy.as_nanos() as f64 / children as f64
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes
    // nothing: one short round then.
    let full = std::env::args().any(|a| a == "--bench");
    let spans: u64 = std::env::var("RATIO_SPANS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SPANS);
    let rounds: usize = if full {
        std::env::var("RATIO_ROUNDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(11)
    } else {
        1
    };
    // This crate first: the ratios are against it. The minimal pipeline
    // last (see `peers/floor.rs`): its ratio is to rustracing_jaeger.
    let mut tracers: Vec<(&str, peers::Work)> = peers::all()
        .into_iter()
        .filter(|(name, _)| *name != "fastrace")
        .collect();
    tracers.push(("minimal pipeline", peers::floor::children));
    assert_eq!(tracers[0].0, "jaeger-tracer");
    assert_eq!(tracers[1].0, "rustracing_jaeger");
    let floor = tracers.len() - 1;
    // Each tracer's pipeline set up and warmed before the first round.
    for (_, work) in &tracers {
        round(*work, Shape::Children(10), spans);
    }
    println!(
        "\nApplication-thread CPU per sampled child span (start, 2 tags, finish), \
         tracers alternating, {rounds} rounds of {spans} child spans each:\n"
    );
    // The columns of the tracers present (a debug build goes without
    // opentelemetry_sdk, see `peers::all`).
    let mut header = String::from("| shape | jaeger-tracer ns |");
    for (i, (name, _)) in tracers.iter().enumerate().skip(1) {
        let short = match *name {
            "rustracing_jaeger" => "rustracing",
            "opentelemetry_sdk" => "otel",
            other => other,
        };
        let who = if i == floor { "minimal" } else { "ours" };
        let against = if i == floor { "rustracing" } else { short };
        header.push_str(&format!(" {name} ns | {who}/{against} median (range) |"));
    }
    header.push_str(" core-to-core line round trip ns |");
    println!("{header}");
    println!("|---|---:|{}---:|", "---:|---:|".repeat(tracers.len() - 1));
    let shapes = [
        ("root + 1 child", Shape::Children(1)),
        ("root + 10 children", Shape::Children(10)),
        ("root + 100 children", Shape::Children(100)),
        ("root + 1000 children", Shape::Children(1000)),
        ("2 threads × 100 children", Shape::TwoThreads),
    ];
    // Every rustracing_jaeger round, and the clock pair's cost measured in
    // every round (the timestamps: see the line after the table).
    let mut rustracing_all = Vec::new();
    let mut clock_pairs = Vec::new();
    // The cross-core round trip, measured in every round too: on a VM it
    // moves with where the host runs the two vCPUs.
    let mut line_trips = Vec::new();
    for (label, shape) in shapes {
        let mut costs: Vec<Vec<f64>> = vec![Vec::new(); tracers.len()];
        let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); tracers.len()];
        let mut shape_trips = Vec::new();
        for r in 0..rounds {
            let mut this_round = vec![0.0; tracers.len()];
            for k in 0..tracers.len() {
                let i = (r + k) % tracers.len();
                this_round[i] = round(tracers[i].1, shape, spans);
                // The reporters catch up before the next tracer runs.
                std::thread::sleep(Duration::from_millis(30));
            }
            for i in 0..tracers.len() {
                costs[i].push(this_round[i]);
                // Ours to each peer; the minimal pipeline's to rustracing.
                let ours = if i == floor {
                    this_round[floor]
                } else {
                    this_round[0]
                };
                let theirs = if i == floor {
                    this_round[1]
                } else {
                    this_round[i]
                };
                ratios[i].push(ours / theirs);
            }
            rustracing_all.push(this_round[1]);
            clock_pairs.push(peers::floor::clock_pair_ns());
            shape_trips.extend(peers::floor::line_round_trip_ns(if full {
                20_000
            } else {
                1_000
            }));
        }
        let mut cells = vec![format!("{:.0}", median(&mut costs[0]))];
        for i in 1..tracers.len() {
            let lo = ratios[i].iter().copied().fold(f64::INFINITY, f64::min);
            let hi = ratios[i].iter().copied().fold(0.0, f64::max);
            cells.push(format!("{:.0}", median(&mut costs[i])));
            cells.push(format!("{:.2} ({lo:.2}-{hi:.2})", median(&mut ratios[i])));
        }
        cells.push(if shape_trips.is_empty() {
            "–".to_string()
        } else {
            format!("{:.0}", median(&mut shape_trips))
        });
        line_trips.append(&mut shape_trips);
        println!("| {label} | {} |", cells.join(" | "));
    }
    let clock = median(&mut clock_pairs);
    let budget = 0.2 * median(&mut rustracing_all);
    println!(
        "\nTwo clock reads (the start and end of a span, `rdtsc` twice, measured in every \
         round): {clock:.1} ns, {:.0} % of 0.2 × rustracing_jaeger's median child span \
         over all rounds ({budget:.0} ns)",
        100.0 * clock / budget
    );
    if !line_trips.is_empty() {
        let lo = line_trips.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = line_trips.iter().copied().fold(0.0, f64::max);
        println!(
            "\nA cache line from one core to the other and back (two threads taking \
             turns to advance a counter, measured in every round): median {:.0} ns \
             ({lo:.0}-{hi:.0})",
            median(&mut line_trips)
        );
    }
    // What share of their spans reached their reporting threads (the
    // regime, see above): about the same share for both keeps the
    // comparison with the minimal pipeline fair.
    std::thread::sleep(Duration::from_millis(200));
    let m = peers::ours().metrics();
    println!(
        "\nSpans delivered to the reporting thread over the run: jaeger-tracer {:.0} % \
         (dropped at the full queue: {}), minimal pipeline {:.0} %",
        100.0 * m.spans_reported as f64 / m.spans_finished() as f64,
        m.spans_dropped_queue_full,
        100.0 * peers::floor::delivered() as f64 / peers::floor::finished() as f64,
    );
}
