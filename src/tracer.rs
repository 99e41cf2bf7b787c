//! The tracer: starts spans, injects and extracts contexts, and owns the
//! reporter.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::config::TracerBuilder;
use crate::error::Error;
use crate::metrics::MetricsSnapshot;
use crate::propagation::{binary, BaggageLimits, Extractor, Injector, Propagation};
use crate::reporter::{Reporter, SlotCache};
use crate::sampler::RemoteSampler;
use crate::sampler::Sampler;
use crate::span::{FinishedSpan, Span, SpanBuilder};
use crate::span_context::SpanContext;

/// Limits applied on the application side.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub(crate) max_baggage_value_len: usize,
    /// 0: no cap.
    pub(crate) max_logs_per_span: usize,
    pub(crate) extracted_baggage: BaggageLimits,
    /// When set, only these baggage keys may be set.
    pub(crate) baggage_allow_list: Option<Vec<String>>,
}

pub(crate) struct TracerInner {
    /// How spans find this tracer.
    pub(crate) id: TracerId,
    pub(crate) service_name: String,
    pub(crate) sampler: Box<dyn Sampler>,
    /// The sampler is a const sampler that samples nothing: new traces are
    /// unsampled without asking it.
    pub(crate) never_samples: bool,
    /// The sampler is a const sampler that samples everything: new traces
    /// are sampled, with its tags, without asking it.
    pub(crate) always_samples: bool,
    pub(crate) trace_id_128: bool,
    pub(crate) propagation: Vec<Propagation>,
    pub(crate) reporter: Reporter,
    pub(crate) limits: Limits,
    pub(crate) close_timeout: Duration,
    pub(crate) observers: Vec<Arc<dyn SpanObserver>>,
    /// The remote sampler, when there is one, for its counters.
    pub(crate) remote_sampler: Option<Arc<RemoteSampler>>,
}

/// The tracer a span belongs to, named rather than referenced.
///
/// A span that held the tracer by `Arc` would pay two locked instructions
/// (clone at start, drop at finish), a good part of an unsampled span's
/// cost. Instead each thread caches one strong reference per tracer it has
/// finished spans of, and a span finds its tracer there by id; a thread
/// that has not met the tracer yet looks it up once in the process-wide
/// registry (which holds weak references). The user's [`Tracer`] handles
/// decide the tracer's life: when the last one goes, the reporter is told to
/// send what it has and stop, as before; spans finishing after that are
/// counted as dropped (closed). Cached references are let go when a thread
/// next meets a new tracer, or when it exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TracerId(u32);

static NEXT_TRACER: AtomicU32 = AtomicU32::new(1);
static REGISTRY: Mutex<Vec<(TracerId, Weak<TracerInner>)>> = Mutex::new(Vec::new());

thread_local! {
    // With each tracer, this thread's slot in its reporter's queue.
    static CACHE: RefCell<Vec<(TracerId, Arc<TracerInner>, SlotCache)>> = const { RefCell::new(Vec::new()) };
}

impl TracerId {
    /// A new id. 32 bits: ids would repeat only after four billion
    /// tracers were made in one process.
    pub(crate) fn fresh() -> TracerId {
        TracerId(NEXT_TRACER.fetch_add(1, Ordering::Relaxed))
    }

    fn register(inner: &Arc<TracerInner>) {
        let mut registry = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
        registry.retain(|(_, w)| w.strong_count() > 0);
        registry.push((inner.id, Arc::downgrade(inner)));
    }

    fn lookup(self) -> Option<Arc<TracerInner>> {
        let registry = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
        registry
            .iter()
            .find(|(id, _)| *id == self)
            .and_then(|(_, w)| w.upgrade())
    }

    /// Runs `f` on this thread's cached reference, and its slot in the
    /// tracer's queue, if there is one (and the cache is not being changed
    /// further up this thread's stack).
    #[inline]
    fn cached<R>(self, f: impl FnOnce(&Arc<TracerInner>, &SlotCache) -> R) -> Result<R, ()> {
        let mut f = Some(f);
        CACHE
            .try_with(|cache| {
                // A shared borrow: `f` may finish spans of its own (an
                // observer), which borrow again.
                let cache = cache.try_borrow().ok()?;
                let (_, inner, slot) = cache.iter().find(|(id, _, _)| *id == self)?;
                f.take().map(|f| f(inner, slot))
            })
            .ok()
            .flatten()
            .ok_or(())
    }

    /// Runs `f` with the tracer, if it still exists.
    #[inline]
    pub(crate) fn with<R>(self, f: impl FnOnce(&TracerInner) -> R) -> Option<R> {
        self.with_slot(|inner, _| f(inner))
    }

