//! Carriers: where injected headers are written and extracted ones read.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;

/// A carrier a span context can be written into.
pub trait Injector {
    /// Stores `value` under `key` (keys are lowercase ASCII; values are
    /// printable ASCII without CR, LF or commas).
    fn set(&mut self, key: &str, value: String);

    /// As [`set`](Injector::set), for a key built for this call: carriers
    /// that store owned keys take it without copying. By default it calls
    /// `set`.
    fn set_owned(&mut self, key: String, value: String) {
        self.set(&key, value);
    }

    /// Stores `value` under the key `{prefix}{key}` (a baggage item's
    /// header, `uberctx-{key}`). By default it builds that key as a
    /// `String` and calls [`set_owned`](Injector::set_owned); a carrier
    /// that converts every key into a form of its own (`http::HeaderMap`)
    /// builds it on the stack and calls [`set`](Injector::set).
    fn set_prefixed(&mut self, prefix: &str, key: &str, value: String) {
        let mut joined = String::with_capacity(prefix.len() + key.len());
        joined.push_str(prefix);
        joined.push_str(key);
        self.set_owned(joined, value);
    }
}

/// A carrier a span context can be read from.
///
/// Header names are matched without regard to ASCII case.
pub trait Extractor {
    /// Calls `f` with every key/value pair.
    fn for_each(&self, f: &mut dyn FnMut(&str, &str));

    /// Calls `f` with every pair whose key `wanted` accepts, and perhaps
    /// with others (`f` ignores keys it does not read): `wanted` is a hint
    /// for a carrier that checks or converts each value as it reads it
    /// (`http::HeaderMap`, whose values are bytes), so that it does so for
    /// the few headers a format reads, not for every cookie and user agent
    /// of a request. By default it calls [`for_each`](Extractor::for_each):
    /// a map of strings has nothing to save.
    fn for_each_wanted(&self, wanted: &dyn Fn(&str) -> bool, f: &mut dyn FnMut(&str, &str)) {
        let _ = wanted;
        self.for_each(f);
    }
}

/// Keys are matched without regard to ASCII case on extract, so a key of
/// another case (`Uber-Trace-Id`, from headers copied into the map) is
/// replaced, not left beside the new one: with both, an extract would take
/// either.
impl<S: BuildHasher> Injector for HashMap<String, String, S> {
    fn set(&mut self, key: &str, value: String) {
        self.set_owned(key.to_owned(), value);
    }

    fn set_owned(&mut self, key: String, value: String) {
        // (A fresh map, the usual carrier, has no keys to look at.)
        if !self.is_empty() && self.keys().any(|k| is_other_case(k, &key)) {
            self.retain(|k, _| !is_other_case(k, &key));
        }
        self.insert(key, value);
    }
}

/// `k` is `key` in another ASCII case (lengths compared first: the
/// usual answer, for a map's other keys, costs one comparison).
#[inline(always)]
fn is_other_case(k: &str, key: &str) -> bool {
    k.len() == key.len() && k != key && k.eq_ignore_ascii_case(key)
}

impl<S: BuildHasher> Extractor for HashMap<String, String, S> {
    fn for_each(&self, f: &mut dyn FnMut(&str, &str)) {
        for (k, v) in self {
            f(k, v);
        }
    }
}

/// As for `HashMap`, a key of another case is replaced.
impl Injector for BTreeMap<String, String> {
    fn set(&mut self, key: &str, value: String) {
        self.set_owned(key.to_owned(), value);
    }

    fn set_owned(&mut self, key: String, value: String) {
        if !self.is_empty() && self.keys().any(|k| is_other_case(k, &key)) {
            self.retain(|k, _| !is_other_case(k, &key));
        }
        self.insert(key, value);
    }
}

impl Extractor for BTreeMap<String, String> {
    fn for_each(&self, f: &mut dyn FnMut(&str, &str)) {
        for (k, v) in self {
            f(k, v);
        }
    }
}

