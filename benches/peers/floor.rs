//! The least a tracer of this crate's shape can do for a sampled child span
//! with 2 tags, as a yardstick: what is left when everything a tracer
//! offers beyond the pipeline itself is taken away.
//!
//! Per span: two reads of the time-stamp counter (no conversion), a random
//! id, and a record of fixed size (ids, flags, a static name, the times,
//! two static tags inline) written into the next slot of this thread's
//! block, under the block's lock; every 32 records the block goes as one
//! batch through a bounded crossbeam channel of the same 20,000 spans as
//! this crate's default queue (when it is full, the block is emptied and
//! reused at once: dropped). A thread polling every millisecond reads every
//! field of each record it takes (in place of encoding it) and returns the
//! block for reuse. (Until 2026-12-02 its records were boxes from a
//! per-thread pool, handed over in vectors and returned in them: 15–20 %
//! dearer per span at equal delivery, which is what led this crate to
//! blocks; see `docs/performance.md`.)
//!
//! No span context is returned, nothing is counted, there is no sampler,
//! baggage, reference, observer, typed tag value, owned string, scope,
//! clock conversion or shutdown: none of what makes a tracer usable.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, Sender};

const BATCH: usize = 32;
/// Batches in the channel: 20,000 spans, this crate's default queue.
const BATCHES: usize = 20_000 / BATCH;

