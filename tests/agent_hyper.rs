//! The Agent against an independent HTTP/1.1 server: hyper 1.x on its own thread (a
//! current-thread tokio runtime), reached over real sockets.
//!
//! The big transfers (tests `big_download_*` and `big_upload_*`) move
//! `TREQ_HYPER_BIG_BYTES` bytes each (default 1 GiB: about 0.5 s each even in a debug build;
//! set a smaller value on a slow machine).

use hyper::body::{Body, Bytes as HBytes, Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use reactor::defer::{Deferred, Failure};
use reactor::endpoints::HostnameEndpoint;
use reactor::interfaces::{IConsumer, IProtocol, IStreamClientEndpoint, ITransport};
use reactor::Reactor;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::thread;
use std::time::Instant;
use treq::web::client::{read_body, Agent, EndpointFactory, HTTPConnectionPool};
use treq::web::http_headers::Headers;
use treq::web::iweb::{IAgent, IBodyProducer};

const PIECE: usize = 64 * 1024;
/// The most one read of the TCP transport takes in (its read buffer's largest size).
const MAX_READ: usize = 256 * 1024;

// ---------------------------------------------------------------------------------------------
// The hyper server.

/// A response body: all at once, generated frames of a known total, or pieces of unknown total
/// (which hyper sends chunked).
enum Out {
    Full(Option<HBytes>),
    Generated { remaining: u64, piece: HBytes },
    Pieces(VecDeque<HBytes>),
}

impl Body for Out {
    type Data = HBytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<HBytes>, Infallible>>> {
        let frame = match self.get_mut() {
            Out::Full(b) => b.take(),
            Out::Generated { remaining, piece } => {
                if *remaining == 0 {
                    None
                } else {
                    let n = (*remaining).min(piece.len() as u64) as usize;
                    *remaining -= n as u64;
                    Some(piece.slice(..n))
                }
            }
            Out::Pieces(pieces) => pieces.pop_front(),
        };
        Poll::Ready(frame.map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Out::Full(b) => b.is_none(),
            Out::Generated { remaining, .. } => *remaining == 0,
            Out::Pieces(p) => p.is_empty(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Out::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Out::Generated { remaining, .. } => SizeHint::with_exact(*remaining),
            Out::Pieces(_) => SizeHint::default(),
        }
    }
}

async fn handle(req: hyper::Request<Incoming>) -> Result<hyper::Response<Out>, Infallible> {
    use http_body_util::BodyExt;
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let body = match path.as_str() {
        "/chunked" => Out::Pieces(
            ["first piece|", "second piece|", "third piece|", "the end"]
                .into_iter()
                .map(HBytes::from)
                .collect(),
        ),
        "/big" => {
            let n: u64 = query
                .strip_prefix("n=")
                .and_then(|n| n.parse().ok())
                .expect("/big?n=<bytes>");
            Out::Generated {
                remaining: n,
                piece: HBytes::from(vec![b'x'; PIECE]),
            }
        }
        "/upload" => {
            let mut body = req.into_body();
            let mut count: u64 = 0;
            while let Some(frame) = body.frame().await {
                match frame {
                    Ok(frame) => {
                        if let Ok(data) = frame.into_data() {
                            count += data.len() as u64;
                        }
                    }
                    Err(e) => {
                        let text = format!("error after {count}: {e}");
                        return Ok(hyper::Response::builder()
                            .status(500)
                            .body(Out::Full(Some(text.into())))
                            .unwrap());
                    }
                }
            }
            Out::Full(Some(count.to_string().into()))
        }
        _ => {
            // Echo: the request line, the headers, a blank line, the body.
            let mut text = format!("{} {}\n", req.method(), req.uri());
            for (name, value) in req.headers() {
                text.push_str(&format!("{}: {}\n", name, value.to_str().unwrap_or("?")));
            }
            text.push('\n');
            let body = req.into_body().collect().await.unwrap().to_bytes();
            let mut out = text.into_bytes();
            out.extend_from_slice(&body);
            Out::Full(Some(out.into()))
        }
    };
    Ok(hyper::Response::new(body))
}

struct Server {
    port: u16,
    connections: Arc<AtomicUsize>,
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }
}

fn serve() -> Server {
    let connections = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    let counter = connections.clone();
    thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::task::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service_fn(handle))
                        .await;
                });
            }
        });
    });
    Server {
        port: rx.recv().unwrap(),
        connections,
    }
}

