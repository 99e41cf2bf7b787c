use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use super::rate_limiting::TokenBucket;
use super::{ProbabilisticSampler, Sampler, SamplingDecision};
use crate::error::Error;
use crate::id::TraceId;

/// Default cap of distinct operations a per-operation sampler tracks
/// (`JAEGER_SAMPLER_MAX_OPERATIONS`).
pub const DEFAULT_MAX_OPERATIONS: usize = 2000;

/// One operation's sampler: probabilistic, plus a lower-bound rate limiter so
/// a rarely called operation still gets some traces.
#[derive(Debug)]
struct GuaranteedThroughput {
    probabilistic: ProbabilisticSampler,
    lower_bound: TokenBucket,
    lower_bound_rate: f64,
}

impl GuaranteedThroughput {
    fn new(probability: f64, lower_bound_rate: f64) -> Result<Self, Error> {
        Ok(GuaranteedThroughput {
            probabilistic: ProbabilisticSampler::new(probability)?,
            lower_bound: TokenBucket::new(lower_bound_rate, Instant::now()),
            lower_bound_rate,
        })
    }

    fn decide(&self, trace_id: TraceId, now: Instant) -> SamplingDecision {
        if self.probabilistic.is_sampled(trace_id) {
            // Spend a credit anyway so the lower bound counts these traces.
            self.lower_bound.try_take(now);
            return SamplingDecision::new(true, "probabilistic", self.probabilistic.rate());
        }
        let sampled = self.lower_bound_rate > 0.0 && self.lower_bound.try_take(now);
        // An unsampled decision stays open: renaming the span may sample it.
        SamplingDecision::new(sampled, "lowerbound", self.probabilistic.rate()).not_final()
    }
}

/// Guaranteed-throughput sampling per operation: each operation has its own
/// probability (or the default) and a lower-bound rate in traces per second.
/// At most `max_operations` operations are tracked; later ones use the
/// default probability without a lower bound.
#[derive(Debug)]
pub struct PerOperationSampler {
    default_probability: f64,
    lower_bound_rate: f64,
    max_operations: usize,
    default: ProbabilisticSampler,
    operations: RwLock<HashMap<String, Arc<GuaranteedThroughput>>>,
}

impl PerOperationSampler {
    /// A sampler with a default probability and lower bound for every
    /// operation.
    ///
    /// # Errors
    ///
    /// A configuration error for a probability outside [0, 1] or a negative
    /// or non-finite lower bound.
    pub fn new(
        default_probability: f64,
        lower_bound_per_second: f64,
        max_operations: usize,
    ) -> Result<Self, Error> {
        if !lower_bound_per_second.is_finite() || lower_bound_per_second < 0.0 {
            return Err(Error::config(format!(
                "lower bound {lower_bound_per_second} must be a finite rate >= 0"
            )));
        }
        Ok(PerOperationSampler {
            default_probability,
            lower_bound_rate: lower_bound_per_second,
            max_operations,
            default: ProbabilisticSampler::new(default_probability)?,
            operations: RwLock::new(HashMap::new()),
        })
    }

    /// Sets the probability of one operation.
    ///
    /// # Errors
    ///
    /// A configuration error for a probability outside [0, 1].
    pub fn with_operation(
        self,
        operation: impl Into<String>,
        probability: f64,
    ) -> Result<Self, Error> {
        let gt = Arc::new(GuaranteedThroughput::new(
            probability,
            self.lower_bound_rate,
        )?);
        self.operations
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(operation.into(), gt);
        Ok(self)
    }

    /// Goes on from `old`, the sampler this one replaces: an operation
    /// `old` tracked keeps its lower-bound bucket (see
    /// [`TokenBucket::carried_over`]), and one this sampler's strategy does
    /// not name stays tracked at the default probability. A new strategy
    /// (an adaptive collector sends one a minute) thus grants no fresh
    /// burst of lower-bound traces.
    pub(crate) fn carry_over_from(&mut self, old: &PerOperationSampler, now: Instant) {
        let rate = self.lower_bound_rate;
        let carried = |probabilistic, before: &GuaranteedThroughput| {
            Arc::new(GuaranteedThroughput {
                probabilistic,
                lower_bound: TokenBucket::carried_over(rate, &before.lower_bound, now),
                lower_bound_rate: rate,
            })
        };
        let old_ops = old.operations.read().unwrap_or_else(|e| e.into_inner());
        let ops = self.operations.get_mut().unwrap_or_else(|e| e.into_inner());
        for (name, gt) in ops.iter_mut() {
            if let Some(before) = old_ops.get(name) {
                *gt = carried(gt.probabilistic, before);
            }
        }
        for (name, before) in old_ops.iter() {
            if ops.len() >= self.max_operations {
                break;
            }
            if !ops.contains_key(name) {
                ops.insert(name.clone(), carried(self.default, before));
            }
        }
    }

    fn sample_at(&self, trace_id: TraceId, operation: &str, now: Instant) -> SamplingDecision {
        let ops = self.operations.read().unwrap_or_else(|e| e.into_inner());
        if let Some(gt) = ops.get(operation) {
            return gt.decide(trace_id, now);
        }
        let full = ops.len() >= self.max_operations;
        drop(ops);
        if full {
            return SamplingDecision::new(
                self.default.is_sampled(trace_id),
                "probabilistic",
                self.default_probability,
            );
        }
        let gt = {
            let mut ops = self.operations.write().unwrap_or_else(|e| e.into_inner());
            ops.entry(operation.to_owned())
                .or_insert_with(|| {
                    Arc::new(GuaranteedThroughput {
                        probabilistic: self.default,
                        lower_bound: TokenBucket::new(self.lower_bound_rate, now),
                        lower_bound_rate: self.lower_bound_rate,
                    })
                })
                .clone()
        };
        gt.decide(trace_id, now)
    }
}

