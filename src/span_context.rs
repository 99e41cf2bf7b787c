//! The part of a span that crosses process boundaries: ids, flags, baggage.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::error::Error;
use crate::id::{parse_hex_u64, SpanId, TraceId};

/// The trace flags carried in the context (the last field of `uber-trace-id`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u8);

impl Flags {
    /// The trace is recorded and reported.
    pub const SAMPLED: Flags = Flags(1);
    /// The trace was forced on (debug); implies sampled.
    pub const DEBUG: Flags = Flags(2);
    /// Firehose mode: the backend skips indexing.
    pub const FIREHOSE: Flags = Flags(8);

    /// Flags from their raw bits.
    pub const fn from_bits(bits: u8) -> Self {
        Flags(bits)
    }

    /// The raw bits.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// True when every bit of `other` is set.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// These flags with the bits of `other` set.
    #[must_use]
    pub const fn with(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    /// These flags with the bits of `other` cleared.
    #[must_use]
    pub const fn without(self, other: Flags) -> Flags {
        Flags(self.0 & !other.0)
    }

    /// True when the sampled bit is set.
    pub const fn is_sampled(self) -> bool {
        self.contains(Flags::SAMPLED)
    }

    /// True when the debug bit is set.
    pub const fn is_debug(self) -> bool {
        self.contains(Flags::DEBUG)
    }

    /// True when the firehose bit is set.
    pub const fn is_firehose(self) -> bool {
        self.contains(Flags::FIREHOSE)
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Flags({:#x}{}{}{})",
            self.0,
            if self.is_sampled() { " sampled" } else { "" },
            if self.is_debug() { " debug" } else { "" },
            if self.is_firehose() { " firehose" } else { "" }
        )
    }
}

/// Baggage: key/value pairs that travel with the trace to every later span,
/// in this process and across process boundaries.
///
/// Shared copy-on-write, so handing a context to a child costs a reference
/// count, not a copy. The items are packed into one string (key, value,
/// key, value, ...) with their end offsets alongside, so extracting baggage
/// costs two allocations however many items it has.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Baggage(Option<Arc<Packed>>);

/// Baggage items packed into one buffer.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Packed {
    text: String,
    /// Per item: the end of its key and the end of its value in `text`.
    ends: smallvec::SmallVec<[(u32, u32); 4]>,
}

impl Packed {
    /// Appends an item written by `key` and `value` straight into the
    /// buffer (no intermediate strings). Repeated keys are resolved by
    /// [`Baggage::from_packed`].
    pub(crate) fn push_with(
        &mut self,
        key: impl FnOnce(&mut String),
        value: impl FnOnce(&mut String),
    ) {
        if self.text.capacity() == 0 {
            self.text.reserve(64);
        }
        key(&mut self.text);
        let key_end = self.text.len() as u32;
        value(&mut self.text);
        self.ends.push((key_end, self.text.len() as u32));
    }

    pub(crate) fn push(&mut self, key: &str, value: &str) {
        self.push_with(|t| t.push_str(key), |t| t.push_str(value));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut start = 0usize;
        self.ends.iter().map(move |&(k, v)| {
            let (k, v) = (k as usize, v as usize);
            let item = (&self.text[start..k], &self.text[k..v]);
            start = v;
            item
        })
    }

    /// The key of item `i`.
    fn key(&self, i: usize) -> &str {
        let start = if i == 0 {
            0
        } else {
            self.ends[i - 1].1 as usize
        };
        &self.text[start..self.ends[i].0 as usize]
    }

    fn has_repeats(&self) -> bool {
        let n = self.ends.len();
        if n <= 16 {
            // The usual few items: compared in place, nothing collected.
            return (1..n).any(|i| (0..i).any(|j| self.key(i) == self.key(j)));
        }
        let mut keys: Vec<&str> = (0..n).map(|i| self.key(i)).collect();
        keys.sort_unstable();
        keys.windows(2).any(|w| w[0] == w[1])
    }
}

impl Baggage {
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    pub(crate) fn set(&mut self, key: String, value: String) {
        // Rebuilt whole: setting baggage is rare next to reading it.
        let mut fresh = Packed::default();
        let mut replaced = false;
        for (k, v) in self.iter() {
            if k == key {
                fresh.push(k, &value);
                replaced = true;
            } else {
                fresh.push(k, v);
            }
        }
        if !replaced {
            fresh.push(&key, &value);
        }
        self.0 = Some(Arc::new(fresh));
    }

