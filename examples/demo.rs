//! A three-service demo: frontend → api → worker, on axum and reqwest, with
//! this crate's header propagation.
//!
//! ```sh
//! scripts/demo.sh                         # Jaeger built from source + all services, one command
//! cargo run --example demo -- all         # all services in one process, sends DEMO_REQUESTS requests
//! cargo run --example demo -- frontend    # one service (as docker-compose.yml runs them)
//! ```
//!
//! The tracer of each service is configured only through `JAEGER_*`
//! variables. In `all` mode each service keeps its own name (frontend, api,
//! worker) and `JAEGER_SERVICE_NAME` is ignored.
//!
//! What the traces show: `GET /checkout` on the frontend (server span, with
//! the customer as baggage) calls the api (client span → server span), which
//! queries a fake database (child span with a log) and queues a job to the
//! worker; the worker answers 202 at once and processes the job later in a
//! span that *follows from* the api's span. Ordering the item `broken` makes
//! the database fail: `error` tags and an error log, and a 500 to the
//! frontend.
//!
//! Other variables: `DEMO_FRONTEND_ADDR` (127.0.0.1:8080), `DEMO_API_ADDR`
//! (127.0.0.1:8081), `DEMO_WORKER_ADDR` (127.0.0.1:8082), `DEMO_API_URL`,
//! `DEMO_WORKER_URL` (the other services' base URLs), `DEMO_REQUESTS` (10).

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use jaeger_tracer::{Span, SpanContext, Tracer, TracerGuard, ENV_SERVICE_NAME};

#[derive(Clone)]
struct App {
    tracer: Tracer,
    http: reqwest::Client,
    api_url: String,
    worker_url: String,
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// A server span for an incoming request: the child of the caller's span
/// when the headers carry one.
fn server_span(tracer: &Tracer, name: &'static str, headers: &HeaderMap) -> Span {
    let parent: Option<SpanContext> = match tracer.extract(headers) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("ignoring bad trace headers: {e}");
            None
        }
    };
    let mut b = tracer.span(name).with_tag("span.kind", "server");
    if let Some(p) = &parent {
        b = b.child_of(p);
    }
    b.start()
}

/// Calls `url` inside a client span whose context travels in the headers.
async fn call(
    app: &App,
    parent: &Span,
    name: &'static str,
    method: reqwest::Method,
    url: String,
) -> Result<u16, String> {
    let mut span = app
        .tracer
        .span(name)
        .child_of(parent.context())
        .with_tag("span.kind", "client")
        .with_tag("http.method", method.as_str().to_owned())
        .with_tag("http.url", url.clone())
        .start();
    let mut headers = HeaderMap::new();
    app.tracer.inject(span.context(), &mut headers);
    match app.http.request(method, &url).headers(headers).send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            span.set_tag("http.status_code", status);
            if status >= 500 {
                span.set_tag("error", true);
            }
            Ok(status)
        }
        Err(e) => {
            span.set_tag("error", true);
            span.log(|f| {
                f.event("error").message(e.to_string());
            });
            Err(e.to_string())
        }
    }
}

async fn checkout(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> (StatusCode, String) {
    let mut span = server_span(&app.tracer, "GET /checkout", &headers);
    let item = q.get("item").cloned().unwrap_or_else(|| "book".into());
    let customer = q.get("customer").cloned().unwrap_or_else(|| "guest".into());
    span.set_baggage_item("customer", customer);
    span.set_tag("item", item.clone());
    let result = call(
        &app,
        &span,
        "GET /orders",
        reqwest::Method::GET,
        format!("{}/orders/{item}", app.api_url),
    )
    .await;
    let (code, body) = match result {
        Ok(200) => (StatusCode::OK, format!("ordered {item}\n")),
        Ok(s) => (StatusCode::BAD_GATEWAY, format!("api answered {s}\n")),
        Err(e) => (StatusCode::BAD_GATEWAY, format!("api unreachable: {e}\n")),
    };
    span.set_tag("http.status_code", code.as_u16());
    if code.is_server_error() {
        span.set_tag("error", true);
    }
    (code, body)
}

async fn order(State(app): State<App>, headers: HeaderMap, Path(item): Path<String>) -> StatusCode {
    let mut span = server_span(&app.tracer, "GET /orders/{item}", &headers);
    let customer = span.baggage_item("customer").unwrap_or("?").to_owned();
    span.set_tag("customer", customer);
    {
        let mut db = app
            .tracer
            .span("SELECT stock")
            .child_of(span.context())
            .start();
        db.set_tag("db.type", "sql")
            .set_tag("db.statement", "SELECT qty FROM stock WHERE item = ?");
        tokio::time::sleep(Duration::from_millis(15)).await;
        if item == "broken" {
            db.set_tag("error", true);
            db.log(|f| {
                f.event("error")
                    .message("stock table is locked")
                    .field("error.kind", "Timeout");
            });
            span.set_tag("error", true).set_tag("http.status_code", 500);
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
        db.log(|f| {
            f.event("rows").field("count", 1);
        });
    }
    let queued = call(
        &app,
        &span,
        "POST /jobs",
        reqwest::Method::POST,
        format!("{}/jobs", app.worker_url),
    )
    .await;
    span.log(|f| {
        f.event("job queued").field("ok", queued.is_ok());
    });
    span.set_tag("http.status_code", 200);
    StatusCode::OK
}

async fn job(State(app): State<App>, headers: HeaderMap) -> StatusCode {
    let parent = app.tracer.extract(&headers).ok().flatten();
    {
        let _accept = server_span(&app.tracer, "POST /jobs", &headers);
    }
    // Processed after the answer: the job follows from the request, it is
    // not part of it.
    tokio::spawn(async move {
        let mut b = app.tracer.span("process job").with_tag("queue", "emails");
        if let Some(p) = &parent {
            b = b.follows_from(p);
        }
        let mut span = b.start();
        tokio::time::sleep(Duration::from_millis(30)).await;
        let customer = span.baggage_item("customer").unwrap_or("?").to_owned();
        span.log(|f| {
            f.event("email sent").field("to", customer);
        });
    });
    StatusCode::ACCEPTED
}

fn init(
    service: &'static str,
    keep_name: bool,
) -> Result<(Tracer, TracerGuard), jaeger_tracer::Error> {
    let b = Tracer::builder(service);
    let b = if keep_name {
        b.with_env_lookup(|k| {
            if k == ENV_SERVICE_NAME {
                None
            } else {
                std::env::var(k).ok()
            }
        })?
    } else {
        b.with_env()?
    };
    b.init()
}

async fn serve(router: Router, addr: &str) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, router).await
}

