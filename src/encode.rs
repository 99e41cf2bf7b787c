//! Thrift encoding of spans and batches, written straight to the `thrift`
//! crate's protocols without building the generated structs first.
//!
//! One code path serves both wire protocols: [`Encoder`] is generic over the
//! output protocol. Each span is encoded once, on its own, into a scratch
//! buffer; batches are then assembled by splicing those bytes between the
//! batch's head and tail. That is byte-identical to encoding the whole batch
//! at once, because a struct's encoding does not depend on what surrounds it
//! (the compact protocol resets its field-id delta at every struct begin).
//! The tests decode everything with the generated code to prove it.

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
            buf,
            envelope,
            service_name,
            process_tags,
            max_tag_len,
        )),
        WireProtocol::Binary => Box::new(Encoder::new(
            TBinaryOutputProtocol::new(buf.clone(), true),
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

/// Writes a tag; keys are cut to `max_key` bytes, string and binary values
/// to `max_len`.
fn write_tag<P: TOutputProtocol>(
    p: &mut P,
    key: &str,
    value: &TagValue,
    max_key: usize,
    max_len: usize,
) {
    ok(p.write_struct_begin(&struct_id()));
    field(p, TType::String, 1);
    ok(p.write_string(truncate(key, max_key)));
    let (ty, id) = match value {
        TagValue::String(_) => (0, 3),
        TagValue::F64(_) => (1, 4),
        TagValue::Bool(_) => (2, 5),
        TagValue::I64(_) => (3, 6),
        TagValue::Binary(_) => (4, 7),
    };
    field(p, TType::I32, 2);
    ok(p.write_i32(ty));
    match value {
        TagValue::String(s) => {
            field(p, TType::String, id);
            ok(p.write_string(truncate(s, max_len)));
        }
        TagValue::F64(v) => {
            field(p, TType::Double, id);
            ok(p.write_double(*v));
        }
        TagValue::Bool(v) => {
            field(p, TType::Bool, id);
            ok(p.write_bool(*v));
        }
        TagValue::I64(v) => {
            field(p, TType::I64, id);
            ok(p.write_i64(*v));
        }
        TagValue::Binary(v) => {
            field(p, TType::String, id);
            ok(p.write_bytes(&v[..v.len().min(max_len)]));
        }
    }
    ok(p.write_field_stop());
    ok(p.write_struct_end());
}

impl<P: TOutputProtocol> Encoder<P> {
    fn new(
        protocol: P,
        buf: SharedBuf,
        envelope: Envelope,
        service_name: &str,
        process_tags: &[Tag],
        max_tag_len: usize,
    ) -> Self {
        let mut enc = Encoder {
            protocol,
            buf,
            envelope,
            process: Vec::new(),
        };
        let p = &mut enc.protocol;
        ok(p.write_struct_begin(&struct_id()));
        field(p, TType::String, 1);
        ok(p.write_string(truncate(service_name, max_tag_len)));
        if !process_tags.is_empty() {
            field(p, TType::List, 2);
            list(p, TType::Struct, process_tags.len());
            for t in process_tags {
                write_tag(p, &t.key, &t.value, max_tag_len, max_tag_len);
            }
            ok(p.write_list_end());
        }
        ok(p.write_field_stop());
        ok(p.write_struct_end());
        enc.process = enc.buf.0.take();
        enc
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.buf.0.borrow_mut().extend_from_slice(bytes);
    }
}

impl<P: TOutputProtocol> Encode for Encoder<P> {
    fn span(&mut self, s: &SpanData, trim: Trim, max_tag_len: usize, out: &mut Vec<u8>) -> usize {
        self.buf.0.borrow_mut().clear();
        let p = &mut self.protocol;
        ok(p.write_struct_begin(&struct_id()));
        field(p, TType::I64, 1);
        ok(p.write_i64(s.trace_id.low() as i64));
        field(p, TType::I64, 2);
        ok(p.write_i64(s.trace_id.high() as i64));
        field(p, TType::I64, 3);
        ok(p.write_i64(s.span_id.get() as i64));
        field(p, TType::I64, 4);
        ok(p.write_i64(s.parent_id.get() as i64));
        field(p, TType::String, 5);
        ok(p.write_string(truncate(&s.operation_name, max_tag_len)));
        if !s.references.is_empty() {
            field(p, TType::List, 6);
            list(p, TType::Struct, s.references.len());
            for r in &s.references {
                ok(p.write_struct_begin(&struct_id()));
                field(p, TType::I32, 1);
                ok(p.write_i32(match r.kind {
                    ReferenceType::ChildOf => 0,
                    ReferenceType::FollowsFrom => 1,
                }));
                field(p, TType::I64, 2);
                ok(p.write_i64(r.trace_id.low() as i64));
                field(p, TType::I64, 3);
                ok(p.write_i64(r.trace_id.high() as i64));
                field(p, TType::I64, 4);
                ok(p.write_i64(r.span_id.get() as i64));
                ok(p.write_field_stop());
                ok(p.write_struct_end());
            }
            ok(p.write_list_end());
        }
        field(p, TType::I32, 7);
        ok(p.write_i32(i32::from(s.flags.bits())));
        field(p, TType::I64, 8);
        ok(p.write_i64(s.start_us as i64));
        field(p, TType::I64, 9);
        ok(p.write_i64(s.duration_us as i64));
        let marker = match (
            trim.logs && !s.logs.is_empty(),
            trim.tags && !s.tags.is_empty(),
        ) {
            (false, false) => None,
            (true, false) => Some("logs"),
            (false, true) => Some("tags"),
            (true, true) => Some("logs,tags"),
        };
        let tags: &[Tag] = if trim.tags { &[] } else { &s.tags };
        let tag_count = tags.len() + usize::from(marker.is_some());
        if tag_count > 0 {
            field(p, TType::List, 10);
            list(p, TType::Struct, tag_count);
            for t in tags {
                write_tag(p, &t.key, &t.value, max_tag_len, max_tag_len);
            }
            if let Some(m) = marker {
                write_tag(p, TRIMMED_TAG, &TagValue::from(m), usize::MAX, usize::MAX);
            }
            ok(p.write_list_end());
        }
        if !trim.logs && !s.logs.is_empty() {
            field(p, TType::List, 11);
            list(p, TType::Struct, s.logs.len());
            for l in &s.logs {
                ok(p.write_struct_begin(&struct_id()));
                field(p, TType::I64, 1);
                ok(p.write_i64(l.timestamp_us as i64));
                field(p, TType::List, 2);
                list(p, TType::Struct, l.fields.len());
                for t in &l.fields {
                    write_tag(p, &t.key, &t.value, max_tag_len, usize::MAX);
                }
                ok(p.write_list_end());
                ok(p.write_field_stop());
                ok(p.write_struct_end());
            }
            ok(p.write_list_end());
        }
        ok(p.write_field_stop());
        ok(p.write_struct_end());
        let bytes = self.buf.0.borrow();
        out.extend_from_slice(&bytes);
        bytes.len()
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
        out.clear();
        out.extend_from_slice(&self.buf.0.borrow());
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
            ],
            start_us: 1_700_000_000_000_000,
            duration_us: 1234,
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
            }],
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
    fn long_strings_are_truncated_on_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
