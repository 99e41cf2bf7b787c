//! The queue between application threads and the reporter thread.
//!
//! Each application thread first collects its finished spans in a small
//! slot of its own (an uncontended lock, never waited for: a thread that
//! finds its slot busy, being emptied by the reporter thread, sends its
//! span directly, marked as having overtaken the slot's spans). A full
//! slot moves its spans as one batch into the bounded channel the reporter
//! thread drains. So the channel, whose every operation moves cache lines
//! between the two cores, is used once per batch instead of once per span.
//! The reporter thread also empties every slot each time it polls, so a span
//! waits in a slot only until the next poll (a few milliseconds), and
//! flushes and closes see every span finished before them. Each thread's
//! spans reach the reporter thread in the order they finished, so a
//! segment's local root still comes after its children.
//!
//! The bound is on spans, not batches: a batch that would take the channel
//! past `capacity` spans is dropped and counted.
//!
//! A slot holds a block of records while its thread finishes spans; a
//! thread idle for [`IDLE_SWEEPS`] sweeps gives it back to the pool.

use std::cell::{OnceCell, RefCell};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};

use super::pool;
use super::spin::SpinLock;
use crate::metrics::Metrics;
use crate::span::SpanData;

/// A batch: a block of span records.
type Batch = Box<pool::Block>;

/// One thread's finished spans, not yet in the channel: in a block the
/// slot holds while its thread finishes spans, and gives back once the
/// thread has finished none for [`IDLE_SWEEPS`] sweeps (a thread that
/// lives on idle, one of a large pool, say, keeps no 14 KiB block).
#[derive(Debug)]
struct Slot {
    spans: SpinLock<Option<Batch>>,
    /// Sweeps of the reporter thread that found the slot empty, in a row
    /// (only that thread counts them).
    idle_sweeps: AtomicUsize,
    /// Spans in the slot's block, written under its lock, read without
    /// (see [`Queue::len`]).
    held: AtomicUsize,
}

impl Slot {
    /// The slot's identity in a batch that overtook it (see
    /// [`pool::Block::overtake`]).
    fn id(&self) -> usize {
        self as *const Slot as usize
    }
}

/// Sweeps in a row that find a thread's slot empty before its block goes
/// back to the pool: a quarter of a second to a second (a sweep every 4 to
/// 16 ms); the thread's next span takes one again, off the usual path.
const IDLE_SWEEPS: usize = 64;

/// A thread's slot in one queue, once it has one, kept where the thread
/// finds its tracer (see [`Queue::push_via`]).
#[derive(Debug, Default)]
pub(crate) struct SlotCache(OnceCell<Arc<Slot>>);

static NEXT_QUEUE: AtomicU64 = AtomicU64::new(1);

thread_local! {
    // This thread's slot in each queue it has used, by queue id.
    static SLOTS: RefCell<Vec<(u64, Arc<Slot>)>> = const { RefCell::new(Vec::new()) };
}

/// The bounded queue of finished spans, with one slot per thread.
#[derive(Debug)]
pub(crate) struct Queue {
    id: u64,
    tx: Sender<Batch>,
    rx: Receiver<Batch>,
    /// Spans in the channel.
    queued: AtomicUsize,
    capacity: usize,
    /// Above this many queued spans a sender wakes the reporter thread.
    high_water: usize,
    closed: AtomicBool,
    slots: Mutex<Vec<Arc<Slot>>>,
}

