//! The Jaeger binary format, big-endian: trace id high and low (u64 each),
//! span id (u64), parent id (u64), flags (u8), baggage count (i32), then per
//! item key length (i32), key, value length (i32), value.

use std::io::{self, Read, Write};

use super::BaggageLimits;
use crate::error::Error;
use crate::id::{SpanId, TraceId};
use crate::span_context::{Flags, SpanContext};

pub(crate) fn inject(ctx: &SpanContext, w: &mut dyn Write) -> Result<(), Error> {
    let io = |e: io::Error| Error::io("cannot write the binary span context", e);
    let mut buf = Vec::with_capacity(37);
    buf.extend_from_slice(&ctx.trace_id().high().to_be_bytes());
    buf.extend_from_slice(&ctx.trace_id().low().to_be_bytes());
    buf.extend_from_slice(&ctx.span_id().get().to_be_bytes());
    buf.extend_from_slice(&ctx.parent_id().get().to_be_bytes());
    buf.push(ctx.flags().bits());
    let items: Vec<(&str, &str)> = ctx.baggage_items().collect();
    buf.extend_from_slice(&(items.len() as i32).to_be_bytes());
    for (k, v) in items {
        buf.extend_from_slice(&(k.len() as i32).to_be_bytes());
        buf.extend_from_slice(k.as_bytes());
        buf.extend_from_slice(&(v.len() as i32).to_be_bytes());
        buf.extend_from_slice(v.as_bytes());
    }
    w.write_all(&buf).map_err(io)
}

fn read_array<const N: usize>(r: &mut dyn Read) -> Result<[u8; N], Error> {
    let mut b = [0u8; N];
    r.read_exact(&mut b)
        .map_err(|e| Error::propagation(format!("binary span context is truncated: {e}")))?;
    Ok(b)
}

fn read_len(r: &mut dyn Read, what: &str, max: usize) -> Result<usize, Error> {
    let n = i32::from_be_bytes(read_array(r)?);
    if n < 0 || n as usize > max {
        return Err(Error::propagation(format!(
            "binary span context: {what} {n} is outside 0..={max}"
        )));
    }
    Ok(n as usize)
}

fn read_string(r: &mut dyn Read, what: &str, max: usize) -> Result<String, Error> {
    let len = read_len(r, what, max)?;
    // Grown as bytes arrive, not allocated up front at the length the
    // input claims: a short hostile input costs what it holds, whatever
    // caps the tracer was given.
    let mut b = Vec::with_capacity(len.min(4096));
    (&mut *r)
        .take(len as u64)
        .read_to_end(&mut b)
        .map_err(|e| Error::propagation(format!("binary span context is truncated: {e}")))?;
    if b.len() < len {
        return Err(Error::propagation(format!(
            "binary span context is truncated: {what} {len}, {} bytes left",
            b.len()
        )));
    }
    String::from_utf8(b)
        .map_err(|_| Error::propagation(format!("binary span context: {what} is not UTF-8")))
}

