//! Recycled span boxes, and the vectors that carry them.
//!
//! Every sampled span lives in a `Box<SpanData>` from its start until the
//! reporter thread has encoded it. Allocating it on an application thread
//! and freeing it on the reporter thread would cost both sides, and worse:
//! the allocator locks the memory of the thread that allocated a block to
//! free it elsewhere, so an application thread allocating its next span
//! would wait (asleep, in a futex) while the reporter thread frees its last
//! ones. Instead nothing is freed while spans flow: the reporter thread
//! returns encoded boxes, a full rack at a time, through a channel shared
//! by the process; an application thread keeps one rack and takes the next
//! when it runs out, and allocates only when none is waiting.
//!
//! The reporter thread only reads a box that holds nothing on the heap (the
//! usual span: static name and keys, numbers): it goes back as it is, and
//! the application thread that takes it lets its tags go unread (nothing
//! to free, so nothing to write on the reporter thread). Whether the
//! reporter thread writes a box's lines or only reads them made no
//! difference we could measure to the application thread, which writes
//! them again either way; it asks for them, for writing, a few spans
//! ahead.
//!
//! The vectors that carry spans (a slot's batch, a rack) circulate the same
//! way: a batch's vector, once the reporter thread has taken its spans,
//! becomes a rack or another batch, and a thread's emptied rack becomes its
//! next batch.
//!
//! A box is allocated only when no emptied one is waiting, so the boxes in
//! existence are as many as were in use at once at the busiest moment (the
//! full queue's, at most); the channel keeps them all (up to
//! [`MAX_RACKS`] racks) while spans flow. Once no span has arrived for
//! [`IDLE`], the reporter thread frees all but [`RACKS`] racks.
//!
//! A box whose span holds strings (or other memory) an application thread
//! allocated for it comes back as it is, in racks of its own taken first,
//! and the application thread empties it: that memory is freed where it
//! was allocated. It is held meanwhile, at most [`DEFER_MAX`] a box (what
//! the span held while it was queued); a span holding more is emptied by
//! the reporter thread.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::OnceLock;

use crossbeam_channel::{bounded, Receiver, Sender};

use crate::span::SpanData;
use crate::tag::{Tag, TagValue};

/// Boxes returned together; also the capacity of every recycled vector.
pub(crate) const RACK: usize = 64;
/// Racks the channel keeps through idle times.
const RACKS: usize = 16;
/// Racks the channel can hold (65,536 boxes). Its slots are allocated once,
/// so passing a rack allocates and frees nothing.
const MAX_RACKS: usize = 1024;
/// Empty vectors waiting to be reused: enough for the batches of a full
/// default queue (20,000 spans in batches of 32) coming back at once, so
/// that the reporter thread, which cannot use them all, need not free them.
const VECS: usize = 1024;
/// A recycled box keeps at most this many tags' and logs' room.
const KEEP_TAGS: usize = 16;
const KEEP_LOGS: usize = 4;

type Rack = Vec<Box<SpanData>>;

/// A bounded channel of racks: of emptied boxes on their way back to
/// application threads, of unemptied ones, or of empty vectors.
///
/// First in, first out: a box comes back to an application thread after
/// the others returned before it. Taking the rack returned last instead
/// (a stack, its lines perhaps still in the reporter core's cache) made
/// spans slower, by half or more in bursts (`examples/bursts.rs`, see
/// `docs/performance.md`).
#[derive(Debug)]
struct Racks {
    to: Sender<Rack>,
    from: Receiver<Rack>,
}

impl Racks {
    /// A channel for at most `bound` racks; beyond, what is put is freed.
    fn new(bound: usize) -> Self {
        let (to, from) = bounded(bound);
        Racks { to, from }
    }

    fn put(&self, rack: Rack) {
        let _ = self.to.try_send(rack);
    }

    fn get(&self) -> Option<Rack> {
        self.from.try_recv().ok()
    }

    /// Frees the racks beyond `keep`.
    fn trim(&self, keep: usize) {
        while self.from.len() > keep {
            match self.get() {
                Some(rack) => drop(rack),
                None => break,
            }
        }
    }
}

