//! HTTP to the Jaeger collector: each batch is a bare Thrift-binary `Batch`
//! POSTed to `/api/traces`.
//!
//! Runs on the reporter thread, which hosts a current-thread tokio runtime
//! for reqwest; connections are kept alive between batches. Retries (5xx,
//! 429, connection errors, timeouts) use exponential backoff with jitter; a
//! batch finally given up is reported as failed and counted by the reporter.

use std::fmt;
use std::io;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};

use super::Transport;
use crate::encode::{Envelope, WireProtocol};
use crate::error::Error;

/// Default request timeout (`Collector::with_timeout`).
pub const DEFAULT_COLLECTOR_TIMEOUT: Duration = Duration::from_secs(5);
/// Default largest batch body, in bytes (`Collector::with_max_batch_bytes`).
pub const DEFAULT_MAX_BATCH_BYTES: usize = 1 << 20;
/// Default number of retries after a failed attempt (`Collector::with_retries`).
pub const DEFAULT_RETRIES: u32 = 3;

/// First retry delay; doubles per retry, with ±50 % jitter, capped at 5 s.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait a collector's `Retry-After` gets (the reporter thread
/// waits with it; spans finished meanwhile queue up).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Where and how to send batches over HTTP: the collector's URL (for
/// example `http://localhost:14268/api/traces`), credentials, extra headers,
/// timeout, retries, batch size and trusted certificates.
///
/// Credentials never appear in `Debug` output, logs or errors.
///
/// Redirects are followed only where the spans go along (307, 308); a 301,
/// 302 or 303, after which the request would become a GET without them,
/// fails the batch with an error naming where it pointed.
#[derive(Clone)]
#[must_use]
pub struct Collector {
    endpoint: String,
    auth: Option<Auth>,
    headers: Vec<(String, String)>,
    timeout: Duration,
    retries: u32,
    max_batch_bytes: usize,
    root_certificates: Vec<Vec<u8>>,
}

#[derive(Clone)]
enum Auth {
    Basic { user: String, password: String },
    Bearer(String),
}

impl fmt::Debug for Collector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collector")
            .field("endpoint", &redact_url(&self.endpoint))
            .field(
                "auth",
                &match &self.auth {
                    None => "none",
                    Some(Auth::Basic { .. }) => "basic <redacted>",
                    Some(Auth::Bearer(_)) => "bearer <redacted>",
                },
            )
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(k, _)| (k.as_str(), "<redacted>"))
                    .collect::<Vec<_>>(),
            )
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("max_batch_bytes", &self.max_batch_bytes)
            .field("root_certificates", &self.root_certificates.len())
            .finish()
    }
}

/// The URL without any `user:password@` part or the values of its secret
/// query parameters ([`SECRET_PARAMS`]). One that does not parse is shown
/// as given (an error about it must show what was wrong), but for what
/// comes before an `@` in its host part and those values.
pub(crate) fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            redact_query(u.to_string())
        }
        Ok(u) => redact_query(u.to_string()),
        Err(_) => {
            let (scheme, rest) = match url.find("://") {
                Some(i) => url.split_at(i + 3),
                None => ("", url),
            };
            let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            match rest[..host_end].rfind('@') {
                Some(at) => redact_query(format!("{scheme}<redacted>@{}", &rest[at + 1..])),
                None => redact_query(url.to_owned()),
            }
        }
    }
}

/// Query parameters whose values are secrets, matched without regard to
/// case: the signatures and credentials of pre-signed URLs (AWS S3,
/// Google Cloud Storage, Azure shared access signatures) and OAuth 2
/// bearer tokens (RFC 6750 §2.3). Anyone who reads the trace or the log
/// could otherwise use the URL.
pub(crate) const SECRET_PARAMS: [&str; 8] = [
    "AWSAccessKeyId",
    "Signature",
    "sig",
    "X-Goog-Signature",
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "access_token",
];

/// What a secret parameter's value becomes in the tag.
const REDACTED: &str = "REDACTED";

/// Whether the query pair `pair` (`key=value`) has a secret value.
fn secret_pair(pair: &str) -> Option<&str> {
    let (key, _) = pair.split_once('=')?;
    SECRET_PARAMS
        .iter()
        .any(|s| s.eq_ignore_ascii_case(key))
        .then_some(key)
}

