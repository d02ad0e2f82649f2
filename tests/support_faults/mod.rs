//! A scripted fault server and the harness the fault-injection suites share.
//!
//! [`FaultServer`] listens on 127.0.0.1 (a free port) and plays one script of [`Step`]s per
//! accepted connection: read a request, send exact bytes, close, reset, stall. It records every
//! byte it received so tests can assert what reached the wire (or that nothing did).
//!
//! [`Case`] wraps one fault case: it counts the process's open file descriptors before the case
//! and checks that they come back after it, and holds a global lock so that the cases of one
//! test binary, which run on parallel threads and share the fd table, run one at a time.

#![allow(dead_code)]

pub mod harness;
pub mod producers;
pub mod replies;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

pub use harness::{protocol_error, Case};
#[allow(unused_imports)]
pub use producers::EndlessProducer;
#[allow(unused_imports)]
pub use replies::{expect_protocol_error, expect_response, Expected};

/// How long any server step may block before it gives up: a bound, so a broken client can
/// never make a test hang.
const STEP_BOUND: Duration = Duration::from_secs(10);

/// One thing the server does on a connection.
#[derive(Debug, Clone)]
pub enum Step {
    /// Read one whole request: the head, then the body its `Content-Length` or chunked
    /// framing announces.
    ReadRequest,
    /// Read up to the end of a request head, leaving any body unread.
    ReadHead,
    /// Send these exact bytes.
    Send(Vec<u8>),
    /// Send these bytes one at a time, `Duration` apart.
    Trickle(Vec<u8>, Duration),
    /// Wait this long (server-side only: the client's clock is never involved).
    Wait(Duration),
    /// Send these bytes over and over until the client stops taking them.
    SendForever(Vec<u8>),
    /// Close the connection with a FIN.
    Close,
    /// Close the connection with a RST (SO_LINGER 0).
    Reset,
    /// Do nothing, reading nothing, until the server is stopped.
    Stall,
    /// Read and discard until the client closes (or the server is stopped).
    DrainUntilClosed,
}

/// What the server saw on one connection.
#[derive(Debug, Default, Clone)]
pub struct ConnectionLog {
    /// Every byte received, in order.
    pub received: Vec<u8>,
    /// How many whole requests [`Step::ReadRequest`] read.
    pub requests: usize,
    /// The client closed its side (a read returned end of file or a reset, or a write met a
    /// reset or a broken pipe).
    pub client_closed: bool,
}

struct Shared {
    stop: AtomicBool,
    accepted: AtomicUsize,
    logs: Mutex<Vec<Arc<Mutex<ConnectionLog>>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

/// A raw TCP server on 127.0.0.1 that plays scripts byte for byte.
///
/// Connection `i` plays `scripts[i]`; connections beyond the scripts are closed at once.
/// [`stop`](Self::stop) (or dropping the server) closes the listener and every connection and
/// joins every thread, so no server-side descriptor outlives it.
pub struct FaultServer {
    port: u16,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl FaultServer {
    /// Start a server whose `i`th connection plays `scripts[i]`.
    pub fn start(scripts: Vec<Vec<Step>>) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            accepted: AtomicUsize::new(0),
            logs: Mutex::new(Vec::new()),
            workers: Mutex::new(Vec::new()),
        });
        let s = shared.clone();
        let acceptor = thread::spawn(move || accept_loop(listener, scripts, s));
        FaultServer {
            port,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// Start a server with one connection playing `script`.
    pub fn one(script: Vec<Step>) -> FaultServer {
        FaultServer::start(vec![script])
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// A handle that reads what the server saw, usable from reactor callbacks.
    pub fn probe(&self) -> Probe {
        Probe {
            shared: self.shared.clone(),
        }
    }

    /// How many connections were accepted so far.
    pub fn connections(&self) -> usize {
        self.probe().connections()
    }

    /// A copy of what connection `i` saw so far (empty if it was never accepted).
    pub fn log(&self, i: usize) -> ConnectionLog {
        self.probe().log(i)
    }

    /// Bytes received over all connections so far.
    pub fn total_received(&self) -> usize {
        self.probe().total_received()
    }

    /// Whole requests read over all connections so far.
    pub fn total_requests(&self) -> usize {
        self.probe().total_requests()
    }

    /// Close the listener and every connection, and join all threads.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let workers = std::mem::take(&mut *self.shared.workers.lock().unwrap());
        for worker in workers {
            let _ = worker.join();
        }
    }
}

/// Reads what a [`FaultServer`] saw; cheap to clone.
#[derive(Clone)]
pub struct Probe {
    shared: Arc<Shared>,
}

impl Probe {
    /// How many connections were accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// A copy of what connection `i` saw so far (empty if it was never accepted).
    pub fn log(&self, i: usize) -> ConnectionLog {
        let logs = self.shared.logs.lock().unwrap();
        logs.get(i)
            .map(|l| l.lock().unwrap().clone())
            .unwrap_or_default()
    }

    /// Bytes received over all connections so far.
    pub fn total_received(&self) -> usize {
        let logs = self.shared.logs.lock().unwrap();
        logs.iter().map(|l| l.lock().unwrap().received.len()).sum()
    }