/// The header names this crate injects under fixed names, as static
/// `HeaderName`s: no allocation, no validation (checked when compiled).
fn fixed_header_name(key: &str) -> Option<HeaderName> {
    use super::{b3, jaeger, w3c};
    const UBER_TRACE_ID: HeaderName = HeaderName::from_static(jaeger::TRACE_HEADER);
    const TRACEPARENT: HeaderName = HeaderName::from_static(w3c::TRACEPARENT);
    const TRACESTATE: HeaderName = HeaderName::from_static(w3c::TRACESTATE);
    const BAGGAGE: HeaderName = HeaderName::from_static(w3c::BAGGAGE);
    const B3_TRACE_ID: HeaderName = HeaderName::from_static(b3::TRACE_ID);
    const B3_SPAN_ID: HeaderName = HeaderName::from_static(b3::SPAN_ID);
    const B3_PARENT_SPAN_ID: HeaderName = HeaderName::from_static(b3::PARENT_SPAN_ID);
    const B3_SAMPLED: HeaderName = HeaderName::from_static(b3::SAMPLED);
    const B3_FLAGS: HeaderName = HeaderName::from_static(b3::FLAGS);
    const B3: HeaderName = HeaderName::from_static(b3::SINGLE);
    Some(match key {
        jaeger::TRACE_HEADER => UBER_TRACE_ID,
        w3c::TRACEPARENT => TRACEPARENT,
        w3c::TRACESTATE => TRACESTATE,
        w3c::BAGGAGE => BAGGAGE,
        b3::TRACE_ID => B3_TRACE_ID,
        b3::SPAN_ID => B3_SPAN_ID,
        b3::PARENT_SPAN_ID => B3_PARENT_SPAN_ID,
        b3::SAMPLED => B3_SAMPLED,
        b3::FLAGS => B3_FLAGS,
        b3::SINGLE => B3,
        _ => return None,
    })
}

impl Injector for HeaderMap {
    /// Keys that are not valid header names (a baggage key with a space, for
    /// instance) are skipped with a debug log; values are always valid
    /// because they are percent-encoded. The value's bytes become the
    /// header value's without a copy, and the fixed names of the formats
    /// are static, not allocated.
    fn set(&mut self, key: &str, value: String) {
        let name = match fixed_header_name(key) {
            Some(name) => Ok(name),
            None => HeaderName::from_bytes(key.as_bytes()),
        };
        insert_header(self, key, name, value);
    }

    /// The names of baggage headers are interned: each distinct one is
    /// validated and allocated once per process, not per request (see
    /// `header_names`).
    fn set_prefixed(&mut self, prefix: &str, key: &str, value: String) {
        insert_header(self, key, super::header_names::prefixed(prefix, key), value);
    }
}

/// Inserts `value` under `name`, or logs why it cannot.
fn insert_header(
    map: &mut HeaderMap,
    key: &str,
    name: Result<HeaderName, http::header::InvalidHeaderName>,
    value: String,
) {
    match (name, header_value(value)) {
        (Ok(name), Ok(value)) => {
            map.insert(name, value);
        }
        _ => log::debug!("jaeger: header {key:?} cannot be injected into an HTTP header map"),
    }
}

/// `value` as a header value, its bytes taken without a copy. The values
/// this crate writes are visible ASCII: that is checked here a word at a
/// time (the `http` crate's own check goes a byte at a time: 290 of the
/// 4,001 instructions of an inject with two baggage items); anything else
/// takes the full check.
fn header_value(value: String) -> Result<HeaderValue, http::header::InvalidHeaderValue> {
    if !is_visible_ascii(value.as_bytes()) {
        return HeaderValue::try_from(value);
    }
    let bytes = bytes::Bytes::from(value.into_bytes());
    #[allow(unsafe_code)]
    // SAFETY: the function's contract is that the bytes are valid in a
    // header value; visible ASCII and the space are (RFC 9110 §5.5, and
    // `HeaderValue::from_bytes` accepts every byte from 0x20 to 0x7e).
    let value = unsafe { HeaderValue::from_maybe_shared_unchecked(bytes) };
    Ok(value)
}

/// Whether every byte is from 0x20 (space) to 0x7e (`~`), eight bytes at a
/// time (the last word overlapping the one before when the length is not a
/// multiple of eight).
fn is_visible_ascii(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    /// Whether a byte of `w` is below 0x20 or above 0x7e: below 0x20, the
    /// subtraction sets the high bit of a byte whose own high bit is clear;
    /// above 0x7e, adding 1 sets it (or it was set already).
    fn outside(w: u64) -> bool {
        (w.wrapping_sub(ONES * 0x20) & !w & HIGH) | ((w.wrapping_add(ONES) | w) & HIGH) != 0
    }
    let word = |at: usize| super::word_at(bytes, at);
    if bytes.len() < 8 {
        return bytes.iter().all(|b| (0x20..=0x7e).contains(b));
    }
    let mut at = 0;
    while at + 8 < bytes.len() {
        if outside(word(at)) {
            return false;
        }
        at += 8;
    }
    !outside(word(bytes.len() - 8))
}

