//! The reporter thread: receives finished spans, encodes each once, groups
//! them by trace into segments, packs segments into batches no larger than
//! the transport allows, and sends them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use std::sync::atomic::AtomicBool;

use super::queue::Queue;
use super::segment::{OpenSegments, Packet, Segment, TraceIdHash};
use super::{Control, ReporterConfig};
use crate::encode::{encoder, ClientStats, Encode, Envelope, Trim};
use crate::error::Error;
use crate::id::{SpanId, TraceId};
use crate::metrics::Metrics;
use crate::span::{ReferenceType, SpanData, WireRef};
use crate::span_context::Flags;
use crate::tag::{Tag, Tags};
use crate::transport::Transport;

use std::sync::atomic::Ordering::Relaxed;

/// Emptied segments kept for reuse, and the largest kept.
const SPARE_SEGMENTS: usize = 256;
const SPARE_SEGMENT_BYTES: usize = 16 * 1024;
/// The smallest payload a transport that refuses large datagrams is
/// brought down to (see `Worker::shrink`): below it, a refusal is a
/// failure like any other.
const MIN_PAYLOAD: usize = 1024;
/// How long the thread sleeps between polls of the queue while spans
/// arrive.
const POLL_BUSY: Duration = Duration::from_millis(4);
/// The longest sleep between polls while none arrive: with the default
/// queue of 20,000 spans, a burst from idle of up to 1.25 million spans a
/// second fits the queue before the first poll (and a sender wakes the
/// thread when the queue is half full).
const POLL_IDLE: Duration = Duration::from_millis(16);

struct Worker {
    metrics: Arc<Metrics>,
    encoder: Box<dyn Encode>,
    transport: Box<dyn Transport>,
    /// Largest payload the transport takes.
    max_payload: usize,
    /// Room for span bytes in one batch: `max_payload` less the batch's own
    /// encoded overhead (an upper bound, computed from the real encoding).
    budget: usize,
    open: OpenSegments,
    open_bytes: usize,
    /// Above this many buffered bytes in open segments, they are all sent
    /// even if their local roots have not finished, bounding memory.
    open_cap: usize,
    packet: Packet,
    flush_interval: Duration,
    max_tag_value_len: usize,
    log_spans: bool,
    seq_no: i64,
    out: Vec<u8>,
    failing: bool,
    /// Emptied segments for reuse.
    spare: Vec<Segment>,
}

/// The encoder of this process's batches for `transport`.
fn process_encoder(config: &ReporterConfig, transport: &dyn Transport) -> Box<dyn Encode> {
    encoder(
        transport.protocol(),
        transport.envelope(),
        &config.service_name,
        &config.process_tags,
        config.max_tag_value_len,
    )
}

/// Checks that a batch of this process leaves room in `transport`'s
/// payload for a bare span: one with a 64-byte operation name, a parent and
/// its tags trimmed away. Otherwise every span would be dropped as too large.
pub(super) fn check_room(config: &ReporterConfig, transport: &dyn Transport) -> Result<(), Error> {
    let mut encoder = process_encoder(config, transport);
    let mut tags = Tags::new();
    tags.push(Tag::new("k", "v"));
    let bare = SpanData {
        trace_id: TraceId::new(u64::MAX, u64::MAX),
        span_id: SpanId::new(u64::MAX),
        parent_id: SpanId::new(u64::MAX),
        flags: Flags::SAMPLED,
        operation_name: "o".repeat(64.min(config.max_tag_value_len)).into(),
        references: vec![WireRef {
            kind: ReferenceType::ChildOf,
            trace_id: TraceId::new(u64::MAX, u64::MAX),
            span_id: SpanId::new(u64::MAX),
        }]
        .into(),
        start: i64::MAX as u64,
        end: i64::MAX as u64,
        tags,
        logs: Vec::new().into(),
        local_root: false,
    };
    let trim = Trim {
        logs: true,
        tags: true,
    };
    let span = encoder.span(&bare, trim, config.max_tag_value_len, &mut Vec::new());
    let (overhead, max) = (encoder.overhead(), transport.max_payload());
    if overhead + span <= max {
        return Ok(());
    }
    Err(Error::config(format!(
        "a batch of service {:?} with {} process tags (jaeger.version, hostname, ip and \
         client-uuid among them) takes {overhead} bytes before its spans, \
         leaving no room for a {span}-byte span in the maximum payload of {max} bytes \
         ({}); raise it or send fewer or shorter process tags",
        config.service_name,
        config.process_tags.len(),
        match transport.envelope() {
            Envelope::AgentCall => "JAEGER_REPORTER_MAX_PACKET_SIZE, with_max_packet_size",
            Envelope::Bare => "Collector::with_max_batch_bytes",
        },
    )))
}

