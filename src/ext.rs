//! The standard tag and log field names of the OpenTracing data conventions
//! (the `ext` module of every OpenTracing API), so that Jaeger and other
//! tools recognise what a span says: errors, the kind of span, HTTP, peers,
//! databases, messaging.
//!
//! ```
//! use jaeger_tracer::{ext, Tracer};
//! let tracer = Tracer::noop();
//! let mut span = tracer
//!     .span("GET /orders")
//!     .with_tag(ext::SPAN_KIND, ext::SPAN_KIND_CLIENT)
//!     .with_tag(ext::HTTP_METHOD, "GET")
//!     .with_tag(ext::PEER_SERVICE, "orders")
//!     .start();
//! span.set_tag(ext::HTTP_STATUS_CODE, 503).set_tag(ext::ERROR, true);
//! span.log(|f| {
//!     f.field(ext::EVENT, "error")
//!         .field(ext::ERROR_KIND, "Unavailable")
//!         .field(ext::MESSAGE, "the orders service answered 503");
//! });
//! ```
//!
//! [`Span::set_error`](crate::Span::set_error) writes the error tag and log
//! in one call.

/// `error` (bool): `true` when the span's operation failed.
pub const ERROR: &str = "error";
/// `component` (string): the library, framework or module that made the
/// span (`reqwest`, `sqlx`).
pub const COMPONENT: &str = "component";

/// `span.kind` (string): the span's role in a call between processes.
pub const SPAN_KIND: &str = "span.kind";
/// `span.kind` of the calling side of an RPC or HTTP request.
pub const SPAN_KIND_CLIENT: &str = "client";
/// `span.kind` of the side that handles an RPC or HTTP request.
pub const SPAN_KIND_SERVER: &str = "server";
/// `span.kind` of the side that sends a message to a queue or topic.
pub const SPAN_KIND_PRODUCER: &str = "producer";
/// `span.kind` of the side that receives a message from a queue or topic.
pub const SPAN_KIND_CONSUMER: &str = "consumer";

/// `http.url` (string): the request's URL (this crate's middleware leaves
/// out any `user:password@` part, and replaces the values of query
/// parameters that are secrets, such as a pre-signed URL's `Signature` or
/// an `access_token`, by `REDACTED`).
pub const HTTP_URL: &str = "http.url";
/// `http.method` (string): the request's method (`GET`, `POST`).
pub const HTTP_METHOD: &str = "http.method";
/// `http.status_code` (integer): the response's status code.
pub const HTTP_STATUS_CODE: &str = "http.status_code";

/// `peer.hostname` (string): the remote side's host name.
pub const PEER_HOSTNAME: &str = "peer.hostname";
/// `peer.ipv4` (string): the remote side's IPv4 address.
pub const PEER_IPV4: &str = "peer.ipv4";
/// `peer.ipv6` (string): the remote side's IPv6 address.
pub const PEER_IPV6: &str = "peer.ipv6";
/// `peer.port` (integer): the remote side's port.
pub const PEER_PORT: &str = "peer.port";
/// `peer.service` (string): the remote service's name.
pub const PEER_SERVICE: &str = "peer.service";

/// `db.type` (string): the kind of database (`sql`, `redis`, `cassandra`).
pub const DB_TYPE: &str = "db.type";
/// `db.instance` (string): the database's name.
pub const DB_INSTANCE: &str = "db.instance";
/// `db.statement` (string): the statement run, without bound values.
pub const DB_STATEMENT: &str = "db.statement";
/// `db.user` (string): the user the statement ran as.
pub const DB_USER: &str = "db.user";

/// `message_bus.destination` (string): the queue or topic a message is
/// sent to or received from.
pub const MESSAGE_BUS_DESTINATION: &str = "message_bus.destination";

/// `sampling.priority` (integer): asks for the trace to be kept (> 0) or
/// dropped (0); see [`SAMPLING_PRIORITY`](crate::SAMPLING_PRIORITY).
pub const SAMPLING_PRIORITY: &str = crate::span::SAMPLING_PRIORITY;

/// Log field `event` (string): what happened at the log's time (`error`,
/// `cache miss`).
pub const EVENT: &str = "event";
/// Log field `message` (string): a human-readable description.
pub const MESSAGE: &str = "message";
/// Log field `error.kind` (string): the type or class of an error.
pub const ERROR_KIND: &str = "error.kind";
/// Log field `error.object` (string here): the error itself, as its
/// `Debug` form.
pub const ERROR_OBJECT: &str = "error.object";
/// Log field `stack` (string): a stack trace or an error's chain of causes.
pub const STACK: &str = "stack";
