//! Configuration: the tracer builder and the `JAEGER_*` environment
//! variables.
//!
//! Every variable name and default is a constant here, documented on the
//! builder method that overrides it. Empty variables count as unset. An
//! invalid value is an error naming the variable and the value.

use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs};
use std::time::Duration;

use crate::encode::WireProtocol;
use crate::error::Error;
use crate::propagation::{BaggageLimits, Propagation};
use crate::reporter::{Reporter, ReporterConfig};
use crate::sampler::{
    ConstSampler, ProbabilisticSampler, RateLimitingSampler, RemoteSampler, RemoteSamplerBuilder,
    Sampler,
};
use crate::tag::{Tag, TagValue};
use crate::tracer::{Limits, SpanObserver, Tracer, TracerGuard, TracerId, TracerInner};
use crate::transport::http::{redact_url, Collector};
use crate::transport::udp::UdpTransport;
use crate::transport::Transport;

/// Service name (required when building from the environment alone).
pub const ENV_SERVICE_NAME: &str = "JAEGER_SERVICE_NAME";
/// `true` makes the tracer a no-op.
pub const ENV_DISABLED: &str = "JAEGER_DISABLED";
/// Agent host name (default [`DEFAULT_AGENT_HOST`]).
pub const ENV_AGENT_HOST: &str = "JAEGER_AGENT_HOST";
/// Agent UDP port (default [`DEFAULT_AGENT_PORT_COMPACT`]).
pub const ENV_AGENT_PORT: &str = "JAEGER_AGENT_PORT";
/// Tracer tags: `k=v,k2=${ENV_VAR:default}`.
pub const ENV_TAGS: &str = "JAEGER_TAGS";
/// `true` for 128-bit trace ids.
pub const ENV_TRACEID_128BIT: &str = "JAEGER_TRACEID_128BIT";
/// Sampler type: `const`, `probabilistic`, `ratelimiting`, `remote`.
pub const ENV_SAMPLER_TYPE: &str = "JAEGER_SAMPLER_TYPE";
/// Sampler parameter: `const` 0/1, `probabilistic` rate, `ratelimiting`
/// traces per second, `remote` initial rate.
pub const ENV_SAMPLER_PARAM: &str = "JAEGER_SAMPLER_PARAM";
/// Remote sampling URL (default `http://127.0.0.1:5778/sampling`, or port
/// 5778 of `JAEGER_AGENT_HOST` when that is set).
pub const ENV_SAMPLING_ENDPOINT: &str = "JAEGER_SAMPLING_ENDPOINT";
/// Cap of operations a per-operation strategy tracks (default 2000).
pub const ENV_SAMPLER_MAX_OPERATIONS: &str = "JAEGER_SAMPLER_MAX_OPERATIONS";
/// Remote sampling poll period (default `1m`).
pub const ENV_SAMPLER_REFRESH_INTERVAL: &str = "JAEGER_SAMPLER_REFRESH_INTERVAL";
/// Bound of the queue between application threads and the reporter.
pub const ENV_REPORTER_MAX_QUEUE_SIZE: &str = "JAEGER_REPORTER_MAX_QUEUE_SIZE";
/// Longest time a span waits in the reporter before it is sent (`500ms`, `1s`).
pub const ENV_REPORTER_FLUSH_INTERVAL: &str = "JAEGER_REPORTER_FLUSH_INTERVAL";
/// `true` also logs every reported span through the `log` crate.
pub const ENV_REPORTER_LOG_SPANS: &str = "JAEGER_REPORTER_LOG_SPANS";
/// Collector URL; when set, spans go over HTTP instead of UDP.
pub const ENV_ENDPOINT: &str = "JAEGER_ENDPOINT";
/// User for HTTP Basic authentication to the collector (with `JAEGER_PASSWORD`).
pub const ENV_USER: &str = "JAEGER_USER";
/// Password for HTTP Basic authentication to the collector (with `JAEGER_USER`).
pub const ENV_PASSWORD: &str = "JAEGER_PASSWORD";
/// Bearer token for the collector.
pub const ENV_AUTH_TOKEN: &str = "JAEGER_AUTH_TOKEN";
/// Propagation formats, comma-separated (`jaeger`).
pub const ENV_PROPAGATION: &str = "JAEGER_PROPAGATION";
/// `true` keeps the agent's first address: its host name is not resolved
/// again (Go client's name).
pub const ENV_REPORTER_ATTEMPT_RECONNECTING_DISABLED: &str =
    "JAEGER_REPORTER_ATTEMPT_RECONNECTING_DISABLED";
/// How often the agent's host name is resolved again (default `30s`; Go
/// client's name).
pub const ENV_REPORTER_ATTEMPT_RECONNECT_INTERVAL: &str =
    "JAEGER_REPORTER_ATTEMPT_RECONNECT_INTERVAL";
/// Deprecated form of [`ENV_SAMPLING_ENDPOINT`], read when that is unset:
/// the agent's `host:port` (as the Java client reads it; a host alone
/// means its port 5778) or a URL (as the Go client does).
pub const ENV_SAMPLER_MANAGER_HOST_PORT: &str = "JAEGER_SAMPLER_MANAGER_HOST_PORT";

/// Every variable this tracer reads.
const ENV_READ: [&str; 22] = [
    ENV_SERVICE_NAME,
    ENV_DISABLED,
    ENV_AGENT_HOST,
    ENV_AGENT_PORT,
    ENV_TAGS,
    ENV_TRACEID_128BIT,
    ENV_SAMPLER_TYPE,
    ENV_SAMPLER_PARAM,
    ENV_SAMPLING_ENDPOINT,
    ENV_SAMPLER_MAX_OPERATIONS,
    ENV_SAMPLER_REFRESH_INTERVAL,
    ENV_REPORTER_MAX_QUEUE_SIZE,
    ENV_REPORTER_FLUSH_INTERVAL,
    ENV_REPORTER_LOG_SPANS,
    ENV_ENDPOINT,
    ENV_USER,
    ENV_PASSWORD,
    ENV_AUTH_TOKEN,
    ENV_PROPAGATION,
    ENV_REPORTER_ATTEMPT_RECONNECTING_DISABLED,
    ENV_REPORTER_ATTEMPT_RECONNECT_INTERVAL,
    ENV_SAMPLER_MANAGER_HOST_PORT,
];

/// Variables of other Jaeger clients this one does not read, and what they
/// set there.
const ENV_OF_OTHER_CLIENTS: [(&str, &str); 2] = [
    (
        "JAEGER_RPC_METRICS",
        "the Go client's per-endpoint RPC metrics",
    ),
    ("JAEGER_SENDER_FACTORY", "the Java client's sender"),
];

/// A warning for each `JAEGER_*` name in `names` this tracer does not
/// read: a misspelt variable would otherwise be ignored without a word.
fn unread_variables<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut warnings = Vec::new();
    for name in names {
        if !name.starts_with("JAEGER_") || ENV_READ.contains(&name) {
            continue;
        }
        if let Some((_, what)) = ENV_OF_OTHER_CLIENTS.iter().find(|(n, _)| *n == name) {
            warnings.push(format!("{name} sets {what}; this tracer does not read it"));
            continue;
        }
        let closest = ENV_READ
            .iter()
            .map(|known| (edit_distance(name, known), *known))
            .min()
            .filter(|(d, _)| *d <= 4);
        warnings.push(match closest {
            Some((_, known)) => {
                format!("{name} is not a variable this tracer reads: is it {known}, misspelt?")
            }
            None => format!("{name} is not a variable this tracer reads"),
        });
    }
    warnings
}

