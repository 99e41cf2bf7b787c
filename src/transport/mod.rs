//! Transports: how encoded batches leave the process.
//!
//! A transport is owned by the reporter thread and only ever called from it,
//! so it may block (within its own timeouts); application threads never
//! reach it.

pub(crate) mod http;
pub(crate) mod udp;

use std::io;

use crate::encode::{Envelope, WireProtocol};

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