pub(super) fn run(
    config: ReporterConfig,
    transport: Box<dyn Transport>,
    queue: Arc<Queue>,
    control: Receiver<Control>,
    metrics: Arc<Metrics>,
    wake: Arc<AtomicBool>,
) {
    let mut encoder = process_encoder(&config, &*transport);
    let max_payload = transport.max_payload();
    let budget = max_payload.saturating_sub(encoder.overhead());
    let mut w = Worker {
        metrics,
        encoder,
        transport,
        max_payload,
        budget,
        open: OpenSegments::with_hasher(TraceIdHash::new()),
        open_bytes: 0,
        open_cap: budget.saturating_mul(16).max(1 << 20),
        packet: Packet::default(),
        flush_interval: config.flush_interval,
        max_tag_value_len: config.max_tag_value_len,
        log_spans: config.log_spans,
        seq_no: 0,
        out: Vec::with_capacity(max_payload.min(1 << 20)),
        failing: false,
        spare: Vec::new(),
    };
    // `check_room` made sure spans fit.
    let tick = (w.flush_interval / 4).clamp(Duration::from_millis(1), Duration::from_secs(1));
    crate::clock::recalibrate();
    let mut next_tick = Instant::now() + tick;
    let mut idle_poll = POLL_BUSY;
    let mut last_span = Instant::now();
    let mut next_sweep = Instant::now();
    // The thread polls the queue rather than blocking on it: a sender then
    // never finds a sleeping receiver to wake (a futex system call on the
    // application thread). Senders wake it only when the queue is half full
    // (`Control::Wake`).
    loop {
        let now = Instant::now();
        // The slots (spans not yet in a full batch) are swept once per busy
        // poll at most; in between, while the queue is backlogged and this
        // loop does not sleep, only the channel is taken.
        let taken = if now >= next_sweep {
            next_sweep = now + POLL_BUSY;
            queue.drain(|span| w.accept(span, now))
        } else {
            queue.drain_channel(|span| w.accept(span, now))
        };
        let now = if taken > 0 {
            last_span = Instant::now();
            last_span
        } else {
            now
        };
        if !crate::clock::calibrated() {
            crate::clock::recalibrate();
        }
        if now >= next_tick {
            w.tick(now);
            // No span for a while: the boxes kept for a burst go (not
            // sooner: freeing them could hold up an application thread's
            // allocations, whose memory it is).
            if now.saturating_duration_since(last_span) >= super::pool::IDLE {
                super::pool::trim();
            }
            crate::clock::recalibrate();
            next_tick = now + tick;
            #[cfg(feature = "metrics")]
            crate::metrics::publish(&w.metrics.snapshot(queue.len() as u64));
        }
        // Poll often while spans arrive, back off while none do, and do not
        // sleep at all while the queue is backlogged.
        idle_poll = if taken > 0 {
            POLL_BUSY
        } else {
            (idle_poll * 2).min(POLL_IDLE)
        };
        let wait = if taken > 0 && queue.backlogged() {
            Duration::ZERO
        } else {
            idle_poll.min(next_tick.saturating_duration_since(now))
        };
        match control.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(Control::Wake) => {
                wake.store(false, Relaxed);
                idle_poll = POLL_BUSY;
            }
            Ok(Control::Flush(ack)) => {
                let now = Instant::now();
                queue.drain(|span| w.accept(span, now));
                w.flush_all();
                #[cfg(feature = "metrics")]
                crate::metrics::publish(&w.metrics.snapshot(queue.len() as u64));
                let _ = ack.send(());
            }
            Ok(Control::Close(ack)) => {
                // New spans are refused before Close is sent, so this
                // drains to the end.
                let now = Instant::now();
                queue.drain(|span| w.accept(span, now));
                w.flush_all();
                #[cfg(feature = "metrics")]
                crate::metrics::publish(&w.metrics.snapshot(0));
                let _ = ack.send(());
                return;
            }
            Err(RecvTimeoutError::Disconnected) => {
                queue.drain(|span| w.accept(span, now));
                w.flush_all();
                return;
            }
        }
    }
}

