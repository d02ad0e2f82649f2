//! Fault injection over real sockets: resets and closes at every point of a response, a
//! cached connection closed under a new request (retried only as Twisted allows), and servers
//! that never answer or never read. Every case ends with a typed error or the right result,
//! no broken connection in the pool and no descriptor left open (see `support_faults`).
//!
//! Framing cases are in `faults_framing.rs`, head cases in `faults_head.rs`, request-side
//! injection in `faults_injection.rs`.

mod support_faults;

use bytes::Bytes;
use reactor::defer::{CancelledError, Deferred, TimeoutError};
use reactor::interfaces::IConsumer;
use reactor::task::Clock;
use reactor::Reactor;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;
use support_faults::{protocol_error, Case, FaultServer, Step};
use treq::web::client::{BytesBodyProducer, HTTPConnectionPool};
use treq::web::error::{ResponseFailed, ResponseNeverReceived};
use treq::web::http11::ProtocolError;
use treq::web::iweb::{IAgent, IBodyProducer};

/// Long enough for bytes sent before a reset to be read by the client first (a reset can
/// discard data still unread in the receive queue).
const SETTLE: Duration = Duration::from_millis(100);

fn send(bytes: &str) -> Step {
    Step::Send(bytes.as_bytes().to_vec())
}

fn ok(body: &str) -> Step {
    send(&format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ))
}

// --- Resets and closes on a new connection --------------------------------------------------

#[test]
fn reset_before_any_response_byte() {
    let case = Case::new();
    let server = FaultServer::one(vec![Step::ReadRequest, Step::Reset]);
    let failure = case.fetch("GET", &server.url("/")).unwrap_err();
    assert!(failure.check::<ResponseNeverReceived>(), "{failure}");
    // A new connection is never retried.
    assert_eq!(server.connections(), 1);
    case.finish(server, 0);
}

#[test]
fn close_before_any_response_byte() {
    let case = Case::new();
    let server = FaultServer::one(vec![Step::ReadRequest, Step::Close]);
    let failure = case.fetch("GET", &server.url("/")).unwrap_err();
    assert!(failure.check::<ResponseNeverReceived>(), "{failure}");
    assert_eq!(server.connections(), 1);
    case.finish(server, 0);
}

#[test]
fn reset_mid_head() {
    let case = Case::new();
    let server = FaultServer::one(vec![
        Step::ReadRequest,
        send("HTTP/1.1 200 OK\r\nContent-Le"),
        Step::Wait(SETTLE),
        Step::Reset,
    ]);
    let failure = case.fetch("GET", &server.url("/")).unwrap_err();
    assert!(failure.check::<ResponseFailed>(), "{failure}");
    assert_eq!(
        protocol_error(&failure),
        Some(ProtocolError::ConnectionClosedInHead)
    );
    case.finish(server, 0);
}

#[test]
fn close_mid_head() {
    let case = Case::new();
    let server = FaultServer::one(vec![
        Step::ReadRequest,
        send("HTTP/1.1 200 OK\r\n"),
        Step::Close,
    ]);
    let failure = case.fetch("GET", &server.url("/")).unwrap_err();
    assert!(failure.check::<ResponseFailed>(), "{failure}");
    assert_eq!(
        protocol_error(&failure),
        Some(ProtocolError::ConnectionClosedInHead)
    );
    case.finish(server, 0);
}

#[test]
fn reset_mid_body() {
    let case = Case::new();
    let server = FaultServer::one(vec![
        Step::ReadRequest,
        send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"),
        Step::Wait(SETTLE),
        Step::Reset,
    ]);
    let (response, body) = case.fetch("GET", &server.url("/")).unwrap();
    assert_eq!((response.code, response.length), (200, Some(10)));
    let failure = body.unwrap_err();
    assert!(failure.check::<ResponseFailed>(), "{failure}");
    assert_eq!(
        protocol_error(&failure),
        Some(ProtocolError::ConnectionClosedInBody {
            expected: 10,
            received: 5
        })
    );
    case.finish(server, 0);
}

