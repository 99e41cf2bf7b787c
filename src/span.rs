//! Spans: the timed, tagged units of work of a trace, and their builder.

use std::borrow::Cow;
use std::fmt;
use std::mem::ManuallyDrop;
use std::time::{Duration, SystemTime};

use crate::clock::{self, now_micros, system_time_micros};
use crate::ext;
use crate::id::{random_u64, SpanId, TraceId};
use crate::metrics::SpanEvent;
use crate::reporter::pool;
use crate::scope;
use crate::span_context::{Baggage, Flags, SpanContext};
use crate::tag::{LogFields, LogRecord, Tag, TagValue, Tags};
use crate::tracer::{Tracer, TracerId, TracerInner};

/// The tag that forces a sampling decision: an integer > 0 makes the trace
/// sampled and debug, 0 makes it unsampled; any other value (a negative
/// number, a string, a float) is an ordinary tag.
pub const SAMPLING_PRIORITY: &str = "sampling.priority";

/// The tag put on the root span of a trace started by a `jaeger-debug-id`.
pub const DEBUG_ID_TAG: &str = "jaeger-debug-id";

/// How a span relates to a span it references.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReferenceType {
    /// The referenced span depends on this one's result (a call and its caller).
    ChildOf,
    /// The referenced span caused this one but does not wait for it (a queued job).
    FollowsFrom,
}

/// A reference from a new span to an existing span context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    kind: ReferenceType,
    context: SpanContext,
}

impl Reference {
    /// A `ChildOf` reference to `context`.
    pub fn child_of(context: SpanContext) -> Self {
        Reference {
            kind: ReferenceType::ChildOf,
            context,
        }
    }

    /// A `FollowsFrom` reference to `context`.
    pub fn follows_from(context: SpanContext) -> Self {
        Reference {
            kind: ReferenceType::FollowsFrom,
            context,
        }
    }

    /// The kind of reference.
    pub fn kind(&self) -> ReferenceType {
        self.kind
    }

    /// The referenced context.
    pub fn context(&self) -> &SpanContext {
        &self.context
    }
}

/// A reference as sent on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WireRef {
    pub(crate) kind: ReferenceType,
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
}

/// A finished span, as reported: what [span observers](crate::SpanObserver)
/// receive and what the in-memory reporter (feature `testing`) keeps.
// Laid out in this order (`repr(C)`), its tags last and their inline slots
// last of all: the usual span, with two tags, writes only the record's
// first `pool::USUAL_BYTES` bytes, and inline slots it does not use are
// neither touched nor copied into a block, by either thread.
#[derive(Debug, Clone)]
#[repr(C)]
pub struct FinishedSpan {
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    pub(crate) parent_id: SpanId,
    pub(crate) operation_name: Cow<'static, str>,
    /// Empty when the only reference is the `ChildOf` named by `parent_id`.
    pub(crate) references: Thin<WireRef>,
    /// The start and the end, as [`clock::stamp`]s (the end is 0 until
    /// the span finishes); [`times`](FinishedSpan::times) converts them.
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) logs: Thin<LogRecord>,
    pub(crate) flags: Flags,
    /// Started without a local parent: its end closes this process's segment
    /// of the trace.
    pub(crate) local_root: bool,
    /// The first tags in the record itself (no allocation for them), the
    /// others in slots of their own.
    pub(crate) tags: Tags,
}

/// The reporter's name for a finished span.
pub(crate) type SpanData = FinishedSpan;

impl FinishedSpan {
    /// The trace id.
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// The span id.
    pub fn span_id(&self) -> SpanId {
        self.span_id
    }

    /// The parent span id (zero for a root).
    pub fn parent_id(&self) -> SpanId {
        self.parent_id
    }

    /// The flags at finish.
    pub fn flags(&self) -> Flags {
        self.flags
    }

    /// The operation name.
    pub fn operation_name(&self) -> &str {
        &self.operation_name
    }

    /// References beyond the parent: `(kind, trace id, span id)`.
    pub fn references(&self) -> impl Iterator<Item = (ReferenceType, TraceId, SpanId)> + '_ {
        self.references
            .iter()
            .map(|r| (r.kind, r.trace_id, r.span_id))
    }

    /// The start time.
    pub fn start_time(&self) -> SystemTime {
        std::time::UNIX_EPOCH + Duration::from_micros(self.times().0)
    }

    /// The duration (microsecond precision).
    pub fn duration(&self) -> Duration {
        Duration::from_micros(self.times().1)
    }

    /// Start (µs since the Unix epoch) and duration (µs), as reported.
    pub(crate) fn times(&self) -> (u64, u64) {
        let start = clock::micros(self.start);
        (start, clock::micros(self.end).saturating_sub(start))
    }

    /// The tags, in the order they were set (empty for an unsampled span,
    /// which records none).
    pub fn tags(&self) -> impl Iterator<Item = (&str, &TagValue)> {
        self.tags.iter().map(|t| (t.key.as_ref(), &t.value))
    }

    /// The last value set for tag `key`.
    pub fn tag(&self, key: &str) -> Option<&TagValue> {
        self.tags
            .iter()
            .rev()
            .find(|t| t.key == key)
            .map(|t| &t.value)
    }

    /// The logs: timestamp and fields.
    pub fn logs(&self) -> impl Iterator<Item = (SystemTime, Vec<(&str, &TagValue)>)> {
        self.logs.iter().map(|l| {
            (
                std::time::UNIX_EPOCH + Duration::from_micros(l.timestamp_us),
                l.fields
                    .iter()
                    .map(|f| (f.key.as_ref(), &f.value))
                    .collect(),
            )
        })
    }
}

enum State {
    /// Sampled and not yet finished: everything is recorded.
    Recording {
        tracer: TracerId,
        data: Box<SpanData>,
    },
    /// Not sampled: nothing is recorded, but `sampling.priority` may still
    /// turn it into a recording span.
    Unsampled {
        tracer: TracerId,
        name: Cow<'static, str>,
        local_root: bool,
        /// A root whose sampler decision was not final: a new operation
        /// name asks the sampler again.
        reconsider: bool,
        /// Start time, kept only when it may be needed (for observers, or
        /// for a decision that may still change); otherwise 0.
        start_us: u64,
    },
    Finished,
}