impl Queue {
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let (tx, rx) = bounded(capacity);
        Queue {
            id: NEXT_QUEUE.fetch_add(1, Ordering::Relaxed),
            tx,
            rx,
            queued: AtomicUsize::new(0),
            capacity,
            high_water: capacity / 2,
            closed: AtomicBool::new(false),
            slots: Mutex::new(Vec::new()),
        }
    }

    /// Refuses spans from now on; true if it was open.
    pub(crate) fn close(&self) -> bool {
        !self.closed.swap(true, Ordering::SeqCst)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Accepts a finished span (into this thread's slot, or the channel),
    /// or drops and counts it. Returns true when the queue is filling up
    /// and the reporter thread should be woken.
    #[cfg(test)]
    pub(crate) fn push(&self, span: Box<SpanData>, metrics: &Metrics) -> bool {
        self.push_via(&SlotCache::default(), span, metrics)
    }

    /// Accepts a finished span through the thread's slot as `cache` holds
    /// it (kept beside the thread's cached tracer, so that a finish makes
    /// no lookup of its own), or the channel; or drops and counts it.
    /// Returns true when the queue is filling up and the reporter thread
    /// should be woken.
    #[inline]
    pub(crate) fn push_via(
        &self,
        cache: &SlotCache,
        span: Box<SpanData>,
        metrics: &Metrics,
    ) -> bool {
        // No slot to be had while the thread is exiting (its thread-locals
        // are gone): straight to the channel.
        let Some(slot) = cache.0.get().or_else(|| self.fill(cache)) else {
            return self.send_alone(span, None, metrics);
        };
        let mut span = Some(span);
        let outcome = self.push_locked(slot, &mut span, metrics);
        self.push_rest(slot, outcome, span, metrics)
    }

    /// This thread's slot, registered if it has none yet, put in `cache`
    /// (none while the thread-locals are in use further up the stack or
    /// gone).
    #[cold]
    fn fill<'c>(&self, cache: &'c SlotCache) -> Option<&'c Arc<Slot>> {
        let slot = SLOTS
            .try_with(|slots| {
                let mut slots = slots.try_borrow_mut().ok()?;
                let slot = match slots.iter().position(|(id, _)| *id == self.id) {
                    Some(i) => &slots[i].1,
                    None => self.register(&mut slots),
                };
                Some(slot.clone())
            })
            .ok()
            .flatten()?;
        Some(cache.0.get_or_init(|| slot))
    }

    /// The first span of this thread here: registers a slot, and lets go
    /// of slots of closed queues (only this thread holds them still).
    #[cold]
    fn register<'s>(&self, slots: &'s mut Vec<(u64, Arc<Slot>)>) -> &'s Arc<Slot> {
        slots.retain(|(_, s)| Arc::strong_count(s) > 1);
        // Its block from the pool (this thread's spare, a returned one, or
        // a new one): the slot holds one block while the thread lives.
        let slot = Arc::new(Slot {
            spans: SpinLock::new(Some(pool::block())),
            idle_sweeps: AtomicUsize::new(0),
            held: AtomicUsize::new(0),
        });
        self.slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(slot.clone());
        slots.push((self.id, slot));
        &slots[slots.len() - 1].1
    }

    /// Puts `span` in `slot` (sending the slot's batch when it is full);
    /// `None`, with `span` left in place, when the slot is busy.
    #[inline(always)]
    fn push_locked(
        &self,
        slot: &Slot,
        span: &mut Option<Box<SpanData>>,
        metrics: &Metrics,
    ) -> Option<bool> {
        let mut held = slot.spans.try_lock()?;
        let span = span.take()?;
        // Checked under the slot's lock: a close empties every slot after
        // setting the flag, so a span either is seen by that or sees the
        // flag.
        if self.closed.load(Ordering::SeqCst) {
            metrics.dropped_after_close(1);
            return Some(false);
        }
        let spans = match &mut *held {
            Some(spans) => spans,
            None => held.insert(Self::block_again()),
        };
        spans.put_box(span);
        if !spans.is_full() {
            slot.held.store(spans.len(), Ordering::Relaxed);
            return Some(false);
        }
        let wake = self.send_full(spans, metrics);
        slot.held.store(0, Ordering::Relaxed);
        Some(wake)
    }

    /// A block for a slot that gave its own back, idle.
    #[cold]
    #[inline(never)]
    fn block_again() -> Batch {
        pool::block()
    }

    /// Sends a full slot's batch (once every [`pool::BLOCK`] spans: out of the
    /// line of the others). Sent while the slot is still locked: when the
    /// reporter thread takes a slot's spans, every earlier batch of the
    /// thread is already in the channel (see `drain`).
    #[inline(never)]
    fn send_full(&self, spans: &mut Batch, metrics: &Metrics) -> bool {
        let batch = std::mem::replace(spans, pool::block());
        self.send(batch, metrics)
    }

    /// What is left of a push after its slot was tried.
    #[inline(always)]
    fn push_rest(
        &self,
        slot: &Slot,
        outcome: Option<bool>,
        span: Option<Box<SpanData>>,
        metrics: &Metrics,
    ) -> bool {
        match (outcome, span) {
            (Some(wake), _) => wake,
            // The slot is busy (the reporter thread is emptying it right
            // now): straight to the channel, marked as coming after the
            // slot's spans.
            (None, Some(span)) => self.send_alone(span, Some(slot), metrics),
            (None, None) => false,
        }
    }

    /// One span as a batch of its own; sent past `overtaken`, if given.
    #[cold]
    #[inline(never)]
    fn send_alone(&self, span: Box<SpanData>, overtaken: Option<&Slot>, metrics: &Metrics) -> bool {
        let mut batch = pool::block();
        batch.put_box(span);
        if let Some(slot) = overtaken {
            batch.overtake(slot.id());
        }
        self.send(batch, metrics)
    }

    fn send(&self, batch: Batch, metrics: &Metrics) -> bool {
        let n = batch.len();
        if self.closed.load(Ordering::SeqCst) {
            metrics.dropped_after_close(n as u64);
            return false;
        }
        let before = self.queued.fetch_add(n, Ordering::Relaxed);
        if before + n > self.capacity {
            self.queued.fetch_sub(n, Ordering::Relaxed);
            Metrics::add(&metrics.dropped_queue_full, n as u64);
            pool::keep(batch);
            return true;
        }
        match self.tx.try_send(batch) {
            Ok(()) => before + n >= self.high_water,
            Err(TrySendError::Full(batch)) => {
                self.queued.fetch_sub(n, Ordering::Relaxed);
                Metrics::add(&metrics.dropped_queue_full, n as u64);
                pool::keep(batch);
                true
            }
            Err(TrySendError::Disconnected(_)) => {
                self.queued.fetch_sub(n, Ordering::Relaxed);
                metrics.dropped_after_close(n as u64);
                false
            }
        }
    }

    /// The reporter thread's side: hands queued spans to `f`, each thread's
    /// in the order it finished them; returns how many.
    ///
    /// A batch is sent under its slot's lock, so while the reporter holds a
    /// slot's lock, every earlier batch of that thread is already in the
    /// channel: those batches (with whatever else the channel holds) are
    /// taken before the slot's spans. A span its thread sent meanwhile,
    /// finding the slot held, may be among them: marked as having
    /// overtaken the slot, it is handed over after the slot's spans. (Only
    /// the reporter thread takes a slot's lock besides its own thread, so
    /// a span overtakes a slot only while its spans are being taken.)
    /// Takes only what is present, so that senders faster than the
    /// reporter cannot keep it here (its ticks would stop).
    pub(crate) fn drain(&self, f: impl FnMut(&SpanData)) -> usize {
        self.drain_then(f, || {}, || {})
    }

    /// The batches in the channel now, without the slots' spans: what the
    /// reporter thread takes between sweeps of the slots. A slot's lock and
    /// block stay in its thread's cache meanwhile (a sweep takes them to
    /// the reporter thread's, and the thread's next span waits for them to
    /// come back).
    pub(crate) fn drain_channel(&self, mut f: impl FnMut(&SpanData)) -> usize {
        let mut taken = 0;
        self.take_channel(|batch| {
            taken += batch.len();
            hand_over(batch, &mut f);
        });
        taken
    }

    /// [`drain`](Queue::drain), running `held` while each slot with spans
    /// is held, before the channel is taken, and `between` after the slots
    /// were emptied and before the slots of exited threads are let go (for
    /// tests of those races).
    fn drain_then(
        &self,
        mut f: impl FnMut(&SpanData),
        mut held: impl FnMut(),
        between: impl FnOnce(),
    ) -> usize {
        let mut taken = self.drain_channel(&mut f);
        // No lock is held while `f` runs (it may send, for seconds over
        // HTTP): not the list's, which a thread takes for its first span,
        // nor a slot's (its thread would send straight to the channel).
        let slots: Vec<Arc<Slot>> = self.slots.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let (mut earlier, mut later): (Vec<Batch>, Vec<Batch>) = (Vec::new(), Vec::new());
        for slot in &slots {
            let spans = {
                let mut locked = slot.spans.lock();
                let Some(spans) = &mut *locked else {
                    continue;
                };
                if spans.is_empty() {
                    let idle = slot.idle_sweeps.load(Ordering::Relaxed) + 1;
                    slot.idle_sweeps.store(idle, Ordering::Relaxed);
                    if idle >= IDLE_SWEEPS {
                        let block = locked.take();
                        drop(locked);
                        if let Some(block) = block {
                            pool::give_back(block);
                        }
                    }
                    continue;
                }
                slot.idle_sweeps.store(0, Ordering::Relaxed);
                held();
                // Under the slot's lock, every earlier batch of its thread
                // is in the channel: those come first, but for its spans
                // that overtook the slot while it was held.
                self.take_channel(|batch| {
                    if batch.overtook() == slot.id() {
                        later.push(batch);
                    } else {
                        earlier.push(batch);
                    }
                });
                slot.held.store(0, Ordering::Relaxed);
                std::mem::replace(spans, pool::emptied_block())
            };
            for batch in earlier
                .drain(..)
                .chain(std::iter::once(spans))
                .chain(later.drain(..))
            {
                taken += batch.len();
                hand_over(batch, &mut f);
            }
        }
        drop(slots);
        between();
        // Let go of the slots of threads that have exited (only this list
        // holds them), once empty: a thread may have filled its slot again
        // after it was emptied above and then exited.
        self.slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|s| {
                // The lock of an exited thread's slot only: taken, it
                // orders what the thread put there before this check.
                Arc::strong_count(s) > 1 || s.spans.lock().as_ref().is_some_and(|b| !b.is_empty())
            });
        taken
    }

    /// Hands the batches in the channel now to `each`.
    fn take_channel(&self, mut each: impl FnMut(Batch)) {
        for batch in self.rx.try_iter().take(self.rx.len()) {
            self.queued.fetch_sub(batch.len(), Ordering::Relaxed);
            each(batch);
        }
    }

    /// True when the channel holds a quarter of its bound or more: the
    /// reporter thread should not sleep before draining again.
    pub(crate) fn backlogged(&self) -> bool {
        self.queued.load(Ordering::Relaxed) >= self.capacity / 4
    }

    /// Spans waiting: in the channel and in the slots. Takes no slot's lock
    /// (a thread finding its slot held would send its span past it).
    pub(crate) fn len(&self) -> usize {
        let in_slots: usize = self
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|s| s.held.load(Ordering::Relaxed))
            .sum();
        self.queued.load(Ordering::Relaxed) + in_slots
    }
}

