//! A Jaeger tracer with OpenTracing semantics.
//!
//! Spans finished on application threads are moved into a bounded lock-free
//! queue and never block; a background reporter thread groups the spans of
//! each local trace (a *segment*), packs them into Thrift batches no larger
//! than a UDP datagram, and sends them to the Jaeger agent (or, over HTTP,
//! to the collector: [`Collector`]). Every span that is not delivered is
//! counted with its reason ([`MetricsSnapshot`]).
//!
//! Main types:
//!
//! * [`Tracer`], built by [`Tracer::builder`] or [`TracerBuilder::from_env`],
//!   with a [`TracerGuard`] that flushes and closes it when dropped;
//! * [`Span`] (tags, logs, baggage, finish) and [`SpanBuilder`]
//!   (references, start time, initial tags);
//! * [`SpanContext`], propagated with [`Tracer::inject`] /
//!   [`Tracer::extract`] through any [`Injector`] / [`Extractor`] carrier,
//!   including [`http::HeaderMap`];
//! * [`sampler`]: const, probabilistic, rate-limiting and per-operation
//!   samplers, and the remote sampler that polls the agent for strategies;
//! * [`ext`]: the OpenTracing convention names of tags and log fields;
//! * [`scope`]: the active span, on a thread and across `.await`;
//! * [`global`]: a process-wide tracer that defaults to the no-op tracer;
//! * [`MetricsSnapshot`] and [`SpanObserver`]: the tracer's own counters and
//!   span callbacks.
//!
//! Feature flags (none by default):
//!
// The feature-gated items are linked only when their feature is on, so
// the docs build without warnings under any set of features.
#![cfg_attr(
    feature = "tracing",
    doc = "* `tracing`: [`layer::JaegerLayer`], a `tracing_subscriber::Layer`;"
)]
#![cfg_attr(
    not(feature = "tracing"),
    doc = "* `tracing`: `layer::JaegerLayer`, a `tracing_subscriber::Layer`;"
)]
#![cfg_attr(
    feature = "middleware",
    doc = "* `middleware`: [`middleware::TraceLayer`] (tower) and \
           [`middleware::send`] (reqwest);"
)]
#![cfg_attr(
    not(feature = "middleware"),
    doc = "* `middleware`: `middleware::TraceLayer` (tower) and \
           `middleware::send` (reqwest);"
)]
//! * `metrics`: the counters through the `metrics` facade;
//! * `testing`: an in-memory reporter for your own tests.
//!
//! ```no_run
//! use jaeger_tracer::Tracer;
//!
//! fn main() -> Result<(), jaeger_tracer::Error> {
//!     let (tracer, _guard) = Tracer::builder("my-service").with_env()?.init()?;
//!     let mut root = tracer.start("request").activate();
//!     root.set_tag("http.method", "GET");
//!     root.set_baggage_item("user", "alice");
//!     {
//!         let mut child = tracer.start("db.query"); // child of `root`
//!         child.log(|f| {
//!             f.event("rows").field("count", 3);
//!         });
//!     }
//!     Ok(())
//! }
//! ```

#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms
)]
#![deny(unsafe_code)]

mod clock;
mod config;
mod encode;
mod error;
pub mod ext;
pub mod global;
mod id;
#[cfg(feature = "tracing")]
pub mod layer;
mod metrics;
#[cfg(feature = "middleware")]
pub mod middleware;
pub mod propagation;
mod reporter;
pub mod sampler;
pub mod scope;
mod span;
mod span_context;
mod tag;
#[cfg(feature = "testing")]
pub mod testing;
// Generated code, compiled for tests only; it carries a whole client and
// server of which the tests use the decoding half.
#[cfg(test)]
#[allow(
    dead_code,
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms,
    clippy::all
)]
pub(crate) mod thrift;
mod tracer;
mod transport;

pub use config::{
    AgentProtocol, TracerBuilder, DEFAULT_AGENT_HOST, DEFAULT_AGENT_PORT_BINARY,
    DEFAULT_AGENT_PORT_COMPACT, DEFAULT_CLOSE_TIMEOUT, DEFAULT_FLUSH_INTERVAL,
    DEFAULT_MAX_BAGGAGE_VALUE_LEN, DEFAULT_MAX_EXTRACTED_BAGGAGE_BYTES,
    DEFAULT_MAX_EXTRACTED_BAGGAGE_ITEMS, DEFAULT_MAX_PACKET_SIZE, DEFAULT_MAX_TAG_VALUE_LEN,
    DEFAULT_QUEUE_SIZE, ENV_AGENT_HOST, ENV_AGENT_PORT, ENV_AUTH_TOKEN, ENV_DISABLED, ENV_ENDPOINT,
    ENV_PASSWORD, ENV_PROPAGATION, ENV_REPORTER_ATTEMPT_RECONNECTING_DISABLED,
    ENV_REPORTER_ATTEMPT_RECONNECT_INTERVAL, ENV_REPORTER_FLUSH_INTERVAL, ENV_REPORTER_LOG_SPANS,
    ENV_REPORTER_MAX_QUEUE_SIZE, ENV_SAMPLER_MANAGER_HOST_PORT, ENV_SAMPLER_MAX_OPERATIONS,
    ENV_SAMPLER_PARAM, ENV_SAMPLER_REFRESH_INTERVAL, ENV_SAMPLER_TYPE, ENV_SAMPLING_ENDPOINT,
    ENV_SERVICE_NAME, ENV_TAGS, ENV_TRACEID_128BIT, ENV_USER, MAX_QUEUE_SIZE, MAX_UDP_PAYLOAD,
};
pub use error::Error;
pub use id::{SpanId, TraceId};
pub use metrics::MetricsSnapshot;
pub use propagation::{Extractor, Injector, Propagation};
pub use scope::FutureExt;
pub use span::{
    FinishedSpan, Reference, ReferenceType, Span, SpanBuilder, DEBUG_ID_TAG, SAMPLING_PRIORITY,
};
pub use span_context::{Flags, SpanContext};
pub use tag::{LogFields, TagValue};
pub use tracer::{SpanObserver, Tracer, TracerGuard};
pub use transport::http::{
    Collector, DEFAULT_COLLECTOR_TIMEOUT, DEFAULT_MAX_BATCH_BYTES, DEFAULT_RETRIES,
};

// Compiles the README's examples as doctests, so they cannot drift.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
