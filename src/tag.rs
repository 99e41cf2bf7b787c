//! Tag values and log fields: the typed key/value data recorded on spans.

use std::borrow::Cow;
use std::fmt;

use crate::span::Thin;

/// The value of a tag or log field. Each variant maps to one Jaeger
/// `TagType`.
///
/// Conversions exist from the usual Rust types, so `span.set_tag("http.status_code", 200)`
/// and `span.set_tag("error", true)` work directly. String literals are
/// stored without allocation.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum TagValue {
    /// A string (`TagType::STRING`).
    String(Cow<'static, str>),
    /// A boolean (`TagType::BOOL`).
    Bool(bool),
    /// A signed 64-bit integer (`TagType::LONG`).
    I64(i64),
    /// A 64-bit float (`TagType::DOUBLE`).
    F64(f64),
    /// Raw bytes (`TagType::BINARY`).
    Binary(Vec<u8>),
}

impl TagValue {
    /// Whether the value may hold heap memory: an owned string, bytes.
    #[inline(always)]
    pub(crate) fn on_heap(&self) -> bool {
        matches!(self, TagValue::String(Cow::Owned(_)) | TagValue::Binary(_))
    }

    /// The value as an integer, when it is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            TagValue::I64(v) => Some(*v),
            _ => None,
        }
    }

    /// The value as a string slice, when it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            TagValue::String(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Debug for TagValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagValue::String(s) => fmt::Debug::fmt(s, f),
            TagValue::Bool(b) => fmt::Debug::fmt(b, f),
            TagValue::I64(i) => fmt::Debug::fmt(i, f),
            TagValue::F64(x) => fmt::Debug::fmt(x, f),
            TagValue::Binary(b) => write!(f, "<{} bytes>", b.len()),
        }
    }
}

impl fmt::Display for TagValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagValue::String(s) => f.write_str(s),
            TagValue::Bool(b) => write!(f, "{b}"),
            TagValue::I64(i) => write!(f, "{i}"),
            TagValue::F64(x) => write!(f, "{x}"),
            TagValue::Binary(b) => write!(f, "<{} bytes>", b.len()),
        }
    }
}

impl From<&'static str> for TagValue {
    fn from(v: &'static str) -> Self {
        TagValue::String(Cow::Borrowed(v))
    }
}

impl From<String> for TagValue {
    fn from(v: String) -> Self {
        TagValue::String(Cow::Owned(v))
    }
}

impl From<Cow<'static, str>> for TagValue {
    fn from(v: Cow<'static, str>) -> Self {
        TagValue::String(v)
    }
}

impl From<bool> for TagValue {
    fn from(v: bool) -> Self {
        TagValue::Bool(v)
    }
}

impl From<f64> for TagValue {
    fn from(v: f64) -> Self {
        TagValue::F64(v)
    }
}

impl From<f32> for TagValue {
    fn from(v: f32) -> Self {
        TagValue::F64(v.into())
    }
}

impl From<Vec<u8>> for TagValue {
    fn from(v: Vec<u8>) -> Self {
        TagValue::Binary(v)
    }
}

impl From<&[u8]> for TagValue {
    fn from(v: &[u8]) -> Self {
        TagValue::Binary(v.to_vec())
    }
}

macro_rules! int_into_tag {
    ($($t:ty),*) => {$(
        impl From<$t> for TagValue {
            fn from(v: $t) -> Self {
                TagValue::I64(v.into())
            }
        }
    )*};
}
int_into_tag!(i8, i16, i32, i64, u8, u16, u32);

impl From<u64> for TagValue {
    /// Values above `i64::MAX` cannot be a Jaeger `LONG`; they become strings
    /// rather than wrap to negative numbers.
    fn from(v: u64) -> Self {
        match i64::try_from(v) {
            Ok(i) => TagValue::I64(i),
            Err(_) => TagValue::String(Cow::Owned(v.to_string())),
        }
    }
}

impl From<usize> for TagValue {
    fn from(v: usize) -> Self {
        TagValue::from(v as u64)
    }
}

impl From<isize> for TagValue {
    fn from(v: isize) -> Self {
        TagValue::I64(v as i64)
    }
}

/// A key with a typed value, as recorded on a span or in a log.
#[derive(Clone, PartialEq)]
pub(crate) struct Tag {
    pub(crate) key: Cow<'static, str>,
    pub(crate) value: TagValue,
}

