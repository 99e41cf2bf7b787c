//! A small HTTP/1.1 server on 127.0.0.1 for the tests: it records every
//! request and answers as the test's handler says (a status and body, a
//! hang, or a dropped connection). Connections are kept alive.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One received request.
#[derive(Debug, Clone)]
#[allow(dead_code)] // not every test file reads every field
pub struct Request {
    pub method: String,
    /// Path with the query string.
    pub target: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    #[allow(dead_code)] // not every test file uses every helper
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the server does with a request.
#[allow(dead_code)] // not every test file uses every variant
pub enum Reply {
    Status(u16, Vec<u8>),
    /// A status with extra headers (`Retry-After`, …) and an empty body.
    #[allow(dead_code)] // not every test file uses every helper
    WithHeaders(u16, Vec<(&'static str, String)>),
    /// Never answers (until the client gives up).
    Hang,
    /// Closes the connection without an answer.
    Close,
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

#[allow(dead_code)] // not every test file uses every helper
pub struct HttpServer {
    addr: SocketAddr,
    scheme: &'static str,
    resets: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Request>>>,
    connections: Arc<AtomicUsize>,
}

#[allow(dead_code)] // not every test file uses every helper
impl HttpServer {
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> HttpServer {
        Self::start_with(None, handler)
    }

    /// An https server with this certificate and key (DER).
    pub fn start_tls(
        cert: rustls::pki_types::CertificateDer<'static>,
        key: rustls::pki_types::PrivateKeyDer<'static>,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> HttpServer {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap();
        Self::start_with(Some(Arc::new(config)), handler)
    }

    fn start_with(
        tls: Option<Arc<rustls::ServerConfig>>,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let handler: Arc<Handler> = Arc::new(handler);
        let (reqs, conns) = (requests.clone(), connections.clone());
        let resets = Arc::new(AtomicUsize::new(0));
        let server_resets = resets.clone();
        std::thread::spawn(move || {
            let resets = server_resets;
            for stream in listener.incoming().flatten() {
                conns.fetch_add(1, Ordering::SeqCst);
                let (handler, reqs, tls, resets) =
                    (handler.clone(), reqs.clone(), tls.clone(), resets.clone());
                std::thread::spawn(move || match tls {
                    None => serve(stream, &*handler, &reqs, &resets),
                    Some(config) => {
                        if let Ok(conn) = rustls::ServerConnection::new(config) {
                            serve(
                                rustls::StreamOwned::new(conn, stream),
                                &*handler,
                                &reqs,
                                &resets,
                            );
                        }
                    }
                });
            }
        });
        HttpServer {
            addr,
            scheme,
            requests,
            connections,
            resets,
        }
    }

    /// The URL of `path`; https servers answer to `localhost` (the name in
    /// their certificate).
    pub fn url(&self, path: &str) -> String {
        match self.scheme {
            "https" => format!("https://localhost:{}{path}", self.addr.port()),
            _ => format!("http://{}{path}", self.addr),
        }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// Resets the connection of the next `n` requests after their headers,
    /// before reading their bodies.
    pub fn reset_next(&self, n: usize) {
        self.resets.store(n, Ordering::SeqCst);
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

fn read_request<S: Read>(reader: &mut BufReader<S>, resets: &AtomicUsize) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    // Closing here, before the body is read, resets the connection while
    // the client is still sending.
    if resets
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return None;
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

fn serve<S: Read + Write>(
    stream: S,
    handler: &Handler,
    requests: &Mutex<Vec<Request>>,
    resets: &AtomicUsize,
) {
    let mut reader = BufReader::new(stream);
    while let Some(req) = read_request(&mut reader, resets) {
        let reply = handler(&req);
        requests.lock().unwrap().push(req);
        let (code, body, extra) = match reply {
            Reply::Status(code, body) => (code, body, Vec::new()),
            Reply::WithHeaders(code, headers) => (code, Vec::new(), headers),
            Reply::Hang => {
                std::thread::sleep(Duration::from_secs(60));
                return;
            }
            Reply::Close => return,
        };
        let extra: String = extra.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
        let head = format!(
            "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nContent-Type: application/json\r\n{extra}\r\n",
            body.len()
        );
        let writer = reader.get_mut();
        if writer
            .write_all(head.as_bytes())
            .and_then(|_| writer.write_all(&body))
            .and_then(|_| writer.flush())
            .is_err()
        {
            return;
        }
    }
}

/// A self-signed certificate for `localhost` (not a CA's, as a server's
/// must be): its PEM, and the certificate and key for
/// [`HttpServer::start_tls`].
#[allow(dead_code)] // not every test file serves https
pub fn self_signed() -> (
    String,
    rustls::pki_types::CertificateDer<'static>,
    rustls::pki_types::PrivateKeyDer<'static>,
) {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let pem = key.cert.pem();
    let der = key.cert.der().clone();
    let private = rustls::pki_types::PrivateKeyDer::Pkcs8(key.signing_key.serialize_der().into());
    (pem, der, private)
}