/// A span: one named, timed operation of a trace.
///
/// Tags, logs and baggage are recorded until [`finish`](Span::finish);
/// dropping an unfinished span finishes it. Finishing more than once reports
/// the span once. An unsampled span records nothing and costs no allocation,
/// but its context still propagates the trace.
///
/// ```
/// use jaeger_tracer::Tracer;
/// let tracer = Tracer::noop();
/// let mut span = tracer.span("get_user").with_tag("user.id", 42).start();
/// span.set_tag("cache.hit", false);
/// span.log(|f| {
///     f.event("lookup").field("rows", 1);
/// });
/// span.finish();
/// ```
pub struct Span {
    /// `None` for a span of the no-op tracer: making and dropping one
    /// writes and reads a single tag. Dropped by hand (see `Drop`): the
    /// usual span holds nothing to free by then, and is let go without
    /// a look at its parts.
    live: ManuallyDrop<Option<Live>>,
}

/// A span of a real tracer.
struct Live {
    ctx: SpanContext,
    state: State,
}

/// What the no-op tracer's spans show as their context.
static EMPTY_CONTEXT: SpanContext = SpanContext::empty();

/// The priority a `sampling.priority` tag's value asks for: an integer
/// greater than 0 (sample, as debug) or 0 (do not sample). Any other value
/// (a negative number, which OpenTracing gives no meaning, a string, a
/// float) asks for nothing: the tag is then an ordinary one.
fn priority(value: &TagValue) -> Option<i64> {
    value.as_i64().filter(|p| *p >= 0)
}

/// Event of the log that stands for the logs a span dropped over its cap.
const DROPPED_LOGS_EVENT: &str = "dropped Span logs";
/// Its field counting them.
const DROPPED_LOG_COUNT: &str = "dropped_log_count";

/// Adds `record` to `logs`, which hold `max` logs already (the cap of
/// [`TracerBuilder::with_max_logs_per_span`](crate::TracerBuilder::with_max_logs_per_span)):
/// the oldest `max / 2` stay; a log at index `max / 2` counts the dropped
/// ones; the newest `max - max / 2` are kept after it in a ring, its oldest
/// one overwritten each time, put back in order by
/// [`order_logs_over_cap`] when the span finishes.
#[cold]
fn log_over_cap(logs: &mut Thin<LogRecord>, max: usize, record: LogRecord) {
    let head = max / 2;
    let ring = max - head;
    let all = logs.as_mut_slice();
    if all.len() == max {
        // The first log over the cap: the oldest of the newer half goes,
        // and the count takes its place (at its time).
        let marker = LogRecord {
            timestamp_us: all[head].timestamp_us,
            fields: vec![
                Tag::new("event", DROPPED_LOGS_EVENT),
                Tag::new(DROPPED_LOG_COUNT, 1i64),
            ],
        };
        all[head] = marker;
        logs.push(record);
        return;
    }
    let dropped = match all[head].fields.get_mut(1).map(|t| &mut t.value) {
        Some(TagValue::I64(n)) => {
            *n += 1;
            (*n - 1) as usize
        }
        _ => return,
    };
    // `dropped - 1` logs were overwritten in the ring before this one.
    all[head + 1 + (dropped - 1) % ring] = record;
}

/// Puts the ring of a span's newest logs (see [`log_over_cap`]) back in
/// order before the span is reported.
fn order_logs_over_cap(logs: &mut Thin<LogRecord>, max: usize) {
    let head = max / 2;
    let ring = max - head;
    let all = logs.as_mut_slice();
    if all.len() != max + 1 {
        return;
    }
    if let Some(TagValue::I64(n)) = all[head].fields.get(1).map(|t| &t.value) {
        let overwritten = (*n as usize - 1) % ring;
        all[head + 1..].rotate_left(overwritten);
    }
}

impl Live {
    fn set_operation_name(&mut self, name: impl Into<Cow<'static, str>>) -> &mut Self {
        match &mut self.state {
            State::Recording { data, .. } => data.operation_name = name.into(),
            State::Unsampled {
                name: n,
                reconsider,
                tracer,
                start_us,
                ..
            } => {
                *n = name.into();
                if *reconsider {
                    let Some(tracer) = tracer.get() else {
                        return self;
                    };
                    let decision = tracer.sampler.should_sample(self.ctx.trace_id(), n);
                    if decision.sampled {
                        let start = if *start_us == 0 {
                            now_micros()
                        } else {
                            *start_us
                        };
                        self.upsample(Flags::SAMPLED, start);
                        if let State::Recording { data, .. } = &mut self.state {
                            data.tags
                                .push(Tag::new("sampler.type", decision.sampler_type));
                            data.tags.push(Tag::new("sampler.param", decision.param));
                        }
                    } else if decision.is_final {
                        *reconsider = false;
                    }
                }
            }
            State::Finished => {}
        }
        self
    }

    /// The tag `key` ([`SAMPLING_PRIORITY`]) set to `value`: an integer > 0
    /// makes the span sampled and debug (an unsampled one starts recording
    /// now), 0 unsamples it; a recording span keeps the tag, and records
    /// any other value as an ordinary one. (Every other
    /// tag is handled in [`Span::set_tag`] itself.)
    #[inline(never)]
    fn set_priority_tag(&mut self, key: Cow<'static, str>, value: TagValue) {
        match &mut self.state {
            State::Recording { data, .. } => {
                match priority(&value) {
                    Some(0) => {
                        self.unsample();
                        return;
                    }
                    Some(_) => {
                        let flags = self.ctx.flags().with(Flags::SAMPLED).with(Flags::DEBUG);
                        self.ctx.set_flags(flags);
                        data.flags = flags;
                    }
                    None => {}
                }
                data.tags.push(Tag { key, value });
            }
            State::Unsampled { .. } => {
                if matches!(priority(&value), Some(p) if p > 0) {
                    self.upsample(Flags::SAMPLED.with(Flags::DEBUG), now_micros());
                    if let State::Recording { data, .. } = &mut self.state {
                        data.tags.push(Tag { key, value });
                    }
                }
            }
            State::Finished => {}
        }
    }

