//! Agent and HTTPConnectionPool over real sockets, against a scripted raw TCP server.

use reactor::defer::{Deferred, Failure};
use reactor::Reactor;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;
use treq::web::client::{
    read_body, Agent, BytesBodyProducer, FileBodyProducer, HTTPConnectionPool,
};
use treq::web::error::ResponseNeverReceived;
use treq::web::iweb::{IAgent, IBodyProducer};

/// What the server does with a request.
enum Reply {
    /// Send these bytes (and close if they say `Connection: close`).
    Send(Vec<u8>),
    /// Send these bytes, then close without saying so.
    SendAndClose(Vec<u8>),
    /// Close without replying.
    Close,
}

/// What the server does with the `n`th request on connection `c`.
type Script = dyn Fn(usize, usize, &[u8]) -> Reply + Send + Sync;

struct Server {
    port: u16,
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
}

fn read_request(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let body_len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .map(|v| v.trim().parse::<usize>().unwrap());
            let chunked = head.contains("transfer-encoding: chunked");
            let complete = match (body_len, chunked) {
                (Some(n), _) => data.len() >= end + 4 + n,
                (None, true) => data.ends_with(b"0\r\n\r\n"),
                (None, false) => true,
            };
            if complete {
                return Some(data);
            }
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
}

fn serve(script: impl Fn(usize, usize, &[u8]) -> Reply + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let script: Arc<Script> = Arc::new(script);
    let (c, r) = (connections.clone(), requests.clone());
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let index = c.fetch_add(1, Ordering::SeqCst);
            let (script, requests) = (script.clone(), r.clone());
            thread::spawn(move || {
                let mut n = 0;
                while let Some(request) = read_request(&mut stream) {
                    requests.lock().unwrap().push(request.clone());
                    match script(index, n, &request) {
                        Reply::Send(reply) => {
                            stream.write_all(&reply).unwrap();
                            if reply.windows(17).any(|w| w == b"Connection: close") {
                                return;
                            }
                        }
                        Reply::SendAndClose(reply) => {
                            stream.write_all(&reply).unwrap();
                            return;
                        }
                        Reply::Close => return,
                    }
                    n += 1;
                }
            });
        }
    });
    Server {
        port,
        connections,
        requests,
    }
}

/// Run the reactor until `d` fires (at most 5 seconds) and return its result.
fn run<T: 'static>(reactor: &Reactor, d: Deferred<T>) -> Result<T, Failure> {
    let result = Rc::new(std::cell::RefCell::new(None));
    let (r, stopper) = (result.clone(), reactor.clone());
    d.add_both(move |outcome: Result<T, Failure>| {
        *r.borrow_mut() = Some(outcome);
        let _ = stopper.stop();
    });
    if result.borrow().is_none() {
        let stopper = reactor.clone();
        let timeout = reactor.call_later(5.0, move || {
            let _ = stopper.stop();
        });
        reactor.run().unwrap();
        let _ = timeout.cancel();
    }
    let outcome = result.borrow_mut().take();
    outcome.expect("the test timed out after 5 seconds")
}

fn ok(body: &str) -> Reply {
    Reply::Send(ok_bytes(body))
}

