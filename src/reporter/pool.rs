//! Span records: the boxes an application thread's spans fill while they
//! run, and the blocks that carry finished spans to the reporter thread
//! and come back for reuse.
//!
//! A sampled span lives in a `Box<SpanData>` from its start to its finish.
//! At its finish its record (the part it fills) is copied into the next
//! free slot of its thread's [`Block`], and the box goes back to the
//! thread for its next span, so a running span's record is one its thread
//! used moments ago, still in its own cache.
//!
//! A block holds [`BLOCK`] records side by side, filled one after the
//! other. Full, it travels through the queue's channel as one batch; the
//! reporter thread encodes its spans where they lie and returns it,
//! through a channel shared by the process, to whichever application
//! thread next needs one. Blocks in place of the boxes themselves
//! travelling (to the reporter thread and back, in racks of 64) made the
//! application thread's sampled span cheaper (`examples/bursts.rs`, see
//! `docs/performance.md`): records written one after the other in a
//! block, a running span's record never one the other core had last, no
//! box to take from a rack per span, and a block that meets a full queue
//! emptied and reused on the spot.
//!
//! Nothing is freed on the wrong thread while spans flow: the allocator
//! locks the memory of the thread that allocated a block to free it
//! elsewhere, so an application thread allocating its next span would wait
//! (asleep, in a futex) while the reporter thread freed its last ones. A
//! block whose records hold memory an application thread allocated (an
//! owned name, tag or log, references, tags beyond the inline ones) comes
//! back as it is, in a channel of its own whose blocks are taken first,
//! and the application thread that takes it frees that memory. A record
//! holding more than [`DEFER_MAX`] is emptied by the reporter thread
//! instead (a rare large span; its memory is not kept waiting).
//!
//! A free slot (past a block's records in use) holds nothing on the heap,
//! so a record is copied into it without the slot being read, and a block
//! is emptied by forgetting its records unless it holds memory.
//!
//! A block is allocated only when no emptied one is waiting, so the blocks
//! in existence are as many as were in use at once at the busiest moment
//! (the full queue's, at most); the channel keeps them (up to
//! [`MAX_BLOCKS`]) while spans flow. Once no span has arrived for
//! [`IDLE`], the reporter thread frees all but [`BLOCKS`].

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::OnceLock;

use crossbeam_channel::{bounded, Receiver, Sender};

use crate::span::SpanData;
use crate::tag::{Tag, TagValue, Tags};

/// Records a block holds: the spans a thread's slot collects before they
/// travel as one batch.
pub(crate) const BLOCK: usize = 32;
/// Blocks the channel keeps through idle times.
const BLOCKS: usize = 16;
/// Blocks the channel can hold (32,768 spans, beyond the default queue's
/// 20,000). Its slots are allocated once, so passing a block allocates and
/// frees nothing.
const MAX_BLOCKS: usize = 1024;
/// Boxes a thread keeps for its next spans (as many as it has spans open
/// at once, up to this).
const BOXES: usize = 64;

/// A batch of finished spans' records, side by side.
pub(crate) struct Block {
    /// Records in use, from the first slot.
    len: usize,
    /// Whether a record in use may hold heap memory.
    owned: bool,
    /// The slot (its address) this one span was sent past, because the
    /// reporter thread held the slot at the time: the span goes after the
    /// spans the slot holds (see `Queue::drain`). Zero for any other batch.
    overtook: usize,
    recs: [SpanData; BLOCK],
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block")
            .field("len", &self.len)
            .field("owned", &self.owned)
            .finish_non_exhaustive()
    }
}

impl Block {
    /// A block of free slots, made where it will stay, on the heap.
    ///
    /// (Built as a value and then boxed, its 14 KiB were made on the stack
    /// of the thread finishing its first span, and moved: that thread's
    /// stack kept 28 KiB more resident for as long as it lived (52
    /// unoptimised), and a thread with a small stack could overflow it.)
    #[allow(unsafe_code)]
    fn new() -> Box<Block> {
        let mut block = Box::<Block>::new_uninit();
        let at = block.as_mut_ptr();
        // SAFETY: `at` points to memory allocated for a `Block`; each field
        // is written once through a raw pointer (no reference to the
        // uninitialised memory is made), every record of `recs` included,
        // so the block is initialised when `assume_init` says it is.
        unsafe {
            std::ptr::addr_of_mut!((*at).len).write(0);
            std::ptr::addr_of_mut!((*at).owned).write(false);
            std::ptr::addr_of_mut!((*at).overtook).write(0);
            let recs = std::ptr::addr_of_mut!((*at).recs).cast::<SpanData>();
            for i in 0..BLOCK {
                recs.add(i).write(empty_record());
            }
            block.assume_init()
        }
    }