    /// Runs `f` with the tracer and this thread's slot in its queue, if the
    /// tracer still exists.
    #[inline]
    pub(crate) fn with_slot<R>(self, f: impl FnOnce(&TracerInner, &SlotCache) -> R) -> Option<R> {
        let mut f = Some(f);
        if let Ok(r) = self.cached(|inner, slot| f.take().map(|f| f(inner, slot))) {
            return r;
        }
        self.with_slot_uncached(f?)
    }

    /// [`with_slot`](TracerId::with_slot) for a thread that has not met the
    /// tracer yet (or whose cache is busy further up its stack): kept out
    /// of the finish of every span.
    #[cold]
    #[inline(never)]
    fn with_slot_uncached<R>(self, f: impl FnOnce(&TracerInner, &SlotCache) -> R) -> Option<R> {
        let inner = self.lookup()?;
        let _ = CACHE.try_with(|cache| {
            if let Ok(mut cache) = cache.try_borrow_mut() {
                cache.retain(|(_, t, _)| !t.reporter.is_closed());
                cache.push((self, inner.clone(), SlotCache::default()));
            }
        });
        // (Its slot is found without the cache this once.)
        Some(f(&inner, &SlotCache::default()))
    }

    /// The cap of logs a span keeps (0: none).
    pub(crate) fn max_logs_per_span(self) -> usize {
        self.with(|t| t.limits.max_logs_per_span).unwrap_or(0)
    }

    /// Counts the end of an unsampled span of this tracer; true when the
    /// tracer has observers to tell.
    #[inline]
    pub(crate) fn finished_unsampled(self) -> bool {
        self.with(|t| {
            t.reporter
                .metrics()
                .spans
                .incr(crate::metrics::SpanEvent::FinishedUnsampled);
            !t.observers.is_empty()
        })
        .unwrap_or(false)
    }

    /// The tracer itself (for the rarer paths that keep it a while).
    pub(crate) fn get(self) -> Option<Arc<TracerInner>> {
        self.cached(|inner, _| Arc::clone(inner))
            .ok()
            .or_else(|| self.lookup())
    }
}

/// What the user's [`Tracer`] handles share: the last one to go closes the
/// tracer (without waiting).
struct Handle(Arc<TracerInner>);

impl Drop for Handle {
    fn drop(&mut self) {
        self.0.sampler.close();
        self.0.reporter.close_nowait();
    }
}

/// Callbacks on span start and finish, for users who derive their own
/// metrics (request counts, latency histograms) from spans.
///
/// Called on the application thread for every span, sampled or not, so they
/// must be cheap. An unsampled span carries no tags or logs. A panic in an
/// observer is caught, logged and counted (`MetricsSnapshot::observer_panics`);
/// it never reaches the span's caller.
pub trait SpanObserver: Send + Sync {
    /// A span started.
    fn on_start(&self, context: &SpanContext, operation_name: &str) {
        let _ = (context, operation_name);
    }

    /// A span finished.
    fn on_finish(&self, span: &FinishedSpan) {
        let _ = span;
    }
}

/// An observer shared with the caller (to read what it collected).
impl<O: SpanObserver + ?Sized> SpanObserver for Arc<O> {
    fn on_start(&self, context: &SpanContext, operation_name: &str) {
        (**self).on_start(context, operation_name);
    }

    fn on_finish(&self, span: &FinishedSpan) {
        (**self).on_finish(span);
    }
}

impl TracerInner {
    fn guard_observer(&self, call: impl FnOnce()) {
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)).is_err() {
            crate::metrics::Metrics::incr(&self.reporter.metrics().observer_panics);
            log::error!("jaeger: a span observer panicked; the panic was caught");
        }
    }

    pub(crate) fn notify_start(&self, ctx: &SpanContext, name: &str) {
        for o in &self.observers {
            self.guard_observer(|| o.on_start(ctx, name));
        }
    }

    pub(crate) fn notify_finish(&self, span: &FinishedSpan) {
        for o in &self.observers {
            self.guard_observer(|| o.on_finish(span));
        }
    }

    fn cap_extracted(&self, ctx: &mut SpanContext) {
        let dropped = self.limits.extracted_baggage.apply(ctx);
        if dropped > 0 {
            crate::metrics::Metrics::add(
                &self.reporter.metrics().baggage_items_dropped,
                dropped as u64,
            );
        }
    }
}

impl fmt::Debug for TracerInner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TracerInner")
            .field("service_name", &self.service_name)
            .field("sampler", &self.sampler)
            .field("trace_id_128", &self.trace_id_128)
            .field("propagation", &self.propagation)
            .finish_non_exhaustive()
    }
}

