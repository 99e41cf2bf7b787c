//! Tag values and log fields: the typed key/value data recorded on spans.

use std::borrow::Cow;
use std::fmt;

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

/// The tags of a recording span, in order.
///
/// Slots past the tags in use hold nothing on the heap (empty tags, or the
/// static tags of a recycled record's last span): a new tag is then written
/// into its slot field by field, with no call in between. (A tag handed to a
/// vector's `push` is built aside first, in case the vector must grow, and
/// copied into place with wide loads of the narrow stores just made: a
/// store-forwarding stall for every tag.)
#[derive(Clone, Default)]
pub(crate) struct Tags {
    slots: Vec<Tag>,
    /// The tags in use (32 bits: with the flag below, the record's tags
    /// take four words, not five; four billion tags would fill 224 GB).
    len: u32,
    /// Whether a tag in use may hold heap memory (an owned key or string,
    /// bytes). Without, clearing is forgetting: nothing to free.
    owned: bool,
}

impl Tags {
    /// No tags and no slots.
    pub(crate) const fn new() -> Self {
        Tags {
            slots: Vec::new(),
            len: 0,
            owned: false,
        }
    }

    /// The tags of `tags`, taken over without copying.
    pub(crate) fn from_vec(tags: Vec<Tag>) -> Self {
        Tags {
            len: tags.len() as u32,
            owned: tags.iter().any(Tag::on_heap),
            slots: tags,
        }
    }

    /// Appends a tag: into a free slot when there is one.
    #[inline(always)]
    pub(crate) fn push_parts(&mut self, key: Cow<'static, str>, value: TagValue) {
        // (Known at compile time for a literal key and a number.)
        self.owned |= matches!(key, Cow::Owned(_)) || value.on_heap();
        if let Some(slot) = self.slots.get_mut(self.len as usize) {
            // A free slot holds nothing on the heap: nothing to free, so it
            // is overwritten without being read.
            std::mem::forget(std::mem::replace(&mut slot.key, key));
            std::mem::forget(std::mem::replace(&mut slot.value, value));
            self.len += 1;
        } else {
            self.push_new(Tag { key, value });
        }
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
        self.slots.push(tag);
        self.len += 1;
    }

    /// How many tags fit without allocating.
    pub(crate) fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// Asks for the cache lines of the first slots (two tags' worth), for
    /// writing.
    #[inline(always)]
    pub(crate) fn prefetch_for_write(&self, exclusive: bool) {
        if self.slots.capacity() != 0 {
            let p = self.slots.as_ptr().cast::<u8>();
            crate::reporter::pool::prefetch_line(p, exclusive);
            crate::reporter::pool::prefetch_line(p.wrapping_add(64), exclusive);
        }
    }

    /// Asks the processor to bring the slots of the tags in use in, for
    /// reading (the reporter thread, a few spans ahead of encoding them;
    /// at most 192 bytes of them: the usual span's tags and then some).
    #[inline(always)]
    pub(crate) fn prefetch_for_read(&self) {
        if self.len != 0 {
            let bytes = (self.len as usize * std::mem::size_of::<Tag>()).min(3 * 64);
            crate::reporter::pool::prefetch_lines_for_read(self.slots.as_ptr().cast(), bytes);
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
        for slot in &mut self.slots[..self.len as usize] {
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

impl std::ops::Deref for Tags {
    type Target = [Tag];

    fn deref(&self) -> &[Tag] {
        &self.slots[..self.len as usize]
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
        assert_eq!(tags.slots[1].key, "b", "slots untouched");
        tags.push_parts(Cow::Borrowed("c"), TagValue::Bool(true));
        assert_eq!(&tags[..], &[Tag::new("c", true)][..]);
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
            assert!(tags.slots.iter().all(|t| *t == Tag::EMPTY), "freed");
        }
        let taken = Tags::from_vec(vec![Tag::new("a", 1), Tag::new("b", "x".to_owned())]);
        assert!(taken.owned());
        assert!(!Tags::from_vec(vec![Tag::new("a", 1)]).owned());
    }

    /// Tags written into emptied slots read back in order; clearing frees
    /// owned keys and values and keeps the slots; more tags than slots grow.
    #[test]
    fn tag_slots_are_reused_in_order() {
        let mut tags = Tags::from_vec(Vec::with_capacity(4));
        for i in 0..3 {
            tags.push_parts(Cow::Owned(format!("k{i}")), TagValue::from(format!("v{i}")));
        }
        assert_eq!(tags.len(), 3);
        tags.clear();
        assert!(tags.is_empty());
        assert!(
            tags.slots.iter().all(|t| *t == Tag::EMPTY),
            "owned parts freed"
        );
        let room = tags.capacity();
        tags.push_parts(Cow::Borrowed("a"), TagValue::I64(1));
        tags.extend([Tag::new("b", true), Tag::new("c", 2.5)]);
        tags.push(Tag::new("d", "x"));
        assert_eq!(
            tags.capacity(),
            room,
            "3 slots reused, the 4th fits the room"
        );
        let keys: Vec<&str> = tags.iter().map(|t| t.key.as_ref()).collect();
        assert_eq!(keys, ["a", "b", "c", "d"]);
        assert_eq!(tags[1].value, TagValue::Bool(true));
        let mut copy = tags.clone();
        copy.clear();
        copy.push(Tag::new("z", 0));
        assert_eq!(copy.len(), 1);
        assert_eq!(tags.len(), 4, "a clone is independent");
        let from: Tags = vec![Tag::new("x", 1)].into();
        assert_eq!(from.len(), 1);
        assert_eq!(format!("{from:?}"), "[x=1]");
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
