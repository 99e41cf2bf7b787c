//! Transports: how encoded batches leave the process.
//!
//! A transport is owned by the reporter thread and only ever called from it,
//! so it may block (within its own timeouts); application threads never
//! reach it.

pub(crate) mod http;
pub(crate) mod udp;

use std::io;

use crate::encode::{Envelope, WireProtocol};

/// Whether `e` is the network refusing a datagram as too large for it
/// (`EMSGSIZE`; macOS, for one, refuses UDP datagrams above 9,216 bytes by
/// default).
pub(crate) fn is_message_too_long(e: &io::Error) -> bool {
    #[cfg(unix)]
    const EMSGSIZE: i32 = libc::EMSGSIZE;
    #[cfg(windows)]
    const EMSGSIZE: i32 = 10040; // WSAEMSGSIZE
    #[cfg(not(any(unix, windows)))]
    const EMSGSIZE: i32 = i32::MIN;
    e.raw_os_error() == Some(EMSGSIZE)
}

/// Sends encoded batches.
pub(crate) trait Transport: Send + 'static {
    /// The Thrift protocol the payload must use.
    fn protocol(&self) -> WireProtocol;
    /// What wraps the batch.
    fn envelope(&self) -> Envelope;
    /// The largest payload this transport may send, in bytes.
    fn max_payload(&self) -> usize;
    /// Sends one payload (one batch).
    fn send(&mut self, payload: &[u8]) -> io::Result<()>;
    /// A short description for logs (never contains credentials).
    fn describe(&self) -> String;
}