/// How many spans ahead of the one handed over the reporter thread asks
/// for records (and half as many for their tags).
const READ_AHEAD: usize = 4;

/// Hands `batch`'s spans to `f`, in order, then the block back to the
/// application threads. While `f` takes one span, the records of the next
/// ones are on their way from the core that finished them (see
/// [`pool::prefetch_for_read`]).
fn hand_over(batch: Batch, f: &mut impl FnMut(&SpanData)) {
    let spans = batch.spans();
    for span in spans.iter().take(READ_AHEAD) {
        pool::prefetch_for_read(span);
    }
    for (i, span) in spans.iter().enumerate() {
        if let Some(next) = spans.get(i + READ_AHEAD) {
            pool::prefetch_for_read(next);
        }
        // Its record, asked for two spans ago, tells how many tags it has
        // beyond the usual two, and where those after the inline ones are.
        if let Some(next) = spans.get(i + READ_AHEAD / 2) {
            next.tags.prefetch_beyond_two_for_read();
        }
        f(span);
    }
    pool::give_back(batch);
}

#[cfg(test)]
mod tests {
    use super::pool::BLOCK as BATCH;
    use super::*;
    use crate::id::{SpanId, TraceId};
    use crate::span_context::Flags;
    use std::borrow::Cow;

    fn span(local_root: bool) -> Box<SpanData> {
        Box::new(SpanData {
            trace_id: TraceId::new(0, 1),
            span_id: SpanId::new(2),
            parent_id: SpanId::new(0),
            flags: Flags::SAMPLED,
            operation_name: Cow::Borrowed("op"),
            references: Default::default(),
            start: 1,
            end: 3,
            tags: Default::default(),
            logs: Default::default(),
            local_root,
        })
    }