#[test]
fn close_mid_body() {
    let case = Case::new();
    let server = FaultServer::one(vec![
        Step::ReadRequest,
        send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel"),
        Step::Close,
    ]);
    let (_, body) = case.fetch("GET", &server.url("/")).unwrap();
    let failure = body.unwrap_err();
    assert!(failure.check::<ResponseFailed>(), "{failure}");
    assert_eq!(
        protocol_error(&failure),
        Some(ProtocolError::ConnectionClosedInBody {
            expected: 10,
            received: 3
        })
    );
    case.finish(server, 0);
}

#[test]
fn reset_mid_chunk() {
    let case = Case::new();
    let server = FaultServer::one(vec![
        Step::ReadRequest,
        send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"),
        Step::Wait(SETTLE),
        Step::Reset,
    ]);
    let (response, body) = case.fetch("GET", &server.url("/")).unwrap();
    assert_eq!((response.code, response.length), (200, None));
    let failure = body.unwrap_err();
    assert!(failure.check::<ResponseFailed>(), "{failure}");
    assert_eq!(
        protocol_error(&failure),
        Some(ProtocolError::ConnectionClosedInChunkedBody)
    );
    case.finish(server, 0);
}

#[test]
fn close_between_chunks() {
    let case = Case::new();
    let server = FaultServer::one(vec![
        Step::ReadRequest,
        send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"),
        Step::Close,
    ]);
    let (_, body) = case.fetch("GET", &server.url("/")).unwrap();
    let failure = body.unwrap_err();
    assert_eq!(
        protocol_error(&failure),
        Some(ProtocolError::ConnectionClosedInChunkedBody)
    );
    case.finish(server, 0);
}

// --- A cached connection the server closes just as the next request is sent -----------------

/// Connection 0 answers one request, then `fault`s on the second; connection 1 answers "fresh".
fn stale_server(fault: Step) -> FaultServer {
    FaultServer::start(vec![
        vec![Step::ReadRequest, ok("first"), Step::ReadRequest, fault],
        vec![Step::ReadRequest, ok("fresh"), Step::DrainUntilClosed],
    ])
}

#[test]
fn reused_connection_closed_after_request_retries_get() {
    for (method, fault) in [
        ("GET", Step::Close),
        ("GET", Step::Reset),
        ("HEAD", Step::Close),
        ("DELETE", Step::Close),
        ("OPTIONS", Step::Reset),
    ] {
        let case = Case::new();
        let server = stale_server(fault.clone());
        assert_eq!(case.get_ok(&server.url("/")), (200, Bytes::from("first")));
        let (response, body) = case
            .fetch(method, &server.url("/"))
            .unwrap_or_else(|f| panic!("{method} after {fault:?} was not retried: {f}"));
        assert_eq!(response.code, 200);
        let expected = if method == "HEAD" { "" } else { "fresh" };
        assert_eq!(body.unwrap(), expected, "{method} after {fault:?}");
        assert_eq!(server.connections(), 2, "{method} after {fault:?}");
        // The new connection is healthy and kept, the stale one is gone; except after HEAD,
        // whose answer here carries body bytes that were never asked for.
        case.finish(server, usize::from(method != "HEAD"));
    }
}

#[test]
fn reused_connection_closed_after_request_does_not_retry_post() {
    for fault in [Step::Close, Step::Reset] {
        let case = Case::new();
        let server = stale_server(fault.clone());
        assert_eq!(case.get_ok(&server.url("/")), (200, Bytes::from("first")));
        let producer: Rc<dyn IBodyProducer> = Rc::new(BytesBodyProducer::new("payload"));
        let d = case
            .agent
            .request("POST", &server.url("/"), None, Some(producer));
        let failure = case.run(d).unwrap_err();
        assert!(
            failure.check::<ResponseNeverReceived>(),
            "{fault:?}: {failure}"
        );
        assert_eq!(server.connections(), 1, "{fault:?}");
        case.finish(server, 0);
    }
}