fn ok_bytes(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn get_body(reactor: &Reactor, agent: &Agent, method: &str, url: &str) -> Result<Vec<u8>, Failure> {
    let d = agent
        .request(method, url, None, None)
        .add_callback(|response| read_body(&response));
    run(reactor, d).map(|b| b.to_vec())
}

#[test]
fn methods_round_trip() {
    let server = serve(|_, _, request| {
        let line = String::from_utf8_lossy(request)
            .lines()
            .next()
            .unwrap()
            .to_owned();
        if line.starts_with("HEAD") {
            // A HEAD response has the headers of a GET and no body.
            Reply::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\n".to_vec())
        } else {
            ok(&line)
        }
    });
    let reactor = Reactor::new();
    let agent = Agent::new(&reactor).pool(HTTPConnectionPool::new(&reactor, true));
    let url = format!("http://127.0.0.1:{}/p?q=1#frag", server.port);
    for method in ["GET", "DELETE", "OPTIONS"] {
        let body = get_body(&reactor, &agent, method, &url).unwrap();
        assert_eq!(body, format!("{method} /p?q=1 HTTP/1.1").into_bytes());
    }
    let d = agent
        .request("HEAD", &url, None, None)
        .add_callback(|response| read_body(&response));
    assert_eq!(&run(&reactor, d).unwrap()[..], b"");
    for method in ["POST", "PUT"] {
        let producer: Rc<dyn IBodyProducer> = Rc::new(BytesBodyProducer::new("payload"));
        let d = agent
            .request(method, &url, None, Some(producer))
            .add_callback(|response| read_body(&response));
        assert_eq!(
            run(&reactor, d).unwrap(),
            format!("{method} /p?q=1 HTTP/1.1")
        );
    }
    let requests = server.requests.lock().unwrap();
    let host = format!("Host: 127.0.0.1:{}\r\n", server.port);
    assert!(requests
        .iter()
        .all(|r| String::from_utf8_lossy(r).contains(&host)));
    assert!(requests[4].ends_with(b"Content-Length: 7\r\n\r\npayload"));
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

#[test]
fn pool_reuses_one_connection() {
    let server = serve(|_, _, _| ok("hi"));
    let reactor = Reactor::new();
    let agent = Agent::new(&reactor).pool(HTTPConnectionPool::new(&reactor, true));
    let url = format!("http://127.0.0.1:{}/", server.port);
    assert_eq!(get_body(&reactor, &agent, "GET", &url).unwrap(), b"hi");
    assert_eq!(get_body(&reactor, &agent, "GET", &url).unwrap(), b"hi");
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    run(&reactor, agent.get_pool().close_cached_connections()).unwrap();
}

#[test]
fn non_persistent_pool_uses_new_connections() {
    let server = serve(|_, _, _| ok("hi"));
    let reactor = Reactor::new();
    let agent = Agent::new(&reactor);
    let url = format!("http://127.0.0.1:{}/", server.port);
    assert_eq!(get_body(&reactor, &agent, "GET", &url).unwrap(), b"hi");
    assert_eq!(get_body(&reactor, &agent, "GET", &url).unwrap(), b"hi");
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
    let requests = server.requests.lock().unwrap();
    assert!(String::from_utf8_lossy(&requests[0]).contains("Connection: close\r\n"));
}

/// The server drops the first connection when its second request arrives, as if it had
/// closed the idle connection just as the request was sent.
fn stale_server() -> Server {
    serve(|connection, n, _| {
        if connection > 0 || n == 0 {
            ok("fresh")
        } else {
            Reply::Close
        }
    })
}

#[test]
fn stale_cached_connection_is_retried_for_get() {
    let server = stale_server();
    let reactor = Reactor::new();
    let agent = Agent::new(&reactor).pool(HTTPConnectionPool::new(&reactor, true));
    let url = format!("http://127.0.0.1:{}/", server.port);
    assert_eq!(get_body(&reactor, &agent, "GET", &url).unwrap(), b"fresh");
    assert_eq!(get_body(&reactor, &agent, "GET", &url).unwrap(), b"fresh");
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
}

#[test]
fn stale_cached_connection_is_not_retried_for_post() {
    let server = stale_server();
    let reactor = Reactor::new();
    let agent = Agent::new(&reactor).pool(HTTPConnectionPool::new(&reactor, true));
    let url = format!("http://127.0.0.1:{}/", server.port);
    assert_eq!(get_body(&reactor, &agent, "GET", &url).unwrap(), b"fresh");
    let failure = get_body(&reactor, &agent, "POST", &url).unwrap_err();
    assert!(failure.check::<ResponseNeverReceived>(), "{failure}");
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

#[test]
fn no_retry_when_disabled() {
    let server = stale_server();
    let reactor = Reactor::new();
    let pool = HTTPConnectionPool::new(&reactor, true).retry_automatically(false);
    let agent = Agent::new(&reactor).pool(pool);
    let url = format!("http://127.0.0.1:{}/", server.port);
    assert_eq!(get_body(&reactor, &agent, "GET", &url).unwrap(), b"fresh");
    assert!(get_body(&reactor, &agent, "GET", &url).is_err());
}

#[test]
fn idle_connection_closed_by_server_is_not_handed_out() {
    let server = serve(|_, _, _| Reply::SendAndClose(ok_bytes("x")));
    let reactor = Reactor::new();
    let pool = HTTPConnectionPool::new(&reactor, true).retry_automatically(false);
    let agent = Agent::new(&reactor).pool(pool.clone());
    let url = format!("http://127.0.0.1:{}/", server.port);
    let key = ("http".to_owned(), "127.0.0.1".to_owned(), server.port);
    assert_eq!(get_body(&reactor, &agent, "GET", &url).unwrap(), b"x");
    // The server's close reaches the idle connection, which leaves the pool.
    run(&reactor, reactor::task::defer_later(&reactor, 0.2, || ())).unwrap();
    assert_eq!(pool.idle_count(&key), 0);
    // So the next request (with retries off) gets a new connection and succeeds.
    assert_eq!(get_body(&reactor, &agent, "GET", &url).unwrap(), b"x");
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
}

#[test]
fn unsupported_schemes_and_bad_uris() {
    let reactor = Reactor::new();
    let agent = Agent::new(&reactor);
    let failure = run(
        &reactor,
        agent.request("GET", "ftp://example.com/", None, None),
    )
    .unwrap_err();
    assert!(failure.check::<treq::web::error::SchemeNotSupported>());
    let failure = run(&reactor, agent.request("GET", "not a uri", None, None)).unwrap_err();
    assert!(failure.check::<treq::web::error::InvalidURI>());
    let failure = run(&reactor, agent.request("G T", "http://a/", None, None)).unwrap_err();
    assert!(failure.check::<treq::web::error::RequestGenerationFailed>());
}

#[test]
fn connection_refused_is_reported() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    thread::sleep(Duration::from_millis(10));
    let reactor = Reactor::new();
    let agent = Agent::new(&reactor);
    let url = format!("http://127.0.0.1:{port}/");
    let failure = run(&reactor, agent.request("GET", &url, None, None)).unwrap_err();
    assert!(
        failure.find::<reactor::error::ConnectError>().is_some(),
        "{failure}"
    );
}

#[test]
fn large_file_upload_streams_through_the_socket() {
    let server = serve(|_, _, request| {
        let end = request.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let body = &request[end..];
        let sum: u64 = body.iter().map(|&b| b as u64).sum();
        ok(&format!("{} {sum}", body.len()))
    });
    let reactor = Reactor::new();
    let agent = Agent::new(&reactor).pool(HTTPConnectionPool::new(&reactor, true));
    let url = format!("http://127.0.0.1:{}/upload", server.port);
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let expected_sum: u64 = data.iter().map(|&b| b as u64).sum();
    let producer: Rc<dyn IBodyProducer> =
        Rc::new(FileBodyProducer::new(&reactor, std::io::Cursor::new(data)).unwrap());
    let d = agent
        .request("PUT", &url, None, Some(producer))
        .add_callback(|response| read_body(&response));
    let body = run(&reactor, d).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&body),
        format!("3000000 {expected_sum}")
    );
}