    fn unsample(&mut self) {
        if let State::Recording { tracer, data } =
            std::mem::replace(&mut self.state, State::Finished)
        {
            let flags = self
                .ctx
                .flags()
                .without(Flags::SAMPLED)
                .without(Flags::DEBUG);
            self.ctx.set_flags(flags);
            self.state = State::Unsampled {
                tracer,
                name: data.operation_name,
                local_root: data.local_root,
                reconsider: false,
                start_us: clock::micros(data.start),
            };
        }
    }

    /// Turns an unsampled span into a recording one that started at
    /// `start_us`, with `add` set in its flags.
    fn upsample(&mut self, add: Flags, start_us: u64) {
        if let State::Unsampled {
            tracer,
            name,
            local_root,
            ..
        } = std::mem::replace(&mut self.state, State::Finished)
        {
            let flags = self.ctx.flags().with(add);
            self.ctx.set_flags(flags);
            let data = Box::new(SpanData {
                trace_id: self.ctx.trace_id(),
                span_id: self.ctx.span_id(),
                parent_id: self.ctx.parent_id(),
                flags,
                operation_name: name,
                references: Thin::default(),
                start: start_us,
                end: 0,
                tags: Tags::new(),
                logs: Thin::default(),
                local_root,
            });
            self.state = State::Recording { tracer, data };
        }
    }

