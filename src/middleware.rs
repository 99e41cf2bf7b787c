//! HTTP middleware (feature `middleware`): a tower layer that traces the
//! requests a server handles, and a reqwest helper that traces the requests
//! a client sends. Together they put both sides of a call in one trace.
//!
//! Server (axum, hyper, tonic — anything tower):
//!
//! ```no_run
//! # async fn run(tracer: jaeger_tracer::Tracer) {
//! use axum::{routing::get, Router};
//! use jaeger_tracer::middleware::TraceLayer;
//! let app: Router = Router::new()
//!     .route("/hello", get(|| async { "hi" }))
//!     .layer(TraceLayer::new(tracer));
//! # }
//! ```
//!
//! Client:
//!
//! ```no_run
//! # async fn run(tracer: jaeger_tracer::Tracer) -> Result<(), reqwest::Error> {
//! let client = reqwest::Client::new();
//! let response = jaeger_tracer::middleware::send(&tracer, client.get("http://api/orders")).await?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Method, Request, Response, Uri};

use crate::ext;
use crate::scope;
use crate::span::Span;
use crate::tracer::Tracer;
use crate::transport::http::{redact_query, redact_url};

type NameFn = Arc<dyn Fn(&Method, &Uri) -> String + Send + Sync>;

fn default_name(method: &Method, _uri: &Uri) -> String {
    // The path is a tag, not the name: names should have few distinct
    // values (per-operation sampling, the UI's operation list).
    format!("HTTP {method}")
}

/// The `http.url` tag of a request's URI: as it is, but for any
/// `user:password@` part, which a trace must not carry, and the values of
/// the query parameters that are secrets (see
/// `transport::http::SECRET_PARAMS`).
fn uri_tag(uri: &Uri) -> String {
    match uri.authority() {
        Some(a) if a.as_str().contains('@') => redact_url(&uri.to_string()),
        _ => redact_query(uri.to_string()),
    }
}

/// The `http.url` tag of a client request's URL: as it is, but for any
/// `user:password@` part, which a trace must not carry, and the values of
/// the query parameters that are secrets (see
/// `transport::http::SECRET_PARAMS`).
fn url_tag(url: &reqwest::Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        redact_query(url.as_str().to_owned())
    } else {
        redact_url(url.as_str())
    }
}

/// A tower layer that starts a server span for each request: the child of
/// the caller's span when the headers carry one (every configured format),
/// tagged `span.kind=server`, `http.method`, `http.url` (without any
/// `user:password@` part or the values of secret query parameters such as
/// pre-signed URLs' signatures and `access_token`), then
/// `http.status_code`, and `error=true` on a 5xx or a service error (whose
/// message is logged with `event=error`; the service's error type is
/// therefore `Display`, as `Infallible` and tower's `BoxError` are). The
/// span is the active one while the inner service runs.
#[derive(Clone)]
pub struct TraceLayer {
    tracer: Tracer,
    name: NameFn,
}

impl fmt::Debug for TraceLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceLayer")
            .field("tracer", &self.tracer)
            .finish_non_exhaustive()
    }
}

impl TraceLayer {
    /// A layer reporting through `tracer`; spans are named `HTTP {METHOD}`.
    pub fn new(tracer: Tracer) -> Self {
        TraceLayer {
            tracer,
            name: Arc::new(default_name),
        }
    }

    /// Names spans with `name(method, uri)` instead.
    #[must_use]
    pub fn with_operation_name(
        mut self,
        name: impl Fn(&Method, &Uri) -> String + Send + Sync + 'static,
    ) -> Self {
        self.name = Arc::new(name);
        self
    }
}

impl<S> tower_layer::Layer<S> for TraceLayer {
    type Service = TraceService<S>;

    fn layer(&self, inner: S) -> TraceService<S> {
        TraceService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service made by [`TraceLayer`].
#[derive(Clone)]
pub struct TraceService<S> {
    inner: S,
    layer: TraceLayer,
}

impl<S> fmt::Debug for TraceService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceService").finish_non_exhaustive()
    }
}