impl Extractor for HeaderMap {
    /// Values that are not visible ASCII are skipped.
    fn for_each(&self, f: &mut dyn FnMut(&str, &str)) {
        for (k, v) in self {
            if let Ok(v) = v.to_str() {
                f(k.as_str(), v);
            }
        }
    }

    /// Only the values of wanted headers are checked (visible ASCII) and
    /// read: that check, a byte at a time, was most of an extract's cost
    /// among a browser's headers.
    fn for_each_wanted(&self, wanted: &dyn Fn(&str) -> bool, f: &mut dyn FnMut(&str, &str)) {
        for (k, v) in self {
            let k = k.as_str();
            if wanted(k) {
                if let Ok(v) = v.to_str() {
                    f(k, v);
                }
            }
        }
    }
}

impl<T: Injector + ?Sized> Injector for &mut T {
    fn set(&mut self, key: &str, value: String) {
        (**self).set(key, value);
    }

    fn set_owned(&mut self, key: String, value: String) {
        (**self).set_owned(key, value);
    }

    fn set_prefixed(&mut self, prefix: &str, key: &str, value: String) {
        (**self).set_prefixed(prefix, key, value);
    }
}

impl<T: Extractor + ?Sized> Extractor for &T {
    fn for_each(&self, f: &mut dyn FnMut(&str, &str)) {
        (**self).for_each(f);
    }

