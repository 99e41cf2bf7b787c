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