impl Worker {
    fn accept(&mut self, span: &SpanData, now: Instant) {
        Metrics::add(&self.metrics.received, 1);
        if self.log_spans {
            log::info!(
                target: "jaeger_tracer::spans",
                "reporting span {}:{}:{}:{:x} {} ({} µs)",
                span.trace_id,
                span.span_id,
                span.parent_id,
                span.flags.bits(),
                span.operation_name,
                span.times().1
            );
        }
        let seg = self
            .open
            .entry(span.trace_id)
            .or_insert_with(|| match self.spare.pop() {
                Some(mut seg) => {
                    seg.opened = now;
                    seg
                }
                None => Segment::new(now),
            });
        let start = seg.bytes.len();
        let mut trim = Trim::default();
        loop {
            let n = self
                .encoder
                .span(span, trim, self.max_tag_value_len, &mut seg.bytes);
            if n <= self.budget {
                seg.ends.push(seg.bytes.len());
                self.open_bytes += n;
                if trim != Trim::default() {
                    Metrics::add(&self.metrics.trimmed, 1);
                }
                break;
            }
            seg.bytes.truncate(start);
            // Too big for any packet: drop the logs first, then the tags
            // (a marker tag records what went), and give up only when the
            // bare span still does not fit.
            if !trim.logs && !span.logs.is_empty() {
                trim.logs = true;
            } else if !trim.tags && !span.tags.is_empty() {
                trim.logs = true;
                trim.tags = true;
            } else {
                Metrics::add(&self.metrics.dropped_too_large, 1);
                log::warn!(
                    "jaeger: span {:?} ({}) does not fit a {}-byte payload even without tags and logs; dropped",
                    span.operation_name,
                    span.span_id,
                    self.max_payload
                );
                break;
            }
        }
        let (local_root, trace_id) = (span.local_root, span.trace_id);
        if local_root {
            if let Some(seg) = self.open.remove(&trace_id) {
                self.open_bytes -= seg.bytes.len();
                self.ready(seg);
            }
        }
        if self.open_bytes > self.open_cap {
            self.close_open_segments(None);
        }
    }

    /// Moves open segments (all, or those at least `max_age` old at `now`)
    /// to the packet, oldest first.
    fn close_open_segments(&mut self, aged: Option<(Instant, Duration)>) {
        let mut keys: Vec<(Instant, TraceId)> = self
            .open
            .iter()
            .filter(|(_, s)| {
                aged.is_none_or(|(now, max_age)| now.saturating_duration_since(s.opened) >= max_age)
            })
            .map(|(k, s)| (s.opened, *k))
            .collect();
        keys.sort_unstable();
        for (_, key) in keys {
            if let Some(seg) = self.open.remove(&key) {
                self.open_bytes -= seg.bytes.len();
                self.ready(seg);
            }
        }
    }