/// Reads a context. An empty input is "no context"; anything malformed,
/// more baggage items than allowed or more baggage bytes than allowed is an
/// error (the input is untrusted).
pub(crate) fn extract(
    r: &mut dyn Read,
    limits: BaggageLimits,
) -> Result<Option<SpanContext>, Error> {
    let mut first = [0u8; 1];
    match r.read(&mut first) {
        Ok(0) => return Ok(None),
        Ok(_) => {}
        Err(e) => return Err(Error::io("cannot read the binary span context", e)),
    }
    let rest: [u8; 7] = read_array(r)?;
    let mut high = [0u8; 8];
    high[0] = first[0];
    high[1..].copy_from_slice(&rest);
    let high = u64::from_be_bytes(high);
    let low = u64::from_be_bytes(read_array(r)?);
    let span = u64::from_be_bytes(read_array(r)?);
    let parent = u64::from_be_bytes(read_array(r)?);
    let [flags] = read_array::<1>(r)?;
    let trace_id = TraceId::new(high, low);
    if !trace_id.is_valid() || span == 0 {
        return Err(Error::propagation(
            "binary span context has a zero trace or span id",
        ));
    }
    let mut ctx = SpanContext::new(
        trace_id,
        SpanId::new(span),
        SpanId::new(parent),
        Flags::from_bits(flags),
    )
    .into_remote();
    let count = read_len(r, "baggage count", limits.max_items)?;
    let mut budget = limits.max_bytes;
    for _ in 0..count {
        let k = read_string(r, "baggage key length", budget)?;
        budget -= k.len();
        let v = read_string(r, "baggage value length", budget)?;
        budget -= v.len();
        ctx.baggage_mut().set(k, v);
    }
    Ok(Some(ctx))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: BaggageLimits = BaggageLimits {
        max_items: 64,
        max_bytes: 8192,
    };

    #[test]
    fn round_trip() {
        let ctx = SpanContext::new(
            TraceId::new(1, 2),
            SpanId::new(3),
            SpanId::new(4),
            Flags::SAMPLED,
        )
        .with_baggage_item("k", "v ☃");
        let mut buf = Vec::new();
        inject(&ctx, &mut buf).unwrap();
        assert_eq!(buf.len(), 8 * 4 + 1 + 4 + 4 + 1 + 4 + "v ☃".len());
        let back = extract(&mut buf.as_slice(), LIMITS).unwrap().unwrap();
        assert_eq!(back, ctx.into_remote());
        assert!(extract(&mut &[][..], LIMITS).unwrap().is_none());
    }

    /// A reader over bytes that records the largest buffer it is asked to
    /// fill: the memory a read sets aside for what the input claims.
    struct Watched<'a> {
        bytes: &'a [u8],
        largest_buffer: usize,
    }

    impl Read for Watched<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.largest_buffer = self.largest_buffer.max(buf.len());
            self.bytes.read(buf)
        }
    }

    #[test]
    fn a_claimed_length_sets_aside_no_more_than_the_input_holds() {
        let ctx = SpanContext::new(
            TraceId::new(0, 1),
            SpanId::new(2),
            SpanId::new(0),
            Flags::SAMPLED,
        );
        let mut input = Vec::new();
        inject(&ctx, &mut input).unwrap();
        // One baggage item whose key claims 2 GiB - 1 and holds 3 bytes.
        input.truncate(input.len() - 4);
        input.extend_from_slice(&1i32.to_be_bytes());
        input.extend_from_slice(&i32::MAX.to_be_bytes());
        input.extend_from_slice(b"abc");
        // Caps as large as a user may set them: only the input bounds it.
        let open = BaggageLimits {
            max_items: usize::MAX,
            max_bytes: usize::MAX,
        };
        let mut reader = Watched {
            bytes: &input,
            largest_buffer: 0,
        };
        let err = extract(&mut reader, open).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
        assert!(
            reader.largest_buffer <= 64 * 1024,
            "a {} byte buffer was set aside for 3 bytes",
            reader.largest_buffer
        );
    }

    #[test]
    fn hostile_input_is_rejected() {
        let ctx = SpanContext::new(
            TraceId::new(0, 2),
            SpanId::new(3),
            SpanId::new(0),
            Flags::SAMPLED,
        );
        let mut head = Vec::new();
        inject(&ctx, &mut head).unwrap();
        head.truncate(head.len() - 4);
        for tail in [
            (-1i32).to_be_bytes().to_vec(),
            1000i32.to_be_bytes().to_vec(),
            [1i32.to_be_bytes(), i32::MAX.to_be_bytes()].concat(),
            [1i32.to_be_bytes(), 1i32.to_be_bytes()].concat(),
        ] {
            let input = [head.clone(), tail].concat();
            assert!(extract(&mut input.as_slice(), LIMITS)
                .unwrap_err()
                .is_propagation());
        }
        assert!(extract(&mut &head[..10], LIMITS).is_err());
    }
}