impl Tag {
    pub(crate) fn new(key: impl Into<Cow<'static, str>>, value: impl Into<TagValue>) -> Self {
        Tag {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// Tags a span record holds in itself: the usual span's two, a root's
/// sampler tags, or the five or so of an instrumented request.
pub(crate) const INLINE: usize = 6;

/// The tags of a recording span, in order.
///
/// The first [`INLINE`] tags are kept in the record itself: they need no
/// allocation of their own, no pointer is followed to write or read them,
/// and they travel with the record when it is copied into a block (see
/// `reporter::pool`). The inline slots come last in the record, so that
/// slots a span does not use are neither touched nor copied. Tags beyond
/// those go to slots in a vector of the record's own.
///
/// Slots past the tags in use hold nothing on the heap (empty tags, or the
/// static tags of a kept record's last span): a new tag is then written
/// into its slot field by field, with no call in between, and clearing
/// static tags only forgets them, without reading the slots. (A tag handed
/// to a vector's `push` is built aside first, in case the vector must
/// grow, and copied into place with wide loads of the narrow stores just
/// made: a store-forwarding stall for every tag.)
#[derive(Clone)]
#[repr(C)]
pub(crate) struct Tags {
    /// Slots for the tags after the first [`INLINE`]. One word, as most
    /// records never have any.
    more: Thin<Tag>,
    /// The tags in use (32 bits: four billion tags would fill 224 GB).
    len: u32,
    /// Whether a tag in use may hold heap memory (an owned key or string,
    /// bytes). Without, clearing is forgetting: nothing to free.
    owned: bool,
    /// The first tags, last in the record.
    inline: [Tag; INLINE],
}

impl Default for Tags {
    fn default() -> Self {
        Tags::new()
    }
}

impl Tags {
    /// Where the inline slots start.
    pub(crate) const INLINE_OFFSET: usize = std::mem::offset_of!(Tags, inline);

    /// No tags and no slots beyond the inline ones.
    pub(crate) const fn new() -> Self {
        Tags {
            inline: [Tag::EMPTY; INLINE],
            more: Thin::new(),
            len: 0,
            owned: false,
        }
    }

    /// The tags of `tags`, taken over (the vector itself keeps those after
    /// the first [`INLINE`]).
    pub(crate) fn from_vec(mut tags: Vec<Tag>) -> Self {
        let mut taken = Tags::new();
        taken.owned = tags.iter().any(Tag::on_heap);
        taken.len = tags.len() as u32;
        let first = tags.len().min(INLINE);
        for (slot, tag) in taken.inline.iter_mut().zip(tags.drain(..first)) {
            *slot = tag;
        }
        if !tags.is_empty() {
            taken.more = tags.into();
        }
        taken
    }

    /// Appends a tag: into a free slot when there is one.
    #[inline(always)]
    pub(crate) fn push_parts(&mut self, key: Cow<'static, str>, value: TagValue) {
        // (Known at compile time for a literal key and a number.)
        self.owned |= matches!(key, Cow::Owned(_)) || value.on_heap();
        let i = self.len as usize;
        let slot = match self.inline.get_mut(i) {
            Some(slot) => slot,
            None => match self.more.as_mut_slice().get_mut(i - INLINE) {
                Some(slot) => slot,
                None => return self.push_new(Tag { key, value }),
            },
        };
        // A free slot holds nothing on the heap: nothing to free, so it is
        // overwritten without being read.
        std::mem::forget(std::mem::replace(&mut slot.key, key));
        std::mem::forget(std::mem::replace(&mut slot.value, value));
        self.len += 1;
    }

    /// Appends a tag.
    #[inline]
    pub(crate) fn push(&mut self, tag: Tag) {
        self.push_parts(tag.key, tag.value);
    }

    #[cold]
    #[inline(never)]
    fn push_new(&mut self, tag: Tag) {
        // Only called when every slot is in use.
        self.more.push(tag);
        self.len += 1;
    }

    /// The tags in use: the inline ones, then the others.
    pub(crate) fn as_slices(&self) -> (&[Tag], &[Tag]) {
        let len = self.len as usize;
        let first = &self.inline[..len.min(INLINE)];
        let rest = self.more.get(..len.saturating_sub(INLINE)).unwrap_or(&[]);
        (first, rest)
    }

    /// The tags in use, in order.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = &Tag> + Clone {
        let (first, rest) = self.as_slices();
        first.iter().chain(rest)
    }

    /// How many inline slots are in use.
    #[inline(always)]
    pub(crate) fn inline_len(&self) -> usize {
        (self.len as usize).min(INLINE)
    }

    /// How many tags are in use.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether no tag is in use.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The tag at `i`, if in use.
    #[cfg(test)]
    pub(crate) fn get(&self, i: usize) -> Option<&Tag> {
        self.iter().nth(i)
    }

    /// The room for tags beyond the inline ones (0 without any).
    pub(crate) fn more_room(&self) -> usize {
        self.more.capacity()
    }

    /// Heap memory this list holds: its slot vector's box and room.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.more.heap_bytes()
    }

    /// Asks the processor to bring the tags in use beyond the usual span's
    /// two in, for reading (the reporter thread, a few spans ahead of
    /// encoding them: the record's first lines, the two included, are
    /// asked for separately; at most 192 bytes of the inline slots and of
    /// the others each).
    #[inline(always)]
    pub(crate) fn prefetch_beyond_two_for_read(&self) {
        let len = self.len as usize;
        if len > 2 {
            let inline = (len.min(INLINE) - 2) * std::mem::size_of::<Tag>();
            crate::reporter::pool::prefetch_lines_for_read(
                self.inline[2..].as_ptr().cast(),
                inline.min(3 * 64),
            );
        }
        if len > INLINE {
            let bytes = ((len - INLINE) * std::mem::size_of::<Tag>()).min(3 * 64);
            crate::reporter::pool::prefetch_lines_for_read(self.more.as_ptr().cast(), bytes);
        }
    }

    /// Whether a tag in use may hold heap memory.
    pub(crate) fn owned(&self) -> bool {
        self.owned
    }

    /// Removes every tag, keeping their slots. Owned keys and values are
    /// freed here; without any, the slots are not even touched (they keep
    /// their values until overwritten).
    #[inline(always)]
    pub(crate) fn clear(&mut self) {
        if self.owned {
            self.clear_owned();
        }
        self.len = 0;
    }

    #[inline(never)]
    fn clear_owned(&mut self) {
        let len = self.len as usize;
        for slot in &mut self.inline[..len.min(INLINE)] {
            *slot = Tag::EMPTY;
        }
        for slot in self
            .more
            .as_mut_slice()
            .iter_mut()
            .take(len.saturating_sub(INLINE))
        {
            *slot = Tag::EMPTY;
        }
        self.owned = false;
    }
}

impl From<Vec<Tag>> for Tags {
    fn from(tags: Vec<Tag>) -> Self {
        Tags::from_vec(tags)
    }
}

impl Extend<Tag> for Tags {
    fn extend<I: IntoIterator<Item = Tag>>(&mut self, iter: I) {
        for tag in iter {
            self.push(tag);
        }
    }
}

impl fmt::Debug for Tags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Tag {
    /// Whether the key or the value may hold heap memory.
    pub(crate) fn on_heap(&self) -> bool {
        matches!(self.key, Cow::Owned(_)) || self.value.on_heap()
    }

