use super::{Sampler, SamplingDecision};
use crate::error::Error;
use crate::id::TraceId;

const MAX_RANDOM: u64 = 0x7fff_ffff_ffff_ffff;

/// Samples a fixed fraction of traces, decided by the trace id itself.
///
/// A trace is sampled iff `(trace_id.low & 0x7fff_ffff_ffff_ffff) < boundary`
/// with `boundary = 0x7fff_ffff_ffff_ffff × rate` — the same rule as the Go
/// client, so every service that samples the same trace id at the same rate
/// agrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbabilisticSampler {
    rate: f64,
    boundary: u64,
}

impl ProbabilisticSampler {
    /// A sampler for `rate` in [0, 1].
    ///
    /// # Errors
    ///
    /// A configuration error when `rate` is outside [0, 1] or not a number.
    pub fn new(rate: f64) -> Result<Self, Error> {
        if !(0.0..=1.0).contains(&rate) {
            return Err(Error::config(format!(
                "probabilistic sampling rate {rate} is outside [0, 1]"
            )));
        }
        Ok(ProbabilisticSampler {
            rate,
            boundary: (MAX_RANDOM as f64 * rate) as u64,
        })
    }

    /// The sampling rate.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// True when this trace id falls under the boundary.
    #[inline]
    pub fn is_sampled(&self, trace_id: TraceId) -> bool {
        (trace_id.low() & MAX_RANDOM) < self.boundary
    }
}

impl Sampler for ProbabilisticSampler {
    #[inline]
    fn should_sample(&self, trace_id: TraceId, _operation: &str) -> SamplingDecision {
        SamplingDecision::new(self.is_sampled(trace_id), "probabilistic", self.rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_rates_outside_unit_interval() {
        for bad in [1.5, -0.1, f64::NAN] {
            assert!(ProbabilisticSampler::new(bad).unwrap_err().is_config());
        }
    }

    #[test]
    fn boundary_matches_go_formula() {
        let s = ProbabilisticSampler::new(0.5).unwrap();
        let boundary = (0x7fff_ffff_ffff_ffffu64 as f64 * 0.5) as u64;
        for (low, expect) in [
            (0, true),
            (boundary - 1, true),
            (boundary, false),
            (boundary + 1, false),
            (u64::MAX, false),
            // The top bit is masked off: same decision as without it.
            (0x8000_0000_0000_0000 | (boundary - 1), true),
        ] {
            assert_eq!(s.is_sampled(TraceId::new(0, low)), expect, "{low:#x}");
        }
        assert!(!ProbabilisticSampler::new(0.0)
            .unwrap()
            .is_sampled(TraceId::new(0, 0)));
        assert!(ProbabilisticSampler::new(1.0)
            .unwrap()
            .is_sampled(TraceId::new(0, u64::MAX - 1)));
    }
}