/// `url` with the values of its secret query parameters replaced by
/// [`REDACTED`]; `url` itself (no copy) when it has none.
pub(crate) fn redact_query(url: String) -> String {
    let Some(q) = url.find('?') else {
        return url;
    };
    let end = url[q..].find('#').map_or(url.len(), |i| q + i);
    let query = &url[q + 1..end];
    if !query.split('&').any(|p| secret_pair(p).is_some()) {
        return url;
    }
    let mut out = String::with_capacity(url.len());
    out.push_str(&url[..=q]);
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match secret_pair(pair) {
            Some(key) => {
                out.push_str(key);
                out.push('=');
                out.push_str(REDACTED);
            }
            None => out.push_str(pair),
        }
    }
    out.push_str(&url[end..]);
    out
}

impl Collector {
    /// A collector at `endpoint` (`JAEGER_ENDPOINT`).
    pub fn new(endpoint: impl Into<String>) -> Self {
        Collector {
            endpoint: endpoint.into(),
            auth: None,
            headers: Vec::new(),
            timeout: DEFAULT_COLLECTOR_TIMEOUT,
            retries: DEFAULT_RETRIES,
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
            root_certificates: Vec::new(),
        }
    }

    /// HTTP Basic authentication (`JAEGER_USER` and `JAEGER_PASSWORD`).
    pub fn with_basic_auth(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth = Some(Auth::Basic {
            user: user.into(),
            password: password.into(),
        });
        self
    }

    /// `Authorization: Bearer <token>` (`JAEGER_AUTH_TOKEN`).
    pub fn with_bearer_token(mut self, token: impl Into<String>) -> Self {
        self.auth = Some(Auth::Bearer(token.into()));
        self
    }

    /// An extra header sent with every batch; a name given twice sends both
    /// values. The headers describing the body (`Content-Type`,
    /// `Content-Length`, `Transfer-Encoding`, `Content-Encoding`) and
    /// `Host`, `Connection` are the client's own, and `Authorization` is
    /// given here only without [`with_basic_auth`](Self::with_basic_auth) or
    /// [`with_bearer_token`](Self::with_bearer_token): `init` answers a
    /// config error naming the header otherwise.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Timeout of one request, connection included (default 5 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Retries after a failed attempt (5xx, 429, connection error, timeout;
    /// default 3), after a backoff from 100 ms, doubling, with jitter, or
    /// after the wait a 429 or 503 asks for in `Retry-After` (in seconds, at
    /// most 30). A 413 sends the spans again in smaller batches; other 4xx
    /// answers are not retried.
    pub fn with_retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Largest batch body in bytes (default 1 MiB).
    pub fn with_max_batch_bytes(mut self, bytes: usize) -> Self {
        self.max_batch_bytes = bytes;
        self
    }

    /// Trusts an extra root certificate (PEM) for https, such as a private
    /// CA or a self-signed collector certificate. Verification stays on.
    /// A self-signed certificate must not be marked as a CA's
    /// (`basicConstraints=CA:FALSE`): a server presenting a CA's certificate
    /// is refused (`CaUsedAsEndEntity`), and a bare `openssl req -x509` makes
    /// one.
    pub fn with_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }

    /// Checks the settings and builds the transport.
    pub(crate) fn into_transport(self) -> Result<HttpTransport, Error> {
        let url = reqwest::Url::parse(&self.endpoint).map_err(|e| {
            Error::config(format!(
                "invalid collector endpoint {:?}: {e}",
                redact_url(&self.endpoint)
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::config(format!(
                "collector endpoint {:?} is not http(s)",
                redact_url(&self.endpoint)
            )));
        }
        if self.max_batch_bytes < 512 {
            return Err(Error::config(format!(
                "the collector batch size {} is below 512 bytes",
                self.max_batch_bytes
            )));
        }
        if self.timeout.is_zero() {
            return Err(Error::config("the collector timeout must be positive"));
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-thrift"),
        );
        for (k, v) in &self.headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| Error::config(format!("invalid collector header name {k:?}")))?;
            if let Some(why) = header_problem(&name, self.auth.is_some()) {
                return Err(Error::config(format!("collector header {k:?}: {why}")));
            }
            let mut value = HeaderValue::from_str(v).map_err(|_| {
                Error::config(format!(
                    "the value of collector header {k:?} is not a valid header value"
                ))
            })?;
            value.set_sensitive(true);
            // Every value given is sent, as given twice.
            headers.append(name, value);
        }
        if let Some(auth) = &self.auth {
            let raw = match auth {
                Auth::Basic { user, password } => {
                    format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
                }
                Auth::Bearer(token) => format!("Bearer {token}"),
            };
            let mut value = HeaderValue::from_str(&raw).map_err(|_| {
                Error::config(
                    "the collector credentials contain characters not allowed in a header",
                )
            })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let certificates = root_certificates(&self.root_certificates)?;
        Ok(HttpTransport {
            url,
            display: redact_url(&self.endpoint),
            headers,
            timeout: self.timeout,
            retries: self.retries,
            max_batch_bytes: self.max_batch_bytes,
            certificates,
            runtime: None,
            client: None,
        })
    }
}