    /// Adds a finished segment to the packet, keeping it whole whenever it
    /// fits one packet.
    fn ready(&mut self, mut seg: Segment) {
        if seg.len() == 0 {
        } else if self.packet.bytes.len() + seg.bytes.len() <= self.budget {
            self.packet.push_segment(&seg);
        } else {
            self.emit();
            if seg.bytes.len() <= self.budget {
                self.packet.push_segment(&seg);
            } else {
                for span in seg.spans() {
                    if self.packet.bytes.len() + span.len() > self.budget {
                        self.emit();
                    }
                    self.packet.push_span(span, seg.opened);
                }
            }
        }
        // Kept for the next trace (a few, of modest size): one allocation
        // less per trace.
        if self.spare.len() < SPARE_SEGMENTS && seg.bytes.capacity() <= SPARE_SEGMENT_BYTES {
            seg.bytes.clear();
            seg.ends.clear();
            self.spare.push(seg);
        }
    }

    // Ages are compared as durations: `now - interval` may not exist as an
    // `Instant` (which starts near boot) when the interval is long.
    fn tick(&mut self, now: Instant) {
        self.close_open_segments(Some((now, self.flush_interval)));
        if self
            .packet
            .oldest
            .is_some_and(|o| now.saturating_duration_since(o) >= self.flush_interval)
        {
            self.emit();
        }
    }

    fn flush_all(&mut self) {
        self.close_open_segments(None);
        self.emit();
    }

    /// Encodes the packet as one batch and sends it.
    fn emit(&mut self) {
        if self.packet.is_empty() {
            return;
        }
        let count = self.packet.count as u64;
        let stats = ClientStats {
            full_queue_dropped: self.metrics.dropped_queue_full.load(Relaxed) as i64,
            too_large_dropped: self.metrics.dropped_too_large.load(Relaxed) as i64,
            failed_to_emit: self.metrics.failed_to_send.load(Relaxed) as i64,
        };
        self.seq_no += 1;
        self.encoder.batch(
            &mut self.out,
            &self.packet.bytes,
            self.packet.count,
            self.seq_no,
            stats,
        );
        if self.out.len() > self.max_payload {
            // Only after the limit was lowered (see `shrink`): a span
            // encoded for the old one is among them. The budget is an upper
            // bound of the batch's overhead, so batches repacked within it
            // fit.
            self.repack();
            return;
        }
        let sent = self.transport.send(&self.out);
        if let Err(e) = &sent {
            if crate::transport::is_refused_as_too_large(e) && self.shrink(self.out.len()) {
                // Sent again in smaller batches, each emitted in turn.
                return;
            }
        }
        self.packet.clear();
        match sent {
            Ok(()) => {
                Metrics::add(&self.metrics.reported, count);
                Metrics::add(&self.metrics.batches_sent, 1);
                Metrics::add(&self.metrics.bytes_sent, self.out.len() as u64);
                if self.failing {
                    self.failing = false;
                    log::info!(
                        "jaeger: sending to {} works again",
                        self.transport.describe()
                    );
                }
            }
            Err(e) => {
                Metrics::add(&self.metrics.failed_to_send, count);
                Metrics::add(&self.metrics.send_errors, 1);
                if !self.failing {
                    self.failing = true;
                    log::warn!(
                        "jaeger: sending {count} spans to {} failed: {e} (further failures are counted, not logged)",
                        self.transport.describe()
                    );
                }
            }
        }
    }