    /// An empty tag, the filler of unused slots.
    pub(crate) const EMPTY: Tag = Tag {
        key: Cow::Borrowed(""),
        value: TagValue::Bool(false),
    };
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?}", self.key, self.value)
    }
}

/// A timestamped log record of a span.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LogRecord {
    pub(crate) timestamp_us: u64,
    pub(crate) fields: Vec<Tag>,
}

/// The fields of one log record, filled in by the closure given to
/// [`Span::log`](crate::Span::log).
///
/// The closure only runs when the span is recorded, so an unsampled span
/// builds nothing.
pub struct LogFields<'a> {
    fields: &'a mut Vec<Tag>,
}

impl<'a> LogFields<'a> {
    pub(crate) fn new(fields: &'a mut Vec<Tag>) -> Self {
        LogFields { fields }
    }

    /// Adds one `key: value` field.
    pub fn field(
        &mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<TagValue>,
    ) -> &mut Self {
        self.fields.push(Tag::new(key, value));
        self
    }

    /// Adds the conventional `event` field.
    pub fn event(&mut self, name: impl Into<TagValue>) -> &mut Self {
        self.field("event", name)
    }

    /// Adds the conventional `message` field.
    pub fn message(&mut self, text: impl Into<TagValue>) -> &mut Self {
        self.field("message", text)
    }
}