    /// Records in use.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether no record is in use.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether every slot is in use.
    pub(crate) fn is_full(&self) -> bool {
        self.len == BLOCK
    }

    /// The slot this batch's span was sent past (see [`Block::overtake`]),
    /// zero if none.
    pub(crate) fn overtook(&self) -> usize {
        self.overtook
    }

    /// Marks the batch as one span its thread sent past `slot` (its
    /// address), which the reporter thread held: the span was finished
    /// after the slot's spans, and must be handed over after them.
    pub(crate) fn overtake(&mut self, slot: usize) {
        self.overtook = slot;
    }

    /// The records in use, in the order they were put.
    pub(crate) fn spans(&self) -> &[SpanData] {
        &self.recs[..self.len]
    }

    /// Moves `span`'s record into the next free slot (there must be one):
    /// the part it fills is copied, and `span` is left holding nothing on
    /// the heap (what it held is the block's now).
    #[inline(always)]
    #[allow(unsafe_code)]
    pub(crate) fn put(&mut self, span: &mut SpanData) {
        let used = filled_bytes(&span.tags);
        let slot: *mut SpanData = &mut self.recs[self.len];
        // (The usual span, with two tags or fewer, is copied as if it had
        // two: one length, so the copy's branches always go the same way;
        // its free slots hold nothing on the heap either. The compiler
        // makes it a call to `memcpy`, which stores 32 bytes at a time
        // where the processor can: the same copy in line, 16-byte moves in
        // two shorter copies, was slower, as the stores into lines last
        // read by the reporter's core wait; see docs/performance.md.)
        let (from, to) = ((span as *const SpanData).cast::<u8>(), slot.cast::<u8>());
        // SAFETY: `slot` is a free slot: it holds nothing on the heap, so
        // overwriting it frees nothing. The first `used` bytes of a record
        // are its fields before the tags, the tag list's own fields and its
        // inline slots in use (`Tags` and `SpanData` are `repr(C)`, tags
        // last, inline slots last in `Tags`): copied over the slot's, they
        // make a valid record whose tag slots past those in use are the
        // free slot's, which hold nothing on the heap either. The two
        // records do not overlap (`span` is not in a block).
        unsafe {
            if used <= USUAL_BYTES {
                std::ptr::copy_nonoverlapping(from, to, USUAL_BYTES);
            } else {
                std::ptr::copy_nonoverlapping(from, to, used);
            }
        }
        self.len += 1;
        if holds_heap(span) {
            self.owned = true;
            // SAFETY: each field written is one `span` shares with the
            // slot's copy, which owns it now: overwritten without being
            // dropped (the copy frees it).
            unsafe {
                std::ptr::write(&mut span.operation_name, Cow::Borrowed(""));
                std::ptr::write(&mut span.references, Default::default());
                std::ptr::write(&mut span.logs, Default::default());
                std::ptr::write(&mut span.tags, Tags::new());
            }
        }
    }

    /// [`put`](Block::put)s the record of the span `span` holds, and keeps
    /// the box for this thread's next span.
    #[inline(always)]
    pub(crate) fn put_box(&mut self, mut span: Box<SpanData>) {
        self.put(&mut span);
        keep_box(span);
    }

    /// Frees what its records hold (on the calling thread) and frees its
    /// slots.
    pub(crate) fn clear(&mut self) {
        if self.owned {
            for r in &mut self.recs[..self.len] {
                if holds_heap(r) {
                    *r = empty_record();
                }
            }
            self.owned = false;
        }
        self.len = 0;
        self.overtook = 0;
    }
}

/// The bytes of `tags`' record a span fills: all but its free inline tag
/// slots, which come last.
#[inline(always)]
fn filled_bytes(tags: &Tags) -> usize {
    bytes_before_inline_slot(tags.inline_len())
}

/// The bytes of a record up to its inline tag slot `n`: those a span
/// with `n` inline tags fills.
const fn bytes_before_inline_slot(n: usize) -> usize {
    std::mem::offset_of!(SpanData, tags) + Tags::INLINE_OFFSET + n * std::mem::size_of::<Tag>()
}

