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
///
/// Eight digits at a time in one register: each nibble is moved into a
/// byte of its own, then every byte is turned into its digit at once.
#[inline]
pub(crate) fn hex16(v: u64, out: &mut [u8; 16]) {
    out[..8].copy_from_slice(&hex8((v >> 32) as u32).to_be_bytes());
    out[8..].copy_from_slice(&hex8(v as u32).to_be_bytes());
}

/// The 8 lowercase hex digits of `x` as the bytes of a `u64`, the most
/// significant digit in the most significant byte.
#[inline]
fn hex8(x: u32) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let x = u64::from(x);
    // One nibble a byte: 16-bit halves apart, then bytes, then nibbles.
    let x = (x & 0xffff_0000) << 16 | (x & 0xffff);
    let x = (x & 0x0000_ff00_0000_ff00) << 8 | (x & 0x0000_00ff_0000_00ff);
    let n = (x & 0x00f0_00f0_00f0_00f0) << 4 | (x & 0x000f_000f_000f_000f);
    // A nibble of 10 or more gains bit 4 when 6 is added (no byte carries:
    // 15 + 6 < 256); those digits are letters, 39 beyond '0' + 10.
    let letters = ((n + 6 * ONES) >> 4) & ONES;
    n + b'0' as u64 * ONES + letters * 39
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
    hex_u64(s.as_bytes()).ok_or_else(bad)
}

/// The value of 16 hex digits of either case, eight at a time in one
/// register; `None` if any byte is not a hex digit.
#[inline]
pub(crate) fn unhex16(digits: &[u8; 16]) -> Option<u64> {
    let mut hi = [0u8; 8];
    let mut lo = [0u8; 8];
    hi.copy_from_slice(&digits[..8]);
    lo.copy_from_slice(&digits[8..]);
    let hi = unhex8(u64::from_be_bytes(hi))?;
    let lo = unhex8(u64::from_be_bytes(lo))?;
    Some(u64::from(hi) << 32 | u64::from(lo))
}

/// Eight hex digits, the first in the most significant byte of `w`.
#[inline]
fn unhex8(w: u64) -> Option<u32> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x80 * ONES;
    if w & HIGH != 0 {
        return None;
    }
    // Bit 7 of each byte (all below 0x80, so no carries between bytes): set
    // when the byte is at least `lo`, or at most `hi`.
    let at_least = |x: u64, lo: u8| x + (0x80 - u64::from(lo)) * ONES;
    let at_most = |x: u64, hi: u8| !(x + (0x7f - u64::from(hi)) * ONES);
    let digit = at_least(w, b'0') & at_most(w, b'9');
    let folded = w | (0x20 * ONES);
    let letter = at_least(folded, b'a') & at_most(folded, b'f') & HIGH;
    if (digit | letter) & HIGH != HIGH {
        return None;
    }
    // '0'..'9' and 'a'..'f' / 'A'..'F' end in their value, letters less 9.
    let v = (w & (0x0f * ONES)) + (letter >> 7) * 9;
    // Two nibbles a byte, then two bytes a 16-bit lane, then 32 bits.
    let v = (v | v >> 4) & 0x00ff_00ff_00ff_00ff;
    let v = (v | v >> 8) & 0x0000_ffff_0000_ffff;
    Some((v | v >> 16) as u32)
}

/// The value of up to 16 hex digits of either case (more are shifted out:
/// callers check the width); `None` if any byte is not a hex digit. No
/// branch per digit: the digits' values are or-ed together, and a non-digit
/// (0xff) shows in the high bits.
#[inline]
pub(crate) fn hex_u64(digits: &[u8]) -> Option<u64> {
    let (mut v, mut seen) = (0u64, 0u8);
    for &b in digits {
        let d = HEX_DIGIT[b as usize];
        seen |= d;
        v = v << 4 | u64::from(d & 0xf);
    }
    (seen <= 15).then_some(v)
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

#[cold]
#[inline(never)]
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

    /// The register-wide hex writer and the branch-free reader agree with
    /// the standard library's formatting and parsing.
    #[test]
    fn hex_agrees_with_std_formatting_and_parsing() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut samples = vec![0, 1, 9, 10, 15, 16, u64::MAX, 0x0123_4567_89ab_cdef];
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            samples.push(x);
        }
        for v in samples {
            let mut buf = [0u8; 16];
            hex16(v, &mut buf);
            let want = format!("{v:016x}");
            assert_eq!(std::str::from_utf8(&buf).unwrap(), want);
            assert_eq!(hex_u64(want.as_bytes()), Some(v));
            assert_eq!(hex_u64(want.to_uppercase().as_bytes()), Some(v));
            let digits: [u8; 16] = want.as_bytes().try_into().unwrap();
            assert_eq!(unhex16(&digits), Some(v));
            let upper: [u8; 16] = want.to_uppercase().as_bytes().try_into().unwrap();
            assert_eq!(unhex16(&upper), Some(v));
            let short = format!("{v:x}");
            assert_eq!(hex_u64(short.as_bytes()), Some(v));
        }
        for bad in ["g", "12 3", "-1", "+1", "0x1", "é", "1:2"] {
            assert_eq!(hex_u64(bad.as_bytes()), None, "{bad}");
        }
        // Every byte that is not a hex digit is refused.
        for b in 0..=255u8 {
            let want = (b as char).to_digit(16).map(u64::from);
            assert_eq!(hex_u64(&[b'1', b]), want.map(|d| 16 + d), "byte {b}");
            for at in 0..16 {
                let mut digits = *b"0123456789abcdef";
                digits[at] = b;
                let mut expect = 0x0123_4567_89ab_cdefu64;
                let shift = 60 - 4 * at;
                expect &= !(0xf << shift);
                let got = unhex16(&digits);
                assert_eq!(got, want.map(|d| expect | d << shift), "byte {b} at {at}");
            }
        }
    }

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