    fn log(&mut self, fields: impl FnOnce(&mut LogFields<'_>)) -> &mut Self {
        if let State::Recording { .. } = self.state {
            self.log_at_micros(now_micros(), fields);
        }
        self
    }

    fn log_at(
        &mut self,
        timestamp: SystemTime,
        fields: impl FnOnce(&mut LogFields<'_>),
    ) -> &mut Self {
        self.log_at_micros(system_time_micros(timestamp), fields);
        self
    }

    fn log_at_micros(&mut self, timestamp_us: u64, fields: impl FnOnce(&mut LogFields<'_>)) {
        if let State::Recording { data, tracer } = &mut self.state {
            let mut record = LogRecord {
                timestamp_us,
                fields: Vec::new(),
            };
            fields(&mut LogFields::new(&mut record.fields));
            // (The first log never meets the cap: no lookup for it.)
            let max = if data.logs.is_empty() {
                0
            } else {
                tracer.max_logs_per_span()
            };
            if max != 0 && data.logs.len() >= max {
                log_over_cap(&mut data.logs, max, record);
            } else {
                data.logs.push(record);
            }
        }
    }

    fn set_baggage_item(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        let tracer = match &self.state {
            State::Recording { tracer, .. } | State::Unsampled { tracer, .. } => tracer.get(),
            State::Finished => return self,
        };
        let Some(tracer) = tracer else {
            return self;
        };
        let key = key.into();
        // Refused and counted: a key no header name can hold (baggage is
        // carried in header names, `uberctx-{key}`, `baggage-{key}`, the
        // W3C `baggage` list, so it would be dropped unseen at the first
        // inject), or one the allow-list does not name.
        let why = if !crate::propagation::is_token(&key) {
            Some("is not an HTTP header token")
        } else if matches!(&tracer.limits.baggage_allow_list, Some(a) if !a.contains(&key)) {
            Some("is not on the allow-list")
        } else {
            None
        };
        if let Some(why) = why {
            log::debug!("jaeger: baggage key {key:?} {why}; refused");
            crate::metrics::Metrics::add(&tracer.reporter.metrics().baggage_rejected, 1);
            return self;
        }
        let mut value = value.into();
        let max = tracer.limits.max_baggage_value_len;
        if value.len() > max {
            let mut end = max;
            while !value.is_char_boundary(end) {
                end -= 1;
            }
            value.truncate(end);
            tracer.reporter.metrics().baggage_truncated();
        }
        if let State::Recording { .. } = self.state {
            let (k, v) = (key.clone(), value.clone());
            self.log(|f| {
                f.event("baggage").field("key", k).field("value", v);
            });
        }
        crate::metrics::Metrics::incr(&tracer.reporter.metrics().baggage_updates);
        self.ctx.baggage_mut().set(key, value);
        scope::refresh_if_current(&self.ctx);
        self
    }

    #[inline(always)]
    fn finish_micros(&mut self, end: Option<u64>) {
        if let State::Unsampled { tracer, .. } = self.state {
            // Counted; shown to observers when there are any. The usual
            // case touches nothing else.
            if tracer.finished_unsampled() {
                self.notify_unsampled_finish(tracer, end);
            }
            self.state = State::Finished;
            return;
        }
        if let State::Recording { tracer, mut data } =
            std::mem::replace(&mut self.state, State::Finished)
        {
            // Converted off this thread (see `clock::stamp`).
            data.end = end.unwrap_or_else(clock::stamp);
            tracer.with_slot(|t, slot| {
                if t.limits.max_logs_per_span != 0 && !data.logs.is_empty() {
                    order_logs_over_cap(&mut data.logs, t.limits.max_logs_per_span);
                }
                if !t.observers.is_empty() {
                    t.notify_finish(&data);
                }
                t.reporter.report(slot, data);
            });
        }
    }

    #[cold]
    fn notify_unsampled_finish(&mut self, tracer: TracerId, end: Option<u64>) {
        let State::Unsampled {
            name,
            start_us,
            local_root,
            ..
        } = std::mem::replace(&mut self.state, State::Finished)
        else {
            return;
        };
        let ctx = &self.ctx;
        let end = end.unwrap_or_else(now_micros);
        let view = FinishedSpan {
            trace_id: ctx.trace_id(),
            span_id: ctx.span_id(),
            parent_id: ctx.parent_id(),
            flags: ctx.flags(),
            operation_name: name,
            references: Thin::default(),
            start: start_us,
            end,
            tags: Tags::new(),
            logs: Thin::default(),
            local_root,
        };
        tracer.with(|t| t.notify_finish(&view));
    }
}

impl Span {
    /// A span that records nothing (what the no-op tracer makes).
    #[inline]
    pub const fn noop() -> Span {
        Span {
            live: ManuallyDrop::new(None),
        }
    }

    /// This span's context: ids, flags and baggage, for children and for
    /// injection into a carrier.
    #[inline]
    pub fn context(&self) -> &SpanContext {
        match &*self.live {
            Some(live) => &live.ctx,
            None => &EMPTY_CONTEXT,
        }
    }

    /// True while the span is sampled and unfinished, that is while tags and
    /// logs are being recorded.
    pub fn is_recording(&self) -> bool {
        matches!(
            *self.live,
            Some(Live {
                state: State::Recording { .. },
                ..
            })
        )
    }

    /// Renames the operation.
    pub fn set_operation_name(&mut self, name: impl Into<Cow<'static, str>>) -> &mut Self {
        if let Some(live) = &mut *self.live {
            live.set_operation_name(name);
        }
        self
    }

    /// Sets a tag (replacing nothing: Jaeger keeps repeated keys).
    ///
    /// The tag [`SAMPLING_PRIORITY`] with an integer value changes the
    /// sampling decision of this span and of the spans started from it
    /// afterwards: > 0 makes it sampled and debug (recording starts now), 0
    /// makes it unsampled (nothing of it is reported). Any other value is
    /// an ordinary tag.
    #[inline(always)]
    pub fn set_tag(
        &mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<TagValue>,
    ) -> &mut Self {
        // The usual tag is appended right here, in the caller: a literal key
        // and value are then stored straight into their place. (Passed on
        // to a function, they would be made in a temporary and copied with
        // wide loads of the narrow stores just made, a store-forwarding
        // stall.) An unsampled or finished span ignores the tag; only
        // `sampling.priority` goes out of line.
        if let Some(live) = &mut *self.live {
            let key = key.into();
            if key == SAMPLING_PRIORITY {
                live.set_priority_tag(key, value.into());
            } else if let State::Recording { data, .. } = &mut live.state {
                data.tags.push_parts(key, value.into());
            }
        }
        self
    }

    /// Records a log with the current time. The closure fills in the fields
    /// and only runs when the span is recording.
    pub fn log(&mut self, fields: impl FnOnce(&mut LogFields<'_>)) -> &mut Self {
        if let Some(live) = &mut *self.live {
            live.log(fields);
        }
        self
    }

    /// Records a log with an explicit timestamp.
    pub fn log_at(
        &mut self,
        timestamp: SystemTime,
        fields: impl FnOnce(&mut LogFields<'_>),
    ) -> &mut Self {
        if let Some(live) = &mut *self.live {
            live.log_at(timestamp, fields);
        }
        self
    }

    /// Sets a baggage item: it travels with this span's context to every
    /// span started from it afterwards, here and in other processes.
    ///
    /// Values longer than the tracer's limit (default 2048 bytes) are
    /// truncated; truncations are counted in the tracer's metrics. A key
    /// must be a valid HTTP header name (letters, digits and
    /// ``!#$%&'*+-.^_`|~``, not empty): baggage crosses processes in header
    /// names, so any other key is refused and counted
    /// ([`MetricsSnapshot::baggage_rejected`](crate::MetricsSnapshot::baggage_rejected)).
    /// With an allow-list ([`TracerBuilder::with_baggage_allow_list`](crate::TracerBuilder::with_baggage_allow_list))
    /// other keys are refused and counted too. A recording span also logs the
    /// item (`event=baggage`).
    pub fn set_baggage_item(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> &mut Self {
        if let Some(live) = &mut *self.live {
            live.set_baggage_item(key, value);
        }
        self
    }

    /// Marks the span as failed the OpenTracing way: the tag `error=true`
    /// and a log with `event=error`, `error.kind` (the error's type, when
    /// known at compile time), `message` (its `Display`), `error.object`
    /// (its `Debug`) and, when it has causes, `stack` (their messages, one
    /// per line). A span that is not recording formats nothing.
    ///
    /// ```
    /// use jaeger_tracer::Tracer;
    /// let tracer = Tracer::noop();
    /// let mut span = tracer.start("read config");
    /// if let Err(e) = std::fs::read("/no/such/file") {
    ///     span.set_error(&e);
    /// }
    /// ```
    pub fn set_error<E: std::error::Error + ?Sized>(&mut self, err: &E) -> &mut Self {
        if !self.is_recording() {
            return self;
        }
        let mut causes = String::new();
        let mut source = err.source();
        while let Some(cause) = source {
            if !causes.is_empty() {
                causes.push('\n');
            }
            causes.push_str(&cause.to_string());
            source = cause.source();
        }
        // (A trait object's type name says nothing about the error.)
        let kind = Some(std::any::type_name::<E>()).filter(|k| !k.starts_with("dyn "));
        self.set_tag(ext::ERROR, true);
        self.log(|f| {
            f.field(ext::EVENT, "error");
            if let Some(kind) = kind {
                f.field(ext::ERROR_KIND, kind);
            }
            f.field(ext::MESSAGE, err.to_string())
                .field(ext::ERROR_OBJECT, format!("{err:?}"));
            if !causes.is_empty() {
                f.field(ext::STACK, causes);
            }
        });
        self
    }

    /// Logs `event=cancelled` with `message` on a span still recording (the
    /// future it timed was dropped before completing); a finished span is
    /// left alone. Dropped by a panic unwinding, the span is marked failed
    /// instead: `error=true` and a log `event=error` saying so.
    pub(crate) fn log_cancelled(&mut self, message: &'static str) {
        if !self.is_recording() {
            return;
        }
        if std::thread::panicking() {
            self.set_tag(ext::ERROR, true);
            self.log(|f| {
                f.field(ext::EVENT, "error").field(
                    ext::MESSAGE,
                    "a panic unwound through this span's work before it completed",
                );
            });
        } else {
            self.log(|f| {
                f.field(ext::EVENT, "cancelled")
                    .field(ext::MESSAGE, message);
            });
        }
    }

    /// The value of a baggage item carried by this span's context.
    pub fn baggage_item(&self, key: &str) -> Option<&str> {
        self.context().baggage_item(key)
    }

    /// Adds a `FollowsFrom` reference to `cause` after the start (what a
    /// `tracing` span's `follows_from` asks for). A span that is not
    /// recording ignores it. A parent that was implicit (its id alone) is
    /// written out as a `ChildOf` reference first, so it stays the parent.
    #[cfg(feature = "tracing")]
    pub(crate) fn add_follows_from(&mut self, cause: &SpanContext) {
        let Some(Live {
            state: State::Recording { data, .. },
            ..
        }) = &mut *self.live
        else {
            return;
        };
        if !cause.is_valid() {
            return;
        }
        if data.references.is_empty() && data.parent_id.get() != 0 {
            let parent = WireRef {
                kind: ReferenceType::ChildOf,
                trace_id: data.trace_id,
                span_id: data.parent_id,
            };
            data.references.push(parent);
        }
        data.references.push(WireRef {
            kind: ReferenceType::FollowsFrom,
            trace_id: cause.trace_id(),
            span_id: cause.span_id(),
        });
    }

    /// Finishes the span now and hands it to the reporter. Later calls do
    /// nothing.
    pub fn finish(&mut self) {
        if let Some(live) = &mut *self.live {
            live.finish_micros(None);
        }
    }

    /// Finishes the span at an explicit time.
    pub fn finish_at(&mut self, end: SystemTime) {
        if let Some(live) = &mut *self.live {
            live.finish_micros(Some(system_time_micros(end)));
        }
    }
}

impl Drop for Span {
    #[inline]
    fn drop(&mut self) {
        // Spans of the no-op tracer and finished spans leave at once; an
        // unsampled span only counts its end.
        let Some(live) = &mut *self.live else {
            return;
        };
        let name_owned = match &live.state {
            State::Finished => false,
            State::Unsampled { tracer, name, .. } => {
                let (tracer, owned) = (*tracer, matches!(name, Cow::Owned(_)));
                if tracer.finished_unsampled() {
                    live.notify_unsampled_finish(tracer, None);
                }
                owned
            }
            State::Recording { .. } => {
                live.finish_micros(None);
                false
            }
        };
        // The usual span holds nothing to free by now (its record went to
        // the reporter, its name is a literal, its context has no baggage):
        // its parts are not looked at. Otherwise they are dropped here;
        // `live` is never dropped by the compiler.
        if name_owned || !live.ctx.holds_nothing() {
            drop(self.live.take());
        }
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &*self.live {
            None => "noop",
            Some(live) => match live.state {
                State::Recording { .. } => "recording",
                State::Unsampled { .. } => "unsampled",
                State::Finished => "finished",
            },
        };
        f.debug_struct("Span")
            .field("context", self.context())
            .field("state", &state)
            .finish()
    }
}

/// Builds a span: references, start time and initial tags, then
/// [`start`](SpanBuilder::start).
///
/// Without any reference, the span becomes a child of the thread's active
/// span (see [`scope`](crate::scope)) unless
/// [`ignore_active`](SpanBuilder::ignore_active) is set.
#[must_use = "a span builder does nothing until `start` is called"]
pub struct SpanBuilder<'t> {
    tracer: &'t Tracer,
    name: Cow<'static, str>,
    /// The usual single parent, when it came first: lent, not copied.
    parent: Option<&'t SpanContext>,
    /// The other references, in order.
    references: Thin<Reference>,
    start_us: Option<u64>,
    /// The initial tags, in order.
    tags: Thin<Tag>,
    ignore_active: bool,
}

/// A list that is usually empty, one word wide: a builder's (references
/// besides its lent parent, initial tags), so that moving the usual
/// builder, which has neither, copies no partly written vector (a wide
/// load of the narrow stores just made would stall on store forwarding);
/// and a span record's references, logs and tags beyond its inline ones,
/// so that the part of the record the usual span fills, its two tags
/// inside, is three and a half cache lines' worth of bytes (each line a
/// span fills is copied into a block, which makes the round trip to the
/// reporter thread's core).
// (The extra allocation is the point: one word where a vector is three.)
#[allow(clippy::box_collection)]
#[derive(Clone)]
pub(crate) struct Thin<T>(Option<Box<Vec<T>>>);

impl<T> Default for Thin<T> {
    fn default() -> Self {
        Thin::new()
    }
}

impl<T> From<Vec<T>> for Thin<T> {
    /// Takes `v` over; an unallocated vector makes no box.
    fn from(v: Vec<T>) -> Self {
        Thin((v.capacity() != 0).then(|| Box::new(v)))
    }
}

impl<T> std::ops::Deref for Thin<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }
}

impl<'a, T> IntoIterator for &'a Thin<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T> Thin<T> {
    /// No items, no box.
    pub(crate) const fn new() -> Self {
        Thin(None)
    }

    /// Room for items without allocating (none without a box).
    pub(crate) fn capacity(&self) -> usize {
        self.0.as_ref().map_or(0, |v| v.capacity())
    }

    /// The heap memory this list holds: its box and its room.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.0.as_ref().map_or(0, |v| {
            std::mem::size_of::<Vec<T>>() + v.capacity() * std::mem::size_of::<T>()
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|v| v.is_empty())
    }

    pub(crate) fn push(&mut self, item: T) {
        self.0.get_or_insert_with(Box::default).push(item);
    }

    /// The items, to change in place.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [T] {
        self.0.as_deref_mut().map_or(&mut [], Vec::as_mut_slice)
    }

