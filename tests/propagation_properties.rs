//! Property tests of every propagation format: extract never panics on
//! arbitrary headers or bytes, and inject → extract round-trips every valid
//! context with its baggage.
//!
//! CI runs proptest's default number of cases; the long run is
//! `PROPTEST_CASES=1000000 cargo test --release --test propagation_properties`.

use std::collections::HashMap;
use std::sync::OnceLock;

use jaeger_tracer::{Flags, Propagation, SpanContext, SpanId, TraceId, Tracer};
use proptest::prelude::*;

const FORMATS: [Propagation; 4] = [
    Propagation::Jaeger,
    Propagation::B3,
    Propagation::B3Single,
    Propagation::W3c,
];

/// One tracer per format for the whole run (building one per case would
/// dominate a million-case run). Spans are never sent.
fn tracer(format: Propagation) -> (Tracer, ()) {
    static TRACERS: OnceLock<Vec<(Propagation, Tracer)>> = OnceLock::new();
    let all = TRACERS.get_or_init(|| {
        FORMATS
            .iter()
            .map(|&f| {
                let (t, guard) = Tracer::builder("props")
                    .with_agent_host("127.0.0.1")
                    .with_propagation([f])
                    .with_max_extracted_baggage(1000, 1 << 20)
                    .init()
                    .unwrap();
                std::mem::forget(guard);
                (f, t)
            })
            .collect()
    });
    (
        all.iter().find(|(f, _)| *f == format).unwrap().1.clone(),
        (),
    )
}

/// Header names the formats look at, in assorted case, plus noise.
fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("uber-trace-id".to_string()),
        Just("Uber-Trace-Id".to_string()),
        Just("jaeger-debug-id".to_string()),
        Just("jaeger-baggage".to_string()),
        Just("x-b3-traceid".to_string()),
        Just("X-B3-SpanId".to_string()),
        Just("x-b3-parentspanid".to_string()),
        Just("x-b3-sampled".to_string()),
        Just("x-b3-flags".to_string()),
        Just("b3".to_string()),
        Just("traceparent".to_string()),
        Just("tracestate".to_string()),
        Just("baggage".to_string()),
        "uberctx-[a-z%]{0,8}",
        "baggage-[a-zA-Z]{0,8}",
        ".{0,12}",
    ]
}

/// Values near the valid forms (so parsers get deep) and arbitrary text.
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-f]{1,33}(:[0-9a-f]{0,17}){0,5}",
        "[0-9a-fA-F%3A:]{0,60}",
        "[0-9a-fA-Fg]{16,32}:[0-9a-fA-F]{16}:[0-9a-fé]{16}:[0-9a-f:]{1,2}",
        "[0-9a-f]{16,32}-[0-9a-f]{16}(-[01d](-[0-9a-f]{16})?)?",
        "[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-.{0,8})?",
        "([a-z]{0,4}=[^,]{0,6},?){0,5}",
        "(%[0-9A-Fa-f]{0,2}|\\+|.){0,20}",
        ".{0,80}",
    ]
}

fn flags(format: Propagation) -> impl Strategy<Value = Flags> {
    // What each format can carry.
    let bits: Vec<u8> = match format {
        Propagation::W3c => vec![0, 1],
        Propagation::B3 | Propagation::B3Single => vec![0, 1, 3],
        _ => vec![0, 1, 2, 3, 8, 9, 11, 0x7f, 0xff],
    };
    proptest::sample::select(bits).prop_map(Flags::from_bits)
}

fn context(format: Propagation) -> impl Strategy<Value = SpanContext> {
    (
        any::<u64>(),
        1..=u64::MAX,
        1..=u64::MAX,
        any::<u64>(),
        flags(format),
        proptest::collection::vec(("[a-z][a-z0-9_-]{0,10}", ".{0,20}"), 0..4),
    )
        .prop_map(move |(high, low, span, parent, flags, baggage)| {
            // W3C carries no parent id.
            let parent = if format == Propagation::W3c {
                0
            } else {
                parent
            };
            let mut ctx = SpanContext::new(
                TraceId::new(high, low),
                SpanId::new(span),
                SpanId::new(parent),
                flags,
            );
            for (k, v) in baggage {
                ctx = ctx.with_baggage_item(k, v);
            }
            ctx
        })
}

