//! A `tracing_subscriber::Layer` that turns `tracing` spans (and
//! `#[instrument]`) into this crate's spans (feature `tracing`).
//!
//! * span fields become tags, events become logs (with `level` and
//!   `target`) of the `tracing` span they occur in, and an `ERROR` event
//!   sets `error=true` on its span; an event outside every `tracing` span
//!   has no span to be logged on and is not recorded;
//! * a `sampling.priority` field (an integer) forces the sampling
//!   decision the OpenTracing way, also on a span the sampler left out;
//! * `span.follows_from(other)` adds a `FollowsFrom` reference to `other`'s
//!   span (the span keeps its parent);
//! * parents are the ones `tracing` sees, and a span made with
//!   `parent: None` starts a new trace; any other `tracing` span without a
//!   parent joins the active span of this crate (an [`ActiveSpan`](crate::scope::ActiveSpan),
//!   or a context made active with [`scope::enter`] after an
//!   extract), so both APIs build one trace;
//! * entering a `tracing` span makes its context the active one, so spans
//!   started with this crate's API inside it are its children.
//!
//! Events of this crate's own targets (`jaeger_tracer::…`) are ignored, so
//! its diagnostics never recurse into the layer.
//!
//! ```
//! use jaeger_tracer::{layer::JaegerLayer, Tracer};
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! let tracer = Tracer::noop();
//! let subscriber = tracing_subscriber::registry().with(JaegerLayer::new(tracer));
//! tracing::subscriber::with_default(subscriber, || {
//!     let _s = tracing::info_span!("handle", user = 42).entered();
//!     tracing::info!(rows = 3, "loaded");
//! });
//! ```

use std::cell::RefCell;
use std::fmt;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::scope::{self, ContextGuard};
use crate::span::Span;
use crate::tag::{LogFields, TagValue};
use crate::tracer::Tracer;

/// The layer; build it with the tracer that reports the spans.
#[derive(Debug, Clone)]
pub struct JaegerLayer {
    tracer: Tracer,
}

impl JaegerLayer {
    /// A layer reporting through `tracer`.
    pub fn new(tracer: Tracer) -> Self {
        JaegerLayer { tracer }
    }
}

thread_local! {
    // Contexts made active by entering tracing spans, innermost last.
    static ENTERED: RefCell<Vec<(Id, ContextGuard)>> = const { RefCell::new(Vec::new()) };
}

/// Span fields as tags; with `skip_priority`, all but a
/// `sampling.priority` (already applied).
struct Tags<'a> {
    span: &'a mut Span,
    skip_priority: bool,
}

impl Tags<'_> {
    fn set(&mut self, field: &Field, value: impl Into<TagValue>) {
        if !(self.skip_priority && field.name() == crate::ext::SAMPLING_PRIORITY) {
            self.span.set_tag(field.name(), value.into());
        }
    }
}

impl Visit for Tags<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field, value.to_owned());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.set(field, value);
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.set(field, value);
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.set(field, value);
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.set(field, value);
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.set(field, format!("{value:?}"));
    }
}

/// The fields a span that is not recording still heeds: an integer
/// `sampling.priority` (see [`Span::set_tag`]) may make it sampled.
struct Priority<'a>(&'a mut Span);

impl Visit for Priority<'_> {
    fn record_i64(&mut self, field: &Field, value: i64) {
        if field.name() == crate::ext::SAMPLING_PRIORITY {
            self.0.set_tag(field.name(), value);
        }
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == crate::ext::SAMPLING_PRIORITY {
            self.0.set_tag(field.name(), value);
        }
    }
    fn record_debug(&mut self, _: &Field, _: &dyn fmt::Debug) {}
}

/// Records `fields` on `span`: all as tags while it records, otherwise
/// only a `sampling.priority`, which may start the recording; the other
/// fields are then recorded too.
fn record_fields(span: &mut Span, fields: impl Fn(&mut dyn Visit)) {
    let recording = span.is_recording();
    if !recording {
        fields(&mut Priority(span));
    }
    if span.is_recording() {
        fields(&mut Tags {
            span,
            skip_priority: !recording,
        });
    }
}

/// Event fields as log fields.
struct Fields<'a, 'b>(&'a mut LogFields<'b>);

impl Visit for Fields<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.field(field.name(), value.to_owned());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.field(field.name(), value);
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.field(field.name(), value);
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.field(field.name(), value);
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.field(field.name(), value);
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.field(field.name(), format!("{value:?}"));
    }
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        _ => "trace",
    }
}

impl<S> Layer<S> for JaegerLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span_ref) = ctx.span(id) else { return };
        let mut builder = self.tracer.span(attrs.metadata().name());
        // A tracing parent wins; a span made with `parent: None` is a root;
        // otherwise the active context (if any) is the parent, as for any
        // span started without a reference.
        if let Some(parent) = span_ref.parent() {
            if let Some(p) = parent.extensions().get::<Span>() {
                builder = builder.with_reference(crate::Reference::child_of(p.context().clone()));
            }
        } else if attrs.is_root() {
            builder = builder.ignore_active();
        }
        let mut span = builder.start();
        record_fields(&mut span, |v| attrs.record(v));
        span_ref.extensions_mut().insert(span);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span_ref) = ctx.span(id) {
            if let Some(span) = span_ref.extensions_mut().get_mut::<Span>() {
                record_fields(span, |v| values.record(v));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        if meta.target().starts_with("jaeger_tracer") {
            return;
        }
        let Some(span_ref) = ctx.event_span(event) else {
            return;
        };
        let mut ext = span_ref.extensions_mut();
        let Some(span) = ext.get_mut::<Span>() else {
            return;
        };
        if !span.is_recording() {
            return;
        }
        span.log(|f| {
            f.field("level", level_name(meta.level()))
                .field("target", meta.target().to_owned());
            event.record(&mut Fields(f));
        });
        if *meta.level() == Level::ERROR {
            span.set_tag(crate::ext::ERROR, TagValue::Bool(true));
        }
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: Context<'_, S>) {
        let (Some(span_ref), Some(cause_ref)) = (ctx.span(id), ctx.span(follows)) else {
            return;
        };
        let cause = cause_ref
            .extensions()
            .get::<Span>()
            .map(|c| c.context().clone());
        let Some(cause) = cause else { return };
        let mut ext = span_ref.extensions_mut();
        if let Some(span) = ext.get_mut::<Span>() {
            span.add_follows_from(&cause);
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        let Some(span_ref) = ctx.span(id) else { return };
        let ext = span_ref.extensions();
        if let Some(span) = ext.get::<Span>() {
            let guard = scope::enter(span.context().clone());
            ENTERED.with(|e| e.borrow_mut().push((id.clone(), guard)));
        }
    }

    fn on_exit(&self, id: &Id, _ctx: Context<'_, S>) {
        ENTERED.with(|e| {
            let mut entered = e.borrow_mut();
            // Its latest entry alone: spans entered after it and still
            // entered stay active, whatever the order of the exits.
            if let Some(pos) = entered.iter().rposition(|(i, _)| i == id) {
                let (_, guard) = entered.remove(pos);
                drop(entered);
                drop(guard);
            }
        });
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span_ref) = ctx.span(&id) {
            if let Some(mut span) = span_ref.extensions_mut().remove::<Span>() {
                span.finish();
            }
        }
    }
}
