//! Separate timeouts, on a `task::Clock`: treq's per-request `connect_timeout` (only the
//! connect phase; a pooled connection is not timed) and `body_timeout` (no progress while
//! reading the body, treq #83), each failing with an error that names its phase.

mod support;

use bytes::Bytes;
use reactor::defer::{Deferred, Failure};
use reactor::error::ConnectError;
use reactor::interfaces::{IProtocol, IStreamClientEndpoint, ITransport};
use reactor::task::Clock;
use reactor::Reactor;
use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;
use support::{reply, serve, wait_until, Out, Seen};
use treq::client::{ConnectTimeoutUnsupported, HTTPClient};
use treq::web::client::{
    Agent, BodyReadTimeout, EndpointFactory, HTTPConnectionPool, RedirectAgent, RetryAgent,
    RetryPolicy,
};
use treq::web::resource::{Data, ResourceTree};
use treq::web::server::Site;

type Outcome<T> = Rc<RefCell<Option<Result<T, Failure>>>>;

fn result_of<T: 'static>(d: Deferred<T>) -> Outcome<T> {
    let out = Rc::new(RefCell::new(None));
    let o = out.clone();
    d.add_both(move |r: Result<T, Failure>| {
        *o.borrow_mut() = Some(r);
    });
    out
}

/// Endpoints that never connect (they keep their Deferreds, as a connector does); counts
/// attempts and cancellations.
#[derive(Default)]
struct Hanging {
    connects: Cell<usize>,
    cancelled: Rc<Cell<usize>>,
    pending: Rc<RefCell<Vec<Deferred<()>>>>,
}

struct HangingEndpoint(Rc<Cell<usize>>, Rc<RefCell<Vec<Deferred<()>>>>);

impl IStreamClientEndpoint for HangingEndpoint {
    fn connect(&self, _protocol: Rc<dyn IProtocol>) -> Deferred<()> {
        let cancelled = self.0.clone();
        let d = Deferred::with_canceller(move |_| cancelled.set(cancelled.get() + 1));
        self.1.borrow_mut().push(d.clone());
        d
    }
}

impl EndpointFactory for Hanging {
    fn endpoint_for_uri(
        &self,
        _scheme: &str,
        _host: &str,
        _port: u16,
    ) -> Result<Rc<dyn IStreamClientEndpoint>, Failure> {
        self.connects.set(self.connects.get() + 1);
        Ok(Rc::new(HangingEndpoint(
            self.cancelled.clone(),
            self.pending.clone(),
        )))
    }
}

fn hanging_agent(reactor: &Reactor, clock: &Rc<Clock>) -> (Agent, Rc<Hanging>) {
    let factory = Rc::new(Hanging::default());
    let pool = HTTPConnectionPool::new(reactor, false);
    let agent = Agent::using_endpoint_factory(reactor, factory.clone(), pool).clock(clock.clone());
    (agent, factory)
}

#[test]
fn connect_timeout_fails_a_connect_that_does_not_finish() {
    let reactor = Reactor::new();
    let clock = Rc::new(Clock::new());
    let (agent, factory) = hanging_agent(&reactor, &clock);
    let client = HTTPClient::new(agent).clock(clock.clone());
    let out = result_of(
        client
            .get("http://example.test/")
            .connect_timeout(2.0)
            .send(),
    );
    clock.advance(1.9);
    assert!(out.borrow().is_none());
    clock.advance(0.1);
    let failure = out.borrow_mut().take().unwrap().unwrap_err();
    assert!(
        matches!(
            failure.value::<ConnectError>(),
            Some(ConnectError::Timeout { seconds, .. }) if *seconds == 2.0
        ),
        "{failure}"
    );
    assert_eq!(failure.to_string(), "connecting timed out after 2 s");
    assert_eq!(
        factory.cancelled.get(),
        1,
        "the connect attempt was cancelled"
    );
    assert!(clock.get_delayed_calls().is_empty());
}

#[test]
fn without_connect_timeout_nothing_times_the_connect() {
    let reactor = Reactor::new();
    let clock = Rc::new(Clock::new());
    let (agent, factory) = hanging_agent(&reactor, &clock);
    let client = HTTPClient::new(agent).clock(clock.clone());
    let d = client.get("http://example.test/").send();
    let out = result_of(d.clone());
    assert!(clock.get_delayed_calls().is_empty());
    clock.advance(1000.0);
    assert!(out.borrow().is_none());
    d.cancel();
    assert_eq!(factory.cancelled.get(), 1);
}