proptest! {
    #[test]
    fn extract_never_panics_on_arbitrary_headers(
        headers in proptest::collection::vec((header_name(), header_value()), 0..8)
    ) {
        let map: HashMap<String, String> = headers.into_iter().collect();
        for format in FORMATS {
            let (t, _g) = tracer(format);
            let _ = t.extract(&map);
        }
    }

    /// The fixed-position reader of full-width `uber-trace-id` values
    /// agrees with the general parser (which `%3A` separators select).
    #[test]
    fn full_width_trace_header_parses_as_the_general_parser_does(
        s in "[0-9a-fA-Fg]{16,32}:[0-9a-fA-F]{16}:[0-9a-fé]{16}:[0-9a-fg:]{1,2}"
    ) {
        let direct = s.parse::<SpanContext>().ok();
        let general = s.replace(':', "%3A").parse::<SpanContext>().ok();
        prop_assert_eq!(direct, general);
    }

    #[test]
    fn extract_binary_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let (t, _g) = tracer(Propagation::Jaeger);
        let _ = t.extract_binary(&mut bytes.as_slice());
    }

    #[test]
    fn text_formats_round_trip(
        ctxs in (context(Propagation::Jaeger), context(Propagation::B3), context(Propagation::B3Single), context(Propagation::W3c))
    ) {
        for (format, ctx) in [(Propagation::Jaeger, ctxs.0), (Propagation::B3, ctxs.1), (Propagation::B3Single, ctxs.2), (Propagation::W3c, ctxs.3)] {
            let (t, _g) = tracer(format);
            let mut carrier: HashMap<String, String> = HashMap::new();
            t.inject(&ctx, &mut carrier);
            let back = t.extract(&carrier).unwrap().unwrap();
            prop_assert_eq!(back.trace_id(), ctx.trace_id(), "{:?}", format);
            prop_assert_eq!(back.span_id(), ctx.span_id());
            prop_assert_eq!(back.parent_id(), ctx.parent_id());
            prop_assert_eq!(back.flags(), ctx.flags(), "{:?} {:?}", format, carrier);
            // Carriers are unordered maps: compare baggage as sets.
            let mut want: Vec<_> = ctx.baggage_items().collect();
            let mut got: Vec<_> = back.baggage_items().collect();
            want.sort_unstable();
            got.sort_unstable();
            prop_assert_eq!(got, want, "{:?}", carrier);
            // Nothing injected can split or smuggle a header.
            for (k, v) in &carrier {
                prop_assert!(k.bytes().all(|b| b.is_ascii_graphic()), "{:?}", k);
                prop_assert!(v.bytes().all(|b| (0x20..0x7f).contains(&b)), "{:?}", v);
            }
        }
    }

    #[test]
    fn binary_round_trips(ctx in context(Propagation::Jaeger)) {
        let (t, _g) = tracer(Propagation::Jaeger);
        let mut buf = Vec::new();
        t.inject_binary(&ctx, &mut buf).unwrap();
        let back = t.extract_binary(&mut buf.as_slice()).unwrap().unwrap();
        prop_assert_eq!(back, ctx.into_remote());
    }
}

/// A `tracestate` member the W3C grammar allows: a simple or a
/// multi-tenant key, a value of 1 to 256 characters not ending in a space.
fn trace_state_member() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            "[a-z][a-z0-9_*/-]{0,12}",
            "[a-z0-9][a-z0-9_*/-]{0,6}@[a-z][a-z0-9_*/-]{0,5}",
        ],
        "[ -+\\--<>-~]{0,10}[!-+\\--<>-~]",
    )
        .prop_map(|(k, v)| format!("{k}={v}"))
}

