//! Propagation: writing a span context into a carrier (inject) and reading
//! it back in another process (extract).
//!
//! A carrier is anything that stores string key/value pairs: a
//! `HashMap<String, String>`, a `BTreeMap<String, String>` or an
//! [`http::HeaderMap`] (so reqwest, hyper, axum and tonic metadata work
//! directly). Implement [`Injector`] and [`Extractor`] for other carriers.
//! The wire formats are chosen by [`Propagation`].

pub mod b3;
pub(crate) mod binary;
mod carrier;
mod header_names;
pub mod jaeger;
pub mod w3c;

pub use carrier::{Extractor, Injector};

use crate::error::Error;
use crate::span_context::SpanContext;

/// A text propagation format (HTTP headers, text maps).
///
/// Inject writes every format the tracer is configured with; extract takes
/// the first format present, in configuration order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Propagation {
    /// Jaeger: `uber-trace-id`, `uberctx-{key}` baggage, and on extract also
    /// `jaeger-baggage` and `jaeger-debug-id` (`jaeger`).
    Jaeger,
    /// Zipkin B3 multi-header (`x-b3-*`, `baggage-{key}`); extract also
    /// reads the single `b3` header, whose ids win over the multiple
    /// headers' (`b3`), and a sampling decision sent without ids, which
    /// decides the new trace's root.
    B3,
    /// Zipkin B3 single header `b3` on inject (`b3single`); extracts as
    /// [`Propagation::B3`].
    B3Single,
    /// W3C Trace Context (`traceparent`, `tracestate`) and W3C `baggage`
    /// (`w3c`). W3C flags carry only the sampled bit.
    W3c,
}

impl Propagation {
    /// The name used in `JAEGER_PROPAGATION`.
    pub fn name(self) -> &'static str {
        match self {
            Propagation::Jaeger => "jaeger",
            Propagation::B3 => "b3",
            Propagation::B3Single => "b3single",
            Propagation::W3c => "w3c",
        }
    }

    pub(crate) fn inject(self, ctx: &SpanContext, carrier: &mut dyn Injector) {
        match self {
            Propagation::Jaeger => jaeger::inject(ctx, carrier),
            Propagation::B3 => b3::inject_multi(ctx, carrier),
            Propagation::B3Single => b3::inject_single(ctx, carrier),
            Propagation::W3c => w3c::inject(ctx, carrier),
        }
    }

    pub(crate) fn extract(self, carrier: &dyn Extractor) -> Result<Option<SpanContext>, Error> {
        match self {
            Propagation::Jaeger => jaeger::extract(carrier),
            Propagation::B3 | Propagation::B3Single => b3::extract(carrier),
            Propagation::W3c => w3c::extract(carrier),
        }
    }
}

impl std::str::FromStr for Propagation {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "jaeger" => Ok(Propagation::Jaeger),
            "b3" | "b3multi" => Ok(Propagation::B3),
            "b3single" => Ok(Propagation::B3Single),
            "w3c" | "tracecontext" => Ok(Propagation::W3c),
            other => Err(Error::config(format!(
                "unknown propagation format {other:?} (known: jaeger, b3, b3single, w3c)"
            ))),
        }
    }
}

/// Caps on the baggage accepted from another process, so a hostile header
/// cannot make this one allocate without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BaggageLimits {
    pub(crate) max_items: usize,
    pub(crate) max_bytes: usize,
}

impl BaggageLimits {
    /// Drops the items of a context read from text headers whose key no
    /// header can carry (not an HTTP token: a `jaeger-baggage` or W3C
    /// `baggage` entry like `user id=7`, or a map carrier's own key; every
    /// text inject would leave them out), then the items beyond the caps
    /// (keys and values counted in bytes); returns how many were dropped.
    pub(crate) fn apply(self, ctx: &mut SpanContext) -> usize {
        // The usual case, within the caps: nothing to copy.
        let (count, bytes, all_tokens) = ctx.baggage().census(is_token_bytes);
        if count <= self.max_items && bytes <= self.max_bytes && all_tokens {
            return 0;
        }
        let items: Vec<(String, String)> = ctx
            .baggage_items()
            .filter(|(k, _)| {
                let carried = is_token(k);
                if !carried {
                    log::debug!(
                        "jaeger: extracted baggage key {k:?} is not a header token; dropped"
                    );
                }
                carried
            })
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let mut kept = Vec::new();
        let mut bytes = 0;
        for (k, v) in items.iter() {
            let size = k.len() + v.len();
            if kept.len() < self.max_items && bytes + size <= self.max_bytes {
                bytes += size;
                kept.push((k.clone(), v.clone()));
            }
        }
        let dropped = count - kept.len();
        if dropped > 0 {
            let mut fresh = crate::span_context::Baggage::default();
            for (k, v) in kept {
                fresh.set(k, v);
            }
            ctx.set_baggage(fresh);
        }
        dropped
    }
}