#[test]
fn reused_connection_closed_after_request_does_not_retry_get_with_a_body() {
    let case = Case::new();
    let server = stale_server(Step::Close);
    assert_eq!(case.get_ok(&server.url("/")), (200, Bytes::from("first")));
    let producer: Rc<dyn IBodyProducer> = Rc::new(BytesBodyProducer::new("query"));
    let d = case
        .agent
        .request("GET", &server.url("/"), None, Some(producer));
    let failure = case.run(d).unwrap_err();
    assert!(failure.check::<ResponseNeverReceived>(), "{failure}");
    assert_eq!(server.connections(), 1);
    case.finish(server, 0);
}

#[test]
fn reused_connection_closed_after_request_without_automatic_retry() {
    let mut case = Case::new();
    case.use_pool(HTTPConnectionPool::new(&case.reactor, true).retry_automatically(false));
    let server = stale_server(Step::Close);
    assert_eq!(case.get_ok(&server.url("/")), (200, Bytes::from("first")));
    let failure = case.fetch("GET", &server.url("/")).unwrap_err();
    assert!(failure.check::<ResponseNeverReceived>(), "{failure}");
    assert_eq!(server.connections(), 1);
    case.finish(server, 0);
}

#[test]
fn reused_connection_closed_mid_response_is_not_retried() {
    let case = Case::new();
    let server = stale_server(send("HTTP/1.1 200 OK\r\nContent-"));
    assert_eq!(case.get_ok(&server.url("/")), (200, Bytes::from("first")));
    // Part of a response arrived: the request may have been acted on, so no retry.
    let failure = case.fetch("GET", &server.url("/")).unwrap_err();
    assert!(failure.check::<ResponseFailed>(), "{failure}");
    assert_eq!(server.connections(), 1);
    case.finish(server, 0);
}

// --- Time: servers that never answer, never read ---------------------------------------------

#[test]
fn never_answering_server_request_can_be_cancelled() {
    let case = Case::new();
    let server = FaultServer::one(vec![Step::ReadRequest, Step::DrainUntilClosed]);
    let d = case.agent.request("GET", &server.url("/"), None, None);
    let requests = server_requests(&server);
    assert!(case.run_until(5.0, move || requests() == 1));
    d.cancel();
    let failure = case.run(d).unwrap_err();
    assert!(failure.check::<CancelledError>(), "{failure}");
    let closed = server_saw_close(&server, 0);
    assert!(case.run_until(5.0, closed), "the connection was not closed");
    // Not retried on a new connection: the caller gave up.
    assert_eq!(server.connections(), 1);
    case.finish(server, 0);
}

#[test]
fn never_answering_server_times_out_on_the_clock() {
    let case = Case::new();
    let clock = Clock::new();
    let server = FaultServer::one(vec![Step::ReadRequest, Step::DrainUntilClosed]);
    let d = case
        .agent
        .request("GET", &server.url("/"), None, None)
        .add_timeout(30.0, &clock);
    let requests = server_requests(&server);
    assert!(case.run_until(5.0, move || requests() == 1));
    clock.advance(29.0);
    case.spin(0.02);
    assert!(!d.called(), "timed out early");
    clock.advance(1.0);
    let failure = case.run(d).unwrap_err();
    assert!(failure.check::<TimeoutError>(), "{failure}");
    let closed = server_saw_close(&server, 0);
    assert!(case.run_until(5.0, closed), "the connection was not closed");
    case.finish(server, 0);
}

#[test]
fn timeout_after_a_cached_connection_stops_answering() {
    let case = Case::new();
    let clock = Clock::new();
    let server = FaultServer::one(vec![
        Step::ReadRequest,
        ok("first"),
        Step::ReadRequest,
        Step::DrainUntilClosed,
    ]);
    assert_eq!(case.get_ok(&server.url("/")), (200, Bytes::from("first")));
    let d = case
        .agent
        .request("GET", &server.url("/"), None, None)
        .add_timeout(5.0, &clock);
    let requests = server_requests(&server);
    assert!(case.run_until(5.0, move || requests() == 2));
    clock.advance(5.0);
    let failure = case.run(d).unwrap_err();
    assert!(failure.check::<TimeoutError>(), "{failure}");
    // A cancelled request is not retried: no second connection.
    case.spin(0.05);
    assert_eq!(server.connections(), 1);
    case.finish(server, 0);
}