    #[test]
    fn slots_batch_and_drain_sees_everything() {
        let q = Queue::new(1000);
        let m = Metrics::default();
        for _ in 0..BATCH - 1 {
            q.push(span(false), &m);
        }
        assert_eq!(q.queued.load(Ordering::Relaxed), 0, "still in the slot");
        assert_eq!(q.len(), BATCH - 1);
        q.push(span(false), &m);
        assert_eq!(
            q.queued.load(Ordering::Relaxed),
            BATCH,
            "a full slot travels"
        );
        q.push(span(true), &m);
        assert_eq!(q.len(), BATCH + 1);
        // Another thread's slot is drained too.
        std::thread::scope(|s| {
            s.spawn(|| q.push(span(false), &m));
        });
        // The scope ends when the thread's closure does; its thread-locals
        // (holding the slot) go a moment later.
        let theirs = Arc::downgrade(&q.slots.lock().unwrap()[1]);
        while theirs.strong_count() > 1 {
            std::thread::yield_now();
        }
        let mut roots = Vec::new();
        assert_eq!(q.drain(|s| roots.push(s.local_root)), BATCH + 2);
        assert_eq!(roots.iter().filter(|r| **r).count(), 1);
        assert_eq!(q.len(), 0);
        assert_eq!(
            q.slots.lock().unwrap().len(),
            1,
            "the exited thread's slot is let go"
        );
    }

