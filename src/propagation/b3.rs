//! Zipkin B3: the multi-header form (`x-b3-*`) and the single `b3` header.
//! Baggage travels as `baggage-{key}` headers, as the Jaeger clients' B3
//! codecs do.
//!
//! B3 baggage has no agreed encoding: the Go and Java clients send values
//! raw, the Node client percent-encodes them. A value of plain printable
//! ASCII without `%` or surrounding spaces is sent raw (every client reads
//! it back); any other value is percent-encoded, so no value can break a
//! header or lose its spaces. On extract,
//! valid `%XX` escapes are decoded and `+` is kept as is.

use super::{percent_encode, Extractor, Injector};
use crate::error::Error;
use crate::id::{SpanId, TraceId};
use crate::span_context::{Flags, SpanContext};

/// Trace id header (16 or 32 hex digits).
pub const TRACE_ID: &str = "x-b3-traceid";
/// Span id header.
pub const SPAN_ID: &str = "x-b3-spanid";
/// Parent span id header (absent for a root).
pub const PARENT_SPAN_ID: &str = "x-b3-parentspanid";
/// Sampling decision header: `1`/`0` (also `true`/`false` on extract).
pub const SAMPLED: &str = "x-b3-sampled";
/// Debug header: `1` means debug (and sampled).
pub const FLAGS: &str = "x-b3-flags";
/// The single-header form: `{trace}-{span}-{sampled}-{parent}`.
pub const SINGLE: &str = "b3";
/// Prefix of one baggage item header each.
pub const BAGGAGE_PREFIX: &str = "baggage-";

fn inject_baggage(ctx: &SpanContext, carrier: &mut dyn Injector) {
    for (k, v) in ctx.baggage_items().filter(|(k, _)| super::is_token(k)) {
        // Surrounding spaces would be trimmed as HTTP whitespace: encode.
        let plain = v.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'%') && v.trim() == v;
        let value = if plain {
            v.to_owned()
        } else {
            percent_encode(v)
        };
        carrier.set_prefixed(BAGGAGE_PREFIX, k, value);
    }
}

/// Decodes `%XX` escapes when every `%` starts a valid one and the result
/// is UTF-8; otherwise the value is taken as sent.
fn decode_escapes(v: &str) -> String {
    if !v.contains('%') {
        return v.to_owned();
    }
    match super::unescape(v, false).map(String::from_utf8) {
        Some(Ok(d)) => d,
        _ => v.to_owned(),
    }
}

pub(super) fn inject_multi(ctx: &SpanContext, carrier: &mut dyn Injector) {
    if !ctx.is_valid() {
        return;
    }
    carrier.set(TRACE_ID, ctx.trace_id().to_string());
    carrier.set(SPAN_ID, ctx.span_id().to_string());
    if ctx.parent_id().is_valid() {
        carrier.set(PARENT_SPAN_ID, ctx.parent_id().to_string());
    }
    // Debug implies sampled, and B3 suggests sending only the flag; but the
    // Java and Python clients read a lone X-B3-Flags as debug-but-unsampled,
    // so both are sent (as the Java client does).
    if ctx.is_debug() {
        carrier.set(FLAGS, "1".into());
    }
    carrier.set(SAMPLED, if ctx.is_sampled() { "1" } else { "0" }.into());
    inject_baggage(ctx, carrier);
}

pub(super) fn inject_single(ctx: &SpanContext, carrier: &mut dyn Injector) {
    if !ctx.is_valid() {
        return;
    }
    let sampled = if ctx.is_debug() {
        "d"
    } else if ctx.is_sampled() {
        "1"
    } else {
        "0"
    };
    let mut value = format!("{}-{}-{sampled}", ctx.trace_id(), ctx.span_id());
    if ctx.parent_id().is_valid() {
        value.push('-');
        value.push_str(&ctx.parent_id().to_string());
    }
    carrier.set(SINGLE, value);
    inject_baggage(ctx, carrier);
}

// Ids are 16 (trace: or 32) hex digits by the B3 spec; shorter ones are
// accepted, as some clients drop leading zeros (Node writes a root's parent
// as `0`).
fn parse_span_id(s: &str, header: &str) -> Result<SpanId, Error> {
    s.parse::<SpanId>()
        .map_err(|e| Error::propagation(format!("{header}: {e}")))
}

