//! Segments (the encoded spans of one trace finished in this process) and
//! packets (the spans of one batch), both as contiguous encoded bytes.

use std::time::Instant;

/// Encoded spans of one trace, in finishing order.
#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) bytes: Vec<u8>,
    /// End offset of each span in `bytes`.
    pub(crate) ends: Vec<usize>,
    /// When the first span arrived: a segment waits at most one flush
    /// interval for its local root.
    pub(crate) opened: Instant,
}

impl Segment {
    pub(crate) fn new(opened: Instant) -> Self {
        Segment {
            bytes: Vec::new(),
            ends: Vec::new(),
            opened,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The encoded spans one by one.
    pub(crate) fn spans(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let span = &self.bytes[start..end];
            start = end;
            span
        })
    }
}

/// The spans of the batch being filled.
#[derive(Debug, Default)]
pub(crate) struct Packet {
    pub(crate) bytes: Vec<u8>,
    pub(crate) count: usize,
    /// Arrival of the oldest span in the packet.
    pub(crate) oldest: Option<Instant>,
}

impl Packet {
    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub(crate) fn push_segment(&mut self, seg: &Segment) {
        self.bytes.extend_from_slice(&seg.bytes);
        self.count += seg.len();
        self.note_age(seg.opened);
    }

    pub(crate) fn push_span(&mut self, span: &[u8], opened: Instant) {
        self.bytes.extend_from_slice(span);
        self.count += 1;
        self.note_age(opened);
    }

    fn note_age(&mut self, opened: Instant) {
        self.oldest = Some(self.oldest.map_or(opened, |o| o.min(opened)));
    }

    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.count = 0;
        self.oldest = None;
    }
}
