//! The W3C Trace Context test suite's cases (w3c/trace-context, `test/`),
//! played against a real service the way its harness does: an axum server
//! traced with `TraceLayer` and the `w3c` format receives a request with
//! the case's headers and calls the harness back with `middleware::send`;
//! the harness checks the `traceparent` and `tracestate` of that callback.
//!
//! Each case asserts what the suite asserts (its `TraceContextTest` and
//! `AdvancedTest`): a valid parent's trace id is continued (with a new
//! parent id for every outgoing call), an invalid or duplicated
//! `traceparent` starts a new trace, and a `tracestate` is passed on only
//! when it keeps to the spec's grammar and limits (no duplicated keys, at
//! most 32 members, keys of at most 256 characters).
#![cfg(all(feature = "middleware", feature = "testing"))]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::routing::post;
use axum::Router;
use jaeger_tracer::middleware::{send, TraceLayer};
use jaeger_tracer::{Propagation, Tracer};

const TRACE_ID: &str = "12345678901234567890123456789012";
const PARENT_ID: &str = "1234567890123456";
const VALID: &str = "00-12345678901234567890123456789012-1234567890123456-01";
const VALID_UNSAMPLED: &str = "00-12345678901234567890123456789012-1234567890123456-00";

/// What the harness saw in the service's callback.
#[derive(Debug)]
struct Callback {
    trace_id: String,
    parent_id: String,
    /// The `tracestate` members, in order, as `(key, value)`.
    state: Vec<(String, String)>,
}