/// A body of unknown length that writes 64 KiB pieces as fast as the connection takes them.
struct EndlessProducer {
    reactor: Reactor,
    consumer: RefCell<Option<Rc<dyn IConsumer>>>,
    me: RefCell<Option<std::rc::Weak<EndlessProducer>>>,
    paused: Cell<bool>,
    pauses: Cell<usize>,
    stopped: Cell<usize>,
    written: Cell<usize>,
    written_after_stop: Cell<usize>,
    done: Deferred<()>,
}

impl EndlessProducer {
    fn new(reactor: &Reactor) -> Rc<EndlessProducer> {
        let producer = Rc::new(EndlessProducer {
            reactor: reactor.clone(),
            consumer: RefCell::new(None),
            me: RefCell::new(None),
            paused: Cell::new(false),
            pauses: Cell::new(0),
            stopped: Cell::new(0),
            written: Cell::new(0),
            written_after_stop: Cell::new(0),
            done: Deferred::new(),
        });
        *producer.me.borrow_mut() = Some(Rc::downgrade(&producer));
        producer
    }

    fn schedule(&self) {
        let me = self.me.borrow().clone().unwrap();
        self.reactor.call_later(0.0, move || {
            if let Some(me) = me.upgrade() {
                me.tick();
            }
        });
    }

    fn tick(&self) {
        if self.paused.get() {
            return;
        }
        let consumer = self.consumer.borrow().clone();
        if let Some(consumer) = consumer {
            if self.stopped.get() > 0 {
                self.written_after_stop
                    .set(self.written_after_stop.get() + 1);
                return;
            }
            consumer.write(&[b'u'; 64 * 1024]);
            self.written.set(self.written.get() + 64 * 1024);
            self.schedule();
        }
    }
}

impl IBodyProducer for EndlessProducer {
    fn length(&self) -> Option<u64> {
        None
    }
    fn start_producing(&self, consumer: Rc<dyn IConsumer>) -> Deferred<()> {
        *self.consumer.borrow_mut() = Some(consumer);
        self.schedule();
        self.done.clone()
    }
    fn pause_producing(&self) {
        self.paused.set(true);
        self.pauses.set(self.pauses.get() + 1);
    }
    fn resume_producing(&self) {
        if self.paused.replace(false) && self.stopped.get() == 0 {
            self.schedule();
        }
    }
    fn stop_producing(&self) {
        self.stopped.set(self.stopped.get() + 1);
        self.consumer.borrow_mut().take();
    }
}

#[test]
fn stalled_upload_is_paused_then_times_out() {
    let case = Case::new();
    let clock = Clock::new();
    // The server reads the head and then never reads again.
    let server = FaultServer::one(vec![Step::ReadHead, Step::Stall]);
    let producer = EndlessProducer::new(&case.reactor);
    let d = case
        .agent
        .request("PUT", &server.url("/upload"), None, Some(producer.clone()))
        .add_timeout(60.0, &clock);
    let p = producer.clone();
    assert!(
        case.run_until(5.0, move || p.paused.get()),
        "the producer was never paused by a full socket"
    );
    // Paused, the producer stays paused: memory stays bounded while the server stalls.
    let written = producer.written.get();
    case.spin(0.05);
    assert_eq!(producer.written.get(), written);
    assert!(written < 64 * 1024 * 1024, "{written} bytes buffered");
    clock.advance(60.0);
    let failure = case.run(d).unwrap_err();
    assert!(failure.check::<TimeoutError>(), "{failure}");
    // The connection is aborted on the next turn of the reactor, which stops the producer.
    case.spin(0.02);
    assert_eq!(producer.stopped.get(), 1, "stop_producing calls");
    assert!(!producer.done.called());
    assert_eq!(producer.written_after_stop.get(), 0);
    case.finish(server, 0);
}

fn server_requests(server: &FaultServer) -> impl Fn() -> usize + 'static {
    let probe = server.probe();
    move || probe.total_requests()
}

fn server_saw_close(server: &FaultServer, connection: usize) -> impl Fn() -> bool + 'static {
    let probe = server.probe();
    move || probe.log(connection).client_closed
}