/// The tracer: a cheap handle (clone it freely) to the span factory and the
/// reporter behind it.
///
/// Made by [`Tracer::builder`] (or [`TracerBuilder::from_env`]); the no-op
/// tracer ([`Tracer::noop`]) records nothing and never fails.
///
/// Close it with [`Tracer::close`] (or by dropping the [`TracerGuard`]).
/// When the last handle is dropped without a close, the reporter is told to
/// send what it has and stop, without waiting; spans finished after that are
/// counted as dropped (closed).
///
/// ```no_run
/// use jaeger_tracer::Tracer;
/// # fn main() -> Result<(), jaeger_tracer::Error> {
/// let (tracer, _guard) = Tracer::builder("checkout").init()?;
/// let root = tracer.start("handle_request");
/// let child = tracer.span("load_cart").child_of(root.context()).start();
/// drop(child);
/// drop(root);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Tracer {
    inner: Option<Arc<Handle>>,
}

/// A reference to a tracer that keeps it from closing no more than it
/// keeps it alive: what a thread remembers of the global tracer.
pub(crate) struct WeakTracer(Option<std::sync::Weak<Handle>>);

impl WeakTracer {
    /// The no-op tracer's.
    pub(crate) const NOOP: WeakTracer = WeakTracer(None);

    /// The tracer, unless it is gone (the no-op tracer never is).
    #[inline]
    pub(crate) fn upgrade(&self) -> Option<Tracer> {
        match &self.0 {
            None => Some(Tracer::noop()),
            Some(weak) => weak.upgrade().map(|h| Tracer { inner: Some(h) }),
        }
    }
}

impl Tracer {
    /// A reference that does not keep this tracer alive.
    pub(crate) fn downgrade(&self) -> WeakTracer {
        WeakTracer(self.inner.as_ref().map(Arc::downgrade))
    }
}

impl fmt::Debug for Tracer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inner() {
            Some(inner) => fmt::Debug::fmt(inner, f),
            None => f.write_str("Tracer(noop)"),
        }
    }
}

impl Tracer {
    /// A builder for a tracer of the service `service_name`.
    pub fn builder(service_name: impl Into<String>) -> TracerBuilder {
        TracerBuilder::new(service_name)
    }

    /// The no-op tracer: spans record nothing, inject writes nothing,
    /// extract finds nothing, flush and close succeed.
    pub const fn noop() -> Tracer {
        Tracer { inner: None }
    }

    pub(crate) fn from_inner(inner: TracerInner) -> Tracer {
        let inner = Arc::new(inner);
        TracerId::register(&inner);
        Tracer {
            inner: Some(Arc::new(Handle(inner))),
        }
    }

    #[inline]
    pub(crate) fn inner(&self) -> Option<&Arc<TracerInner>> {
        self.inner.as_ref().map(|h| &h.0)
    }

    /// True for the no-op tracer.
    pub fn is_noop(&self) -> bool {
        self.inner.is_none()
    }

    /// The service name ("" for the no-op tracer).
    pub fn service_name(&self) -> &str {
        self.inner().map_or("", |i| &i.service_name)
    }

