//! A small HTTP/1.1 server on 127.0.0.1 for the tests: it records every
//! request and answers as the test's handler says (a status and body, a
//! hang, or a dropped connection). Connections are kept alive.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
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
    /// Never answers (until the client gives up).
    Hang,
    /// Closes the connection without an answer.
    Close,
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

#[allow(dead_code)] // not every test file uses every helper
pub struct HttpServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    connections: Arc<AtomicUsize>,
}

#[allow(dead_code)] // not every test file uses every helper
impl HttpServer {
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let handler: Arc<Handler> = Arc::new(handler);
        let (reqs, conns) = (requests.clone(), connections.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                conns.fetch_add(1, Ordering::SeqCst);
                let (handler, reqs) = (handler.clone(), reqs.clone());
                std::thread::spawn(move || serve(stream, &*handler, &reqs));
            }
        });
        HttpServer {
            addr,
            requests,
            connections,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
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
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

fn serve(stream: TcpStream, handler: &Handler, requests: &Mutex<Vec<Request>>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    while let Some(req) = read_request(&mut reader) {
        let reply = handler(&req);
        requests.lock().unwrap().push(req);
        match reply {
            Reply::Status(code, body) => {
                let head = format!(
                    "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nContent-Type: application/json\r\n\r\n",
                    body.len()
                );
                if writer
                    .write_all(head.as_bytes())
                    .and_then(|_| writer.write_all(&body))
                    .is_err()
                {
                    return;
                }
            }
            Reply::Hang => {
                std::thread::sleep(Duration::from_secs(60));
                return;
            }
            Reply::Close => return,
        }
    }
}
