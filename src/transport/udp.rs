//! UDP to the Jaeger agent: one `emitBatch` call per datagram.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, TryRecvError};

use super::Transport;
use crate::encode::{Envelope, WireProtocol};

/// How often the agent's host name is resolved again, so a moved agent (a
/// restarted container, a changed DNS record) is followed.
pub(crate) const RESOLVE_INTERVAL: Duration = Duration::from_secs(30);

/// How long after a failed first lookup the host name is looked up again:
/// the datagrams meanwhile fail at once (counted), rather than each asking
/// the DNS server again (the reporter sends a datagram per finished local
/// trace: hundreds of queries a second from a busy service, and each one
/// waited for).
pub(crate) const LOOKUP_RETRY: Duration = Duration::from_secs(1);

/// Sends datagrams to the agent over a connected UDP socket.
///
/// The socket is connected so that the kernel reports an unreachable agent
/// (ICMP port unreachable) as an error on a later send, which is counted;
/// an unconnected socket would lose those datagrams without a trace.
///
/// The host name is looked up before the first datagram, on the reporter
/// thread (after a failure, again [`LOOKUP_RETRY`] later); the lookups
/// that follow it (every [`RESOLVE_INTERVAL`]) run on a short-lived thread
/// of their own while datagrams go on to the address known, so a slow or
/// failing DNS server (a lookup can wait 5 s per attempt) never holds the
/// reporter up.
#[derive(Debug)]
pub(crate) struct UdpTransport {
    host: String,
    port: u16,
    protocol: WireProtocol,
    max_packet: usize,
    socket: Option<(UdpSocket, SocketAddr)>,
    resolved_at: Option<Instant>,
    /// `None`: the address found first is kept.
    resolve_interval: Option<Duration>,
    /// The answer of the lookup running in the background, if one is.
    lookup: Option<Receiver<io::Result<SocketAddr>>>,
    resolver: Resolver,
    /// When the first lookup last failed, and how.
    failed_lookup: Option<(Instant, io::ErrorKind, String)>,
    /// [`LOOKUP_RETRY`], or a test's own.
    lookup_retry: Duration,
}

/// How a host name is looked up: [`lookup`], or a test's own.
#[derive(Clone)]
struct Resolver(Arc<LookupFn>);

/// A lookup: host name and port to the address to send to.
type LookupFn = dyn Fn(&str, u16) -> io::Result<SocketAddr> + Send + Sync;

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Resolver")
    }
}

/// The address of `host` (an IPv6 literal may come in brackets, as in
/// URLs), preferring IPv4 when a name has both (`localhost` often lists
/// ::1 first, while agents commonly listen on IPv4 only).
fn lookup(host: &str, port: u16) -> io::Result<SocketAddr> {
    let host = match host.strip_prefix('[') {
        Some(inner) => inner.strip_suffix(']').unwrap_or(host),
        None => host,
    };
    let all: Vec<SocketAddr> = (host, port).to_socket_addrs()?.collect();
    all.iter()
        .find(|a| a.is_ipv4())
        .or(all.first())
        .copied()
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "the host name resolved to no address",
            )
        })
}

impl UdpTransport {
    pub(crate) fn new(host: String, port: u16, protocol: WireProtocol, max_packet: usize) -> Self {
        UdpTransport {
            host,
            port,
            protocol,
            max_packet,
            socket: None,
            resolved_at: None,
            resolve_interval: Some(RESOLVE_INTERVAL),
            lookup: None,
            resolver: Resolver(Arc::new(lookup)),
            failed_lookup: None,
            lookup_retry: LOOKUP_RETRY,
        }
    }

    /// How often the host name is resolved again; `None` never.
    pub(crate) fn with_resolve_interval(mut self, interval: Option<Duration>) -> Self {
        self.resolve_interval = interval;
        self
    }

    fn resolve(&mut self) -> io::Result<()> {
        if self.socket.is_none() {
            // Nothing to send to yet: looked up here. A failure fails this
            // datagram, and those that follow within `lookup_retry`.
            if let Some((at, kind, why)) = &self.failed_lookup {
                if at.elapsed() < self.lookup_retry {
                    return Err(io::Error::new(
                        *kind,
                        format!("{why} (looked up again {:?} after)", self.lookup_retry),
                    ));
                }
            }
            self.resolved_at = Some(Instant::now());
            return match (self.resolver.0)(&self.host, self.port) {
                Ok(addr) => {
                    self.failed_lookup = None;
                    self.connect(addr)
                }
                Err(e) => {
                    self.failed_lookup = Some((Instant::now(), e.kind(), e.to_string()));
                    Err(e)
                }
            };
        }
        self.take_lookup();
        let due = match (self.resolved_at, self.resolve_interval) {
            (Some(t), Some(interval)) => t.elapsed() >= interval,
            _ => false,
        };
        if due && self.lookup.is_none() {
            self.resolved_at = Some(Instant::now());
            self.start_lookup();
        }
        Ok(())
    }

