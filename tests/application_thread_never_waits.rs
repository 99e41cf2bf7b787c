//! The application thread never waits for the reporter: while it finishes
//! sampled spans in bursts, with the reporter thread encoding, sending and
//! recycling span records on its own core, the application thread never
//! goes to sleep (no voluntary context switch, but for at most 2 that the
//! machine may cause, in 20 bursts of 50,000 spans), both while its spans
//! are reported and while the full queue drops them.
//!
//! Linux only: the count comes from `/proc/thread-self/status`.
#![cfg(target_os = "linux")]

use std::io::Read;
use std::net::UdpSocket;
use std::time::Duration;

use jaeger_tracer::Tracer;

/// This thread's voluntary context switches so far: each time it slept,
/// waiting for something (a lock, a futex, I/O). Read into a buffer on the
/// stack: freeing a heap buffer could itself wait for the allocator's lock.
fn voluntary_switches() -> u64 {
    let mut buf = [0u8; 4096];
    let mut file = std::fs::File::open("/proc/thread-self/status").unwrap();
    let mut len = 0;
    loop {
        match file.read(&mut buf[len..]).unwrap() {
            0 => break,
            n => len += n,
        }
    }
    std::str::from_utf8(&buf[..len])
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("voluntary_ctxt_switches in /proc/thread-self/status")
}

fn burst(tracer: &Tracer, spans: usize) {
    for _ in 0..spans / 101 {
        let root = tracer.start("request");
        for i in 0..100 {
            let mut child = tracer.span("step").child_of(root.context()).start();
            child.set_tag("component", "test").set_tag("i", i);
        }
    }
}

#[test]
fn bursts_of_spans_never_put_the_application_thread_to_sleep() {
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sink.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 70_000];
        while sink.recv(&mut buf).is_ok() {}
    });
    let (tracer, guard) = Tracer::builder("never-waits")
        .with_agent_host("127.0.0.1")
        .with_agent_port(port)
        // Small enough that a burst fills it between two polls of the
        // reporter thread (in a debug build too, where it keeps up with the
        // application thread while it does not sleep).
        .with_queue_size(500)
        .init()
        .unwrap();

    // The first spans register this thread's slot (a lock shared with the
    // reporter, taken once) and fill the record pool; the first run of any
    // code (this test's too) may wait for its pages to be read in.
    for _ in 0..2 {
        burst(&tracer, 50_000);
        voluntary_switches();
        std::thread::sleep(Duration::from_millis(20));
    }

    let mut slept = [0u64; 20];
    for n in slept.iter_mut() {
        let before = voluntary_switches();
        burst(&tracer, 50_000);
        *n = voluntary_switches() - before;
        // The reporter catches up; the next burst starts with an empty queue.
        std::thread::sleep(Duration::from_millis(20));
    }
    let m = tracer.metrics();
    assert!(
        m.spans_reported > 0 && m.spans_dropped_queue_full > 0,
        "both regimes were exercised: {} reported, {} dropped at the full queue",
        m.spans_reported,
        m.spans_dropped_queue_full
    );
    // A reporter that makes the application thread wait (for the
    // allocator's lock, as this one once did) puts it to sleep dozens of
    // times in 20 bursts; the 2 allowed are for the machine itself (another
    // process's paging, say), seen under heavy load only.
    assert!(
        slept.iter().sum::<u64>() <= 2,
        "the application thread slept during bursts (voluntary switches per burst: {slept:?})"
    );
    drop(guard);
}