    #[test]
    fn one_threads_spans_come_out_in_the_order_they_finished() {
        let q = Queue::new(10_000);
        let m = Metrics::default();
        let producer = |q: &Queue| {
            for i in 1..=(3 * BATCH + 5) as u64 {
                let mut s = span(false);
                s.span_id = SpanId::new(i);
                q.push(s, &m);
            }
        };
        // A thread that is still alive (its slot holds the last 5), and
        // drains interleaved with its sends.
        let mut out = Vec::new();
        std::thread::scope(|s| {
            let (go, wait) = std::sync::mpsc::channel::<()>();
            let (done, finished) = std::sync::mpsc::channel::<()>();
            let q = &q;
            s.spawn(move || {
                producer(q);
                done.send(()).unwrap();
                let _ = wait.recv();
            });
            while finished.try_recv().is_err() {
                q.drain(|s| out.push(s.span_id.get()));
            }
            q.drain(|s| out.push(s.span_id.get()));
            go.send(()).unwrap();
        });
        assert_eq!(out, (1..=(3 * BATCH + 5) as u64).collect::<Vec<_>>());
    }

    #[test]
    fn a_thread_that_refills_its_slot_and_exits_during_a_drain_loses_nothing() {
        let q = Queue::new(100);
        let m = Metrics::default();
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let (pushed, first_done) = std::sync::mpsc::channel::<()>();
        std::thread::scope(|s| {
            let (q, m) = (&q, &m);
            let handle = s.spawn(move || {
                q.push(span(false), m);
                pushed.send(()).unwrap();
                // Refill after the drain emptied the slot, then exit.
                wait.recv().unwrap();
                q.push(span(false), m);
            });
            first_done.recv().unwrap();
            let slot = Arc::downgrade(&q.slots.lock().unwrap()[0]);
            let first = q.drain_then(
                |_| {},
                || {},
                || {
                    go.send(()).unwrap();
                    // Until the thread is gone: its slot then has one owner.
                    // (Whether the thread counts as finished before or after
                    // its thread-locals are dropped differs between versions
                    // of std: both are waited for.)
                    while slot.strong_count() > 1 || !handle.is_finished() {
                        std::thread::yield_now();
                    }
                },
            );
            assert_eq!(first, 1);
        });
        assert_eq!(q.drain(|_| {}), 1, "the refilled slot was kept");
        assert_eq!(q.slots.lock().unwrap().len(), 0, "then let go");
    }