/// True for an HTTP header-name token (RFC 9110 `tchar`s), the only keys
/// that can be injected as `{prefix}{key}` headers without risk.
pub(crate) fn is_token(s: &str) -> bool {
    is_token_bytes(s.as_bytes())
}

/// [`is_token`] of bytes.
pub(crate) fn is_token_bytes(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| CLASS[b as usize] & TOKEN != 0)
}

/// `s` without its first `prefix.len()` bytes when they are `prefix` (a
/// lowercase ASCII constant) in any ASCII case.
#[inline]
pub(crate) fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.as_bytes().get(..prefix.len())?;
    if eq_lowercase(head, prefix.as_bytes()) {
        // The head matched ASCII bytes, so the rest starts on a character.
        s.get(prefix.len()..)
    } else {
        None
    }
}

/// True when `s` is `lower` (a lowercase ASCII constant such as a header
/// name) in any ASCII case.
#[inline]
pub(crate) fn eq_ignore_case(s: &str, lower: &str) -> bool {
    eq_lowercase(s.as_bytes(), lower.as_bytes())
}

/// True when `key` is one of `names` (lowercase ASCII constants) in any
/// ASCII case: the headers a format reads.
#[inline]
pub(crate) fn is_one_of(key: &str, names: &[&str]) -> bool {
    names.iter().any(|name| eq_ignore_case(key, name))
}

/// As [`eq_ignore_case`], eight bytes at a time: a byte of `s` matches a
/// letter of `lower` when it equals it with the case bit (0x20) set, any
/// other byte only when equal.
#[inline]
fn eq_lowercase(s: &[u8], lower: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let n = s.len();
    if n != lower.len() {
        return false;
    }
    if n < 8 {
        return s.eq_ignore_ascii_case(lower);
    }
    let word = word_at;
    let mut at = 0;
    loop {
        // The last word may overlap the one before it.
        let from = at.min(n - 8);
        let (a, p) = (word(s, from), word(lower, from));
        // Bit 7 of each byte of `p` (ASCII, below 0x80, so no carries):
        // set when the byte is at least 'a', and when it is at most 'z'.
        let at_least_a = p + (0x80 - u64::from(b'a')) * ONES;
        let at_most_z = !(p + (0x7f - u64::from(b'z')) * ONES);
        let case_bits = (at_least_a & at_most_z & (0x80 * ONES)) >> 2;
        if a | case_bits != p {
            return false;
        }
        at += 8;
        if at >= n {
            return true;
        }
    }
}

/// The eight bytes of `b` from `at` as one word, for the checks and
/// comparisons here that go a word at a time (each works byte by byte
/// within the word, so the byte order does not matter).
#[inline(always)]
pub(crate) fn word_at(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

/// Byte classes: header-name token characters and URI unreserved ones.
const TOKEN: u8 = 1;
const UNRESERVED: u8 = 2;
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~') {
            t[b] = TOKEN | UNRESERVED;
        } else if matches!(
            c,
            b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'^' | b'`' | b'|'
        ) {
            t[b] = TOKEN;
        }
        b += 1;
    }
    t
};

fn is_unreserved(b: u8) -> bool {
    CLASS[b as usize] & UNRESERVED != 0
}

/// Percent-encodes everything but unreserved characters, so the result is
/// safe in any header value (no CR/LF, commas, spaces or non-ASCII).
pub(crate) fn percent_encode(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    if s.bytes().all(is_unreserved) {
        // The usual case: nothing to escape, one copy.
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for &b in s.as_bytes() {
        if is_unreserved(b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0xf) as usize] as char);
        }
    }
    out
}

/// Decodes `%XX` escapes and `+` as space (Go and Java encode a space as
/// `+`; a literal `+` arrives as `%2B` from every reference client). An
/// invalid escape or a result that is not UTF-8 yields the input unchanged.
pub(crate) fn percent_decode(s: &str) -> String {
    let mut out = String::new();
    percent_decode_into(s, &mut out);
    out
}

/// Appends `s` percent-decoded (`+` as a space) to `out`; `s` as it is when
/// it is not valid percent-encoding of UTF-8.
pub(crate) fn percent_decode_into(s: &str, out: &mut String) {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        out.push_str(s);
        return;
    }
    match unescape(s, true).map(String::from_utf8) {
        Some(Ok(d)) => out.push_str(&d),
        _ => out.push_str(s),
    }
}