#[test]
fn a_connect_timeout_is_retried_by_a_retry_agent_under_the_client() {
    let reactor = Reactor::new();
    let clock = Rc::new(Clock::new());
    let (agent, factory) = hanging_agent(&reactor, &clock);
    let retrying = RetryAgent::new(
        Rc::new(agent),
        RetryPolicy::new().max_retries(1).jitter(0.0),
    )
    .clock(clock.clone());
    let client = HTTPClient::new(retrying).clock(clock.clone());
    let out = result_of(
        client
            .get("http://example.test/")
            .connect_timeout(2.0)
            .send(),
    );
    clock.advance(2.0);
    assert_eq!(factory.connects.get(), 1);
    clock.advance(0.5);
    assert_eq!(factory.connects.get(), 2, "retried after the backoff");
    clock.advance(2.0);
    let failure = out.borrow_mut().take().unwrap().unwrap_err();
    assert!(failure.check::<ConnectError>(), "{failure}");
    assert_eq!(factory.cancelled.get(), 2);
}

#[test]
fn an_agent_that_cannot_time_connects_is_refused_with_a_typed_error() {
    let reactor = Reactor::new();
    let client = HTTPClient::new(RedirectAgent::new(Rc::new(Agent::new(&reactor))));
    let out = result_of(
        client
            .get("http://example.test/")
            .connect_timeout(1.0)
            .send(),
    );
    let failure = out.borrow_mut().take().unwrap().unwrap_err();
    assert!(failure.check::<ConnectTimeoutUnsupported>(), "{failure}");
}

/// A server that reads a request and never answers; `true` once a request arrived.
fn silent_server() -> (u16, std::sync::Arc<std::sync::atomic::AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let g = got.clone();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0u8; 4096];
        while matches!(stream.read(&mut buf), Ok(n) if n > 0) {
            g.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    });
    (port, got)
}

#[test]
fn connect_timeout_does_not_cover_waiting_for_the_answer() {
    let reactor = Reactor::new();
    let clock = Rc::new(Clock::new());
    let (port, got) = silent_server();
    let client = HTTPClient::new(Agent::new(&reactor).clock(clock.clone())).clock(clock.clone());
    let d = client
        .get(format!("http://127.0.0.1:{port}/"))
        .connect_timeout(1.0)
        .send();
    let out = result_of(d.clone());
    assert!(wait_until(&reactor, 10.0, || got
        .load(std::sync::atomic::Ordering::SeqCst)));
    assert!(clock.get_delayed_calls().is_empty(), "connected: not timed");
    clock.advance(60.0);
    assert!(out.borrow().is_none());
    d.cancel();
}

#[test]
fn a_pooled_connection_is_not_timed() {
    let reactor = Reactor::new();
    let clock = Rc::new(Clock::new());
    let root = Rc::new(ResourceTree::new());
    root.put_child("hi", Rc::new(Data::new("hello", "text/plain")));
    let port = reactor
        .listen_tcp(0, Rc::new(Site::new(root)), "127.0.0.1")
        .unwrap();
    let url = format!("http://127.0.0.1:{}/hi", port.get_host().port());
    let pool = HTTPConnectionPool::new(&reactor, true);
    let agent = Agent::new(&reactor).pool(pool.clone()).clock(clock.clone());
    let client = HTTPClient::new(agent).clock(clock.clone());
    let first = client.get(&url).connect_timeout(5.0).send();
    let first = first.add_callback(|r| r.text(None));
    assert_eq!(
        clock.get_delayed_calls().len(),
        1,
        "a new connection is timed"
    );
    assert_eq!(support::run(&reactor, first, 10.0).unwrap(), "hello");
    assert!(clock.get_delayed_calls().is_empty());
    let key = (
        "http".to_owned(),
        "127.0.0.1".to_owned(),
        port.get_host().port(),
    );
    assert!(wait_until(&reactor, 10.0, || pool.idle_count(&key) == 1));
    let second = client.get(&url).connect_timeout(5.0).send();
    assert!(clock.get_delayed_calls().is_empty(), "a pooled one is not");
    let second = second.add_callback(|r| r.text(None));
    assert_eq!(support::run(&reactor, second, 10.0).unwrap(), "hello");
}

fn stalling(_seen: &Seen) -> hyper::Response<Out> {
    reply(200, &[], Out::Stall(Some("partial ".into())))
}

#[test]
fn body_timeout_fails_a_body_that_stops_coming() {
    let server = serve(stalling);
    let reactor = Reactor::new();
    let clock = Rc::new(Clock::new());
    let client = HTTPClient::new(Agent::new(&reactor)).clock(clock.clone());
    let d = client.get(server.url("/")).body_timeout(5.0).send();
    let response = support::run(&reactor, d, 10.0).unwrap();
    let out = result_of(response.content());
    support::run_for(&reactor, 0.05);
    clock.advance(4.9);
    assert!(out.borrow().is_none());
    clock.advance(0.1);
    let failure = out.borrow_mut().take().unwrap().unwrap_err();
    assert_eq!(
        failure.value::<BodyReadTimeout>(),
        Some(&BodyReadTimeout { seconds: 5.0 })
    );
    assert_eq!(
        failure.to_string(),
        "reading the response body timed out: no data for 5 s"
    );
    assert!(
        wait_until(&reactor, 10.0, || server.closed() == 1),
        "the connection was closed"
    );
}