/// Levenshtein distance between two ASCII names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// Logs a warning for each `JAEGER_*` variable of the process environment
/// this tracer does not read.
fn warn_of_unread_variables() {
    let names: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .collect();
    for warning in unread_variables(names.iter().map(String::as_str)) {
        log::warn!("jaeger: {warning}");
    }
}

/// Default agent host.
pub const DEFAULT_AGENT_HOST: &str = "localhost";
/// Default agent port for the compact protocol.
pub const DEFAULT_AGENT_PORT_COMPACT: u16 = 6831;
/// Default agent port for the binary protocol.
pub const DEFAULT_AGENT_PORT_BINARY: u16 = 6832;
/// Default largest UDP datagram.
pub const DEFAULT_MAX_PACKET_SIZE: usize = 65_000;
/// Largest UDP payload IPv4 allows.
pub const MAX_UDP_PAYLOAD: usize = 65_507;
/// Default queue bound. Larger than the Go client's 100 so that a burst of
/// a few milliseconds at high rates is absorbed without drops.
pub const DEFAULT_QUEUE_SIZE: usize = 20_000;
/// Largest queue bound accepted. The queue's slots are allocated when
/// the tracer starts (16 bytes each, 160 MB at this bound), and a full
/// queue holds that many spans: at 200,000 spans a second, 50 seconds of
/// them. A larger bound is refused rather than left to abort the process
/// on a failed allocation.
pub const MAX_QUEUE_SIZE: usize = 10_000_000;
/// Default flush interval.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// Default cap of string tag values and operation names, in bytes.
pub const DEFAULT_MAX_TAG_VALUE_LEN: usize = 1024;
/// Default cap of baggage values, in bytes.
pub const DEFAULT_MAX_BAGGAGE_VALUE_LEN: usize = 2048;
/// Default cap of baggage items accepted from another process.
pub const DEFAULT_MAX_EXTRACTED_BAGGAGE_ITEMS: usize = 64;
/// Default cap of baggage bytes (keys and values) accepted from another
/// process.
pub const DEFAULT_MAX_EXTRACTED_BAGGAGE_BYTES: usize = 8192;
/// Default deadline of flush and close.
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The Thrift protocol spoken to the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AgentProtocol {
    /// `TCompactProtocol`, agent port 6831.
    Compact,
    /// `TBinaryProtocol`, agent port 6832.
    Binary,
}

/// A sampler ready to use, or a remote sampler to start at `init`.
#[derive(Debug)]
enum SamplerChoice {
    /// A const sampler (known, so the tracer can answer for it).
    Const(bool),
    Ready(Box<dyn Sampler>),
    Remote(RemoteSamplerBuilder),
}

/// Builds a [`Tracer`]. Start from [`Tracer::builder`] or
/// [`TracerBuilder::from_env`]; finish with [`init`](TracerBuilder::init).
#[must_use = "a builder does nothing until `init` is called"]
pub struct TracerBuilder {
    service_name: String,
    disabled: bool,
    agent_host: String,
    agent_port: Option<u16>,
    agent_resolve_interval: Option<Duration>,
    agent_protocol: AgentProtocol,
    max_packet_size: usize,
    collector: Option<Collector>,
    sampler: SamplerChoice,
    tags: Vec<Tag>,
    trace_id_128: bool,
    queue_size: usize,
    flush_interval: Duration,
    log_spans: bool,
    max_tag_value_len: usize,
    max_baggage_value_len: usize,
    max_logs_per_span: usize,
    extracted_baggage: BaggageLimits,
    baggage_allow_list: Option<Vec<String>>,
    close_timeout: Duration,
    propagation: Vec<Propagation>,
    observers: Vec<std::sync::Arc<dyn SpanObserver>>,
}

impl std::fmt::Debug for TracerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracerBuilder")
            .field("service_name", &self.service_name)
            .field("disabled", &self.disabled)
            .field("agent_host", &self.agent_host)
            .field("agent_port", &self.agent_port)
            .field("agent_resolve_interval", &self.agent_resolve_interval)
            .field("agent_protocol", &self.agent_protocol)
            .field("max_packet_size", &self.max_packet_size)
            .field("collector", &self.collector)
            .field("sampler", &self.sampler)
            .field("tags", &self.tags)
            .field("trace_id_128", &self.trace_id_128)
            .field("queue_size", &self.queue_size)
            .field("flush_interval", &self.flush_interval)
            .field("log_spans", &self.log_spans)
            .field("max_tag_value_len", &self.max_tag_value_len)
            .field("max_baggage_value_len", &self.max_baggage_value_len)
            .field("extracted_baggage", &self.extracted_baggage)
            .field("baggage_allow_list", &self.baggage_allow_list)
            .field("close_timeout", &self.close_timeout)
            .field("propagation", &self.propagation)
            .field("observers", &self.observers.len())
            .finish()
    }
}

impl TracerBuilder {
    /// A builder with the defaults: agent at `localhost:6831` (compact),
    /// sample everything, 64-bit trace ids, Jaeger propagation.
    pub fn new(service_name: impl Into<String>) -> Self {
        TracerBuilder {
            service_name: service_name.into(),
            disabled: false,
            agent_host: DEFAULT_AGENT_HOST.to_owned(),
            agent_port: None,
            agent_resolve_interval: Some(crate::transport::udp::RESOLVE_INTERVAL),
            agent_protocol: AgentProtocol::Compact,
            max_packet_size: DEFAULT_MAX_PACKET_SIZE,
            collector: None,
            sampler: SamplerChoice::Const(true),
            tags: Vec::new(),
            trace_id_128: false,
            queue_size: DEFAULT_QUEUE_SIZE,
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            log_spans: false,
            max_tag_value_len: DEFAULT_MAX_TAG_VALUE_LEN,
            max_baggage_value_len: DEFAULT_MAX_BAGGAGE_VALUE_LEN,
            max_logs_per_span: 0,
            extracted_baggage: BaggageLimits {
                max_items: DEFAULT_MAX_EXTRACTED_BAGGAGE_ITEMS,
                max_bytes: DEFAULT_MAX_EXTRACTED_BAGGAGE_BYTES,
            },
            baggage_allow_list: None,
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
            propagation: vec![Propagation::Jaeger],
            observers: Vec::new(),
        }
    }