/// Whether `state` keeps to the W3C grammar and limits: at most 32
/// members of a valid key and value, no key twice, at most 512 characters.
fn is_valid_trace_state(state: &str) -> bool {
    let key_char = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-*/".contains(&b);
    let part = |s: &str, digit_first: bool, max: usize| {
        let b = s.as_bytes();
        !b.is_empty()
            && b.len() <= max
            && (b[0].is_ascii_lowercase() || (digit_first && b[0].is_ascii_digit()))
            && b.iter().all(|&c| key_char(c))
    };
    let mut keys = std::collections::HashSet::new();
    let members: Vec<&str> = state.split(',').collect();
    state.len() <= 512
        && members.len() <= 32
        && members.iter().all(|m| {
            let Some((k, v)) = m.split_once('=') else {
                return false;
            };
            let key_ok = match k.split_once('@') {
                None => part(k, false, 256),
                Some((tenant, system)) => part(tenant, true, 241) && part(system, false, 14),
            };
            let value_ok = (1..=256).contains(&v.len())
                && !v.ends_with(' ')
                && v.bytes()
                    .all(|b| (0x20..=0x7e).contains(&b) && b != b',' && b != b'=');
            key_ok && value_ok && keys.insert(k)
        })
}

proptest! {
    /// A `tracestate` within the spec's limits goes on unchanged (white
    /// space around members aside).
    #[test]
    fn a_valid_tracestate_is_passed_on_unchanged(
        members in proptest::collection::vec(trace_state_member(), 1..=32),
        spaced in any::<bool>(),
    ) {
        let mut seen = std::collections::HashSet::new();
        let members: Vec<String> = members
            .into_iter()
            .filter(|m| seen.insert(m.split_once('=').unwrap().0.to_owned()))
            .collect();
        let state = members.join(",");
        prop_assume!(state.len() <= 512);
        let sent = if spaced { members.join(" ,\t") } else { state.clone() };
        let (t, _g) = tracer(Propagation::W3c);
        let headers: HashMap<String, String> = [
            (
                "traceparent".to_string(),
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_string(),
            ),
            ("tracestate".to_string(), sent),
        ]
        .into_iter()
        .collect();
        let ctx = t.extract(&headers).unwrap().unwrap();
        prop_assert_eq!(ctx.trace_state(), Some(state.as_str()));
        let mut out: HashMap<String, String> = HashMap::new();
        t.inject(&ctx, &mut out);
        prop_assert_eq!(out.get("tracestate"), Some(&state));
    }

    /// Whatever `tracestate` arrives, what goes on keeps to the grammar
    /// and limits (or nothing goes on): a malformed header is never
    /// passed to the next hop.
    #[test]
    fn whatever_tracestate_arrives_what_goes_on_is_valid(
        parts in proptest::collection::vec(
            prop_oneof![
                trace_state_member(),
                "[a-zA-Z0-9@_.*/ -]{0,8}=[ -~]{0,8}",
                ".{0,12}",
                "[a-z]{300}=1",
            ],
            0..40,
        ),
    ) {
        let (t, _g) = tracer(Propagation::W3c);
        let headers: HashMap<String, String> = [
            (
                "traceparent".to_string(),
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_string(),
            ),
            ("tracestate".to_string(), parts.join(",")),
        ]
        .into_iter()
        .collect();
        let ctx = t.extract(&headers).unwrap().unwrap();
        if let Some(state) = ctx.trace_state() {
            prop_assert!(is_valid_trace_state(state), "{:?} from {:?}", state, parts);
        }
    }
}

