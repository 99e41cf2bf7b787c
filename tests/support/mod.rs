//! Shared by the integration tests: an in-process UDP sink that decodes
//! what it receives with the Thrift-generated code.
//!
//! Each test file declares `#[path = "../src/thrift/mod.rs"] mod thrift;` at
//! its root so the generated code resolves `crate::thrift::jaeger`.

use std::net::UdpSocket;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::thrift::{decode_agent_datagram, jaeger};

/// A UDP socket on 127.0.0.1 that stores every datagram it receives.
#[allow(dead_code)] // not every test file uses every helper
pub struct UdpSink {
    port: u16,
    datagrams: Arc<Mutex<Vec<Vec<u8>>>>,
}

#[allow(dead_code)] // not every test file uses every helper
impl UdpSink {
    /// Binds an ephemeral port and starts receiving.
    pub fn start() -> UdpSink {
        Self::bind(UdpSocket::bind("127.0.0.1:0").expect("bind sink"))
    }

    #[allow(dead_code)] // not every test file uses every helper
    /// Receives on an already bound socket.
    pub fn bind(socket: UdpSocket) -> UdpSink {
        // A large receive buffer so bursts are not lost in the kernel (the
        // reporter sends a close's backlog back to back).
        set_receive_buffer(&socket, 4 << 20);
        let port = socket.local_addr().unwrap().port();
        let datagrams = Arc::new(Mutex::new(Vec::new()));
        let store = datagrams.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 70_000];
            while let Ok(n) = socket.recv(&mut buf) {
                store.lock().unwrap().push(buf[..n].to_vec());
            }
        });
        UdpSink { port, datagrams }
    }

    /// The port to point the tracer at.
    pub fn port(&self) -> u16 {
        self.port
    }

    #[allow(dead_code)] // not every test file uses every helper
    /// The raw datagrams received so far.
    pub fn datagrams(&self) -> Vec<Vec<u8>> {
        self.datagrams.lock().unwrap().clone()
    }

    #[allow(dead_code)] // not every test file uses every helper
    /// Every datagram decoded as an agent `emitBatch` call.
    pub fn batches(&self, compact: bool) -> Vec<jaeger::Batch> {
        self.datagrams()
            .iter()
            .map(|d| decode_agent_datagram(d, compact).expect("datagram decodes"))
            .collect()
    }

    #[allow(dead_code)] // not every test file uses every helper
    /// Waits until at least `n` spans arrived (or `timeout` passed) and
    /// returns all decoded batches.
    pub fn wait_for_spans(&self, n: usize, compact: bool, timeout: Duration) -> Vec<jaeger::Batch> {
        let deadline = Instant::now() + timeout;
        loop {
            let batches = self.batches(compact);
            let count: usize = batches.iter().map(|b| b.spans.len()).sum();
            if count >= n || Instant::now() >= deadline {
                return batches;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

#[allow(dead_code)] // not every test file uses every helper
/// All spans of the batches, in arrival order.
pub fn spans(batches: &[jaeger::Batch]) -> Vec<jaeger::Span> {
    batches
        .iter()
        .flat_map(|b| b.spans.iter().cloned())
        .collect()
}

#[allow(dead_code)] // not every test file uses every helper
/// The tag with `key` on a span.
pub fn tag<'a>(span: &'a jaeger::Span, key: &str) -> Option<&'a jaeger::Tag> {
    span.tags.as_ref()?.iter().find(|t| t.key == key)
}
pub mod http;

/// This process's resident memory, in KiB (0 where /proc is missing).
#[allow(dead_code)] // not every test file uses every helper
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// Asks for a receive buffer of `bytes` (the kernel caps it at
/// `net.core.rmem_max`).
pub fn set_receive_buffer(socket: &UdpSocket, bytes: i32) {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid socket descriptor and a pointer to an int of the size
    // passed, both live for the call.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&bytes as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt(SO_RCVBUF)");
}