    /// A builder configured only from the process environment; the service
    /// name comes from `JAEGER_SERVICE_NAME`. A `JAEGER_*` variable it does
    /// not read (a misspelt one) is logged as a warning.
    ///
    /// # Errors
    ///
    /// A configuration error naming the variable and value when one is
    /// invalid, or when `JAEGER_SERVICE_NAME` is missing (unless
    /// `JAEGER_DISABLED=true`).
    pub fn from_env() -> Result<Self, Error> {
        warn_of_unread_variables();
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// As [`from_env`](TracerBuilder::from_env), reading variables through
    /// `lookup` instead of the process environment.
    ///
    /// # Errors
    ///
    /// As [`from_env`](TracerBuilder::from_env).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let disabled = match get(&lookup, ENV_DISABLED) {
            Some(v) => parse_bool(ENV_DISABLED, &v)?,
            None => false,
        };
        let name = get(&lookup, ENV_SERVICE_NAME);
        if name.is_none() && !disabled {
            return Err(Error::config(format!(
                "environment variable {ENV_SERVICE_NAME} is required"
            )));
        }
        TracerBuilder::new(name.unwrap_or_default()).with_env_lookup(lookup)
    }

    /// Applies the `JAEGER_*` environment variables that are set on top of
    /// this builder (they win over earlier builder calls).
    ///
    /// # Errors
    ///
    /// A configuration error naming the variable and value when one is
    /// invalid.
    pub fn with_env(self) -> Result<Self, Error> {
        warn_of_unread_variables();
        self.with_env_lookup(|k| std::env::var(k).ok())
    }

    /// As [`with_env`](TracerBuilder::with_env), reading variables through
    /// `lookup`.
    ///
    /// # Errors
    ///
    /// As [`with_env`](TracerBuilder::with_env).
    pub fn with_env_lookup(
        mut self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, Error> {
        let l = &lookup;
        if let Some(v) = get(l, ENV_SERVICE_NAME) {
            self.service_name = v;
        }
        if let Some(v) = get(l, ENV_DISABLED) {
            self.disabled = parse_bool(ENV_DISABLED, &v)?;
        }
        if let Some(v) = get(l, ENV_AGENT_HOST) {
            if let Some(why) = agent_host_problem(&v) {
                return Err(Error::env(ENV_AGENT_HOST, &v, why));
            }
            self.agent_host = v;
        }
        if let Some(v) = get(l, ENV_AGENT_PORT) {
            let port: u16 = v
                .parse()
                .map_err(|_| Error::env(ENV_AGENT_PORT, &v, "not a port number (1-65535)"))?;
            if port == 0 {
                return Err(Error::env(ENV_AGENT_PORT, &v, "port 0 is not a port"));
            }
            self.agent_port = Some(port);
        }
        if let Some(url) = get(l, ENV_ENDPOINT) {
            // (Shown without any credentials in it.)
            reqwest::Url::parse(&url)
                .map_err(|e| Error::env(ENV_ENDPOINT, &redact_url(&url), e))?;
            self.collector = Some(Collector::new(url));
        }
        // Credentials are never echoed in errors.
        match (
            lookup(ENV_USER).filter(|v| !v.is_empty()),
            lookup(ENV_PASSWORD).filter(|v| !v.is_empty()),
        ) {
            (Some(user), Some(password)) => {
                if let Some(c) = self.collector.take() {
                    self.collector = Some(c.with_basic_auth(user, password));
                }
            }
            (None, None) => {}
            _ => {
                return Err(Error::config(format!(
                    "environment variables {ENV_USER} and {ENV_PASSWORD} must be set together"
                )))
            }
        }
        if let Some(token) = lookup(ENV_AUTH_TOKEN).filter(|v| !v.is_empty()) {
            if let Some(c) = self.collector.take() {
                self.collector = Some(c.with_bearer_token(token));
            }
        }
        if let Some(v) = get(l, ENV_TAGS) {
            self.tags.extend(parse_tags(&v, l)?);
        }
        if let Some(v) = get(l, ENV_TRACEID_128BIT) {
            self.trace_id_128 = parse_bool(ENV_TRACEID_128BIT, &v)?;
        }
        let sampler_type = get(l, ENV_SAMPLER_TYPE);
        let sampler_param = get(l, ENV_SAMPLER_PARAM);
        // The remote sampler's settings are checked whatever the sampler,
        // so a mistyped one is an error, not silently unused.
        let remote = RemoteEnv::read(l)?;
        if sampler_type.is_some() || sampler_param.is_some() {
            self.sampler =
                sampler_from_env(sampler_type.as_deref(), sampler_param.as_deref(), remote)?;
        }
        if let Some(v) = get(l, ENV_REPORTER_MAX_QUEUE_SIZE) {
            let n: usize = v.parse().map_err(|_| {
                Error::env(
                    ENV_REPORTER_MAX_QUEUE_SIZE,
                    &v,
                    "not a non-negative integer",
                )
            })?;
            if !(1..=MAX_QUEUE_SIZE).contains(&n) {
                return Err(Error::env(
                    ENV_REPORTER_MAX_QUEUE_SIZE,
                    &v,
                    format!("must be from 1 to {MAX_QUEUE_SIZE}"),
                ));
            }
            self.queue_size = n;
        }
        if let Some(v) = get(l, ENV_REPORTER_FLUSH_INTERVAL) {
            self.flush_interval = positive_duration(ENV_REPORTER_FLUSH_INTERVAL, &v)?;
        }
        if let Some(v) = get(l, ENV_REPORTER_LOG_SPANS) {
            self.log_spans = parse_bool(ENV_REPORTER_LOG_SPANS, &v)?;
        }
        if let Some(v) = get(l, ENV_REPORTER_ATTEMPT_RECONNECT_INTERVAL) {
            self.agent_resolve_interval = Some(positive_duration(
                ENV_REPORTER_ATTEMPT_RECONNECT_INTERVAL,
                &v,
            )?);
        }
        if let Some(v) = get(l, ENV_REPORTER_ATTEMPT_RECONNECTING_DISABLED) {
            if parse_bool(ENV_REPORTER_ATTEMPT_RECONNECTING_DISABLED, &v)? {
                self.agent_resolve_interval = None;
            }
        }
        if let Some(v) = get(l, ENV_PROPAGATION) {
            let mut formats = Vec::new();
            for part in v.split(',').filter(|p| !p.trim().is_empty()) {
                let p: Propagation = part
                    .parse()
                    .map_err(|e| Error::env(ENV_PROPAGATION, &v, e))?;
                if !formats.contains(&p) {
                    formats.push(p);
                }
            }
            if formats.is_empty() {
                return Err(Error::env(ENV_PROPAGATION, &v, "names no format"));
            }
            self.propagation = formats;
        }
        Ok(self)
    }

    /// Makes the tracer a no-op (`JAEGER_DISABLED`).
    pub fn with_disabled(mut self, disabled: bool) -> Self {
        self.disabled = disabled;
        self
    }

    /// The agent's host (`JAEGER_AGENT_HOST`, default `localhost`). Resolved
    /// again every 30 s (see
    /// [`with_agent_resolve_interval`](TracerBuilder::with_agent_resolve_interval)).
    pub fn with_agent_host(mut self, host: impl Into<String>) -> Self {
        self.agent_host = host.into();
        self
    }

    /// The agent's UDP port (`JAEGER_AGENT_PORT`, default 6831 for compact,
    /// 6832 for binary; 0 is an error at `init`).
    pub fn with_agent_port(mut self, port: u16) -> Self {
        self.agent_port = Some(port);
        self
    }

    /// How often the agent's host name is resolved again, so that a moved
    /// agent (a restarted container, a changed DNS record) is followed
    /// (`JAEGER_REPORTER_ATTEMPT_RECONNECT_INTERVAL`, default 30 s; zero is
    /// an error at `init`); `None` keeps the first address
    /// (`JAEGER_REPORTER_ATTEMPT_RECONNECTING_DISABLED=true`).
    pub fn with_agent_resolve_interval(mut self, interval: Option<Duration>) -> Self {
        self.agent_resolve_interval = interval;
        self
    }

    /// The Thrift protocol spoken to the agent (default compact).
    pub fn with_agent_protocol(mut self, protocol: AgentProtocol) -> Self {
        self.agent_protocol = protocol;
        self
    }

    /// The largest datagram sent (default 65 000 bytes, at most 65 507).
    pub fn with_max_packet_size(mut self, bytes: usize) -> Self {
        self.max_packet_size = bytes;
        self
    }

    /// Sends spans to a collector over HTTP instead of the agent over UDP
    /// (`JAEGER_ENDPOINT`, with `JAEGER_USER`/`JAEGER_PASSWORD` or
    /// `JAEGER_AUTH_TOKEN`).
    pub fn with_collector(mut self, collector: Collector) -> Self {
        self.collector = Some(collector);
        self
    }

    /// The sampler (`JAEGER_SAMPLER_TYPE`/`JAEGER_SAMPLER_PARAM`; default:
    /// sample everything).
    pub fn with_sampler(mut self, sampler: impl Sampler + 'static) -> Self {
        let any: &dyn std::any::Any = &sampler;
        self.sampler = match any.downcast_ref::<ConstSampler>() {
            Some(c) => SamplerChoice::Const(c.decision()),
            None => SamplerChoice::Ready(Box::new(sampler)),
        };
        self
    }

    /// A remote sampler, started by [`init`](TracerBuilder::init) with this
    /// tracer's service name (`JAEGER_SAMPLER_TYPE=remote`). Without an
    /// endpoint it polls port 5778 of the agent host.
    pub fn with_remote_sampler(mut self, sampler: RemoteSamplerBuilder) -> Self {
        self.sampler = SamplerChoice::Remote(sampler);
        self
    }

    /// Adds a tracer (process) tag (`JAEGER_TAGS`). A tag named `hostname`
    /// or `ip` replaces the detected one; an empty key is an error at
    /// `init`.
    pub fn with_tag(mut self, key: impl Into<String>, value: impl Into<TagValue>) -> Self {
        self.tags.push(Tag::new(key.into(), value));
        self
    }

    /// 128-bit trace ids for new traces (`JAEGER_TRACEID_128BIT`).
    pub fn with_trace_id_128bit(mut self, enabled: bool) -> Self {
        self.trace_id_128 = enabled;
        self
    }

    /// The bound of the span queue (`JAEGER_REPORTER_MAX_QUEUE_SIZE`,
    /// default 20 000, at most [`MAX_QUEUE_SIZE`]). When it is full,
    /// finished spans are dropped and counted.
    pub fn with_queue_size(mut self, spans: usize) -> Self {
        self.queue_size = spans;
        self
    }

    /// The longest a span waits in the reporter
    /// (`JAEGER_REPORTER_FLUSH_INTERVAL`, default 1 s).
    pub fn with_flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = interval;
        self
    }

    /// Logs every reported span through the `log` crate, target
    /// `jaeger_tracer::spans` (`JAEGER_REPORTER_LOG_SPANS`).
    pub fn with_log_spans(mut self, enabled: bool) -> Self {
        self.log_spans = enabled;
        self
    }

    /// Cap of string tag values and operation names in bytes (default 1024,
    /// at least 1); longer ones are truncated when encoded.
    pub fn with_max_tag_value_len(mut self, bytes: usize) -> Self {
        self.max_tag_value_len = bytes;
        self
    }

    /// Cap of baggage values in bytes (default 2048, at least 1); longer
    /// ones are truncated and counted.
    pub fn with_max_baggage_value_len(mut self, bytes: usize) -> Self {
        self.max_baggage_value_len = bytes;
        self
    }

    /// Caps the logs a span keeps (default 0: no cap). Beyond `logs`, a
    /// span keeps its oldest half and its newest half, and in between one
    /// log saying how many went (`event=dropped Span logs`,
    /// `dropped_log_count`), so that a long span logging in a loop holds
    /// bounded memory.
    pub fn with_max_logs_per_span(mut self, logs: usize) -> Self {
        self.max_logs_per_span = logs;
        self
    }

    /// Caps the baggage accepted by extract: at most `items` items and
    /// `bytes` bytes of keys and values (default 64 and 8192). Text formats
    /// keep the first items that fit and count the rest as dropped; the
    /// binary format rejects input beyond the caps.
    pub fn with_max_extracted_baggage(mut self, items: usize, bytes: usize) -> Self {
        self.extracted_baggage = BaggageLimits {
            max_items: items,
            max_bytes: bytes,
        };
        self
    }

    /// Only these baggage keys may be set on spans; others are refused and
    /// counted (`MetricsSnapshot::baggage_rejected`).
    pub fn with_baggage_allow_list<I, K>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: Into<String>,
    {
        self.baggage_allow_list = Some(keys.into_iter().map(Into::into).collect());
        self
    }

    /// Adds a span observer, called on every span's start and finish.
    pub fn with_observer(mut self, observer: impl SpanObserver + 'static) -> Self {
        self.observers.push(std::sync::Arc::new(observer));
        self
    }

    /// Deadline of [`Tracer::flush`], [`Tracer::close`] and of the guard's
    /// drop (default 5 s).
    pub fn with_close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// The propagation formats, in extract order (`JAEGER_PROPAGATION`,
    /// default `jaeger`).
    pub fn with_propagation(mut self, formats: impl IntoIterator<Item = Propagation>) -> Self {
        self.propagation = formats.into_iter().collect();
        self
    }

    fn validate(&self) -> Result<(), Error> {
        if self.service_name.trim().is_empty() {
            return Err(Error::config("the service name is empty"));
        }
        if !(1..=MAX_QUEUE_SIZE).contains(&self.queue_size) {
            return Err(Error::config(format!(
                "the queue size {} is outside 1..={MAX_QUEUE_SIZE}",
                self.queue_size
            )));
        }
        if self.flush_interval.is_zero() {
            return Err(Error::config("the flush interval must be positive"));
        }
        if self.agent_resolve_interval == Some(Duration::ZERO) {
            return Err(Error::config(
                "the agent resolve interval must be positive (None keeps the first address)",
            ));
        }
        if !(512..=MAX_UDP_PAYLOAD).contains(&self.max_packet_size) {
            return Err(Error::config(format!(
                "the max packet size {} is outside 512..={MAX_UDP_PAYLOAD}",
                self.max_packet_size
            )));
        }
        if self.max_tag_value_len == 0 {
            return Err(Error::config(
                "a max tag value length of 0 would empty every string tag and operation name",
            ));
        }
        if self.max_baggage_value_len == 0 {
            return Err(Error::config(
                "a max baggage value length of 0 would empty every baggage value \
                 (an empty baggage allow list refuses baggage)",
            ));
        }
        if self.agent_host.trim().is_empty() {
            return Err(Error::config("the agent host is empty"));
        }
        if let Some(why) = agent_host_problem(&self.agent_host) {
            return Err(Error::config(format!(
                "the agent host {:?} {why}",
                self.agent_host
            )));
        }
        if self.agent_port == Some(0) {
            return Err(Error::config(
                "the agent port 0 is not one to send to (1-65535)",
            ));
        }
        if self.tags.iter().any(|t| t.key.is_empty()) {
            return Err(Error::config("a tracer tag (with_tag) has an empty key"));
        }
        if self.propagation.is_empty() {
            return Err(Error::config("no propagation format is configured"));
        }
        Ok(())
    }

    fn process_tags(&self) -> Vec<Tag> {
        let mut tags = vec![Tag::new(
            "jaeger.version",
            format!("Rust-{}", env!("CARGO_PKG_VERSION")),
        )];
        let has = |k: &str| self.tags.iter().any(|t| t.key == k);
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        if !has("hostname") {
            tags.push(Tag::new("hostname", host.clone()));
        }
        if !has("ip") {
            tags.push(Tag::new("ip", host_ipv4(&host).to_string()));
        }
        tags.push(Tag::new("client-uuid", client_uuid()));
        tags.extend(self.tags.iter().cloned());
        tags
    }

    /// Starts the reporter thread and returns the tracer with a guard that
    /// closes it (flushing what was finished) when dropped.
    ///
    /// # Errors
    ///
    /// A configuration error for an invalid setting (empty service name,
    /// zero queue, packet size outside 512..=65507, …), an I/O error when the
    /// reporter thread cannot be spawned.
    pub fn init(self) -> Result<(Tracer, TracerGuard), Error> {
        if self.disabled {
            return Ok((Tracer::noop(), TracerGuard::new(Tracer::noop())));
        }
        self.validate()?;
        let (protocol, default_port) = match self.agent_protocol {
            AgentProtocol::Compact => (WireProtocol::Compact, DEFAULT_AGENT_PORT_COMPACT),
            AgentProtocol::Binary => (WireProtocol::Binary, DEFAULT_AGENT_PORT_BINARY),
        };
        let transport: Box<dyn Transport> = match self.collector.clone() {
            Some(c) => Box::new(c.into_transport()?),
            None => Box::new(
                UdpTransport::new(
                    self.agent_host.clone(),
                    self.agent_port.unwrap_or(default_port),
                    protocol,
                    self.max_packet_size,
                )
                .with_resolve_interval(self.agent_resolve_interval),
            ),
        };
        self.init_with_transport(transport)
    }

    /// [`init`](TracerBuilder::init) with the given transport (the tests'
    /// own, to make the network misbehave); settings already validated.
    pub(crate) fn init_with_transport(
        self,
        transport: Box<dyn Transport>,
    ) -> Result<(Tracer, TracerGuard), Error> {
        let reporter = Reporter::start(
            ReporterConfig {
                service_name: self.service_name.clone(),
                process_tags: self.process_tags(),
                queue_size: self.queue_size,
                flush_interval: self.flush_interval,
                max_tag_value_len: self.max_tag_value_len,
                log_spans: self.log_spans,
            },
            transport,
        )?;
        let tracer = self.into_tracer(reporter)?;
        Ok((tracer.clone(), TracerGuard::new(tracer)))
    }

    /// A tracer whose spans are kept in memory instead of sent: for users'
    /// own tests (feature `testing`). Sampling, propagation, limits and
    /// observers work as configured.
    ///
    /// # Errors
    ///
    /// A configuration error for an invalid setting.
    #[cfg(feature = "testing")]
    pub fn init_in_memory(self) -> Result<(Tracer, crate::testing::InMemoryReporter), Error> {
        self.validate()?;
        let store = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let reporter = Reporter::in_memory(store.clone());
        let tracer = self.into_tracer(reporter)?;
        Ok((tracer, crate::testing::InMemoryReporter::new(store)))
    }

    /// The tracer around `reporter`; starts the remote sampler if chosen.
    fn into_tracer(self, reporter: Reporter) -> Result<Tracer, Error> {
        let never_samples = matches!(self.sampler, SamplerChoice::Const(false));
        let always_samples = matches!(self.sampler, SamplerChoice::Const(true));
        let (sampler, remote_sampler): (Box<dyn Sampler>, _) = match self.sampler {
            SamplerChoice::Const(decision) => (Box::new(ConstSampler::new(decision)), None),
            SamplerChoice::Ready(s) => (s, None),
            SamplerChoice::Remote(b) => {
                let remote = std::sync::Arc::new(
                    b.for_tracer(&self.service_name, &self.agent_host).start()?,
                );
                (Box::new(remote.clone()) as Box<dyn Sampler>, Some(remote))
            }
        };
        Ok(Tracer::from_inner(TracerInner {
            id: TracerId::fresh(),
            service_name: self.service_name,
            sampler,
            never_samples,
            always_samples,
            trace_id_128: self.trace_id_128,
            propagation: self.propagation,
            reporter,
            limits: Limits {
                max_baggage_value_len: self.max_baggage_value_len,
                max_logs_per_span: self.max_logs_per_span,
                extracted_baggage: self.extracted_baggage,
                baggage_allow_list: self.baggage_allow_list,
            },
            close_timeout: self.close_timeout,
            observers: self.observers,
            remote_sampler,
        }))
    }

    /// [`init`](TracerBuilder::init), then installs the tracer as the
    /// [global](crate::global) one.
    ///
    /// # Errors
    ///
    /// As [`init`](TracerBuilder::init).
    pub fn init_global(self) -> Result<(Tracer, TracerGuard), Error> {
        let (tracer, guard) = self.init()?;
        crate::global::set_tracer(tracer.clone());
        Ok((tracer, guard))
    }
}

