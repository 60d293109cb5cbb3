//! A minimal HTTP/1.1 server on 127.0.0.1 for the client's tests: one request
//! per connection, answers from a closure, remembers every request.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

#[derive(Debug, Clone)]
pub(super) struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// `http://<Host header>`: this server, as the client addressed it.
    pub fn base(&self) -> String {
        format!("http://{}", self.header("host").unwrap_or(""))
    }
}

pub(super) struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Announce this length instead of the body's (to cut a body short).
    claimed_length: Option<usize>,
}

impl Reply {
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            claimed_length: None,
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    pub fn claim_length(mut self, len: usize) -> Self {
        self.claimed_length = Some(len);
        self
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

pub(super) struct Server {
    pub host: String,
    log: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let host = listener.local_addr().expect("local address").to_string();
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let thread_log = log.clone();
        // The accept loop ends with the test process.
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let handler = handler.clone();
                let log = thread_log.clone();
                thread::spawn(move || serve(stream, &*handler, &log));
            }
        });
        Self { host, log }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.host)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().expect("log lock").clone()
    }
}

fn serve(stream: TcpStream, handler: &Handler, log: &Mutex<Vec<Request>>) {
    let mut out = stream.try_clone().expect("clone stream");
    let mut reader = BufReader::new(stream);
    // A TLS ClientHello (the client probing HTTPS) starts with 0x16: answer
    // in plain HTTP, as a real plain-HTTP server would, and hang up.
    let first = reader
        .fill_buf()
        .map(|b| b.first().copied())
        .unwrap_or(None);
    if !first.is_some_and(|b| b.is_ascii_uppercase()) {
        let _ = out.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        return;
    }
    let Some(request) = read_request(&mut reader) else {
        return;
    };
    log.lock().expect("log lock").push(request.clone());
    let reply = handler(&request);
    let mut head = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", reply.status);
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let length = reply.claimed_length.unwrap_or(reply.body.len());
    head.push_str(&format!("Content-Length: {length}\r\n\r\n"));
    let _ = out.write_all(head.as_bytes());
    if request.method != "HEAD" {
        let _ = out.write_all(&reply.body);
    }
    let _ = out.flush();
}

fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let mut request = Request {
        method,
        target,
        headers,
        body: Vec::new(),
    };
    let length: usize = request
        .header("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    request.body = body;
    Some(request)
}
