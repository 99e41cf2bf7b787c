//! Sampling tuned by environment variables.
//!
//! ```sh
//! # Everything (the default):
//! cargo run --example sampling
//! # 10 % of traces, decided by trace id (services agree on each trace):
//! JAEGER_SAMPLER_TYPE=probabilistic JAEGER_SAMPLER_PARAM=0.1 cargo run --example sampling
//! # At most 5 traces per second:
//! JAEGER_SAMPLER_TYPE=ratelimiting JAEGER_SAMPLER_PARAM=5 cargo run --example sampling
//! # Strategies from the agent (port 5778), refreshed every 10 s, 0.1 % until then:
//! JAEGER_SAMPLER_TYPE=remote JAEGER_SAMPLER_REFRESH_INTERVAL=10s cargo run --example sampling
//! ```
//!
//! It starts 1000 traces and prints how many were sampled. One of them is
//! forced with `sampling.priority`, whatever the sampler says.

use jaeger_tracer::{Error, Tracer};

fn main() -> Result<(), Error> {
    let (tracer, guard) = Tracer::builder("sampling-example").with_env()?.init()?;
    let mut sampled = 0;
    for i in 0..1000 {
        let mut span = tracer.start("work");
        if i == 0 {
            // Always recorded, flagged debug: e.g. a request a developer is
            // chasing. Setting 0 instead would drop it.
            span.set_tag("sampling.priority", 1);
        }
        if span.context().is_sampled() {
            sampled += 1;
        }
    }
    guard.close()?;
    let m = tracer.metrics();
    println!(
        "{sampled} of 1000 traces sampled; {} spans reported, {} lost",
        m.spans_reported,
        m.spans_lost()
    );
    Ok(())
}