    /// This list with `make(context)` pushed, out of line and by value:
    /// nothing of a builder is lent, so it all stays in registers.
    #[cold]
    #[inline(never)]
    fn pushed(mut self, make: fn(SpanContext) -> T, context: &SpanContext) -> Self {
        self.push(make(context.clone()));
        self
    }

    fn into_vec(self) -> Vec<T> {
        self.0.map(|v| *v).unwrap_or_default()
    }
}

impl<T: fmt::Debug> fmt::Debug for Thin<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let none: &[T] = &[];
        f.debug_list()
            .entries(self.0.as_deref().map_or(none, |v| v.as_slice()))
            .finish()
    }
}

impl fmt::Debug for SpanBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpanBuilder")
            .field("name", &self.name)
            .field("parent", &self.parent)
            .field("references", &self.references)
            .field("start_us", &self.start_us)
            .field("tags", &self.tags)
            .field("ignore_active", &self.ignore_active)
            .finish()
    }
}

impl<'t> SpanBuilder<'t> {
    #[inline]
    pub(crate) fn new(tracer: &'t Tracer, name: Cow<'static, str>) -> Self {
        SpanBuilder {
            tracer,
            name,
            parent: None,
            references: Thin(None),
            start_us: None,
            tags: Thin(None),
            ignore_active: false,
        }
    }