/// Why an extra header cannot be sent as given: the ones describing the
/// body are the client's own (a collector answers 400 to any other
/// `Content-Type`), and `Authorization` is not set twice.
fn header_problem(name: &HeaderName, has_auth: bool) -> Option<&'static str> {
    use reqwest::header::{CONNECTION, CONTENT_ENCODING, CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
    if *name == CONTENT_TYPE {
        Some("the body is Thrift, sent as application/x-thrift; a collector rejects any other type")
    } else if [
        CONTENT_LENGTH,
        TRANSFER_ENCODING,
        CONTENT_ENCODING,
        CONNECTION,
        HOST,
    ]
    .contains(name)
    {
        Some("set by the HTTP client from the body and the endpoint; it cannot be given")
    } else if *name == AUTHORIZATION && has_auth {
        Some("credentials are already set by with_basic_auth or with_bearer_token")
    } else {
        None
    }
}

fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The HTTP transport; its runtime and client are created on first use, on
/// the reporter thread.
pub(crate) struct HttpTransport {
    url: reqwest::Url,
    display: String,
    headers: HeaderMap,
    timeout: Duration,
    retries: u32,
    max_batch_bytes: usize,
    certificates: Vec<reqwest::Certificate>,
    runtime: Option<tokio::runtime::Runtime>,
    client: Option<reqwest::Client>,
}

impl fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpTransport")
            .field("url", &self.display)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

/// Why one attempt failed, and whether another may succeed.
enum Attempt {
    /// Worth another try: after the backoff, or after the collector's
    /// `Retry-After` when it gave one.
    Retry(String, Option<Duration>),
    Fatal(String),
    /// 413: the reporter sends the spans again in smaller batches.
    TooLarge(String),
}

/// The certificates of PEM bundles given to `with_root_certificate_pem`
/// (the collector's and the remote sampler's), each bundle holding at
/// least one.
pub(crate) fn root_certificates(pems: &[Vec<u8>]) -> Result<Vec<reqwest::Certificate>, Error> {
    let mut certificates = Vec::new();
    for pem in pems {
        let bundle = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| Error::config(format!("invalid root certificate PEM: {e}")))?;
        if bundle.is_empty() {
            return Err(Error::config(
                "the root certificate PEM holds no certificate",
            ));
        }
        certificates.extend(bundle);
    }
    Ok(certificates)
}

