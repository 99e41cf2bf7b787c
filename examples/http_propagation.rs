//! Propagation between two processes over HTTP: a reqwest client and an
//! axum server (this example started again as a child process).
//!
//! ```sh
//! cargo run --example http_propagation
//! JAEGER_PROPAGATION=w3c,jaeger cargo run --example http_propagation
//! ```
//!
//! The client starts a span, sets baggage, injects its context into the
//! request headers; the server extracts it, starts its span as a ChildOf
//! the client's span, reads the baggage, and answers with what it saw. The
//! client checks that the server's span is its child in the same trace and
//! that the baggage crossed over, and exits non-zero otherwise. Both report
//! to the agent configured by `JAEGER_*` (default localhost:6831).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use axum::http::HeaderMap;
use axum::routing::get;
use axum::Router;
use jaeger_tracer::{Tracer, TracerGuard};

fn tracer(service: &str) -> Result<(Tracer, TracerGuard), jaeger_tracer::Error> {
    Tracer::builder(service)
        .with_env_lookup(|k| {
            if k == jaeger_tracer::ENV_SERVICE_NAME {
                None
            } else {
                std::env::var(k).ok()
            }
        })?
        .init()
}

/// The server: one request, then exit.
async fn server() -> Result<(), Box<dyn std::error::Error>> {
    let (tracer, guard) = tracer("propagation-server")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("{}", listener.local_addr()?.port());
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let done = std::sync::Arc::new(std::sync::Mutex::new(Some(done_tx)));
    let app = Router::new().route(
        "/hello",
        get(move |headers: HeaderMap| {
            let (tracer, done) = (tracer.clone(), done.clone());
            let reply = match tracer.extract(&headers) {
                Ok(Some(parent)) => {
                    let mut span = tracer
                        .span("GET /hello")
                        .child_of(&parent)
                        .with_tag("span.kind", "server")
                        .start();
                    let user = span.baggage_item("user").unwrap_or("").to_owned();
                    span.set_tag("user", user.clone());
                    let c = span.context();
                    format!("{} {} {} {user}", c.trace_id(), c.span_id(), c.parent_id())
                }
                Ok(None) => "no context".to_owned(),
                Err(e) => format!("bad context: {e}"),
            };
            if let Some(tx) = done.lock().unwrap().take() {
                let _ = tx.send(());
            }
            async move { reply }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = done_rx.await;
        })
        .await?;
    tokio::task::spawn_blocking(move || guard.close()).await??;
    Ok(())
}

async fn client() -> Result<(), Box<dyn std::error::Error>> {
    let mut child = Command::new(std::env::current_exe()?)
        .arg("server")
        .stdout(Stdio::piped())
        .spawn()?;
    let mut port = String::new();
    BufReader::new(child.stdout.take().ok_or("no server stdout")?).read_line(&mut port)?;
    let url = format!("http://127.0.0.1:{}/hello", port.trim());

    let (tracer, guard) = tracer("propagation-client")?;
    let mut span = tracer
        .span("GET /hello")
        .with_tag("span.kind", "client")
        .start();
    span.set_baggage_item("user", "ada lovelace");
    let mut headers = HeaderMap::new();
    tracer.inject(span.context(), &mut headers);
    println!("client sends: {headers:?}");
    let body = reqwest::Client::new()
        .get(&url)
        .headers(headers)
        .send()
        .await?
        .text()
        .await?;
    println!("server saw:   {body}");
    let client_ctx = span.context().clone();
    drop(span);
    tokio::task::spawn_blocking(move || guard.close()).await??;
    child.wait()?;

    let parts: Vec<&str> = body.splitn(4, ' ').collect();
    let expected = [
        client_ctx.trace_id().to_string(),
        String::new(),
        client_ctx.span_id().to_string(),
        "ada lovelace".to_owned(),
    ];
    let ok = parts.len() == 4
        && parts[0] == expected[0]
        && parts[2] == expected[2]
        && parts[3] == expected[3];
    if !ok {
        return Err(format!(
            "the server's span is not the client's child with its baggage: {body}"
        )
        .into());
    }
    println!(
        "ok: the server span {} is a child of the client span {} in trace {}",
        parts[1], parts[2], parts[0]
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    match std::env::args().nth(1).as_deref() {
        Some("server") => server().await,
        _ => client().await,
    }
}