    /// Baggage from packed items in order; a repeated key keeps its last
    /// value (in the position of its first appearance).
    pub(crate) fn from_packed(packed: Packed) -> Self {
        if packed.is_empty() {
            return Baggage(None);
        }
        if packed.has_repeats() {
            // One pass however many repeats (a hostile carrier may send
            // thousands): the first position of each key, its last value.
            let mut last: std::collections::HashMap<&str, &str> =
                std::collections::HashMap::with_capacity(packed.ends.len());
            let mut order = Vec::with_capacity(packed.ends.len());
            for (k, v) in packed.iter() {
                if last.insert(k, v).is_none() {
                    order.push(k);
                }
            }
            let mut fresh = Packed::default();
            for k in order {
                fresh.push(k, last[k]);
            }
            return Baggage(Some(Arc::new(fresh)));
        }
        Baggage(Some(Arc::new(packed)))
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.as_deref().into_iter().flat_map(Packed::iter)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|p| p.is_empty())
    }

    /// How many items, their keys' and values' bytes, and whether `key_ok`
    /// holds for every key (given as bytes): read off the packed text in
    /// one pass, without making the items.
    pub(crate) fn census(&self, key_ok: impl Fn(&[u8]) -> bool) -> (usize, usize, bool) {
        let Some(p) = self.0.as_deref() else {
            return (0, 0, true);
        };
        let text = p.text.as_bytes();
        let mut start = 0usize;
        let mut all_ok = true;
        for &(k, v) in &p.ends {
            all_ok &= text.get(start..k as usize).is_some_and(&key_ok);
            start = v as usize;
        }
        (p.ends.len(), p.text.len(), all_ok)
    }

    /// Adds the items of `other` that this baggage does not have yet.
    pub(crate) fn merge_missing(&mut self, other: &Baggage) {
        if self.is_empty() {
            *self = other.clone();
            return;
        }
        if other.is_empty() || self.0.as_ref().map(Arc::as_ptr) == other.0.as_ref().map(Arc::as_ptr)
        {
            return;
        }
        let missing: Vec<(String, String)> = other
            .iter()
            .filter(|(k, _)| self.get(k).is_none())
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        for (k, v) in missing {
            self.set(k, v);
        }
    }
}

impl fmt::Debug for Baggage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// The propagated state of a span: trace id, span id, parent id, flags and
/// baggage.
///
/// A context extracted from a carrier may be *partial*: it carries no trace
/// (`is_valid()` is false) but holds baggage or a `jaeger-debug-id`. Starting
/// a span with such a parent starts a new trace that keeps that baggage (and,
/// for a debug id, is forced to debug + sampled).
///
/// `Display` and `FromStr` use the `uber-trace-id` form
/// `{trace-id}:{span-id}:{parent-id}:{flags}` (hex).
///
/// ```
/// use jaeger_tracer::SpanContext;
/// let ctx: SpanContext = "abc:1:0:1".parse().unwrap();
/// assert!(ctx.is_sampled());
/// assert_eq!(ctx.to_string(), "0000000000000abc:0000000000000001:0000000000000000:1");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SpanContext {
    trace_id: TraceId,
    span_id: SpanId,
    parent_id: SpanId,
    flags: Flags,
    baggage: Baggage,
    /// What few contexts carry, behind one pointer to keep the context (and
    /// every span) small.
    rare: Option<Arc<Rare>>,
    /// True when this context came from another process (extract or parse);
    /// a span started under it is a local root.
    remote: bool,
}