/// Whether `span` holds heap memory: an owned name, key or value, tag
/// slots beyond the inline ones, references or logs.
#[inline(always)]
fn holds_heap(span: &SpanData) -> bool {
    span.tags.owned()
        || span.tags.more_room() != 0
        || !matches!(span.operation_name, Cow::Borrowed(_))
        || span.references.capacity() != 0
        || span.logs.capacity() != 0
}

/// A record holding nothing: a free slot's.
fn empty_record() -> SpanData {
    SpanData {
        trace_id: Default::default(),
        span_id: Default::default(),
        parent_id: Default::default(),
        flags: Default::default(),
        operation_name: Cow::Borrowed(""),
        references: Default::default(),
        start: 0,
        end: 0,
        tags: Tags::new(),
        logs: Default::default(),
        local_root: false,
    }
}

/// A bounded channel of emptied blocks, or of blocks still holding
/// application memory.
#[derive(Debug)]
struct Blocks {
    to: Sender<Box<Block>>,
    from: Receiver<Box<Block>>,
}

impl Blocks {
    /// A channel for at most `bound` blocks; beyond, what is put is freed.
    fn new(bound: usize) -> Self {
        let (to, from) = bounded(bound);
        Blocks { to, from }
    }

    fn put(&self, block: Box<Block>) {
        let _ = self.to.try_send(block);
    }

    fn get(&self) -> Option<Box<Block>> {
        self.from.try_recv().ok()
    }

    /// Frees the blocks beyond `keep`.
    fn trim(&self, keep: usize) {
        while self.from.len() > keep {
            match self.get() {
                Some(block) => drop(block),
                None => break,
            }
        }
    }
}

fn emptied() -> &'static Blocks {
    static EMPTIED: OnceLock<Blocks> = OnceLock::new();
    EMPTIED.get_or_init(|| Blocks::new(MAX_BLOCKS))
}

/// Blocks whose records still hold what an application thread allocated
/// for them: emptied by the application thread that takes them.
fn unemptied() -> &'static Blocks {
    static UNEMPTIED: OnceLock<Blocks> = OnceLock::new();
    UNEMPTIED.get_or_init(|| Blocks::new(MAX_BLOCKS))
}

thread_local! {
    /// This thread's boxes for its next spans (boxed: a span holds one, so
    /// that the span itself stays small).
    #[allow(clippy::vec_box)]
    static BOXES_: RefCell<Vec<Box<SpanData>>> = const { RefCell::new(Vec::new()) };
    /// An emptied block kept for this thread's next batch.
    static SPARE: RefCell<Option<Box<Block>>> = const { RefCell::new(None) };
}

/// How long no span must arrive before [`trim`].
pub(crate) const IDLE: std::time::Duration = std::time::Duration::from_secs(5);

/// Frees the blocks beyond [`BLOCKS`] (called by a reporter thread once no
/// span arrived for [`IDLE`]).
pub(crate) fn trim() {
    emptied().trim(BLOCKS);
    unemptied().trim(0);
}

/// An empty block: this thread's spare, a returned one (one still holding
/// application memory first, emptied here), or a new one.
pub(crate) fn block() -> Box<Block> {
    let spare = SPARE
        .try_with(|s| s.try_borrow_mut().ok().and_then(|mut s| s.take()))
        .ok()
        .flatten();
    if let Some(block) = spare {
        return block;
    }
    if let Some(mut block) = unemptied().get() {
        block.clear();
        return block;
    }
    emptied().get().unwrap_or_else(Block::new)
}

/// An emptied block, or a new one, for the reporter thread (which leaves
/// the blocks holding application memory to the application threads).
pub(crate) fn emptied_block() -> Box<Block> {
    emptied().get().unwrap_or_else(Block::new)
}

/// Keeps a block whose spans this thread could not queue (they were
/// dropped and counted), emptied, for its next batch; beyond one, for any
/// thread.
pub(crate) fn keep(mut block: Box<Block>) {
    block.clear();
    // (When the thread is exiting, its thread-locals are gone and the
    // block is freed with the closure.)
    let left = SPARE.try_with(|s| match s.try_borrow_mut() {
        Ok(mut s) if s.is_none() => {
            *s = Some(block);
            None
        }
        _ => Some(block),
    });
    if let Ok(Some(block)) = left {
        emptied().put(block);
    }
}

