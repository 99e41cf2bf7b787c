//! UDP to the Jaeger agent: one `emitBatch` call per datagram.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

use super::Transport;
use crate::encode::{Envelope, WireProtocol};

/// How often the agent's host name is resolved again, so a moved agent (a
/// restarted container, a changed DNS record) is followed.
pub(crate) const RESOLVE_INTERVAL: Duration = Duration::from_secs(30);

/// Sends datagrams to the agent over a connected UDP socket.
///
/// The socket is connected so that the kernel reports an unreachable agent
/// (ICMP port unreachable) as an error on a later send, which is counted;
/// an unconnected socket would lose those datagrams without a trace.
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
        }
    }

    /// How often the host name is resolved again; `None` never.
    pub(crate) fn with_resolve_interval(mut self, interval: Option<Duration>) -> Self {
        self.resolve_interval = interval;
        self
    }

    fn resolve(&mut self) -> io::Result<()> {
        let now = Instant::now();
        let due = match (self.resolved_at, self.resolve_interval) {
            (None, _) => true,
            (Some(t), Some(interval)) => now.duration_since(t) >= interval,
            (Some(_), None) => false,
        };
        if self.socket.is_some() && !due {
            return Ok(());
        }
        self.resolved_at = Some(now);
        // Prefer IPv4 when a name has both (`localhost` often lists ::1
        // first, while agents commonly listen on IPv4 only).
        // An IPv6 literal may come in brackets, as in URLs.
        let host = match self.host.strip_prefix('[') {
            Some(inner) => inner.strip_suffix(']').unwrap_or(&self.host),
            None => &self.host,
        };
        let resolved = (host, self.port).to_socket_addrs().and_then(|addrs| {
            let all: Vec<SocketAddr> = addrs.collect();
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
        });
        let addr = match resolved {
            Ok(addr) => addr,
            // Keep sending to the last good address while the name does not
            // resolve; fail only when there never was one.
            Err(e) if self.socket.is_some() => {
                log::debug!("jaeger: cannot resolve {}:{}: {e}", self.host, self.port);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
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

    #[test]
    fn keeps_the_last_address_when_the_name_stops_resolving() {
        let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = sink.local_addr().unwrap().port();
        let mut t = UdpTransport::new("localhost".into(), port, WireProtocol::Compact, 65000);
        t.send(b"one").unwrap();
        // The name disappears and re-resolution is due at every send.
        t.host = "no-such-agent.invalid".into();
        t.resolve_interval = Some(Duration::ZERO);
        t.send(b"two").unwrap();
        let mut buf = [0u8; 16];
        let mut got = Vec::new();
        for _ in 0..2 {
            let n = sink.recv(&mut buf).unwrap();
            got.push(buf[..n].to_vec());
        }
        assert_eq!(got, [b"one".to_vec(), b"two".to_vec()]);
    }

    #[test]
    fn a_moved_agent_is_followed_unless_resolving_again_is_off() {
        let old = UdpSocket::bind("127.0.0.1:0").unwrap();
        let new = UdpSocket::bind("127.0.0.1:0").unwrap();
        for s in [&old, &new] {
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        }
        let recv = |s: &UdpSocket| {
            let mut buf = [0u8; 16];
            let n = s.recv(&mut buf).unwrap();
            buf[..n].to_vec()
        };
        for (interval, follows) in [(Some(Duration::ZERO), true), (None, false)] {
            let mut t = UdpTransport::new(
                "127.0.0.1".into(),
                old.local_addr().unwrap().port(),
                WireProtocol::Compact,
                65000,
            )
            .with_resolve_interval(interval);
            t.send(b"before").unwrap();
            assert_eq!(recv(&old), b"before");
            // The agent's address changes (here its port stands for it).
            t.port = new.local_addr().unwrap().port();
            t.send(b"after").unwrap();
            let at = if follows { &new } else { &old };
            assert_eq!(recv(at), b"after", "{interval:?}");
        }
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