    /// Adds a `ChildOf` reference to `parent`.
    ///
    /// The builder borrows `parent` until [`start`](SpanBuilder::start)
    /// (the usual single parent is not copied).
    #[inline(always)]
    pub fn child_of(mut self, parent: &'t SpanContext) -> Self {
        if self.parent.is_none() && self.references.is_empty() && parent.is_valid() {
            self.parent = Some(parent);
        } else {
            self.references = Thin(self.references.0.take()).pushed(Reference::child_of, parent);
        }
        self
    }

    /// Adds a `FollowsFrom` reference to `cause`.
    #[inline]
    pub fn follows_from(mut self, cause: &SpanContext) -> Self {
        self.references.push(Reference::follows_from(cause.clone()));
        self
    }

    /// Adds a reference.
    #[inline]
    pub fn with_reference(mut self, reference: Reference) -> Self {
        self.references.push(reference);
        self
    }

    /// Sets an explicit start time (default: now).
    pub fn with_start_time(mut self, start: SystemTime) -> Self {
        self.start_us = Some(system_time_micros(start));
        self
    }

    /// Adds an initial tag. A [`SAMPLING_PRIORITY`] tag here (an integer,
    /// greater than 0 or 0) decides the sampling of a new trace before the
    /// sampler is asked.
    pub fn with_tag(
        mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<TagValue>,
    ) -> Self {
        self.tags.push(Tag::new(key, value));
        self
    }

    /// Does not make the span a child of the thread's active span.
    #[inline]
    pub fn ignore_active(mut self) -> Self {
        self.ignore_active = true;
        self
    }

    /// Starts the span.
    ///
    /// The parent is the first valid `ChildOf` reference, else the first
    /// valid `FollowsFrom`, else the active span. With a parent the span joins
    /// its trace and keeps its sampling decision; without one it starts a new
    /// trace and the sampler decides (or `sampling.priority`, or a
    /// `jaeger-debug-id` carried by a partial context). Baggage of every
    /// referenced context is inherited.
    #[inline(always)]
    pub fn start(self) -> Span {
        let SpanBuilder {
            tracer,
            name,
            parent,
            references,
            start_us,
            tags,
            ignore_active,
        } = self;
        // The usual child (its parent the one reference, no initial tag, no
        // explicit start) goes straight to its own function: the builder,
        // taken apart here in the caller, is not copied into a call and
        // read back there.
        if let (Some(parent), None, None, None) = (parent, &references.0, &tags.0, start_us) {
            return match tracer.inner() {
                Some(inner) => start_child(inner, name, parent),
                None => Span::noop(),
            };
        }
        start_general(
            tracer,
            name,
            parent,
            references,
            start_us,
            tags,
            ignore_active,
        )
    }
}

/// [`SpanBuilder::start`] for every builder but the usual child. It takes
/// the builder's parts, not the builder: a builder passed on whole was
/// written to memory on the usual child's path as well.
#[inline(never)]
fn start_general<'t>(
    tracer: &'t Tracer,
    name: Cow<'static, str>,
    parent: Option<&'t SpanContext>,
    references: Thin<Reference>,
    start_us: Option<u64>,
    mut tags: Thin<Tag>,
    ignore_active: bool,
) -> Span {
    let Some(inner) = tracer.inner() else {
        return Span::noop();
    };
    // The tags are lent, not moved. (The builder was just written by the
    // caller: a copy of a vector in it would stall on store forwarding,
    // hence its lists of one word each, see `Thin`.)
    match parent {
        Some(parent) if references.0.is_none() => open(
            inner,
            name,
            Some(parent),
            &[],
            None,
            tags.0.as_deref_mut(),
            start_us,
        ),
        // The parent first, then the others, as they were added.
        Some(parent) => {
            let more = references.into_vec();
            let mut all = Vec::with_capacity(more.len() + 1);
            all.push(Reference::child_of(parent.clone()));
            all.extend(more);
            start_span(
                inner,
                name,
                &all,
                start_us,
                &mut tags.into_vec(),
                ignore_active,
            )
        }
        None => start_span(
            inner,
            name,
            &references.into_vec(),
            start_us,
            &mut tags.into_vec(),
            ignore_active,
        ),
    }
}

/// Starts the usual child: of `parent`, with no initial tag or explicit
/// start time.
#[inline(never)]
fn start_child(inner: &TracerInner, name: Cow<'static, str>, parent: &SpanContext) -> Span {
    open(inner, name, Some(parent), &[], None, None, None)
}

/// Starts a span with no explicit reference, tag or start time, under the
/// active span if there is one: what [`Tracer::start`] does. The usual case,
/// kept free of the builder's moves and scans.
#[inline]
pub(crate) fn start_default(inner: &TracerInner, name: Cow<'static, str>) -> Span {
    let active = scope::current_context().filter(SpanContext::is_valid);
    open(inner, name, active.as_ref(), &[], None, None, None)
}

fn start_span(
    inner: &TracerInner,
    name: Cow<'static, str>,
    references: &[Reference],
    start_us: Option<u64>,
    tags: &mut Vec<Tag>,
    ignore_active: bool,
) -> Span {
    let parent_idx = references
        .iter()
        .position(|r| r.kind == ReferenceType::ChildOf && r.context.is_valid())
        .or_else(|| references.iter().position(|r| r.context.is_valid()));
    let active = if references.is_empty() && !ignore_active {
        scope::current_context().filter(SpanContext::is_valid)
    } else {
        None
    };
    let parent = parent_idx
        .map(|i| &references[i].context)
        .or(active.as_ref());
    open(
        inner,
        name,
        parent,
        references,
        parent_idx,
        Some(tags),
        start_us,
    )
}

/// The sampling decision a partial context among `references` carries
/// (B3's decision sent without ids), if any: the usual root has no
/// references and pays one test.
#[inline(always)]
fn upstream_decision(references: &[Reference]) -> Option<Flags> {
    if references.is_empty() {
        None
    } else {
        upstream_decision_among(references)
    }
}

/// Out of line, so that the span start inlined into its callers stays as
/// small as before (inlined, it pushed a thread-local access out of the
/// child's start: 21 instructions more a child span, callgrind).
#[cold]
#[inline(never)]
fn upstream_decision_among(references: &[Reference]) -> Option<Flags> {
    references
        .iter()
        .find_map(|r| r.context.upstream_decision())
}