// ---------------------------------------------------------------------------------------------
// Client helpers.

/// Run the reactor until `d` fires, at most `seconds`, and return its result.
fn run<T: 'static>(reactor: &Reactor, d: Deferred<T>, seconds: f64) -> Result<T, Failure> {
    let result = Rc::new(RefCell::new(None));
    let (r, stopper) = (result.clone(), reactor.clone());
    d.add_both(move |outcome: Result<T, Failure>| {
        *r.borrow_mut() = Some(outcome);
        let _ = stopper.stop();
    });
    if result.borrow().is_none() {
        let stopper = reactor.clone();
        let timeout = reactor.call_later(seconds, move || {
            let _ = stopper.stop();
        });
        reactor.run().unwrap();
        let _ = timeout.cancel();
    }
    let outcome = result.borrow_mut().take();
    outcome.unwrap_or_else(|| panic!("the test timed out after {seconds} seconds"))
}

fn text(reactor: &Reactor, d: Deferred<treq::web::response::Response>) -> (u16, String) {
    let d = d.add_callback(|response| {
        let code = response.code;
        read_body(&response).add_callback(move |body| (code, body))
    });
    let (code, body) = run(reactor, d, 10.0).unwrap();
    (code, String::from_utf8(body.to_vec()).unwrap())
}