/// A body protocol that pauses the connection after its first piece and resumes later.
struct SlowReader {
    reactor: Reactor,
    transport: std::cell::RefCell<Option<Rc<dyn reactor::interfaces::ITransport>>>,
    received: std::cell::Cell<usize>,
    pauses: std::cell::Cell<usize>,
    done: Deferred<usize>,
}

impl reactor::interfaces::IProtocol for SlowReader {
    fn make_connection(&self, transport: Rc<dyn reactor::interfaces::ITransport>) {
        *self.transport.borrow_mut() = Some(transport);
    }
    fn data_received(&self, data: bytes::Bytes) {
        self.received.set(self.received.get() + data.len());
        if self.pauses.get() < 3 {
            self.pauses.set(self.pauses.get() + 1);
            let transport = self.transport.borrow().clone().unwrap();
            transport.pause_producing();
            self.reactor
                .call_later(0.02, move || transport.resume_producing());
        }
    }
    fn connection_lost(&self, reason: Failure) {
        if reason.check::<treq::web::error::ResponseDone>() {
            let _ = self.done.callback(self.received.get());
        } else {
            let _ = self.done.errback(reason);
        }
    }
}

#[test]
fn paused_body_protocol_gets_the_whole_body_after_resuming() {
    const SIZE: usize = 2_000_000;
    let server = serve(|_, _, _| {
        let mut reply = format!("HTTP/1.1 200 OK\r\nContent-Length: {SIZE}\r\n\r\n").into_bytes();
        reply.extend(std::iter::repeat_n(b'z', SIZE));
        Reply::Send(reply)
    });
    let reactor = Reactor::new();
    let agent = Agent::new(&reactor).pool(HTTPConnectionPool::new(&reactor, true));
    let url = format!("http://127.0.0.1:{}/big", server.port);
    let r = reactor.clone();
    let d = agent
        .request("GET", &url, None, None)
        .add_callback(move |response| {
            let reader = Rc::new(SlowReader {
                reactor: r,
                transport: Default::default(),
                received: Default::default(),
                pauses: Default::default(),
                done: Deferred::new(),
            });
            response.deliver_body(reader.clone()).unwrap();
            reader.done.clone()
        });
    assert_eq!(run(&reactor, d).unwrap(), SIZE);
    // Then the connection is reused.
    let key = ("http".to_owned(), "127.0.0.1".to_owned(), server.port);
    assert_eq!(agent.get_pool().idle_count(&key), 1);
}