/// The parts of a context that few contexts have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rare {
    /// A `jaeger-debug-id` (partial contexts only).
    debug_id: Option<Box<str>>,
    /// A sampling decision received without a trace (B3's lone
    /// `X-B3-Sampled`, `X-B3-Flags` or `b3: 0|1|d`; partial contexts only),
    /// which the new trace's root follows instead of asking the sampler.
    decision: Option<Flags>,
    /// W3C `tracestate`, carried through unchanged to children and on
    /// inject.
    trace_state: Option<Box<str>>,
}

impl Rare {
    /// What a child inherits: the `tracestate`, not a partial context's
    /// debug id or decision. Out of line: few contexts have rare parts,
    /// and inlined into the child's start it cost every child span
    /// (a thread-local access was no longer inlined there).
    #[cold]
    #[inline(never)]
    fn for_child(self: &Arc<Self>) -> Option<Arc<Rare>> {
        if self.debug_id.is_none() && self.decision.is_none() {
            return Some(self.clone());
        }
        self.trace_state.clone().map(|s| {
            Arc::new(Rare {
                debug_id: None,
                decision: None,
                trace_state: Some(s),
            })
        })
    }
}

impl SpanContext {
    /// A context with the given ids and flags and no baggage.
    pub fn new(trace_id: TraceId, span_id: SpanId, parent_id: SpanId, flags: Flags) -> Self {
        SpanContext::from_parts(
            trace_id,
            span_id,
            parent_id,
            flags,
            Baggage::default(),
            None,
        )
    }

    /// A child's context, all parts at once (built in place: no partial
    /// writes copied around afterwards).
    #[inline]
    pub(crate) fn from_parts(
        trace_id: TraceId,
        span_id: SpanId,
        parent_id: SpanId,
        flags: Flags,
        baggage: Baggage,
        rare: Option<Arc<Rare>>,
    ) -> Self {
        SpanContext {
            trace_id,
            span_id,
            parent_id,
            flags,
            baggage,
            rare,
            remote: false,
        }
    }

    /// The context of a no-op span: no trace, nothing sampled.
    pub(crate) const fn empty() -> Self {
        SpanContext {
            trace_id: TraceId::new(0, 0),
            span_id: SpanId::new(0),
            parent_id: SpanId::new(0),
            flags: Flags::from_bits(0),
            baggage: Baggage(None),
            rare: None,
            remote: false,
        }
    }

    /// A partial context carrying only a `jaeger-debug-id`.
    pub(crate) fn with_debug_id_only(debug_id: &str) -> Self {
        let mut ctx = SpanContext::empty();
        ctx.rare = Some(Arc::new(Rare {
            debug_id: Some(debug_id.into()),
            decision: None,
            trace_state: None,
        }));
        ctx.remote = true;
        ctx
    }

    /// A partial context carrying only a sampling decision: `flags`
    /// (sampled, and debug) for the root of the trace started under it.
    pub(crate) fn with_decision_only(flags: Flags) -> Self {
        let mut ctx = SpanContext::empty();
        ctx.rare = Some(Arc::new(Rare {
            debug_id: None,
            decision: Some(flags),
            trace_state: None,
        }));
        ctx.remote = true;
        ctx
    }

    /// The sampling decision a partial context carries, if any.
    pub(crate) fn upstream_decision(&self) -> Option<Flags> {
        self.rare.as_ref()?.decision
    }

    /// The trace id.
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// This span's id.
    pub fn span_id(&self) -> SpanId {
        self.span_id
    }

    /// The parent span's id, zero for a root.
    pub fn parent_id(&self) -> SpanId {
        self.parent_id
    }

    /// The flags.
    pub fn flags(&self) -> Flags {
        self.flags
    }

    /// True when the trace is sampled.
    pub fn is_sampled(&self) -> bool {
        self.flags.is_sampled()
    }

    /// True when the trace is a forced debug trace.
    pub fn is_debug(&self) -> bool {
        self.flags.is_debug()
    }

    /// True when the context names a real span (non-zero trace and span id).
    pub fn is_valid(&self) -> bool {
        self.trace_id.is_valid() && self.span_id.is_valid()
    }

    /// True when this context was received from another process.
    pub fn is_remote(&self) -> bool {
        self.remote
    }