impl fmt::Debug for LogFields<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.fields.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tags holding nothing on the heap are cleared without touching their
    /// slots; one owned key or value anywhere makes clearing free them all.
    #[test]
    fn clearing_static_tags_forgets_them_and_owned_ones_are_freed() {
        let mut tags = Tags::new();
        tags.push_parts(Cow::Borrowed("a"), TagValue::I64(1));
        tags.push_parts(Cow::Borrowed("b"), TagValue::from("static"));
        assert!(!tags.owned());
        tags.clear();
        assert!(tags.is_empty());
        assert_eq!(tags.inline[1].key, "b", "slots untouched");
        tags.push_parts(Cow::Borrowed("c"), TagValue::Bool(true));
        assert_eq!(tags.iter().collect::<Vec<_>>(), [&Tag::new("c", true)]);
        for (key, value) in [
            (Cow::Owned("k".to_owned()), TagValue::I64(1)),
            (Cow::Borrowed("k"), TagValue::from("v".to_owned())),
            (Cow::Borrowed("k"), TagValue::Binary(vec![1])),
        ] {
            let mut tags = Tags::new();
            tags.push_parts(Cow::Borrowed("first"), TagValue::I64(0));
            tags.push_parts(key, value);
            assert!(tags.owned());
            tags.clear();
            assert!(!tags.owned() && tags.is_empty());
            assert!(tags.inline.iter().all(|t| *t == Tag::EMPTY), "freed");
        }
        let taken = Tags::from_vec(vec![Tag::new("a", 1), Tag::new("b", "x".to_owned())]);
        assert!(taken.owned());
        assert!(!Tags::from_vec(vec![Tag::new("a", 1)]).owned());
    }

    /// Tags read back in order, inline or in their slots beyond; clearing
    /// frees owned keys and values and keeps the slots, which the next
    /// span with more tags than fit inline reuses.
    #[test]
    fn tags_beyond_the_inline_slots_go_to_slots_whose_room_is_reused() {
        let n = INLINE + 2;
        let mut tags = Tags::from_vec(Vec::with_capacity(4));
        assert_eq!(tags.more_room(), 0, "no tags: no slots beyond kept");
        for i in 0..n {
            tags.push_parts(Cow::Owned(format!("k{i}")), TagValue::from(format!("v{i}")));
        }
        assert_eq!(tags.len(), n);
        let keys: Vec<String> = tags.iter().map(|t| t.key.to_string()).collect();
        let expected: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
        assert_eq!(keys, expected);
        let (first, rest) = tags.as_slices();
        assert_eq!((first.len(), rest.len()), (INLINE, 2));
        let room = tags.more_room();
        assert!(room >= 2);
        assert!(tags.heap_bytes() >= room * std::mem::size_of::<Tag>());
        tags.clear();
        assert!(tags.is_empty() && !tags.owned());
        assert!(
            tags.inline.iter().all(|t| *t == Tag::EMPTY),
            "owned parts freed"
        );
        assert!(
            tags.more.iter().all(|t| *t == Tag::EMPTY),
            "owned parts freed beyond the inline slots too"
        );
        for i in 0..n as i64 {
            tags.push(Tag::new("s", i));
        }
        tags.extend([Tag::new("b", true)]);
        assert_eq!(tags.len(), n + 1);
        assert!(tags.more_room() >= 3);
        let room = tags.more_room();
        assert_eq!(tags.get(n).unwrap().value, TagValue::Bool(true));
        assert_eq!(tags.iter().next_back().unwrap().key, "b");
        // Static tags are forgotten, not read: their slots keep them.
        tags.clear();
        assert_eq!(tags.inline[1].value, TagValue::I64(1), "slots untouched");
        assert_eq!(tags.more[2].key, "b", "slots untouched");
        for i in 0..n + 1 {
            tags.push(Tag::new("t", i as i64));
        }
        assert_eq!(tags.more_room(), room, "the slots reused");
        assert_eq!(tags.get(n).unwrap().value, TagValue::I64(n as i64));
        let mut copy = tags.clone();
        copy.clear();
        copy.push(Tag::new("z", 0));
        assert_eq!(copy.iter().collect::<Vec<_>>(), [&Tag::new("z", 0)]);
        assert_eq!(tags.len(), n + 1, "a clone is independent");
        let from: Tags = vec![Tag::new("x", 1)].into();
        assert_eq!(from.len(), 1);
        assert_eq!(format!("{from:?}"), "[x=1]");
        let many = Tags::from_vec((0..n as i64 + 3).map(|i| Tag::new("k", i)).collect());
        assert_eq!(many.len(), n + 3);
        let values: Vec<i64> = many.iter().filter_map(|t| t.value.as_i64()).collect();
        assert_eq!(values, (0..n as i64 + 3).collect::<Vec<_>>());
    }

    #[test]
    fn conversions_pick_the_jaeger_type() {
        assert_eq!(TagValue::from(200u16), TagValue::I64(200));
        assert_eq!(TagValue::from(-1i32), TagValue::I64(-1));
        assert_eq!(
            TagValue::from(u64::MAX),
            TagValue::String(u64::MAX.to_string().into())
        );
        assert_eq!(TagValue::from(true), TagValue::Bool(true));
        assert_eq!(TagValue::from(0.5), TagValue::F64(0.5));
        assert_eq!(
            TagValue::from(&b"ab"[..]),
            TagValue::Binary(vec![b'a', b'b'])
        );
        assert!(matches!(
            TagValue::from("lit"),
            TagValue::String(Cow::Borrowed("lit"))
        ));
    }
}