    /// Whole requests read over all connections so far.
    pub fn total_requests(&self) -> usize {
        let logs = self.shared.logs.lock().unwrap();
        logs.iter().map(|l| l.lock().unwrap().requests).sum()
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn accept_loop(listener: TcpListener, scripts: Vec<Vec<Step>>, shared: Arc<Shared>) {
    let deadline = Instant::now() + STEP_BOUND * 3;
    while !shared.stop.load(Ordering::SeqCst) && Instant::now() < deadline {
        match listener.accept() {
            Ok((stream, _)) => {
                let index = shared.accepted.fetch_add(1, Ordering::SeqCst);
                let log = Arc::new(Mutex::new(ConnectionLog::default()));
                shared.logs.lock().unwrap().push(log.clone());
                let script = scripts
                    .get(index)
                    .cloned()
                    .unwrap_or_else(|| vec![Step::Close]);
                let s = shared.clone();
                let worker = thread::spawn(move || play(stream, script, &log, &s));
                shared.workers.lock().unwrap().push(worker);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(Duration::from_millis(2)),
            Err(_) => return,
        }
    }
}

fn stopped(shared: &Shared) -> bool {
    shared.stop.load(Ordering::SeqCst)
}

/// Plays `script` on `stream`; the stream is closed (FIN) when the script ends.
fn play(mut stream: TcpStream, script: Vec<Step>, log: &Mutex<ConnectionLog>, shared: &Shared) {
    stream.set_nonblocking(false).unwrap();
    stream.set_nodelay(true).unwrap();
    // Short read timeouts let blocking reads notice `stop`.
    stream
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    stream.set_write_timeout(Some(STEP_BOUND)).unwrap();
    let mut pending = Vec::new();
    for step in script {
        let ok = match step {
            Step::ReadRequest => read_request(&mut stream, &mut pending, log, shared, true),
            Step::ReadHead => read_request(&mut stream, &mut pending, log, shared, false),
            Step::Send(bytes) => send(&mut stream, &bytes, log),
            Step::Trickle(bytes, gap) => bytes.iter().all(|b| {
                thread::sleep(gap);
                !stopped(shared) && send(&mut stream, &[*b], log)
            }),
            Step::Wait(d) => {
                thread::sleep(d);
                true
            }
            Step::SendForever(bytes) => {
                let deadline = Instant::now() + STEP_BOUND;
                while !stopped(shared)
                    && Instant::now() < deadline
                    && send(&mut stream, &bytes, log)
                {}
                false
            }
            Step::Close => {
                let _ = stream.shutdown(std::net::Shutdown::Write);
                false
            }
            Step::Reset => {
                let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
                false
            }
            Step::Stall => {
                let deadline = Instant::now() + STEP_BOUND;
                while !stopped(shared) && Instant::now() < deadline {
                    thread::sleep(Duration::from_millis(5));
                }
                false
            }
            Step::DrainUntilClosed => {
                while read_some(&mut stream, &mut pending, log, shared) {}
                false
            }
        };
        if !ok {
            break;
        }
    }
}

/// Write all of `bytes`; false if that failed. A reset or a broken pipe means the client
/// closed its side while we wrote (closing a socket with unread bytes sends a reset, not an
/// end of file), which is logged as the client closing.
fn send(stream: &mut TcpStream, bytes: &[u8], log: &Mutex<ConnectionLog>) -> bool {
    match stream.write_all(bytes) {
        Ok(()) => true,
        Err(e) => {
            if matches!(
                e.kind(),
                ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::ConnectionAborted
            ) {
                log.lock().unwrap().client_closed = true;
            }
            false
        }
    }
}

/// One read into `pending` (and the log). False at end of file, on error, on stop or after
/// [`STEP_BOUND`] without data.
fn read_some(
    stream: &mut TcpStream,
    pending: &mut Vec<u8>,
    log: &Mutex<ConnectionLog>,
    shared: &Shared,
) -> bool {
    let mut buf = [0u8; 16 * 1024];
    let deadline = Instant::now() + STEP_BOUND;
    loop {
        if stopped(shared) || Instant::now() >= deadline {
            return false;
        }
        match stream.read(&mut buf) {
            Ok(0) => {
                log.lock().unwrap().client_closed = true;
                return false;
            }
            Ok(n) => {
                pending.extend_from_slice(&buf[..n]);
                log.lock().unwrap().received.extend_from_slice(&buf[..n]);
                return true;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => {
                log.lock().unwrap().client_closed = true;
                return false;
            }
        }
    }
}

/// Reads one request head (and, with `with_body`, its body) from `pending` plus the stream,
/// leaving any bytes after it in `pending`.
fn read_request(
    stream: &mut TcpStream,
    pending: &mut Vec<u8>,
    log: &Mutex<ConnectionLog>,
    shared: &Shared,
    with_body: bool,
) -> bool {
    loop {
        if let Some(used) = request_length(pending, with_body) {
            pending.drain(..used);
            if with_body {
                log.lock().unwrap().requests += 1;
            }
            return true;
        }
        if !read_some(stream, pending, log, shared) {
            return false;
        }
    }
}

/// The length of the first complete request in `data`, if there is one.
fn request_length(data: &[u8], with_body: bool) -> Option<usize> {
    let end = data.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    if !with_body {
        return Some(end);
    }
    let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| {
            v.trim()
                .parse::<usize>()
                .expect("client sent a bad Content-Length")
        });
    if let Some(n) = length {
        return (data.len() >= end + n).then_some(end + n);
    }
    if head.contains("transfer-encoding: chunked") {
        let body = &data[end..];
        return body
            .windows(5)
            .position(|w| w == b"0\r\n\r\n")
            .filter(|&p| p == 0 || body[..p].ends_with(b"\r\n"))
            .map(|p| end + p + 5);
    }
    Some(end)
}

/// A probe of how many whole requests `server` has read, for `Case::run_until`.
pub fn requests_seen(server: &FaultServer) -> impl Fn() -> usize + 'static {
    let probe = server.probe();
    move || probe.total_requests()
}

/// A probe of whether the client closed connection `i` of `server`, for `Case::run_until`.
pub fn closed_by_client(server: &FaultServer, i: usize) -> impl Fn() -> bool + 'static {
    let probe = server.probe();
    move || probe.log(i).client_closed
}