/// Tags a new trace's root records, decided before it is known whether
/// the span records at all.
enum RootTags<'a> {
    None,
    /// Started by a `jaeger-debug-id`.
    DebugId(&'a str),
    /// The sampler's type and parameter.
    Sampler(&'static str, TagValue),
    /// The tags of the const sampler that samples everything (`const`,
    /// `true`), known without asking it.
    ConstTrue,
}

/// The span itself, once its parent is known (`parent_idx`: which of
/// `references` it is, if any). Inlined into both callers, so the default
/// start keeps none of the work for references and tags it does not have.
#[inline(always)]
fn open(
    inner: &TracerInner,
    name: Cow<'static, str>,
    parent: Option<&SpanContext>,
    references: &[Reference],
    parent_idx: Option<usize>,
    mut tags: Option<&mut Vec<Tag>>,
    start_us: Option<u64>,
) -> Span {
    let tracer = inner.id;
    let forced = tags
        .as_deref()
        .and_then(|t| t.iter().rev().find(|t| t.key == SAMPLING_PRIORITY))
        .and_then(|t| priority(&t.value));
    let mut reconsider = false;
    // Tags a new trace's root gets, added only if it records.
    // Without drop glue, so that the usual child, whose root tags are
    // known to be none, keeps nothing of them (with it, they were kept in
    // memory for the unwinding path and matched on every span). Every
    // variant but `Sampler` holds nothing to free, and `Sampler` comes
    // only with a sampled span, which consumes it below.
    let mut root_tags = ManuallyDrop::new(RootTags::None);
    let (trace_id, span_id, parent_id, mut flags, mut baggage, local_root) = match parent {
        Some(p) => (
            p.trace_id(),
            SpanId::new(random_u64()),
            p.span_id(),
            p.flags(),
            p.baggage().clone(),
            p.is_remote(),
        ),
        None => {
            let low = random_u64();
            let trace_id = if inner.trace_id_128 {
                TraceId::new(random_u64(), low)
            } else {
                TraceId::new(0, low)
            };
            let debug_id = references.iter().find_map(|r| r.context.debug_id());
            let flags = if let Some(id) = debug_id {
                root_tags = ManuallyDrop::new(RootTags::DebugId(id));
                Flags::SAMPLED.with(Flags::DEBUG)
            } else if let Some(decided) = upstream_decision(references) {
                // The caller's decision without a trace (B3): followed, as
                // a parent's would be (a `sampling.priority` tag still
                // overrides it, below).
                decided
            } else if forced.is_some() || inner.never_samples {
                // (A const "never" sampler is not asked: its answer is
                // known, final, and brings no tags.)
                Flags::default()
            } else if inner.always_samples {
                // (Nor is a const "always" sampler: its decision, copied
                // out right after the call, would be read with wide loads
                // of the narrow stores just made, a store-forwarding
                // stall.)
                root_tags = ManuallyDrop::new(RootTags::ConstTrue);
                Flags::SAMPLED
            } else {
                let decision = inner.sampler.should_sample(trace_id, &name);
                reconsider = !decision.sampled && !decision.is_final;
                if decision.sampled {
                    root_tags =
                        ManuallyDrop::new(RootTags::Sampler(decision.sampler_type, decision.param));
                    Flags::SAMPLED
                } else {
                    Flags::default()
                }
            };
            // A root's span id is its trace id's low half (as the other
            // Jaeger clients do): one random draw fewer, and just as unique
            // within the trace.
            (
                trace_id,
                SpanId::new(low),
                SpanId::new(0),
                flags,
                Baggage::default(),
                true,
            )
        }
    };
    for r in references.iter() {
        baggage.merge_missing(r.context.baggage());
    }
    match forced {
        Some(0) => flags = flags.without(Flags::SAMPLED).without(Flags::DEBUG),
        Some(_) => flags = flags.with(Flags::SAMPLED).with(Flags::DEBUG),
        None => {}
    }

    let rare = parent.and_then(SpanContext::rare_for_child);
    let sampled = flags.is_sampled();
    // (The sampler's tags, which may hold a string, go with the recording
    // span that consumes them.)
    debug_assert!(sampled || !matches!(*root_tags, RootTags::Sampler(..)));
    let event = match (parent.map(SpanContext::is_remote), sampled) {
        (None, true) => SpanEvent::RootSampled,
        (None, false) => SpanEvent::RootUnsampled,
        (Some(true), true) => SpanEvent::JoinedSampled,
        (Some(true), false) => SpanEvent::JoinedUnsampled,
        (Some(false), true) => SpanEvent::ChildSampled,
        (Some(false), false) => SpanEvent::ChildUnsampled,
    };
    inner.reporter.metrics().spans.incr(event);
    let observed = !inner.observers.is_empty();
    if !sampled && !observed {
        // The usual unsampled span, written straight into its place. (Every
        // part is computed first: a call inside the literal, after the
        // context, would make the context a temporary to drop should the
        // call unwind, copied afterwards with wide loads of the narrow
        // stores just made, a store-forwarding stall.)
        let start_us = if reconsider {
            start_us.unwrap_or_else(now_micros)
        } else {
            0
        };
        return Span {
            live: ManuallyDrop::new(Some(Live {
                ctx: SpanContext::from_parts(trace_id, span_id, parent_id, flags, baggage, rare),
                state: State::Unsampled {
                    tracer,
                    name,
                    local_root,
                    reconsider,
                    start_us,
                },
            })),
        };
    }
    let state = if sampled {
        let implicit_only = references.len() <= 1
            && parent_idx.is_none_or(|i| references[i].kind == ReferenceType::ChildOf);
        let wire_refs: Thin<WireRef> = if implicit_only {
            Thin::default()
        } else {
            references
                .iter()
                .filter(|r| r.context.is_valid())
                .map(|r| WireRef {
                    kind: r.kind,
                    trace_id: r.context.trace_id(),
                    span_id: r.context.span_id(),
                })
                .collect::<Vec<_>>()
                .into()
        };
        // Converted off this thread (see `clock::stamp`).
        let start = start_us.unwrap_or_else(clock::stamp);
        let mut data = match pool::take() {
            // A kept box comes empty: fill it in place.
            Some(mut data) => {
                data.trace_id = trace_id;
                data.span_id = span_id;
                data.parent_id = parent_id;
                data.flags = flags;
                // A kept box holds a borrowed name and no references (see
                // `Block::put`): nothing to free, so they are overwritten
                // without being read.
                debug_assert!(matches!(data.operation_name, Cow::Borrowed(_)));
                debug_assert!(data.references.capacity() == 0);
                std::mem::forget(std::mem::replace(&mut data.operation_name, name));
                std::mem::forget(std::mem::replace(&mut data.references, wire_refs));
                data.start = start;
                data.end = 0;
                if let Some(tags) = tags.as_deref_mut().filter(|t| !t.is_empty()) {
                    data.tags.extend(tags.drain(..));
                }
                data.local_root = local_root;
                data
            }
            None => Box::new(SpanData {
                trace_id,
                span_id,
                parent_id,
                flags,
                operation_name: name,
                references: wire_refs,
                start,
                end: 0,
                tags: Tags::from_vec(tags.map(std::mem::take).unwrap_or_default()),
                logs: Thin::default(),
                local_root,
            }),
        };
        // After the caller's tags, as the other clients order them. The
        // sampler's are written into their slots field by field (a `Tag`
        // built first would be copied with wide loads of the narrow stores
        // just made, a store-forwarding stall).
        match ManuallyDrop::into_inner(root_tags) {
            RootTags::None => {}
            RootTags::DebugId(id) => data.tags.push(Tag::new(DEBUG_ID_TAG, id.to_owned())),
            RootTags::ConstTrue => {
                data.tags.push_parts(
                    Cow::Borrowed("sampler.type"),
                    TagValue::String(Cow::Borrowed("const")),
                );
                data.tags
                    .push_parts(Cow::Borrowed("sampler.param"), TagValue::Bool(true));
            }
            RootTags::Sampler(kind, param) => {
                data.tags
                    .push_parts(Cow::Borrowed("sampler.type"), TagValue::from(kind));
                data.tags.push_parts(Cow::Borrowed("sampler.param"), param);
            }
        }
        State::Recording { tracer, data }
    } else {
        let keep_start = reconsider || observed;
        State::Unsampled {
            tracer,
            name,
            local_root,
            reconsider,
            start_us: if keep_start {
                start_us.unwrap_or_else(now_micros)
            } else {
                0
            },
        }
    };
    let ctx = SpanContext::from_parts(trace_id, span_id, parent_id, flags, baggage, rare);
    if observed {
        let span = Span {
            live: ManuallyDrop::new(Some(Live { ctx, state })),
        };
        span.notify_start(inner);
        return span;
    }
    // Built in one piece, in place: no call between the parts and the
    // return (`span` kept for a call would be built aside and copied).
    Span {
        live: ManuallyDrop::new(Some(Live { ctx, state })),
    }
}

impl Span {
    #[cold]
    fn notify_start(&self, inner: &TracerInner) {
        let name = match &*self.live {
            Some(Live {
                state: State::Recording { data, .. },
                ..
            }) => &data.operation_name,
            Some(Live {
                state: State::Unsampled { name, .. },
                ..
            }) => name,
            _ => return,
        };
        inner.notify_start(self.context(), name);
    }
}

#[cfg(test)]
mod size_tests {
    /// Spans move by value (returned from `start`, kept in scopes): kept
    /// small enough to be copied inline rather than through `memcpy`.
    #[test]
    fn span_and_context_stay_small() {
        assert!(std::mem::size_of::<crate::SpanContext>() <= 56);
        assert!(std::mem::size_of::<super::Span>() <= 96);
    }

    /// A span's record is copied into a block that makes the round trip to
    /// the reporter thread's core and back: the usual span, with two tags,
    /// fills three and a half lines' worth at most, and its unused inline
    /// tag slots come after all it fills.
    #[test]
    fn the_usual_span_fills_three_and_a_half_cache_lines_of_its_record() {
        use crate::tag::{Tag, Tags, INLINE};
        let usual = std::mem::offset_of!(super::SpanData, tags)
            + Tags::INLINE_OFFSET
            + 2 * std::mem::size_of::<Tag>();
        assert_eq!(usual, crate::reporter::pool::USUAL_BYTES);
        assert!(usual <= 224);
        assert_eq!(
            std::mem::size_of::<super::SpanData>(),
            usual + (INLINE - 2) * std::mem::size_of::<Tag>(),
            "the inline slots beyond the usual two are last"
        );
    }
}

#[cfg(test)]
mod log_cap_tests {
    use super::{log_over_cap, order_logs_over_cap, Thin};
    use crate::tag::{LogRecord, Tag, TagValue};

    fn log(i: i64) -> LogRecord {
        LogRecord {
            timestamp_us: i as u64,
            fields: vec![Tag::new("i", i)],
        }
    }

    /// Logs `n` records under a cap of `max` and reads them back as their
    /// `i`, the count of dropped ones as `-count`.
    fn capped(max: usize, n: i64) -> Vec<i64> {
        let mut logs = Thin::<LogRecord>::new();
        for i in 0..n {
            if logs.capacity() > 0 && logs.as_mut_slice().len() >= max {
                log_over_cap(&mut logs, max, log(i));
            } else {
                logs.push(log(i));
            }
        }
        order_logs_over_cap(&mut logs, max);
        logs.as_mut_slice()
            .iter()
            .map(|l| match (&l.fields[0].value, l.fields.get(1)) {
                (TagValue::I64(i), None) => *i,
                (
                    _,
                    Some(Tag {
                        value: TagValue::I64(n),
                        ..
                    }),
                ) => -n,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn the_smallest_caps_keep_the_newest_log_and_the_count() {
        assert_eq!(capped(1, 1), [0]);
        assert_eq!(capped(1, 2), [-1, 1]);
        assert_eq!(capped(1, 7), [-6, 6]);
        assert_eq!(capped(2, 5), [0, -3, 4]);
        assert_eq!(capped(3, 4), [0, -1, 2, 3]);
        assert_eq!(capped(3, 9), [0, -6, 7, 8]);
    }
}