impl Callback {
    fn state(&self, key: &str) -> Option<&str> {
        self.state
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The service under test and the harness's callback endpoint, both on
/// loopback, and the client that plays the harness.
struct Harness {
    service: SocketAddr,
    callbacks: Arc<Mutex<Vec<HeaderMap>>>,
    client: reqwest::Client,
    _spans: jaeger_tracer::testing::InMemoryReporter,
}

impl Harness {
    async fn start() -> Harness {
        // The spans are not what is checked: they stay in memory.
        let (tracer, spans) = Tracer::builder("w3c-suite")
            .with_propagation([Propagation::W3c])
            .init_in_memory()
            .unwrap();

        let callbacks: Arc<Mutex<Vec<HeaderMap>>> = Arc::default();
        let harness_app = Router::new()
            .route(
                "/callback",
                post(
                    |State(seen): State<Arc<Mutex<Vec<HeaderMap>>>>, headers: HeaderMap| async move {
                        seen.lock().unwrap().push(headers);
                        "ok"
                    },
                ),
            )
            .with_state(callbacks.clone());
        let harness_addr = serve(harness_app).await;

        // The vendor's service: traced by the layer, it calls the harness
        // back inside its server span.
        let callback_url = format!("http://{harness_addr}/callback");
        let service_tracer = tracer.clone();
        let service_app = Router::new()
            .route(
                "/test",
                post(move |Query(ask): Query<Callbacks>| {
                    let tracer = service_tracer.clone();
                    let url = callback_url.clone();
                    async move {
                        let client = reqwest::Client::new();
                        for _ in 0..ask.count {
                            send(&tracer, client.post(&url)).await.unwrap();
                        }
                        "done"
                    }
                }),
            )
            .layer(TraceLayer::new(tracer));
        let service = serve(service_app).await;
        Harness {
            service,
            callbacks,
            client: reqwest::Client::new(),
            _spans: spans,
        }
    }

    /// Sends one request with `headers` (repeated names stay separate
    /// header lines) and reads the service's callback as the suite does:
    /// exactly one well-formed `traceparent`, and the `tracestate` lines
    /// joined.
    async fn call(&self, headers: &[(&str, &str)]) -> Callback {
        self.call_back(headers, 1).await.remove(0)
    }

    /// As [`call`](Harness::call), with the service asked to call back
    /// `count` times.
    async fn call_back(&self, headers: &[(&str, &str)], count: usize) -> Vec<Callback> {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        let before = self.callbacks.lock().unwrap().len();
        let resp = self
            .client
            .post(format!("http://{}/test?count={count}", self.service))
            .headers(map)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{headers:?}: {}", resp.status());
        let seen = self.callbacks.lock().unwrap();
        assert_eq!(seen.len(), before + count, "{headers:?}: callbacks");
        seen[before..].iter().map(read_callback).collect()
    }

    /// The trace id the service continued, for a request whose only trace
    /// header is `traceparent: value`.
    async fn trace_id_for(&self, value: &str) -> String {
        self.call(&[("traceparent", value)]).await.trace_id
    }
}

/// The `traceparent` (exactly one, well-formed) and `tracestate` of one
/// callback.
fn read_callback(got: &HeaderMap) -> Callback {
    let parents: Vec<&str> = got
        .get_all("traceparent")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(parents.len(), 1, "{parents:?}");
    let fields: Vec<&str> = parents[0].split('-').collect();
    assert_eq!(fields.len(), 4, "{}", parents[0]);
    let hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    assert!(
        fields[0] == "00" && hex(fields[1], 32) && hex(fields[2], 16) && hex(fields[3], 2),
        "{}",
        parents[0]
    );
    assert_ne!(fields[1], "0".repeat(32));
    assert_ne!(fields[2], "0".repeat(16));

    let mut state = Vec::new();
    for line in got.get_all("tracestate") {
        for member in line.to_str().unwrap().split(',') {
            let member = member.trim_matches([' ', '\t']);
            if member.is_empty() {
                continue;
            }
            let (k, v) = member.split_once('=').expect("member is key=value");
            state.push((k.to_owned(), v.to_owned()));
        }
    }
    Callback {
        trace_id: fields[1].to_owned(),
        parent_id: fields[2].to_owned(),
        state,
    }
}

/// How many times the service calls the harness back (`?count=`).
#[derive(serde::Deserialize)]
struct Callbacks {
    count: usize,
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traceparent_cases() {
    let h = Harness::start().await;

    // Missing: a new trace all the same.
    h.call(&[]).await;

    // Valid, in any case of the header's name: continued, with a new
    // parent id.
    for name in ["traceparent", "TraceParent", "TrAcEpArEnT", "TRACEPARENT"] {
        let got = h.call(&[(name, VALID)]).await;
        assert_eq!(got.trace_id, TRACE_ID, "{name}");
        assert_ne!(got.parent_id, PARENT_ID, "{name}");
    }

    // Two of them: which one is the caller's cannot be told.
    let got = h
        .call(&[
            (
                "traceparent",
                "00-12345678901234567890123456789011-1234567890123456-01",
            ),
            ("traceparent", VALID),
        ])
        .await;
    assert_ne!(got.trace_id, "12345678901234567890123456789011");
    assert_ne!(got.trace_id, TRACE_ID);

    // Wrong header names are not read.
    for name in ["trace-parent", "trace.parent"] {
        assert_ne!(h.call(&[(name, VALID)]).await.trace_id, TRACE_ID, "{name}");
    }

    // A future version: its first four fields are read, and what follows
    // must be a new '-'-separated field.
    for value in [
        "cc-12345678901234567890123456789012-1234567890123456-01",
        "cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like",
    ] {
        assert_eq!(h.trace_id_for(value).await, TRACE_ID, "{value}");
    }

    // Invalid: a new trace.
    for value in [
        // Version 00 has exactly four fields.
        "00-12345678901234567890123456789012-1234567890123456-01.",
        "00-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like",
        "cc-12345678901234567890123456789012-1234567890123456-01.what-the-future-will-be-like",
        // Version 255 is forbidden; versions are two hex digits.
        "ff-12345678901234567890123456789012-1234567890123456-01",
        ".0-12345678901234567890123456789012-1234567890123456-01",
        "0.-12345678901234567890123456789012-1234567890123456-01",
        "000-12345678901234567890123456789012-1234567890123456-01",
        "0000-12345678901234567890123456789012-1234567890123456-01",
        "0-12345678901234567890123456789012-1234567890123456-01",
        // Trace id: all zero, illegal characters, too long, too short.
        "00-00000000000000000000000000000000-1234567890123456-01",
        "00-.2345678901234567890123456789012-1234567890123456-01",
        "00-1234567890123456789012345678901.-1234567890123456-01",
        "00-123456789012345678901234567890123-1234567890123456-01",
        "00-1234567890123456789012345678901-1234567890123456-01",
        // Parent id: all zero, illegal characters, too long, too short.
        "00-12345678901234567890123456789012-0000000000000000-01",
        "00-12345678901234567890123456789012-.234567890123456-01",
        "00-12345678901234567890123456789012-123456789012345.-01",
        "00-12345678901234567890123456789012-12345678901234567-01",
        "00-12345678901234567890123456789012-123456789012345-01",
        // Flags: illegal characters, too long, too short.
        "00-12345678901234567890123456789012-1234567890123456-.0",
        "00-12345678901234567890123456789012-1234567890123456-0.",
        "00-12345678901234567890123456789012-1234567890123456-001",
        "00-12345678901234567890123456789012-1234567890123456-1",
    ] {
        let got = h.trace_id_for(value).await;
        assert_ne!(got, TRACE_ID, "{value}");
        assert!(!value.contains(&got), "{value}: {got}");
    }

    // Optional white space around the value.
    for value in [
        " 00-12345678901234567890123456789012-1234567890123456-01",
        "\t00-12345678901234567890123456789012-1234567890123456-01",
        "00-12345678901234567890123456789012-1234567890123456-01 ",
        "00-12345678901234567890123456789012-1234567890123456-01\t",
        "\t 00-12345678901234567890123456789012-1234567890123456-01 \t",
    ] {
        assert_eq!(h.trace_id_for(value).await, TRACE_ID, "{value:?}");
    }
}

/// The suite's `AdvancedTest`: one request, three callbacks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_callbacks_of_one_request() {
    use std::collections::HashSet;
    let h = Harness::start().await;
    fn ids(got: &[Callback]) -> (HashSet<&str>, HashSet<&str>) {
        let traces = got.iter().map(|c| c.trace_id.as_str()).collect();
        let parents = got.iter().map(|c| c.parent_id.as_str()).collect();
        (traces, parents)
    }

    // A valid parent: one trace, continued; a parent id each.
    let got = h.call_back(&[("traceparent", VALID)], 3).await;
    let (traces, parents) = ids(&got);
    assert_eq!(traces, HashSet::from([TRACE_ID]));
    assert_eq!(parents.len(), 3);

    // None: a parent id each.
    let got = h.call_back(&[], 3).await;
    assert_eq!(ids(&got).1.len(), 3);

    // An invalid one: a new trace id, never the zero one; a parent id each.
    let zero = "00-00000000000000000000000000000000-1234567890123456-01";
    let got = h.call_back(&[("traceparent", zero)], 3).await;
    let (traces, parents) = ids(&got);
    assert!(!traces.contains("0".repeat(32).as_str()), "{traces:?}");
    assert_eq!(parents.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracestate_cases() {
    let h = Harness::start().await;
    let with_parent = |state: &[&'static str]| {
        let mut headers = vec![("traceparent", VALID_UNSAMPLED)];
        headers.extend(state.iter().map(|s| ("tracestate", *s)));
        headers
    };

    // Without a traceparent, a tracestate is not passed on.
    let one = h.call(&[("tracestate", "foo=1")]).await;
    let two = h.call(&[("tracestate", "foo=1,bar=2")]).await;
    assert_eq!(one.state.len(), two.state.len());
    assert!(one.state.is_empty());

    // With one, it is, under a name of any case.
    let got = h.call(&with_parent(&["foo=1,bar=2"])).await;
    assert_eq!(got.trace_id, TRACE_ID);
    assert_eq!((got.state("foo"), got.state("bar")), (Some("1"), Some("2")));
    for name in ["TraceState", "TrAcEsTaTe", "TRACESTATE"] {
        let got = h
            .call(&[("traceparent", VALID_UNSAMPLED), (name, "foo=1")])
            .await;
        assert_eq!(got.state("foo"), Some("1"), "{name}");
    }
    // Wrong header names are not read.
    for name in ["trace-state", "trace.state"] {
        let got = h
            .call(&[("traceparent", VALID_UNSAMPLED), (name, "foo=1")])
            .await;
        assert_eq!(got.state("foo"), None, "{name}");
    }

    // Empty lines are ignored; several lines are one list, in order.
    assert_eq!(h.call(&with_parent(&[""])).await.trace_id, TRACE_ID);
    for lines in [["foo=1", ""], ["", "foo=1"]] {
        let got = h.call(&with_parent(&lines)).await;
        assert_eq!(got.trace_id, TRACE_ID);
        assert_eq!(got.state("foo"), Some("1"), "{lines:?}");
    }
    let got = h
        .call(&with_parent(&["foo=1,bar=2", "rojo=1,congo=2", "baz=3"]))
        .await;
    let keys: Vec<&str> = got.state.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["foo", "bar", "rojo", "congo", "baz"]);

    // A key given twice, in one line or two: the whole state is dropped,
    // the trace is continued.
    for lines in [
        &["foo=1,foo=1"][..],
        &["foo=1,foo=2"],
        &["foo=1", "foo=1"],
        &["foo=1", "foo=2"],
    ] {
        let got = h.call(&with_parent(lines)).await;
        assert_eq!(got.trace_id, TRACE_ID);
        assert_eq!(got.state("foo"), None, "{lines:?}");
    }

    // Every character the grammar allows, in a simple and a tenant key.
    let key: String = ('a'..='z').chain('0'..='9').chain("_-*/".chars()).collect();
    let tenant_key = format!("{key}@a-z0-9_-*/");
    let value: String = (0x20u8..=0x7e)
        .filter(|&b| b != b',' && b != b'=')
        .map(char::from)
        .collect();
    for key in [key, tenant_key] {
        let member: &'static str = format!("{key}={value}").leak();
        let got = h.call(&with_parent(&[member])).await;
        assert_eq!(got.state(&key), Some(value.as_str()), "{key}");
    }

    // Optional white space around members.
    for line in [
        "foo=1 \t , \t bar=2, \t baz=3",
        "foo=1\t \t,\t \tbar=2,\t \tbaz=3",
    ] {
        let got = h.call(&with_parent(&[line])).await;
        assert_eq!(
            (got.state("foo"), got.state("bar"), got.state("baz")),
            (Some("1"), Some("2"), Some("3")),
            "{line:?}"
        );
    }
    for line in [" foo=1", "\tfoo=1", "foo=1 ", "foo=1\t", "\t foo=1 \t"] {
        let got = h.call(&with_parent(&[line])).await;
        assert_eq!(got.trace_id, TRACE_ID);
        assert_eq!(got.state("foo"), Some("1"), "{line:?}");
    }

    // Keys outside the grammar: the whole state is dropped.
    for line in [
        "foo =1",
        "FOO=1",
        "foo.bar=1",
        "foo@=1,bar=2",
        "@foo=1,bar=2",
        "foo@@bar=1,bar=2",
        "foo@bar@baz=1,bar=2",
    ] {
        let got = h.call(&with_parent(&[line])).await;
        assert!(got.state.is_empty(), "{line:?}: {:?}", got.state);
    }

    // 32 members pass, 33 do not.
    let lines32 = [
        "bar01=01,bar02=02,bar03=03,bar04=04,bar05=05,bar06=06,bar07=07,bar08=08,bar09=09,bar10=10",
        "bar11=11,bar12=12,bar13=13,bar14=14,bar15=15,bar16=16,bar17=17,bar18=18,bar19=19,bar20=20",
        "bar21=21,bar22=22,bar23=23,bar24=24,bar25=25,bar26=26,bar27=27,bar28=28,bar29=29,bar30=30",
        "bar31=31,bar32=32",
    ];
    let got = h.call(&with_parent(&lines32)).await;
    assert_eq!(got.state("bar01"), Some("01"));
    assert_eq!(got.state.len(), 32);
    let mut lines33 = lines32;
    lines33[3] = "bar31=31,bar32=32,bar33=33";
    assert!(h.call(&with_parent(&lines33)).await.state.is_empty());

    // Key lengths: 256, a tenant of 241 and a system of 14 pass; one more
    // of any drops the whole state.
    let z256: &'static str = format!("{}=1", "z".repeat(256)).leak();
    let z257: &'static str = format!("{}=1", "z".repeat(257)).leak();
    let t241: &'static str = format!("{}@{}=1", "t".repeat(241), "v".repeat(14)).leak();
    let t242: &'static str = format!("{}@v=1", "t".repeat(242)).leak();
    let v15: &'static str = format!("t@{}=1", "v".repeat(15)).leak();
    for (long, kept) in [
        (z256, true),
        (z257, false),
        (t241, true),
        (t242, false),
        (v15, false),
    ] {
        let got = h.call(&with_parent(&["foo=1", long])).await;
        assert_eq!(got.state("foo").is_some(), kept, "{}", long.len());
    }
}
