//! The HTTP middleware end to end: a reqwest call made with
//! `middleware::send` carries the context; an axum server with `TraceLayer`
//! gets a child server span (also for a request carrying only an
//! `uber-trace-id` header), handler spans nest under it, and 5xx answers
//! are errors; no `http.url` tag carries credentials; a request given up
//! before its answer is logged as cancelled on both sides.
#![cfg(feature = "middleware")]

mod support;
#[path = "../src/thrift/mod.rs"]
#[allow(dead_code, clippy::all)]
mod thrift;

use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use jaeger_tracer::middleware::{send, TraceLayer};
use jaeger_tracer::{global, Tracer};
use support::{spans, tag, UdpSink};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_and_server_spans_form_one_trace() {
    let sink = UdpSink::start();
    let make = |name: &str| {
        Tracer::builder(name)
            .with_agent_host("127.0.0.1")
            .with_agent_port(sink.port())
            .init()
            .unwrap()
    };
    let (server_tracer, server_guard) = make("mw-server");
    let (client_tracer, client_guard) = make("mw-client");
    global::set_tracer(server_tracer.clone());
    let app = Router::new()
        .route(
            "/orders",
            get(|| async {
                // Started with no parent: the active server span is its parent.
                let mut db = global::tracer().start("db.query");
                db.set_tag("db.rows", 2);
                "ok"
            }),
        )
        .route("/fail", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
        .layer(TraceLayer::new(server_tracer.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let http = reqwest::Client::new();
    let root = client_tracer.start("checkout");
    let root_ctx = root.context().clone();
    // The root is active across the awaits of both calls.
    jaeger_tracer::FutureExt::in_span(
        async {
            let resp = send(&client_tracer, http.get(format!("http://{addr}/orders")))
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            let failed = send(&client_tracer, http.get(format!("http://{addr}/fail")))
                .await
                .unwrap();
            assert_eq!(failed.status(), 500);
        },
        root,
    )
    .await;
    // A plain request carrying only the Jaeger header.
    let plain = http
        .get(format!("http://{addr}/orders"))
        .header("uber-trace-id", "abc:def:0:1")
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 200);

    tokio::task::spawn_blocking(move || {
        drop(client_guard);
        drop(server_guard);
    })
    .await
    .unwrap();
    global::take_tracer();

    let all = spans(&sink.wait_for_spans(8, true, Duration::from_secs(5)));
    assert_eq!(all.len(), 8, "checkout, 2 client, 3 server, 2 db spans");
    let in_trace: Vec<_> = all
        .iter()
        .filter(|s| s.trace_id_low as u64 == root_ctx.trace_id().low())
        .collect();
    let find = |kind: &str, url_end: &str| {
        in_trace
            .iter()
            .find(|s| {
                tag(s, "span.kind").and_then(|t| t.v_str.as_deref()) == Some(kind)
                    && tag(s, "http.url")
                        .and_then(|t| t.v_str.as_deref())
                        .is_some_and(|u| u.ends_with(url_end))
            })
            .unwrap_or_else(|| panic!("no {kind} span for {url_end} in {in_trace:?}"))
    };
    let client = find("client", "/orders");
    assert_eq!(
        client.parent_span_id as u64,
        root_ctx.span_id().get(),
        "client span is a child of the active root"
    );
    assert_eq!(client.operation_name, "HTTP GET");
    assert_eq!(
        tag(client, "peer.hostname").unwrap().v_str.as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(tag(client, "http.status_code").unwrap().v_long, Some(200));
    let server = find("server", "/orders");
    assert_eq!(
        server.parent_span_id, client.span_id,
        "server span is the client span's child"
    );
    let db = in_trace
        .iter()
        .find(|s| s.operation_name == "db.query")
        .unwrap();
    assert_eq!(db.parent_span_id, server.span_id);
    let fail_server = find("server", "/fail");
    assert_eq!(tag(fail_server, "error").unwrap().v_bool, Some(true));
    assert_eq!(
        tag(find("client", "/fail"), "error").unwrap().v_bool,
        Some(true)
    );
    // The plain request's server span joined trace 0xabc under span 0xdef.
    let joined = all
        .iter()
        .find(|s| s.trace_id_low == 0xabc && s.parent_span_id == 0xdef)
        .expect("joined server span");
    assert_eq!(
        tag(joined, "span.kind").unwrap().v_str.as_deref(),
        Some("server")
    );
}

/// A tracer named `name` sending to `sink`.
fn reporting_to(sink: &UdpSink, name: &str) -> (Tracer, jaeger_tracer::TracerGuard) {
    Tracer::builder(name)
        .with_agent_host("127.0.0.1")
        .with_agent_port(sink.port())
        .init()
        .unwrap()
}

/// A [`Stub`] behind the layer.
fn traced_stub(
    tracer: &Tracer,
    answers: bool,
    fails: bool,
) -> jaeger_tracer::middleware::TraceService<Stub> {
    tower_layer::Layer::layer(&TraceLayer::new(tracer.clone()), Stub { answers, fails })
}

/// A service to call the layer with directly: it answers 204 to
/// everything, never answers (`answers: false`), or fails (`fails: true`).
#[derive(Clone)]
struct Stub {
    answers: bool,
    fails: bool,
}

type StubFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<http::Response<()>, std::io::Error>> + Send>,
>;

impl tower_service::Service<http::Request<()>> for Stub {
    type Response = http::Response<()>;
    type Error = std::io::Error;
    type Future = StubFuture;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<()>) -> Self::Future {
        if !self.answers {
            return Box::pin(std::future::pending());
        }
        if self.fails {
            return Box::pin(std::future::ready(Err(std::io::Error::other(
                "the database is unreachable",
            ))));
        }
        let mut resp = http::Response::new(());
        *resp.status_mut() = http::StatusCode::NO_CONTENT;
        Box::pin(std::future::ready(Ok(resp)))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_are_tagged_without_their_credentials() {
    let sink = UdpSink::start();
    let (tracer, guard) = reporting_to(&sink, "mw-credentials");
    let app = Router::new()
        .route("/orders", get(|| async { "ok" }))
        .layer(TraceLayer::new(tracer.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // A client URL with credentials (reqwest moves them into a Basic
    // authorization header itself; the tag must not have them either way).
    let http = reqwest::Client::new();
    // Its query carries a pre-signed URL's secrets (any case).
    let url = format!(
        "http://alice:s3cret@{addr}/orders?page=2&X-Amz-Signature=abcdef0123&x-amz-security-token=T0KEN&sort=asc"
    );
    let resp = send(&tracer, http.get(url)).await.unwrap();
    assert_eq!(resp.status(), 200);
    // A request in absolute form with credentials, straight to the layer.
    let mut service = traced_stub(&tracer, true, false);
    let request = http::Request::builder()
        .uri("http://bob:hunter2@example.com:8080/x?q=1&access_token=eyJhb.payload&sig=AzureSig%3D")
        .body(())
        .unwrap();
    let resp = tower_service::Service::call(&mut service, request)
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);

    tokio::task::spawn_blocking(move || drop(guard))
        .await
        .unwrap();
    let all = spans(&sink.wait_for_spans(3, true, Duration::from_secs(5)));
    let mut urls: Vec<String> = all
        .iter()
        .filter_map(|s| tag(s, "http.url").and_then(|t| t.v_str.clone()))
        .collect();
    urls.sort();
    let query = "page=2&X-Amz-Signature=REDACTED&x-amz-security-token=REDACTED&sort=asc";
    let mut expected = vec![
        format!("http://{addr}/orders?{query}"),
        format!("/orders?{query}"),
        "http://example.com:8080/x?q=1&access_token=REDACTED&sig=REDACTED".to_owned(),
    ];
    expected.sort();
    assert_eq!(urls, expected);
    let secret_anywhere = all.iter().any(|s| {
        s.tags.iter().flatten().any(|t| {
            t.v_str.as_deref().is_some_and(|v| {
                [
                    "s3cret",
                    "hunter2",
                    "abcdef0123",
                    "T0KEN",
                    "eyJhb",
                    "AzureSig",
                ]
                .iter()
                .any(|secret| v.contains(secret))
            })
        })
    });
    assert!(!secret_anywhere, "a credential reached a tag: {all:?}");
}

/// A request given up before its answer (a timeout, a client gone) leaves
/// a span saying so, on both sides, rather than one that looks complete
/// but for its missing status code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_given_up_before_its_answer_is_logged_as_cancelled() {
    let sink = UdpSink::start();
    let (tracer, guard) = reporting_to(&sink, "mw-cancelled");
    // Server side: the layer's future dropped while the service runs.
    let mut service = traced_stub(&tracer, false, false);
    let request = http::Request::builder().uri("/slow").body(()).unwrap();
    let call = tower_service::Service::call(&mut service, request);
    assert!(tokio::time::timeout(Duration::from_millis(50), call)
        .await
        .is_err());
    // Client side: a server that accepts and never answers, and a caller
    // that stops waiting.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    let http = reqwest::Client::new();
    let sent = send(&tracer, http.get(format!("http://{addr}/hang")));
    assert!(tokio::time::timeout(Duration::from_millis(200), sent)
        .await
        .is_err());
    // An answered request is not logged as cancelled.
    let mut answered = traced_stub(&tracer, true, false);
    let request = http::Request::builder().uri("/fast").body(()).unwrap();
    tower_service::Service::call(&mut answered, request)
        .await
        .unwrap();

    tokio::task::spawn_blocking(move || drop(guard))
        .await
        .unwrap();
    let all = spans(&sink.wait_for_spans(3, true, Duration::from_secs(5)));
    assert_eq!(all.len(), 3, "{all:?}");
    let cancelled = |url_end: &str, answered: bool| {
        let span = all
            .iter()
            .find(|s| {
                tag(s, "http.url")
                    .and_then(|t| t.v_str.as_deref())
                    .is_some_and(|u| u.ends_with(url_end))
            })
            .unwrap_or_else(|| panic!("no span for {url_end}: {all:?}"));
        assert_eq!(
            tag(span, "http.status_code").is_some(),
            answered,
            "{span:?}"
        );
        span.logs.iter().flatten().any(|log| {
            log.fields
                .iter()
                .any(|f| f.key == "event" && f.v_str.as_deref() == Some("cancelled"))
        })
    };
    assert!(cancelled("/slow", false), "server span: {all:?}");
    assert!(cancelled("/hang", false), "client span: {all:?}");
    assert!(!cancelled("/fast", true), "answered span: {all:?}");
}

/// A service answering an error (not a response) leaves a span marked
/// failed with the error's message, not one that only says `error=true`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_error_is_logged_with_its_message() {
    let sink = UdpSink::start();
    let (tracer, guard) = reporting_to(&sink, "mw-service-error");
    let mut service = traced_stub(&tracer, true, true);
    let request = http::Request::builder().uri("/orders").body(()).unwrap();
    let err = tower_service::Service::call(&mut service, request)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "the database is unreachable");
    tokio::task::spawn_blocking(move || drop(guard))
        .await
        .unwrap();
    let all = spans(&sink.wait_for_spans(1, true, Duration::from_secs(5)));
    let span = &all[0];
    assert_eq!(tag(span, "error").and_then(|t| t.v_bool), Some(true));
    assert!(tag(span, "http.status_code").is_none(), "{span:?}");
    let logged = span.logs.iter().flatten().any(|log| {
        let field = |k: &str| {
            log.fields
                .iter()
                .find(|f| f.key == k)
                .and_then(|f| f.v_str.as_deref())
        };
        field("event") == Some("error") && field("message") == Some("the database is unreachable")
    });
    assert!(logged, "the error's message was not logged: {span:?}");
}
