//! Thrift encoding of spans and batches, without building the generated
//! structs first.
//!
//! Spans (the hot path) and the process are written by [`Wire`], a direct
//! writer of the compact and binary protocols; the batch around them (a few
//! fields, once per datagram) goes through the `thrift` crate's protocols.
//! Each span is encoded once, on its own; batches are then assembled by
//! splicing those bytes between the batch's head and tail. That is
//! byte-identical to encoding the whole batch at once, because a struct's
//! encoding does not depend on what surrounds it (the compact protocol
//! resets its field-id delta at every struct begin). The tests decode
//! everything with the generated code and compare bytes to prove it.

use std::cell::RefCell;
use std::io::{self, Write};
use std::rc::Rc;

use thrift::protocol::{
    TBinaryOutputProtocol, TCompactOutputProtocol, TFieldIdentifier, TListIdentifier,
    TMessageIdentifier, TMessageType, TOutputProtocol, TStructIdentifier, TType,
};

use crate::span::{ReferenceType, SpanData};
use crate::tag::{Tag, TagValue};

/// The Thrift protocol of the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WireProtocol {
    Compact,
    Binary,
}

/// What wraps the `Batch` struct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Envelope {
    /// A oneway `Agent.emitBatch` call message (UDP to the agent).
    AgentCall,
    /// The bare `Batch` struct (HTTP to the collector).
    Bare,
}

/// Tag key of the marker added to a span whose logs or tags were removed to
/// fit a packet.
pub(crate) const TRIMMED_TAG: &str = "jaeger.trimmed";

/// Which parts of a span to leave out when it does not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Trim {
    pub(crate) logs: bool,
    pub(crate) tags: bool,
}

/// The client statistics sent with every batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ClientStats {
    pub(crate) full_queue_dropped: i64,
    pub(crate) too_large_dropped: i64,
    pub(crate) failed_to_emit: i64,
}

