//! The process-wide tracer, for code that cannot be handed one.
//!
//! Until [`set_tracer`] is called, [`tracer`] returns the no-op tracer.
//!
//! [`tracer`] is meant to be called per span (`global::tracer().start(…)`),
//! from many threads at once: each thread keeps a weak reference to the
//! global tracer with the generation it was read in, and reads the shared
//! slot only when [`set_tracer`] or [`take_tracer`] moved the generation
//! on. A call then costs a load of the generation and the handle's
//! reference count, not a lock taken and released on a cache line every
//! thread writes (which made a call cost more than a span on two threads).
//! The weak reference keeps nothing alive: a tracer replaced or taken
//! closes when its last handle goes, as without the cache.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use crate::tracer::{Tracer, WeakTracer};

static GLOBAL: RwLock<Option<Tracer>> = RwLock::new(None);
/// Moved on (under `GLOBAL`'s write lock) by every change of the tracer.
static GENERATION: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The global tracer as this thread last read it, and in which
    /// generation (0: never read).
    static SEEN: RefCell<(u64, WeakTracer)> = const { RefCell::new((0, WeakTracer::NOOP)) };
}

/// Installs `tracer` as the global tracer and returns the previous one.
pub fn set_tracer(tracer: Tracer) -> Option<Tracer> {
    let mut slot = GLOBAL.write().unwrap_or_else(|e| e.into_inner());
    GENERATION.fetch_add(1, Ordering::Release);
    slot.replace(tracer)
}

/// The global tracer (a cheap clone), or the no-op tracer when none is set.
pub fn tracer() -> Tracer {
    let generation = GENERATION.load(Ordering::Acquire);
    let seen = SEEN.try_with(|seen| {
        let seen = seen.try_borrow().ok()?;
        (seen.0 == generation).then(|| seen.1.upgrade()).flatten()
    });
    if let Ok(Some(tracer)) = seen {
        return tracer;
    }
    read_shared(generation)
}

/// [`tracer`] from the shared slot, remembered by this thread with
/// `generation` (read before the slot: a change in between is seen as a
/// newer generation by the next call).
#[cold]
fn read_shared(generation: u64) -> Tracer {
    let tracer = GLOBAL
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_else(Tracer::noop);
    let _ = SEEN.try_with(|seen| {
        if let Ok(mut seen) = seen.try_borrow_mut() {
            *seen = (generation, tracer.downgrade());
        }
    });
    tracer
}

/// Removes the global tracer, returning it; [`tracer`] is no-op again.
pub fn take_tracer() -> Option<Tracer> {
    let mut slot = GLOBAL.write().unwrap_or_else(|e| e.into_inner());
    GENERATION.fetch_add(1, Ordering::Release);
    slot.take()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every thread sees each change at its next call; what a thread read
    /// before keeps no replaced tracer alive. (The only test of this crate
    /// that sets the global tracer.)
    #[test]
    fn each_change_is_seen_by_every_thread_and_the_cache_holds_nothing() {
        let make = |name: &str| {
            Tracer::builder(name)
                .with_agent_host("127.0.0.1")
                .with_agent_port(9)
                .init()
                .unwrap()
        };
        let (a, guard_a) = make("first");
        let (b, guard_b) = make("second");
        let read_elsewhere = || {
            std::thread::scope(|s| s.spawn(|| tracer().service_name().to_owned()).join()).unwrap()
        };
        assert!(tracer().is_noop());
        set_tracer(a.clone());
        // Read (and remembered) on this thread, then seen changed.
        assert_eq!(tracer().service_name(), "first");
        assert_eq!(tracer().service_name(), "first");
        assert_eq!(read_elsewhere(), "first");
        let weak_a = a.downgrade();
        let previous = set_tracer(b).expect("the first tracer");
        assert_eq!(tracer().service_name(), "second");
        assert_eq!(read_elsewhere(), "second");
        // The first tracer, replaced and with its handles gone, is gone,
        // although this thread read it through the cache.
        drop((a, previous, guard_a));
        assert!(
            weak_a.upgrade().is_none(),
            "a replaced tracer was kept alive"
        );
        assert!(take_tracer().is_some());
        assert!(tracer().is_noop());
        assert_eq!(read_elsewhere(), "", "the no-op tracer's name");
        drop(guard_b);
    }
}
