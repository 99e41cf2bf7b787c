//! The HTTP collector transport against a real HTTP(S) server on 127.0.0.1
//! whose bodies are decoded with the crate's generated code: batches arrive
//! intact with the right content type and credentials; 503 then 202 delivers
//! once, after the wait a `Retry-After` asks for; a 413 is answered by
//! smaller batches that deliver everything; a hanging server, a refused
//! connection and a 400 are counted and never reach the application; a
//! slow server under 100,000 spans keeps memory bounded; a redirect is
//! followed only where the spans go along; https works with
//! an explicitly trusted self-signed certificate and fails clearly
//! without it.

mod support;

mod env_vars;
use support::rss_kib;
#[path = "../src/thrift/mod.rs"]
#[allow(dead_code, clippy::all)]
mod thrift;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jaeger_tracer::{Collector, Tracer, TracerBuilder};
use support::http::{self_signed, HttpServer, Reply, Request};
use thrift::{decode_bare_batch, jaeger};

fn decode(req: &Request) -> jaeger::Batch {
    decode_bare_batch(&req.body, false).expect("body is a binary Thrift Batch")
}

fn span_ids(reqs: &[Request]) -> Vec<i64> {
    reqs.iter()
        .flat_map(|r| decode(r).spans.into_iter().map(|s| s.span_id))
        .collect()
}

fn make_spans(tracer: &Tracer, traces: usize) {
    for i in 0..traces {
        let mut root = tracer.span("request").with_tag("i", i as i64).start();
        root.set_tag("http.method", "GET");
        drop(tracer.span("child").child_of(root.context()).start());
    }
}

#[test]
fn batches_arrive_intact_with_content_type_and_basic_auth() {
    let server = HttpServer::start(|_| Reply::Status(202, Vec::new()));
    let (tracer, guard) = Tracer::builder("http-svc")
        .with_collector(
            Collector::new(server.url("/api/traces"))
                .with_basic_auth("alice", "s3cret")
                .with_header("x-tenant", "blue"),
        )
        .init()
        .unwrap();
    make_spans(&tracer, 50);
    drop(guard);
    let reqs = server.requests();
    assert!(!reqs.is_empty());
    for r in &reqs {
        assert_eq!(
            (r.method.as_str(), r.target.as_str()),
            ("POST", "/api/traces")
        );
        assert_eq!(r.header("content-type"), Some("application/x-thrift"));
        assert_eq!(r.header("authorization"), Some("Basic YWxpY2U6czNjcmV0"));
        assert_eq!(r.header("x-tenant"), Some("blue"));
        let b = decode(r);
        assert_eq!(b.process.service_name, "http-svc");
    }
    let all: Vec<jaeger::Span> = reqs.iter().flat_map(|r| decode(r).spans).collect();
    assert_eq!(all.len(), 100);
    let root = all.iter().find(|s| s.operation_name == "request").unwrap();
    assert!(root
        .tags
        .as_ref()
        .unwrap()
        .iter()
        .any(|t| t.key == "http.method" && t.v_str.as_deref() == Some("GET")));
    let m = tracer.metrics();
    assert_eq!((m.spans_reported, m.spans_lost()), (100, 0), "{m:?}");
    // Keep-alive: one connection for every batch.
    assert_eq!(server.connections(), 1);
}

#[test]
fn bearer_token_and_endpoint_from_environment() {
    let server = HttpServer::start(|_| Reply::Status(200, Vec::new()));
    let url = server.url("/api/traces");
    let vars = [
        ("JAEGER_SERVICE_NAME", "env-http"),
        ("JAEGER_ENDPOINT", url.as_str()),
        ("JAEGER_AUTH_TOKEN", "tok-123"),
    ];
    let (tracer, guard) = TracerBuilder::from_lookup(env_vars::lookup(&vars))
        .unwrap()
        .init()
        .unwrap();
    make_spans(&tracer, 1);
    drop(guard);
    let reqs = server.requests();
    assert_eq!(reqs[0].header("authorization"), Some("Bearer tok-123"));
    assert_eq!(span_ids(&reqs).len(), 2);
}

#[test]
fn user_without_password_is_an_error_that_hides_the_value() {
    let vars = [
        ("JAEGER_SERVICE_NAME", "s"),
        ("JAEGER_ENDPOINT", "http://127.0.0.1:1/api/traces"),
        ("JAEGER_USER", "bob-the-user"),
    ];
    let err = TracerBuilder::from_lookup(env_vars::lookup(&vars)).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("JAEGER_USER") && text.contains("JAEGER_PASSWORD"),
        "{text}"
    );
    assert!(!text.contains("bob-the-user"), "{text}");
}

