//! End to end with the real Jaeger v2 (built from source by
//! scripts/build-jaeger.sh, run on 127.0.0.1 by `scripts/jaeger.sh start`):
//! every transport's traces read back through the query API intact (also
//! with float tags JSON cannot hold, which broke the query service's
//! answers), and a trace crossing two processes shows as one trace with two
//! services.
//!
//! Run: `scripts/jaeger.sh start && cargo test --test e2e_real_jaeger -- --ignored`

mod env_vars;
use std::time::{Duration, Instant};

use http::HeaderMap;
use jaeger_tracer::{AgentProtocol, Collector, Tracer, TracerBuilder};
use serde_json::Value;

const QUERY: &str = "http://127.0.0.1:16686";

async fn get_json(url: &str) -> Option<Value> {
    let r = reqwest::get(url).await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    serde_json::from_slice(&r.bytes().await.ok()?).ok()
}

/// Polls the query API until the trace has `spans` spans (writes are
/// asynchronous).
async fn fetch_trace(trace_id: &str, spans: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = get_json(&format!("{QUERY}/api/traces/{trace_id}")).await {
            if v["data"][0]["spans"].as_array().map_or(0, Vec::len) >= spans {
                return v["data"][0].clone();
            }
        }
        assert!(
            Instant::now() < deadline,
            "trace {trace_id} with {spans} spans never appeared"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn span<'a>(trace: &'a Value, name: &str) -> &'a Value {
    trace["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["operationName"] == name)
        .unwrap_or_else(|| panic!("no span {name} in {trace}"))
}

fn tag<'a>(tags: &'a Value, key: &str) -> &'a Value {
    tags.as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == key)
        .unwrap_or_else(|| panic!("no tag {key} in {tags}"))
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{:08x}", rand::random::<u32>())
}

