use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};

use super::per_operation::{PerOperationSampler, DEFAULT_MAX_OPERATIONS};
use super::strategy::{self, Strategy};
use super::{ProbabilisticSampler, RateLimitingSampler, Sampler, SamplingDecision};
use crate::error::Error;
use crate::id::TraceId;
use crate::transport::http::redact_url;

/// Default sampling endpoint (`JAEGER_SAMPLING_ENDPOINT`).
pub const DEFAULT_SAMPLING_ENDPOINT: &str = "http://127.0.0.1:5778/sampling";

/// The port of the agent's sampling endpoint (`DEFAULT_SAMPLING_ENDPOINT`'s).
pub const DEFAULT_SAMPLING_PORT: u16 = 5778;
/// Default poll period (`JAEGER_SAMPLER_REFRESH_INTERVAL`).
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(60);
/// Shortest poll period accepted: at most ten queries a second to the
/// agent (each also times out after at most one period). A shorter one,
/// `1ns` or `1ms` mistyped for `1m`, is refused rather than left to flood
/// the agent with queries that all time out.
pub const MIN_REFRESH_INTERVAL: Duration = Duration::from_millis(100);
/// Default sampling rate until the first strategy arrives.
pub const DEFAULT_INITIAL_RATE: f64 = 0.001;

/// Largest strategy document read: 2,000 operations take about 200 KB.
/// A larger answer (an endpoint that is not a sampling endpoint) is
/// refused as invalid rather than read into memory whole.
const MAX_STRATEGY_BYTES: usize = 4 << 20;

/// First retry delay after a failed poll; doubles up to the refresh interval.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// The strategy in force.
#[derive(Debug)]
enum Active {
    Probabilistic(ProbabilisticSampler),
    RateLimiting(RateLimitingSampler),
    PerOperation(PerOperationSampler),
}

impl Active {
    /// The sampler for `s`, going on from `before` (the one in force) where
    /// both limit rates: a rate-limiting bucket or an operation's
    /// lower-bound bucket keeps its balance across the change.
    fn from_strategy(
        s: &Strategy,
        max_operations: usize,
        before: &Active,
    ) -> Result<Active, Error> {
        let now = Instant::now();
        Ok(match (s, before) {
            (Strategy::Probabilistic(p), _) => {
                Active::Probabilistic(ProbabilisticSampler::new(*p)?)
            }
            (Strategy::RateLimiting(r), Active::RateLimiting(old)) => {
                Active::RateLimiting(old.updated(*r, now)?)
            }
            (Strategy::RateLimiting(r), _) => Active::RateLimiting(RateLimitingSampler::new(*r)?),
            (Strategy::PerOperation(ops), _) => {
                let mut s = PerOperationSampler::new(
                    ops.default_probability,
                    ops.lower_bound_per_second,
                    max_operations,
                )?;
                for (name, p) in &ops.operations {
                    s = s.with_operation(name.clone(), *p)?;
                }
                if let Active::PerOperation(old) = before {
                    s.carry_over_from(old, now);
                }
                Active::PerOperation(s)
            }
        })
    }
}

/// Counters of the remote sampler.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RemoteSamplerStats {
    /// Polls answered with a strategy document (HTTP 200).
    pub queries_ok: u64,
    /// Polls that failed (connection, timeout, non-200 status).
    pub queries_err: u64,
    /// Strategies applied because they differed from the one in force.
    pub updates_ok: u64,
    /// Answers rejected as invalid (garbage, out-of-range values); the last
    /// good strategy stays in force.
    pub updates_err: u64,
}

#[derive(Debug, Default)]
struct Counters {
    queries_ok: AtomicU64,
    queries_err: AtomicU64,
    updates_ok: AtomicU64,
    updates_err: AtomicU64,
}

struct Shared {
    active: RwLock<Active>,
    last: Mutex<Option<Strategy>>,
    counters: Counters,
    max_operations: usize,
}

