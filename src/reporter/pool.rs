//! Recycled span boxes.
//!
//! Every sampled span lives in a `Box<SpanData>` from its start until the
//! reporter thread has encoded it. Allocating it on an application thread
//! and freeing it on the reporter thread costs both sides (the allocator's
//! cross-thread free path is its slowest). Instead the reporter thread
//! empties encoded boxes and returns them, a full rack at a time, through a
//! small bounded channel shared by the process; an application thread
//! keeps one rack and takes the next when it runs out. When the channel is
//! full the reporter frees the boxes; when it is empty the application
//! thread allocates. Memory held is bounded: `RACKS` racks of `RACK` boxes
//! in the channel, plus one rack per thread.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::OnceLock;

use crossbeam_channel::{bounded, Receiver, Sender};

use crate::span::SpanData;

/// Boxes returned together.
pub(crate) const RACK: usize = 64;
/// Racks waiting in the channel.
const RACKS: usize = 16;
/// A recycled box keeps at most this many tags' and logs' room.
const KEEP_TAGS: usize = 16;
const KEEP_LOGS: usize = 4;

type Rack = Vec<Box<SpanData>>;

fn channel() -> &'static (Sender<Rack>, Receiver<Rack>) {
    static CHANNEL: OnceLock<(Sender<Rack>, Receiver<Rack>)> = OnceLock::new();
    CHANNEL.get_or_init(|| bounded(RACKS))
}

thread_local! {
    static LOCAL: RefCell<Rack> = const { RefCell::new(Vec::new()) };
}

/// An empty span box from this thread's rack (or the next returned rack),
/// if there is one.
#[inline]
pub(crate) fn take() -> Option<Box<SpanData>> {
    LOCAL
        .try_with(|local| {
            let mut local = local.borrow_mut();
            let b = match local.pop() {
                Some(b) => b,
                None => {
                    *local = channel().1.try_recv().ok()?;
                    local.pop()?
                }
            };
            // The next span's box, on its way while this span runs.
            if let Some(next) = local.last() {
                prefetch_for_write(next);
            }
            Some(b)
        })
        .ok()
        .flatten()
}

/// Asks the processor to bring `span`'s cache lines in, for writing, while
/// this span runs: the next span's record then does not wait for them to
/// come from the reporter's core.
#[inline]
fn prefetch_for_write(span: &SpanData) {
    #[cfg(target_arch = "x86_64")]
    {
        let p = (span as *const SpanData).cast::<i8>();
        let lines = std::mem::size_of::<SpanData>().div_ceil(64);
        for i in 0..lines {
            #[allow(unsafe_code)]
            // SAFETY: a prefetch is a hint: it never faults and changes no
            // memory; `p.wrapping_add` stays within (or one line past) a
            // live allocation and is not dereferenced by this code.
            unsafe {
                core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_ET0 }>(
                    p.wrapping_add(i * 64),
                );
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = span;
}

/// Clears a span for reuse, keeping only modest capacity.
fn empty(span: &mut SpanData) {
    span.operation_name = Cow::Borrowed("");
    if span.tags.capacity() > KEEP_TAGS {
        span.tags = Default::default();
    } else {
        span.tags.clear();
    }
    if span.logs.capacity() > KEEP_LOGS {
        span.logs = Vec::new();
    } else {
        span.logs.clear();
    }
    span.references = Vec::new();
}

/// Keeps, emptied, a span box this thread could not queue (the span was
/// dropped and counted), for its next span.
pub(crate) fn keep(mut span: Box<SpanData>) {
    let _ = LOCAL.try_with(|local| {
        if let Ok(mut local) = local.try_borrow_mut() {
            if local.len() < RACK {
                empty(&mut span);
                local.push(span);
            }
        }
    });
}

/// The reporter thread's side: collects emptied boxes into racks.
#[derive(Debug)]
pub(crate) struct Returns {
    rack: Rack,
    to: Sender<Rack>,
}

impl Default for Returns {
    fn default() -> Self {
        Returns {
            rack: Vec::new(),
            to: channel().0.clone(),
        }
    }
}

impl Returns {
    /// Empties `span` (keeping modest capacity) and queues it for reuse.
    pub(crate) fn give(&mut self, mut span: Box<SpanData>) {
        empty(&mut span);
        if self.rack.capacity() == 0 {
            self.rack.reserve_exact(RACK);
        }
        self.rack.push(span);
        if self.rack.len() == RACK {
            // A full channel means enough boxes are waiting: these are freed.
            let _ = self.to.try_send(std::mem::take(&mut self.rack));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{SpanId, TraceId};
    use crate::span_context::Flags;
    use crate::tag::Tag;

    fn span() -> Box<SpanData> {
        let mut tags = crate::tag::Tags::new();
        for i in 0..40 {
            tags.push(Tag::new("k", i as i64));
        }
        Box::new(SpanData {
            trace_id: TraceId::new(0, 1),
            span_id: SpanId::new(2),
            parent_id: SpanId::new(0),
            flags: Flags::SAMPLED,
            operation_name: Cow::Owned("op".into()),
            references: Vec::new(),
            start_us: 1,
            duration_us: 2,
            tags,
            logs: Vec::new(),
            local_root: true,
        })
    }

    #[test]
    fn returned_boxes_come_back_empty_in_full_racks() {
        let (to, from) = bounded(RACKS);
        let mut returns = Returns {
            rack: Vec::new(),
            to,
        };
        for _ in 0..RACK - 1 {
            returns.give(span());
        }
        assert!(from.try_recv().is_err(), "only full racks travel");
        returns.give(span());
        let rack = from.try_recv().expect("a full rack");
        assert_eq!(rack.len(), RACK);
        for b in rack {
            assert_eq!(b.operation_name, "");
            assert!(b.tags.is_empty());
            assert!(b.tags.capacity() <= KEEP_TAGS, "large tag room is not kept");
            assert!(b.logs.is_empty() && b.references.is_empty());
        }
    }

    #[test]
    fn a_full_channel_frees_the_rack() {
        let (to, from) = bounded(1);
        let mut returns = Returns {
            rack: Vec::new(),
            to,
        };
        for _ in 0..3 * RACK {
            returns.give(span());
        }
        assert_eq!(from.len(), 1, "the channel holds its bound, no more");
    }
}
