//! Transports: how encoded batches leave the process.
//!
//! A transport is owned by the reporter thread and only ever called from it,
//! so it may block (within its own timeouts); application threads never
//! reach it.

pub(crate) mod http;
pub(crate) mod udp;

use std::io;

use crate::encode::{Envelope, WireProtocol};

/// A receiver's refusal of a payload as too large (HTTP 413), as the
/// source of an `io::Error`.
#[derive(Debug)]
pub(crate) struct TooLarge(pub(crate) String);

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TooLarge {}

/// Whether `e` is a refusal of the payload as too large for one send: the
/// network's (`EMSGSIZE`; macOS, for one, refuses UDP datagrams above
/// 9,216 bytes by default) or the receiver's ([`TooLarge`]: an HTTP 413
/// from a proxy with a body limit). The reporter then sends it again in
/// smaller batches.
pub(crate) fn is_refused_as_too_large(e: &io::Error) -> bool {
    #[cfg(unix)]
    const EMSGSIZE: i32 = libc::EMSGSIZE;
    #[cfg(windows)]
    const EMSGSIZE: i32 = 10040; // WSAEMSGSIZE
    #[cfg(not(any(unix, windows)))]
    const EMSGSIZE: i32 = i32::MIN;
    e.raw_os_error() == Some(EMSGSIZE) || e.get_ref().is_some_and(|inner| inner.is::<TooLarge>())
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