/// A `Write` into a buffer the encoder can also reach directly, so raw
/// pre-encoded bytes can be spliced between protocol calls.
#[derive(Clone, Default)]
pub(crate) struct SharedBuf(Rc<RefCell<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Encodes spans and batches. Object-safe so the reporter holds one without
/// knowing the protocol.
pub(crate) trait Encode {
    /// Encodes one span, appends its bytes to `out` and returns how many
    /// bytes were appended.
    fn span(&mut self, span: &SpanData, trim: Trim, max_tag_len: usize, out: &mut Vec<u8>)
        -> usize;

    /// Encodes a batch around `spans` (concatenated encoded spans, `count` of
    /// them) into `out`, replacing its content.
    fn batch(
        &mut self,
        out: &mut Vec<u8>,
        spans: &[u8],
        count: usize,
        seq_no: i64,
        stats: ClientStats,
    );

    /// An upper bound of the bytes a batch adds around its spans.
    fn overhead(&mut self) -> usize;
}

/// The encoder for one protocol and envelope.
pub(crate) struct Encoder<P> {
    protocol: P,
    /// Spans (the hot path) are written by [`write_span`] in this protocol.
    wire: WireProtocol,
    buf: SharedBuf,
    envelope: Envelope,
    /// The encoded `Process` struct, spliced into every batch.
    process: Vec<u8>,
}

/// Builds the encoder for a protocol, envelope and process.
pub(crate) fn encoder(
    protocol: WireProtocol,
    envelope: Envelope,
    service_name: &str,
    process_tags: &[Tag],
    max_tag_len: usize,
) -> Box<dyn Encode> {
    let buf = SharedBuf::default();
    match protocol {
        WireProtocol::Compact => Box::new(Encoder::new(
            TCompactOutputProtocol::new(buf.clone()),
            WireProtocol::Compact,
            buf,
            envelope,
            service_name,
            process_tags,
            max_tag_len,
        )),
        WireProtocol::Binary => Box::new(Encoder::new(
            TBinaryOutputProtocol::new(buf.clone(), true),
            WireProtocol::Binary,
            buf,
            envelope,
            service_name,
            process_tags,
            max_tag_len,
        )),
    }
}

// Writing into a Vec cannot fail; a protocol error here would be a bug in
// this module (for example an unbalanced struct begin/end), not bad input.
fn ok(r: thrift::Result<()>) {
    debug_assert!(r.is_ok(), "thrift encoding failed: {r:?}");
}

fn struct_id() -> TStructIdentifier {
    TStructIdentifier {
        name: String::new(),
    }
}

fn field<P: TOutputProtocol>(p: &mut P, ty: TType, id: i16) {
    ok(p.write_field_begin(&TFieldIdentifier {
        name: None,
        field_type: ty,
        id: Some(id),
    }));
}

fn list<P: TOutputProtocol>(p: &mut P, ty: TType, len: usize) {
    ok(p.write_list_begin(&TListIdentifier::new(ty, len as i32)));
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The primitive writes of a Thrift protocol, straight into a byte vector:
/// the span encoder's hot path, without the `thrift` crate's per-call
/// dispatch and error plumbing. Byte-identical to the `thrift` crate's
/// protocols (the tests decode and compare).
trait Wire {
    /// Enters a struct; what it returns goes to the matching `struct_end`.
    fn struct_begin(&mut self) -> i16;
    /// Writes the field stop and leaves the struct.
    fn struct_end(&mut self, out: &mut Vec<u8>, outer: i16);
    fn field(&mut self, out: &mut Vec<u8>, ty: TType, id: i16);
    fn bool_field(&mut self, out: &mut Vec<u8>, id: i16, v: bool);
    fn i32(&mut self, out: &mut Vec<u8>, v: i32);
    fn i64(&mut self, out: &mut Vec<u8>, v: i64);
    fn f64(&mut self, out: &mut Vec<u8>, v: f64);
    fn bytes(&mut self, out: &mut Vec<u8>, b: &[u8]);
    fn list(&mut self, out: &mut Vec<u8>, ty: TType, len: usize);
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The compact protocol: field ids as deltas from the previous field of the
/// same struct, integers as zigzag varints.
///
/// The enclosing structs' last field ids are kept by the callers (see
/// [`Wire::struct_begin`]), so that this is one scalar, which the compiler
/// keeps in a register once the encoding functions are inlined. (Kept in
/// memory, each field's header waited for the previous header's narrow
/// store to be written to the cache before reading it back wider: a
/// store-forwarding stall, most of the encoder's time by `perf`.)
#[derive(Default)]
struct Compact {
    last: i16,
}

fn compact_type(ty: TType) -> u8 {
    match ty {
        TType::Bool => 1,
        TType::I08 => 3,
        TType::I16 => 4,
        TType::I32 => 5,
        TType::I64 => 6,
        TType::Double => 7,
        TType::String => 8,
        TType::List => 9,
        TType::Set => 10,
        TType::Map => 11,
        _ => 12,
    }
}

impl Compact {
    #[inline(always)]
    fn header(&mut self, out: &mut Vec<u8>, ty: u8, id: i16) {
        let delta = id.wrapping_sub(self.last);
        if delta > 0 && delta < 15 {
            out.push((delta as u8) << 4 | ty);
        } else {
            out.push(ty);
            varint(out, ((id << 1) ^ (id >> 15)) as u16 as u64);
        }
        self.last = id;
    }
}

impl Wire for Compact {
    #[inline(always)]
    fn struct_begin(&mut self) -> i16 {
        std::mem::replace(&mut self.last, 0)
    }

    #[inline(always)]
    fn struct_end(&mut self, out: &mut Vec<u8>, outer: i16) {
        out.push(0);
        self.last = outer;
    }

    #[inline(always)]
    fn field(&mut self, out: &mut Vec<u8>, ty: TType, id: i16) {
        self.header(out, compact_type(ty), id);
    }

    #[inline(always)]
    fn bool_field(&mut self, out: &mut Vec<u8>, id: i16, v: bool) {
        self.header(out, if v { 1 } else { 2 }, id);
    }

    #[inline(always)]
    fn i32(&mut self, out: &mut Vec<u8>, v: i32) {
        varint(out, ((v << 1) ^ (v >> 31)) as u32 as u64);
    }

    #[inline(always)]
    fn i64(&mut self, out: &mut Vec<u8>, v: i64) {
        varint(out, ((v << 1) ^ (v >> 63)) as u64);
    }

    #[inline(always)]
    fn f64(&mut self, out: &mut Vec<u8>, v: f64) {
        out.extend_from_slice(&v.to_le_bytes());
    }

    #[inline(always)]
    fn bytes(&mut self, out: &mut Vec<u8>, b: &[u8]) {
        varint(out, b.len() as u64);
        out.extend_from_slice(b);
    }

    #[inline(always)]
    fn list(&mut self, out: &mut Vec<u8>, ty: TType, len: usize) {
        let ty = compact_type(ty);
        if len <= 14 {
            out.push((len as u8) << 4 | ty);
        } else {
            out.push(0xf0 | ty);
            varint(out, len as u32 as u64);
        }
    }
}

/// The binary protocol: fixed-width big-endian fields.
struct Binary;

fn binary_type(ty: TType) -> u8 {
    match ty {
        TType::Bool => 2,
        TType::I08 => 3,
        TType::Double => 4,
        TType::I16 => 6,
        TType::I32 => 8,
        TType::I64 => 10,
        TType::String => 11,
        TType::Map => 13,
        TType::Set => 14,
        TType::List => 15,
        _ => 12,
    }
}

impl Wire for Binary {
    fn struct_begin(&mut self) -> i16 {
        0
    }

    fn struct_end(&mut self, out: &mut Vec<u8>, _outer: i16) {
        out.push(0);
    }

    fn field(&mut self, out: &mut Vec<u8>, ty: TType, id: i16) {
        out.push(binary_type(ty));
        out.extend_from_slice(&id.to_be_bytes());
    }

    fn bool_field(&mut self, out: &mut Vec<u8>, id: i16, v: bool) {
        self.field(out, TType::Bool, id);
        out.push(u8::from(v));
    }

    fn i32(&mut self, out: &mut Vec<u8>, v: i32) {
        out.extend_from_slice(&v.to_be_bytes());
    }

    fn i64(&mut self, out: &mut Vec<u8>, v: i64) {
        out.extend_from_slice(&v.to_be_bytes());
    }

    fn f64(&mut self, out: &mut Vec<u8>, v: f64) {
        out.extend_from_slice(&v.to_bits().to_be_bytes());
    }

    fn bytes(&mut self, out: &mut Vec<u8>, b: &[u8]) {
        out.extend_from_slice(&(b.len() as i32).to_be_bytes());
        out.extend_from_slice(b);
    }

    fn list(&mut self, out: &mut Vec<u8>, ty: TType, len: usize) {
        out.push(binary_type(ty));
        out.extend_from_slice(&(len as i32).to_be_bytes());
    }
}

/// The name of a float that is not finite: `NaN`, `+Inf` or `-Inf`.
fn non_finite_name(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "+Inf"
    } else {
        "-Inf"
    }
}

/// Writes a tag; keys are cut to `max_key` bytes, string and binary values
/// to `max_len`; a float that is not finite goes as a string.
#[inline(always)]
fn write_tag<W: Wire>(
    w: &mut W,
    out: &mut Vec<u8>,
    key: &str,
    value: &TagValue,
    max_key: usize,
    max_len: usize,
) {
    let outer = w.struct_begin();
    w.field(out, TType::String, 1);
    w.bytes(out, truncate(key, max_key).as_bytes());
    w.field(out, TType::I32, 2);
    match value {
        TagValue::String(v) => {
            w.i32(out, 0);
            w.field(out, TType::String, 3);
            w.bytes(out, truncate(v, max_len).as_bytes());
        }
        TagValue::F64(v) if v.is_finite() => {
            w.i32(out, 1);
            w.field(out, TType::Double, 4);
            w.f64(out, *v);
        }
        TagValue::F64(v) => {
            // JSON has no NaN or infinity: the Jaeger query service failed
            // to answer any search that found such a value (HTTP 500, or an
            // empty body), so they go as the strings Go prints for them.
            w.i32(out, 0);
            w.field(out, TType::String, 3);
            w.bytes(out, non_finite_name(*v).as_bytes());
        }
        TagValue::Bool(v) => {
            w.i32(out, 2);
            w.bool_field(out, 5, *v);
        }
        TagValue::I64(v) => {
            w.i32(out, 3);
            w.field(out, TType::I64, 6);
            w.i64(out, *v);
        }
        TagValue::Binary(v) => {
            w.i32(out, 4);
            w.field(out, TType::String, 7);
            w.bytes(out, &v[..v.len().min(max_len)]);
        }
    }
    w.struct_end(out, outer);
}

/// Appends the encoded `Process` struct to `out` (once per encoder: it is
/// spliced into every batch).
fn write_process<W: Wire>(
    w: &mut W,
    service_name: &str,
    tags: &[Tag],
    max_tag_len: usize,
    out: &mut Vec<u8>,
) {
    let outer = w.struct_begin();
    w.field(out, TType::String, 1);
    w.bytes(out, truncate(service_name, max_tag_len).as_bytes());
    if !tags.is_empty() {
        w.field(out, TType::List, 2);
        w.list(out, TType::Struct, tags.len());
        for t in tags {
            write_tag(w, out, &t.key, &t.value, max_tag_len, max_tag_len);
        }
    }
    w.struct_end(out, outer);
}

/// Appends the encoded `Span` struct to `out`.
#[inline(always)]
fn write_span<W: Wire>(w: &mut W, s: &SpanData, trim: Trim, max_tag_len: usize, out: &mut Vec<u8>) {
    let outer = w.struct_begin();
    w.field(out, TType::I64, 1);
    w.i64(out, s.trace_id.low() as i64);
    w.field(out, TType::I64, 2);
    w.i64(out, s.trace_id.high() as i64);
    w.field(out, TType::I64, 3);
    w.i64(out, s.span_id.get() as i64);
    w.field(out, TType::I64, 4);
    w.i64(out, s.parent_id.get() as i64);
    w.field(out, TType::String, 5);
    w.bytes(out, truncate(&s.operation_name, max_tag_len).as_bytes());
    if !s.references.is_empty() {
        w.field(out, TType::List, 6);
        w.list(out, TType::Struct, s.references.len());
        for r in &s.references {
            let enclosing = w.struct_begin();
            w.field(out, TType::I32, 1);
            w.i32(
                out,
                match r.kind {
                    ReferenceType::ChildOf => 0,
                    ReferenceType::FollowsFrom => 1,
                },
            );
            w.field(out, TType::I64, 2);
            w.i64(out, r.trace_id.low() as i64);
            w.field(out, TType::I64, 3);
            w.i64(out, r.trace_id.high() as i64);
            w.field(out, TType::I64, 4);
            w.i64(out, r.span_id.get() as i64);
            w.struct_end(out, enclosing);
        }
    }
    w.field(out, TType::I32, 7);
    w.i32(out, i32::from(s.flags.bits()));
    let (start_us, duration_us) = s.times();
    w.field(out, TType::I64, 8);
    w.i64(out, start_us as i64);
    w.field(out, TType::I64, 9);
    w.i64(out, duration_us as i64);
    let marker = match (
        trim.logs && !s.logs.is_empty(),
        trim.tags && !s.tags.is_empty(),
    ) {
        (false, false) => None,
        (true, false) => Some("logs"),
        (false, true) => Some("tags"),
        (true, true) => Some("logs,tags"),
    };
    let (first, rest) = if trim.tags {
        (&[][..], &[][..])
    } else {
        s.tags.as_slices()
    };
    let tag_count = first.len() + rest.len() + usize::from(marker.is_some());
    if tag_count > 0 {
        w.field(out, TType::List, 10);
        w.list(out, TType::Struct, tag_count);
        for t in first.iter().chain(rest) {
            write_tag(w, out, &t.key, &t.value, max_tag_len, max_tag_len);
        }
        if let Some(m) = marker {
            write_tag(
                w,
                out,
                TRIMMED_TAG,
                &TagValue::from(m),
                usize::MAX,
                usize::MAX,
            );
        }
    }
    if !trim.logs && !s.logs.is_empty() {
        w.field(out, TType::List, 11);
        w.list(out, TType::Struct, s.logs.len());
        for l in &s.logs {
            let enclosing = w.struct_begin();
            w.field(out, TType::I64, 1);
            w.i64(out, l.timestamp_us as i64);
            w.field(out, TType::List, 2);
            w.list(out, TType::Struct, l.fields.len());
            for t in &l.fields {
                write_tag(w, out, &t.key, &t.value, max_tag_len, usize::MAX);
            }
            w.struct_end(out, enclosing);
        }
    }
    w.struct_end(out, outer);
}

impl<P: TOutputProtocol> Encoder<P> {
    fn new(
        protocol: P,
        wire: WireProtocol,
        buf: SharedBuf,
        envelope: Envelope,
        service_name: &str,
        process_tags: &[Tag],
        max_tag_len: usize,
    ) -> Self {
        let mut enc = Encoder {
            protocol,
            wire,
            buf,
            envelope,
            process: Vec::new(),
        };
        match wire {
            WireProtocol::Compact => write_process(
                &mut Compact::default(),
                service_name,
                process_tags,
                max_tag_len,
                &mut enc.process,
            ),
            WireProtocol::Binary => write_process(
                &mut Binary,
                service_name,
                process_tags,
                max_tag_len,
                &mut enc.process,
            ),
        }
        enc
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.buf.0.borrow_mut().extend_from_slice(bytes);
    }
}

impl<P: TOutputProtocol> Encode for Encoder<P> {
    fn span(&mut self, s: &SpanData, trim: Trim, max_tag_len: usize, out: &mut Vec<u8>) -> usize {
        let start = out.len();
        match self.wire {
            WireProtocol::Compact => write_span(&mut Compact::default(), s, trim, max_tag_len, out),
            WireProtocol::Binary => write_span(&mut Binary, s, trim, max_tag_len, out),
        }
        out.len() - start
    }

    fn batch(
        &mut self,
        out: &mut Vec<u8>,
        spans: &[u8],
        count: usize,
        seq_no: i64,
        stats: ClientStats,
    ) {
        self.buf.0.borrow_mut().clear();
        let envelope = self.envelope;
        if envelope == Envelope::AgentCall {
            ok(self.protocol.write_message_begin(&TMessageIdentifier::new(
                "emitBatch",
                TMessageType::OneWay,
                0,
            )));
            ok(self.protocol.write_struct_begin(&struct_id()));
            field(&mut self.protocol, TType::Struct, 1);
        }
        ok(self.protocol.write_struct_begin(&struct_id()));
        field(&mut self.protocol, TType::Struct, 1);
        let process = std::mem::take(&mut self.process);
        self.raw(&process);
        self.process = process;
        field(&mut self.protocol, TType::List, 2);
        list(&mut self.protocol, TType::Struct, count);
        self.raw(spans);
        ok(self.protocol.write_list_end());
        let p = &mut self.protocol;
        field(p, TType::I64, 3);
        ok(p.write_i64(seq_no));
        field(p, TType::Struct, 4);
        ok(p.write_struct_begin(&struct_id()));
        field(p, TType::I64, 1);
        ok(p.write_i64(stats.full_queue_dropped));
        field(p, TType::I64, 2);
        ok(p.write_i64(stats.too_large_dropped));
        field(p, TType::I64, 3);
        ok(p.write_i64(stats.failed_to_emit));
        ok(p.write_field_stop());
        ok(p.write_struct_end());
        ok(p.write_field_stop());
        ok(p.write_struct_end());
        if envelope == Envelope::AgentCall {
            ok(p.write_field_stop());
            ok(p.write_struct_end());
            ok(p.write_message_end());
        }
        ok(p.flush());
        // The batch changes places with `out`'s old bytes (cleared when the
        // next batch starts) instead of being copied there.
        std::mem::swap(out, &mut *self.buf.0.borrow_mut());
    }

    fn overhead(&mut self) -> usize {
        let max = ClientStats {
            full_queue_dropped: i64::MAX,
            too_large_dropped: i64::MAX,
            failed_to_emit: i64::MAX,
        };
        let mut out = Vec::new();
        self.batch(&mut out, &[], 0, i64::MAX, max);
        // An empty list header is counted above; a longer count takes at most
        // four more bytes (compact varint up to 2^28; binary is fixed width).
        out.len() + 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{SpanId, TraceId};
    use crate::span::WireRef;
    use crate::span_context::Flags;
    use crate::tag::LogRecord;
    use crate::thrift::{decode_agent_datagram, jaeger as gen};
    use thrift::protocol::TSerializable;
    use thrift::OrderedFloat;

    fn sample_span() -> SpanData {
        SpanData {
            trace_id: TraceId::new(0x1122, 0x3344),
            span_id: SpanId::new(u64::MAX),
            parent_id: SpanId::new(5),
            flags: Flags::SAMPLED.with(Flags::DEBUG),
            operation_name: "op ☃".into(),
            references: vec![
                WireRef {
                    kind: ReferenceType::ChildOf,
                    trace_id: TraceId::new(0x1122, 0x3344),
                    span_id: SpanId::new(5),
                },
                WireRef {
                    kind: ReferenceType::FollowsFrom,
                    trace_id: TraceId::new(0, 9),
                    span_id: SpanId::new(10),
                },
            ]
            .into(),
            start: 1_700_000_000_000_000,
            end: 1_700_000_000_001_234,
            tags: vec![
                Tag::new("s", "str"),
                Tag::new("b", true),
                Tag::new("f", false),
                Tag::new("i", -7i64),
                Tag::new("d", 2.5),
                Tag::new("bin", vec![0u8, 255]),
            ]
            .into(),
            logs: vec![LogRecord {
                timestamp_us: 1_700_000_000_000_100,
                fields: vec![Tag::new("event", "x"), Tag::new("n", 3)],
            }]
            .into(),
            local_root: false,
        }
    }

    fn gen_tag(key: &str, ty: i32) -> gen::Tag {
        gen::Tag {
            key: key.into(),
            v_type: gen::TagType(ty),
            v_str: None,
            v_double: None,
            v_bool: None,
            v_long: None,
            v_binary: None,
        }
    }

    fn expected_batch(seq: i64, stats: ClientStats) -> gen::Batch {
        let mut process_tag = gen_tag("jaeger.version", 0);
        process_tag.v_str = Some("Rust-test".into());
        let tags = vec![
            gen::Tag {
                v_str: Some("str".into()),
                ..gen_tag("s", 0)
            },
            gen::Tag {
                v_bool: Some(true),
                ..gen_tag("b", 2)
            },
            gen::Tag {
                v_bool: Some(false),
                ..gen_tag("f", 2)
            },
            gen::Tag {
                v_long: Some(-7),
                ..gen_tag("i", 3)
            },
            gen::Tag {
                v_double: Some(OrderedFloat(2.5)),
                ..gen_tag("d", 1)
            },
            gen::Tag {
                v_binary: Some(vec![0, 255]),
                ..gen_tag("bin", 4)
            },
        ];
        let span = gen::Span {
            trace_id_low: 0x3344,
            trace_id_high: 0x1122,
            span_id: -1,
            parent_span_id: 5,
            operation_name: "op ☃".into(),
            references: Some(vec![
                gen::SpanRef {
                    ref_type: gen::SpanRefType(0),
                    trace_id_low: 0x3344,
                    trace_id_high: 0x1122,
                    span_id: 5,
                },
                gen::SpanRef {
                    ref_type: gen::SpanRefType(1),
                    trace_id_low: 9,
                    trace_id_high: 0,
                    span_id: 10,
                },
            ]),
            flags: 3,
            start_time: 1_700_000_000_000_000,
            duration: 1234,
            tags: Some(tags),
            logs: Some(vec![gen::Log {
                timestamp: 1_700_000_000_000_100,
                fields: vec![
                    gen::Tag {
                        v_str: Some("x".into()),
                        ..gen_tag("event", 0)
                    },
                    gen::Tag {
                        v_long: Some(3),
                        ..gen_tag("n", 3)
                    },
                ],
            }]),
            incomplete: None,
        };
        gen::Batch {
            process: gen::Process {
                service_name: "svc".into(),
                tags: Some(vec![process_tag]),
            },
            spans: vec![span.clone(), span],
            seq_no: Some(seq),
            stats: Some(gen::ClientStats {
                full_queue_dropped_spans: stats.full_queue_dropped,
                too_large_dropped_spans: stats.too_large_dropped,
                failed_to_emit_spans: stats.failed_to_emit,
            }),
        }
    }

    fn encode_with(protocol: WireProtocol, envelope: Envelope) -> (Vec<u8>, ClientStats) {
        let mut enc = encoder(
            protocol,
            envelope,
            "svc",
            &[Tag::new("jaeger.version", "Rust-test")],
            1024,
        );
        let mut spans = Vec::new();
        let a = enc.span(&sample_span(), Trim::default(), usize::MAX, &mut spans);
        let b = enc.span(&sample_span(), Trim::default(), usize::MAX, &mut spans);
        assert_eq!(a + b, spans.len());
        let stats = ClientStats {
            full_queue_dropped: 1,
            too_large_dropped: 2,
            failed_to_emit: 3,
        };
        let mut out = Vec::new();
        enc.batch(&mut out, &spans, 2, 42, stats);
        assert!(out.len() <= spans.len() + enc.overhead());
        (out, stats)
    }

    #[test]
    fn bare_batch_is_byte_identical_to_generated_code() {
        for (protocol, compact) in [(WireProtocol::Compact, true), (WireProtocol::Binary, false)] {
            let (ours, stats) = encode_with(protocol, Envelope::Bare);
            let mut theirs: Vec<u8> = Vec::new();
            {
                let mut p: Box<dyn TOutputProtocol> = if compact {
                    Box::new(TCompactOutputProtocol::new(&mut theirs))
                } else {
                    Box::new(TBinaryOutputProtocol::new(&mut theirs, true))
                };
                expected_batch(42, stats)
                    .write_to_out_protocol(p.as_mut())
                    .unwrap();
                p.flush().unwrap();
            }
            assert_eq!(ours, theirs, "{protocol:?}");
        }
    }

    #[test]
    fn agent_datagram_decodes_through_generated_processor() {
        for (protocol, compact) in [(WireProtocol::Compact, true), (WireProtocol::Binary, false)] {
            let (ours, stats) = encode_with(protocol, Envelope::AgentCall);
            let batch = decode_agent_datagram(&ours, compact).unwrap();
            assert_eq!(batch, expected_batch(42, stats), "{protocol:?}");
        }
    }

    #[test]
    fn trimming_drops_logs_then_tags_and_marks_it() {
        let mut enc = encoder(WireProtocol::Compact, Envelope::Bare, "svc", &[], 1024);
        let span = sample_span();
        let mut full = Vec::new();
        let mut no_logs = Vec::new();
        let mut bare = Vec::new();
        let n_full = enc.span(&span, Trim::default(), usize::MAX, &mut full);
        let n_logs = enc.span(
            &span,
            Trim {
                logs: true,
                tags: false,
            },
            usize::MAX,
            &mut no_logs,
        );
        let n_bare = enc.span(
            &span,
            Trim {
                logs: true,
                tags: true,
            },
            usize::MAX,
            &mut bare,
        );
        assert!(n_full > n_logs && n_logs > n_bare);
        let mut out = Vec::new();
        enc.batch(&mut out, &bare, 1, 1, ClientStats::default());
        let b = crate::thrift::decode_bare_batch(&out, true).unwrap();
        let tags = b.spans[0].tags.clone().unwrap();
        assert_eq!(tags.len(), 1);
        assert_eq!(tags[0].key, TRIMMED_TAG);
        assert_eq!(tags[0].v_str.as_deref(), Some("logs,tags"));
        assert!(b.spans[0].logs.is_none());
    }

    #[test]
    fn floats_json_cannot_hold_go_as_strings() {
        let mut span = sample_span();
        let values = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 1.5];
        span.tags = values
            .iter()
            .enumerate()
            .map(|(i, v)| Tag::new(format!("t{i}"), *v))
            .collect::<Vec<_>>()
            .into();
        span.logs = vec![LogRecord {
            timestamp_us: 1,
            fields: vec![Tag::new("ratio", f64::NAN)],
        }]
        .into();
        for (protocol, compact) in [(WireProtocol::Compact, true), (WireProtocol::Binary, false)] {
            let mut enc = encoder(protocol, Envelope::Bare, "svc", &[], 1024);
            let mut spans = Vec::new();
            enc.span(&span, Trim::default(), usize::MAX, &mut spans);
            let mut out = Vec::new();
            enc.batch(&mut out, &spans, 1, 1, ClientStats::default());
            let batch = crate::thrift::decode_bare_batch(&out, compact).unwrap();
            let decoded = &batch.spans[0];
            let tags = decoded.tags.as_ref().unwrap();
            let as_text: Vec<(i32, Option<&str>)> = tags
                .iter()
                .map(|t| (t.v_type.0, t.v_str.as_deref()))
                .collect();
            assert_eq!(
                as_text[..3],
                [(0, Some("NaN")), (0, Some("+Inf")), (0, Some("-Inf"))],
                "{protocol:?}"
            );
            assert_eq!(
                tags[3].v_double.map(|d| d.0.to_bits()),
                Some((-0.0f64).to_bits())
            );
            assert_eq!(tags[4].v_double.map(|d| d.0), Some(1.5));
            let field = &decoded.logs.as_ref().unwrap()[0].fields[0];
            assert_eq!((field.v_type.0, field.v_str.as_deref()), (0, Some("NaN")));
        }
    }

    #[test]
    fn long_strings_are_truncated_on_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
        assert_eq!(truncate("abc", 10), "abc");
    }

    fn gen_of(t: &Tag) -> gen::Tag {
        let mut g = gen_tag(&t.key, 0);
        match &t.value {
            TagValue::String(v) => g.v_str = Some(v.to_string()),
            TagValue::F64(v) if v.is_finite() => {
                g.v_type = gen::TagType(1);
                g.v_double = Some(OrderedFloat(*v));
            }
            TagValue::F64(v) => g.v_str = Some(non_finite_name(*v).to_owned()),
            TagValue::Bool(v) => {
                g.v_type = gen::TagType(2);
                g.v_bool = Some(*v);
            }
            TagValue::I64(v) => {
                g.v_type = gen::TagType(3);
                g.v_long = Some(*v);
            }
            TagValue::Binary(v) => {
                g.v_type = gen::TagType(4);
                g.v_binary = Some(v.to_vec());
            }
        }
        g
    }

    /// Random spans (lists past the 14 elements of a compact short list
    /// header, integer extremes, every tag type) encode to exactly the bytes
    /// of the generated code, in both protocols.
    #[test]
    fn random_spans_are_byte_identical_to_generated_code() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let extremes = [0i64, 1, -1, 63, 64, -64, -65, i64::MAX, i64::MIN, 1 << 35];
        for round in 0..2000 {
            let int = |rng: &mut rand::rngs::StdRng| {
                if rng.gen_bool(0.5) {
                    extremes[rng.gen_range(0..extremes.len())]
                } else {
                    rng.gen()
                }
            };
            let tag = |rng: &mut rand::rngs::StdRng, i: usize| -> Tag {
                let key = format!("k{i}");
                match rng.gen_range(0..5) {
                    0 => Tag::new(key, "v".repeat(rng.gen_range(0..200))),
                    1 if rng.gen_bool(0.1) => Tag::new(
                        key,
                        [f64::NAN, f64::INFINITY, f64::NEG_INFINITY][rng.gen_range(0..3)],
                    ),
                    1 => Tag::new(key, rng.gen::<f64>() * 1e6),
                    2 => Tag::new(key, rng.gen_bool(0.5)),
                    3 => Tag::new(key, int(rng)),
                    _ => Tag::new(key, vec![7u8; rng.gen_range(0..20)]),
                }
            };
            let tags: Vec<Tag> = (0..rng.gen_range(0..40))
                .map(|i| tag(&mut rng, i))
                .collect();
            let logs: Vec<LogRecord> = (0..rng.gen_range(0..20))
                .map(|_| LogRecord {
                    timestamp_us: int(&mut rng) as u64,
                    fields: (0..rng.gen_range(0..18))
                        .map(|i| tag(&mut rng, i))
                        .collect(),
                })
                .collect();
            let references: Vec<WireRef> = (0..rng.gen_range(0..18))
                .map(|_| WireRef {
                    kind: if rng.gen_bool(0.5) {
                        ReferenceType::ChildOf
                    } else {
                        ReferenceType::FollowsFrom
                    },
                    trace_id: TraceId::new(int(&mut rng) as u64, int(&mut rng) as u64),
                    span_id: SpanId::new(int(&mut rng) as u64),
                })
                .collect();
            // Microsecond stamps (a raw counter reading has the top bit
            // set): any time and any duration up to 2^62 µs.
            let start = int(&mut rng) as u64 >> 2;
            let duration = int(&mut rng) as u64 >> 2;
            let span = SpanData {
                trace_id: TraceId::new(int(&mut rng) as u64, int(&mut rng) as u64),
                span_id: SpanId::new(int(&mut rng) as u64),
                parent_id: SpanId::new(int(&mut rng) as u64),
                flags: Flags::SAMPLED,
                operation_name: format!("op{round}").into(),
                references: references.into(),
                start,
                end: start + duration,
                tags: tags.into(),
                logs: logs.into(),
                local_root: false,
            };
            let expected = gen::Span {
                trace_id_low: span.trace_id.low() as i64,
                trace_id_high: span.trace_id.high() as i64,
                span_id: span.span_id.get() as i64,
                parent_span_id: span.parent_id.get() as i64,
                operation_name: span.operation_name.to_string(),
                references: (!span.references.is_empty()).then(|| {
                    span.references
                        .iter()
                        .map(|r| gen::SpanRef {
                            ref_type: gen::SpanRefType(match r.kind {
                                ReferenceType::ChildOf => 0,
                                ReferenceType::FollowsFrom => 1,
                            }),
                            trace_id_low: r.trace_id.low() as i64,
                            trace_id_high: r.trace_id.high() as i64,
                            span_id: r.span_id.get() as i64,
                        })
                        .collect()
                }),
                flags: i32::from(span.flags.bits()),
                start_time: start as i64,
                duration: duration as i64,
                tags: (!span.tags.is_empty()).then(|| span.tags.iter().map(gen_of).collect()),
                logs: (!span.logs.is_empty()).then(|| {
                    span.logs
                        .iter()
                        .map(|l| gen::Log {
                            timestamp: l.timestamp_us as i64,
                            fields: l.fields.iter().map(gen_of).collect(),
                        })
                        .collect()
                }),
                incomplete: None,
            };
            for (protocol, compact) in
                [(WireProtocol::Compact, true), (WireProtocol::Binary, false)]
            {
                let mut enc = encoder(protocol, Envelope::Bare, "svc", &[], usize::MAX);
                let mut ours = Vec::new();
                enc.span(&span, Trim::default(), usize::MAX, &mut ours);
                let mut theirs: Vec<u8> = Vec::new();
                {
                    let mut p: Box<dyn TOutputProtocol> = if compact {
                        Box::new(TCompactOutputProtocol::new(&mut theirs))
                    } else {
                        Box::new(TBinaryOutputProtocol::new(&mut theirs, true))
                    };
                    expected.write_to_out_protocol(p.as_mut()).unwrap();
                    p.flush().unwrap();
                }
                assert_eq!(ours, theirs, "round {round}, {protocol:?}");
            }
        }
    }
}
