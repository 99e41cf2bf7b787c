//! Segments (the encoded spans of one trace finished in this process) and
//! packets (the spans of one batch), both as contiguous encoded bytes.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::time::Instant;

use crate::id::TraceId;

/// The segments still waiting for their local roots, by trace.
pub(crate) type OpenSegments = HashMap<TraceId, Segment, TraceIdHash>;

/// Hashes the trace ids of the open segments: a multiply folded to 64
/// bits per word and one more to finish, under keys drawn at random for
/// each reporter.
///
/// The reporter looks a trace up for every span it takes, and SipHash (the
/// standard map's) was a tenth of its time by `perf`. Trace ids arrive from
/// other processes in headers, so the hash is keyed: without the keys, ids
/// that collide cannot be chosen in advance.
#[derive(Clone)]
pub(crate) struct TraceIdHash {
    keys: [u64; 3],
}

impl TraceIdHash {
    /// Keys drawn at random.
    pub(crate) fn new() -> Self {
        TraceIdHash {
            keys: [rand::random(), rand::random(), rand::random()],
        }
    }
}

impl BuildHasher for TraceIdHash {
    type Hasher = FoldedHasher;

    fn build_hasher(&self) -> FoldedHasher {
        FoldedHasher {
            state: self.keys[0],
            key: self.keys[1] | 1,
            last: self.keys[2] | 1,
        }
    }
}

/// The hasher of [`TraceIdHash`].
pub(crate) struct FoldedHasher {
    state: u64,
    key: u64,
    /// The finishing multiplier.
    last: u64,
}

/// The high and low halves of the 128-bit product, xored.
#[inline(always)]
fn folded_multiply(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

impl Hasher for FoldedHasher {
    #[inline(always)]
    fn write_u64(&mut self, word: u64) {
        self.state = folded_multiply(self.state ^ word, self.key);
    }

    fn write(&mut self, bytes: &[u8]) {
        // (A trace id is hashed as two words; this is for completeness.)
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    /// (Without the last multiply, sequential ids filled the buckets of a
    /// small table unevenly under some keys.)
    #[inline(always)]
    fn finish(&self) -> u64 {
        folded_multiply(self.state, self.last)
    }
}

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
        split_at_ends(&self.bytes, &self.ends)
    }
}

/// The spans in `bytes`, each ending at the next of `ends`.
fn split_at_ends<'a>(bytes: &'a [u8], ends: &'a [usize]) -> impl Iterator<Item = &'a [u8]> {
    let mut start = 0;
    ends.iter().map(move |&end| {
        let span = &bytes[start..end];
        start = end;
        span
    })
}

/// The spans of the batch being filled.
#[derive(Debug, Default)]
pub(crate) struct Packet {
    pub(crate) bytes: Vec<u8>,
    /// End offset of each span in `bytes` (so that a batch the network
    /// refuses can be sent again in smaller ones).
    pub(crate) ends: Vec<usize>,
    pub(crate) count: usize,
    /// Arrival of the oldest span in the packet.
    pub(crate) oldest: Option<Instant>,
}

impl Packet {
    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub(crate) fn push_segment(&mut self, seg: &Segment) {
        let base = self.bytes.len();
        self.bytes.extend_from_slice(&seg.bytes);
        self.ends.extend(seg.ends.iter().map(|end| base + end));
        self.count += seg.len();
        self.note_age(seg.opened);
    }

    pub(crate) fn push_span(&mut self, span: &[u8], opened: Instant) {
        self.bytes.extend_from_slice(span);
        self.ends.push(self.bytes.len());
        self.count += 1;
        self.note_age(opened);
    }

    /// The encoded spans one by one.
    pub(crate) fn spans(&self) -> impl Iterator<Item = &[u8]> {
        split_at_ends(&self.bytes, &self.ends)
    }

    fn note_age(&mut self, opened: Instant) {
        self.oldest = Some(self.oldest.map_or(opened, |o| o.min(opened)));
    }

    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
        self.count = 0;
        self.oldest = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trace ids that differ in any bit spread over the buckets of a small
    /// table (sequential ids, ids differing only in the high half, and
    /// ids that are multiples of a large power of two), and the keys make
    /// two reporters hash alike ids differently.
    #[test]
    fn trace_ids_spread_over_the_buckets_under_random_keys() {
        let hash = TraceIdHash::new();
        type Ids = fn(u64) -> TraceId;
        let sets: [(&str, Ids); 3] = [
            ("sequential", |i| TraceId::new(0, i)),
            ("high half only", |i| TraceId::new(i, 7)),
            ("multiples of 2^20", |i| TraceId::new(0, i << 20)),
        ];
        for (name, id) in sets {
            let mut buckets = [0u32; 256];
            for i in 0..25_600u64 {
                buckets[(hash.hash_one(id(i)) & 255) as usize] += 1;
            }
            let (min, max) = (buckets.iter().min().unwrap(), buckets.iter().max().unwrap());
            assert!(
                *min > 40 && *max < 180,
                "{name}: buckets hold {min}..{max} of 100 expected"
            );
            // The top bits, which the map keeps as tags, spread too.
            let mut tops = [0u32; 128];
            for i in 0..12_800u64 {
                tops[(hash.hash_one(id(i)) >> 57) as usize] += 1;
            }
            assert!(tops.iter().all(|&n| n > 40 && n < 180), "{name}: top bits");
        }
        let other = TraceIdHash::new();
        let differ = (0..64u64)
            .filter(|&i| hash.hash_one(TraceId::new(0, i)) != other.hash_one(TraceId::new(0, i)))
            .count();
        assert_eq!(
            differ, 64,
            "another reporter's keys hash the same ids differently"
        );
        let mut open = OpenSegments::with_hasher(hash);
        for i in 0..1000u64 {
            open.insert(TraceId::new(i, i), Segment::new(Instant::now()));
        }
        assert_eq!(open.len(), 1000);
        assert!((0..1000u64).all(|i| open.contains_key(&TraceId::new(i, i))));
        assert!(!open.contains_key(&TraceId::new(1, 0)));
    }
}
