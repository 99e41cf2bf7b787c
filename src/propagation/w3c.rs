//! W3C Trace Context (`traceparent`, `tracestate`) and W3C `baggage`.

use super::{percent_decode, percent_encode, Extractor, Injector};
use crate::error::Error;
use crate::id::{SpanId, TraceId};
use crate::span_context::{Flags, SpanContext};

/// `00-{32 hex trace id}-{16 hex parent id}-{2 hex flags}`.
pub const TRACEPARENT: &str = "traceparent";
/// Vendor state, carried through unchanged.
pub const TRACESTATE: &str = "tracestate";
/// W3C baggage: `k1=v1,k2=v2` with percent-encoded values.
pub const BAGGAGE: &str = "baggage";

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub(super) fn inject(ctx: &SpanContext, carrier: &mut dyn Injector) {
    if ctx.is_valid() {
        let t = ctx.trace_id();
        carrier.set(
            TRACEPARENT,
            format!(
                "00-{:016x}{:016x}-{}-{:02x}",
                t.high(),
                t.low(),
                ctx.span_id(),
                u8::from(ctx.is_sampled())
            ),
        );
        if let Some(state) = ctx.trace_state() {
            carrier.set(TRACESTATE, state.to_owned());
        }
    }
    let items: Vec<String> = ctx
        .baggage_items()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect();
    if !items.is_empty() {
        carrier.set(BAGGAGE, items.join(","));
    }
}

fn parse_traceparent(value: &str) -> Result<SpanContext, Error> {
    let err = |why: &str| Error::propagation(format!("invalid {TRACEPARENT} {value:?}: {why}"));
    let parts: Vec<&str> = value.split('-').collect();
    if parts.len() < 4 {
        return Err(err("must have four '-'-separated fields"));
    }
    let (version, trace, span, flags) = (parts[0], parts[1], parts[2], parts[3]);
    if version.len() != 2 || !is_lower_hex(version) || version == "ff" {
        return Err(err("bad version"));
    }
    // Version 00 has exactly four fields; later versions may append more.
    if version == "00" && parts.len() != 4 {
        return Err(err("version 00 has exactly four fields"));
    }
    if trace.len() != 32 || !is_lower_hex(trace) {
        return Err(err("the trace id must be 32 lowercase hex digits"));
    }
    if span.len() != 16 || !is_lower_hex(span) {
        return Err(err("the parent id must be 16 lowercase hex digits"));
    }
    if flags.len() != 2 || !is_lower_hex(flags) {
        return Err(err("the flags must be 2 lowercase hex digits"));
    }
    let trace_id: TraceId = trace.parse().map_err(|_| err("the trace id is zero"))?;
    let span_id: SpanId = span.parse()?;
    if !span_id.is_valid() {
        return Err(err("the parent id is zero"));
    }
    let bits = u8::from_str_radix(flags, 16).map_err(|_| err("bad flags"))?;
    let f = if bits & 1 == 1 {
        Flags::SAMPLED
    } else {
        Flags::default()
    };
    Ok(SpanContext::new(trace_id, span_id, SpanId::new(0), f).into_remote())
}

/// The headers this format reads, in any ASCII case.
fn is_w3c_header(key: &str) -> bool {
    super::is_one_of(key, &[TRACEPARENT, TRACESTATE, BAGGAGE])
}

pub(super) fn extract(carrier: &dyn Extractor) -> Result<Option<SpanContext>, Error> {
    let (mut parent, mut state, mut baggage) = (None, Vec::new(), Vec::new());
    carrier.for_each_wanted(&is_w3c_header, &mut |k, v| {
        if super::eq_ignore_case(k, TRACEPARENT) {
            parent = Some(v.trim().to_owned());
        } else if super::eq_ignore_case(k, TRACESTATE) {
            state.push(v.trim().to_owned());
        } else if super::eq_ignore_case(k, BAGGAGE) {
            for item in v.split(',') {
                // Properties after ';' are not kept.
                let item = item.split(';').next().unwrap_or("");
                if let Some((key, value)) = item.split_once('=') {
                    let key = percent_decode(key.trim());
                    if !key.is_empty() {
                        baggage.push((key, percent_decode(value.trim())));
                    }
                }
            }
        }
    });
    let mut ctx = match parent {
        Some(p) => {
            let mut ctx = parse_traceparent(&p)?;
            let state = state.join(",");
            if !state.is_empty() {
                ctx.set_trace_state(Some(Box::from(state)));
            }
            ctx
        }
        None if !baggage.is_empty() => SpanContext::default().into_remote(),
        None => return Ok(None),
    };
    for (k, v) in baggage {
        ctx.baggage_mut().set(k, v);
    }
    Ok(Some(ctx))
}

#[cfg(test)]
mod tests {
    use super::super::tests::map;
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn spec_example_and_round_trip() {
        let c = map(&[
            (
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
            ("tracestate", "congo=t61rcWkgMzE"),
            ("baggage", "user=alice%20b,tenant=acme;prop=1"),
        ]);
        let ctx = extract(&c).unwrap().unwrap();
        assert_eq!(
            ctx.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(ctx.span_id().to_string(), "00f067aa0ba902b7");
        assert!(ctx.is_sampled());
        assert_eq!(ctx.trace_state(), Some("congo=t61rcWkgMzE"));
        assert_eq!(ctx.baggage_item("user"), Some("alice b"));
        assert_eq!(ctx.baggage_item("tenant"), Some("acme"));
        let mut out = HashMap::new();
        inject(&ctx, &mut out);
        assert_eq!(out["traceparent"], c["traceparent"]);
        assert_eq!(out["tracestate"], "congo=t61rcWkgMzE");
        let back = extract(&out).unwrap().unwrap();
        assert_eq!(back.baggage_item("user"), Some("alice b"));
    }

    #[test]
    fn future_versions_parse_by_the_first_four_fields() {
        let c = map(&[(
            "traceparent",
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds",
        )]);
        assert!(extract(&c).unwrap().unwrap().is_sampled());
    }

    #[test]
    fn rejects_invalid() {
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "",
        ] {
            assert!(
                extract(&map(&[("traceparent", bad)]))
                    .unwrap_err()
                    .is_propagation(),
                "{bad}"
            );
        }
    }
}
