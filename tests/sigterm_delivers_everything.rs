//! A process receiving SIGTERM whose handler drops the guard delivers every
//! span it finished to a live agent before exiting.

mod support;
#[path = "../src/thrift/mod.rs"]
#[allow(dead_code, clippy::all)]
mod thrift;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::UdpSink;

#[test]
fn sigterm_handler_flushes_all_spans() {
    let built = Command::new(env!("CARGO"))
        .args(["build", "-q", "--example", "sigterm_flush"])
        .status()
        .unwrap();
    assert!(built.success());
    let target = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| format!("{}/target", env!("CARGO_MANIFEST_DIR")));
    let sink = UdpSink::start();
    let mut child = Command::new(format!("{target}/debug/examples/sigterm_flush"))
        .env("JAEGER_AGENT_HOST", "127.0.0.1")
        .env("JAEGER_AGENT_PORT", sink.port().to_string())
        .env("JAEGER_REPORTER_FLUSH_INTERVAL", "1m")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    std::thread::sleep(Duration::from_millis(300));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let summary = lines.next().unwrap().unwrap();
    assert!(child.wait().unwrap().success());
    let finished: usize = summary
        .split(' ')
        .next()
        .unwrap()
        .trim_start_matches("finished=")
        .parse()
        .unwrap();
    assert!(finished > 0, "{summary}");
    assert!(summary.ends_with("lost=0"), "{summary}");
    // With a one-minute flush interval, everything arrives because of the
    // shutdown flush alone.
    let batches = sink.wait_for_spans(finished, true, Duration::from_secs(10));
    let received: usize = batches.iter().map(|b| b.spans.len()).sum();
    assert_eq!(received, finished, "{summary}");
}