/// Decodes a W3C `baggage` value by its spec: `%XX` escapes only (a `+`
/// is a plus: the spec's value characters include it, as in base64), and
/// escapes that do not make UTF-8 become U+FFFD; a `%` without two hex
/// digits leaves the value as it is.
pub(crate) fn percent_decode_w3c(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    match unescape(s, false) {
        Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        None => s.to_owned(),
    }
}

/// The bytes `s` percent-encodes (with `plus_as_space`, a `+` is a
/// space); `None` at an escape without two hex digits.
pub(crate) fn unescape(s: &str, plus_as_space: bool) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                // Two hex digits, no sign (`from_str_radix` would take `+5`).
                let digit = |j: usize| char::from(*bytes.get(j)?).to_digit(16);
                decoded.push((digit(i + 1)? * 16 + digit(i + 2)?) as u8);
                i += 3;
            }
            b'+' if plus_as_space => {
                decoded.push(b' ');
                i += 1;
            }
            b => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    Some(decoded)
}

/// Appends `s` with ASCII letters lowercased.
pub(crate) fn push_lowercase(out: &mut String, s: &str) {
    let start = out.len();
    out.push_str(s);
    out[start..].make_ascii_lowercase();
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A text-map carrier from literal pairs (shared by the format tests).
    pub(crate) fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn percent_round_trip_of_awkward_values() {
        for v in [
            "a b",
            "x,y=z",
            "100%",
            "naïve ☃",
            "line\r\nbreak",
            "a+b",
            "",
        ] {
            let enc = percent_encode(v);
            assert!(enc.bytes().all(|b| b.is_ascii_graphic()), "{enc}");
            assert!(!enc.contains(',') && !enc.contains(' '));
            assert_eq!(percent_decode(&enc), v);
        }
    }

    #[test]
    fn decode_accepts_plus_for_space_and_keeps_bad_escapes() {
        assert_eq!(percent_decode("a+b%20c"), "a b c");
        assert_eq!(percent_decode("bad%zz"), "bad%zz");
        assert_eq!(percent_decode("trunc%4"), "trunc%4");
        assert_eq!(percent_decode("%ff"), "%ff");
        // Two hex digits, not a signed number.
        assert_eq!(percent_decode("%+5x"), "%+5x");
        for v in ["a+b", "naïve ☃", "100%", "x,y=z w"] {
            assert_eq!(percent_decode_w3c(&percent_encode(v)), v);
        }
    }

    /// A W3C `baggage` value decodes by that spec: a `+` is a plus (base64
    /// values keep theirs), and escapes that are not UTF-8 become U+FFFD.
    #[test]
    fn w3c_values_keep_their_plus() {
        assert_eq!(percent_decode_w3c("YWJj+/8="), "YWJj+/8=");
        assert_eq!(percent_decode_w3c("a+b%20c"), "a+b c");
        assert_eq!(percent_decode_w3c("ok%FFthen"), "ok\u{fffd}then");
        assert_eq!(percent_decode_w3c("trunc%4"), "trunc%4");
    }

    /// The table and word-wide comparisons agree with the byte-by-byte
    /// definitions.
    #[test]
    fn byte_classes_and_case_folding_agree_with_std() {
        for b in 0..=255u8 {
            let tchar = b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            let unreserved = b.is_ascii_alphanumeric() || b"-_.~".contains(&b);
            assert_eq!(CLASS[b as usize] & TOKEN != 0, tchar, "byte {b}");
            assert_eq!(is_unreserved(b), unreserved, "byte {b}");
        }
        let names = [
            "uber-trace-id",
            "uberctx-",
            "x-b3-parentspanid",
            "b3",
            "baggage-",
        ];
        for lower in names {
            for n in 0..lower.len() + 2 {
                // Each position of the name takes every byte value.
                for b in 0..=255u8 {
                    let mut s = lower.as_bytes().to_vec();
                    if n < s.len() {
                        s[n] = b;
                    } else {
                        s.push(b);
                    }
                    let want = s.eq_ignore_ascii_case(lower.as_bytes());
                    assert_eq!(eq_lowercase(&s, lower.as_bytes()), want, "{s:?}");
                }
            }
            assert!(eq_ignore_case(&lower.to_uppercase(), lower));
            let upper = format!("{}K", lower.to_uppercase());
            assert_eq!(strip_prefix_ignore_case(&upper, lower), Some("K"));
        }
        assert_eq!(strip_prefix_ignore_case("uberctx\u{e9}", "uberctx-"), None);
        assert_eq!(strip_prefix_ignore_case("ube", "uberctx-"), None);
    }

    #[test]
    fn propagation_names_parse() {
        assert_eq!(
            "Jaeger".parse::<Propagation>().unwrap(),
            Propagation::Jaeger
        );
        assert!("zipkin".parse::<Propagation>().unwrap_err().is_config());
    }
}