/// A body protocol that gives up after the first piece.
struct Quitter {
    transport: std::cell::RefCell<Option<Rc<dyn reactor::interfaces::ITransport>>>,
    done: Deferred<()>,
}

impl reactor::interfaces::IProtocol for Quitter {
    fn make_connection(&self, transport: Rc<dyn reactor::interfaces::ITransport>) {
        *self.transport.borrow_mut() = Some(transport);
    }
    fn data_received(&self, _data: bytes::Bytes) {
        let transport = self.transport.borrow().clone();
        if let Some(t) = transport {
            t.stop_producing();
        }
    }
    fn connection_lost(&self, reason: Failure) {
        let _ = self.done.errback(reason);
    }
}

#[test]
fn abandoned_body_is_not_pooled() {
    const SIZE: usize = 1_000_000;
    let server = serve(|_, _, _| {
        let mut reply = format!("HTTP/1.1 200 OK\r\nContent-Length: {SIZE}\r\n\r\n").into_bytes();
        reply.extend(std::iter::repeat_n(b'z', SIZE));
        Reply::Send(reply)
    });
    let reactor = Reactor::new();
    let pool = HTTPConnectionPool::new(&reactor, true);
    let agent = Agent::new(&reactor).pool(pool.clone());
    let url = format!("http://127.0.0.1:{}/big", server.port);
    let d = agent
        .request("GET", &url, None, None)
        .add_callback(|response| {
            let quitter = Rc::new(Quitter {
                transport: Default::default(),
                done: Deferred::new(),
            });
            response.deliver_body(quitter.clone()).unwrap();
            quitter.done.clone()
        });
    let failure = run(&reactor, d).unwrap_err();
    assert!(
        failure.check::<treq::web::error::ResponseFailed>(),
        "{failure}"
    );
    let key = ("http".to_owned(), "127.0.0.1".to_owned(), server.port);
    assert_eq!(pool.idle_count(&key), 0);
    assert_eq!(get_body(&reactor, &agent, "GET", &url).unwrap().len(), SIZE);
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
}

/// The server closes every connection right after its response, without saying so; the second
/// request is sent from the first one's callback, before the client has read the close.
fn second_request_after_silent_close(method: &'static str) -> (Result<Vec<u8>, Failure>, usize) {
    let server = serve(|_, _, _| Reply::SendAndClose(ok_bytes("x")));
    let reactor = Reactor::new();
    let agent = Agent::new(&reactor).pool(HTTPConnectionPool::new(&reactor, true));
    let url = format!("http://127.0.0.1:{}/", server.port);
    let a = agent.clone();
    let d = agent
        .request("GET", &url, None, None)
        .add_callback(|response| read_body(&response))
        .add_callback(move |_| {
            a.request(method, &url, None, None)
                .add_callback(|response| read_body(&response))
        });
    let result = run(&reactor, d).map(|b| b.to_vec());
    (result, server.connections.load(Ordering::SeqCst))
}

#[test]
fn silently_closed_cached_connection_is_retried_for_get() {
    let (result, connections) = second_request_after_silent_close("GET");
    assert_eq!(result.unwrap(), b"x");
    assert_eq!(connections, 2);
}

#[test]
fn silently_closed_cached_connection_is_not_retried_for_post() {
    let (result, connections) = second_request_after_silent_close("POST");
    let failure = result.unwrap_err();
    assert!(
        failure.check::<ResponseNeverReceived>()
            || failure.check::<treq::web::error::RequestTransmissionFailed>(),
        "{failure}"
    );
    assert_eq!(connections, 1);
}