    fn for_each_wanted(&self, wanted: &dyn Fn(&str) -> bool, f: &mut dyn FnMut(&str, &str)) {
        (**self).for_each_wanted(wanted, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{SpanId, TraceId};
    use crate::propagation::{b3, jaeger, w3c, Propagation};
    use crate::span_context::{Flags, SpanContext};

    const FORMATS: [Propagation; 4] = [
        Propagation::Jaeger,
        Propagation::B3,
        Propagation::B3Single,
        Propagation::W3c,
    ];

    /// A sampled child's context with 128-bit trace id, its flags `flags`,
    /// and two baggage items (a value with a space among them).
    fn context(flags: Flags) -> SpanContext {
        SpanContext::new(
            TraceId::new(7, 0xabc),
            SpanId::new(0x1234),
            SpanId::new(0x99),
            flags,
        )
        .with_baggage_item("user", "alice smith")
        .with_baggage_item("tenant", "acme")
    }

    /// `ctx` as `format` injects it into a map of strings and into a
    /// header map.
    fn injected(format: Propagation, ctx: &SpanContext) -> (BTreeMap<String, String>, HeaderMap) {
        let mut strings = BTreeMap::new();
        format.inject(ctx, &mut strings);
        let mut headers = HeaderMap::new();
        format.inject(ctx, &mut headers);
        (strings, headers)
    }

    #[test]
    fn fixed_names_are_the_constants_they_stand_for() {
        for key in [
            jaeger::TRACE_HEADER,
            w3c::TRACEPARENT,
            w3c::TRACESTATE,
            w3c::BAGGAGE,
            b3::TRACE_ID,
            b3::SPAN_ID,
            b3::PARENT_SPAN_ID,
            b3::SAMPLED,
            b3::FLAGS,
            b3::SINGLE,
        ] {
            assert_eq!(
                fixed_header_name(key).map(|n| n.as_str().to_owned()),
                Some(key.to_owned())
            );
        }
        for key in ["uberctx-user", "baggage-user", "x-b3", "uber-trace-i", ""] {
            assert!(fixed_header_name(key).is_none(), "{key:?}");
        }
    }

    /// Values are checked as `http` checks them: the visible ASCII ones by
    /// the quick check, every other byte by `http`'s own.
    #[test]
    fn header_values_are_accepted_and_refused_as_http_does() {
        let mut bytes: Vec<u8> = (0u8..=255).collect();
        bytes.extend([b'a', 0x7f, b'\t', b'~', b' ']);
        for &b in &bytes {
            for len in [1, 7, 8, 9, 31, 32, 33, 55] {
                for at in [0, len / 2, len - 1] {
                    let mut v = vec![b'x'; len];
                    v[at] = b;
                    let quick = is_visible_ascii(&v);
                    assert_eq!(quick, (0x20..=0x7e).contains(&b), "byte {b:#x}");
                    let want = HeaderValue::from_bytes(&v).ok();
                    let got = match String::from_utf8(v.clone()) {
                        Ok(s) => header_value(s).ok(),
                        Err(_) => continue,
                    };
                    assert_eq!(got, want, "byte {b:#x} at {at} of {len}");
                }
            }
        }
    }

    /// Every format writes the same headers into an `http::HeaderMap` (static
    /// names, values taken as they are, baggage names interned or, when
    /// long, built per call) as into a map of strings (the trait's default
    /// paths).
    #[test]
    fn a_header_map_receives_what_a_string_map_does() {
        let long_key = "k".repeat(80);
        let ctx =
            context(Flags::SAMPLED.with(Flags::DEBUG)).with_baggage_item(long_key.clone(), "v");
        for format in FORMATS {
            let (strings, headers) = injected(format, &ctx);
            let from_headers: BTreeMap<String, String> = headers
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
                .collect();
            assert_eq!(from_headers, strings, "{format:?}");
            assert!(strings.len() >= 2, "{format:?}: {strings:?}");
        }
        let mut headers = HeaderMap::new();
        Propagation::Jaeger.inject(&ctx, &mut headers);
        assert_eq!(headers["uberctx-user"], "alice%20smith");
        assert_eq!(headers[format!("uberctx-{long_key}").as_str()], "v");
        assert_eq!(headers[jaeger::TRACE_HEADER], ctx.to_string());
    }

    /// A browser's request headers beside the tracing ones: one with bytes
    /// that are not visible ASCII, which no format reads.
    fn request_headers() -> Vec<(&'static str, &'static [u8])> {
        vec![
            ("host", b"api.example.com"),
            (
                "user-agent",
                b"Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0",
            ),
            ("accept", b"application/json, */*"),
            ("cookie", b"session=eyJhbGciOiJIUzI1NiJ9.e30.x; theme=dark"),
            ("x-name", b"caf\xe9"),
        ]
    }

    /// Among other headers, every format extracts from an `http::HeaderMap`
    /// (which reads only the values of the headers a format wants) what it
    /// extracts from a map of strings (which passes every pair).
    #[test]
    fn a_header_map_among_other_headers_extracts_what_a_string_map_does() {
        let ctx = context(Flags::SAMPLED);
        for format in FORMATS {
            let (mut strings, mut headers) = injected(format, &ctx);
            for (k, v) in request_headers() {
                headers.insert(
                    HeaderName::from_static(k),
                    HeaderValue::from_bytes(v).unwrap(),
                );
                if let Ok(v) = std::str::from_utf8(v) {
                    strings.insert(k.to_owned(), v.to_owned());
                }
            }
            let from_strings = format.extract(&strings).unwrap().expect("a context");
            let from_headers = format.extract(&headers).unwrap().expect("a context");
            let parts = |c: &SpanContext| {
                let mut baggage: Vec<(String, String)> = c
                    .baggage_items()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect();
                baggage.sort();
                (c.trace_id(), c.span_id(), c.flags(), baggage)
            };
            assert_eq!(parts(&from_headers), parts(&from_strings), "{format:?}");
            assert_eq!(from_headers.span_id(), ctx.span_id(), "{format:?}");
        }
    }

    /// A header map hands over only the wanted headers; a map of strings,
    /// by the trait's default, every pair (the hint is for carriers with a
    /// value to check).
    #[test]
    fn only_a_header_map_takes_the_hint() {
        let wanted = |k: &str| k.starts_with("uber");
        let mut headers = HeaderMap::new();
        let mut strings = BTreeMap::new();
        for k in ["uber-trace-id", "host", "uberctx-a", "cookie"] {
            headers.insert(HeaderName::from_static(k), HeaderValue::from_static("v"));
            strings.insert(k.to_owned(), "v".to_owned());
        }
        let mut seen = Vec::new();
        headers.for_each_wanted(&wanted, &mut |k, _| seen.push(k.to_owned()));
        seen.sort();
        assert_eq!(seen, ["uber-trace-id", "uberctx-a"]);
        let mut seen = Vec::new();
        strings.for_each_wanted(&wanted, &mut |k, _| seen.push(k.to_owned()));
        assert_eq!(seen.len(), 4);
    }
}