impl Sampler for PerOperationSampler {
    fn should_sample(&self, trace_id: TraceId, operation: &str) -> SamplingDecision {
        self.sample_at(trace_id, operation, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn per_operation_rates_apply_with_lower_bound() {
        let s = PerOperationSampler::new(0.0, 2.0, 10)
            .unwrap()
            .with_operation("always", 1.0)
            .unwrap();
        let t0 = Instant::now();
        // "always": probability 1.
        assert!((1..100).all(|i| s.sample_at(TraceId::new(0, i), "always", t0).sampled));
        // Any other operation: probability 0, but the lower bound lets a
        // burst of 2 through, then 2 per second.
        let burst = (1..100)
            .filter(|&i| s.sample_at(TraceId::new(0, i), "rare", t0).sampled)
            .count();
        assert_eq!(burst, 2);
        let d = s.sample_at(TraceId::new(0, 1), "rare", t0 + Duration::from_millis(500));
        assert!(d.sampled);
        assert_eq!(d.sampler_type, "lowerbound");
        let d = s.sample_at(TraceId::new(0, 1), "rare", t0 + Duration::from_millis(500));
        assert!(!d.sampled && !d.is_final);
    }

    /// Jaeger's adaptive sampling keeps adapting an operation only while its
    /// roots report, in `sampler.param`, the probability it served (compared
    /// to six decimals): the served value is reported as it came.
    #[test]
    fn each_operation_reports_the_probability_it_was_given_unrounded() {
        let served = 0.001_234_567_891_f64;
        let default = 0.000_000_333_f64;
        let s = PerOperationSampler::new(default, 0.0, 10)
            .unwrap()
            .with_operation("adapted", served)
            .unwrap();
        let t0 = Instant::now();
        let param = |d: &SamplingDecision| match d.param {
            crate::tag::TagValue::F64(p) => p.to_bits(),
            ref other => panic!("sampler.param is {other:?}, not a double"),
        };
        // Trace id 0 falls under every boundary above 0.
        let d = s.sample_at(TraceId::new(0, 0), "adapted", t0);
        assert!(d.sampled);
        assert_eq!(d.sampler_type, "probabilistic");
        assert_eq!(param(&d), served.to_bits());
        let d = s.sample_at(TraceId::new(0, 0), "other", t0);
        assert_eq!(d.sampler_type, "probabilistic");
        assert_eq!(param(&d), default.to_bits());
        // Unsampled by the probability, the lower bound's decision still
        // names it.
        let d = s.sample_at(TraceId::new(0, u64::MAX), "adapted", t0);
        assert!(!d.sampled);
        assert_eq!(d.sampler_type, "lowerbound");
        assert_eq!(param(&d), served.to_bits());
    }

    #[test]
    fn a_new_strategy_keeps_each_operations_lower_bound_bucket() {
        let t0 = Instant::now();
        let old = PerOperationSampler::new(0.0, 0.1, 3)
            .unwrap()
            .with_operation("named", 0.0)
            .unwrap();
        // Each operation's single lower-bound credit is spent, "seen" being
        // tracked because it was called.
        for op in ["named", "seen"] {
            assert!(old.sample_at(TraceId::new(0, 1), op, t0).sampled, "{op}");
            assert!(!old.sample_at(TraceId::new(0, 2), op, t0).sampled, "{op}");
        }
        let mut new = PerOperationSampler::new(0.0, 0.1, 3)
            .unwrap()
            .with_operation("named", 0.0)
            .unwrap()
            .with_operation("added", 0.0)
            .unwrap();
        new.carry_over_from(&old, t0);
        for op in ["named", "seen"] {
            let d = new.sample_at(TraceId::new(0, 3), op, t0);
            assert!(!d.sampled, "{op} got a fresh lower-bound credit");
        }
        assert!(new.sample_at(TraceId::new(0, 3), "added", t0).sampled);
        // Eleven seconds at 0.1 a second earn the next credit.
        let later = t0 + Duration::from_secs(11);
        assert!(new.sample_at(TraceId::new(0, 4), "seen", later).sampled);
        // The new probabilities apply; the cap bounds what is carried.
        let mut capped = PerOperationSampler::new(1.0, 0.1, 1).unwrap();
        capped.carry_over_from(&old, t0);
        assert_eq!(capped.operations.read().unwrap().len(), 1);
        let d = capped.sample_at(TraceId::new(0, 5), "seen", t0);
        assert!(d.sampled && d.sampler_type == "probabilistic");
    }

    #[test]
    fn operations_beyond_the_cap_use_the_default() {
        let s = PerOperationSampler::new(0.0, 100.0, 2).unwrap();
        let t0 = Instant::now();
        assert!(s.sample_at(TraceId::new(0, 1), "a", t0).sampled);
        assert!(s.sample_at(TraceId::new(0, 1), "b", t0).sampled);
        // "c" is not tracked: the default probability 0 applies, no lower bound.
        let d = s.sample_at(TraceId::new(0, 1), "c", t0);
        assert!(!d.sampled);
        assert_eq!(s.operations.read().unwrap().len(), 2);
    }
}