    /// The `jaeger-debug-id` this partial context carries, if any.
    pub fn debug_id(&self) -> Option<&str> {
        self.rare.as_ref()?.debug_id.as_deref()
    }

    /// The baggage value for `key`.
    pub fn baggage_item(&self, key: &str) -> Option<&str> {
        self.baggage.get(key)
    }

    /// Iterates over the baggage items in insertion order.
    pub fn baggage_items(&self) -> impl Iterator<Item = (&str, &str)> {
        self.baggage.iter()
    }

    /// This context with one more baggage item (or a replaced value).
    ///
    /// Unlike [`Span::set_baggage_item`](crate::Span::set_baggage_item),
    /// it takes any key; one that is not a valid HTTP header name is left
    /// out by the text formats' inject (the binary format carries it).
    #[must_use]
    pub fn with_baggage_item(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.baggage.set(key.into(), value.into());
        self
    }

    /// The W3C `tracestate` received with this trace, if any.
    pub fn trace_state(&self) -> Option<&str> {
        self.rare.as_ref()?.trace_state.as_deref()
    }

    /// Sets the W3C `tracestate` (and drops any debug id).
    pub(crate) fn set_trace_state(&mut self, state: Option<Box<str>>) {
        self.rare = state.map(|s| {
            Arc::new(Rare {
                debug_id: None,
                decision: None,
                trace_state: Some(s),
            })
        });
    }

    /// True when dropping this context frees nothing (no baggage, none of
    /// the rare parts).
    #[inline]
    pub(crate) fn holds_nothing(&self) -> bool {
        self.baggage.0.is_none() && self.rare.is_none()
    }

    /// What a child's context inherits from this one beyond ids, flags and
    /// baggage: the `tracestate`.
    #[inline]
    pub(crate) fn rare_for_child(&self) -> Option<Arc<Rare>> {
        self.rare.as_ref().and_then(Rare::for_child)
    }

    /// This context marked as received from another process.
    #[must_use]
    pub fn into_remote(mut self) -> Self {
        self.remote = true;
        self
    }

    pub(crate) fn baggage(&self) -> &Baggage {
        &self.baggage
    }

    pub(crate) fn baggage_mut(&mut self) -> &mut Baggage {
        &mut self.baggage
    }

    pub(crate) fn set_flags(&mut self, flags: Flags) {
        self.flags = flags;
    }

    pub(crate) fn set_baggage(&mut self, baggage: Baggage) {
        self.baggage = baggage;
    }
}

impl Default for SpanContext {
    /// The empty (invalid) context of a no-op span.
    fn default() -> Self {
        SpanContext::empty()
    }
}

impl fmt::Debug for SpanContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpanContext")
            .field("trace_id", &self.trace_id)
            .field("span_id", &self.span_id)
            .field("parent_id", &self.parent_id)
            .field("flags", &self.flags)
            .field("baggage", &self.baggage)
            .field("debug_id", &self.debug_id())
            .field("upstream_decision", &self.upstream_decision())
            .field("trace_state", &self.trace_state())
            .field("remote", &self.remote)
            .finish()
    }
}

impl SpanContext {
    /// The `uber-trace-id` form, built without the formatting machinery
    /// (this runs for every injected request).
    pub(crate) fn to_header(&self) -> String {
        // Exactly as long as the header: a carrier that keeps the bytes as
        // they are (`http::HeaderValue`) takes them without a copy.
        let flags = self.flags.bits();
        let len = if self.trace_id.high() != 0 { 16 } else { 0 }
            + 3 * (1 + 16)
            + if flags >= 16 { 2 } else { 1 };
        let mut out = Vec::with_capacity(len);
        let mut buf = [0u8; 16];
        if self.trace_id.high() != 0 {
            crate::id::hex16(self.trace_id.high(), &mut buf);
            out.extend_from_slice(&buf);
        }
        for (v, sep) in [
            (self.trace_id.low(), b':'),
            (self.span_id.get(), b':'),
            (self.parent_id.get(), b':'),
        ] {
            crate::id::hex16(v, &mut buf);
            out.extend_from_slice(&buf);
            out.push(sep);
        }
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        if flags >= 16 {
            out.push(DIGITS[(flags >> 4) as usize]);
        }
        out.push(DIGITS[(flags & 0xf) as usize]);
        debug_assert!(out.is_ascii() && out.len() == out.capacity());
        // (Not checked again: that was a sixth of the tracer's share of an
        // inject, by `perf` on a loop of injects.)
        #[allow(unsafe_code)]
        // SAFETY: only ASCII was written: the digits of `hex16` and of
        // `DIGITS`, and ':'.
        unsafe {
            String::from_utf8_unchecked(out)
        }
    }
}

