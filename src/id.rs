//! Trace and span identifiers, and their fast generation.

use std::cell::Cell;
use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// A trace id: 128 bits, of which the high 64 are zero for 64-bit ids.
///
/// Written as 16 lowercase hex digits when the high half is zero, otherwise 32.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TraceId {
    high: u64,
    low: u64,
}

impl TraceId {
    /// Builds a trace id from its high and low halves.
    pub const fn new(high: u64, low: u64) -> Self {
        TraceId { high, low }
    }

    /// The high 64 bits (zero for a 64-bit id).
    pub const fn high(&self) -> u64 {
        self.high
    }

    /// The low 64 bits.
    pub const fn low(&self) -> u64 {
        self.low
    }

    /// The id as one 128-bit number.
    pub const fn to_u128(&self) -> u128 {
        ((self.high as u128) << 64) | self.low as u128
    }

    /// True unless both halves are zero (a zero trace id is invalid).
    pub const fn is_valid(&self) -> bool {
        self.high != 0 || self.low != 0
    }
}

impl From<u128> for TraceId {
    fn from(v: u128) -> Self {
        TraceId::new((v >> 64) as u64, v as u64)
    }
}

/// Writes `v` as 16 lowercase hex digits into `out`.
#[inline]
pub(crate) fn hex16(v: u64, out: &mut [u8; 16]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in out.iter_mut().enumerate() {
        *b = DIGITS[((v >> (60 - 4 * i)) & 0xf) as usize];
    }
}

fn write_hex16(f: &mut fmt::Formatter<'_>, v: u64) -> fmt::Result {
    let mut buf = [0u8; 16];
    hex16(v, &mut buf);
    // Hex digits are ASCII.
    f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.high != 0 {
            write_hex16(f, self.high)?;
        }
        write_hex16(f, self.low)
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}

impl FromStr for TraceId {
    type Err = Error;

    /// Parses 1 to 32 hex digits (leading zeros may be omitted). A zero id is
    /// an error.
    fn from_str(s: &str) -> Result<Self, Error> {
        // Checked before slicing: a non-ASCII input must not be cut inside
        // a character (found by the property tests).
        // (parse_hex_u64 checks the digits.)
        if s.is_empty() || s.len() > 32 || !s.is_ascii() {
            return Err(Error::propagation(format!(
                "trace id {s:?} must have 1 to 32 hex digits"
            )));
        }
        let split = s.len().saturating_sub(16);
        let high = if split == 0 {
            0
        } else {
            parse_hex_u64(&s[..split], "trace id")?
        };
        let low = parse_hex_u64(&s[split..], "trace id")?;
        let id = TraceId::new(high, low);
        if !id.is_valid() {
            return Err(Error::propagation("trace id is zero"));
        }
        Ok(id)
    }
}

/// A span id: 64 bits, never zero for a real span.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SpanId(u64);

impl SpanId {
    /// Wraps a raw 64-bit id.
    pub const fn new(id: u64) -> Self {
        SpanId(id)
    }

    /// The raw 64-bit value.
    pub const fn get(&self) -> u64 {
        self.0
    }

    /// True unless zero.
    pub const fn is_valid(&self) -> bool {
        self.0 != 0
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex16(f, self.0)
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({self})")
    }
}

impl FromStr for SpanId {
    type Err = Error;

    /// Parses 1 to 16 hex digits; zero is accepted here (a parent id may be
    /// zero), callers that need a real span reject it.
    fn from_str(s: &str) -> Result<Self, Error> {
        parse_hex_u64(s, "span id").map(SpanId)
    }
}

/// Parses 1..=16 hex digits of either case, without sign or prefix.
pub(crate) fn parse_hex_u64(s: &str, what: &str) -> Result<u64, Error> {
    let bad = || Error::propagation(format!("{what} {s:?} must have 1 to 16 hex digits"));
    if s.is_empty() || s.len() > 16 {
        return Err(bad());
    }
    let mut v = 0u64;
    for b in s.bytes() {
        let d = HEX_DIGIT[b as usize];
        if d > 15 {
            return Err(bad());
        }
        v = v << 4 | u64::from(d);
    }
    Ok(v)
}

/// The value of `b` as a hex digit.
#[inline]
pub(crate) fn hex_digit(b: u8) -> Option<u8> {
    let d = HEX_DIGIT[b as usize];
    (d <= 15).then_some(d)
}

/// The value of each byte as a hex digit, or 0xff.
static HEX_DIGIT: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

thread_local! {
    // Per-thread generator state (xorshift64*), seeded once from the OS RNG so
    // that threads and processes draw independent sequences without any
    // shared state on the hot path. Zero until first use (a `const` cell:
    // reading it is one load, with no lazy-initialisation check).
    static RNG: Cell<u64> = const { Cell::new(0) };
}

fn seed() -> u64 {
    loop {
        let s: u64 = rand::random();
        if s != 0 {
            return s;
        }
    }
}

/// A random non-zero 64-bit id from this thread's generator.
#[inline]
pub(crate) fn random_u64() -> u64 {
    RNG.with(|state| {
        let mut x = state.get();
        if x == 0 {
            // The xorshift state is never zero once seeded.
            x = seed();
        }
        loop {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            let out = x.wrapping_mul(0x2545_f491_4f6c_dd1d);
            if out != 0 {
                state.set(x);
                return out;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_id_display_width_follows_high_bits() {
        assert_eq!(TraceId::new(0, 0xab).to_string(), "00000000000000ab");
        assert_eq!(
            TraceId::new(1, 0xab).to_string(),
            "000000000000000100000000000000ab"
        );
    }

    #[test]
    fn trace_id_parses_short_and_long() {
        assert_eq!("ab".parse::<TraceId>().unwrap(), TraceId::new(0, 0xab));
        assert_eq!(
            "1000000000000000ab".parse::<TraceId>().unwrap(),
            TraceId::new(0x10, 0xab)
        );
        let full = "ffffffffffffffff0000000000000001";
        assert_eq!(full.parse::<TraceId>().unwrap(), TraceId::new(u64::MAX, 1));
        assert!("0".parse::<TraceId>().is_err());
        assert!("".parse::<TraceId>().is_err());
        assert!("g1".parse::<TraceId>().is_err());
        assert!("+1".parse::<TraceId>().is_err());
        assert!("1".repeat(33).parse::<TraceId>().is_err());
        // 17 bytes with a multi-byte character across the split point.
        assert!("0000000000000000é".parse::<TraceId>().is_err());
        assert!("ab€cdef0123456789".parse::<TraceId>().is_err());
    }

    #[test]
    fn span_id_rejects_long_and_signed() {
        assert_eq!("00ff".parse::<SpanId>().unwrap(), SpanId::new(0xff));
        assert!("1".repeat(17).parse::<SpanId>().is_err());
        assert!("-1".parse::<SpanId>().is_err());
    }

    #[test]
    fn random_ids_are_non_zero_and_distinct() {
        let ids: std::collections::HashSet<u64> = (0..10_000).map(|_| random_u64()).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(!ids.contains(&0));
    }
}
