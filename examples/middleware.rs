//! The HTTP middleware with axum and reqwest: a server traced by
//! `TraceLayer`, called by a client through `middleware::send`.
//!
//! ```sh
//! cargo run --example middleware --features middleware
//! ```
//!
//! Prints the trace id; in Jaeger it shows the client span, the server span
//! under it and the handler's own span under that.

use axum::routing::get;
use axum::Router;
use jaeger_tracer::middleware::{send, TraceLayer};
use jaeger_tracer::{global, FutureExt, Tracer};

async fn hello() -> &'static str {
    // No parent given: the server span is active here.
    let mut span = global::tracer().start("render greeting");
    span.set_tag("template", "hello");
    "hello"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (tracer, guard) = Tracer::builder("middleware-example")
        .with_env()?
        .init_global()?;
    let app = Router::new()
        .route("/hello", get(hello))
        .layer(TraceLayer::new(tracer.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });

    let root = tracer.start("client request");
    let trace_id = root.context().trace_id();
    let http = reqwest::Client::new();
    let body = async {
        send(&tracer, http.get(format!("http://{addr}/hello")))
            .await?
            .text()
            .await
    }
    .in_span(root)
    .await?;
    tokio::task::spawn_blocking(move || guard.close()).await??;
    let m = tracer.metrics();
    println!(
        "got {body:?}; trace {trace_id}: {} spans reported, {} lost",
        m.spans_reported,
        m.spans_lost()
    );
    Ok(())
}
