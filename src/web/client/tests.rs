//! Agent, pool and producers over in-memory connections and a deterministic clock.

use super::*;
use crate::web::error::{InvalidURI, RequestGenerationFailed};
use crate::web::iweb::{IAgent, IBodyProducer};
use bytes::Bytes;
use reactor::defer::{Deferred, Failure};
use reactor::interfaces::{IConsumer, IProtocol, IStreamClientEndpoint, ITransport};
use reactor::iosim::{connected_server_and_client, FakeTransport, IOPump};
use reactor::task::Clock;
use reactor::Reactor;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// Replies `200 OK` with body `ok` to every request head it sees.
#[derive(Default)]
struct AutoServer {
    transport: RefCell<Option<Rc<dyn ITransport>>>,
    received: RefCell<Vec<u8>>,
}

impl IProtocol for AutoServer {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        *self.transport.borrow_mut() = Some(transport);
    }
    fn data_received(&self, data: Bytes) {
        self.received.borrow_mut().extend_from_slice(&data);
        if data.windows(4).any(|w| w == b"\r\n\r\n") {
            let t = self.transport.borrow().clone().unwrap();
            t.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        }
    }
    fn connection_lost(&self, _reason: Failure) {}
}

type Connections = Rc<RefCell<Vec<(Rc<AutoServer>, Rc<FakeTransport>, Rc<IOPump>)>>>;

struct FakeEndpoint {
    connections: Connections,
}

impl IStreamClientEndpoint for FakeEndpoint {
    fn connect(&self, protocol: Rc<dyn IProtocol>) -> Deferred<()> {
        let server = Rc::new(AutoServer::default());
        let (_s, client, pump) = connected_server_and_client(server.clone(), protocol);
        self.connections
            .borrow_mut()
            .push((server, client, Rc::new(pump)));
        Deferred::succeed(())
    }
}

struct FakeFactory {
    connections: Connections,
    asked: RefCell<Vec<(String, String, u16)>>,
}

impl EndpointFactory for FakeFactory {
    fn endpoint_for_uri(
        &self,
        scheme: &str,
        host: &str,
        port: u16,
    ) -> Result<Rc<dyn IStreamClientEndpoint>, Failure> {
        self.asked
            .borrow_mut()
            .push((scheme.to_owned(), host.to_owned(), port));
        Ok(Rc::new(FakeEndpoint {
            connections: self.connections.clone(),
        }))
    }
}

struct World {
    clock: Clock,
    pool: HTTPConnectionPool,
    agent: Agent,
    factory: Rc<FakeFactory>,
}

impl World {
    fn new(persistent: bool) -> World {
        let clock = Clock::new();
        let pool = HTTPConnectionPool::with_clock(Rc::new(clock.clone()), persistent);
        let factory = Rc::new(FakeFactory {
            connections: Rc::default(),
            asked: RefCell::default(),
        });
        let agent = Agent::using_endpoint_factory(&Reactor::new(), factory.clone(), pool.clone());
        World {
            clock,
            pool,
            agent,
            factory,
        }
    }

    fn pump(&self) {
        for _ in 0..3 {
            let n = self.factory.connections.borrow().len();
            for i in 0..n {
                let pump = self.factory.connections.borrow()[i].2.clone();
                assert!(pump.flush().is_ok());
            }
        }
    }

    fn connections(&self) -> usize {
        self.factory.connections.borrow().len()
    }

    fn client_transport(&self, i: usize) -> Rc<FakeTransport> {
        self.factory.connections.borrow()[i].1.clone()
    }

    fn received(&self, i: usize) -> String {
        String::from_utf8(self.factory.connections.borrow()[i].0.received.take()).unwrap()
    }

    /// A GET whose body is read completely.
    fn get(&self, uri: &str) -> Bytes {
        let d = self
            .agent
            .request("GET", uri, None, None)
            .add_callback(|r| read_body(&r));
        self.pump();
        d.take_result().expect("fired").unwrap()
    }
}

fn key(host: &str, port: u16) -> PoolKey {
    ("http".to_owned(), host.to_owned(), port)
}

#[test]
fn host_header_and_request_target() {
    let world = World::new(true);
    world.get("http://example.com/a%20b?x=1#frag");
    assert_eq!(
        world.received(0),
        "GET /a%20b?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n"
    );
    world.get("http://example.com:8080/");
    assert_eq!(
        world.received(1),
        "GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n"
    );
    world.get("http://[::1]:8080");
    assert_eq!(
        world.received(2),
        "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"
    );
    world.get("http://EXAMPLE.com:80/");
    assert_eq!(world.connections(), 3, "same key as the first: reused");
    let asked = world.factory.asked.borrow();
    assert_eq!(asked[2], ("http".to_owned(), "::1".to_owned(), 8080));
    // The reused connection needed no endpoint.
    assert_eq!(asked.len(), 3);
}

