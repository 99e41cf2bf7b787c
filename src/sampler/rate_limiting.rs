use std::sync::Mutex;
use std::time::Instant;

use super::{Sampler, SamplingDecision};
use crate::error::Error;
use crate::id::TraceId;

/// A token bucket: `rate` credits per second, balance capped at
/// `max(rate, 1)`, starting full (empty at rate 0, which lets nothing
/// through); each sampled trace costs one credit.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    rate: f64,
    max_balance: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    pub(crate) fn new(rate: f64, now: Instant) -> Self {
        let max_balance = rate.max(1.0);
        TokenBucket {
            rate,
            max_balance,
            // (The Go client starts a rate of 0 with one credit, so it
            // samples the first trace: 0 traces a second means none.)
            state: Mutex::new((if rate > 0.0 { max_balance } else { 0.0 }, now)),
        }
    }

    /// A bucket of `rate` that goes on from `old` at time `now`: it holds
    /// the same fraction of its cap as `old` holds of its own, so a changed
    /// strategy neither refills a spent bucket nor empties a full one.
    pub(crate) fn carried_over(rate: f64, old: &TokenBucket, now: Instant) -> Self {
        let fresh = TokenBucket::new(rate, now);
        let guard = old.state.lock().unwrap_or_else(|e| e.into_inner());
        let (balance, last) = *guard;
        drop(guard);
        let elapsed = now.saturating_duration_since(last).as_secs_f64();
        let old_balance = (balance + elapsed * old.rate).min(old.max_balance);
        let balance = if rate > 0.0 {
            fresh.max_balance * old_balance / old.max_balance
        } else {
            0.0
        };
        TokenBucket {
            state: Mutex::new((balance, now.max(last))),
            ..fresh
        }
    }

    /// Takes one credit at time `now` if there is one.
    pub(crate) fn try_take(&self, now: Instant) -> bool {
        // A poisoned lock only means another thread panicked mid-update of two
        // plain numbers; the values are still usable.
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (balance, last) = &mut *guard;
        let elapsed = now.saturating_duration_since(*last).as_secs_f64();
        *last = now.max(*last);
        *balance = (*balance + elapsed * self.rate).min(self.max_balance);
        if *balance >= 1.0 {
            *balance -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Samples at most a fixed number of traces per second
/// (`sampler.type=ratelimiting`, `sampler.param=<rate>`).
#[derive(Debug)]
pub struct RateLimitingSampler {
    rate: f64,
    bucket: TokenBucket,
}

impl RateLimitingSampler {
    /// A sampler letting `traces_per_second` through (bursts up to
    /// `max(traces_per_second, 1)`).
    ///
    /// # Errors
    ///
    /// A configuration error when the rate is negative or not finite.
    pub fn new(traces_per_second: f64) -> Result<Self, Error> {
        if !traces_per_second.is_finite() || traces_per_second < 0.0 {
            return Err(Error::config(format!(
                "rate-limiting sampler rate {traces_per_second} must be a finite number >= 0"
            )));
        }
        Ok(RateLimitingSampler {
            rate: traces_per_second,
            bucket: TokenBucket::new(traces_per_second, Instant::now()),
        })
    }

    /// The configured traces per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    pub(crate) fn sample_at(&self, now: Instant) -> bool {
        self.bucket.try_take(now)
    }

    /// A sampler of `traces_per_second` that goes on from this one's bucket
    /// (see [`TokenBucket::carried_over`]).
    pub(crate) fn updated(&self, traces_per_second: f64, now: Instant) -> Result<Self, Error> {
        let fresh = RateLimitingSampler::new(traces_per_second)?;
        Ok(RateLimitingSampler {
            bucket: TokenBucket::carried_over(traces_per_second, &self.bucket, now),
            ..fresh
        })
    }
}

impl Sampler for RateLimitingSampler {
    fn should_sample(&self, _trace_id: TraceId, _operation: &str) -> SamplingDecision {
        SamplingDecision::new(self.sample_at(Instant::now()), "ratelimiting", self.rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_steady_state_under_controlled_clock() {
        let t0 = Instant::now();
        let s = RateLimitingSampler {
            rate: 10.0,
            bucket: TokenBucket::new(10.0, t0),
        };
        // Starts full: a burst of exactly 10 passes.
        let burst = (0..100).filter(|_| s.sample_at(t0)).count();
        assert_eq!(burst, 10);
        // Then 10 per second: 100 ms gives one credit.
        let mut passed = 0;
        for i in 1..=50u64 {
            if s.sample_at(t0 + Duration::from_millis(100 * i)) {
                passed += 1;
            }
        }
        assert_eq!(passed, 50);
        // Many attempts at one instant get only what has accrued.
        let t = t0 + Duration::from_millis(5000);
        assert_eq!((0..100).filter(|_| s.sample_at(t)).count(), 0);
    }

    #[test]
    fn fractional_rate_caps_balance_at_one() {
        let t0 = Instant::now();
        let b = TokenBucket::new(0.5, t0);
        assert!(b.try_take(t0));
        assert!(!b.try_take(t0 + Duration::from_secs(1)));
        assert!(b.try_take(t0 + Duration::from_secs(2)));
        // A long idle period does not build a burst beyond 1.
        let later = t0 + Duration::from_secs(100);
        assert!(b.try_take(later));
        assert!(!b.try_take(later));
    }

    #[test]
    fn a_rate_of_zero_lets_nothing_through() {
        let t0 = Instant::now();
        let s = RateLimitingSampler::new(0.0).unwrap();
        let later = t0 + Duration::from_secs(3600);
        assert_eq!(
            (0..100)
                .filter(|&i| s.sample_at(t0 + Duration::from_secs(i)))
                .count(),
            0
        );
        assert!(!s.sample_at(later));
    }

    #[test]
    fn a_new_rate_goes_on_from_the_balance_left() {
        let t0 = Instant::now();
        let s = RateLimitingSampler::new(4.0).unwrap();
        assert_eq!((0..10).filter(|_| s.sample_at(t0)).count(), 4);
        // Spent: a raised rate starts from an empty bucket, not a full one.
        let raised = s.updated(8.0, t0).unwrap();
        assert!(!raised.sample_at(t0));
        assert!(raised.sample_at(t0 + Duration::from_millis(250)));
        // Half full at 4 per second is half full at 2 per second.
        let half = RateLimitingSampler::new(4.0).unwrap();
        assert_eq!((0..2).filter(|_| half.sample_at(t0)).count(), 2);
        let lowered = half.updated(2.0, t0).unwrap();
        assert_eq!((0..10).filter(|_| lowered.sample_at(t0)).count(), 1);
        // Credits accrued before the change are kept; a rate of 0 keeps none.
        let idle = RateLimitingSampler::new(1.0).unwrap();
        assert!(idle.sample_at(t0));
        let later = t0 + Duration::from_secs(5);
        assert!(idle.updated(3.0, later).unwrap().sample_at(later));
        assert!(!idle.updated(0.0, later).unwrap().sample_at(later));
        assert!(idle.updated(-1.0, later).unwrap_err().is_config());
    }

    #[test]
    fn rejects_negative_rate() {
        assert!(RateLimitingSampler::new(-1.0).unwrap_err().is_config());
    }
}