async fn run_role(role: &str, app: App, addr: String) -> std::io::Result<()> {
    let router = match role {
        "frontend" => Router::new().route("/checkout", get(checkout)),
        "api" => Router::new().route("/orders/{item}", get(order)),
        _ => Router::new().route("/jobs", post(job)),
    };
    serve(router.with_state(app), &addr).await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let role = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    let frontend_addr = env_or("DEMO_FRONTEND_ADDR", "127.0.0.1:8080");
    let api_addr = env_or("DEMO_API_ADDR", "127.0.0.1:8081");
    let worker_addr = env_or("DEMO_WORKER_ADDR", "127.0.0.1:8082");
    let api_url = env_or("DEMO_API_URL", &format!("http://{api_addr}"));
    let worker_url = env_or("DEMO_WORKER_URL", &format!("http://{worker_addr}"));
    let http = reqwest::Client::new();
    let app = |tracer: Tracer| App {
        tracer,
        http: http.clone(),
        api_url: api_url.clone(),
        worker_url: worker_url.clone(),
    };
    match role.as_str() {
        "frontend" | "api" | "worker" => {
            let name: &'static str = match role.as_str() {
                "frontend" => "frontend",
                "api" => "api",
                _ => "worker",
            };
            let addr = match name {
                "frontend" => frontend_addr,
                "api" => api_addr,
                _ => worker_addr,
            };
            let (tracer, _guard) = init(name, false)?;
            println!("{name} listening on {addr}");
            run_role(name, app(tracer), addr).await?;
        }
        "all" => {
            let mut guards = Vec::new();
            for (name, addr) in [
                ("frontend", &frontend_addr),
                ("api", &api_addr),
                ("worker", &worker_addr),
            ] {
                let (tracer, guard) = init(name, true)?;
                guards.push((tracer.clone(), guard));
                let (a, addr) = (app(tracer), addr.clone());
                tokio::spawn(async move {
                    if let Err(e) = run_role(name, a, addr).await {
                        eprintln!("{name}: {e}");
                    }
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            let n: usize = env_or("DEMO_REQUESTS", "10").parse().unwrap_or(10);
            let customers = ["ada", "grace", "linus"];
            for i in 0..n {
                let item = if i % 5 == 4 { "broken" } else { "book" };
                let url = format!(
                    "http://{frontend_addr}/checkout?item={item}&customer={}",
                    customers[i % 3]
                );
                let status = http.get(&url).send().await.map(|r| r.status().as_u16());
                println!("GET {url} -> {status:?}");
            }
            // Let the worker finish its queued jobs before closing.
            tokio::time::sleep(Duration::from_millis(300)).await;
            for (tracer, guard) in guards {
                let name = tracer.service_name().to_owned();
                tokio::task::spawn_blocking(move || guard.close()).await??;
                let m = tracer.metrics();
                println!(
                    "{name}: {} spans reported, {} lost",
                    m.spans_reported,
                    m.spans_lost()
                );
            }
        }
        other => return Err(format!("unknown role {other:?} (frontend, api, worker, all)").into()),
    }
    Ok(())
}