fn racks() -> &'static Racks {
    static RACKS_: OnceLock<Racks> = OnceLock::new();
    RACKS_.get_or_init(|| Racks::new(MAX_RACKS))
}

/// Racks of boxes still holding what an application thread allocated for
/// them (an owned name, tag or log string, references): emptied by the
/// application thread that takes them, so the memory is freed on an
/// application thread.
fn unemptied() -> &'static Racks {
    static UNEMPTIED: OnceLock<Racks> = OnceLock::new();
    UNEMPTIED.get_or_init(|| Racks::new(MAX_RACKS))
}

fn vectors() -> &'static Racks {
    static VECTORS: OnceLock<Racks> = OnceLock::new();
    VECTORS.get_or_init(|| Racks::new(VECS))
}

thread_local! {
    static LOCAL: RefCell<Rack> = const { RefCell::new(Vec::new()) };
    // An empty vector for this thread's next batch.
    static SPARE: RefCell<Rack> = const { RefCell::new(Vec::new()) };
}

/// How long no span must arrive before [`trim`].
pub(crate) const IDLE: std::time::Duration = std::time::Duration::from_secs(5);

/// Frees the racks beyond [`RACKS`] (called by a reporter thread once no
/// span arrived for [`IDLE`]).
pub(crate) fn trim() {
    racks().trim(RACKS);
    unemptied().trim(0);
}

/// An empty vector with room for [`RACK`] spans: this thread's spare, a
/// recycled one, or a new one.
pub(crate) fn vector() -> Rack {
    let spare = SPARE
        .try_with(|s| s.try_borrow_mut().map(|mut s| std::mem::take(&mut *s)))
        .ok()
        .and_then(Result::ok)
        .filter(|v| v.capacity() != 0);
    spare
        .or_else(|| vectors().get())
        .unwrap_or_else(|| Vec::with_capacity(RACK))
}

/// Keeps the emptied vector `v` for reuse (this thread's spare first), or
/// frees it if it is not of the recycled size or enough are kept.
pub(crate) fn recycle(mut v: Rack) {
    v.clear();
    if v.capacity() != RACK {
        return;
    }
    // (When the thread is exiting, its thread-locals are gone and `v` is
    // freed with the closure.)
    let left = SPARE.try_with(|s| match s.try_borrow_mut() {
        Ok(mut s) if s.capacity() == 0 => {
            *s = v;
            None
        }
        _ => Some(v),
    });
    if let Ok(Some(v)) = left {
        vectors().put(v);
    }
}

/// An empty span box from this thread's rack (or the next returned rack),
/// if there is one.
#[inline]
pub(crate) fn take() -> Option<Box<SpanData>> {
    LOCAL
        .try_with(
            // The refill is out of line: inside, it made this function
            // save and restore more registers for every span.
            |local| {
                let mut local = local.borrow_mut();
                let b = match local.pop() {
                    Some(b) => b,
                    None => refill(&mut local)?,
                };
                // The box of a next span, on its way while this span runs:
                // the lines of its record the usual span fills, its two
                // tags included, four spans ahead.
                let n = local.len();
                if n > 0 {
                    prefetch_for_write(&local[n.saturating_sub(AHEAD)], prefetchw_supported());
                }
                let mut b = b;
                // A box the reporter thread returned as it was holds its last
                // span's tags, none of them on the heap: let go unread.
                b.tags.clear();
                Some(b)
            },
        )
        .ok()
        .flatten()
}

/// Fills this thread's empty rack with the next returned one (unemptied
/// racks first, so the memory they hold is let go soon) and takes a box
/// from it.
#[cold]
#[inline(never)]
fn refill(local: &mut Rack) -> Option<Box<SpanData>> {
    let rack = match unemptied().get() {
        Some(mut rack) => {
            rack.iter_mut().for_each(|b| empty(b));
            rack
        }
        None => racks().get()?,
    };
    recycle(std::mem::replace(local, rack));
    local.pop()
}