    /// A thread whose slot is held by the reporter thread sends its span
    /// past it, into the channel, where the reporter thread may find it
    /// before the slot's spans: it still comes after them (a local root
    /// before its children would split its trace's segment).
    #[test]
    fn a_span_sent_past_its_held_slot_comes_after_the_slots_spans() {
        let q = Queue::new(1000);
        let m = Metrics::default();
        let (finish_root, root_wanted) = std::sync::mpsc::channel::<()>();
        let (root_sent, root_done) = std::sync::mpsc::channel::<()>();
        let (children_sent, children_done) = std::sync::mpsc::channel::<()>();
        let mut order = Vec::new();
        std::thread::scope(|s| {
            let (q, m) = (&q, &m);
            s.spawn(move || {
                for i in 1..=3 {
                    let mut child = span(false);
                    child.span_id = SpanId::new(i);
                    q.push(child, m);
                }
                children_sent.send(()).unwrap();
                root_wanted.recv().unwrap();
                let mut root = span(true);
                root.span_id = SpanId::new(4);
                q.push(root, m);
                root_sent.send(()).unwrap();
            });
            children_done.recv().unwrap();
            let mut sent_past = 0;
            let taken = q.drain_then(
                |s| order.push(s.span_id.get()),
                || {
                    // The slot is held: the root goes past it.
                    finish_root.send(()).unwrap();
                    root_done.recv().unwrap();
                    sent_past = q.queued.load(Ordering::Relaxed);
                },
                || {},
            );
            assert_eq!(sent_past, 1, "the root went to the channel");
            assert_eq!(taken, 4);
        });
        assert_eq!(order, [1, 2, 3, 4], "children first, then the root");
        assert_eq!(q.len(), 0);
    }

    /// The queue's length counts the spans in the slots without taking
    /// their locks (a span finding its slot held would go past it).
    #[test]
    fn the_length_counts_slots_without_holding_them() {
        let q = Queue::new(1000);
        let m = Metrics::default();
        let cache = SlotCache::default();
        for _ in 0..3 {
            q.push_via(&cache, span(false), &m);
        }
        let slot = cache.0.get().expect("a slot").clone();
        let locked = slot.spans.lock();
        assert_eq!(q.len(), 3, "counted while the slot is held");
        drop(locked);
        for _ in 0..BATCH {
            q.push_via(&cache, span(false), &m);
        }
        assert_eq!(q.len(), BATCH + 3, "a full batch in the channel, 3 held");
        assert_eq!(q.drain(|_| {}), BATCH + 3);
        assert_eq!(q.len(), 0);
    }

    /// A thread that stops finishing spans gives its slot's block back
    /// after `IDLE_SWEEPS` sweeps found nothing (one span in between starts
    /// the count over), and takes one again with its next span.
    #[test]
    fn an_idle_threads_slot_gives_its_block_back_and_takes_one_again() {
        let q = Queue::new(1000);
        let m = Metrics::default();
        let cache = SlotCache::default();
        q.push_via(&cache, span(false), &m);
        let slot = cache.0.get().expect("a slot").clone();
        let holds_block = || slot.spans.lock().is_some();
        assert_eq!(q.drain(|_| {}), 1);
        for _ in 0..IDLE_SWEEPS - 1 {
            assert_eq!(q.drain(|_| {}), 0);
        }
        q.push_via(&cache, span(false), &m);
        assert_eq!(q.drain(|_| {}), 1);
        for _ in 0..IDLE_SWEEPS - 1 {
            q.drain(|_| {});
        }
        assert!(holds_block(), "given back before the thread was idle long");
        q.drain(|_| {});
        assert!(
            !holds_block(),
            "kept by a thread idle for IDLE_SWEEPS sweeps"
        );
        assert_eq!(q.len(), 0);
        // Its next spans take a block again, and none is lost.
        for _ in 0..BATCH + 1 {
            q.push_via(&cache, span(false), &m);
        }
        assert!(holds_block());
        assert_eq!(q.len(), BATCH + 1);
        assert_eq!(q.drain(|_| {}), BATCH + 1);
    }

    #[test]
    fn the_bound_is_in_spans_and_drops_are_counted() {
        let q = Queue::new(BATCH + 5);
        let m = Metrics::default();
        for _ in 0..3 * BATCH - 1 {
            q.push(span(false), &m);
        }
        // One batch fits, the second does not; the rest waits in the slot.
        assert_eq!(q.queued.load(Ordering::Relaxed), BATCH);
        assert_eq!(m.dropped_queue_full.load(Ordering::Relaxed), BATCH as u64);
        assert_eq!(q.drain(|_| {}), 2 * BATCH - 1);
    }

    #[test]
    fn after_close_spans_are_counted_as_closed() {
        let q = Queue::new(100);
        let m = Metrics::default();
        q.push(span(false), &m);
        assert!(q.close());
        q.push(span(false), &m);
        assert_eq!(m.dropped_closed.load(Ordering::Relaxed), 1);
        assert_eq!(q.drain(|_| {}), 1, "accepted before the close");
    }
}