impl fmt::Display for SpanContext {
    /// Ids are written at full width (16 or 32 hex digits), flags in hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_header())
    }
}

/// The common case in one pass over the bytes: four `:`-separated hex
/// fields of valid widths, non-zero trace and span ids. Anything else
/// (`%3A`, bad digits, wrong widths, zero ids) is left to the general
/// parser, which names what is wrong.
fn parse_plain(s: &str) -> Option<SpanContext> {
    if let Some(ctx) = parse_full_width(s.as_bytes()) {
        return Some(ctx);
    }
    let [trace, span, parent, flags] = split4(s)?.map(str::as_bytes);
    let width_ok = |f: &[u8], max: usize| !f.is_empty() && f.len() <= max;
    if !(width_ok(trace, 32) && width_ok(span, 16) && width_ok(parent, 16) && width_ok(flags, 2)) {
        return None;
    }
    let split = trace.len().saturating_sub(16);
    let trace_id = TraceId::new(
        crate::id::hex_u64(&trace[..split])?,
        crate::id::hex_u64(&trace[split..])?,
    );
    let span_id = SpanId::new(crate::id::hex_u64(span)?);
    let parent_id = SpanId::new(crate::id::hex_u64(parent)?);
    let flags = Flags::from_bits(crate::id::hex_u64(flags)? as u8);
    remote_if_valid(trace_id, span_id, parent_id, flags)
}

/// The form the Go and Java clients and this one write: ids at full width
/// (16 or 32, 16, 16 hex digits), flags in one or two, so the separators
/// are at known places and each id is read in two register-wide steps.
#[inline]
fn parse_full_width(b: &[u8]) -> Option<SpanContext> {
    let t = match b.len() {
        51 | 52 => 16,
        67 | 68 => 32,
        _ => return None,
    };
    if b[t] != b':' || b[t + 17] != b':' || b[t + 34] != b':' {
        return None;
    }
    let id = |at: usize| -> Option<u64> {
        let digits: &[u8; 16] = b.get(at..at + 16)?.try_into().ok()?;
        crate::id::unhex16(digits)
    };
    let high = if t == 32 { id(0)? } else { 0 };
    let trace_id = TraceId::new(high, id(t - 16)?);
    let span_id = SpanId::new(id(t + 1)?);
    let parent_id = SpanId::new(id(t + 18)?);
    let flags = Flags::from_bits(crate::id::hex_u64(&b[t + 35..])? as u8);
    remote_if_valid(trace_id, span_id, parent_id, flags)
}

/// The remote context of these parts, if the trace and span ids are real.
#[inline]
fn remote_if_valid(
    trace_id: TraceId,
    span_id: SpanId,
    parent_id: SpanId,
    flags: Flags,
) -> Option<SpanContext> {
    if !trace_id.is_valid() || !span_id.is_valid() {
        return None;
    }
    let mut ctx = SpanContext::new(trace_id, span_id, parent_id, flags);
    ctx.remote = true;
    Some(ctx)
}

/// The four `:`-separated parts of `s`, if it has exactly four.
fn split4(s: &str) -> Option<[&str; 4]> {
    let (a, rest) = s.split_once(':')?;
    let (b, rest) = rest.split_once(':')?;
    let (c, d) = rest.split_once(':')?;
    (!d.contains(':')).then_some([a, b, c, d])
}

impl FromStr for SpanContext {
    type Err = Error;

