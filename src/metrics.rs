//! The tracer's own counters: what happened to every sampled span.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

use crossbeam_utils::CachePadded;

/// Slots of the hot-path counters: one per thread for the first
/// `SHARDS - 1` threads that count, the last one shared by any later thread.
/// A power of two.
const SHARDS: usize = 64;

/// No slot chosen yet.
const UNSET: usize = usize::MAX;

thread_local! {
    // This thread's slot. Slots are handed out once per thread and never
    // reused, so a slot below `SHARDS - 1` has exactly one writer. A `const`
    // cell (no lazy initialisation, no destructor): reading it is one load.
    static SHARD: Cell<usize> = const { Cell::new(UNSET) };
}

#[inline]
fn shard() -> usize {
    let i = SHARD.with(Cell::get);
    if i != UNSET {
        return i;
    }
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let i = NEXT.fetch_add(1, Relaxed).min(SHARDS - 1);
    SHARD.with(|s| s.set(i));
    i
}

/// What the application threads count per span, one counter each.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SpanEvent {
    /// A sampled span started a new trace.
    RootSampled = 0,
    /// An unsampled span started a new trace.
    RootUnsampled = 1,
    /// A sampled span joined a trace from another process.
    JoinedSampled = 2,
    /// An unsampled span joined a trace from another process.
    JoinedUnsampled = 3,
    /// A sampled span started under a local parent.
    ChildSampled = 4,
    /// An unsampled span started under a local parent.
    ChildUnsampled = 5,
    /// An unsampled span finished.
    FinishedUnsampled = 6,
}

/// The hot-path counters, one cache line per thread holding all of them:
/// a span's start (and an unsampled span's finish) adds to one counter of
/// its own thread's line with a plain load and store (single writer: no
/// locked instruction, no contention); threads beyond the first 63 share the
/// last line with atomic adds. Reads add the lines up.
#[derive(Debug)]
pub(crate) struct SpanCounts([CachePadded<[AtomicU64; 8]>; SHARDS]);

impl Default for SpanCounts {
    fn default() -> Self {
        SpanCounts(std::array::from_fn(
            |_| CachePadded::new(Default::default()),
        ))
    }
}

impl SpanCounts {
    #[inline]
    pub(crate) fn incr(&self, event: SpanEvent) {
        let i = shard();
        // `i < SHARDS` always; the mask only tells the compiler so.
        let slot = &self.0[i & (SHARDS - 1)][event as usize];
        if i < SHARDS - 1 {
            // Single writer: a relaxed load and store cannot lose updates,
            // and readers see some recent value, as with any counter.
            slot.store(slot.load(Relaxed) + 1, Relaxed);
        } else {
            slot.fetch_add(1, Relaxed);
        }
    }

    pub(crate) fn get(&self, event: SpanEvent) -> u64 {
        self.0.iter().map(|c| c[event as usize].load(Relaxed)).sum()
    }
}

/// Counters shared by the application threads (drops at the queue) and the
/// reporter thread (everything after it).
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub(crate) received: AtomicU64,
    pub(crate) reported: AtomicU64,
    pub(crate) dropped_queue_full: AtomicU64,
    pub(crate) dropped_too_large: AtomicU64,
    pub(crate) dropped_closed: AtomicU64,
    pub(crate) failed_to_send: AtomicU64,
    pub(crate) trimmed: AtomicU64,
    pub(crate) batches_sent: AtomicU64,
    pub(crate) bytes_sent: AtomicU64,
    pub(crate) send_errors: AtomicU64,
    pub(crate) baggage_truncations: AtomicU64,
    pub(crate) baggage_rejected: AtomicU64,
    pub(crate) baggage_items_dropped: AtomicU64,
    pub(crate) baggage_updates: AtomicU64,
    pub(crate) decoding_errors: AtomicU64,
    pub(crate) observer_panics: AtomicU64,
    pub(crate) spans: SpanCounts,
}

