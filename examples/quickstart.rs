//! Quickstart: one request with nested spans, tags, a log, baggage and a
//! failed step.
//!
//! ```sh
//! cargo run --example quickstart                      # agent on localhost:6831
//! JAEGER_AGENT_HOST=jaeger cargo run --example quickstart
//! ```
//!
//! Every `JAEGER_*` variable is honoured (service name, agent address,
//! sampler, tags, …). The program prints the trace it sent and the reporter's
//! counters; open the Jaeger UI (http://localhost:16686) to see the trace.

use std::time::Duration;

use jaeger_tracer::{ext, Error, Tracer};

fn main() -> Result<(), Error> {
    // The builder's service name is the default; JAEGER_SERVICE_NAME wins.
    let (tracer, guard) = Tracer::builder("quickstart").with_env()?.init()?;

    let trace_id;
    {
        let mut request = tracer
            .span("GET /orders/{id}")
            .with_tag(ext::SPAN_KIND, ext::SPAN_KIND_SERVER)
            .with_tag(ext::HTTP_METHOD, "GET")
            .start()
            .activate();
        request.set_baggage_item("customer", "acme corp");
        trace_id = request.context().trace_id();

        {
            // No explicit parent: a child of the active `request` span.
            let mut auth = tracer.start("authenticate");
            auth.set_tag("user.id", 42);
            std::thread::sleep(Duration::from_millis(3));
        }
        {
            let mut query = tracer.start("SELECT orders").activate();
            query.set_tag(ext::DB_TYPE, "sql").set_tag("db.rows", 3);
            query.log(|f| {
                f.event("cache.miss").field("key", "orders:42");
            });
            // Baggage set upstream is visible here.
            let customer = query.baggage_item("customer").unwrap_or("?").to_owned();
            query.set_tag("customer", customer);
            std::thread::sleep(Duration::from_millis(5));
        }
        {
            // A failed step: `error=true` and the error's log, by the
            // OpenTracing conventions.
            let mut render = tracer.start("render invoice");
            if let Err(e) = std::fs::read("/nonexistent/invoice-template.html") {
                render.set_error(&e);
            }
        }
        request.set_tag(ext::HTTP_STATUS_CODE, 200);
    }

    guard.close()?;
    let m = tracer.metrics();
    println!(
        "service {:?}: trace {trace_id} sent — {} spans reported in {} batch(es), {} bytes; {} lost",
        tracer.service_name(),
        m.spans_reported,
        m.batches_sent,
        m.bytes_sent,
        m.spans_lost()
    );
    Ok(())
}