#[test]
fn extracted_baggage_is_capped() {
    let (t, _g) = Tracer::builder("caps")
        .with_agent_host("127.0.0.1")
        .with_max_extracted_baggage(3, 100)
        .init()
        .unwrap();
    let mut carrier: HashMap<String, String> = (0..50)
        .map(|i| (format!("uberctx-k{i:02}"), "v".repeat(10)))
        .collect();
    carrier.insert("uber-trace-id".into(), "1:2:0:1".into());
    let ctx = t.extract(&carrier).unwrap().unwrap();
    assert_eq!(ctx.baggage_items().count(), 3);
    assert_eq!(t.metrics().baggage_items_dropped, 47);
    let mut huge: HashMap<String, String> = HashMap::new();
    huge.insert("uber-trace-id".into(), "1:2:0:1".into());
    huge.insert("uberctx-big".into(), "x".repeat(1000));
    assert_eq!(
        t.extract(&huge).unwrap().unwrap().baggage_items().count(),
        0
    );
}

#[test]
fn every_selected_format_is_injected_and_the_first_present_extracted() {
    let (t, _g) = Tracer::builder("multi")
        .with_agent_host("127.0.0.1")
        .with_propagation([Propagation::W3c, Propagation::B3, Propagation::Jaeger])
        .init()
        .unwrap();
    let ctx = SpanContext::new(
        TraceId::new(0, 5),
        SpanId::new(6),
        SpanId::new(0),
        Flags::SAMPLED,
    )
    .with_baggage_item("k", "v");
    let mut c: HashMap<String, String> = HashMap::new();
    t.inject(&ctx, &mut c);
    for h in [
        "traceparent",
        "x-b3-traceid",
        "uber-trace-id",
        "baggage",
        "baggage-k",
        "uberctx-k",
    ] {
        assert!(c.contains_key(h), "{h} missing from {c:?}");
    }
    // Only a B3 header present: found by the second format.
    let only_b3: HashMap<String, String> = [(
        "b3".to_string(),
        "0000000000000005-0000000000000006-1".to_string(),
    )]
    .into();
    assert_eq!(
        t.extract(&only_b3).unwrap().unwrap().span_id(),
        SpanId::new(6)
    );
    // A malformed first format does not hide a valid later one.
    let mixed: HashMap<String, String> = [
        ("traceparent".to_string(), "garbage".to_string()),
        ("uber-trace-id".to_string(), "5:6:0:1".to_string()),
    ]
    .into();
    assert_eq!(
        t.extract(&mixed).unwrap().unwrap().span_id(),
        SpanId::new(6)
    );
}

#[test]
fn baggage_allow_list_refuses_other_keys() {
    let (t, _g) = Tracer::builder("allow")
        .with_agent_host("127.0.0.1")
        .with_baggage_allow_list(["tenant"])
        .init()
        .unwrap();
    let mut s = t.start("op");
    s.set_baggage_item("tenant", "acme")
        .set_baggage_item("secret", "x");
    assert_eq!(s.baggage_item("tenant"), Some("acme"));
    assert_eq!(s.baggage_item("secret"), None);
    assert_eq!(t.metrics().baggage_rejected, 1);
}

#[test]
fn baggage_keys_no_header_can_carry_are_refused_and_counted() {
    let (t, _g) = Tracer::builder("keys")
        .with_agent_host("127.0.0.1")
        .init()
        .unwrap();
    let mut s = t.start("op");
    // Each of these would be lost at the first inject into HTTP headers.
    for key in ["user id", "", "a\r\nx-evil", "clé", "a:b", "a,b", "a=b"] {
        s.set_baggage_item(key, "v");
        assert_eq!(s.baggage_item(key), None, "{key:?} was accepted");
    }
    assert_eq!(t.metrics().baggage_rejected, 7);
    // Every header-name character is accepted, and crosses over.
    let token = "User-ID_1.x!#$%&'*+^`|~";
    s.set_baggage_item(token, "v");
    assert_eq!(s.baggage_item(token), Some("v"));
    assert_eq!(t.metrics().baggage_rejected, 7);
    let mut carrier: HashMap<String, String> = HashMap::new();
    t.inject(s.context(), &mut carrier);
    let back = t.extract(&carrier).unwrap().unwrap();
    // Header names are case-insensitive: the key arrives lowercased, as
    // with the reference clients.
    assert_eq!(back.baggage_item(&token.to_ascii_lowercase()), Some("v"));
    // The same through the carrier of HTTP requests.
    let mut headers = http::HeaderMap::new();
    t.inject(s.context(), &mut headers);
    let back = t.extract(&headers).unwrap().unwrap();
    assert_eq!(back.baggage_item(&token.to_ascii_lowercase()), Some("v"));
}