/// How many spans ahead a box's record is prefetched.
const AHEAD: usize = 4;

/// Asks the processor to bring `span`'s cache lines in, for writing, while
/// this span runs: the next span's record then does not wait for them to
/// come from the reporter's core.
#[inline(always)]
fn prefetch_for_write(span: &SpanData, exclusive: bool) {
    // As many lines as the usual span fills, from the record's start: where
    // it straddles one more, that last line is left to the stores (and the
    // lines of further tags, to theirs). Asking for it as well
    // was slower (`cargo bench --bench ratio`, alternated: ours /
    // rustracing_jaeger medians 0.30-0.37 -> 0.33-0.54, three pairs); boxes
    // lie side by side, so that line is also the next box's first, perhaps
    // in use on the other core at the time.
    let p = (span as *const SpanData).cast::<u8>();
    let lines = USUAL_BYTES.div_ceil(64);
    for i in 0..lines {
        prefetch_line(p.wrapping_add(i * 64), exclusive);
    }
}

/// The bytes of its record the usual span fills: all but the inline tag
/// slots after its two tags, which come last.
pub(crate) const USUAL_BYTES: usize = std::mem::offset_of!(SpanData, tags)
    + crate::tag::Tags::INLINE_OFFSET
    + 2 * std::mem::size_of::<Tag>();

/// Asks the processor to bring the record of `span` in, for reading (the
/// part the usual span fills): the reporter thread asks for the records
/// of the spans it will encode next, which are still in the cache of the
/// core that finished them, while it encodes this one (each would
/// otherwise stall it on its first field).
#[inline(always)]
pub(crate) fn prefetch_for_read(span: &SpanData) {
    prefetch_lines_for_read((span as *const SpanData).cast(), USUAL_BYTES);
}

/// Read prefetches of every cache line of the `bytes` bytes at `p`,
/// wherever they start.
#[inline(always)]
pub(crate) fn prefetch_lines_for_read(p: *const u8, bytes: usize) {
    let first = p.wrapping_sub(p as usize & 63);
    for offset in line_offsets(p as usize, bytes) {
        prefetch_line(first.wrapping_add(offset), false);
    }
}

/// The offsets, from the start of the cache line holding `address`, of the
/// lines the `bytes` bytes at `address` touch (none for none).
#[inline(always)]
fn line_offsets(address: usize, bytes: usize) -> impl Iterator<Item = usize> {
    let lines = ((address & 63) + bytes).div_ceil(64);
    (0..lines).map(|i| i * 64)
}

