//! The Jaeger text format: `uber-trace-id`, `uberctx-*`, `jaeger-baggage`,
//! `jaeger-debug-id`.

use super::{
    percent_decode_into, percent_encode, push_lowercase, strip_prefix_ignore_case, Extractor,
    Injector,
};
use crate::error::Error;
use crate::span_context::{Packed, SpanContext};

/// Header carrying `{trace-id}:{span-id}:{parent-id}:{flags}`.
pub const TRACE_HEADER: &str = "uber-trace-id";
/// Prefix of one baggage item header each.
pub const BAGGAGE_PREFIX: &str = "uberctx-";
/// Header with several baggage items, `k1=v1, k2=v2` (extract only).
pub const BAGGAGE_HEADER: &str = "jaeger-baggage";
/// Header that forces a new debug trace when no trace header is present.
pub const DEBUG_HEADER: &str = "jaeger-debug-id";

pub(super) fn inject(ctx: &SpanContext, carrier: &mut dyn Injector) {
    if !ctx.is_valid() {
        return;
    }
    carrier.set(TRACE_HEADER, ctx.to_header());
    for (k, v) in ctx.baggage_items() {
        if !super::is_token(k) {
            log::debug!("jaeger: baggage key {k:?} is not a header token; not injected");
            continue;
        }
        let value = percent_encode(v);
        carrier.set_prefixed(BAGGAGE_PREFIX, k, value);
    }
}

/// The headers this format reads, in any ASCII case.
fn is_jaeger_header(key: &str) -> bool {
    super::is_one_of(key, &[TRACE_HEADER, BAGGAGE_HEADER, DEBUG_HEADER])
        || strip_prefix_ignore_case(key, BAGGAGE_PREFIX).is_some()
}

pub(super) fn extract(carrier: &dyn Extractor) -> Result<Option<SpanContext>, Error> {
    let mut trace: Option<Result<SpanContext, Error>> = None;
    let mut debug_id: Option<String> = None;
    let mut baggage = Packed::default();
    carrier.for_each_wanted(&is_jaeger_header, &mut |key, value| {
        if super::eq_ignore_case(key, TRACE_HEADER) {
            trace =
                Some(value.trim().parse::<SpanContext>().map_err(|e| {
                    Error::propagation(format!("invalid {TRACE_HEADER} header: {e}"))
                }));
        } else if let Some(k) = strip_prefix_ignore_case(key, BAGGAGE_PREFIX) {
            if !k.is_empty() {
                baggage.push_with(|t| push_lowercase(t, k), |t| percent_decode_into(value, t));
            }
        } else if super::eq_ignore_case(key, BAGGAGE_HEADER) {
            for item in value.split(',') {
                if let Some((k, v)) = item.split_once('=') {
                    let k = k.trim();
                    if !k.is_empty() {
                        baggage.push_with(
                            |t| push_lowercase(t, k),
                            |t| percent_decode_into(v.trim(), t),
                        );
                    }
                }
            }
        } else if super::eq_ignore_case(key, DEBUG_HEADER) && !value.trim().is_empty() {
            debug_id = Some(value.trim().to_owned());
        }
    });
    let mut ctx = match (trace, debug_id) {
        (Some(Err(e)), _) => return Err(e),
        (Some(Ok(ctx)), _) => ctx,
        (None, Some(id)) => SpanContext::with_debug_id_only(&id),
        (None, None) if !baggage.is_empty() => SpanContext::empty().into_remote(),
        (None, None) => return Ok(None),
    };
    if !baggage.is_empty() {
        ctx.set_baggage(crate::span_context::Baggage::from_packed(baggage));
    }
    Ok(Some(ctx))
}

#[cfg(test)]
mod tests {
    use super::super::tests::map;
    use super::*;
    use crate::id::{SpanId, TraceId};
    use crate::span_context::Flags;
    use std::collections::HashMap;

    /// A carrier that implements only `set` gets the built keys through the
    /// default `set_owned`.
    #[test]
    fn a_carrier_with_only_set_receives_every_header() {
        struct Pairs(Vec<(String, String)>);
        impl crate::Injector for Pairs {
            fn set(&mut self, key: &str, value: String) {
                self.0.push((key.to_owned(), value));
            }
        }
        let ctx = SpanContext::new(
            TraceId::new(0, 1),
            SpanId::new(1),
            SpanId::new(0),
            Flags::SAMPLED,
        )
        .with_baggage_item("user", "alice")
        .with_baggage_item("note", "a b");
        let mut carrier = Pairs(Vec::new());
        inject(&ctx, &mut carrier);
        let mut got = carrier.0;
        got.sort();
        assert_eq!(
            got,
            [
                ("uber-trace-id".to_owned(), ctx.to_string()),
                ("uberctx-note".to_owned(), "a%20b".to_owned()),
                ("uberctx-user".to_owned(), "alice".to_owned()),
            ]
        );
    }

    #[test]
    fn inject_then_extract_round_trips_with_baggage() {
        let ctx = SpanContext::new(
            TraceId::new(7, 8),
            SpanId::new(9),
            SpanId::new(3),
            Flags::SAMPLED,
        )
        .with_baggage_item("user", "a b,c=d%é");
        let mut carrier = HashMap::new();
        inject(&ctx, &mut carrier);
        assert_eq!(carrier["uber-trace-id"], ctx.to_string());
        let back = extract(&carrier).unwrap().unwrap();
        assert_eq!(back.trace_id(), ctx.trace_id());
        assert_eq!(back.span_id(), ctx.span_id());
        assert_eq!(back.parent_id(), ctx.parent_id());
        assert_eq!(back.flags(), ctx.flags());
        assert_eq!(back.baggage_item("user"), Some("a b,c=d%é"));
        assert!(back.is_remote());
    }

    #[test]
    fn header_names_are_case_insensitive_and_baggage_keys_lowercased() {
        let c = map(&[
            ("Uber-Trace-Id", "1:2:0:1"),
            ("UBERCTX-Key", "v"),
            ("jaeger-baggage", "a=1, b = 2"),
        ]);
        let ctx = extract(&c).unwrap().unwrap();
        assert_eq!(ctx.baggage_item("key"), Some("v"));
        assert_eq!(ctx.baggage_item("a"), Some("1"));
        assert_eq!(ctx.baggage_item("b"), Some("2"));
    }

    #[test]
    fn debug_id_without_trace_gives_partial_context() {
        let ctx = extract(&map(&[("jaeger-debug-id", "abc")]))
            .unwrap()
            .unwrap();
        assert!(!ctx.is_valid());
        assert_eq!(ctx.debug_id(), Some("abc"));
    }

    #[test]
    fn nothing_found_and_malformed_are_distinguished() {
        assert!(extract(&map(&[("other", "x")])).unwrap().is_none());
        let err = extract(&map(&[("uber-trace-id", "1:2:3")])).unwrap_err();
        assert!(err.is_propagation());
        assert!(err.to_string().contains("uber-trace-id"), "{err}");
    }

    #[test]
    fn invalid_context_is_not_injected() {
        let mut c = HashMap::new();
        inject(&SpanContext::empty(), &mut c);
        assert!(c.is_empty());
    }
}