impl Metrics {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    pub(crate) fn incr(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    /// Counts `n` spans finished after the tracer was closed; the first
    /// ones are also logged, with the usual cause: a guard dropped at once.
    #[cold]
    pub(crate) fn dropped_after_close(&self, n: u64) {
        if n != 0 && self.dropped_closed.fetch_add(n, Relaxed) == 0 {
            log::warn!(
                "jaeger: a span finished after its tracer was closed is dropped (counted in \
                 spans_dropped_closed, not logged again). Is the TracerGuard kept alive? \
                 `let (tracer, _) = builder.init()?` drops it, and closes the tracer, at once; \
                 `let (tracer, _guard) = …` keeps it to the end of the scope"
            );
        }
    }

    pub(crate) fn baggage_truncated(&self) {
        Metrics::add(&self.baggage_truncations, 1);
    }

    pub(crate) fn snapshot(&self, in_queue: u64) -> MetricsSnapshot {
        // Terminal counters first, then `received`: a span that completes
        // between the reads is then counted as still pending, never twice.
        let reported = self.reported.load(Relaxed);
        let dropped_too_large = self.dropped_too_large.load(Relaxed);
        let failed_to_send = self.failed_to_send.load(Relaxed);
        let received = self.received.load(Relaxed);
        let pending = received.saturating_sub(reported + dropped_too_large + failed_to_send);
        use SpanEvent::*;
        let count = |e| self.spans.get(e);
        let (roots_sampled, roots_unsampled) = (count(RootSampled), count(RootUnsampled));
        let (joined_sampled, joined_unsampled) = (count(JoinedSampled), count(JoinedUnsampled));
        MetricsSnapshot {
            spans_reported: reported,
            spans_dropped_queue_full: self.dropped_queue_full.load(Relaxed),
            spans_dropped_too_large: dropped_too_large,
            spans_dropped_closed: self.dropped_closed.load(Relaxed),
            spans_failed_to_send: failed_to_send,
            spans_queued: in_queue + pending,
            spans_trimmed: self.trimmed.load(Relaxed),
            batches_sent: self.batches_sent.load(Relaxed),
            bytes_sent: self.bytes_sent.load(Relaxed),
            send_errors: self.send_errors.load(Relaxed),
            baggage_truncations: self.baggage_truncations.load(Relaxed),
            baggage_rejected: self.baggage_rejected.load(Relaxed),
            baggage_items_dropped: self.baggage_items_dropped.load(Relaxed),
            baggage_updates: self.baggage_updates.load(Relaxed),
            span_context_decoding_errors: self.decoding_errors.load(Relaxed),
            observer_panics: self.observer_panics.load(Relaxed),
            traces_started_sampled: roots_sampled,
            traces_started_unsampled: roots_unsampled,
            traces_joined_sampled: joined_sampled,
            traces_joined_unsampled: joined_unsampled,
            spans_started_sampled: roots_sampled + joined_sampled + count(ChildSampled),
            spans_started_unsampled: roots_unsampled + joined_unsampled + count(ChildUnsampled),
            spans_finished_unsampled: count(FinishedUnsampled),
            ..MetricsSnapshot::default()
        }
    }
}

/// A point-in-time copy of the tracer's counters.
///
/// Every sampled span that finished is in exactly one of: reported, dropped
/// (queue full, too large, tracer closed), failed to send, or still queued.
/// [`spans_finished`](MetricsSnapshot::spans_finished) adds them up. While
/// spans are moving the fields are read one after another, so the identity is
/// exact only once the tracer is idle (after a flush).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// Spans handed to the transport successfully (UDP: accepted by the
    /// socket; HTTP: acknowledged by the collector).
    pub spans_reported: u64,
    /// Spans dropped because the queue to the reporter was full.
    pub spans_dropped_queue_full: u64,
    /// Spans dropped because even trimmed they did not fit one packet/batch.
    pub spans_dropped_too_large: u64,
    /// Spans finished after the tracer was closed.
    pub spans_dropped_closed: u64,
    /// Spans in batches the transport failed to deliver.
    pub spans_failed_to_send: u64,
    /// Spans in the queue or in the reporter's buffers, not yet sent.
    pub spans_queued: u64,
    /// Spans whose logs and/or tags were removed to fit a packet (they are
    /// also counted as reported or failed).
    pub spans_trimmed: u64,
    /// Batches (datagrams or HTTP requests) sent successfully.
    pub batches_sent: u64,
    /// Payload bytes sent successfully.
    pub bytes_sent: u64,
    /// Failed send attempts (each may carry many spans).
    pub send_errors: u64,
    /// Baggage values truncated to the length limit.
    pub baggage_truncations: u64,
    /// Baggage items refused because their key is not on the allow-list or
    /// is not a valid HTTP header name (see `Span::set_baggage_item`).
    pub baggage_rejected: u64,
    /// Extracted baggage items dropped: beyond the item and byte caps, or
    /// (text formats) with a key no header can carry.
    pub baggage_items_dropped: u64,
    /// Baggage items set on spans (`baggage_updates{result=ok}`; refusals
    /// are `baggage_rejected`).
    pub baggage_updates: u64,
    /// Extracts that failed on a malformed context.
    pub span_context_decoding_errors: u64,
    /// Panics caught in span observers.
    pub observer_panics: u64,
    /// New traces started here, sampled.
    pub traces_started_sampled: u64,
    /// New traces started here, not sampled.
    pub traces_started_unsampled: u64,
    /// Traces joined from another process (a span started under an
    /// extracted context), sampled.
    pub traces_joined_sampled: u64,
    /// Traces joined from another process, not sampled.
    pub traces_joined_unsampled: u64,
    /// Spans started, sampled.
    pub spans_started_sampled: u64,
    /// Spans started, not sampled.
    pub spans_started_unsampled: u64,
    /// Unsampled spans finished (sampled ones are
    /// [`spans_finished`](MetricsSnapshot::spans_finished)).
    pub spans_finished_unsampled: u64,
    /// Remote sampler polls answered (`sampler_queries{result=ok}`).
    pub sampler_queries_ok: u64,
    /// Remote sampler polls failed (`sampler_queries{result=err}`).
    pub sampler_queries_err: u64,
    /// Remote strategies applied (`sampler_updates{result=ok}`).
    pub sampler_updates_ok: u64,
    /// Remote strategies rejected (`sampler_updates{result=err}`).
    pub sampler_updates_err: u64,
}