/// The duration `value` of variable `var`, which must be positive.
fn positive_duration(var: &str, value: &str) -> Result<Duration, Error> {
    let d = parse_duration(value).map_err(|why| Error::env(var, value, why))?;
    if d.is_zero() {
        return Err(Error::env(var, value, "must be positive"));
    }
    Ok(d)
}

fn get(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name)
        .filter(|v| !v.trim().is_empty())
        .map(|v| v.trim().to_owned())
}

/// What is wrong with an agent host that is a URL or carries a port (a
/// host name or an IP address is expected; the port is set apart).
fn agent_host_problem(host: &str) -> Option<&'static str> {
    if host.contains("://") {
        return Some(
            "is a URL, not a host name: give the host alone (a collector URL goes in \
             JAEGER_ENDPOINT or with_collector)",
        );
    }
    let with_port = match host.rsplit_once(':') {
        // `[::1]:6831`
        Some((h, port)) if h.starts_with('[') => h.ends_with(']') && !port.is_empty(),
        // `agent:6831`, but not the IPv6 `::1`
        Some((h, port)) => {
            !h.contains(':') && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    };
    with_port.then_some(
        "carries a port: give the host alone and the port apart (JAEGER_AGENT_PORT, with_agent_port)",
    )
}

fn parse_bool(variable: &str, value: &str) -> Result<bool, Error> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(Error::env(variable, value, "not a boolean (true or false)")),
    }
}

