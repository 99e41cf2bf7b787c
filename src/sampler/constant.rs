use super::{Sampler, SamplingDecision};
use crate::id::TraceId;

/// Samples every trace, or none (`sampler.type=const`, `sampler.param=true|false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConstSampler {
    decision: bool,
}

impl ConstSampler {
    /// A sampler that always answers `decision`.
    pub const fn new(decision: bool) -> Self {
        ConstSampler { decision }
    }

    /// The decision it always answers.
    pub(crate) const fn decision(&self) -> bool {
        self.decision
    }
}

impl Sampler for ConstSampler {
    #[inline]
    fn should_sample(&self, _trace_id: TraceId, _operation: &str) -> SamplingDecision {
        SamplingDecision::new(self.decision, "const", self.decision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn const_answers_its_decision() {
        let id = TraceId::new(0, 7);
        assert!(ConstSampler::new(true).should_sample(id, "op").sampled);
        let no = ConstSampler::new(false).should_sample(id, "op");
        assert!(!no.sampled);
        assert_eq!(no.sampler_type, "const");
    }
}
