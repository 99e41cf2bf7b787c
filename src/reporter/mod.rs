//! The reporter: a bounded queue from the application threads to one
//! background thread that batches spans and hands them to the transport.
//!
//! Finishing a span only moves it into the queue with `try_send`; when the
//! queue is full the span is dropped and counted. The application thread
//! never blocks and never does I/O.

pub(crate) mod pool;
mod segment;
mod worker;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, unbounded, Receiver, Sender, TrySendError};

use crate::error::Error;
use crate::metrics::{Metrics, MetricsSnapshot};
use crate::span::SpanData;
use crate::tag::Tag;
use crate::transport::Transport;

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
    spans: Sender<Box<SpanData>>,
    /// Kept to account for spans that race a close: one whose `report`
    /// passed the closed check just before `close` can land in the queue
    /// after the thread drained it; `close` drains again and counts those.
    leftovers: Receiver<Box<SpanData>>,
    control: Sender<Control>,
    metrics: Arc<Metrics>,
    /// Set while a `Control::Wake` is on its way.
    wake: Arc<AtomicBool>,
    /// Queue length above which a sender wakes the reporter thread.
    high_water: usize,
    closed: AtomicBool,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Set for the in-memory reporter: spans are kept here, not sent.
    memory: Option<Arc<Mutex<Vec<SpanData>>>>,
}

impl Reporter {
    /// A reporter that keeps finished spans in `store` (no thread, no I/O).
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) fn in_memory(store: Arc<Mutex<Vec<SpanData>>>) -> Self {
        let (spans, leftovers) = bounded(1);
        let (control, _) = unbounded();
        Reporter {
            spans,
            leftovers,
            control,
            metrics: Arc::new(Metrics::default()),
            wake: Arc::new(AtomicBool::new(false)),
            high_water: usize::MAX,
            closed: AtomicBool::new(false),
            thread: Mutex::new(None),
            memory: Some(store),
        }
    }

    /// Starts the reporter thread.
    pub(crate) fn start(
        config: ReporterConfig,
        transport: Box<dyn Transport>,
    ) -> Result<Self, Error> {
        let capacity = config.queue_size.max(1);
        let (spans_tx, spans_rx) = bounded(capacity);
        let (control_tx, control_rx) = unbounded();
        let metrics = Arc::new(Metrics::default());
        let worker_metrics = metrics.clone();
        let wake = Arc::new(AtomicBool::new(false));
        let worker_wake = wake.clone();
        let leftovers = spans_rx.clone();
        let thread = std::thread::Builder::new()
            .name("jaeger-reporter".into())
            .spawn(move || {
                worker::run(
                    config,
                    transport,
                    spans_rx,
                    control_rx,
                    worker_metrics,
                    worker_wake,
                )
            })
            .map_err(|e| Error::io("cannot spawn the jaeger-reporter thread", e))?;
        Ok(Reporter {
            spans: spans_tx,
            leftovers,
            control: control_tx,
            metrics,
            wake,
            high_water: capacity / 2,
            closed: AtomicBool::new(false),
            thread: Mutex::new(Some(thread)),
            memory: None,
        })
    }

    /// Queues a finished span without blocking; drops and counts it when the
    /// queue is full or the reporter closed.
    #[inline]
    pub(crate) fn report(&self, span: Box<SpanData>) {
        if self.closed.load(Ordering::Relaxed) {
            Metrics::add(&self.metrics.dropped_closed, 1);
            return;
        }
        if let Some(store) = &self.memory {
            store.lock().unwrap_or_else(|e| e.into_inner()).push(*span);
            Metrics::add(&self.metrics.received, 1);
            Metrics::add(&self.metrics.reported, 1);
            return;
        }
        let check = span.span_id.get() & 0x3f == 0;
        match self.spans.try_send(span) {
            Ok(()) => {
                // About one send in 64 (the span id is random) looks at the
                // queue's length, and wakes the polling reporter thread
                // when it is half full.
                if check
                    && self.spans.len() >= self.high_water
                    && !self.wake.swap(true, Ordering::Relaxed)
                {
                    let _ = self.control.send(Control::Wake);
                }
            }
            Err(TrySendError::Full(span)) => {
                Metrics::add(&self.metrics.dropped_queue_full, 1);
                pool::keep(span);
            }
            Err(TrySendError::Disconnected(_)) => Metrics::add(&self.metrics.dropped_closed, 1),
        }
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub(crate) fn snapshot(&self) -> MetricsSnapshot {
        self.metrics.snapshot(self.spans.len() as u64)
    }

    fn request(
        &self,
        make: impl FnOnce(Sender<()>) -> Control,
        timeout: Duration,
    ) -> Result<(), Error> {
        let (ack_tx, ack_rx) = bounded(1);
        self.control
            .send(make(ack_tx))
            .map_err(|_| Error::closed())?;
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
        if self.closed.load(Ordering::Relaxed) {
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
        if self.closed.swap(true, Ordering::SeqCst) || self.memory.is_some() {
            return Ok(());
        }
        let result = self.request(Control::Close, timeout);
        let handle = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        match (&result, handle) {
            (Ok(()), Some(h)) => {
                if h.join().is_err() {
                    log::error!("jaeger: the reporter thread panicked while closing");
                }
                let late = self.leftovers.try_iter().count() as u64;
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

impl Drop for Reporter {
    fn drop(&mut self) {
        // The last handle is gone without a close: ask the thread to send what
        // it has and stop, but do not wait for it.
        if !self.closed.swap(true, Ordering::SeqCst) {
            let (ack, _) = bounded(1);
            let _ = self.control.send(Control::Close(ack));
        }
    }
}