/// A sampler whose strategy is polled from the Jaeger agent's sampling
/// endpoint: at start, then every refresh interval.
///
/// Polling runs on a background thread (`jaeger-sampling`), never on an
/// application thread. Until the first answer the initial probabilistic rate
/// applies; a failed poll or an invalid answer keeps the last good strategy,
/// and polls after a failure back off (from 0.5 s, doubling, up to the
/// refresh interval).
///
/// A changed strategy goes on from the one it replaces: a rate limiter
/// keeps the share of its burst already spent, and per-operation lower
/// bounds keep theirs, so an adaptive collector's new probabilities every
/// minute do not grant every operation a fresh burst of traces.
pub struct RemoteSampler {
    shared: Arc<Shared>,
    stop: Mutex<Option<Sender<()>>>,
}

impl fmt::Debug for RemoteSampler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let active = self.shared.active.read().unwrap_or_else(|e| e.into_inner());
        f.debug_struct("RemoteSampler")
            .field("active", &*active)
            .finish_non_exhaustive()
    }
}

/// Configures and starts a [`RemoteSampler`].
#[must_use = "a builder does nothing until `start` is called"]
#[derive(Debug, Clone)]
pub struct RemoteSamplerBuilder {
    service_name: String,
    endpoint: Option<String>,
    initial_rate: f64,
    refresh_interval: Duration,
    max_operations: usize,
    root_certificates: Vec<Vec<u8>>,
}

impl RemoteSamplerBuilder {
    /// The sampling endpoint URL (`JAEGER_SAMPLING_ENDPOINT`, default
    /// `http://127.0.0.1:5778/sampling`); `?service=<name>` is appended.
    pub fn with_endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The probabilistic rate until the first strategy arrives
    /// (`JAEGER_SAMPLER_PARAM`, default 0.001).
    pub fn with_initial_rate(mut self, rate: f64) -> Self {
        self.initial_rate = rate;
        self
    }

    /// The poll period (`JAEGER_SAMPLER_REFRESH_INTERVAL`, default 1 min,
    /// at least [`MIN_REFRESH_INTERVAL`]).
    pub fn with_refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// Cap of operations tracked by a per-operation strategy
    /// (`JAEGER_SAMPLER_MAX_OPERATIONS`, default 2000).
    pub fn with_max_operations(mut self, n: usize) -> Self {
        self.max_operations = n;
        self
    }

    /// Trusts an extra root certificate (PEM) for an https sampling
    /// endpoint, as [`Collector::with_root_certificate_pem`] does for the
    /// collector.
    ///
    /// [`Collector::with_root_certificate_pem`]: crate::Collector::with_root_certificate_pem
    pub fn with_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }

    /// Fills in what the tracer knows: its service name, and the agent's
    /// host as the endpoint's host when no endpoint was given.
    pub(crate) fn for_tracer(mut self, service_name: &str, agent_host: &str) -> Self {
        self.service_name = service_name.to_owned();
        if self.endpoint.is_none() && agent_host != crate::config::DEFAULT_AGENT_HOST {
            // An IPv6 literal needs brackets in a URL.
            let host = if agent_host.contains(':') && !agent_host.starts_with('[') {
                format!("[{agent_host}]")
            } else {
                agent_host.to_owned()
            };
            self.endpoint = Some(format!("http://{host}:{DEFAULT_SAMPLING_PORT}/sampling"));
        }
        self
    }

    /// Starts polling.
    ///
    /// # Errors
    ///
    /// A configuration error for an invalid endpoint URL, initial rate,
    /// root certificate or a refresh interval below the minimum; an I/O
    /// error if the thread cannot start.
    pub fn start(self) -> Result<RemoteSampler, Error> {
        let endpoint = self
            .endpoint
            .as_deref()
            .unwrap_or(DEFAULT_SAMPLING_ENDPOINT);
        // Shown without credentials or secret query values.
        let display = redact_url(endpoint);
        let url = reqwest::Url::parse(endpoint)
            .map_err(|e| Error::config(format!("invalid sampling endpoint {display:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::config(format!(
                "sampling endpoint {display:?} is not http(s)"
            )));
        }
        if self.refresh_interval < MIN_REFRESH_INTERVAL {
            return Err(Error::config(format!(
                "the sampler refresh interval {:?} is shorter than {MIN_REFRESH_INTERVAL:?}",
                self.refresh_interval
            )));
        }
        let initial = ProbabilisticSampler::new(self.initial_rate)?;
        let certificates = crate::transport::http::root_certificates(&self.root_certificates)?;
        let shared = Arc::new(Shared {
            active: RwLock::new(Active::Probabilistic(initial)),
            last: Mutex::new(None),
            counters: Counters::default(),
            max_operations: self.max_operations,
        });
        let (stop_tx, stop_rx) = bounded(1);
        let poller = Poller {
            shared: shared.clone(),
            url,
            display,
            service: self.service_name,
            interval: self.refresh_interval,
            certificates,
            failing: std::cell::Cell::new(false),
        };
        std::thread::Builder::new()
            .name("jaeger-sampling".into())
            .spawn(move || poller.run(stop_rx))
            .map_err(|e| Error::io("cannot spawn the jaeger-sampling thread", e))?;
        Ok(RemoteSampler {
            shared,
            stop: Mutex::new(Some(stop_tx)),
        })
    }
}