    /// A builder for a span named `operation_name`.
    #[inline]
    pub fn span(&self, operation_name: impl Into<Cow<'static, str>>) -> SpanBuilder<'_> {
        SpanBuilder::new(self, operation_name.into())
    }

    /// Starts a span named `operation_name`: a child of the active span if
    /// there is one, else the root of a new trace.
    #[inline(always)]
    pub fn start(&self, operation_name: impl Into<Cow<'static, str>>) -> Span {
        match self.inner() {
            Some(inner) => crate::span::start_default(inner, operation_name.into()),
            None => Span::noop(),
        }
    }

    /// Writes `ctx` into `carrier` in every configured format. An invalid
    /// (empty) context writes nothing.
    pub fn inject(&self, ctx: &SpanContext, carrier: &mut dyn Injector) {
        if let Some(inner) = self.inner() {
            for p in &inner.propagation {
                p.inject(ctx, carrier);
            }
        }
    }

    /// Reads a span context from `carrier`, trying the configured formats in
    /// order and taking the first one present.
    ///
    /// `Ok(None)` when the carrier holds no context. The result may be a
    /// partial context (baggage or a `jaeger-debug-id` without a trace).
    /// Baggage items beyond the caps, or whose key is not a valid header
    /// name (which no text inject could carry on), are left out and counted
    /// ([`MetricsSnapshot::baggage_items_dropped`]).
    ///
    /// # Errors
    ///
    /// A propagation error naming the header when a present header is
    /// malformed (and no later format yields a valid context).
    pub fn extract(&self, carrier: &dyn Extractor) -> Result<Option<SpanContext>, Error> {
        let Some(inner) = self.inner() else {
            return Ok(None);
        };
        // The first format with a real trace wins; a partial context
        // (baggage or a debug id without a trace) only when no format has
        // a trace, so a `baggage` header cannot hide a later trace header.
        let mut first_err = None;
        let mut partial = None;
        for p in &inner.propagation {
            match p.extract(carrier) {
                Ok(Some(mut ctx)) => {
                    inner.cap_extracted(&mut ctx);
                    if ctx.is_valid() {
                        return Ok(Some(ctx));
                    }
                    partial.get_or_insert(ctx);
                }
                Ok(None) => {}
                Err(e) => {
                    crate::metrics::Metrics::incr(&inner.reporter.metrics().decoding_errors);
                    first_err.get_or_insert(e);
                }
            }
        }
        match (partial, first_err) {
            (Some(ctx), _) => Ok(Some(ctx)),
            (None, Some(e)) => Err(e),
            (None, None) => Ok(None),
        }
    }

    /// Writes `ctx` in the Jaeger binary format (big-endian ids, flags,
    /// counted baggage). The no-op tracer writes nothing.
    ///
    /// # Errors
    ///
    /// An I/O error from the writer.
    pub fn inject_binary(
        &self,
        ctx: &SpanContext,
        writer: &mut dyn std::io::Write,
    ) -> Result<(), Error> {
        match self.inner() {
            Some(_) if ctx.is_valid() => binary::inject(ctx, writer),
            _ => Ok(()),
        }
    }

    /// Reads a context in the Jaeger binary format; `Ok(None)` for empty
    /// input (and always for the no-op tracer).
    ///
    /// # Errors
    ///
    /// A propagation error for malformed or truncated input, or baggage
    /// beyond the configured caps (items and bytes).
    pub fn extract_binary(
        &self,
        reader: &mut dyn std::io::Read,
    ) -> Result<Option<SpanContext>, Error> {
        match self.inner() {
            Some(inner) => binary::extract(reader, inner.limits.extracted_baggage),
            None => Ok(None),
        }
    }

    /// Sends every span finished so far and waits until it is handed to the
    /// transport, at most the close timeout (default 5 s).
    ///
    /// # Errors
    ///
    /// A timeout error when the deadline passes, a closed error after
    /// [`close`](Tracer::close).
    pub fn flush(&self) -> Result<(), Error> {
        match self.inner() {
            Some(inner) => inner.reporter.flush(inner.close_timeout),
            None => Ok(()),
        }
    }

    /// Stops accepting spans (later ones are counted as dropped-closed),
    /// sends everything accepted and stops the reporter, waiting at most the
    /// close timeout. Closing again returns at once.
    ///
    /// # Errors
    ///
    /// A timeout error when the reporter did not finish in time; what it had
    /// not sent is counted as still queued.
    pub fn close(&self) -> Result<(), Error> {
        match self.inner() {
            Some(inner) => {
                inner.sampler.close();
                inner.reporter.close(inner.close_timeout)
            }
            None => Ok(()),
        }
    }

    /// The tracer's counters (all zero for the no-op tracer).
    pub fn metrics(&self) -> MetricsSnapshot {
        let Some(inner) = self.inner() else {
            return MetricsSnapshot::default();
        };
        let mut m = inner.reporter.snapshot();
        if let Some(r) = &inner.remote_sampler {
            let s = r.stats();
            m.sampler_queries_ok = s.queries_ok;
            m.sampler_queries_err = s.queries_err;
            m.sampler_updates_ok = s.updates_ok;
            m.sampler_updates_err = s.updates_err;
        }
        m
    }
}

impl Default for Tracer {
    /// The no-op tracer.
    fn default() -> Self {
        Tracer::noop()
    }
}

/// Closes the tracer when dropped: everything already finished is sent,
/// waiting at most the close timeout. Keep it alive in `main`.
#[must_use = "dropping the guard closes the tracer at once"]
#[derive(Debug)]
pub struct TracerGuard {
    tracer: Tracer,
}

impl TracerGuard {
    pub(crate) fn new(tracer: Tracer) -> Self {
        TracerGuard { tracer }
    }

    /// Closes the tracer now and reports how it went (dropping the guard
    /// does the same but can only log).
    ///
    /// # Errors
    ///
    /// As [`Tracer::close`].
    pub fn close(self) -> Result<(), Error> {
        self.tracer.close()
    }
}

impl Drop for TracerGuard {
    fn drop(&mut self) {
        // Errors were logged by the reporter; a drop cannot return them.
        let _ = self.tracer.close();
    }
}
