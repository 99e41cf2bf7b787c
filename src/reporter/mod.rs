//! The reporter: a bounded queue from the application threads to one
//! background thread that batches spans and hands them to the transport.
//!
//! Finishing a span only moves it into the queue (see `queue`: a slot of
//! the thread's own, then a bounded channel, a batch at a time); when the
//! queue is full the span is dropped and counted. The application thread
//! never blocks and never does I/O.

pub(crate) mod pool;
mod queue;
mod segment;
mod spin;
mod worker;

pub(crate) use queue::SlotCache;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, unbounded, Sender, TrySendError};

use crate::error::Error;
use crate::metrics::{Metrics, MetricsSnapshot};
use crate::span::SpanData;
use crate::tag::Tag;
use crate::transport::Transport;
use queue::Queue;

/// Requests the reporter thread's control channel holds.
const CONTROL: usize = 64;

/// Settings of the reporter thread.
#[derive(Debug, Clone)]
pub(crate) struct ReporterConfig {
    pub(crate) service_name: String,
    pub(crate) process_tags: Vec<Tag>,
    pub(crate) queue_size: usize,
    pub(crate) flush_interval: Duration,
    pub(crate) max_tag_value_len: usize,
    pub(crate) log_spans: bool,
}

/// A request from the handle to the reporter thread; the sender is signalled
/// when the work is done.
pub(crate) enum Control {
    /// The queue is filling up: drain it now.
    Wake,
    Flush(Sender<()>),
    Close(Sender<()>),
}

/// The application side of the reporter.
#[derive(Debug)]
pub(crate) struct Reporter {
    queue: Arc<Queue>,
    control: Sender<Control>,
    metrics: Arc<Metrics>,
    /// Set while a `Control::Wake` is on its way.
    wake: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Set for the in-memory reporter: spans are kept here, not sent.
    memory: Option<Arc<Mutex<Vec<SpanData>>>>,
}

impl Reporter {
    /// A reporter that keeps finished spans in `store` (no thread, no I/O).
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) fn in_memory(store: Arc<Mutex<Vec<SpanData>>>) -> Self {
        let (control, _) = unbounded();
        Reporter {
            queue: Arc::new(Queue::new(1)),
            control,
            metrics: Arc::new(Metrics::default()),
            wake: Arc::new(AtomicBool::new(false)),
            thread: Mutex::new(None),
            memory: Some(store),
        }
    }

    /// Starts the reporter thread.
    pub(crate) fn start(
        config: ReporterConfig,
        transport: Box<dyn Transport>,
    ) -> Result<Self, Error> {
        worker::check_room(&config, &*transport)?;
        let queue = Arc::new(Queue::new(config.queue_size));
        // Bounded, so that sending allocates nothing: a block of an
        // unbounded channel allocated by an application thread and freed by
        // the reporter thread would make the allocator lock that thread's
        // memory. One wake is in flight at a time; flushes and closes wait.
        let (control_tx, control_rx) = bounded(CONTROL);
        let metrics = Arc::new(Metrics::default());
        let worker_metrics = metrics.clone();
        let wake = Arc::new(AtomicBool::new(false));
        let worker_wake = wake.clone();
        let worker_queue = queue.clone();
        let thread = std::thread::Builder::new()
            .name("jaeger-reporter".into())
            .spawn(move || {
                worker::run(
                    config,
                    transport,
                    worker_queue,
                    control_rx,
                    worker_metrics,
                    worker_wake,
                )
            })
            .map_err(|e| Error::io("cannot spawn the jaeger-reporter thread", e))?;
        Ok(Reporter {
            queue,
            control: control_tx,
            metrics,
            wake,
            thread: Mutex::new(Some(thread)),
            memory: None,
        })
    }

    /// Queues a finished span without blocking; drops and counts it when the
    /// queue is full or the reporter closed. `slot` is where the thread
    /// keeps its slot in the queue.
    #[inline]
    pub(crate) fn report(&self, slot: &SlotCache, span: Box<SpanData>) {
        if let Some(store) = &self.memory {
            if self.queue.is_closed() {
                self.metrics.dropped_after_close(1);
                return;
            }
            store.lock().unwrap_or_else(|e| e.into_inner()).push(*span);
            Metrics::add(&self.metrics.received, 1);
            Metrics::add(&self.metrics.reported, 1);
            return;
        }
        // The reporter thread polls; it is woken only when the queue fills.
        // A wake that finds the control channel full is not on its way
        // after all (the thread polls anyway): the flag is cleared.
        if self.queue.push_via(slot, span, &self.metrics)
            && !self.wake.swap(true, Ordering::Relaxed)
            && self.control.try_send(Control::Wake).is_err()
        {
            self.wake.store(false, Ordering::Relaxed);
        }
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub(crate) fn snapshot(&self) -> MetricsSnapshot {
        self.metrics.snapshot(self.queue.len() as u64)
    }

    fn request(
        &self,
        make: impl FnOnce(Sender<()>) -> Control,
        timeout: Duration,
    ) -> Result<(), Error> {
        let (ack_tx, ack_rx) = bounded(1);
        self.control
            .send_timeout(make(ack_tx), timeout)
            .map_err(|e| match e {
                crossbeam_channel::SendTimeoutError::Timeout(_) => Error::timeout(format!(
                    "the reporter did not take the request within {timeout:?}"
                )),
                crossbeam_channel::SendTimeoutError::Disconnected(_) => Error::closed(),
            })?;
        match ack_rx.recv_timeout(timeout) {
            Ok(()) => Ok(()),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => Err(Error::timeout(format!(
                "the reporter did not finish within {timeout:?}"
            ))),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => Err(Error::closed()),
        }
    }

    /// Sends everything queued or buffered now and waits for it, at most
    /// `timeout`.
    pub(crate) fn flush(&self, timeout: Duration) -> Result<(), Error> {
        if self.queue.is_closed() {
            return Err(Error::closed());
        }
        if self.memory.is_some() {
            return Ok(());
        }
        self.request(Control::Flush, timeout)
    }

    /// Refuses new spans, sends everything already accepted and stops the
    /// thread, waiting at most `timeout`. Closing again returns at once.
    pub(crate) fn close(&self, timeout: Duration) -> Result<(), Error> {
        if !self.queue.close() || self.memory.is_some() {
            return Ok(());
        }
        let result = self.request(Control::Close, timeout);
        let handle = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        match (&result, handle) {
            (Ok(()), Some(h)) => {
                if h.join().is_err() {
                    log::error!("jaeger: the reporter thread panicked while closing");
                }
                // Spans that raced the close into the channel after the
                // thread's last drain.
                let late = self.queue.drain(|_| {}) as u64;
                Metrics::add(&self.metrics.dropped_closed, late);
            }
            (Err(e), _) => {
                let left = self.snapshot().spans_queued;
                log::warn!("jaeger: closing the reporter: {e}; {left} spans were not sent");
            }
            (Ok(()), None) => {}
        }
        result
    }
}

impl Reporter {
    /// Asks the thread to send what it has and stop, without waiting (the
    /// last tracer handle is gone without a close).
    pub(crate) fn close_nowait(&self) {
        if self.queue.close() {
            let (ack, _) = bounded(1);
            // Full only with 64 requests pending: then wait for room.
            if let Err(TrySendError::Full(close)) = self.control.try_send(Control::Close(ack)) {
                let _ = self.control.send(close);
            }
        }
    }

    /// True once closing has begun.
    pub(crate) fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.close_nowait();
    }
}