impl RemoteSampler {
    /// A builder for the service `service_name`.
    pub fn builder(service_name: impl Into<String>) -> RemoteSamplerBuilder {
        RemoteSamplerBuilder {
            service_name: service_name.into(),
            endpoint: None,
            initial_rate: DEFAULT_INITIAL_RATE,
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            max_operations: DEFAULT_MAX_OPERATIONS,
            root_certificates: Vec::new(),
        }
    }

    /// The poll counters.
    pub fn stats(&self) -> RemoteSamplerStats {
        let c = &self.shared.counters;
        RemoteSamplerStats {
            queries_ok: c.queries_ok.load(Relaxed),
            queries_err: c.queries_err.load(Relaxed),
            updates_ok: c.updates_ok.load(Relaxed),
            updates_err: c.updates_err.load(Relaxed),
        }
    }
}

impl Sampler for RemoteSampler {
    fn should_sample(&self, trace_id: TraceId, operation: &str) -> SamplingDecision {
        let active = self.shared.active.read().unwrap_or_else(|e| e.into_inner());
        match &*active {
            Active::Probabilistic(s) => s.should_sample(trace_id, operation),
            Active::RateLimiting(s) => s.should_sample(trace_id, operation),
            Active::PerOperation(s) => s.should_sample(trace_id, operation),
        }
    }

