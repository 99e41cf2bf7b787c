//! An in-memory reporter for users' own tests (feature `testing`).
//!
//! ```
//! use jaeger_tracer::Tracer;
//! let (tracer, reporter) = Tracer::builder("under-test").init_in_memory().unwrap();
//! tracer.start("checkout").set_tag("items", 3);
//! let spans = reporter.spans();
//! assert_eq!(spans[0].operation_name(), "checkout");
//! assert_eq!(spans[0].tag("items").and_then(|v| v.as_i64()), Some(3));
//! ```

use std::sync::{Arc, Mutex};

use crate::span::FinishedSpan;

/// The finished spans of a tracer made by
/// [`TracerBuilder::init_in_memory`](crate::TracerBuilder::init_in_memory),
/// in finishing order.
#[derive(Debug, Clone)]
pub struct InMemoryReporter {
    spans: Arc<Mutex<Vec<FinishedSpan>>>,
}

impl InMemoryReporter {
    pub(crate) fn new(spans: Arc<Mutex<Vec<FinishedSpan>>>) -> Self {
        InMemoryReporter { spans }
    }

    /// A copy of the spans finished so far.
    pub fn spans(&self) -> Vec<FinishedSpan> {
        self.spans.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// How many spans finished so far.
    pub fn len(&self) -> usize {
        self.spans.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True when no span finished yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets the spans kept so far.
    pub fn clear(&self) {
        self.spans.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}