/// The remote sampler's settings from the environment, each checked.
#[derive(Default)]
struct RemoteEnv {
    endpoint: Option<String>,
    max_operations: Option<usize>,
    refresh_interval: Option<Duration>,
}

impl RemoteEnv {
    fn read(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let mut remote = RemoteEnv::default();
        if let Some(url) = get(lookup, ENV_SAMPLING_ENDPOINT) {
            reqwest::Url::parse(&url)
                .map_err(|e| Error::env(ENV_SAMPLING_ENDPOINT, &redact_url(&url), e))?;
            remote.endpoint = Some(url);
        } else if let Some(v) = get(lookup, ENV_SAMPLER_MANAGER_HOST_PORT) {
            // A URL as the Go client takes it, or `host:port` as the Java
            // client does; a host alone is the agent's, whose sampling
            // port is 5778 (not HTTP's 80).
            let host_port = !v.contains("://");
            let url = if host_port {
                format!("http://{v}/sampling")
            } else {
                v.clone()
            };
            let mut parsed = reqwest::Url::parse(&url)
                .map_err(|e| Error::env(ENV_SAMPLER_MANAGER_HOST_PORT, &redact_url(&v), e))?;
            if parsed.host_str().is_none_or(str::is_empty) {
                return Err(Error::env(
                    ENV_SAMPLER_MANAGER_HOST_PORT,
                    &redact_url(&v),
                    "names no host",
                ));
            }
            let url = if host_port && parsed.port().is_none() && !v.ends_with(":80") {
                let _ = parsed.set_port(Some(crate::sampler::DEFAULT_SAMPLING_PORT));
                parsed.to_string()
            } else {
                url
            };
            remote.endpoint = Some(url);
        }
        if let Some(v) = get(lookup, ENV_SAMPLER_MAX_OPERATIONS) {
            let n: usize = v.parse().map_err(|_| {
                Error::env(ENV_SAMPLER_MAX_OPERATIONS, &v, "not a non-negative integer")
            })?;
            remote.max_operations = Some(n);
        }
        if let Some(v) = get(lookup, ENV_SAMPLER_REFRESH_INTERVAL) {
            let d = parse_duration(&v)
                .map_err(|why| Error::env(ENV_SAMPLER_REFRESH_INTERVAL, &v, why))?;
            if d < crate::sampler::MIN_REFRESH_INTERVAL {
                return Err(Error::env(
                    ENV_SAMPLER_REFRESH_INTERVAL,
                    &v,
                    "must be at least 100ms",
                ));
            }
            remote.refresh_interval = Some(d);
        }
        Ok(remote)
    }
}