#[test]
fn a_uri_parsed_once_is_sent_right_again_and_after_another() {
    let world = World::new(true);
    let (a, b) = ("http://example.com:8080/a?x=1", "http://example.com:8080/b");
    for uri in [a, a, b, a] {
        world.get(uri);
    }
    let sent = world.received(0);
    let head = |target: &str| format!("GET {target} HTTP/1.1\r\nHost: example.com:8080\r\n\r\n");
    assert_eq!(
        sent,
        [head("/a?x=1"), head("/a?x=1"), head("/b"), head("/a?x=1")].concat()
    );
    // The endpoint factory is asked only for the one connection the four requests share.
    assert_eq!(world.factory.asked.borrow().len(), 1);
    // A clone of the agent shares what was parsed, and bad URIs are still refused.
    let clone = world.agent.clone();
    assert_eq!(&world.get(a)[..], b"ok");
    let failure = clone
        .request("GET", "http://", None, None)
        .take_result()
        .unwrap();
    assert!(failure.unwrap_err().check::<InvalidURI>());
    let failure = clone.request("G T", a, None, None).take_result().unwrap();
    assert!(failure.unwrap_err().check::<RequestGenerationFailed>());
}

#[test]
fn a_clone_given_another_tls_policy_pools_apart_from_the_original() {
    // The remembered URI carries its pool key, made under the agent's TLS policy: a clone
    // with another policy must not find the original's connections under it.
    let world = World::new(true);
    let uri = "https://example.com/";
    world.get(uri);
    world.get(uri);
    assert_eq!(
        world.connections(),
        1,
        "the same agent reuses its connection"
    );
    let other = world
        .agent
        .clone()
        .context_factory(BrowserLikePolicyForHTTPS::new());
    let d = other
        .request("GET", uri, None, None)
        .add_callback(|r| read_body(&r));
    world.pump();
    assert_eq!(&d.take_result().expect("fired").unwrap()[..], b"ok");
    assert_eq!(
        world.connections(),
        2,
        "another policy: a connection of its own"
    );
    let asked = world.factory.asked.borrow();
    assert_eq!(asked.len(), 2);
    drop(asked);
    world.get(uri);
    assert_eq!(world.connections(), 2, "the original still reuses its own");
}

#[test]
fn an_agent_on_a_clock_reports_the_clock_and_connects_through_its_factory() {
    let clock = Clock::new();
    let time: Rc<dyn reactor::interfaces::IReactorTime> = Rc::new(clock.clone());
    let factory = Rc::new(FakeFactory {
        connections: Rc::default(),
        asked: RefCell::default(),
    });
    let pool = HTTPConnectionPool::with_clock(time.clone(), true);
    let agent = Agent::using_endpoint_factory_with_clock(time, factory.clone(), pool.clone());
    clock.advance(7.5);
    assert_eq!(agent.reactor().unwrap().seconds(), 7.5);
    let d = agent
        .request("GET", "http://h/", None, None)
        .add_callback(|r| read_body(&r));
    let pump = factory.connections.borrow()[0].2.clone();
    pump.flush().unwrap();
    assert_eq!(&d.take_result().unwrap().unwrap()[..], b"ok");
    // The pool's idle timeout runs on the same clock.
    assert_eq!(pool.idle_count(&key("h", 80)), 1);
    clock.advance(240.0);
    assert_eq!(pool.idle_count(&key("h", 80)), 0);
}

#[test]
fn caller_headers_are_sent() {
    let world = World::new(true);
    let headers = crate::web::http_headers::Headers::try_from([("User-Agent", "t")]).unwrap();
    let d = world.agent.request("GET", "http://h/", Some(headers), None);
    world.pump();
    d.take_result().unwrap().unwrap();
    assert_eq!(
        world.received(0),
        "GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: t\r\n\r\n"
    );
}

#[test]
fn idle_connection_times_out() {
    let world = World::new(true);
    world.get("http://h/");
    assert_eq!(world.pool.idle_count(&key("h", 80)), 1);
    world.clock.advance(239.0);
    assert_eq!(world.pool.idle_count(&key("h", 80)), 1);
    world.clock.advance(1.0);
    assert_eq!(world.pool.idle_count(&key("h", 80)), 0);
    assert!(world.client_transport(0).disconnecting());
    world.get("http://h/");
    assert_eq!(world.connections(), 2);
}

