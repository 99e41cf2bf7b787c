//! W3C Trace Context (`traceparent`, `tracestate`) and W3C `baggage`.

use super::{percent_decode, percent_decode_w3c, percent_encode, Extractor, Injector};
use crate::error::Error;
use crate::id::{SpanId, TraceId};
use crate::span_context::{Flags, SpanContext};

/// `00-{32 hex trace id}-{16 hex parent id}-{2 hex flags}`.
pub const TRACEPARENT: &str = "traceparent";
/// Vendor state, carried through unchanged (within the spec's limits: see
/// `carried_trace_state`).
pub const TRACESTATE: &str = "tracestate";

/// Most list members a `tracestate` may have (W3C Trace Context,
/// "tracestate Limits").
const MAX_TRACE_STATE_MEMBERS: usize = 32;
/// The combined length the spec asks every vendor to pass on; beyond it,
/// members are dropped as the spec orders.
const MAX_TRACE_STATE_LEN: usize = 512;
/// Members longer than this go first when the whole is too long.
const LONG_TRACE_STATE_MEMBER: usize = 128;
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
    let mut parents = 0;
    carrier.for_each_wanted(&is_w3c_header, &mut |k, v| {
        if super::eq_ignore_case(k, TRACEPARENT) {
            parents += 1;
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
                        baggage.push((key, percent_decode_w3c(value.trim())));
                    }
                }
            }
        }
    });
    if parents > 1 {
        // Which one names the caller cannot be told: the spec's test suite
        // expects a new trace.
        return Err(Error::propagation(format!(
            "{parents} {TRACEPARENT} headers: at most one is allowed"
        )));
    }
    let mut ctx = match parent {
        Some(p) => {
            let mut ctx = parse_traceparent(&p)?;
            if let Some(state) = carried_trace_state(&state.join(",")) {
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

/// A `tracestate` key character after the first: `a-z 0-9 _ - * /`.
fn is_key_char(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'*' | b'/')
}

/// A `tracestate` key by the spec's grammar: a simple key (a lowercase
/// letter, then up to 255 key characters) or a multi-tenant one (a tenant
/// of a lowercase letter or digit and up to 240 more, `@`, a system of a
/// lowercase letter and up to 13 more).
fn is_trace_state_key(key: &str) -> bool {
    let part = |s: &str, first: fn(u8) -> bool, max: usize| {
        let b = s.as_bytes();
        !b.is_empty() && b.len() <= max && first(b[0]) && b.iter().all(|&c| is_key_char(c))
    };
    match key.split_once('@') {
        None => part(key, |b| b.is_ascii_lowercase(), 256),
        Some((tenant, system)) => {
            part(
                tenant,
                |b| b.is_ascii_lowercase() || b.is_ascii_digit(),
                241,
            ) && part(system, |b| b.is_ascii_lowercase(), 14)
        }
    }
}

/// A `tracestate` value by the spec's grammar: 1 to 256 printable ASCII
/// characters other than `,` and `=`, not ending in a space.
fn is_trace_state_value(value: &str) -> bool {
    let b = value.as_bytes();
    (1..=256).contains(&b.len())
        && b[b.len() - 1] != b' '
        && b.iter()
            .all(|&c| (0x20..=0x7e).contains(&c) && c != b',' && c != b'=')
}

/// The `tracestate` to pass on, by the spec's rules: none when a member
/// is malformed (its key or value outside the spec's grammar: passing it
/// on could break the header downstream), when a key comes twice, or when
/// there are more than 32 members; when the whole is longer than 512
/// characters, members longer than 128 go first, then members from the
/// end.
fn carried_trace_state(state: &str) -> Option<String> {
    let members: Vec<&str> = state
        .split(',')
        .map(|m| m.trim_matches([' ', '\t']))
        .filter(|m| !m.is_empty())
        .collect();
    let mut keys = Vec::with_capacity(members.len());
    let well_formed = members.iter().all(|m| {
        m.split_once('=').is_some_and(|(k, v)| {
            keys.push(k);
            is_trace_state_key(k) && is_trace_state_value(v)
        })
    });
    keys.sort_unstable();
    let unique = keys.windows(2).all(|w| w[0] != w[1]);
    if members.is_empty() || members.len() > MAX_TRACE_STATE_MEMBERS || !well_formed || !unique {
        if !members.is_empty() {
            log::debug!("jaeger: a malformed or oversized tracestate is not passed on");
        }
        return None;
    }
    let len = |ms: &[&str]| ms.iter().map(|m| m.len()).sum::<usize>() + ms.len().saturating_sub(1);
    let mut kept = members;
    while len(&kept) > MAX_TRACE_STATE_LEN {
        match kept.iter().rposition(|m| m.len() > LONG_TRACE_STATE_MEMBER) {
            Some(i) => kept.remove(i),
            None => kept.pop().unwrap_or_default(),
        };
    }
    (!kept.is_empty()).then(|| kept.join(","))
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
        // A `+` is a plus in W3C baggage (a base64 value keeps its own).
        let with_plus = extract(&map(&[("baggage", "token=YWJj+/8=,tel=+1%20555")]))
            .unwrap()
            .unwrap();
        assert_eq!(with_plus.baggage_item("token"), Some("YWJj+/8="));
        assert_eq!(with_plus.baggage_item("tel"), Some("+1 555"));
        let mut out = HashMap::new();
        inject(&ctx, &mut out);
        assert_eq!(out["traceparent"], c["traceparent"]);
        assert_eq!(out["tracestate"], "congo=t61rcWkgMzE");
        let back = extract(&out).unwrap().unwrap();
        assert_eq!(back.baggage_item("user"), Some("alice b"));
    }

    #[test]
    fn tracestate_is_passed_on_within_the_spec_limits() {
        let with = |state: &str| {
            let c = map(&[
                (
                    "traceparent",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                ),
                ("tracestate", state),
            ]);
            extract(&c)
                .unwrap()
                .unwrap()
                .trace_state()
                .map(str::to_owned)
        };
        assert_eq!(
            with("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE").as_deref(),
            Some("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
        );
        // Malformed: not passed on at all.
        assert_eq!(with("rojo=1,\r\nx-evil: 1"), None);
        assert_eq!(with("novalue"), None);
        assert_eq!(with("a=b=c"), None);
        // More than 32 members.
        let many: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
        assert_eq!(with(&many.join(",")), None);
        assert!(with(&many[..32].join(",")).is_some());
        // Longer than 512: the long member goes first, then from the end.
        let long = format!("big={}", "x".repeat(200));
        let fill: Vec<String> = (0..30)
            .map(|i| format!("k{i:02}={}", "v".repeat(10)))
            .collect();
        let state = format!("first=1,{long},{}", fill.join(","));
        let kept = with(&state).unwrap();
        assert!(kept.len() <= 512, "{}", kept.len());
        assert!(!kept.contains("big="));
        assert!(kept.starts_with("first=1,k00="));
        let only_short = format!("first=1,{}", fill.join(","));
        assert_eq!(
            with(&only_short).unwrap(),
            only_short,
            "within the limit: unchanged"
        );
        let longer: Vec<String> = (0..30)
            .map(|i| format!("k{i:02}={}", "v".repeat(20)))
            .collect();
        let kept = with(&longer.join(",")).unwrap();
        assert!(kept.len() <= 512 && kept.starts_with("k00=") && !kept.contains("k29="));
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