#[test]
fn extracted_baggage_keys_no_header_can_carry_are_dropped_and_counted() {
    let (t, _g) = Tracer::builder("extracted-keys")
        .with_agent_host("127.0.0.1")
        .with_propagation([Propagation::Jaeger, Propagation::W3c])
        .init()
        .unwrap();
    // Three keys no header can carry, one from each way in: a
    // `jaeger-baggage` entry, a map carrier's own key, a W3C `baggage` entry.
    let jaeger: HashMap<String, String> = [
        ("uber-trace-id", "abc:def:0:1"),
        ("jaeger-baggage", "user id=7, plan=gold"),
        ("uberctx-a b", "x"),
        ("uberctx-tenant", "acme"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let ctx = t.extract(&jaeger).unwrap().unwrap();
    let mut items: Vec<_> = ctx.baggage_items().collect();
    items.sort();
    assert_eq!(items, [("plan", "gold"), ("tenant", "acme")]);
    assert_eq!(t.metrics().baggage_items_dropped, 2);

    let w3c: HashMap<String, String> = [
        (
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ),
        ("baggage", "k=v%20w;prop=1,bad key=1,k2=v2"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let ctx = t.extract(&w3c).unwrap().unwrap();
    let items: Vec<_> = ctx.baggage_items().collect();
    assert_eq!(items, [("k", "v w"), ("k2", "v2")]);
    assert_eq!(t.metrics().baggage_items_dropped, 3);
    // What was kept travels on in every text format.
    let mut out: HashMap<String, String> = HashMap::new();
    t.inject(&ctx, &mut out);
    assert_eq!(out.get("uberctx-k").map(String::as_str), Some("v%20w"));
    assert_eq!(
        out.get("baggage").map(String::as_str),
        Some("k=v%20w,k2=v2")
    );
}

#[test]
fn injecting_into_a_map_holding_the_keys_in_another_case_replaces_them() {
    use std::collections::BTreeMap;
    let (t, _g) = Tracer::builder("reused-map")
        .with_agent_host("127.0.0.1")
        .with_propagation([Propagation::Jaeger, Propagation::B3])
        .init()
        .unwrap();
    // Headers copied into a map as they came (a proxy's, a queue's), then
    // a child's context injected into the same map.
    let incoming = [
        ("Uber-Trace-Id", "abc:def:0:1"),
        ("UBERCTX-USER", "old"),
        ("X-B3-TraceId", "0000000000000abc"),
        ("X-B3-SpanId", "0000000000000def"),
        ("X-B3-Sampled", "1"),
    ];
    let mut hash: HashMap<String, String> = incoming
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut tree: BTreeMap<String, String> = hash.clone().into_iter().collect();
    let parent = t.extract(&hash).unwrap().unwrap();
    let mut child = t.span("forward").child_of(&parent).start();
    child.set_baggage_item("user", "new");
    t.inject(child.context(), &mut hash);
    t.inject(child.context(), &mut tree);
    for keys in [
        hash.keys().cloned().collect::<Vec<_>>(),
        tree.keys().cloned().collect(),
    ] {
        let lower: Vec<String> = keys.iter().map(|k| k.to_ascii_lowercase()).collect();
        let mut unique = lower.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), lower.len(), "a key in two cases: {keys:?}");
    }
    // Whatever the map's order, the child's context comes back.
    for back in [t.extract(&hash), t.extract(&tree)] {
        let back = back.unwrap().unwrap();
        assert_eq!(back.span_id(), child.context().span_id());
        assert_eq!(back.baggage_item("user"), Some("new"));
    }
}