#[test]
fn reuse_restarts_the_idle_timeout() {
    let world = World::new(true);
    world.get("http://h/");
    world.clock.advance(200.0);
    world.get("http://h/");
    // The timer armed at the first check-in fires at 240 and finds 200 s of the 240 left.
    world.clock.advance(200.0);
    assert_eq!(world.pool.idle_count(&key("h", 80)), 1);
    assert_eq!(world.connections(), 1);
    assert_eq!(world.clock.get_delayed_calls().len(), 1);
    world.clock.advance(39.0);
    assert_eq!(
        world.pool.idle_count(&key("h", 80)),
        1,
        "at 439: idle for 239 s"
    );
    world.clock.advance(1.0);
    assert_eq!(
        world.pool.idle_count(&key("h", 80)),
        0,
        "at 440: idle for 240 s"
    );
    assert!(world.client_transport(0).disconnecting());
    assert!(world.clock.get_delayed_calls().is_empty());
}

#[test]
fn a_connection_in_use_when_its_idle_timer_fires_is_kept() {
    let world = World::new(true);
    world.get("http://h/");
    world.clock.advance(230.0);
    // In use from 230 to 250: the timer fires at 240 and leaves it alone.
    let d = world
        .agent
        .request("GET", "http://h/", None, None)
        .add_callback(|r| read_body(&r));
    world.clock.advance(20.0);
    world.pump();
    assert_eq!(&d.take_result().expect("fired").unwrap()[..], b"ok");
    assert!(!world.client_transport(0).disconnecting());
    assert_eq!(world.pool.idle_count(&key("h", 80)), 1);
    // Back at 250: closed at 490, not before.
    world.clock.advance(239.0);
    assert_eq!(world.pool.idle_count(&key("h", 80)), 1);
    world.clock.advance(1.0);
    assert_eq!(world.pool.idle_count(&key("h", 80)), 0);
    assert_eq!(world.connections(), 1);
}

#[test]
fn max_persistent_per_host_closes_the_oldest_and_hands_out_the_newest() {
    let world = World::new(true);
    let pool = world.pool.clone().max_persistent_per_host(2);
    // Three requests in flight at once need three connections.
    let ds: Vec<_> = (0..3)
        .map(|_| {
            world
                .agent
                .request("GET", "http://h/", None, None)
                .add_callback(|r| read_body(&r))
        })
        .collect();
    world.pump();
    for d in &ds {
        d.take_result().unwrap().unwrap();
    }
    assert_eq!(world.connections(), 3);
    assert_eq!(pool.idle_count(&key("h", 80)), 2);
    // The first one back (connection 0) was closed to make room for the third.
    assert!(world.client_transport(0).disconnecting());
    assert!(!world.client_transport(1).disconnecting());
    // LIFO: the next request goes to the most recently returned connection (2).
    world.received(2);
    world.get("http://h/");
    assert!(world.received(2).starts_with("GET /"));
    assert_eq!(world.connections(), 3);
}

#[test]
fn non_persistent_pool_keeps_nothing() {
    let world = World::new(false);
    world.get("http://h/");
    world.get("http://h/");
    assert_eq!(world.connections(), 2);
    assert!(world.received(0).contains("Connection: close\r\n"));
    assert_eq!(world.pool.idle_count(&key("h", 80)), 0);
}

#[test]
fn close_cached_connections_closes_idle_ones() {
    let world = World::new(true);
    world.get("http://h/");
    world.get("http://other/");
    let d = world.pool.close_cached_connections();
    assert!(!d.called());
    world.pump();
    d.take_result().unwrap().unwrap();
    assert_eq!(world.pool.idle_count(&key("h", 80)), 0);
    assert!(world.clock.get_delayed_calls().is_empty());
}

#[test]
fn fully_received_body_is_pooled_before_it_is_read() {
    // As in Twisted, a body that arrived completely is kept by the Response, and the connection
    // goes back to the pool at once. (A body cut short by `stop_producing` or a cancelled
    // `read_body` aborts the connection instead: see the protocol tests.)
    let world = World::new(true);
    let d = world.agent.request("GET", "http://h/", None, None);
    world.pump();
    let response = d.take_result().unwrap().unwrap();
    assert_eq!(world.pool.idle_count(&key("h", 80)), 1);
    assert_eq!(
        &read_body(&response).take_result().unwrap().unwrap()[..],
        b"ok"
    );
}

