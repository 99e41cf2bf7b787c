//! Graceful shutdown on SIGTERM: the handler drops the tracer guard, which
//! sends everything already finished before the process exits.
//!
//! ```sh
//! cargo run --example sigterm_flush &   # finishes spans until told to stop
//! kill -TERM %1
//! ```
//!
//! Prints `ready`, then on SIGTERM stops producing, closes the tracer and
//! prints `finished=N reported=N lost=0` (the test
//! `tests/sigterm_delivers_everything.rs` checks the agent got all N).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use jaeger_tracer::Tracer;
use tokio::signal::unix::{signal, SignalKind};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (tracer, guard) = Tracer::builder("sigterm-example").with_env()?.init()?;
    let mut term = signal(SignalKind::terminate())?;
    let stop = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicU64::new(0));
    let producer = {
        let (tracer, stop, finished) = (tracer.clone(), stop.clone(), finished.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let mut s = tracer.start("work");
                s.set_tag("n", finished.load(Ordering::SeqCst) as i64);
                s.finish();
                finished.fetch_add(1, Ordering::SeqCst);
                if finished.load(Ordering::SeqCst) % 100 == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }
        })
    };
    println!("ready");
    term.recv().await;
    stop.store(true, Ordering::SeqCst);
    producer.join().map_err(|_| "producer panicked")?;
    // The handler's one job: close the tracer, within its deadline.
    tokio::task::spawn_blocking(move || guard.close()).await??;
    let m = tracer.metrics();
    println!(
        "finished={} reported={} lost={}",
        finished.load(Ordering::SeqCst),
        m.spans_reported,
        m.spans_lost()
    );
    Ok(())
}