    /// Looks the host name up again on a thread of its own.
    fn start_lookup(&mut self) {
        let (tx, rx) = bounded(1);
        let (host, port, resolver) = (self.host.clone(), self.port, self.resolver.clone());
        let spawned = std::thread::Builder::new()
            .name("jaeger-agent-lookup".into())
            .spawn(move || {
                let _ = tx.send((resolver.0)(&host, port));
            });
        match spawned {
            Ok(_) => self.lookup = Some(rx),
            Err(e) => log::debug!("jaeger: cannot start a lookup of the agent's address: {e}"),
        }
    }

    /// Follows the answer of the background lookup, once there is one. A
    /// name that stopped resolving leaves the last good address in use.
    fn take_lookup(&mut self) {
        let Some(rx) = &self.lookup else {
            return;
        };
        let answer = match rx.try_recv() {
            Ok(answer) => answer,
            Err(TryRecvError::Empty) => return,
            Err(TryRecvError::Disconnected) => Err(io::Error::other("the lookup thread ended")),
        };
        self.lookup = None;
        let moved = match answer {
            Ok(addr) => self.connect(addr),
            Err(e) => Err(e),
        };
        if let Err(e) = moved {
            log::debug!(
                "jaeger: {}:{} not resolved again, the last address kept: {e}",
                self.host,
                self.port
            );
        }
    }

    /// Sends to `addr` from now on (nothing to do when it is the address
    /// in use).
    fn connect(&mut self, addr: SocketAddr) -> io::Result<()> {
        if matches!(&self.socket, Some((_, current)) if *current == addr) {
            return Ok(());
        }
        let bind: SocketAddr = if addr.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            ([0u16; 8], 0).into()
        };
        let socket = UdpSocket::bind(bind)?;
        socket.connect(addr)?;
        self.socket = Some((socket, addr));
        Ok(())
    }
}

impl Transport for UdpTransport {
    fn protocol(&self) -> WireProtocol {
        self.protocol
    }

    fn envelope(&self) -> Envelope {
        Envelope::AgentCall
    }

    fn max_payload(&self) -> usize {
        self.max_packet
    }