impl HttpTransport {
    fn ensure_client(&mut self) -> io::Result<()> {
        if self.client.is_some() {
            return Ok(());
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let mut builder = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .default_headers(self.headers.clone())
            .pool_idle_timeout(Duration::from_secs(90))
            .redirect(reqwest::redirect::Policy::custom(follow_with_the_spans));
        for c in &self.certificates {
            builder = builder.add_root_certificate(c.clone());
        }
        let client = builder.build().map_err(|e| {
            io::Error::other(format!("cannot build the HTTP client: {}", e.without_url()))
        })?;
        self.runtime = Some(runtime);
        self.client = Some(client);
        Ok(())
    }

    async fn attempt(
        client: &reqwest::Client,
        url: &reqwest::Url,
        body: &[u8],
    ) -> Result<(), Attempt> {
        match client.post(url.clone()).body(body.to_vec()).send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => {
                let status = r.status();
                let why = format!("the collector answered {status}");
                if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                    Err(Attempt::Retry(why, retry_after(&r)))
                } else if status.is_redirection() {
                    let to = r
                        .headers()
                        .get(reqwest::header::LOCATION)
                        .and_then(|l| l.to_str().ok())
                        .map_or_else(|| "nowhere".to_owned(), redact_url);
                    Err(Attempt::Fatal(format!(
                        "{why} redirecting to {to:?}, which would drop the spans: \
                         set the collector endpoint to the URL it points to"
                    )))
                } else if status == reqwest::StatusCode::PAYLOAD_TOO_LARGE {
                    Err(Attempt::TooLarge(format!(
                        "{why} for a {}-byte batch",
                        body.len()
                    )))
                } else if status == reqwest::StatusCode::NOT_FOUND
                    && !url.path().ends_with("/api/traces")
                {
                    Err(Attempt::Fatal(format!(
                        "{why}: a Jaeger collector takes batches at /api/traces \
                         (http://<collector>:14268/api/traces), not at {}",
                        url.path()
                    )))
                } else {
                    Err(Attempt::Fatal(why))
                }
            }
            Err(e) => Err(Attempt::Retry(
                crate::error::with_causes(&e.without_url()),
                None,
            )),
        }
    }
}

/// Follows a redirect only where the spans go along: 307 and 308 repeat
/// the POST with its body, while after 301, 302 and 303 HTTP clients send
/// a GET without it, which whatever answers would then seem to accept.
/// At most 10 in a row, as reqwest's default.
fn follow_with_the_spans(attempt: reqwest::redirect::Attempt<'_>) -> reqwest::redirect::Action {
    let keeps_the_body = matches!(
        attempt.status(),
        reqwest::StatusCode::TEMPORARY_REDIRECT | reqwest::StatusCode::PERMANENT_REDIRECT
    );
    if keeps_the_body && attempt.previous().len() < 10 {
        attempt.follow()
    } else {
        attempt.stop()
    }
}

