//! Samplers: the up-front decision whether a new trace is recorded.
//!
//! The decision is made once, when a trace starts in this process (a root
//! span, or a span whose only parent is a partial context). Spans that join
//! an existing trace keep its decision. A [`SAMPLING_PRIORITY`](crate::SAMPLING_PRIORITY)
//! tag overrides any sampler.

mod constant;
mod per_operation;
mod probabilistic;
mod rate_limiting;
mod remote;
mod strategy;

pub use constant::ConstSampler;
pub use per_operation::{PerOperationSampler, DEFAULT_MAX_OPERATIONS};
pub use probabilistic::ProbabilisticSampler;
pub use rate_limiting::RateLimitingSampler;
pub use remote::{
    RemoteSampler, RemoteSamplerBuilder, RemoteSamplerStats, DEFAULT_INITIAL_RATE,
    DEFAULT_REFRESH_INTERVAL, DEFAULT_SAMPLING_ENDPOINT, DEFAULT_SAMPLING_PORT,
    MIN_REFRESH_INTERVAL,
};

use std::fmt;

use crate::id::TraceId;
use crate::tag::TagValue;

/// The outcome of a sampler for one new trace. The root span of a sampled
/// trace is tagged `sampler.type` and `sampler.param` from it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SamplingDecision {
    /// Whether the trace is recorded.
    pub sampled: bool,
    /// The `sampler.type` tag: `const`, `probabilistic`, `ratelimiting`, ….
    pub sampler_type: &'static str,
    /// The `sampler.param` tag.
    pub param: TagValue,
    /// False when the decision may change with the operation name: an
    /// unsampled root is then asked again when the span is renamed.
    pub is_final: bool,
}

impl SamplingDecision {
    /// A decision with its tags.
    pub fn new(sampled: bool, sampler_type: &'static str, param: impl Into<TagValue>) -> Self {
        SamplingDecision {
            sampled,
            sampler_type,
            param: param.into(),
            is_final: true,
        }
    }

    /// This decision, marked as open to change with the operation name.
    #[must_use]
    pub fn not_final(mut self) -> Self {
        self.is_final = false;
        self
    }
}

/// Decides whether a new trace is sampled.
///
/// Called on the application thread for every new trace, so it must be
/// cheap and must not block.
pub trait Sampler: Send + Sync + fmt::Debug {
    /// The decision for a trace starting with `trace_id` at an operation
    /// named `operation`.
    fn should_sample(&self, trace_id: TraceId, operation: &str) -> SamplingDecision;

    /// Called when the tracer closes; stops any background work.
    fn close(&self) {}
}

impl<S: Sampler + ?Sized> Sampler for Box<S> {
    fn should_sample(&self, trace_id: TraceId, operation: &str) -> SamplingDecision {
        (**self).should_sample(trace_id, operation)
    }

    fn close(&self) {
        (**self).close();
    }
}

impl<S: Sampler + ?Sized> Sampler for std::sync::Arc<S> {
    fn should_sample(&self, trace_id: TraceId, operation: &str) -> SamplingDecision {
        (**self).should_sample(trace_id, operation)
    }

    fn close(&self) {
        (**self).close();
    }
}