impl MetricsSnapshot {
    /// All sampled spans finished so far: the sum of every outcome.
    pub fn spans_finished(&self) -> u64 {
        self.spans_reported
            + self.spans_dropped_queue_full
            + self.spans_dropped_too_large
            + self.spans_dropped_closed
            + self.spans_failed_to_send
            + self.spans_queued
    }

    /// All spans lost, whatever the reason.
    pub fn spans_lost(&self) -> u64 {
        self.spans_dropped_queue_full
            + self.spans_dropped_too_large
            + self.spans_dropped_closed
            + self.spans_failed_to_send
    }
}

/// Publishes a snapshot through the `metrics` facade (feature `metrics`),
/// with the names of the Go client under the `jaeger_tracer_` prefix.
/// Counters are set to their absolute values, so publishing is idempotent.
#[cfg(feature = "metrics")]
pub(crate) fn publish(m: &MetricsSnapshot) {
    use metrics::{counter, gauge};
    let c = |name: &'static str, labels: &[(&'static str, &'static str)], v: u64| {
        let labels: Vec<metrics::Label> = labels
            .iter()
            .map(|(k, v)| metrics::Label::new(*k, *v))
            .collect();
        counter!(name, labels).absolute(v);
    };
    c(
        "jaeger_tracer_traces",
        &[("state", "started"), ("sampled", "y")],
        m.traces_started_sampled,
    );
    c(
        "jaeger_tracer_traces",
        &[("state", "started"), ("sampled", "n")],
        m.traces_started_unsampled,
    );
    c(
        "jaeger_tracer_traces",
        &[("state", "joined"), ("sampled", "y")],
        m.traces_joined_sampled,
    );
    c(
        "jaeger_tracer_traces",
        &[("state", "joined"), ("sampled", "n")],
        m.traces_joined_unsampled,
    );
    c(
        "jaeger_tracer_started_spans",
        &[("sampled", "y")],
        m.spans_started_sampled,
    );
    c(
        "jaeger_tracer_started_spans",
        &[("sampled", "n")],
        m.spans_started_unsampled,
    );
    c(
        "jaeger_tracer_finished_spans",
        &[("sampled", "y")],
        m.spans_finished(),
    );
    c(
        "jaeger_tracer_finished_spans",
        &[("sampled", "n")],
        m.spans_finished_unsampled,
    );
    c(
        "jaeger_tracer_span_context_decoding_errors",
        &[],
        m.span_context_decoding_errors,
    );
    c(
        "jaeger_tracer_reporter_spans",
        &[("result", "ok")],
        m.spans_reported,
    );
    c(
        "jaeger_tracer_reporter_spans",
        &[("result", "err")],
        m.spans_failed_to_send,
    );
    c(
        "jaeger_tracer_reporter_spans",
        &[("result", "dropped")],
        m.spans_dropped_queue_full + m.spans_dropped_too_large + m.spans_dropped_closed,
    );
    c(
        "jaeger_tracer_dropped_spans",
        &[("reason", "queue_full")],
        m.spans_dropped_queue_full,
    );
    c(
        "jaeger_tracer_dropped_spans",
        &[("reason", "too_large")],
        m.spans_dropped_too_large,
    );
    c(
        "jaeger_tracer_dropped_spans",
        &[("reason", "closed")],
        m.spans_dropped_closed,
    );
    c("jaeger_tracer_trimmed_spans", &[], m.spans_trimmed);
    c("jaeger_tracer_batches_sent", &[], m.batches_sent);
    c("jaeger_tracer_bytes_sent", &[], m.bytes_sent);
    c("jaeger_tracer_send_errors", &[], m.send_errors);
    c(
        "jaeger_tracer_baggage_updates",
        &[("result", "ok")],
        m.baggage_updates,
    );
    c(
        "jaeger_tracer_baggage_updates",
        &[("result", "err")],
        m.baggage_rejected,
    );
    c(
        "jaeger_tracer_baggage_truncations",
        &[],
        m.baggage_truncations,
    );
    c(
        "jaeger_tracer_baggage_items_dropped",
        &[],
        m.baggage_items_dropped,
    );
    c("jaeger_tracer_observer_panics", &[], m.observer_panics);
    gauge!("jaeger_tracer_reporter_queue_length").set(m.spans_queued as f64);
}

/// Publishes the remote sampler's counters (feature `metrics`).
#[cfg(feature = "metrics")]
pub(crate) fn publish_sampler(s: &crate::sampler::RemoteSamplerStats) {
    use metrics::counter;
    counter!("jaeger_tracer_sampler_queries", "result" => "ok").absolute(s.queries_ok);
    counter!("jaeger_tracer_sampler_queries", "result" => "err").absolute(s.queries_err);
    counter!("jaeger_tracer_sampler_updates", "result" => "ok").absolute(s.updates_ok);
    counter!("jaeger_tracer_sampler_updates", "result" => "err").absolute(s.updates_err);
}