/// Heap bytes a span holds: owned strings of its name, tags and logs, its
/// references, and tag or log room. All of it was allocated on an
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
        + span.tags.heap_bytes()
        + span.logs.heap_bytes();
    if span.tags.owned() {
        bytes += span.tags.iter().map(tag).sum::<usize>();
    }
    for log in &span.logs {
        bytes += log.fields.capacity() * std::mem::size_of::<Tag>()
            + log.fields.iter().map(tag).sum::<usize>();
    }
    bytes
}

/// A record holding more than this on the heap is emptied by the reporter
/// thread (a rare large span; its memory is not kept waiting for reuse).
const DEFER_MAX: usize = 4096;

/// The reporter thread's side: a block whose spans it has encoded, back to
/// the application threads; as it is if a record holds application memory
/// (emptied by the thread that takes it), else emptied by forgetting its
/// records.
pub(crate) fn give_back(block: Box<Block>) {
    give_back_to(block, emptied(), unemptied());
}

/// [`give_back`], into the channels given.
fn give_back_to(mut block: Box<Block>, emptied: &Blocks, unemptied: &Blocks) {
    if block.owned {
        let mut owned = false;
        for r in &mut block.recs[..block.len] {
            if holds_heap(r) {
                if owned_bytes(r) > DEFER_MAX {
                    *r = empty_record();
                } else {
                    owned = true;
                }
            }
        }
        if owned {
            unemptied.put(block);
            return;
        }
        block.owned = false;
    }
    block.len = 0;
    block.overtook = 0;
    emptied.put(block);
}

/// A box for a new span, holding no tags, if this thread keeps one.
#[inline]
pub(crate) fn take() -> Option<Box<SpanData>> {
    BOXES_
        .try_with(|boxes| {
            let mut b = boxes.try_borrow_mut().ok()?.pop()?;
            // Its last span's tags, none of them on the heap (see
            // `Block::put`): let go unread.
            b.tags.clear();
            Some(b)
        })
        .ok()
        .flatten()
}

/// Keeps the box of a span whose record went into a block (holding
/// nothing on the heap) for this thread's next spans; beyond [`BOXES`] it
/// is freed.
#[inline]
fn keep_box(b: Box<SpanData>) {
    debug_assert!(!holds_heap(&b));
    let _ = BOXES_.try_with(|boxes| {
        if let Ok(mut boxes) = boxes.try_borrow_mut() {
            if boxes.len() < BOXES {
                boxes.push(b);
            }
        }
    });
}

/// The bytes of its record the usual span fills: all but the inline tag
/// slots after its two tags, which come last.
pub(crate) const USUAL_BYTES: usize = bytes_before_inline_slot(2);

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
        prefetch_line(first.wrapping_add(offset));
    }
}

/// The offsets, from the start of the cache line holding `address`, of the
/// lines the `bytes` bytes at `address` touch (none for none).
#[inline(always)]
fn line_offsets(address: usize, bytes: usize) -> impl Iterator<Item = usize> {
    let lines = ((address & 63) + bytes).div_ceil(64);
    (0..lines).map(|i| i * 64)
}