#[test]
fn unavailable_then_accepted_delivers_once() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let server = HttpServer::start(move |_| {
        if c.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::Status(503, Vec::new())
        } else {
            Reply::Status(202, Vec::new())
        }
    });
    let (tracer, guard) = Tracer::builder("retry")
        .with_collector(Collector::new(server.url("/api/traces")))
        .init()
        .unwrap();
    make_spans(&tracer, 10);
    drop(guard);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2, "one 503, one retry");
    assert_eq!(
        reqs[0].body, reqs[1].body,
        "the retry resends the same batch"
    );
    let delivered = span_ids(&reqs[1..]);
    assert_eq!(delivered.len(), 20);
    assert_eq!(
        delivered.iter().collect::<HashSet<_>>().len(),
        20,
        "no duplicates"
    );
    let m = tracer.metrics();
    assert_eq!((m.spans_reported, m.spans_failed_to_send), (20, 0), "{m:?}");
}

#[test]
fn a_413_sends_the_spans_again_in_smaller_batches_and_delivers_all() {
    // A proxy before the collector with a 16 KiB body limit (nginx's
    // `client_max_body_size`, set low).
    const LIMIT: usize = 16 * 1024;
    let server = HttpServer::start(|req| {
        if req.body.len() > LIMIT {
            Reply::Status(413, b"Request Entity Too Large".to_vec())
        } else {
            Reply::Status(202, Vec::new())
        }
    });
    let (tracer, guard) = Tracer::builder("body-limit")
        .with_collector(Collector::new(server.url("/api/traces")))
        .init()
        .unwrap();
    make_spans(&tracer, 1000);
    tracer.flush().unwrap();
    // Later spans go out within the lowered limit at once.
    make_spans(&tracer, 100);
    drop(guard);
    let reqs = server.requests();
    let (refused, taken): (Vec<_>, Vec<_>) = reqs.iter().partition(|r| r.body.len() > LIMIT);
    assert!(!refused.is_empty(), "the first batch was too large");
    let delivered: Vec<i64> = taken
        .iter()
        .flat_map(|r| decode(r).spans.into_iter().map(|s| s.span_id))
        .collect();
    assert_eq!(delivered.len(), 2200);
    assert_eq!(
        delivered.iter().collect::<HashSet<_>>().len(),
        2200,
        "no duplicates"
    );
    let m = tracer.metrics();
    assert_eq!(
        (
            m.spans_reported,
            m.spans_failed_to_send,
            m.spans_dropped_too_large
        ),
        (2200, 0, 0),
        "{m:?}"
    );
}

#[test]
fn a_retry_after_is_waited_for_before_the_retry() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let server = HttpServer::start(move |_| {
        if c.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::WithHeaders(503, vec![("Retry-After", "2".to_owned())])
        } else {
            Reply::Status(202, Vec::new())
        }
    });
    let (tracer, guard) = Tracer::builder("retry-after")
        .with_collector(Collector::new(server.url("/api/traces")))
        .init()
        .unwrap();
    make_spans(&tracer, 10);
    let t = Instant::now();
    tracer.flush().unwrap();
    let waited = t.elapsed();
    drop(guard);
    // The backoff alone would have retried within ~150 ms.
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_secs(4),
        "{waited:?}"
    );
    assert_eq!(server.requests().len(), 2);
    let m = tracer.metrics();
    assert_eq!((m.spans_reported, m.spans_failed_to_send), (20, 0), "{m:?}");
}

#[test]
fn hanging_server_times_out_and_application_is_unaffected() {
    let server = HttpServer::start(|_| Reply::Hang);
    let (tracer, guard) = Tracer::builder("hang")
        .with_collector(
            Collector::new(server.url("/api/traces"))
                .with_timeout(Duration::from_millis(200))
                .with_retries(1),
        )
        .init()
        .unwrap();
    let t = Instant::now();
    make_spans(&tracer, 1000);
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "finishing spans blocked: {:?}",
        t.elapsed()
    );
    let t = Instant::now();
    tracer.flush().unwrap();
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    let m = tracer.metrics();
    assert_eq!(m.spans_failed_to_send, 2000, "{m:?}");
    assert_eq!(m.spans_finished(), 2000);
    drop(guard);
}

#[test]
fn connection_refused_is_counted() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (tracer, guard) = Tracer::builder("refused")
        .with_collector(
            Collector::new(format!("http://127.0.0.1:{port}/api/traces")).with_retries(2),
        )
        .init()
        .unwrap();
    make_spans(&tracer, 5);
    tracer.flush().unwrap();
    let m = tracer.metrics();
    assert_eq!((m.spans_failed_to_send, m.send_errors), (10, 1), "{m:?}");
    drop(guard);
}