enum Step {
    Send(&'static [u8]),
    Wait,
}

/// A raw server that answers one request with chunks, each `Wait` waiting for the test.
fn trickling(steps: Vec<Step>) -> (u16, mpsc::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = stream.read(&mut buf);
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        for step in steps {
            match step {
                Step::Send(bytes) => {
                    let _ = stream.write_all(bytes);
                }
                Step::Wait => {
                    if rx.recv_timeout(Duration::from_secs(10)).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = stream.read(&mut buf);
    });
    (port, tx)
}

#[test]
fn each_piece_of_body_restarts_the_body_timeout() {
    let (port, next) = trickling(vec![
        Step::Send(b"1\r\na\r\n"),
        Step::Wait,
        Step::Send(b"1\r\nb\r\n"),
        Step::Wait,
    ]);
    let reactor = Reactor::new();
    let clock = Rc::new(Clock::new());
    let client = HTTPClient::new(Agent::new(&reactor)).clock(clock.clone());
    let d = client
        .get(format!("http://127.0.0.1:{port}/"))
        .body_timeout(5.0)
        .unbuffered(true)
        .send();
    let response = support::run(&reactor, d, 10.0).unwrap();
    let got = Rc::new(RefCell::new(Vec::new()));
    let g = got.clone();
    let out = result_of(response.collect(move |piece: Bytes| {
        g.borrow_mut().extend_from_slice(&piece);
        Ok(())
    }));
    let g = got.clone();
    assert!(wait_until(&reactor, 10.0, || *g.borrow() == b"a"));
    clock.advance(4.0);
    next.send(()).unwrap();
    assert!(wait_until(&reactor, 10.0, || *g.borrow() == b"ab"));
    clock.advance(4.0);
    assert!(
        out.borrow().is_none(),
        "8 s in, but 4 s since the last piece"
    );
    clock.advance(1.0);
    let failure = out.borrow_mut().take().unwrap().unwrap_err();
    assert!(failure.check::<BodyReadTimeout>(), "{failure}");
    drop(next);
}

/// A body protocol that pauses its transport at once, and keeps it for the test.
#[derive(Default)]
struct Pausing {
    transport: RefCell<Option<Rc<dyn ITransport>>>,
    ended: RefCell<Option<Failure>>,
}

impl IProtocol for Pausing {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        transport.pause_producing();
        *self.transport.borrow_mut() = Some(transport);
    }
    fn data_received(&self, _data: Bytes) {}
    fn connection_lost(&self, reason: Failure) {
        *self.ended.borrow_mut() = Some(reason);
    }
}

#[test]
fn time_paused_by_the_reader_does_not_count() {
    let (port, next) = trickling(vec![Step::Send(b"1\r\na\r\n"), Step::Wait]);
    let reactor = Reactor::new();
    let clock = Rc::new(Clock::new());
    let client = HTTPClient::new(Agent::new(&reactor)).clock(clock.clone());
    let d = client
        .get(format!("http://127.0.0.1:{port}/"))
        .body_timeout(5.0)
        .unbuffered(true)
        .send();
    let response = support::run(&reactor, d, 10.0).unwrap();
    let reader = Rc::new(Pausing::default());
    response.deliver_body(reader.clone()).unwrap();
    support::run_for(&reactor, 0.05);
    assert!(clock.get_delayed_calls().is_empty(), "paused: no timer");
    clock.advance(100.0);
    assert!(reader.ended.borrow().is_none());
    let transport = reader.transport.borrow().clone().unwrap();
    transport.resume_producing();
    clock.advance(5.0);
    let reason = reader.ended.borrow_mut().take().expect("the body ended");
    assert!(reason.check::<BodyReadTimeout>(), "{reason}");
    drop(next);
}

#[test]
fn a_body_that_arrives_in_time_leaves_no_timer() {
    let reactor = Reactor::new();
    let clock = Rc::new(Clock::new());
    let root = Rc::new(ResourceTree::new());
    root.put_child("hi", Rc::new(Data::new("hello", "text/plain")));
    let port = reactor
        .listen_tcp(0, Rc::new(Site::new(root)), "127.0.0.1")
        .unwrap();
    let client = HTTPClient::new(Agent::new(&reactor)).clock(clock.clone());
    let d = client
        .get(format!("http://127.0.0.1:{}/hi", port.get_host().port()))
        .body_timeout(5.0)
        .send()
        .add_callback(|r| r.text(None));
    assert_eq!(support::run(&reactor, d, 10.0).unwrap(), "hello");
    assert!(clock.get_delayed_calls().is_empty());
}
