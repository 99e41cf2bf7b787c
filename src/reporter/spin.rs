//! The lock around a thread's slot of finished spans.
//!
//! Its owner takes it once per span and never waits for it (a busy slot is
//! passed by: the span goes straight to the channel); the reporter thread
//! takes it when it sweeps the slots, for as long as it takes to swap a
//! vector. So neither side sleeps on it: a taker that finds it held spins,
//! then yields, and sleeps a little between looks only if the holder has
//! lost its core for long. Compared with `std::sync::Mutex`, a span pays
//! no poison check and one locked instruction instead of two (the release
//! is a plain store: there is never a sleeper to wake).

use std::cell::UnsafeCell;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};

/// A value behind a flag that one thread at a time may hold.
pub(crate) struct SpinLock<T> {
    held: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through a guard, and a guard exists
// only for the one thread that set `held`; so the value moves between
// threads (`T: Send`) but is never shared.
#[allow(unsafe_code)]
unsafe impl<T: Send> Sync for SpinLock<T> {}

impl<T> SpinLock<T> {
    /// An unheld lock around `value`.
    pub(crate) const fn new(value: T) -> Self {
        SpinLock {
            held: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// The value, if no one holds it now.
    #[inline(always)]
    pub(crate) fn try_lock(&self) -> Option<SpinGuard<'_, T>> {
        self.held
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| SpinGuard { lock: self })
    }

    /// The value, once its holder lets it go: a few spins, then a yield of
    /// the processor between looks (a holder that lost its core meanwhile
    /// gets it back sooner), then, should that go on (a holder preempted
    /// on a busy machine), short sleeps instead of a core spent yielding.
    pub(crate) fn lock(&self) -> SpinGuard<'_, T> {
        const SPINS: u32 = 100;
        const YIELDS: u32 = 100;
        let mut looks = 0u32;
        loop {
            if let Some(guard) = self.try_lock() {
                return guard;
            }
            while self.held.load(Ordering::Relaxed) {
                if looks < SPINS {
                    std::hint::spin_loop();
                } else if looks < SPINS + YIELDS {
                    std::thread::yield_now();
                } else {
                    std::thread::sleep(std::time::Duration::from_micros(50));
                }
                looks = looks.saturating_add(1);
            }
        }
    }
}

impl<T: Default> Default for SpinLock<T> {
    fn default() -> Self {
        SpinLock::new(T::default())
    }
}

impl<T> fmt::Debug for SpinLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpinLock")
            .field("held", &self.held.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// The held value; dropping it lets the value go.
pub(crate) struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
}

impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        // SAFETY: this guard's thread set `held`, and no other guard exists
        // until it is dropped.
        #[allow(unsafe_code)]
        unsafe {
            &*self.lock.value.get()
        }
    }
}

impl<T> DerefMut for SpinGuard<'_, T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only
        // reference through the guard.
        #[allow(unsafe_code)]
        unsafe {
            &mut *self.lock.value.get()
        }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        self.lock.held.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_held_lock_is_not_taken_again_until_let_go() {
        let lock = SpinLock::new(1);
        let guard = lock.try_lock().expect("an unheld lock");
        assert!(lock.try_lock().is_none(), "taken twice");
        drop(guard);
        *lock.try_lock().expect("let go") += 1;
        assert_eq!(*lock.lock(), 2);
    }

    #[test]
    fn a_lock_held_for_long_is_waited_for() {
        let lock = Arc::new(SpinLock::new(0));
        let guard = lock.try_lock().expect("an unheld lock");
        let waiter = {
            let lock = lock.clone();
            std::thread::spawn(move || {
                // Spins, yields, then sleeps until the holder lets go.
                *lock.lock() += 1;
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!waiter.is_finished(), "taken while held");
        drop(guard);
        waiter.join().expect("the waiter");
        assert_eq!(*lock.lock(), 1);
    }

    #[test]
    fn increments_from_several_threads_are_all_kept() {
        const THREADS: usize = 4;
        const EACH: usize = 20_000;
        let lock = Arc::new(SpinLock::new(0usize));
        let threads: Vec<_> = (0..THREADS)
            .map(|i| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for n in 0..EACH {
                        // Half through `try_lock` (retried), half through
                        // `lock`.
                        if (i + n) % 2 == 0 {
                            *lock.lock() += 1;
                        } else {
                            loop {
                                if let Some(mut v) = lock.try_lock() {
                                    *v += 1;
                                    break;
                                }
                                std::hint::spin_loop();
                            }
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("a counting thread");
        }
        assert_eq!(*lock.lock(), THREADS * EACH);
    }
}
