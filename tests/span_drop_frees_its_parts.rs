//! A dropped span frees what it holds. `Span` drops its parts by hand (the
//! usual span, holding nothing on the heap by then, is let go without a
//! look at them), so this counts the bytes allocated and freed around many
//! spans that do hold something: an operation name of their own, baggage,
//! owned tags. Whatever they held must be back once they are gone.
#![cfg(feature = "testing")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use jaeger_tracer::sampler::{ConstSampler, Sampler, SamplingDecision};
use jaeger_tracer::{TraceId, Tracer};

/// Bytes allocated and not yet freed, by every thread of this test binary.
static LIVE: AtomicIsize = AtomicIsize::new(0);

struct Counting;

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counter only records sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const SPANS: usize = 10_000;

/// The counter is shared by the whole binary: its tests take turns.
static TURNS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Bytes still held after `work`, which makes `SPANS` spans that each
/// hold at least 64 bytes of their own while they live.
fn held_after(work: impl FnOnce()) -> isize {
    let before = LIVE.load(Ordering::Relaxed);
    work();
    LIVE.load(Ordering::Relaxed) - before
}

#[test]
fn spans_holding_heap_memory_give_it_all_back() {
    let _turn = TURNS.lock().unwrap_or_else(|e| e.into_inner());
    // A leak of a single part of every span would keep >= 640,000 bytes;
    // what a tracer may keep on its own (a thread's caches, its pool's
    // vectors) is far less.
    const MOST_KEPT: isize = 64 * 1024;
    let name = || format!("operation-{:0>54}", 7);

    let (unsampled, _) = Tracer::builder("drops")
        .with_sampler(ConstSampler::new(false))
        .init_in_memory()
        .unwrap();
    // Warm up: the thread's caches of the tracer are made once.
    drop(unsampled.start(name()));

    let kept = held_after(|| {
        for _ in 0..SPANS {
            drop(unsampled.start(name()));
        }
    });
    assert!(kept < MOST_KEPT, "unsampled, own name: {kept} bytes kept");

    let kept = held_after(|| {
        let mut parent = unsampled.start("parent");
        parent.set_baggage_item("user", "x".repeat(64));
        for _ in 0..SPANS {
            // Inherits the baggage: its context holds a copy.
            let child = unsampled.span("child").child_of(parent.context()).start();
            drop(child);
        }
    });
    assert!(kept < MOST_KEPT, "unsampled, baggage: {kept} bytes kept");

    let (sampled, reporter) = Tracer::builder("drops")
        .with_sampler(ConstSampler::new(true))
        .init_in_memory()
        .unwrap();
    let sampled_round = || {
        let mut parent = sampled.start("parent");
        parent.set_baggage_item("user", "x".repeat(64));
        for _ in 0..SPANS {
            let mut child = sampled.span(name()).child_of(parent.context()).start();
            child.set_tag("owned", "y".repeat(64));
            drop(child);
        }
        drop(parent);
        assert_eq!(reporter.len(), SPANS + 1, "every span reported");
        // The reported spans are what the in-memory reporter keeps (its
        // vector keeps its room when cleared: the warm-up round below
        // makes it).
        reporter.clear();
    };
    sampled_round();

    let kept = held_after(sampled_round);
    assert!(
        kept < MOST_KEPT,
        "sampled, baggage and owned parts: {kept} bytes kept"
    );

    // Finished explicitly first, then dropped: the drop frees the rest.
    let kept = held_after(|| {
        let mut parent = sampled.start("parent");
        parent.set_baggage_item("user", "x".repeat(64));
        for _ in 0..SPANS {
            let mut child = sampled.span(name()).child_of(parent.context()).start();
            child.finish();
            drop(child);
        }
        drop(parent);
        reporter.clear();
    });
    assert!(
        kept < MOST_KEPT,
        "finished, then dropped: {kept} bytes kept"
    );
}

/// A sampler whose `sampler.param` is a string of its own (64 bytes),
/// made afresh for every decision.
#[derive(Debug)]
struct OwnedParam {
    sampled: bool,
}

impl Sampler for OwnedParam {
    fn should_sample(&self, _trace_id: TraceId, _operation: &str) -> SamplingDecision {
        SamplingDecision::new(self.sampled, "custom", "p".repeat(64))
    }
}

#[test]
fn a_samplers_own_parameter_is_given_back() {
    let _turn = TURNS.lock().unwrap_or_else(|e| e.into_inner());
    const MOST_KEPT: isize = 64 * 1024;
    for sampled in [true, false] {
        let (tracer, reporter) = Tracer::builder("drops")
            .with_sampler(OwnedParam { sampled })
            .init_in_memory()
            .unwrap();
        let round = || {
            for _ in 0..SPANS {
                drop(tracer.start("root"));
            }
            if sampled {
                assert_eq!(reporter.len(), SPANS, "every root reported");
                let spans = reporter.spans();
                let param = spans[0]
                    .tags()
                    .find(|(k, _)| *k == "sampler.param")
                    .map(|(_, v)| v.to_string());
                assert_eq!(param, Some("p".repeat(64)), "the root's sampler.param");
            } else {
                assert_eq!(reporter.len(), 0);
            }
            reporter.clear();
        };
        round();
        let kept = held_after(round);
        assert!(
            kept < MOST_KEPT,
            "sampled {sampled}: the sampler's parameters, {kept} bytes kept"
        );
    }
}