fn parse_trace_id(s: &str, header: &str) -> Result<TraceId, Error> {
    s.parse::<TraceId>()
        .map_err(|e| Error::propagation(format!("{header}: {e}")))
}

fn sampled_flags(value: &str, header: &str) -> Result<Flags, Error> {
    match value {
        "1" | "true" => Ok(Flags::SAMPLED),
        "0" | "false" => Ok(Flags::default()),
        "d" => Ok(Flags::SAMPLED.with(Flags::DEBUG)),
        other => Err(Error::propagation(format!(
            "{header} {other:?} is not 1, 0, d, true or false"
        ))),
    }
}

/// The sampling decision `X-B3-Sampled` and `X-B3-Flags` make, if any
/// (`X-B3-Flags: 1` is debug, and so sampled; a lone `0` decides nothing).
fn decision(sampled: Option<&str>, flags: Option<&str>) -> Result<Option<Flags>, Error> {
    let mut f = sampled.map(|s| sampled_flags(s, SAMPLED)).transpose()?;
    if flags == Some("1") {
        f = Some(
            f.unwrap_or_default()
                .with(Flags::SAMPLED)
                .with(Flags::DEBUG),
        );
    }
    Ok(f)
}

/// The headers this format reads, in any ASCII case.
fn is_b3_header(key: &str) -> bool {
    super::is_one_of(
        key,
        &[TRACE_ID, SPAN_ID, PARENT_SPAN_ID, SAMPLED, FLAGS, SINGLE],
    ) || super::strip_prefix_ignore_case(key, BAGGAGE_PREFIX).is_some()
}

pub(super) fn extract(carrier: &dyn Extractor) -> Result<Option<SpanContext>, Error> {
    let (mut trace, mut span, mut parent, mut sampled, mut flags, mut single) =
        (None, None, None, None, None, None);
    let mut baggage = Vec::new();
    carrier.for_each_wanted(&is_b3_header, &mut |k, v| {
        let v = v.trim();
        if super::eq_ignore_case(k, TRACE_ID) {
            trace = Some(v.to_owned());
        } else if super::eq_ignore_case(k, SPAN_ID) {
            span = Some(v.to_owned());
        } else if super::eq_ignore_case(k, PARENT_SPAN_ID) {
            parent = Some(v.to_owned());
        } else if super::eq_ignore_case(k, SAMPLED) {
            sampled = Some(v.to_owned());
        } else if super::eq_ignore_case(k, FLAGS) {
            flags = Some(v.to_owned());
        } else if super::eq_ignore_case(k, SINGLE) {
            single = Some(v.to_owned());
        } else if let Some(key) = super::strip_prefix_ignore_case(k, BAGGAGE_PREFIX) {
            if !key.is_empty() {
                baggage.push((key.to_ascii_lowercase(), decode_escapes(v)));
            }
        }
    });
    // The single header takes precedence when it carries ids (as in
    // OpenTelemetry's, Envoy's and Brave's B3 readers); the multiple
    // headers are read when it is absent, malformed or a decision alone.
    let single = single.map(|s| parse_single(&s));
    let mut ctx = match single {
        Some(Ok(ctx)) if ctx.is_valid() => ctx,
        single => {
            if let Some(t) = trace {
                let trace_id = parse_trace_id(&t, TRACE_ID)?;
                let span_id = parse_span_id(span.as_deref().unwrap_or(""), SPAN_ID)?;
                if !span_id.is_valid() {
                    return Err(Error::propagation(format!("{SPAN_ID} is zero")));
                }
                let parent_id = match &parent {
                    Some(p) => parse_span_id(p, PARENT_SPAN_ID)?,
                    None => SpanId::new(0),
                };
                let f = decision(sampled.as_deref(), flags.as_deref())?.unwrap_or_default();
                SpanContext::new(trace_id, span_id, parent_id, f).into_remote()
            } else if let Some(single) = single {
                single?
            } else if let Some(f) = decision(sampled.as_deref(), flags.as_deref())? {
                // A sampling decision alone (B3 allows sending only the
                // sampling state): the new trace's root follows it.
                SpanContext::with_decision_only(f)
            } else {
                return Ok(None);
            }
        }
    };
    for (k, v) in baggage {
        ctx.baggage_mut().set(k, v);
    }
    Ok(Some(ctx))
}