    /// Parses `{trace-id}:{span-id}:{parent-id}:{flags}`, also with `%3A` for
    /// `:`. Ids may omit leading zeros; the trace id may have up to 32 digits;
    /// flags are hex. The trace and span ids must be non-zero. The result is
    /// marked remote.
    fn from_str(s: &str) -> Result<Self, Error> {
        if let Some(ctx) = parse_plain(s) {
            return Ok(ctx);
        }
        let decoded;
        let s = if s.as_bytes().contains(&b'%') {
            decoded = s.replace("%3A", ":").replace("%3a", ":");
            decoded.as_str()
        } else {
            s
        };
        let Some([trace, span, parent, flags]) = split4(s) else {
            return Err(Error::propagation(format!(
                "uber-trace-id {s:?} must have exactly four ':'-separated parts"
            )));
        };
        let trace_id: TraceId = trace.parse()?;
        let span_id: SpanId = span.parse()?;
        if !span_id.is_valid() {
            return Err(Error::propagation(format!(
                "uber-trace-id {s:?} has a zero span id"
            )));
        }
        let parent_id: SpanId = parent.parse()?;
        if flags.len() > 2 {
            return Err(Error::propagation(format!(
                "uber-trace-id {s:?} has flags {flags:?} wider than one byte"
            )));
        }
        let flags = Flags::from_bits(parse_hex_u64(flags, "flags")? as u8);
        let mut ctx = SpanContext::new(trace_id, span_id, parent_id, flags);
        ctx.remote = true;
        Ok(ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_parser_agrees_with_the_general_one() {
        // `%3A` for `:` takes the general path: both must give the same.
        for s in [
            "abc:1:0:1",
            "000000000000abcd:0000000000000012:0000000000000000:1",
            "0123456789abcdef0123456789ABCDEF:ffffffffffffffff:1:ff",
            "1:2:3:0",
            "0:1:0:1",
            "1:0:0:1",
            "1:2:3:100",
            "1:2:3",
            "1:2:3:4:5",
            "1::3:4",
            "g:1:0:1",
            "1:2:3:",
            "00000000000000000000000000000000a:1:0:1",
            "1:00000000000000001:0:1",
            "1:2:3:☃",
            // Full width: the fixed-position reader.
            "0123456789abcdef0123456789ABCDEF:ffffffffffffffff:0000000000000001:ff",
            "0123456789abcdef0123456789ABCDEF:ffffffffffffffff:0000000000000001:1",
            "00000000000000000000000000000000:ffffffffffffffff:0000000000000001:1",
            "0000000000000000:0000000000000012:0000000000000000:1",
            "000000000000abcd:0000000000000000:0000000000000000:1",
            "000000000000abcd:00000000000000g2:0000000000000000:1",
            "000000000000abcd:0000000000000012:000000000000000G:1",
            "00000000000Xabcd:0000000000000012:0000000000000000:1",
            "000000000000abcd:0000000000000012:0000000000000000:g",
            "000000000000abcd:0000000000000012:0000000000000000:1:",
            "000000000000abcd:0000000000000012:0000000000000000::",
            "000000000000abcd:0000000000000012:00000000000000000:",
            "000000000000abcd;0000000000000012:0000000000000000:1",
            "000000000000abcd:0000000000000012:000000000000000é:1",
            "000000000000abc:d0000000000000012:0000000000000000:1",
        ] {
            let plain = parse_plain(s);
            let general = s.replace(':', "%3A").parse::<SpanContext>().ok();
            assert_eq!(plain.is_some(), general.is_some(), "{s}");
            if let Some(p) = plain {
                assert_eq!(Some(p.clone()), general, "{s}");
                assert_eq!(s.parse::<SpanContext>().ok(), Some(p), "{s}");
            }
        }
    }

    #[test]
    fn parses_reference_client_forms() {
        // Go (full width), Python (no leading zeros), Java (zero parent as "0").
        for s in [
            "000000000000abcd:0000000000000012:0000000000000000:1",
            "abcd:12:0:1",
            "abcd%3A12%3A0%3A1",
        ] {
            let ctx: SpanContext = s.parse().unwrap();
            assert_eq!(ctx.trace_id(), TraceId::new(0, 0xabcd), "{s}");
            assert_eq!(ctx.span_id(), SpanId::new(0x12), "{s}");
            assert_eq!(ctx.parent_id(), SpanId::new(0), "{s}");
            assert!(ctx.is_sampled());
            assert!(ctx.is_remote());
        }
    }

    #[test]
    fn flags_are_hex() {
        let ctx: SpanContext = "1:2:0:a".parse().unwrap();
        assert_eq!(ctx.flags().bits(), 0x0a);
        assert!(ctx.flags().is_firehose() && ctx.is_debug() && !ctx.is_sampled());
        let ctx: SpanContext = "1:2:0:10".parse().unwrap();
        assert_eq!(ctx.flags().bits(), 0x10);
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "",
            "1:2:0",
            "1:2:0:1:5",
            "0:2:0:1",
            "1:0:0:1",
            "x:2:0:1",
            "1:2:0:100",
            "1:2:0:",
            ":2:0:1",
        ] {
            let err = s.parse::<SpanContext>().unwrap_err();
            assert!(err.is_propagation(), "{s}: {err}");
        }
    }

    /// The header is built in a buffer of exactly its length (checked by a
    /// debug assertion in `to_header`), for 64- and 128-bit trace ids and
    /// flags of one hex digit and of two.
    #[test]
    fn header_fills_its_buffer_exactly() {
        for high in [0, 1, u64::MAX] {
            for bits in [0, 1, 3, 15, 16, 0x1f, 0xff] {
                let ctx = SpanContext::new(
                    TraceId::new(high, 0xabc),
                    SpanId::new(3),
                    SpanId::new(0),
                    Flags::from_bits(bits),
                );
                let header = ctx.to_header();
                let trace = if high == 0 { 16 } else { 32 };
                let flags = if bits >= 16 { 2 } else { 1 };
                assert_eq!(header.len(), trace + 3 + 16 + 16 + flags, "{header}");
                assert_eq!(header.len(), header.capacity(), "{header}");
            }
        }
    }

    #[test]
    fn display_round_trips_128_bit() {
        let ctx = SpanContext::new(
            TraceId::new(0x1, 0x2),
            SpanId::new(3),
            SpanId::new(4),
            Flags::SAMPLED.with(Flags::DEBUG),
        );
        let text = ctx.to_string();
        assert_eq!(
            text,
            "00000000000000010000000000000002:0000000000000003:0000000000000004:3"
        );
        let back: SpanContext = text.parse().unwrap();
        assert_eq!(back.into_remote(), ctx.into_remote());
    }

    #[test]
    fn baggage_is_copy_on_write() {
        let a = SpanContext::new(
            TraceId::new(0, 1),
            SpanId::new(1),
            SpanId::new(0),
            Flags::SAMPLED,
        )
        .with_baggage_item("k", "v");
        let b = a.clone().with_baggage_item("k", "w");
        assert_eq!(a.baggage_item("k"), Some("v"));
        assert_eq!(b.baggage_item("k"), Some("w"));
        assert_eq!(b.baggage_items().count(), 1);
    }

    /// A repeated key keeps its last value at its first position, for a
    /// few items (compared in place) and for many (sorted, then one pass).
    #[test]
    fn packed_baggage_resolves_repeats_in_order() {
        for n in [3usize, 16, 17, 5000] {
            let mut packed = Packed::default();
            for i in 0..n {
                packed.push(&format!("k{}", i % (n - 1)), &i.to_string());
            }
            let baggage = Baggage::from_packed(packed);
            let items: Vec<(&str, &str)> = baggage.iter().collect();
            assert_eq!(items.len(), n - 1, "n = {n}");
            assert_eq!(items[0], ("k0", &*(n - 1).to_string()), "n = {n}");
            for (i, (k, v)) in items.iter().enumerate().skip(1) {
                assert_eq!((*k, *v), (&*format!("k{i}"), &*i.to_string()));
            }
        }
        let mut distinct = Packed::default();
        for i in 0..40 {
            distinct.push(&format!("k{i}"), "v");
        }
        assert!(!distinct.has_repeats());
        assert_eq!(Baggage::from_packed(distinct).iter().count(), 40);
    }
}