/// The wait a 429 or 503 asks for in `Retry-After`, in seconds (the
/// HTTP-date form is not read: the backoff applies), at most
/// [`MAX_RETRY_AFTER`].
fn retry_after(r: &reqwest::Response) -> Option<Duration> {
    let secs: u64 = r
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

impl Transport for HttpTransport {
    fn protocol(&self) -> WireProtocol {
        WireProtocol::Binary
    }

    fn envelope(&self) -> Envelope {
        Envelope::Bare
    }

    fn max_payload(&self) -> usize {
        self.max_batch_bytes
    }

    fn send(&mut self, payload: &[u8]) -> io::Result<()> {
        self.ensure_client()?;
        let (Some(runtime), Some(client)) = (&self.runtime, &self.client) else {
            return Err(io::Error::other("no HTTP client"));
        };
        let url = &self.url;
        let retries = self.retries;
        runtime.block_on(async {
            let mut delay = FIRST_BACKOFF;
            let mut attempt = 0;
            loop {
                match Self::attempt(client, url, payload).await {
                    Ok(()) => return Ok(()),
                    Err(Attempt::Fatal(why)) => return Err(io::Error::other(why)),
                    Err(Attempt::TooLarge(why)) => {
                        return Err(io::Error::other(super::TooLarge(why)))
                    }
                    Err(Attempt::Retry(why, _)) if attempt >= retries => {
                        return Err(io::Error::other(match attempt {
                            0 => format!("{why} (one attempt, no retries configured)"),
                            n => format!("{why} (after {} attempts)", n + 1),
                        }))
                    }
                    Err(Attempt::Retry(why, asked)) => {
                        log::debug!(
                            "jaeger: collector attempt {} failed: {why}; retrying",
                            attempt + 1
                        );
                        let jitter = 0.5 + rand::random::<f64>();
                        let wait = asked.unwrap_or_else(|| delay.mul_f64(jitter));
                        tokio::time::sleep(wait).await;
                        delay = (delay * 2).min(Duration::from_secs(5));
                        attempt += 1;
                    }
                }
            }
        })
    }

    fn describe(&self) -> String {
        self.display.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_secret_query_values_are_redacted() {
        let cases = [
            ("/a", "/a"),
            ("/a?", "/a?"),
            ("/a?q=1&flag&=x", "/a?q=1&flag&=x"),
            (
                "/a?Signature=s&q=1#sig=frag",
                "/a?Signature=REDACTED&q=1#sig=frag",
            ),
            ("/a?SIG=&sig=b", "/a?SIG=REDACTED&sig=REDACTED"),
            ("/a?signature_version=2", "/a?signature_version=2"),
            ("/a?q=access_token%3Dx", "/a?q=access_token%3Dx"),
        ];
        // The endpoint in logs and in `Debug` too.
        assert_eq!(
            redact_url("https://u:p@collector:14268/api/traces?access_token=t0k"),
            "https://collector:14268/api/traces?access_token=REDACTED"
        );
        for (url, tag) in cases {
            assert_eq!(redact_query(url.to_owned()), tag, "{url}");
        }
    }

    #[test]
    fn endpoints_are_shown_without_credentials_even_when_they_do_not_parse() {
        assert_eq!(
            redact_url("http://user:secret@host:14268/api/traces"),
            "http://host:14268/api/traces"
        );
        assert_eq!(redact_url("not a url"), "not a url");
        assert_eq!(
            redact_url("http://user:se cret@ho st/api/traces"),
            "http://<redacted>@ho st/api/traces"
        );
        assert_eq!(redact_url("ho st@x/y@z"), "<redacted>@x/y@z");
        let err = Collector::new("http://u:p@bad host/api/traces")
            .into_transport()
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad host") && !err.contains("u:p"), "{err}");
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, out) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), out);
        }
    }

    #[test]
    fn debug_and_errors_hide_credentials() {
        let c = Collector::new("http://user:secret-pw@localhost:14268/api/traces")
            .with_basic_auth("alice", "hunter2")
            .with_header("x-api-key", "key-123");
        let text = format!("{c:?}");
        for secret in ["secret-pw", "hunter2", "key-123", "alice"] {
            assert!(!text.contains(secret), "{text}");
        }
        let t = c.with_bearer_token("tok-456").into_transport().unwrap();
        let text = format!("{t:?} {}", t.describe());
        for secret in ["secret-pw", "tok-456"] {
            assert!(!text.contains(secret), "{text}");
        }
    }

    #[test]
    fn invalid_settings_are_errors() {
        assert!(Collector::new("not a url")
            .into_transport()
            .unwrap_err()
            .is_config());
        assert!(Collector::new("ftp://x/api/traces")
            .into_transport()
            .unwrap_err()
            .is_config());
        assert!(Collector::new("http://x")
            .with_max_batch_bytes(10)
            .into_transport()
            .unwrap_err()
            .is_config());
        assert!(Collector::new("http://x")
            .with_header("bad name", "v")
            .into_transport()
            .unwrap_err()
            .is_config());
        for name in [
            "Content-Type",
            "content-length",
            "Transfer-Encoding",
            "Host",
        ] {
            let err = Collector::new("http://x")
                .with_header(name, "text/plain")
                .into_transport()
                .unwrap_err();
            assert!(err.is_config(), "{err}");
            assert!(err.to_string().contains(name), "{err}");
        }
        let err = Collector::new("http://x")
            .with_bearer_token("t")
            .with_header("Authorization", "Basic eA==")
            .into_transport()
            .unwrap_err();
        assert!(err.to_string().contains("already set"), "{err}");
        // Without credentials of its own, a custom scheme is the user's.
        let t = Collector::new("http://x")
            .with_header("Authorization", "Custom k")
            .into_transport()
            .unwrap();
        assert_eq!(t.headers[AUTHORIZATION], "Custom k");
        let t = Collector::new("http://x")
            .with_header("x-tag", "a")
            .with_header("X-Tag", "b")
            .into_transport()
            .unwrap();
        let values: Vec<_> = t.headers.get_all("x-tag").iter().collect();
        assert_eq!(values, ["a", "b"]);
        assert!(Collector::new("http://x")
            .with_root_certificate_pem(b"not pem".to_vec())
            .into_transport()
            .is_err());
    }
}