/// A consumer that records writes.
#[derive(Default)]
struct Sink {
    data: RefCell<Vec<u8>>,
    writes: Cell<usize>,
}

impl IConsumer for Sink {
    fn register_producer(&self, _producer: reactor::interfaces::Producer) {}
    fn unregister_producer(&self) {}
    fn write(&self, data: &[u8]) {
        self.data.borrow_mut().extend_from_slice(data);
        self.writes.set(self.writes.get() + 1);
    }
}

/// One turn of the loop (with a timer, so it never waits for I/O).
fn turn(reactor: &Reactor) {
    reactor.call_later(0.0, || {});
    reactor.iterate();
}

#[test]
fn file_body_producer_reads_one_slice_per_turn() {
    let reactor = Reactor::new();
    let data: Vec<u8> = (0..25u8).collect();
    let mut cursor = std::io::Cursor::new(data.clone());
    std::io::Seek::seek(&mut cursor, std::io::SeekFrom::Start(5)).unwrap();
    let producer = FileBodyProducer::new(&reactor, cursor)
        .unwrap()
        .read_size(8);
    assert_eq!(producer.length(), Some(20));
    let sink = Rc::new(Sink::default());
    let d = producer.start_producing(sink.clone());
    assert_eq!(sink.writes.get(), 0);
    turn(&reactor);
    assert_eq!(sink.writes.get(), 1);
    producer.pause_producing();
    turn(&reactor);
    assert_eq!(sink.writes.get(), 1);
    producer.resume_producing();
    turn(&reactor);
    turn(&reactor);
    assert_eq!(sink.writes.get(), 3);
    assert!(!d.called());
    turn(&reactor);
    d.take_result().unwrap().unwrap();
    assert_eq!(&sink.data.borrow()[..], &data[5..]);
    assert!(producer.is_closed());
}

#[test]
fn file_body_producer_stop_drops_the_reader() {
    let reactor = Reactor::new();
    let producer = FileBodyProducer::new(&reactor, std::io::Cursor::new(vec![1u8; 100]))
        .unwrap()
        .read_size(10);
    let sink = Rc::new(Sink::default());
    let d = producer.start_producing(sink.clone());
    turn(&reactor);
    producer.stop_producing();
    assert!(producer.is_closed());
    turn(&reactor);
    assert_eq!(sink.writes.get(), 1);
    assert!(!d.called());
    assert!(reactor.get_delayed_calls().is_empty());
}

#[test]
fn file_body_producer_of_unknown_length_is_sent_chunked() {
    let world = World::new(true);
    let reader = std::io::Cursor::new(b"hello world".to_vec());
    let producer: Rc<dyn IBodyProducer> =
        Rc::new(FileBodyProducer::from_reader(Rc::new(world.clock.clone()), reader).read_size(6));
    let d = world
        .agent
        .request("POST", "http://h/", None, Some(producer));
    for _ in 0..4 {
        world.clock.advance(0.0);
        world.pump();
    }
    d.take_result().unwrap().unwrap();
    assert_eq!(
        world.received(0),
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
         6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n"
    );
}

#[test]
fn bytes_body_is_written_with_the_head() {
    let world = World::new(true);
    let producer: Rc<dyn IBodyProducer> = Rc::new(BytesBodyProducer::new("abc"));
    let d = world
        .agent
        .request("PUT", "http://h/", None, Some(producer));
    world.pump();
    d.take_result().unwrap().unwrap();
    assert_eq!(
        world.received(0),
        "PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
    );
}

#[test]
fn cancelled_request_on_cached_connection_is_not_retried() {
    let world = World::new(true);
    world.get("http://h/");
    let d = world.agent.request("GET", "http://h/", None, None);
    d.cancel();
    let failure = d.take_result().unwrap().unwrap_err();
    assert!(
        failure.check::<reactor::defer::CancelledError>(),
        "{failure}"
    );
    world.pump();
    assert!(world.client_transport(0).aborted());
    assert_eq!(world.connections(), 1, "no retry after a cancel");
    assert_eq!(world.pool.idle_count(&key("h", 80)), 0);
}

#[test]
fn stale_cached_connection_is_retried_once_on_a_new_connection() {
    let world = World::new(true);
    world.get("http://h/");
    // The server's side of the idle connection goes away before the client notices.
    world.client_transport(0).abort_connection();
    let d = world
        .agent
        .request("GET", "http://h/", None, None)
        .add_callback(|r| read_body(&r));
    world.pump();
    world.pump();
    let body = d.take_result().unwrap().unwrap();
    assert_eq!(&body[..], b"ok");
    assert_eq!(world.connections(), 2);
}