    /// The network refused a `refused`-byte payload as too large for one
    /// datagram (macOS, for one, takes at most 9,216 bytes by default,
    /// below the usual 65,000 limit), or a collector (or a proxy before it)
    /// answered 413 to a batch: halves the largest payload, down to
    /// [`MIN_PAYLOAD`], and sends the packet's spans again in batches that
    /// fit it. Spans finished from now on are encoded, and trimmed if
    /// need be, for the new limit. A span already encoded that no longer
    /// fits alone is dropped as too large. False when the limit cannot go
    /// lower: the refusal is then an ordinary failure.
    fn shrink(&mut self, refused: usize) -> bool {
        let limit = (refused / 2).max(MIN_PAYLOAD);
        if limit >= self.max_payload.min(refused) || self.packet.count == 0 {
            return false;
        }
        log::warn!(
            "jaeger: {} refused a {refused}-byte batch as too large; sending at most {limit} bytes from now on",
            self.transport.describe()
        );
        self.max_payload = limit;
        self.budget = limit.saturating_sub(self.encoder.overhead());
        self.repack();
        true
    }

    /// Sends the packet's spans in batches within the budget, dropping (and
    /// counting as too large) any span that alone exceeds it: one encoded
    /// before the limit was lowered.
    fn repack(&mut self) {
        let old = std::mem::take(&mut self.packet);
        let opened = old.oldest.unwrap_or_else(Instant::now);
        for span in old.spans() {
            if span.len() > self.budget {
                Metrics::add(&self.metrics.dropped_too_large, 1);
                log::warn!(
                    "jaeger: a {}-byte span encoded before the payload limit was lowered to {} bytes does not fit; dropped",
                    span.len(),
                    self.max_payload
                );
                continue;
            }
            if self.packet.bytes.len() + span.len() > self.budget {
                self.emit();
            }
            self.packet.push_span(span, opened);
        }
        self.emit();
    }
}

#[cfg(test)]
mod clock_tests {
    use std::time::{Duration, Instant};