/// One cache line's prefetch for writing: `prefetchw` (`exclusive`, where
/// the processor has it), which takes the line exclusive at once;
/// otherwise `prefetcht0`, which brings it shared (the write then asks the
/// other cores to let go of it again). A hint: it never faults, and `p` is
/// not dereferenced.
#[inline(always)]
pub(crate) fn prefetch_line(p: *const u8, exclusive: bool) {
    #[cfg(target_arch = "x86_64")]
    {
        if exclusive {
            #[allow(unsafe_code)]
            // SAFETY: a prefetch is a hint: it never faults, changes no
            // memory and no register.
            unsafe {
                std::arch::asm!("prefetchw [{p}]", p = in(reg) p, options(nostack, preserves_flags, readonly));
            }
        } else {
            #[allow(unsafe_code)]
            // SAFETY: as above.
            unsafe {
                core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast());
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, exclusive);
}

/// Whether the processor has `prefetchw` (CPUID 8000_0001h, ECX bit 8),
/// asked once.
#[inline(always)]
pub(crate) fn prefetchw_supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::atomic::{AtomicU8, Ordering};
        static KNOWN: AtomicU8 = AtomicU8::new(0);
        match KNOWN.load(Ordering::Relaxed) {
            1 => false,
            2 => true,
            _ => {
                let ecx = core::arch::x86_64::__cpuid(0x8000_0001).ecx;
                let yes = ecx & (1 << 8) != 0;
                KNOWN.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
                yes
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Readies a span's box for reuse: frees what the span holds on the heap,
/// keeping only modest capacity. The usual span holds nothing of the kind
/// and is left as it is: its tags are let go when the box is taken.
/// The check is inlined into the loops that call it; the work, rare, is
/// not.
#[inline(always)]
fn empty(span: &mut SpanData) {
    if span.tags.owned()
        || span.tags.more_room() > KEEP_TAGS
        || !matches!(span.operation_name, Cow::Borrowed(_))
        || span.references.capacity() != 0
        || !span.logs.is_empty()
    {
        empty_heap(span);
    }
}

/// [`empty`]'s work, for a span that holds heap memory.
#[cold]
#[inline(never)]
fn empty_heap(span: &mut SpanData) {
    span.operation_name = Cow::Borrowed("");
    if span.tags.more_room() > KEEP_TAGS {
        span.tags = Default::default();
    } else {
        span.tags.clear();
    }
    if span.logs.capacity() > KEEP_LOGS {
        span.logs = Default::default();
    } else {
        span.logs.clear();
    }
    span.references = Default::default();
}

/// Keeps, emptied, the span boxes of a batch this thread could not queue
/// (the spans were dropped and counted), for its next spans; full racks go
/// to the channel, for any thread. The batch's vector is recycled.
pub(crate) fn keep_all(mut batch: Rack) {
    let _ = LOCAL.try_with(|local| {
        if let Ok(mut local) = local.try_borrow_mut() {
            for mut span in batch.drain(..) {
                empty(&mut span);
                if local.len() >= RACK {
                    let full = std::mem::replace(&mut *local, vector());
                    racks().put(full);
                }
                local.push(span);
            }
        }
    });
    // (Boxes left when the thread is exiting are freed with it.)
    recycle(batch);
}

/// Heap bytes a span holds that its recycled box would not keep: owned
/// strings of its name, tags and logs, its references, and tag or log room
/// beyond what a recycled box keeps. All of it was allocated on an
/// application thread.
fn owned_bytes(span: &SpanData) -> usize {
    // The question is which variant the `Cow` is, so it is taken whole.
    #[allow(clippy::ptr_arg)]
    fn cow(s: &Cow<'static, str>) -> usize {
        match s {
            Cow::Owned(s) => s.capacity(),
            Cow::Borrowed(_) => 0,
        }
    }
    fn tag(t: &Tag) -> usize {
        cow(&t.key)
            + match &t.value {
                TagValue::String(s) => cow(s),
                TagValue::Binary(b) => b.capacity(),
                _ => 0,
            }
    }
    let mut bytes = cow(&span.operation_name)
        + span.references.heap_bytes()
        + if span.tags.owned() {
            span.tags.iter().map(tag).sum::<usize>()
        } else {
            0
        };
    if span.tags.more_room() > KEEP_TAGS {
        bytes += span.tags.heap_bytes();
    }
    for log in &span.logs {
        bytes += log.fields.capacity() * std::mem::size_of::<Tag>()
            + log.fields.iter().map(tag).sum::<usize>();
    }
    if span.logs.capacity() > KEEP_LOGS {
        bytes += span.logs.heap_bytes();
    }
    bytes
}

/// A box holding more than this on the heap is emptied by the reporter
/// thread (a rare large span; its memory is not kept waiting for reuse).
const DEFER_MAX: usize = 4096;

/// The reporter thread's side: collects returned boxes into racks.
#[derive(Debug)]
pub(crate) struct Returns {
    /// Emptied boxes.
    rack: Rack,
    to: &'static Racks,
    /// Boxes left for an application thread to empty.
    unemptied: Rack,
    unemptied_to: &'static Racks,
}

impl Default for Returns {
    fn default() -> Self {
        Returns {
            rack: Vec::new(),
            to: racks(),
            unemptied: Vec::new(),
            unemptied_to: unemptied(),
        }
    }
}

impl Returns {
    /// Queues `span`'s box for reuse: emptied here when it holds nothing an
    /// application thread allocated for it (or a great deal), else as it
    /// is, for the application thread that takes it to empty.
    pub(crate) fn give(&mut self, mut span: Box<SpanData>) {
        let owned = owned_bytes(&span);
        if owned == 0 && span.logs.is_empty() {
            // Nothing to free: returned as it is (its tags are let go by
            // the application thread that takes it, see `take`).
            Self::add(&mut self.rack, self.to, span);
        } else if owned > DEFER_MAX {
            empty(&mut span);
            Self::add(&mut self.rack, self.to, span);
        } else {
            Self::add(&mut self.unemptied, self.unemptied_to, span);
        }
    }

    fn add(rack: &mut Rack, to: &Racks, span: Box<SpanData>) {
        if rack.capacity() == 0 {
            *rack = vector();
        }
        rack.push(span);
        if rack.len() >= RACK {
            to.put(std::mem::take(rack));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{SpanId, TraceId};
    use crate::span_context::Flags;
    use crate::tag::Tag;

    /// A span whose name and `n` tags hold nothing on the heap.
    fn static_span(n: usize) -> Box<SpanData> {
        let mut tags = crate::tag::Tags::new();
        for i in 0..n {
            tags.push(Tag::new("k", i as i64));
        }
        Box::new(SpanData {
            trace_id: TraceId::new(0, 1),
            span_id: SpanId::new(2),
            parent_id: SpanId::new(0),
            flags: Flags::SAMPLED,
            operation_name: Cow::Borrowed("op"),
            references: Default::default(),
            start: 1,
            end: 3,
            tags,
            logs: Default::default(),
            local_root: true,
        })
    }

    /// A span with an owned name and an owned tag value of `len` bytes.
    fn owned_span(len: usize) -> Box<SpanData> {
        let mut span = static_span(1);
        span.operation_name = Cow::Owned("op".to_owned());
        span.tags.push(Tag::new("url", "u".repeat(len)));
        span
    }

    fn returns(limit: usize) -> (Returns, &'static Racks, &'static Racks) {
        let racks: &'static Racks = Box::leak(Box::new(Racks::new(limit)));
        let unemptied: &'static Racks = Box::leak(Box::new(Racks::new(limit)));
        (
            Returns {
                rack: Vec::new(),
                to: racks,
                unemptied: Vec::new(),
                unemptied_to: unemptied,
            },
            racks,
            unemptied,
        )
    }

    fn assert_emptied(b: &SpanData) {
        assert_eq!(b.operation_name, "");
        assert!(b.tags.is_empty());
        assert!(
            b.tags.more_room() <= KEEP_TAGS,
            "large tag room is not kept"
        );
        assert!(b.logs.is_empty() && b.references.is_empty());
    }

    #[test]
    fn boxes_holding_nothing_on_the_heap_come_back_untouched_in_full_racks() {
        let (mut returns, racks, unemptied) = returns(RACKS);
        for _ in 0..RACK - 1 {
            returns.give(static_span(3));
        }
        assert!(racks.get().is_none(), "only full racks travel");
        returns.give(static_span(3));
        let rack = racks.get().expect("a full rack");
        assert_eq!(rack.len(), RACK);
        for b in &rack {
            // Not written by the reporter thread: its last tags are still
            // there, none of them on the heap.
            assert_eq!(b.tags.len(), 3);
            assert_eq!(owned_bytes(b), 0);
        }
        assert!(unemptied.get().is_none());
    }

    #[test]
    fn a_taken_box_holds_no_tags_and_its_slots_are_reused() {
        std::thread::spawn(|| {
            let mut returns = Returns::default();
            for _ in 0..RACK {
                returns.give(static_span(3));
            }
            // Whichever box this thread gets (other tests share the pool),
            // it comes without tags, names nothing owned, and writes its
            // next tags into its own slots, keeping the room it has.
            let mut b = take().expect("a box from the pool");
            assert!(b.tags.is_empty());
            assert!(matches!(b.operation_name, Cow::Borrowed(_)));
            assert!(b.logs.is_empty() && b.references.capacity() == 0);
            let room = b.tags.more_room();
            b.tags.push(Tag::new("k", 1));
            assert_eq!(b.tags.len(), 1);
            assert_eq!(b.tags.get(0).map(|t| t.key.as_ref()), Some("k"));
            assert_eq!(b.tags.more_room(), room);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn boxes_holding_application_memory_go_back_unemptied_unless_large() {
        let (mut returns, racks, unemptied) = returns(RACKS);
        for _ in 0..RACK {
            returns.give(owned_span(100));
            // Tag room beyond what a box keeps was allocated by the
            // application too.
            returns.give(static_span(40));
        }
        assert!(racks.get().is_none(), "nothing emptied by the reporter");
        for _ in 0..2 {
            let mut rack = unemptied.get().expect("a rack left unemptied");
            assert_eq!(rack.len(), RACK);
            assert!(rack
                .iter()
                .any(|b| b.operation_name == "op" && !b.tags.is_empty()));
            // What an application thread taking it does.
            rack.iter_mut().for_each(|b| empty(b));
            rack.iter().for_each(|b| assert_emptied(b));
        }
        // A span holding more than DEFER_MAX is emptied on the spot.
        for _ in 0..RACK {
            returns.give(owned_span(DEFER_MAX + 1));
        }
        let rack = racks.get().expect("large spans, emptied");
        rack.iter().for_each(|b| assert_emptied(b));
        assert!(unemptied.get().is_none());
    }

    #[test]
    fn racks_beyond_the_bound_are_freed_and_trim_keeps_what_it_is_told() {
        let (mut returns, racks, _) = returns(40);
        for _ in 0..50 * RACK {
            returns.give(static_span(3));
        }
        assert_eq!(racks.from.len(), 40, "the channel holds its bound, no more");
        racks.trim(RACKS);
        assert_eq!(racks.from.len(), RACKS);
        assert_eq!(racks.get().map(|r| r.len()), Some(RACK));
    }

    #[test]
    fn kept_boxes_beyond_a_rack_go_to_the_channel_not_to_free() {
        std::thread::spawn(|| {
            let mut given = Vec::new();
            for _ in 0..2 * RACK + 1 {
                let b = owned_span(10);
                given.push(&*b as *const SpanData as usize);
                keep_all(vec![b]);
            }
            // Two full racks left the thread; the last box stayed.
            assert_eq!(LOCAL.with(|l| l.borrow().len()), 1);
            let kept = take().expect("the kept box");
            assert_eq!(&*kept as *const SpanData as usize, given[2 * RACK]);
            assert_eq!(kept.operation_name, "", "kept boxes are emptied");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_read_prefetch_covers_every_line_the_usual_span_touches() {
        let size = USUAL_BYTES;
        for address in [0x1000, 0x1003, 0x1010, 0x1030, 0x103f, 0x1040] {
            let offsets: Vec<usize> = line_offsets(address, size).collect();
            let first_line = address & !63;
            let last_line = (address + size - 1) & !63;
            let expected: Vec<usize> = (first_line..=last_line)
                .step_by(64)
                .map(|line| line - first_line)
                .collect();
            assert_eq!(offsets, expected, "record at {address:#x}");
        }
        // A record of 168 bytes 63 bytes into a line spans four lines.
        assert_eq!(line_offsets(0x103f, 168).count(), 4);
        assert_eq!(line_offsets(0x1000, 128).count(), 2);
        assert_eq!(line_offsets(0x1000, 0).count(), 0);
    }

    #[test]
    fn vectors_are_recycled_with_their_room() {
        std::thread::spawn(|| {
            let mut v = vector();
            assert_eq!(v.capacity(), RACK);
            v.push(static_span(1));
            let at = v.as_ptr();
            recycle(v);
            let again = vector();
            assert_eq!(again.as_ptr(), at, "this thread's spare comes back");
            assert!(again.is_empty(), "a recycled vector is emptied");
            // Other sizes are not kept.
            recycle(Vec::with_capacity(1));
            assert_eq!(vector().capacity(), RACK);
        })
        .join()
        .unwrap();
    }
}