/// `{trace}-{span}[-{sampled}[-{parent}]]`, or a lone sampling decision
/// (a partial context that only decides the new trace's sampling).
fn parse_single(s: &str) -> Result<SpanContext, Error> {
    let parts: Vec<&str> = s.split('-').collect();
    if parts.len() == 1 {
        return Ok(SpanContext::with_decision_only(sampled_flags(
            parts[0], SINGLE,
        )?));
    }
    if parts.len() > 4 {
        return Err(Error::propagation(format!(
            "{SINGLE} header {s:?} has more than four parts"
        )));
    }
    let trace_id = parse_trace_id(parts[0], SINGLE)?;
    let span_id = parse_span_id(parts[1], SINGLE)?;
    if !span_id.is_valid() {
        return Err(Error::propagation(format!(
            "{SINGLE} header has a zero span id"
        )));
    }
    let flags = match parts.get(2) {
        Some(p) => sampled_flags(p, SINGLE)?,
        None => Flags::default(),
    };
    let parent_id = match parts.get(3) {
        Some(p) => parse_span_id(p, SINGLE)?,
        None => SpanId::new(0),
    };
    Ok(SpanContext::new(trace_id, span_id, parent_id, flags).into_remote())
}

#[cfg(test)]
mod tests {
    use super::super::tests::map;
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn multi_round_trip_and_debug() {
        let ctx = SpanContext::new(
            TraceId::new(1, 2),
            SpanId::new(3),
            SpanId::new(4),
            Flags::SAMPLED.with(Flags::DEBUG),
        )
        .with_baggage_item("k", "a b");
        let mut c = HashMap::new();
        inject_multi(&ctx, &mut c);
        assert_eq!(c.get(FLAGS).map(String::as_str), Some("1"));
        assert_eq!(c.get(SAMPLED).map(String::as_str), Some("1"));
        assert_eq!(c["baggage-k"], "a b", "plain ASCII travels raw");
        let back = extract(&c).unwrap().unwrap();
        assert_eq!(
            (
                back.trace_id(),
                back.span_id(),
                back.parent_id(),
                back.flags()
            ),
            (ctx.trace_id(), ctx.span_id(), ctx.parent_id(), ctx.flags())
        );
        assert_eq!(back.baggage_item("k"), Some("a b"));
    }

    #[test]
    fn single_header_forms() {
        let c = map(&[(
            "b3",
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90",
        )]);
        let ctx = extract(&c).unwrap().unwrap();
        assert_eq!(
            ctx.trace_id().to_string(),
            "80f198ee56343ba864fe8b2a57d3eff7"
        );
        assert_eq!(ctx.parent_id().to_string(), "05e3ac9a4f6e3b90");
        assert!(ctx.is_sampled());
        let ctx = extract(&map(&[("b3", "64fe8b2a57d3eff7-e457b5a2e4d86bd1-d")]))
            .unwrap()
            .unwrap();
        assert!(ctx.is_debug());
        let mut out = HashMap::new();
        inject_single(&ctx, &mut out);
        assert_eq!(out["b3"], "64fe8b2a57d3eff7-e457b5a2e4d86bd1-d");
    }

    /// A sampling decision sent alone (B3's "sampling state" without
    /// ids) is a partial context carrying that decision, and the baggage
    /// that came with it; an inject of it writes nothing.
    #[test]
    fn a_lone_sampling_decision_is_a_partial_context() {
        let decided = |headers: &[(&str, &str)]| {
            extract(&map(headers))
                .unwrap()
                .map(|c| (c.is_valid(), c.upstream_decision()))
        };
        let (deny, accept, debug) = (
            Flags::default(),
            Flags::SAMPLED,
            Flags::SAMPLED.with(Flags::DEBUG),
        );
        assert_eq!(decided(&[("b3", "0")]), Some((false, Some(deny))));
        assert_eq!(decided(&[("b3", "1")]), Some((false, Some(accept))));
        assert_eq!(decided(&[("b3", "d")]), Some((false, Some(debug))));
        assert_eq!(decided(&[("X-B3-Sampled", "0")]), Some((false, Some(deny))));
        assert_eq!(
            decided(&[("x-b3-sampled", "true")]),
            Some((false, Some(accept)))
        );
        assert_eq!(decided(&[("X-B3-Flags", "1")]), Some((false, Some(debug))));
        assert_eq!(decided(&[("X-B3-Flags", "0")]), None);
        assert!(extract(&map(&[("X-B3-Sampled", "maybe")])).is_err());
        let ctx = extract(&map(&[("b3", "1"), ("baggage-k", "v")]))
            .unwrap()
            .unwrap();
        assert_eq!(ctx.baggage_item("k"), Some("v"));
        let mut out = HashMap::new();
        inject_multi(&ctx, &mut out);
        inject_single(&ctx, &mut out);
        assert!(out.is_empty(), "{out:?}");
    }