/// Sends one rich trace through `builder` and checks it in Jaeger.
async fn round_trip(builder: TracerBuilder, service: &str) {
    let (tracer, guard) = builder
        .with_tag("e2e.run", "yes")
        .with_trace_id_128bit(true)
        .init()
        .unwrap();
    let (trace_id, root_id, child_id, job_id, linked_id) = {
        let mut root = tracer
            .span("e2e-root")
            .with_tag("span.kind", "server")
            .start();
        root.set_tag("str", "hello")
            .set_tag("bool", true)
            .set_tag("long", -7i64)
            .set_tag("double", 2.5)
            .set_tag("binary", vec![1u8, 2, 3])
            // Floats JSON cannot hold (the query service failed on them).
            .set_tag("ratio", f64::NAN)
            .set_tag("ceiling", f64::INFINITY);
        root.log(|f| {
            f.event("checkpoint").field("n", 1).field("mean", f64::NAN);
        });
        let mut child = tracer.span("e2e-child").child_of(root.context()).start();
        std::thread::sleep(Duration::from_millis(20));
        child.finish();
        let job = tracer.span("e2e-job").follows_from(root.context()).start();
        // Two references, and an error by the conventions.
        let mut linked = tracer
            .span("e2e-linked")
            .child_of(child.context())
            .follows_from(job.context())
            .start();
        linked.set_error(&std::io::Error::other("disk full"));
        let ids = (
            root.context().trace_id().to_string(),
            root.context().span_id().to_string(),
            child.context().span_id().to_string(),
            job.context().span_id().to_string(),
            linked.context().span_id().to_string(),
        );
        drop(linked);
        drop(job);
        ids
    };
    drop(guard);
    assert_eq!(tracer.metrics().spans_reported, 4, "{:?}", tracer.metrics());
    assert_eq!(trace_id.len(), 32, "128-bit id");

    let trace = fetch_trace(&trace_id, 4).await;
    assert_eq!(trace["traceID"], trace_id);
    let root = span(&trace, "e2e-root");
    assert_eq!(root["spanID"], root_id);
    assert!(root["references"].as_array().unwrap().is_empty());
    let tags = &root["tags"];
    assert_eq!(tag(tags, "str")["value"], "hello");
    assert_eq!(tag(tags, "bool")["value"], true);
    assert_eq!(tag(tags, "long")["value"], -7);
    assert_eq!(tag(tags, "double")["value"], 2.5);
    assert_eq!(tag(tags, "binary")["type"], "binary");
    assert_eq!(tag(tags, "ratio")["value"], "NaN");
    assert_eq!(tag(tags, "ceiling")["value"], "+Inf");
    assert_eq!(tag(tags, "sampler.type")["value"], "const");
    let logs = root["logs"].as_array().unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(tag(&logs[0]["fields"], "event")["value"], "checkpoint");
    assert_eq!(tag(&logs[0]["fields"], "n")["value"], 1);
    assert_eq!(tag(&logs[0]["fields"], "mean")["value"], "NaN");
    // A search finding the trace answers too.
    let found = get_json(&format!("{QUERY}/api/traces?service={service}&limit=20"))
        .await
        .expect("the search answers");
    assert!(
        found["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["traceID"] == trace_id),
        "{found}"
    );

    let child = span(&trace, "e2e-child");
    assert_eq!(child["spanID"], child_id);
    let r = &child["references"][0];
    assert_eq!(
        (r["refType"].as_str(), r["spanID"].as_str()),
        (Some("CHILD_OF"), Some(root_id.as_str()))
    );
    assert_eq!(r["traceID"], trace_id);
    let d = child["duration"].as_i64().unwrap();
    assert!((20_000..2_000_000).contains(&d), "child duration {d} µs");
    assert!(child["startTime"].as_i64().unwrap() >= root["startTime"].as_i64().unwrap());

    let job = span(&trace, "e2e-job");
    assert_eq!(job["spanID"], job_id);
    let refs = job["references"].as_array().unwrap();
    assert_eq!(refs.len(), 1, "{refs:?}");
    assert_eq!(
        (refs[0]["refType"].as_str(), refs[0]["spanID"].as_str()),
        (Some("FOLLOWS_FROM"), Some(root_id.as_str()))
    );

    let linked = span(&trace, "e2e-linked");
    assert_eq!(linked["spanID"], linked_id);
    let refs: Vec<(&str, &str)> = linked["references"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["refType"].as_str().unwrap(),
                r["spanID"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        refs,
        [
            ("CHILD_OF", child_id.as_str()),
            ("FOLLOWS_FROM", job_id.as_str())
        ]
    );
    assert_eq!(tag(&linked["tags"], "error")["value"], true);
    let fields = &linked["logs"][0]["fields"];
    assert_eq!(tag(fields, "event")["value"], "error");
    assert_eq!(tag(fields, "error.kind")["value"], "std::io::error::Error");
    assert_eq!(tag(fields, "message")["value"], "disk full");

    let process = &trace["processes"][root["processID"].as_str().unwrap()];
    assert_eq!(process["serviceName"], service);
    assert_eq!(tag(&process["tags"], "e2e.run")["value"], "yes");
    assert_eq!(tag(&process["tags"], "client-uuid")["type"], "string");

    let services = get_json(&format!("{QUERY}/api/services")).await.unwrap();
    assert!(
        services["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == service),
        "{services}"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the real Jaeger: scripts/jaeger.sh start"]
async fn udp_compact_agent() {
    let service = unique("e2e-compact");
    let b = Tracer::builder(&service)
        .with_agent_host("127.0.0.1")
        .with_agent_protocol(AgentProtocol::Compact);
    round_trip(b, &service).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the real Jaeger: scripts/jaeger.sh start"]
async fn udp_binary_agent() {
    let service = unique("e2e-binary");
    let b = Tracer::builder(&service)
        .with_agent_host("127.0.0.1")
        .with_agent_protocol(AgentProtocol::Binary);
    round_trip(b, &service).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the real Jaeger: scripts/jaeger.sh start"]
async fn http_collector() {
    let service = unique("e2e-http");
    let b = Tracer::builder(&service)
        .with_collector(Collector::new("http://127.0.0.1:14268/api/traces"));
    round_trip(b, &service).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the real Jaeger: scripts/jaeger.sh start"]
async fn trace_across_two_processes_is_one_trace_with_two_services() {
    let (front, back) = (unique("e2e-frontend"), unique("e2e-backend"));
    let (client, client_guard) = Tracer::builder(&front)
        .with_agent_host("127.0.0.1")
        .init()
        .unwrap();
    let (server, server_guard) = Tracer::builder(&back)
        .with_collector(Collector::new("http://127.0.0.1:14268/api/traces"))
        .init()
        .unwrap();
    let mut call = client
        .span("GET /api")
        .with_tag("span.kind", "client")
        .start();
    call.set_baggage_item("user", "ada");
    let mut headers = HeaderMap::new();
    client.inject(call.context(), &mut headers);
    // The "server" process.
    let parent = server.extract(&headers).unwrap().unwrap();
    let mut handle = server
        .span("handle /api")
        .child_of(&parent)
        .with_tag("span.kind", "server")
        .start();
    let user = handle.baggage_item("user").unwrap().to_owned();
    handle.set_tag("user", user);
    let (trace_id, call_id) = (
        call.context().trace_id().to_string(),
        call.context().span_id().to_string(),
    );
    drop(handle);
    drop(call);
    drop(server_guard);
    drop(client_guard);

    let trace = fetch_trace(&trace_id, 2).await;
    let services: Vec<&str> = trace["processes"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p["serviceName"].as_str().unwrap())
        .collect();
    assert_eq!(services.len(), 2);
    assert!(services.contains(&front.as_str()) && services.contains(&back.as_str()));
    let handled = span(&trace, "handle /api");
    assert_eq!(handled["references"][0]["spanID"], call_id);
    assert_eq!(handled["references"][0]["refType"], "CHILD_OF");
    assert_eq!(tag(&handled["tags"], "user")["value"], "ada");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the real Jaeger: scripts/jaeger.sh start"]
async fn remote_sampler_reads_jaegers_strategy() {
    // Jaeger serves `{"strategyType":0,"probabilisticSampling":{"samplingRate":1}}`
    // from its default file strategy.
    let vars = [
        ("JAEGER_SERVICE_NAME", "e2e-remote"),
        ("JAEGER_AGENT_HOST", "127.0.0.1"),
        ("JAEGER_SAMPLER_TYPE", "remote"),
        ("JAEGER_SAMPLER_PARAM", "0"),
    ];
    let (tracer, guard) = TracerBuilder::from_lookup(env_vars::lookup(&vars))
        .unwrap()
        .init()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !tracer.start("probe").context().is_sampled() {
        assert!(Instant::now() < deadline, "Jaeger's strategy never applied");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(guard);
}

/// The service this crate traces in the cross-language trace: it continues
/// the caller's trace, reads the customer from the baggage, and calls the
/// `backend` URL it was given with its own span's context.
async fn rust_handler(
    axum::extract::State(tracer): axum::extract::State<Tracer>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> (http::StatusCode, String) {
    let parent = match tracer.extract(&headers) {
        Ok(Some(parent)) => parent,
        other => return (http::StatusCode::BAD_REQUEST, format!("{other:?}")),
    };
    let mut span = tracer
        .span("rust-handler")
        .child_of(&parent)
        .with_tag("span.kind", "server")
        .start();
    let customer = span.baggage_item("customer").unwrap_or("none").to_owned();
    span.set_tag("customer.seen", customer);
    let mut outgoing = HeaderMap::new();
    tracer.inject(span.context(), &mut outgoing);
    let backend = query.get("backend").cloned().unwrap_or_default();
    match reqwest::Client::new()
        .get(backend)
        .headers(outgoing)
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => (http::StatusCode::OK, String::new()),
        other => (http::StatusCode::BAD_GATEWAY, format!("{other:?}")),
    }
}

/// One trace across a reference client's services and this crate's: the
/// peer (`program args… <url> <service>`, see tests/interop/go/trace.go)
/// starts `<prefix>-request`, calls [`rust_handler`], which calls the
/// peer's backend, which starts `<prefix>-backend`; each reports to the
/// real Jaeger agent over UDP. The context and a baggage item with a space
/// cross both ways in the Jaeger headers, and Jaeger shows one trace.
async fn one_trace_across(program: &str, args: &[&str], prefix: &str) {
    let (peer_service, rust_service) = (unique(&format!("e2e-{prefix}")), unique("e2e-rust"));
    let (tracer, guard) = Tracer::builder(&rust_service)
        .with_agent_host("127.0.0.1")
        .init()
        .unwrap();
    let app = axum::Router::new()
        .route("/handle", axum::routing::get(rust_handler))
        .with_state(tracer.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/handle", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut command = std::process::Command::new(program);
    command.args(args).args([&url, &peer_service]);
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{program}: {e}; run scripts/install-test-deps.sh"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let peer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(peer["status"], 200, "{peer}");
    assert_eq!(peer["backend_calls"], 1, "{peer}");
    drop(guard);
    assert_eq!(tracer.metrics().spans_reported, 1);

    let trace = fetch_trace(peer["trace_id"].as_str().unwrap(), 3).await;
    let service_of = |s: &Value| {
        trace["processes"][s["processID"].as_str().unwrap()]["serviceName"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let request = span(&trace, &format!("{prefix}-request"));
    let handler = span(&trace, "rust-handler");
    let backend = span(&trace, &format!("{prefix}-backend"));
    assert_eq!(service_of(request), peer_service);
    assert_eq!(service_of(handler), rust_service);
    assert_eq!(service_of(backend), peer_service);
    assert_eq!(request["spanID"], peer["span_id"]);
    assert_eq!(handler["references"][0]["refType"], "CHILD_OF");
    assert_eq!(handler["references"][0]["spanID"], request["spanID"]);
    assert_eq!(backend["references"][0]["spanID"], handler["spanID"]);
    for s in [handler, backend] {
        assert_eq!(tag(&s["tags"], "customer.seen")["value"], "ada lovelace");
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the real Jaeger (scripts/jaeger.sh start) and the Go peer (scripts/install-test-deps.sh)"]
async fn one_trace_across_go_and_rust_services() {
    let peer = concat!(env!("CARGO_MANIFEST_DIR"), "/target/interop/go-peer");
    one_trace_across(peer, &["trace"], "go").await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the real Jaeger (scripts/jaeger.sh start) and npm jaeger-client (scripts/install-test-deps.sh)"]
async fn one_trace_across_node_and_rust_services() {
    let peer = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/node/trace.js");
    one_trace_across("node", &[peer], "node").await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the real Jaeger (scripts/jaeger.sh start) and Maven jaeger-client (scripts/install-test-deps.sh)"]
async fn one_trace_across_java_and_rust_services() {
    let java = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/java/target");
    let classpath = format!("{java}/classes:{java}/lib/*");
    one_trace_across("java", &["-cp", &classpath, "Trace"], "java").await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the real Jaeger (scripts/jaeger.sh start) and PyPI jaeger-client (scripts/install-test-deps.sh)"]
async fn one_trace_across_python_and_rust_services() {
    let peer = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/python_trace.py");
    one_trace_across("python3", &[peer], "python").await;
}

/// The secured collector endpoint of e2e/jaeger-loopback.yaml: https with
/// a certificate from the private CA scripts/jaeger.sh made, and basic
/// authentication.
fn secured_collector(user: &str, password: &str) -> Collector {
    let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/target/jaeger/tls/ca.pem");
    let pem = std::fs::read(ca).expect("scripts/jaeger.sh start makes the CA");
    Collector::new("https://127.0.0.1:14278/api/traces")
        .with_root_certificate_pem(pem)
        .with_basic_auth(user, password)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the real Jaeger: scripts/jaeger.sh start"]
async fn https_collector_with_basic_auth() {
    let service = unique("e2e-https");
    round_trip(
        Tracer::builder(&service).with_collector(secured_collector("e2e-user", "e2e-secret")),
        &service,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the real Jaeger: scripts/jaeger.sh start"]
async fn https_collector_refusing_the_password_counts_the_spans_failed() {
    let service = unique("e2e-refused");
    let (tracer, guard) = Tracer::builder(&service)
        .with_collector(secured_collector("e2e-user", "wrong"))
        .init()
        .unwrap();
    let trace_id = {
        let root = tracer.start("refused-root");
        let _child = tracer
            .span("refused-child")
            .child_of(root.context())
            .start();
        root.context().trace_id().to_string()
    };
    drop(guard);
    // Jaeger answers 401, which is not retried: both spans failed, counted.
    let m = tracer.metrics();
    assert_eq!((m.spans_failed_to_send, m.spans_reported), (2, 0), "{m:?}");
    assert!(m.send_errors >= 1, "{m:?}");
    // And nothing of them reached the storage.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        get_json(&format!("{QUERY}/api/traces/{trace_id}"))
            .await
            .is_none(),
        "a refused batch was stored"
    );
}

/// A tracer with the remote sampler for `service`, asking the real
/// Jaeger's sampling endpoint, and sampling nothing until its strategy
/// arrives.
fn remote_tracer(service: &str) -> (Tracer, jaeger_tracer::TracerGuard) {
    let vars = [
        ("JAEGER_SERVICE_NAME", service),
        ("JAEGER_AGENT_HOST", "127.0.0.1"),
        ("JAEGER_SAMPLER_TYPE", "remote"),
        ("JAEGER_SAMPLER_PARAM", "0"),
        ("JAEGER_SAMPLING_ENDPOINT", "http://127.0.0.1:5778/sampling"),
        ("JAEGER_REPORTER_FLUSH_INTERVAL", "100ms"),
    ];
    TracerBuilder::from_lookup(env_vars::lookup(&vars))
        .unwrap()
        .init()
        .unwrap()
}

/// Starts roots named `operation` until one is sampled (Jaeger's strategy
/// has arrived); returns that root's trace id, the root finished.
async fn first_sampled(tracer: &Tracer, operation: &'static str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let span = tracer.start(operation);
        if span.context().is_sampled() {
            return span.context().trace_id().to_string();
        }
        assert!(Instant::now() < deadline, "Jaeger's strategy never applied");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many of `n` new roots named `operation` are sampled.
fn sampled_of(tracer: &Tracer, operation: &'static str, n: usize) -> usize {
    (0..n)
        .filter(|_| tracer.start(operation).context().is_sampled())
        .count()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the real Jaeger: scripts/jaeger.sh start"]
async fn remote_sampler_follows_jaegers_rate_limiting_strategy() {
    // e2e/sampling-strategies.json: 2 traces a second for this service.
    let (tracer, guard) = remote_tracer("e2e-rate-limited");
    let probe = first_sampled(&tracer, "probe").await;
    // The bucket holds 2 (the rate, at least 1) and the probe took one:
    // of a burst, at most the other and what refilled during it.
    let started = Instant::now();
    let burst = sampled_of(&tracer, "burst", 500);
    let refilled = (started.elapsed().as_secs_f64() * 2.0).ceil() as usize;
    assert!(
        burst <= 1 + refilled,
        "{burst} of 500 sampled, {refilled} refilled"
    );
    // A second later, the bucket has refilled.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(sampled_of(&tracer, "later", 500) >= 2);
    drop(guard);

    // The sampled root says which sampler decided, in Jaeger.
    let trace = fetch_trace(&probe, 1).await;
    let root = span(&trace, "probe");
    assert_eq!(tag(&root["tags"], "sampler.type")["value"], "ratelimiting");
    assert_eq!(tag(&root["tags"], "sampler.param")["value"], 2.0);
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the real Jaeger: scripts/jaeger.sh start"]
async fn remote_sampler_follows_jaegers_per_operation_strategy() {
    // e2e/sampling-strategies.json: checkout 1, health 0, half 0.5, any
    // other operation 0, no lower bound.
    let (tracer, guard) = remote_tracer("e2e-per-operation");
    let probe = first_sampled(&tracer, "checkout").await;
    assert_eq!(sampled_of(&tracer, "checkout", 400), 400);
    assert_eq!(sampled_of(&tracer, "health", 400), 0);
    assert_eq!(sampled_of(&tracer, "unlisted", 400), 0);
    // Binomial(400, 0.5): 200 with a standard deviation of 10.
    let half = sampled_of(&tracer, "half", 400);
    assert!((140..=260).contains(&half), "{half} of 400 sampled at 0.5");
    // A child follows its parent's decision, whatever its own operation.
    let root = tracer.start("checkout");
    let child = tracer.span("health").child_of(root.context()).start();
    assert!(child.context().is_sampled());
    drop((child, root));
    drop(guard);

    let trace = fetch_trace(&probe, 1).await;
    let root = span(&trace, "checkout");
    assert_eq!(tag(&root["tags"], "sampler.type")["value"], "probabilistic");
    assert_eq!(tag(&root["tags"], "sampler.param")["value"], 1.0);
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the real Jaeger: scripts/jaeger.sh start"]
async fn demo_produces_one_trace_across_three_services() {
    let out = tokio::task::spawn_blocking(|| {
        std::process::Command::new(env!("CARGO"))
            .args(["run", "-q", "--example", "demo", "--", "all"])
            .env("JAEGER_AGENT_HOST", "127.0.0.1")
            .env("DEMO_REQUESTS", "5")
            .env("DEMO_FRONTEND_ADDR", "127.0.0.1:18080")
            .env("DEMO_API_ADDR", "127.0.0.1:18081")
            .env("DEMO_WORKER_ADDR", "127.0.0.1:18082")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("-> Ok(502)"),
        "the broken item fails: {stdout}"
    );

    let deadline = Instant::now() + Duration::from_secs(20);
    let (mut full, mut failed) = (None, None);
    while full.is_none() || failed.is_none() {
        assert!(Instant::now() < deadline, "demo traces incomplete");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let Some(v) = get_json(&format!("{QUERY}/api/traces?service=frontend&limit=50")).await
        else {
            continue;
        };
        for t in v["data"].as_array().unwrap() {
            let n = t["processes"].as_object().unwrap().len();
            let spans = t["spans"].as_array().unwrap();
            if n == 3 && spans.iter().any(|s| s["operationName"] == "process job") {
                full = Some(t.clone());
            }
            if spans.iter().any(|s| {
                s["operationName"] == "SELECT stock"
                    && s["tags"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|x| x["key"] == "error")
            }) {
                failed = Some(t.clone());
            }
        }
    }
    let full = full.unwrap();
    let job = span(&full, "process job");
    assert_eq!(job["references"][0]["refType"], "FOLLOWS_FROM");
    // It follows from the api's client call that queued it.
    let enqueue = full["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["operationName"] == "POST /jobs" && tag(&s["tags"], "span.kind")["value"] == "client"
        })
        .unwrap();
    assert_eq!(job["references"][0]["spanID"], enqueue["spanID"]);
    let email = &job["logs"][0]["fields"];
    assert!(
        ["ada", "grace", "linus"].contains(&tag(email, "to")["value"].as_str().unwrap()),
        "baggage reached the worker"
    );
    let failed = failed.unwrap();
    assert_eq!(
        tag(&span(&failed, "GET /checkout")["tags"], "error")["value"],
        true
    );
}