/// A redirect that would turn the POST into a GET without the spans (301,
/// 302, 303) is not followed: the spans count as failed rather than as
/// reported to whatever answers the GET. One that keeps the method and the
/// body (307, 308) is followed and delivers.
#[test]
fn redirects_are_followed_only_where_the_spans_go_along() {
    let server = HttpServer::start(|r| match (r.method.as_str(), r.target.as_str()) {
        ("POST", "/api/traces") => Reply::Status(202, Vec::new()),
        ("POST", "/moved") => Reply::WithHeaders(301, vec![("Location", "/api/traces".into())]),
        ("POST", "/found") => Reply::WithHeaders(302, vec![("Location", "/api/traces".into())]),
        ("POST", "/see-other") => Reply::WithHeaders(303, vec![("Location", "/api/traces".into())]),
        ("POST", "/temporary") => Reply::WithHeaders(307, vec![("Location", "/api/traces".into())]),
        ("POST", "/permanent") => Reply::WithHeaders(308, vec![("Location", "/api/traces".into())]),
        // A front page answering anything else, as a web server would.
        _ => Reply::Status(200, b"<html>welcome</html>".to_vec()),
    });
    for (path, delivered) in [
        ("/moved", false),
        ("/found", false),
        ("/see-other", false),
        ("/temporary", true),
        ("/permanent", true),
    ] {
        let before = server.requests().len();
        let (tracer, guard) = Tracer::builder("redirected")
            .with_collector(Collector::new(server.url(path)))
            .init()
            .unwrap();
        make_spans(&tracer, 3);
        drop(guard);
        let m = tracer.metrics();
        let reqs = server.requests()[before..].to_vec();
        assert!(reqs.iter().all(|r| r.method == "POST"), "{path}: {reqs:?}");
        if delivered {
            assert_eq!((m.spans_reported, m.spans_failed_to_send), (6, 0), "{path}");
            let last = reqs.last().unwrap();
            assert_eq!(last.target, "/api/traces", "{path}");
            assert_eq!(decode(last).spans.len(), 6, "{path}");
        } else {
            assert_eq!((m.spans_reported, m.spans_failed_to_send), (0, 6), "{path}");
            assert_eq!(reqs.len(), 1, "{path}: {reqs:?}");
        }
    }
}

#[test]
fn bad_request_is_not_retried() {
    let server = HttpServer::start(|_| Reply::Status(400, b"bad batch".to_vec()));
    let (tracer, guard) = Tracer::builder("bad")
        .with_collector(Collector::new(server.url("/api/traces")))
        .init()
        .unwrap();
    make_spans(&tracer, 3);
    drop(guard);
    assert_eq!(server.requests().len(), 1);
    assert_eq!(tracer.metrics().spans_failed_to_send, 6);
}

#[test]
fn slow_server_under_100k_spans_keeps_memory_bounded() {
    let server = HttpServer::start(|_| {
        std::thread::sleep(Duration::from_millis(100));
        Reply::Status(202, Vec::new())
    });
    let (tracer, guard) = Tracer::builder("slow")
        .with_collector(Collector::new(server.url("/api/traces")))
        .with_queue_size(1000)
        .with_close_timeout(Duration::from_secs(10))
        .init()
        .unwrap();
    let before = rss_kib();
    let t = Instant::now();
    for i in 0..100_000i64 {
        let mut s = tracer.start("op");
        s.set_tag("i", i).set_tag("payload", "x".repeat(100));
    }
    let elapsed = t.elapsed();
    let grown = rss_kib().saturating_sub(before);
    drop(guard);
    let m = tracer.metrics();
    assert!(
        elapsed < Duration::from_secs(5),
        "offering 100,000 spans took {elapsed:?}"
    );
    // Roughly 250 bytes a span: keeping all 100,000 would take ~25 MB more.
    assert!(grown < 20_000, "RSS grew by {grown} KiB");
    assert!(m.spans_dropped_queue_full > 0, "{m:?}");
    assert_eq!(m.spans_finished(), 100_000, "{m:?}");
    assert_eq!(span_ids(&server.requests()).len() as u64, m.spans_reported);
}

#[test]
fn https_with_explicitly_trusted_self_signed_certificate() {
    let (pem, cert, key) = self_signed();
    let server = HttpServer::start_tls(cert, key, |_| Reply::Status(202, Vec::new()));
    let (tracer, guard) = Tracer::builder("tls")
        .with_collector(Collector::new(server.url("/api/traces")).with_root_certificate_pem(pem))
        .init()
        .unwrap();
    make_spans(&tracer, 5);
    drop(guard);
    assert_eq!(span_ids(&server.requests()).len(), 10);
    assert_eq!(tracer.metrics().spans_reported, 10);
}

#[test]
fn https_with_untrusted_certificate_fails_and_is_counted() {
    let (_pem, cert, key) = self_signed();
    let server = HttpServer::start_tls(cert, key, |_| Reply::Status(202, Vec::new()));
    let (tracer, guard) = Tracer::builder("tls-untrusted")
        .with_collector(Collector::new(server.url("/api/traces")).with_retries(0))
        .init()
        .unwrap();
    make_spans(&tracer, 5);
    drop(guard);
    assert!(
        server.requests().is_empty(),
        "no request may pass an unverified handshake"
    );
    let m = tracer.metrics();
    assert_eq!((m.spans_failed_to_send, m.spans_reported), (10, 0), "{m:?}");
}