    /// With both forms present, the single header's ids win; the multiple
    /// headers stand in when it is malformed or a decision alone.
    #[test]
    fn the_single_header_takes_precedence() {
        let single = "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1";
        let multi = [
            ("X-B3-TraceId", "0000000000000001"),
            ("X-B3-SpanId", "0000000000000002"),
            ("X-B3-Sampled", "0"),
        ];
        let with = |b3: &str| {
            let mut headers = multi.to_vec();
            headers.push(("b3", b3));
            let ctx = extract(&map(&headers)).unwrap().unwrap();
            (ctx.trace_id().to_string(), ctx.is_sampled())
        };
        assert_eq!(
            with(single),
            ("80f198ee56343ba864fe8b2a57d3eff7".into(), true)
        );
        for stand_in in ["x-y", "1", "0"] {
            assert_eq!(
                with(stand_in),
                ("0000000000000001".into(), false),
                "{stand_in}"
            );
        }
        // The single header's error when nothing stands in.
        let err = extract(&map(&[("b3", "x-y")])).unwrap_err();
        assert!(
            err.is_propagation() && err.to_string().contains("b3"),
            "{err}"
        );
    }

    #[test]
    fn baggage_encoding_is_raw_for_plain_ascii_only() {
        let ctx = SpanContext::new(
            TraceId::new(0, 1),
            SpanId::new(2),
            SpanId::new(0),
            Flags::SAMPLED,
        )
        .with_baggage_item("a", "x,y=z w")
        .with_baggage_item("b", "100%")
        .with_baggage_item("c", "naïve")
        .with_baggage_item("d", "line\r\nbreak")
        .with_baggage_item("e", " padded ");
        let mut c = HashMap::new();
        inject_multi(&ctx, &mut c);
        assert_eq!(c["baggage-a"], "x,y=z w");
        assert_eq!(c["baggage-b"], "100%25");
        assert_eq!(c["baggage-c"], "na%C3%AFve");
        assert_eq!(c["baggage-d"], "line%0D%0Abreak");
        assert_eq!(c["baggage-e"], "%20padded%20");
        let back = extract(&c).unwrap().unwrap();
        for (k, v) in ctx.baggage_items() {
            assert_eq!(back.baggage_item(k), Some(v));
        }
        // As the Go and Java clients send them: raw, `+` and a lone `%` kept.
        let raw = map(&[
            ("x-b3-traceid", "1"),
            ("x-b3-spanid", "2"),
            ("baggage-k", "1+1=2 at 100%"),
        ]);
        assert_eq!(
            extract(&raw).unwrap().unwrap().baggage_item("k"),
            Some("1+1=2 at 100%")
        );
    }

    #[test]
    fn accepts_true_false_and_rejects_malformed() {
        let ok = map(&[
            ("X-B3-TraceId", "0000000000000001"),
            ("X-B3-SpanId", "0000000000000002"),
            ("X-B3-Sampled", "true"),
        ]);
        assert!(extract(&ok).unwrap().unwrap().is_sampled());
        for bad in [
            &[
                ("x-b3-traceid", "1".repeat(33).as_str()),
                ("x-b3-spanid", "0000000000000002"),
            ][..],
            &[("x-b3-traceid", "0000000000000001")],
            &[
                ("x-b3-traceid", "0000000000000001"),
                ("x-b3-spanid", "0000000000000000"),
            ],
            &[
                ("x-b3-traceid", "0000000000000001"),
                ("x-b3-spanid", "0000000000000002"),
                ("x-b3-sampled", "yes"),
            ],
            &[("b3", "a-b-c-d-e")],
            &[("b3", "x")],
        ] {
            assert!(extract(&map(bad)).unwrap_err().is_propagation(), "{bad:?}");
        }
    }
}