#[derive(Clone, Copy)]
enum Value {
    Str(&'static str),
    I64(i64),
}

#[derive(Clone, Copy)]
struct Record {
    trace_id: u128,
    span_id: u64,
    parent_id: u64,
    flags: u8,
    name: &'static str,
    start: u64,
    duration: u64,
    tags: [(&'static str, Value); 2],
}

const EMPTY: Record = Record {
    trace_id: 0,
    span_id: 0,
    parent_id: 0,
    flags: 0,
    name: "",
    start: 0,
    duration: 0,
    tags: [("", Value::I64(0)); 2],
};

/// Records side by side, the first `len` in use.
struct Block {
    len: usize,
    recs: [Record; BATCH],
}

impl Block {
    fn new() -> Box<Block> {
        Box::new(Block {
            len: 0,
            recs: [EMPTY; BATCH],
        })
    }
}

struct Pipeline {
    to_reporter: Sender<Box<Block>>,
    back: Receiver<Box<Block>>,
    /// Spans the reporting thread read.
    delivered: AtomicU64,
    /// Spans finished.
    finished: AtomicU64,
}

fn pipeline() -> &'static Pipeline {
    static P: OnceLock<Pipeline> = OnceLock::new();
    P.get_or_init(|| {
        let (to_reporter, from_app) = bounded::<Box<Block>>(BATCHES);
        let (to_app, back) = bounded::<Box<Block>>(4 * BATCHES);
        std::thread::Builder::new()
            .name("floor-reporter".into())
            .spawn(move || {
                let mut sum = 0u64;
                loop {
                    while let Ok(mut block) = from_app.try_recv() {
                        for r in &block.recs[..block.len] {
                            let tags = r.tags.iter().fold(0, |acc, (k, v)| {
                                acc ^ k.len() as u64
                                    ^ match v {
                                        Value::Str(s) => s.len() as u64,
                                        Value::I64(i) => *i as u64,
                                    }
                            });
                            sum = sum.wrapping_add(
                                r.trace_id as u64
                                    ^ r.span_id
                                    ^ r.parent_id
                                    ^ u64::from(r.flags)
                                    ^ r.name.len() as u64
                                    ^ r.start
                                    ^ r.duration
                                    ^ tags,
                            );
                        }
                        pipeline_delivered().fetch_add(block.len as u64, Ordering::Relaxed);
                        block.len = 0;
                        let _ = to_app.try_send(block);
                    }
                    std::hint::black_box(sum);
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
            .unwrap();
        Pipeline {
            to_reporter,
            back,
            delivered: AtomicU64::new(0),
            finished: AtomicU64::new(0),
        }
    })
}

fn pipeline_delivered() -> &'static AtomicU64 {
    &pipeline().delivered
}

/// Spans delivered to the reporting thread so far.
pub fn delivered() -> u64 {
    pipeline_delivered().load(Ordering::Relaxed)
}

/// Spans finished so far.
pub fn finished() -> u64 {
    pipeline().finished.load(Ordering::Relaxed)
}

/// Application-thread CPU of the two clock reads every timed span needs
/// (what the minimal pipeline takes per span), in ns: the part of any
/// tracer's cost on this machine that only the processor sets.
pub fn clock_pair_ns() -> f64 {
    const PAIRS: u32 = 2_000_000;
    let t0 = super::thread_cpu();
    let mut acc = 0u64;
    for _ in 0..PAIRS {
        let start = std::hint::black_box(ticks());
        acc = acc.wrapping_add(ticks().wrapping_sub(start));
    }
    std::hint::black_box(acc);
    (super::thread_cpu() - t0).as_nanos() as f64 / f64::from(PAIRS)
}

struct Local {
    rng: u64,
    /// An emptied block kept for the next batch (one that met the full
    /// channel).
    spare: Option<Box<Block>>,
}

thread_local! {
    static LOCAL: RefCell<Local> = const { RefCell::new(Local { rng: 0x9e37_79b9_7f4a_7c15, spare: None }) };
    static SLOT: Arc<Mutex<Box<Block>>> = Arc::new(Mutex::new(Block::new()));
}

/// The time a cache line takes to go from one thread's core to another's
/// and back, in ns (the median of three runs of `trips` round trips of a
/// counter two threads take turns to advance): what a line costs that one
/// side writes and the other then reads or writes, as a delivered span's
/// record, its batch and the queue's counters are. `None` with fewer than
/// two processors (the two threads would take turns on one, a time slice
/// a trip).
pub fn line_round_trip_ns(trips: u64) -> Option<f64> {
    #[repr(align(128))]
    struct Line(AtomicU64);
    if std::thread::available_parallelism().map_or(true, |n| n.get() < 2) || trips == 0 {
        return None;
    }
    let mut runs: Vec<f64> = (0..3)
        .map(|_| {
            let line = Arc::new(Line(AtomicU64::new(0)));
            let other = Arc::clone(&line);
            let echo = std::thread::spawn(move || {
                for i in 0..trips {
                    while other.0.load(Ordering::Acquire) != 2 * i + 1 {
                        std::hint::spin_loop();
                    }
                    other.0.store(2 * i + 2, Ordering::Release);
                }
            });
            let t0 = std::time::Instant::now();
            for i in 0..trips {
                line.0.store(2 * i + 1, Ordering::Release);
                while line.0.load(Ordering::Acquire) != 2 * i + 2 {
                    std::hint::spin_loop();
                }
            }
            let ns = t0.elapsed().as_nanos() as f64 / trips as f64;
            echo.join().expect("the echoing thread");
            ns
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    Some(runs[1])
}

#[inline(always)]
fn ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `rdtsc` exists on every x86-64 processor.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        static T0: OnceLock<std::time::Instant> = OnceLock::new();
        T0.get_or_init(std::time::Instant::now).elapsed().as_nanos() as u64
    }
}

#[inline(never)]
fn child(p: &'static Pipeline, trace_id: u128, parent_id: u64) {
    let start = ticks();
    let span_id = LOCAL.with(|l| {
        let mut l = l.borrow_mut();
        let mut x = l.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        l.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    });
    let full = SLOT.with(|slot| {
        let mut block = slot.lock().unwrap();
        let i = block.len;
        let r = &mut block.recs[i];
        r.trace_id = trace_id;
        r.span_id = span_id;
        r.parent_id = parent_id;
        r.flags = 1;
        r.name = "child";
        r.start = start;
        r.tags = [("component", Value::Str("bench")), ("n", Value::I64(7))];
        r.duration = ticks().wrapping_sub(start);
        block.len = i + 1;
        (block.len == BATCH).then(|| {
            let next = LOCAL
                .with(|l| l.borrow_mut().spare.take())
                .or_else(|| p.back.try_recv().ok())
                .unwrap_or_else(Block::new);
            std::mem::replace(&mut *block, next)
        })
    });
    if let Some(batch) = full {
        if let Err(e) = p.to_reporter.try_send(batch) {
            // Dropped: the block, emptied, serves the next batch.
            let mut block = e.into_inner();
            block.len = 0;
            LOCAL.with(|l| l.borrow_mut().spare = Some(block));
        }
    }
}

/// A root with `n` child spans through the minimal pipeline: a random
/// trace id, the children, then the root's own record (as the tracers
/// measured beside it record the root too, and its record is half the
/// work of the root + 1 child shape).
pub fn children(n: u64) {
    let p = pipeline();
    let trace_id = LOCAL.with(|l| {
        let mut l = l.borrow_mut();
        l.rng ^= l.rng << 13;
        l.rng ^= l.rng >> 7;
        l.rng ^= l.rng << 17;
        u128::from(l.rng)
    });
    for _ in 0..n {
        child(p, trace_id, trace_id as u64);
    }
    // The root, finished after its children (its parent id 0).
    child(p, trace_id, 0);
    // Counted per root, off the spans' path.
    p.finished.fetch_add(n + 1, Ordering::Relaxed);
}