fn sampler_from_env(
    kind: Option<&str>,
    param: Option<&str>,
    remote: RemoteEnv,
) -> Result<SamplerChoice, Error> {
    let kind = kind.unwrap_or("const");
    let param_value = |default: f64| -> Result<f64, Error> {
        match param {
            None => Ok(default),
            Some(p) => p
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| Error::env(ENV_SAMPLER_PARAM, p, "not a number")),
        }
    };
    let param_err = |e: Error| Error::env(ENV_SAMPLER_PARAM, param.unwrap_or(""), e);
    let ready = |s: Box<dyn Sampler>| Ok(SamplerChoice::Ready(s));
    match kind {
        "const" => Ok(SamplerChoice::Const(param_value(1.0)? != 0.0)),
        "probabilistic" => ready(Box::new(
            ProbabilisticSampler::new(param_value(0.001)?).map_err(param_err)?,
        )),
        "ratelimiting" => ready(Box::new(
            RateLimitingSampler::new(param_value(1.0)?).map_err(param_err)?,
        )),
        "remote" => {
            let rate = param_value(crate::sampler::DEFAULT_INITIAL_RATE)?;
            ProbabilisticSampler::new(rate).map_err(param_err)?;
            let mut b = RemoteSampler::builder("").with_initial_rate(rate);
            if let Some(url) = remote.endpoint {
                b = b.with_endpoint(url);
            }
            if let Some(n) = remote.max_operations {
                b = b.with_max_operations(n);
            }
            if let Some(d) = remote.refresh_interval {
                b = b.with_refresh_interval(d);
            }
            Ok(SamplerChoice::Remote(b))
        }
        other => Err(Error::env(
            ENV_SAMPLER_TYPE,
            other,
            "unknown sampler type (const, probabilistic, ratelimiting, remote)",
        )),
    }
}

/// Parses `JAEGER_TAGS`: `k=v` items separated by commas; a value
/// `${VAR}` or `${VAR:default}` is read from the environment.
fn parse_tags(value: &str, lookup: &impl Fn(&str) -> Option<String>) -> Result<Vec<Tag>, Error> {
    let mut tags = Vec::new();
    for item in value.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let Some((k, v)) = item.split_once('=') else {
            return Err(Error::env(
                ENV_TAGS,
                value,
                format!("item {item:?} has no '='"),
            ));
        };
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() {
            return Err(Error::env(
                ENV_TAGS,
                value,
                format!("item {item:?} has an empty key"),
            ));
        }
        let v = if let Some(inner) = v.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
            let (var, default) = match inner.split_once(':') {
                Some((var, d)) => (var.trim(), Some(d)),
                None => (inner.trim(), None),
            };
            match (lookup(var).filter(|x| !x.is_empty()), default) {
                (Some(x), _) => x,
                (None, Some(d)) => d.to_owned(),
                (None, None) => {
                    return Err(Error::env(
                        ENV_TAGS,
                        value,
                        format!(
                            "item {item:?} refers to {var}, which is not set and has no default"
                        ),
                    ))
                }
            }
        } else {
            v.to_owned()
        };
        tags.push(Tag::new(k.to_owned(), v));
    }
    Ok(tags)
}

/// Parses a duration with units: `500ms`, `1s`, `1m30s`, `1.5h`, `250us`.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("{s:?} has a number without a unit (ns, us, ms, s, m, h)"))?;
        if num_end == 0 {
            return Err(format!("{s:?} is not a duration such as 500ms or 1s"));
        }
        let number: f64 = rest[..num_end]
            .parse()
            .map_err(|_| format!("{s:?} has an invalid number"))?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let secs = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            u => {
                return Err(format!(
                    "{s:?} has an unknown unit {u:?} (ns, us, ms, s, m, h)"
                ))
            }
        };
        total += number * secs;
        rest = &rest[unit_end..];
    }
    if !total.is_finite() || total > 1e9 {
        return Err(format!("{s:?} is too long"));
    }
    Ok(Duration::from_secs_f64(total))
}

/// The host's IPv4 address for the `ip` process tag: the source address
/// of the default route, found without a name lookup or a packet sent;
/// failing that (no route), the first IPv4 address the host name resolves
/// to (not a loopback one if it has another); failing that, 127.0.0.1.
///
/// The route comes first because resolving the machine's own name may
/// wait on DNS or mDNS for seconds where the name is in no hosts file (a
/// laptop on macOS, for one), and `init` would wait with it.
fn host_ipv4(host: &str) -> IpAddr {
    first_ipv4(default_route_ipv4, || resolved_ipv4(host))
}

fn first_ipv4(
    route: impl FnOnce() -> Option<Ipv4Addr>,
    resolve: impl FnOnce() -> Option<IpAddr>,
) -> IpAddr {
    route()
        .map(IpAddr::V4)
        .or_else(resolve)
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// The address a datagram to a public address would leave from: asked of
/// the kernel by connecting a UDP socket, which sends nothing.
fn default_route_ipv4() -> Option<Ipv4Addr> {
    let socket = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    // A documentation address (TEST-NET-1, RFC 5737), reached by the
    // default route like any public one; nothing is sent to it, only the
    // route is looked up.
    socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).ok()?;
    match socket.local_addr().ok()?.ip() {
        IpAddr::V4(ip) if !ip.is_unspecified() => Some(ip),
        _ => None,
    }
}

fn resolved_ipv4(host: &str) -> Option<IpAddr> {
    let v4: Vec<IpAddr> = (host, 0)
        .to_socket_addrs()
        .ok()?
        .map(|a| a.ip())
        .filter(IpAddr::is_ipv4)
        .collect();
    v4.iter()
        .find(|ip| !ip.is_loopback())
        .or(v4.first())
        .copied()
}