/// One cache line's read prefetch (`prefetcht0`). A hint: it never faults,
/// and `p` is not dereferenced.
#[inline(always)]
fn prefetch_line(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    {
        #[allow(unsafe_code)]
        // SAFETY: a prefetch is a hint: it never faults, changes no memory
        // and no register.
        unsafe {
            core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{SpanId, TraceId};
    use crate::span_context::Flags;
    use crate::tag::Tag;

    /// A span whose name and `n` tags hold nothing on the heap.
    fn static_span(n: usize) -> Box<SpanData> {
        let mut tags = Tags::new();
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

    /// The fields the encoder reads, as text.
    fn shown(span: &SpanData) -> String {
        format!(
            "{:?} {:?} {:?} {:?} {} {} {} {:?} {:?} {}",
            span.trace_id,
            span.span_id,
            span.parent_id,
            span.flags,
            span.operation_name,
            span.start,
            span.end,
            span.tags
                .iter()
                .map(|t| (t.key.to_string(), format!("{:?}", t.value)))
                .collect::<Vec<_>>(),
            span.references.len(),
            span.logs.len(),
        )
    }

    #[test]
    fn a_record_put_in_a_block_reads_as_it_was_and_leaves_its_box_holding_nothing() {
        let mut block = Block::new();
        // Owned parts, tags beyond the inline slots, and a static span
        // after one with more tags (its free slots then hold the earlier
        // record's tags, none on the heap).
        let mut spans = vec![owned_span(100), static_span(40), static_span(2)];
        spans[1].operation_name = Cow::Borrowed("many");
        let expected: Vec<String> = spans.iter().map(|s| shown(s)).collect();
        for s in &mut spans {
            block.put(s);
            assert!(!holds_heap(s), "the box keeps nothing the block owns");
        }
        assert_eq!(block.len(), 3);
        assert!(block.owned);
        let got: Vec<String> = block.spans().iter().map(shown).collect();
        assert_eq!(got, expected);
        // Emptied: the records holding memory are freed, every slot is free.
        block.clear();
        assert!(block.is_empty() && !block.owned);
        assert!(block.recs.iter().all(|r| !holds_heap(r)));
    }

    #[test]
    fn the_usual_span_fills_the_bytes_it_is_prefetched_for() {
        assert_eq!(filled_bytes(&static_span(2).tags), USUAL_BYTES);
        // Never more than the record.
        assert!(filled_bytes(&static_span(40).tags) <= std::mem::size_of::<SpanData>());
    }

    #[test]
    fn blocks_holding_nothing_on_the_heap_come_back_emptied() {
        let (emptied, unemptied) = (Blocks::new(4), Blocks::new(4));
        let mut block = Block::new();
        for _ in 0..BLOCK {
            block.put(&mut static_span(3));
        }
        assert!(block.is_full() && !block.owned);
        give_back_to(block, &emptied, &unemptied);
        let again = emptied.get().expect("the block, emptied");
        assert!(again.is_empty());
        // Its records are forgotten, not rewritten (they hold nothing on
        // the heap): the reporter thread only read them.
        assert_eq!(again.recs[0].tags.iter().count(), 3);
        assert!(again.recs.iter().all(|r| !holds_heap(r)));
        assert!(unemptied.get().is_none());
    }

    #[test]
    fn blocks_holding_application_memory_go_back_unemptied_unless_large() {
        let (emptied, unemptied) = (Blocks::new(4), Blocks::new(4));
        let mut block = Block::new();
        block.put(&mut owned_span(100));
        block.put(&mut owned_span(DEFER_MAX + 1));
        block.put(&mut static_span(2));
        give_back_to(block, &emptied, &unemptied);
        assert!(
            emptied.get().is_none(),
            "nothing small freed by the reporter"
        );
        let mut taken = unemptied.get().expect("the block, unemptied");
        assert_eq!(taken.len(), 3);
        assert!(holds_heap(&taken.recs[0]), "the small record is left");
        assert!(
            !holds_heap(&taken.recs[1]),
            "the large one is emptied at once"
        );
        // What the application thread that takes it does.
        taken.clear();
        assert!(taken.is_empty());
        assert!(taken.recs.iter().all(|r| !holds_heap(r)));
        // Only large records: emptied by the reporter, the block with them.
        let mut block = Block::new();
        block.put(&mut owned_span(DEFER_MAX + 1));
        give_back_to(block, &emptied, &unemptied);
        assert!(unemptied.get().is_none());
        assert!(emptied.get().expect("emptied").is_empty());
    }

    #[test]
    fn blocks_beyond_the_bound_are_freed_and_trim_keeps_what_it_is_told() {
        let blocks = Blocks::new(40);
        for _ in 0..50 {
            blocks.put(Block::new());
        }
        assert_eq!(
            blocks.from.len(),
            40,
            "the channel holds its bound, no more"
        );
        blocks.trim(BLOCKS);
        assert_eq!(blocks.from.len(), BLOCKS);
    }

    #[test]
    fn a_thread_keeps_its_boxes_and_its_dropped_block() {
        std::thread::spawn(|| {
            let b = static_span(3);
            let mut block = block();
            let at = &*b as *const SpanData as usize;
            block.put_box(b);
            let again = take().expect("the kept box");
            assert_eq!(&*again as *const SpanData as usize, at);
            assert!(again.tags.is_empty(), "a kept box comes without tags");
            let block_at = &*block as *const Block as usize;
            keep(block);
            let next = super::block();
            assert_eq!(&*next as *const Block as usize, block_at, "the spare first");
            assert!(next.is_empty());
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
}