    /// With the default flush interval a tick is 250 ms; the fast clock must
    /// not wait for it (a short-lived process would time every span with
    /// the slow clock).
    #[test]
    fn a_new_reporter_calibrates_the_fast_clock_within_tens_of_milliseconds() {
        let _one = crate::clock::tests_one_at_a_time();
        let (tracer, _guard) = crate::Tracer::builder("clock")
            .with_agent_host("127.0.0.1")
            .init()
            .unwrap();
        let start = Instant::now();
        while !crate::clock::calibrated() {
            assert!(
                start.elapsed() < Duration::from_millis(150),
                "not calibrated after 150 ms"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(tracer);
    }
}

#[cfg(test)]
mod too_large_datagram_tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use crate::encode::{Envelope, WireProtocol};
    use crate::thrift::decode_agent_datagram;
    use crate::transport::Transport;

    /// A network that refuses datagrams above `limit` bytes as the kernel
    /// does (`EMSGSIZE`), and keeps the ones it takes.
    struct SmallDatagrams {
        limit: usize,
        taken: Arc<Mutex<Vec<Vec<u8>>>>,
        refused: Arc<Mutex<Vec<usize>>>,
    }

    impl Transport for SmallDatagrams {
        fn protocol(&self) -> WireProtocol {
            WireProtocol::Compact
        }
        fn envelope(&self) -> Envelope {
            Envelope::AgentCall
        }
        fn max_payload(&self) -> usize {
            crate::DEFAULT_MAX_PACKET_SIZE
        }
        fn send(&mut self, payload: &[u8]) -> io::Result<()> {
            if payload.len() > self.limit {
                self.refused.lock().unwrap().push(payload.len());
                #[cfg(unix)]
                return Err(io::Error::from_raw_os_error(libc::EMSGSIZE));
                #[cfg(windows)]
                return Err(io::Error::from_raw_os_error(10040));
            }
            self.taken.lock().unwrap().push(payload.to_vec());
            Ok(())
        }
        fn describe(&self) -> String {
            "small-datagrams".into()
        }
    }

    type Datagrams = Arc<Mutex<Vec<Vec<u8>>>>;

    /// A tracer over a network refusing datagrams above `limit` bytes; the
    /// datagrams it took and the sizes it refused.
    fn tracer_over(
        limit: usize,
    ) -> (
        crate::Tracer,
        crate::TracerGuard,
        Datagrams,
        Arc<Mutex<Vec<usize>>>,
    ) {
        let taken = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(Mutex::new(Vec::new()));
        let transport = SmallDatagrams {
            limit,
            taken: taken.clone(),
            refused: refused.clone(),
        };
        let (tracer, guard) = crate::Tracer::builder("small-datagrams")
            .init_with_transport(Box::new(transport))
            .unwrap();
        (tracer, guard, taken, refused)
    }

    #[test]
    fn datagrams_refused_as_too_large_are_sent_again_smaller_and_nothing_is_lost() {
        // macOS's default: at most 9,216 bytes per UDP datagram.
        let limit = 9216;
        let (tracer, guard, taken, refused) = tracer_over(limit);
        // One trace of 400 spans of ~150 bytes: 60 KB, one 65,000-byte
        // batch at first.
        let mut root = tracer.start("root");
        for i in 0..399 {
            let mut child = tracer.span("child").child_of(root.context()).start();
            child
                .set_tag("index", i)
                .set_tag("payload", "x".repeat(100));
        }
        root.finish();
        tracer.flush().unwrap();
        // Spans finished after the first refusal go out within the new
        // limit at once.
        for _ in 0..100 {
            tracer.start("later").set_tag("payload", "y".repeat(100));
        }
        guard.close().unwrap();

        let m = tracer.metrics();
        assert_eq!(m.spans_reported, 500, "{m:?}");
        assert_eq!(
            (
                m.spans_failed_to_send,
                m.spans_dropped_too_large,
                m.send_errors
            ),
            (0, 0, 0),
            "{m:?}"
        );
        // Halved until it fit: 65,000-ish, then about 32,500 and 16,250.
        let refused = refused.lock().unwrap().clone();
        assert!(
            (2..=3).contains(&refused.len()) && refused[0] > 32_000,
            "{refused:?}"
        );
        let taken = taken.lock().unwrap();
        assert!(taken.iter().all(|d| d.len() <= limit));
        let mut names = Vec::new();
        for d in taken.iter() {
            let batch = decode_agent_datagram(d, true).unwrap();
            names.extend(batch.spans.into_iter().map(|s| s.operation_name));
        }
        assert_eq!(names.len(), 500);
        assert_eq!(names.iter().filter(|n| *n == "child").count(), 399);
        assert_eq!(names.iter().filter(|n| *n == "later").count(), 100);
    }

    #[test]
    fn a_span_encoded_for_the_old_limit_that_no_longer_fits_is_dropped_and_counted() {
        let limit = 9216;
        let (tracer, guard, taken, _) = tracer_over(limit);
        // Trace A stays open while its 15 KB child waits in its segment,
        // encoded for the 65,000-byte limit.
        let mut root_a = tracer.start("root-a");
        let mut big = tracer.span("big").child_of(root_a.context()).start();
        for i in 0..15 {
            big.set_tag(format!("blob{i}"), "z".repeat(1000));
        }
        big.finish();
        // Trace B's batch is refused, and the limit lowered.
        let mut root_b = tracer.start("root-b");
        for _ in 0..399 {
            tracer
                .span("child-b")
                .child_of(root_b.context())
                .start()
                .set_tag("payload", "x".repeat(100));
        }
        root_b.finish();
        tracer.flush().unwrap();
        root_a.finish();
        guard.close().unwrap();

        let m = tracer.metrics();
        assert_eq!(
            (
                m.spans_reported,
                m.spans_dropped_too_large,
                m.spans_failed_to_send
            ),
            (401, 1, 0),
            "{m:?}"
        );
        let taken = taken.lock().unwrap();
        assert!(taken.iter().all(|d| d.len() <= limit));
        let names: Vec<String> = taken
            .iter()
            .flat_map(|d| decode_agent_datagram(d, true).unwrap().spans)
            .map(|s| s.operation_name)
            .collect();
        assert!(names.contains(&"root-a".to_owned()) && !names.contains(&"big".to_owned()));
    }
}