    fn close(&self) {
        // Dropping the sender wakes the poller, which then exits.
        self.stop.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

struct Poller {
    shared: Arc<Shared>,
    url: reqwest::Url,
    /// `url` as logs show it: without credentials or secret query values.
    display: String,
    service: String,
    interval: Duration,
    /// Extra roots to trust for https.
    certificates: Vec<reqwest::Certificate>,
    /// The endpoint failed (unreachable, or an answer other than 200) and
    /// that was warned of: until a strategy arrives again, further
    /// failures are logged at debug level only.
    failing: std::cell::Cell<bool>,
}

impl Poller {
    fn run(self, stop: Receiver<()>) {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                log::error!(
                    "jaeger: remote sampler cannot start a runtime: {e}; keeping the initial rate"
                );
                return;
            }
        };
        let mut builder =
            reqwest::Client::builder().timeout(self.interval.min(Duration::from_secs(5)));
        for c in &self.certificates {
            builder = builder.add_root_certificate(c.clone());
        }
        let client = match builder.build() {
            Ok(c) => c,
            Err(e) => {
                log::error!("jaeger: remote sampler cannot build an HTTP client: {e}; keeping the initial rate");
                return;
            }
        };
        let mut backoff = FIRST_BACKOFF;
        loop {
            let ok = runtime.block_on(self.poll(&client));
            #[cfg(feature = "metrics")]
            crate::metrics::publish_sampler(&RemoteSamplerStats {
                queries_ok: self.shared.counters.queries_ok.load(Relaxed),
                queries_err: self.shared.counters.queries_err.load(Relaxed),
                updates_ok: self.shared.counters.updates_ok.load(Relaxed),
                updates_err: self.shared.counters.updates_err.load(Relaxed),
            });
            let wait = if ok {
                backoff = FIRST_BACKOFF;
                self.interval
            } else {
                let w = backoff.min(self.interval);
                backoff = (backoff * 2).min(self.interval);
                w
            };
            match stop.recv_timeout(wait) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// One poll; true when a valid strategy was received.
    async fn poll(&self, client: &reqwest::Client) -> bool {
        let c = &self.shared.counters;
        let response = client
            .get(self.url.clone())
            .query(&[("service", self.service.as_str())])
            .send()
            .await;
        let body = match response {
            Ok(r) if r.status() == reqwest::StatusCode::OK => read_capped(r).await,
            Ok(r) => {
                c.queries_err.fetch_add(1, Relaxed);
                self.failed(&format!("answered {}", r.status()));
                return false;
            }
            Err(e) => Err(e),
        };
        let body = match body {
            Ok(Some(b)) => b,
            Ok(None) => {
                c.queries_ok.fetch_add(1, Relaxed);
                c.updates_err.fetch_add(1, Relaxed);
                log::warn!(
                    "jaeger: ignoring an answer of more than {MAX_STRATEGY_BYTES} bytes from {}",
                    self.display
                );
                return false;
            }
            Err(e) => {
                c.queries_err.fetch_add(1, Relaxed);
                self.failed(&format!(
                    "unreachable: {}",
                    crate::error::with_causes(&e.without_url())
                ));
                return false;
            }
        };
        c.queries_ok.fetch_add(1, Relaxed);
        match strategy::parse(&body) {
            Ok(s) => {
                if self.failing.replace(false) {
                    log::info!("jaeger: sampling endpoint {} answers again", self.display);
                }
                self.apply(s);
                true
            }
            Err(why) => {
                c.updates_err.fetch_add(1, Relaxed);
                log::warn!(
                    "jaeger: ignoring sampling strategy from {}: {why}",
                    self.display
                );
                false
            }
        }
    }

    /// A poll found the endpoint unreachable, or answering other than 200
    /// (`what`): warned of once until a strategy arrives again. A wrong
    /// endpoint would otherwise leave the service at its initial rate
    /// without a word.
    fn failed(&self, what: &str) {
        if self.failing.replace(true) {
            log::debug!("jaeger: sampling endpoint {} {what}", self.display);
        } else {
            log::warn!(
                "jaeger: sampling endpoint {} {what}; keeping the current sampling strategy \
                 and retrying (further failures are counted in the sampler's stats, not logged)",
                self.display
            );
        }
    }

    fn apply(&self, s: Strategy) {
        let mut last = self.shared.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.as_ref() == Some(&s) {
            return;
        }
        // Built while samplers still read the strategy in force; swapped in
        // after.
        let built = {
            let before = self.shared.active.read().unwrap_or_else(|e| e.into_inner());
            Active::from_strategy(&s, self.shared.max_operations, &before)
        };
        match built {
            Ok(active) => {
                *self
                    .shared
                    .active
                    .write()
                    .unwrap_or_else(|e| e.into_inner()) = active;
                *last = Some(s);
                self.shared.counters.updates_ok.fetch_add(1, Relaxed);
            }
            Err(e) => {
                self.shared.counters.updates_err.fetch_add(1, Relaxed);
                log::warn!("jaeger: ignoring sampling strategy: {e}");
            }
        }
    }
}

/// The body of `r`, or `None` once it passes [`MAX_STRATEGY_BYTES`].
async fn read_capped(mut r: reqwest::Response) -> reqwest::Result<Option<Vec<u8>>> {
    if r.content_length()
        .is_some_and(|n| n > MAX_STRATEGY_BYTES as u64)
    {
        return Ok(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = r.chunk().await? {
        if body.len() + chunk.len() > MAX_STRATEGY_BYTES {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_falls_back_to_the_agent_host() {
        let b = RemoteSampler::builder("s").for_tracer("svc", "agent.internal");
        assert_eq!(
            b.endpoint.as_deref(),
            Some("http://agent.internal:5778/sampling")
        );
        let b = RemoteSampler::builder("s").for_tracer("svc", "::1");
        assert_eq!(b.endpoint.as_deref(), Some("http://[::1]:5778/sampling"));
        assert!(reqwest::Url::parse(b.endpoint.as_deref().unwrap()).is_ok());
        let b = RemoteSampler::builder("s").for_tracer("svc", "localhost");
        assert_eq!(b.endpoint, None, "the default endpoint applies");
        let b = RemoteSampler::builder("s")
            .with_endpoint("http://x/s")
            .for_tracer("svc", "agent");
        assert_eq!(
            b.endpoint.as_deref(),
            Some("http://x/s"),
            "an explicit endpoint wins"
        );
    }

    #[test]
    fn a_changed_strategy_grants_no_fresh_burst() {
        let shared = Arc::new(Shared {
            active: RwLock::new(Active::Probabilistic(
                ProbabilisticSampler::new(0.0).unwrap(),
            )),
            last: Mutex::new(None),
            counters: Counters::default(),
            max_operations: 10,
        });
        let poller = Poller {
            shared: shared.clone(),
            url: reqwest::Url::parse("http://127.0.0.1:9/sampling").unwrap(),
            display: "http://127.0.0.1:9/sampling".into(),
            service: "s".into(),
            interval: DEFAULT_REFRESH_INTERVAL,
            certificates: Vec::new(),
            failing: std::cell::Cell::new(false),
        };
        let sampler = RemoteSampler {
            shared,
            stop: Mutex::new(None),
        };
        let sampled = |op: &str, n: u64| {
            (0..n)
                .filter(|&i| {
                    sampler
                        .should_sample(TraceId::new(0, u64::MAX - i), op)
                        .sampled
                })
                .count()
        };
        poller.apply(Strategy::RateLimiting(2.0));
        assert_eq!(sampled("op", 10), 2);
        poller.apply(Strategy::RateLimiting(3.0));
        assert_eq!(sampled("op", 10), 0, "the raised rate refilled the bucket");
        let per_op = |p: f64| {
            Strategy::PerOperation(strategy::PerOperationStrategy {
                default_probability: 0.0,
                lower_bound_per_second: 0.01,
                operations: vec![("op".into(), p)],
            })
        };
        poller.apply(per_op(0.0));
        assert_eq!(sampled("op", 10), 1);
        assert_eq!(sampled("other", 10), 1);
        poller.apply(per_op(0.000_001));
        assert_eq!(sampler.stats().updates_ok, 4);
        assert_eq!(
            sampled("op", 10),
            0,
            "a new per-operation strategy refilled"
        );
        assert_eq!(sampled("other", 10), 0, "a tracked operation was forgotten");
    }

    #[test]
    fn a_refresh_interval_that_would_flood_the_agent_is_refused() {
        for interval in [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_millis(99),
        ] {
            let err = RemoteSampler::builder("s")
                .with_refresh_interval(interval)
                .start()
                .unwrap_err();
            assert!(err.is_config(), "{interval:?}: {err}");
            assert!(err.to_string().contains("refresh interval"), "{err}");
        }
        let sampler = RemoteSampler::builder("s")
            .with_endpoint("http://127.0.0.1:9/sampling")
            .with_refresh_interval(MIN_REFRESH_INTERVAL)
            .start();
        assert!(sampler.is_ok());
    }
}
