//! The active span: the context new spans use as their parent when none is
//! given, on this thread and across `.await`.
//!
//! * [`ActiveSpan`] (from [`Span::activate`]) owns a span, makes it active
//!   until dropped, then finishes it; the active span is then the newest
//!   one still active on the thread (guards may drop in any order).
//! * [`enter`] makes a context active for a scope without owning a span.
//! * [`FutureExt::in_span`] runs a future with a span active during each
//!   poll, and finishes the span when the future completes.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::span::Span;
use crate::span_context::SpanContext;

thread_local! {
    // The contexts made active on this thread and not yet let go, the
    // active one last, each with the number of the guard that entered it.
    static STACK: RefCell<Vec<(u64, SpanContext)>> = const { RefCell::new(Vec::new()) };
    // Whether `STACK` holds a context: a plain flag (no destructor, no lazy
    // initialisation), so the usual "nothing active" answer is one load.
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    // The number of this thread's next guard.
    static NEXT_GUARD: Cell<u64> = const { Cell::new(0) };
}

/// The context of the active span on this thread, if any.
#[inline]
pub fn current_context() -> Option<SpanContext> {
    if !ACTIVE.with(Cell::get) {
        return None;
    }
    STACK
        .try_with(|s| s.borrow().last().map(|(_, ctx)| ctx.clone()))
        .ok()
        .flatten()
}

/// Replaces the active copies of `ctx` (it may have been entered more than
/// once) with `ctx`: used to keep them in step with baggage set on the
/// span.
pub(crate) fn refresh_if_current(ctx: &SpanContext) {
    if !ACTIVE.with(Cell::get) {
        return;
    }
    let _ = STACK.try_with(|s| {
        for (_, cur) in s.borrow_mut().iter_mut() {
            if cur.span_id() == ctx.span_id() && cur.trace_id() == ctx.trace_id() {
                *cur = ctx.clone();
            }
        }
    });
}

/// Lets go of the context it made active when dropped: the active context
/// is then the newest one still held on this thread, whatever the order
/// guards are dropped in. Not `Send`: it must be dropped on the thread that
/// created it.
#[must_use = "the context is active only while the guard lives"]
pub struct ContextGuard {
    id: u64,
    _not_send: PhantomData<*const ()>,
}

impl fmt::Debug for ContextGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContextGuard").finish_non_exhaustive()
    }
}

/// Makes `ctx` the active context until the guard is dropped.
pub fn enter(ctx: SpanContext) -> ContextGuard {
    let id = NEXT_GUARD.with(|n| {
        let id = n.get();
        n.set(id.wrapping_add(1));
        id
    });
    STACK.with(|s| s.borrow_mut().push((id, ctx)));
    ACTIVE.with(|a| a.set(true));
    ContextGuard {
        id,
        _not_send: PhantomData,
    }
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        // Its own entry goes, wherever it is: usually the last, but a guard
        // dropped before a newer one (kept in a struct, or dropped by hand)
        // must neither end the newer one's scope nor, when that one drops,
        // bring back a context whose span has finished.
        let id = self.id;
        let left = STACK.try_with(|s| {
            let mut s = s.borrow_mut();
            let gone = s
                .iter()
                .rposition(|(i, _)| *i == id)
                .map(|pos| s.remove(pos));
            ACTIVE.with(|a| a.set(!s.is_empty()));
            gone
        });
        // (The context is dropped after the stack is let go of.)
        drop(left);
    }
}

/// A span that is active on this thread; finishes it when dropped.
///
/// Dereferences to the [`Span`], so tags, logs and baggage can be set on it.
pub struct ActiveSpan {
    // Declared first so it drops (finishes) before the guard lets go of
    // its context.
    span: Span,
    _guard: ContextGuard,
}

impl fmt::Debug for ActiveSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActiveSpan")
            .field("span", &self.span)
            .finish()
    }
}

impl Deref for ActiveSpan {
    type Target = Span;

    fn deref(&self) -> &Span {
        &self.span
    }
}

impl DerefMut for ActiveSpan {
    fn deref_mut(&mut self) -> &mut Span {
        &mut self.span
    }
}

impl Span {
    /// Makes this span the active one on this thread until the returned
    /// guard drops; the guard then finishes the span.
    ///
    /// ```
    /// use jaeger_tracer::Tracer;
    /// let tracer = Tracer::noop();
    /// let root = tracer.start("request").activate();
    /// // Started with no explicit parent: a child of `root`.
    /// let child = tracer.start("db");
    /// assert_eq!(child.context().trace_id(), root.context().trace_id());
    /// ```
    pub fn activate(self) -> ActiveSpan {
        let guard = enter(self.context().clone());
        ActiveSpan {
            span: self,
            _guard: guard,
        }
    }
}

pin_project_lite::pin_project! {
    /// A future with a span active while it is polled; the span finishes when
    /// the future completes, or when it is dropped before (a timeout, the
    /// losing branch of a `select!`), then with a log `event=cancelled`
    /// (or, dropped by a panic unwinding, `error=true` and a log
    /// `event=error`).
    #[must_use = "futures do nothing unless polled"]
    pub struct InSpan<F> {
        #[pin]
        inner: F,
        span: Span,
    }

    impl<F> PinnedDrop for InSpan<F> {
        fn drop(this: Pin<&mut Self>) {
            this.project()
                .span
                .log_cancelled("the future was dropped before it completed");
        }
    }
}

impl<F> fmt::Debug for InSpan<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InSpan").field("span", &self.span).finish()
    }
}

impl<F: Future> Future for InSpan<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let out = {
            let _guard = enter(this.span.context().clone());
            this.inner.poll(cx)
        };
        if out.is_ready() {
            this.span.finish();
        }
        out
    }
}

pin_project_lite::pin_project! {
    /// A future with a span context active while it is polled.
    #[must_use = "futures do nothing unless polled"]
    pub struct WithContext<F> {
        #[pin]
        inner: F,
        ctx: SpanContext,
    }
}

impl<F> fmt::Debug for WithContext<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithContext")
            .field("ctx", &self.ctx)
            .finish()
    }
}

impl<F: Future> Future for WithContext<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _guard = enter(this.ctx.clone());
        this.inner.poll(cx)
    }
}

/// Runs futures inside a span or a span context.
pub trait FutureExt: Future + Sized {
    /// Makes `span` active during every poll and finishes it on completion
    /// (or, logged `event=cancelled`, when dropped before).
    fn in_span(self, span: Span) -> InSpan<Self> {
        InSpan { inner: self, span }
    }

    /// Makes `ctx` active during every poll.
    fn with_context(self, ctx: SpanContext) -> WithContext<Self> {
        WithContext { inner: self, ctx }
    }
}

impl<F: Future> FutureExt for F {}