impl<S, B, R> tower_service::Service<Request<B>> for TraceService<S>
where
    S: tower_service::Service<Request<B>, Response = Response<R>>,
    S::Error: fmt::Display,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = Traced<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Traced<S::Future> {
        let tracer = &self.layer.tracer;
        let name = (self.layer.name)(req.method(), req.uri());
        let mut builder = tracer
            .span(name)
            .with_tag(ext::SPAN_KIND, ext::SPAN_KIND_SERVER)
            .with_tag(ext::HTTP_METHOD, req.method().as_str().to_owned())
            .with_tag(ext::HTTP_URL, uri_tag(req.uri()));
        match tracer.extract(req.headers()) {
            Ok(Some(parent)) => {
                builder = builder.with_reference(crate::Reference::child_of(parent))
            }
            Ok(None) => {}
            Err(e) => log::debug!("jaeger: ignoring a malformed trace context: {e}"),
        }
        let span = builder.start();
        let future = {
            // The inner service may start work right here; give it the span.
            let _active = scope::enter(span.context().clone());
            self.inner.call(req)
        };
        Traced {
            inner: future,
            span,
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`TraceService`]: the span is active while it
    /// is polled and finishes with the response, or, when the future is
    /// dropped before (a timeout, a client gone), with a log
    /// `event=cancelled`.
    pub struct Traced<F> {
        #[pin]
        inner: F,
        span: Span,
    }

    impl<F> PinnedDrop for Traced<F> {
        fn drop(this: Pin<&mut Self>) {
            this.project()
                .span
                .log_cancelled("the request was given up before its answer");
        }
    }
}

/// A client span that logs `event=cancelled` when dropped unfinished: the
/// future of [`send`] was dropped while the request was in flight.
struct InFlight(Span);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0
            .log_cancelled("the request was given up before its answer");
    }
}

impl<F> fmt::Debug for Traced<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Traced").field("span", &self.span).finish()
    }
}

impl<F, R, E> Future for Traced<F>
where
    F: Future<Output = Result<Response<R>, E>>,
    E: fmt::Display,
{
    type Output = Result<Response<R>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = {
            let _active = scope::enter(this.span.context().clone());
            this.inner.poll(cx)
        };
        if let Poll::Ready(result) = &out {
            match result {
                Ok(resp) => {
                    let status = resp.status();
                    this.span.set_tag(ext::HTTP_STATUS_CODE, status.as_u16());
                    if status.is_server_error() {
                        this.span.set_tag(ext::ERROR, true);
                    }
                }
                Err(e) => {
                    this.span.set_tag(ext::ERROR, true).log(|f| {
                        f.field(ext::EVENT, "error")
                            .field(ext::MESSAGE, e.to_string());
                    });
                }
            }
            this.span.finish();
        }
        out
    }
}

/// Sends `request` inside a client span (a child of the active span),
/// with the span's context injected into the request headers: tagged
/// `span.kind=client`, `http.method`, `http.url` (without any
/// `user:password@` part or the values of secret query parameters),
/// `peer.hostname`,
/// `peer.port`, then `http.status_code`, and `error=true` on a 5xx or a
/// failure (logged with the error message). When the returned future is
/// dropped before the answer (a timeout), the span finishes with a log
/// `event=cancelled`.
///
/// # Errors
///
/// The request's own error, unchanged.
pub async fn send(
    tracer: &Tracer,
    request: reqwest::RequestBuilder,
) -> reqwest::Result<reqwest::Response> {
    let (client, request) = request.build_split();
    let mut request = request?;
    let url = request.url();
    let mut builder = tracer
        .span(format!("HTTP {}", request.method()))
        .with_tag(ext::SPAN_KIND, ext::SPAN_KIND_CLIENT)
        .with_tag(ext::HTTP_METHOD, request.method().as_str().to_owned())
        .with_tag(ext::HTTP_URL, url_tag(url));
    if let Some(host) = url.host_str() {
        builder = builder.with_tag(ext::PEER_HOSTNAME, host.to_owned());
    }
    if let Some(port) = url.port_or_known_default() {
        builder = builder.with_tag(ext::PEER_PORT, port);
    }
    let mut span = InFlight(builder.start());
    tracer.inject(span.0.context(), request.headers_mut());
    let result = client.execute(request).await;
    match &result {
        Ok(resp) => {
            span.0
                .set_tag(ext::HTTP_STATUS_CODE, resp.status().as_u16());
            if resp.status().is_server_error() {
                span.0.set_tag(ext::ERROR, true);
            }
        }
        Err(e) => {
            span.0.set_error(e);
        }
    }
    span.0.finish();
    result
}
