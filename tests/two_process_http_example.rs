//! The two-process example (reqwest client, axum server in a child process)
//! succeeds with each propagation format: the server's span is the child of
//! the client's span in one trace, and baggage crosses over. The example
//! checks this itself and exits non-zero otherwise.

use std::process::Command;

fn run(propagation: &str) {
    let out = Command::new(env!("CARGO"))
        .args(["run", "-q", "--example", "http_propagation"])
        .env("JAEGER_AGENT_HOST", "127.0.0.1")
        .env("JAEGER_PROPAGATION", propagation)
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{propagation}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("ok: the server span"), "{stdout}");
}

#[test]
fn client_and_server_processes_share_the_trace() {
    for p in ["jaeger", "b3", "b3single", "w3c", "w3c,jaeger"] {
        run(p);
    }
}