    fn send(&mut self, payload: &[u8]) -> io::Result<()> {
        self.resolve()?;
        let Some((socket, _)) = &self.socket else {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "no agent address",
            ));
        };
        let sent = socket.send(payload)?;
        if sent != payload.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("datagram truncated: {sent} of {} bytes sent", payload.len()),
            ));
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!("udp://{}:{}", self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unresolvable_host_is_an_error_not_a_panic() {
        let mut t = UdpTransport::new("host.invalid".into(), 6831, WireProtocol::Compact, 65000);
        assert!(t.send(b"x").is_err());
    }

    /// Sends `payload` until the background lookup has been answered
    /// (its answer taken by a send), for at most 2 s.
    fn send_until_looked_up(t: &mut UdpTransport, payload: &[u8]) {
        let start = Instant::now();
        t.send(payload).unwrap();
        // (No further lookup is started meanwhile.)
        let interval = t.resolve_interval.take();
        while t.lookup.is_some() {
            assert!(start.elapsed() < Duration::from_secs(2), "no answer");
            std::thread::sleep(Duration::from_millis(5));
            t.send(payload).unwrap();
        }
        t.resolve_interval = interval;
    }

    fn receiver() -> UdpSocket {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        s
    }

    /// The datagrams `s` has received by now.
    fn received(s: &UdpSocket) -> Vec<Vec<u8>> {
        s.set_nonblocking(true).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        while let Ok(n) = s.recv(&mut buf) {
            got.push(buf[..n].to_vec());
        }
        s.set_nonblocking(false).unwrap();
        got
    }

    #[test]
    fn keeps_the_last_address_when_the_name_stops_resolving() {
        let sink = receiver();
        let port = sink.local_addr().unwrap().port();
        let mut t = UdpTransport::new("localhost".into(), port, WireProtocol::Compact, 65000);
        t.send(b"one").unwrap();
        // The name disappears and re-resolution is due at every send.
        t.host = "no-such-agent.invalid".into();
        t.resolve_interval = Some(Duration::ZERO);
        send_until_looked_up(&mut t, b"two");
        t.send(b"three").unwrap();
        let got = received(&sink);
        assert_eq!(got.first().map(Vec::as_slice), Some(&b"one"[..]));
        assert_eq!(got.last().map(Vec::as_slice), Some(&b"three"[..]));
        assert!(got[1..got.len() - 1].iter().all(|d| d == b"two"), "{got:?}");
    }

    #[test]
    fn a_moved_agent_is_followed_unless_resolving_again_is_off() {
        for (interval, follows) in [(Some(Duration::ZERO), true), (None, false)] {
            let (old, new) = (receiver(), receiver());
            let mut t = UdpTransport::new(
                "127.0.0.1".into(),
                old.local_addr().unwrap().port(),
                WireProtocol::Compact,
                65000,
            )
            .with_resolve_interval(interval);
            t.send(b"before").unwrap();
            // The agent's address changes (here its port stands for it).
            t.port = new.local_addr().unwrap().port();
            if follows {
                send_until_looked_up(&mut t, b"moving");
            }
            t.send(b"after").unwrap();
            let at = if follows { &new } else { &old };
            let got = received(at);
            assert_eq!(
                got.last().map(Vec::as_slice),
                Some(&b"after"[..]),
                "{interval:?}"
            );
        }
    }

    /// A name that does not resolve yet (a DNS record not there at a
    /// container's start) is looked up again after `lookup_retry`, not for
    /// every datagram; each datagram meanwhile fails at once, saying why.
    #[test]
    fn a_failed_first_lookup_is_tried_again_later_not_per_datagram() {
        let sink = receiver();
        let addr = sink.local_addr().unwrap();
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = calls.clone();
        let mut t = UdpTransport::new("agent".into(), addr.port(), WireProtocol::Compact, 65000);
        t.lookup_retry = Duration::from_millis(300);
        t.resolver = Resolver(Arc::new(move |_: &str, _: u16| {
            match counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                0 => Err(io::Error::new(io::ErrorKind::NotFound, "no such name")),
                _ => Ok(addr),
            }
        }));
        let start = Instant::now();
        for _ in 0..50 {
            let err = t.send(b"early").unwrap_err();
            assert!(err.to_string().contains("no such name"), "{err}");
        }
        let lookups = calls.load(std::sync::atomic::Ordering::SeqCst);
        assert!(start.elapsed() < Duration::from_millis(300));
        assert_eq!(lookups, 1, "one lookup for 50 datagrams");
        std::thread::sleep(Duration::from_millis(350));
        t.send(b"later").unwrap();
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(received(&sink), [b"later".to_vec()]);
    }

    /// A lookup that takes seconds (a DNS server down: each attempt waits
    /// 5 s) does not hold up the sends meanwhile: they go on to the address
    /// known, and to the new one once the lookup answers.
    #[test]
    fn a_slow_lookup_again_does_not_hold_up_the_datagrams() {
        let (old, new) = (receiver(), receiver());
        let new_addr = new.local_addr().unwrap();
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = calls.clone();
        let mut t = UdpTransport::new(
            "agent".into(),
            old.local_addr().unwrap().port(),
            WireProtocol::Compact,
            65000,
        )
        .with_resolve_interval(Some(Duration::ZERO));
        let first = old.local_addr().unwrap();
        t.resolver = Resolver(Arc::new(move |_: &str, _: u16| {
            if counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                return Ok(first);
            }
            std::thread::sleep(Duration::from_millis(1500));
            Ok(new_addr)
        }));
        t.send(b"first").unwrap();
        let start = Instant::now();
        for _ in 0..20 {
            t.send(b"during").unwrap();
        }
        assert!(
            start.elapsed() < Duration::from_millis(500),
            "20 sends took {:?} while a lookup ran",
            start.elapsed()
        );
        while calls.load(std::sync::atomic::Ordering::SeqCst) < 2 {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(
            calls.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "one lookup at a time"
        );
        assert_eq!(received(&old).len(), 21);
        send_until_looked_up(&mut t, b"during");
        t.send(b"after").unwrap();
        assert_eq!(
            received(&new).last().map(Vec::as_slice),
            Some(&b"after"[..])
        );
    }

    #[test]
    fn an_ipv6_agent_is_reached_with_or_without_brackets() {
        let Ok(sink) = UdpSocket::bind("[::1]:0") else {
            eprintln!("no IPv6 loopback here; nothing to check");
            return;
        };
        sink.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let port = sink.local_addr().unwrap().port();
        for host in ["::1", "[::1]"] {
            let mut t = UdpTransport::new(host.into(), port, WireProtocol::Compact, 65000);
            t.send(host.as_bytes()).unwrap();
            let mut buf = [0u8; 8];
            let n = sink.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], host.as_bytes());
        }
    }

    #[test]
    fn localhost_prefers_ipv4() {
        let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = sink.local_addr().unwrap().port();
        let mut t = UdpTransport::new("localhost".into(), port, WireProtocol::Compact, 65000);
        t.send(b"v4").unwrap();
        assert!(t.socket.as_ref().unwrap().1.is_ipv4());
        let mut buf = [0u8; 8];
        sink.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let n = sink.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"v4");
    }

    #[test]
    fn sends_to_a_bound_socket() {
        let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = sink.local_addr().unwrap().port();
        let mut t = UdpTransport::new("127.0.0.1".into(), port, WireProtocol::Compact, 65000);
        t.send(b"hello").unwrap();
        let mut buf = [0u8; 16];
        let n = sink.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"hello");
    }
}