fn big_size() -> u64 {
    std::env::var("TREQ_HYPER_BIG_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024 * 1024 * 1024)
}

/// The big tests run one at a time, so that the process-wide peak RSS means something.
static BIG: Mutex<()> = Mutex::new(());

/// Peak resident set size of the process, in bytes.
fn vm_hwm() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// Reset the peak RSS to the current RSS where the kernel allows it.
fn reset_hwm() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// An endpoint factory that connects like the default one and keeps every transport, so tests
/// can look at the socket's write buffer.
struct SpyFactory {
    reactor: Reactor,
    transports: Rc<RefCell<Vec<Rc<dyn ITransport>>>>,
}

struct SpyEndpoint {
    inner: HostnameEndpoint,
    transports: Rc<RefCell<Vec<Rc<dyn ITransport>>>>,
}

struct SpyProtocol {
    inner: Rc<dyn IProtocol>,
    transports: Rc<RefCell<Vec<Rc<dyn ITransport>>>>,
}

impl EndpointFactory for SpyFactory {
    fn endpoint_for_uri(
        &self,
        _scheme: &str,
        host: &str,
        port: u16,
    ) -> Result<Rc<dyn IStreamClientEndpoint>, Failure> {
        Ok(Rc::new(SpyEndpoint {
            inner: HostnameEndpoint::new(&self.reactor, host, port),
            transports: self.transports.clone(),
        }))
    }
}

impl IStreamClientEndpoint for SpyEndpoint {
    fn connect(&self, protocol: Rc<dyn IProtocol>) -> Deferred<()> {
        self.inner.connect(Rc::new(SpyProtocol {
            inner: protocol,
            transports: self.transports.clone(),
        }))
    }
}

impl IProtocol for SpyProtocol {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        self.transports.borrow_mut().push(transport.clone());
        self.inner.make_connection(transport);
    }
    fn data_received(&self, data: bytes::Bytes) {
        self.inner.data_received(data);
    }
    fn connection_lost(&self, reason: Failure) {
        self.inner.connection_lost(reason);
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Every method.

#[test]
fn every_method_round_trips() {
    let server = serve();
    let reactor = Reactor::new();
    let agent = Agent::new(&reactor).pool(HTTPConnectionPool::new(&reactor, true));
    for method in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
        let mut headers = Headers::new();
        headers.add_raw_header("X-Treq-Test", method).unwrap();
        let body = format!("body of {method}");
        let producer: Option<Rc<dyn IBodyProducer>> = match method {
            "POST" | "PUT" | "PATCH" => Some(Rc::new(treq::web::client::BytesBodyProducer::new(
                body.clone(),
            ))),
            _ => None,
        };
        let d = agent.request(
            method,
            &server.url("/echo?q=1"),
            Some(headers),
            producer.clone(),
        );
        let (code, echoed) = text(&reactor, d);
        assert_eq!(code, 200, "{method}");
        if method == "HEAD" {
            assert_eq!(echoed, "", "HEAD has no body");
            continue;
        }
        let (head, echoed_body) = echoed.split_once("\n\n").unwrap();
        let mut lines = head.lines();
        assert_eq!(lines.next().unwrap(), format!("{method} /echo?q=1"));
        let headers: Vec<&str> = lines.collect();
        assert!(
            headers.contains(&format!("x-treq-test: {method}").as_str()),
            "{headers:?}"
        );
        assert!(
            headers.contains(&format!("host: 127.0.0.1:{}", server.port).as_str()),
            "{headers:?}"
        );
        if producer.is_some() {
            assert_eq!(echoed_body, body, "{method}");
            let length = format!("content-length: {}", body.len());
            assert!(headers.contains(&length.as_str()), "{headers:?}");
        } else {
            assert_eq!(echoed_body, "", "{method}");
        }
    }
    // All on one persistent connection.
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

// ---------------------------------------------------------------------------------------------
// 2. A chunked response.

#[test]
fn chunked_response_is_read_whole() {
    let server = serve();
    let reactor = Reactor::new();
    let agent = Agent::new(&reactor);
    let d = agent.request("GET", &server.url("/chunked"), None, None);
    let d = d.add_callback(|response| {
        let chunked = response
            .headers
            .get_first("transfer-encoding")
            .map(|v| v.to_vec());
        let length = response.length;
        read_body(&response).add_callback(move |body| (chunked, length, body))
    });
    let (chunked, length, body) = run(&reactor, d, 10.0).unwrap();
    assert_eq!(chunked.as_deref(), Some(&b"chunked"[..]));
    assert_eq!(length, None);
    assert_eq!(&body[..], b"first piece|second piece|third piece|the end");
}

// ---------------------------------------------------------------------------------------------
// 3. A chunked upload of unknown length.

/// Writes its pieces one per reactor turn; its length is unknown.
struct Pieces {
    reactor: Reactor,
    pieces: Vec<&'static str>,
}

fn feed(
    reactor: Reactor,
    consumer: Rc<dyn IConsumer>,
    mut left: VecDeque<&'static str>,
    done: Deferred<()>,
) {
    match left.pop_front() {
        Some(piece) => {
            consumer.write(piece.as_bytes());
            let r = reactor.clone();
            reactor.call_later(0.0, move || feed(r, consumer, left, done));
        }
        None => {
            let _ = done.callback(());
        }
    }
}

impl IBodyProducer for Pieces {
    fn length(&self) -> Option<u64> {
        None
    }
    fn start_producing(&self, consumer: Rc<dyn IConsumer>) -> Deferred<()> {
        let done = Deferred::new();
        feed(
            self.reactor.clone(),
            consumer,
            self.pieces.iter().copied().collect(),
            done.clone(),
        );
        done
    }
    fn pause_producing(&self) {}
    fn resume_producing(&self) {}
    fn stop_producing(&self) {}
}

#[test]
fn chunked_upload_of_unknown_length_arrives_whole() {
    let server = serve();
    let reactor = Reactor::new();
    let agent = Agent::new(&reactor);
    let producer = Rc::new(Pieces {
        reactor: reactor.clone(),
        pieces: vec!["alpha,", "beta,", "", "gamma,", "delta"],
    });
    let d = agent.request("POST", &server.url("/echo"), None, Some(producer));
    let (code, echoed) = text(&reactor, d);
    assert_eq!(code, 200);
    let (head, body) = echoed.split_once("\n\n").unwrap();
    assert!(
        head.lines().any(|l| l == "transfer-encoding: chunked"),
        "{head}"
    );
    assert!(!head.contains("content-length"), "{head}");
    assert_eq!(body, "alpha,beta,gamma,delta");
}

// ---------------------------------------------------------------------------------------------
// 4. Pool reuse, counted by the server.

fn five_gets(persistent: bool) -> usize {
    let server = serve();
    let reactor = Reactor::new();
    let agent = Agent::new(&reactor).pool(HTTPConnectionPool::new(&reactor, persistent));
    for i in 0..5 {
        let (code, echoed) = text(
            &reactor,
            agent.request("GET", &server.url(&format!("/{i}")), None, None),
        );
        assert_eq!(code, 200);
        assert!(echoed.starts_with(&format!("GET /{i}\n")), "{echoed}");
    }
    server.connections.load(Ordering::SeqCst)
}

#[test]
fn persistent_pool_uses_one_connection() {
    assert_eq!(five_gets(true), 1);
}

#[test]
fn non_persistent_pool_uses_a_connection_per_request() {
    assert_eq!(five_gets(false), 5);
}

// ---------------------------------------------------------------------------------------------
// 5. A big download through deliver_body.

struct Counter {
    reactor: Reactor,
    pause_at: u64,
    transport: RefCell<Option<Rc<dyn ITransport>>>,
    received: Cell<u64>,
    biggest: Cell<usize>,
    paused: Cell<bool>,
    pauses: Cell<usize>,
    received_while_paused: Cell<u64>,
    done: Deferred<()>,
    me: Weak<Counter>,
}

impl Counter {
    fn resume_after(&self, turns: usize) {
        let Some(me) = self.me.upgrade() else { return };
        self.reactor.call_later(0.0, move || {
            if turns == 0 {
                me.paused.set(false);
                let t = me.transport.borrow().clone().unwrap();
                t.resume_producing();
            } else {
                me.resume_after(turns - 1);
            }
        });
    }
}

impl IProtocol for Counter {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        *self.transport.borrow_mut() = Some(transport);
    }
    fn data_received(&self, data: bytes::Bytes) {
        let before = self.received.get();
        self.received.set(before + data.len() as u64);
        self.biggest.set(self.biggest.get().max(data.len()));
        if self.paused.get() {
            self.received_while_paused
                .set(self.received_while_paused.get() + data.len() as u64);
        }
        // Pause once each time another `pause_at` bytes have arrived, for a few turns.
        if before / self.pause_at != self.received.get() / self.pause_at && !self.paused.get() {
            self.paused.set(true);
            self.pauses.set(self.pauses.get() + 1);
            let t = self.transport.borrow().clone().unwrap();
            t.pause_producing();
            self.resume_after(5);
        }
    }
    fn connection_lost(&self, reason: Failure) {
        if reason.check::<treq::web::error::ResponseDone>() {
            let _ = self.done.callback(());
        } else {
            let _ = self.done.errback(reason);
        }
    }
}

#[test]
fn big_download_streams_with_bounded_memory() {
    let _big = BIG.lock().unwrap_or_else(|e| e.into_inner());
    let size = big_size();
    let server = serve();
    let reactor = Reactor::new();
    let agent = Agent::new(&reactor);
    let counter = Rc::new_cyclic(|me| Counter {
        reactor: reactor.clone(),
        pause_at: (size / 4).max(1),
        transport: RefCell::new(None),
        received: Cell::new(0),
        biggest: Cell::new(0),
        paused: Cell::new(false),
        pauses: Cell::new(0),
        received_while_paused: Cell::new(0),
        done: Deferred::new(),
        me: me.clone(),
    });
    reset_hwm();
    let hwm_before = vm_hwm();
    let start = Instant::now();
    let c = counter.clone();
    let d = agent
        .request("GET", &server.url(&format!("/big?n={size}")), None, None)
        .add_callback(move |response| {
            assert_eq!(response.length, Some(size));
            response.deliver_body(c.clone()).unwrap();
            c.done.clone()
        });
    run(&reactor, d, 300.0).unwrap();
    let elapsed = start.elapsed();
    let grown = vm_hwm().saturating_sub(hwm_before);
    eprintln!(
        "download: {size} bytes in {elapsed:?}, biggest piece {}, {} pauses, {} bytes while paused, peak RSS grew {} KiB",
        counter.biggest.get(),
        counter.pauses.get(),
        counter.received_while_paused.get(),
        grown / 1024
    );
    assert_eq!(counter.received.get(), size);
    assert!(
        counter.biggest.get() <= MAX_READ,
        "a piece of {}",
        counter.biggest.get()
    );
    assert!(
        counter.pauses.get() >= 3,
        "paused {} times",
        counter.pauses.get()
    );
    // Pausing stops reading: at most what one read had already taken in arrives while paused.
    assert!(
        counter.received_while_paused.get() <= MAX_READ as u64,
        "{} bytes arrived while paused",
        counter.received_while_paused.get()
    );
    assert!(grown < 64 * 1024 * 1024, "peak RSS grew by {grown} bytes");
}

// ---------------------------------------------------------------------------------------------
// 6. A big upload from a push producer.

struct Generator {
    reactor: Reactor,
    size: u64,
    piece: Vec<u8>,
    sent: Cell<u64>,
    paused: Cell<bool>,
    pauses: Cell<usize>,
    stopped: Cell<bool>,
    scheduled: Cell<bool>,
    consumer: RefCell<Option<Rc<dyn IConsumer>>>,
    done: RefCell<Option<Deferred<()>>>,
    transports: Rc<RefCell<Vec<Rc<dyn ITransport>>>>,
    biggest_buffer: Cell<usize>,
    me: Weak<Generator>,
}

impl Generator {
    fn schedule(&self) {
        if self.scheduled.replace(true) {
            return;
        }
        let Some(me) = self.me.upgrade() else { return };
        self.reactor.call_later(0.0, move || me.pump());
    }

    fn pump(&self) {
        self.scheduled.set(false);
        let Some(consumer) = self.consumer.borrow().clone() else {
            return;
        };
        let transport = self.transports.borrow().last().cloned();
        // A push producer writes until paused; a bound per turn keeps the reactor responsive
        // should the pause never come.
        let mut n = 0;
        while !self.paused.get() && !self.stopped.get() && self.sent.get() < self.size && n < 256 {
            let len = (self.size - self.sent.get()).min(self.piece.len() as u64) as usize;
            consumer.write(&self.piece[..len]);
            self.sent.set(self.sent.get() + len as u64);
            if let Some(t) = &transport {
                self.biggest_buffer
                    .set(self.biggest_buffer.get().max(t.write_buffer_len()));
            }
            n += 1;
        }
        if self.sent.get() == self.size {
            let done = self.done.borrow_mut().take();
            if let Some(done) = done {
                let _ = done.callback(());
            }
        } else if !self.paused.get() && !self.stopped.get() {
            self.schedule();
        }
    }
}

impl IBodyProducer for Generator {
    fn length(&self) -> Option<u64> {
        Some(self.size)
    }
    fn start_producing(&self, consumer: Rc<dyn IConsumer>) -> Deferred<()> {
        let done = Deferred::new();
        *self.consumer.borrow_mut() = Some(consumer);
        *self.done.borrow_mut() = Some(done.clone());
        self.schedule();
        done
    }
    fn pause_producing(&self) {
        if !self.paused.replace(true) {
            self.pauses.set(self.pauses.get() + 1);
        }
    }
    fn resume_producing(&self) {
        self.paused.set(false);
        self.schedule();
    }
    fn stop_producing(&self) {
        self.stopped.set(true);
        self.done.borrow_mut().take();
    }
}

#[test]
fn big_upload_streams_from_a_push_producer() {
    let _big = BIG.lock().unwrap_or_else(|e| e.into_inner());
    let size = big_size();
    let server = serve();
    let reactor = Reactor::new();
    let transports = Rc::new(RefCell::new(Vec::new()));
    let factory = Rc::new(SpyFactory {
        reactor: reactor.clone(),
        transports: transports.clone(),
    });
    let agent =
        Agent::using_endpoint_factory(&reactor, factory, HTTPConnectionPool::new(&reactor, false));
    let generator = Rc::new_cyclic(|me| Generator {
        reactor: reactor.clone(),
        size,
        piece: vec![b'u'; PIECE],
        sent: Cell::new(0),
        paused: Cell::new(false),
        pauses: Cell::new(0),
        stopped: Cell::new(false),
        scheduled: Cell::new(false),
        consumer: RefCell::new(None),
        done: RefCell::new(None),
        transports,
        biggest_buffer: Cell::new(0),
        me: me.clone(),
    });
    reset_hwm();
    let hwm_before = vm_hwm();
    let start = Instant::now();
    let d = agent.request(
        "POST",
        &server.url("/upload"),
        None,
        Some(generator.clone()),
    );
    let d = d.add_callback(|response| {
        let code = response.code;
        read_body(&response).add_callback(move |body| (code, body))
    });
    let (code, body) = run(&reactor, d, 300.0).unwrap();
    let elapsed = start.elapsed();
    let grown = vm_hwm().saturating_sub(hwm_before);
    eprintln!(
        "upload: {size} bytes in {elapsed:?}, {} pauses, biggest write buffer {}, peak RSS grew {} KiB",
        generator.pauses.get(),
        generator.biggest_buffer.get(),
        grown / 1024
    );
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(String::from_utf8_lossy(&body), size.to_string());
    assert_eq!(generator.sent.get(), size);
    assert!(generator.pauses.get() >= 1, "the producer was never paused");
    // The socket's buffer stays under the high-water mark plus one piece.
    assert!(
        generator.biggest_buffer.get() <= 64 * 1024 + PIECE,
        "the write buffer reached {} bytes",
        generator.biggest_buffer.get()
    );
    assert!(grown < 64 * 1024 * 1024, "peak RSS grew by {grown} bytes");
}