fn client_uuid() -> String {
    let v: u128 = rand::random();
    let h = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    /// `JAEGER_SAMPLER_MANAGER_HOST_PORT` without a port names the agent,
    /// whose sampling port is 5778: not HTTP's 80. A port given, 80 among
    /// them, and a URL are kept as they are.
    #[test]
    fn a_sampling_manager_host_without_a_port_means_the_agents_port() {
        let endpoint = |v: &str| {
            RemoteEnv::read(&env(&[(ENV_SAMPLER_MANAGER_HOST_PORT, v)]))
                .unwrap()
                .endpoint
                .unwrap()
        };
        let cases = [
            ("jaeger-agent", "http://jaeger-agent:5778/sampling"),
            ("[::1]", "http://[::1]:5778/sampling"),
            ("jaeger-agent:5779", "http://jaeger-agent:5779/sampling"),
            ("jaeger-agent:80", "http://jaeger-agent:80/sampling"),
            (
                "http://jaeger-agent/sampling",
                "http://jaeger-agent/sampling",
            ),
        ];
        for (value, url) in cases {
            assert_eq!(endpoint(value), url, "{value}");
        }
    }

    /// Const samplers are recognised (the tracer answers "never" without a
    /// call); any other sampler is kept as given.
    #[test]
    fn const_samplers_are_known_to_the_tracer() {
        let b = TracerBuilder::new("s").with_sampler(ConstSampler::new(false));
        assert!(matches!(b.sampler, SamplerChoice::Const(false)));
        let b = TracerBuilder::new("s").with_sampler(ProbabilisticSampler::new(0.5).unwrap());
        assert!(matches!(b.sampler, SamplerChoice::Ready(_)));
        assert!(matches!(
            TracerBuilder::new("s").sampler,
            SamplerChoice::Const(true)
        ));
        let (t, _g) = TracerBuilder::new("s")
            .with_agent_host("127.0.0.1")
            .with_sampler(ConstSampler::new(false))
            .init()
            .unwrap();
        let mut span = t.start("op");
        assert!(!span.context().is_sampled());
        span.set_tag(crate::SAMPLING_PRIORITY, 1);
        assert!(span.is_recording(), "sampling.priority still overrides");
    }

    #[test]
    fn durations_need_units() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("250us").unwrap(), Duration::from_micros(250));
        for bad in ["10", "", "ms", "1x", "1.2.3s", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_every_core_variable() {
        let b = TracerBuilder::from_lookup(env(&[
            ("JAEGER_SERVICE_NAME", "svc"),
            ("JAEGER_AGENT_HOST", "agent.local"),
            ("JAEGER_AGENT_PORT", "7000"),
            ("JAEGER_TAGS", "a=1, b=${JT_B:dflt},c=${JT_C}"),
            ("JT_C", "from-env"),
            ("JAEGER_TRACEID_128BIT", "true"),
            ("JAEGER_REPORTER_MAX_QUEUE_SIZE", "42"),
            ("JAEGER_REPORTER_FLUSH_INTERVAL", "250ms"),
            ("JAEGER_REPORTER_LOG_SPANS", "1"),
            ("JAEGER_SAMPLER_TYPE", "probabilistic"),
            ("JAEGER_SAMPLER_PARAM", "0.25"),
        ]))
        .unwrap();
        assert_eq!(b.service_name, "svc");
        assert_eq!(b.agent_host, "agent.local");
        assert_eq!(b.agent_port, Some(7000));
        let tags: Vec<(String, String)> = b
            .tags
            .iter()
            .map(|t| (t.key.to_string(), t.value.to_string()))
            .collect();
        assert_eq!(
            tags,
            [("a", "1"), ("b", "dflt"), ("c", "from-env")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        assert!(b.trace_id_128);
        assert_eq!(b.queue_size, 42);
        assert_eq!(b.flush_interval, Duration::from_millis(250));
        assert!(b.log_spans);
        assert!(format!("{:?}", b.sampler).contains("0.25"));
    }

    #[test]
    fn an_endpoint_that_does_not_parse_is_shown_without_its_credentials() {
        let err = TracerBuilder::from_lookup(env(&[
            ("JAEGER_SERVICE_NAME", "s"),
            ("JAEGER_ENDPOINT", "http://user:secret@bad host/api/traces"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("JAEGER_ENDPOINT") && err.contains("bad host"),
            "{err}"
        );
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn invalid_values_name_variable_and_value() {
        let cases: &[(&str, &str)] = &[
            ("JAEGER_AGENT_PORT", "70000"),
            ("JAEGER_AGENT_PORT", "abc"),
            ("JAEGER_DISABLED", "yes"),
            ("JAEGER_TRACEID_128BIT", "maybe"),
            ("JAEGER_REPORTER_MAX_QUEUE_SIZE", "-5"),
            ("JAEGER_REPORTER_MAX_QUEUE_SIZE", "0"),
            // Slots no machine could allocate: an error, not an abort.
            ("JAEGER_REPORTER_MAX_QUEUE_SIZE", "99999999999"),
            ("JAEGER_REPORTER_FLUSH_INTERVAL", "10"),
            ("JAEGER_REPORTER_LOG_SPANS", "2"),
            ("JAEGER_TAGS", "novalue"),
            ("JAEGER_TAGS", "=v"),
            ("JAEGER_TAGS", "k=${UNSET_VAR_FOR_TEST}"),
            ("JAEGER_SAMPLER_TYPE", "sometimes"),
            ("JAEGER_SAMPLER_PARAM", "lots"),
            // The remote sampler's settings, checked with any sampler (here
            // the default const one): a mistake is not silently unused.
            ("JAEGER_SAMPLING_ENDPOINT", "::"),
            ("JAEGER_ENDPOINT", "not a url"),
            ("JAEGER_SAMPLER_MAX_OPERATIONS", "-3"),
            ("JAEGER_SAMPLER_REFRESH_INTERVAL", "abc"),
            ("JAEGER_SAMPLER_REFRESH_INTERVAL", "0s"),
            // `1ms` mistyped for `1m` would flood the agent with queries.
            ("JAEGER_SAMPLER_REFRESH_INTERVAL", "1ms"),
            ("JAEGER_PROPAGATION", "carrier-pigeon"),
        ];
        for (var, value) in cases {
            let err =
                TracerBuilder::from_lookup(env(&[("JAEGER_SERVICE_NAME", "s"), (var, value)]))
                    .unwrap_err();
            let text = err.to_string();
            assert!(err.is_config(), "{var}={value}: {text}");
            assert!(text.contains(var), "{var}={value}: {text}");
        }
        let err = TracerBuilder::from_lookup(env(&[
            ("JAEGER_SERVICE_NAME", "s"),
            ("JAEGER_SAMPLER_TYPE", "probabilistic"),
            ("JAEGER_SAMPLER_PARAM", "1.5"),
        ]))
        .unwrap_err();
        assert!(
            err.to_string().contains("JAEGER_SAMPLER_PARAM") && err.to_string().contains("1.5")
        );
    }

    #[test]
    fn service_name_required_unless_disabled() {
        let err = TracerBuilder::from_lookup(env(&[])).unwrap_err();
        assert!(err.to_string().contains("JAEGER_SERVICE_NAME"));
        let (tracer, _g) = TracerBuilder::from_lookup(env(&[("JAEGER_DISABLED", "true")]))
            .unwrap()
            .init()
            .unwrap();
        assert!(tracer.is_noop());
    }

    #[test]
    fn empty_variables_are_unset() {
        let b = TracerBuilder::from_lookup(env(&[
            ("JAEGER_SERVICE_NAME", "s"),
            ("JAEGER_AGENT_PORT", " "),
        ]))
        .unwrap();
        assert_eq!(b.agent_port, None);
    }

    #[test]
    fn the_go_clients_reconnect_variables_set_how_the_agent_is_resolved() {
        let with = |vars: &[(&str, &str)]| {
            let mut all = vec![("JAEGER_SERVICE_NAME", "s")];
            all.extend_from_slice(vars);
            TracerBuilder::from_lookup(env(&all))
        };
        let default = with(&[]).unwrap().agent_resolve_interval;
        assert_eq!(default, Some(Duration::from_secs(30)));
        let b = with(&[("JAEGER_REPORTER_ATTEMPT_RECONNECT_INTERVAL", "5s")]).unwrap();
        assert_eq!(b.agent_resolve_interval, Some(Duration::from_secs(5)));
        // Disabled wins over an interval.
        let b = with(&[
            ("JAEGER_REPORTER_ATTEMPT_RECONNECT_INTERVAL", "5s"),
            ("JAEGER_REPORTER_ATTEMPT_RECONNECTING_DISABLED", "true"),
        ])
        .unwrap();
        assert_eq!(b.agent_resolve_interval, None);
        let b = with(&[("JAEGER_REPORTER_ATTEMPT_RECONNECTING_DISABLED", "false")]).unwrap();
        assert_eq!(b.agent_resolve_interval, default);
        for (var, value) in [
            ("JAEGER_REPORTER_ATTEMPT_RECONNECT_INTERVAL", "0s"),
            ("JAEGER_REPORTER_ATTEMPT_RECONNECT_INTERVAL", "30"),
            ("JAEGER_REPORTER_ATTEMPT_RECONNECTING_DISABLED", "maybe"),
        ] {
            let err = with(&[(var, value)]).unwrap_err();
            assert!(
                err.to_string().contains(var) && err.to_string().contains(value),
                "{err}"
            );
        }
    }

    #[test]
    fn unread_jaeger_variables_are_named_with_the_likely_one() {
        let warnings = unread_variables(
            [
                "PATH",
                "JAEGER_SERVICE_NAME",
                "JAEGER_SAMPLER_PARAMS",
                "JAEGER_AGENT_HOSTNAME",
                "JAEGER_RPC_METRICS",
                "JAEGER_QUERY_BASE_PATH",
            ]
            .into_iter(),
        );
        assert_eq!(
            warnings,
            [
                "JAEGER_SAMPLER_PARAMS is not a variable this tracer reads: \
                 is it JAEGER_SAMPLER_PARAM, misspelt?",
                "JAEGER_AGENT_HOSTNAME is not a variable this tracer reads: \
                 is it JAEGER_AGENT_HOST, misspelt?",
                "JAEGER_RPC_METRICS sets the Go client's per-endpoint RPC metrics; \
                 this tracer does not read it",
                "JAEGER_QUERY_BASE_PATH is not a variable this tracer reads",
            ]
        );
        assert!(unread_variables(ENV_READ.into_iter()).is_empty());
        assert_eq!(edit_distance("JAEGER_TAG", "JAEGER_TAGS"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn an_agent_host_with_a_port_or_a_scheme_is_an_error_saying_so() {
        for host in [
            "jaeger:6831",
            "[::1]:6831",
            "udp://jaeger",
            "http://jaeger:6831",
        ] {
            let err = TracerBuilder::from_lookup(env(&[
                ("JAEGER_SERVICE_NAME", "s"),
                ("JAEGER_AGENT_HOST", host),
            ]))
            .unwrap_err();
            let text = err.to_string();
            assert!(
                text.contains("JAEGER_AGENT_HOST") && text.contains(host),
                "{text}"
            );
            assert!(text.contains("port") || text.contains("URL"), "{text}");
            let err = Tracer::builder("s")
                .with_agent_host(host)
                .init()
                .unwrap_err();
            assert!(err.is_config() && err.to_string().contains(host), "{err}");
        }
        for host in [
            "jaeger",
            "10.0.0.7",
            "::1",
            "fe80::1",
            "[::1]",
            "agent.example.com",
        ] {
            assert_eq!(agent_host_problem(host), None, "{host}");
        }
    }

    #[test]
    fn init_rejects_bad_settings() {
        assert!(Tracer::builder(" ").init().unwrap_err().is_config());
        // What the environment refuses, the builder refuses too.
        let err = Tracer::builder("s").with_agent_port(0).init().unwrap_err();
        assert!(
            err.is_config() && err.to_string().contains("port 0"),
            "{err}"
        );
        let err = Tracer::builder("s")
            .with_agent_resolve_interval(Some(Duration::ZERO))
            .init()
            .unwrap_err();
        assert!(
            err.is_config() && err.to_string().contains("resolve interval"),
            "{err}"
        );
        let err = Tracer::builder("s").with_tag("", "v").init().unwrap_err();
        assert!(
            err.is_config() && err.to_string().contains("empty key"),
            "{err}"
        );
        assert!(Tracer::builder("s")
            .with_queue_size(0)
            .init()
            .unwrap_err()
            .is_config());
        // A bound whose slots cannot be allocated is an error, not an abort.
        let err = Tracer::builder("s")
            .with_queue_size(99_999_999_999)
            .init()
            .unwrap_err();
        assert!(err.is_config());
        assert!(err.to_string().contains("99999999999"), "{err}");
        assert!(Tracer::builder("s")
            .with_max_packet_size(70_000)
            .init()
            .unwrap_err()
            .is_config());
        // A cap of 0 would keep nothing of any value.
        let err = Tracer::builder("s")
            .with_max_tag_value_len(0)
            .init()
            .unwrap_err();
        assert!(
            err.is_config() && err.to_string().contains("tag value"),
            "{err}"
        );
        let err = Tracer::builder("s")
            .with_max_baggage_value_len(0)
            .init()
            .unwrap_err();
        assert!(
            err.is_config() && err.to_string().contains("baggage value"),
            "{err}"
        );
    }

    #[test]
    fn process_tags_leaving_no_room_for_spans_are_an_error_naming_the_limit() {
        let tags = |b: TracerBuilder| {
            (0..8).fold(b, |b, i| {
                b.with_tag(format!("deployment.{i}"), "x".repeat(60))
            })
        };
        let err = tags(Tracer::builder("s").with_agent_host("127.0.0.1"))
            .with_max_packet_size(512)
            .init()
            .unwrap_err();
        assert!(err.is_config(), "{err}");
        for part in ["process tags", "512", "JAEGER_REPORTER_MAX_PACKET_SIZE"] {
            assert!(err.to_string().contains(part), "{part} not in: {err}");
        }
        let err = tags(Tracer::builder("s"))
            .with_collector(
                Collector::new("http://127.0.0.1:9/api/traces").with_max_batch_bytes(512),
            )
            .init()
            .unwrap_err();
        assert!(
            err.to_string().contains("Collector::with_max_batch_bytes"),
            "{err}"
        );
        // With room for spans, the same tags are fine.
        let (_tracer, guard) = tags(Tracer::builder("s").with_agent_host("127.0.0.1"))
            .with_max_packet_size(1500)
            .init()
            .unwrap();
        drop(guard);
        // And the defaults leave room in the smallest packet allowed.
        let (_tracer, guard) = Tracer::builder("s")
            .with_agent_host("127.0.0.1")
            .with_max_packet_size(512)
            .init()
            .unwrap();
        drop(guard);
    }

    #[test]
    fn the_ip_tag_comes_from_the_route_without_a_name_lookup() {
        let looked_up = std::cell::Cell::new(false);
        let resolve = || {
            looked_up.set(true);
            Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9)))
        };
        let ip = first_ipv4(|| Some(Ipv4Addr::new(192, 168, 1, 20)), resolve);
        assert_eq!(ip, IpAddr::V4(Ipv4Addr::new(192, 168, 1, 20)));
        assert!(!looked_up.get(), "the host name was looked up anyway");
        // No route: the name; nothing at all: loopback.
        assert_eq!(
            first_ipv4(|| None, resolve),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9))
        );
        assert_eq!(
            first_ipv4(|| None, || None),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        // Where the machine has a route, its source address is a real one.
        if let Some(route) = default_route_ipv4() {
            assert!(!route.is_unspecified(), "{route}");
        }
    }

    #[test]
    fn process_tags_have_the_standard_keys() {
        let b = TracerBuilder::new("s")
            .with_tag("ip", "10.1.2.3")
            .with_tag("team", "core");
        let tags = b.process_tags();
        let keys: Vec<&str> = tags.iter().map(|t| t.key.as_ref()).collect();
        for k in ["jaeger.version", "hostname", "client-uuid", "ip", "team"] {
            assert!(keys.contains(&k), "{keys:?}");
        }
        assert_eq!(keys.iter().filter(|k| **k == "ip").count(), 1);
        assert!(tags[0].value.to_string().starts_with("Rust-"));
    }
}
