//! Request timings on responses (`Response::timings`, curl's `-w` values): against hyper
//! servers on 127.0.0.1 over HTTP and HTTPS (present, ordered, `reused` on the second request),
//! through the wrapping agents (redirects, content decoding), and with a `Clock` over in-memory
//! connections (the real Agent and HTTP/1.1 protocol) for exact values, also through treq's
//! `HTTPClient` (StubTreq).

#[path = "httpsutil/mod.rs"]
mod httpsutil;
mod support;
#[path = "tlsutil/mod.rs"]
mod tlsutil;

use bytes::Bytes;
use reactor::defer::{Deferred, Failure};
use reactor::interfaces::{IProtocol, IReactorTime, IStreamClientEndpoint, ITransport};
use reactor::iosim::{connected_server_and_client, IOPump};
use reactor::task::Clock;
use reactor::Reactor;
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use support::{reply, serve, Out, Seen};
use treq::testing::StubTreq;
use treq::web::client::{
    read_body, Agent, ContentDecoderAgent, EndpointFactory, HTTPConnectionPool, RedirectAgent,
};
use treq::web::iweb::IAgent;
use treq::web::resource::{FnResource, NOT_DONE_YET};
use treq::web::response::Response;
use treq::web::server::Request as ServerRequest;
use treq::web::timings::RequestTimings;

fn handler(seen: &Seen) -> hyper::Response<Out> {
    match seen.path() {
        "/stall" => reply(200, &[], Out::Stall(Some("begun".into()))),
        "/redirect" => reply(302, &[("location", "/final")], Out::full("moved")),
        "/gzip" => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(b"decoded body").unwrap();
            let body = encoder.finish().unwrap();
            reply(200, &[("content-encoding", "gzip")], Out::full(body))
        }
        path => reply(200, &[], Out::full(format!("answer to {path}"))),
    }
}

/// The response and its timings once its body has been read.
fn fetch(reactor: &Reactor, agent: &dyn IAgent, url: &str) -> (Response, Bytes) {
    let d = agent
        .request("GET", url, None, None)
        .add_callback(|r: Response| read_body(&r).add_callback(move |body| (r, body)));
    support::run(reactor, d, 10.0).unwrap()
}

/// The phases that happened are in curl's order and none is negative.
fn assert_ordered(t: &RequestTimings) {
    let phases = [
        t.time_namelookup(),
        t.time_connect(),
        t.time_appconnect(),
        t.time_starttransfer(),
        t.time_total(),
    ];
    let present: Vec<f64> = phases.into_iter().flatten().collect();
    assert!(present.iter().all(|&p| p >= 0.0), "{t}");
    assert!(present.windows(2).all(|w| w[0] <= w[1]), "{t}");
}

#[test]
fn a_new_connection_has_every_phase_and_a_pooled_one_only_the_transfer() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = Agent::new(&reactor).pool(HTTPConnectionPool::new(&reactor, true));
    let before = reactor.seconds();
    let (response, body) = fetch(&reactor, &agent, &server.url("/first"));
    let elapsed = reactor.seconds() - before;
    assert_eq!(&body[..], b"answer to /first");
    let first = response.timings();
    assert!(!first.reused());
    assert!(first.started_at() >= before, "{first:?}");
    assert!(first.time_namelookup().is_some(), "{first}");
    assert!(first.time_connect().is_some(), "{first}");
    assert_eq!(first.time_appconnect(), None, "no TLS over http");
    assert!(first.time_starttransfer().is_some(), "{first}");
    assert!(first.time_total().unwrap() <= elapsed, "{first}");
    assert_ordered(&first);
    let (connect, lookup) = (first.connect().unwrap(), first.name_lookup().unwrap());
    assert!((lookup + connect - first.time_connect().unwrap()).abs() < 1e-9);
    assert_eq!(first.time_to_first_byte(), first.time_starttransfer());
    assert_eq!(first.total(), first.time_total());

    let (response, _) = fetch(&reactor, &agent, &server.url("/second"));
    let second = response.timings();
    assert!(second.reused(), "{second}");
    assert_eq!(second.time_namelookup(), None);
    assert_eq!(second.time_connect(), None);
    assert_eq!(second.connect(), None);
    assert_eq!(second.tls_handshake(), None);
    assert!(second.time_starttransfer().is_some() && second.time_total().is_some());
    assert_ordered(&second);
    assert!(second.started_at() >= first.started_at() + first.time_total().unwrap());
    assert_eq!(server.connections(), 1);
}

#[test]
fn the_total_is_known_only_once_the_body_has_ended() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = Agent::new(&reactor);
    let response = support::run(
        &reactor,
        agent.request("GET", &server.url("/stall"), None, None),
        10.0,
    )
    .unwrap();
    let t = response.timings();
    assert!(t.time_starttransfer().is_some(), "{t}");
    assert_eq!(t.time_total(), None, "the body has not ended: {t}");
    assert!(t.to_string().contains("total=- "), "{t}");
    read_body(&response).cancel();
}

#[test]
fn after_a_redirect_each_response_keeps_its_own_timings() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = Agent::new(&reactor).pool(HTTPConnectionPool::new(&reactor, true));
    let redirect = RedirectAgent::new(Rc::new(agent));
    let (response, body) = fetch(&reactor, &redirect, &server.url("/redirect"));
    assert_eq!(&body[..], b"answer to /final");
    let last = response.timings();
    let previous = response.previous_response.as_ref().unwrap().timings();
    assert!(
        !previous.reused() && previous.time_connect().is_some(),
        "{previous}"
    );
    assert!(
        previous.time_total().is_some(),
        "the redirect's body was drained"
    );
    assert!(
        last.reused(),
        "the drained connection carried the redirected request"
    );
    assert!(last.started_at() >= previous.started_at());
    assert_ordered(&last);
    assert_ordered(&previous);
}

#[test]
fn a_decoded_response_keeps_the_timings_of_its_request() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = ContentDecoderAgent::gzip(Rc::new(Agent::new(&reactor)));
    let (response, body) = fetch(&reactor, &agent, &server.url("/gzip"));
    assert_eq!(&body[..], b"decoded body");
    let t = response.timings();
    assert!(
        t.time_connect().is_some() && t.time_total().is_some(),
        "{t}"
    );
    assert_ordered(&t);
}

#[test]
fn https_has_a_tls_phase_between_the_connect_and_the_first_byte() {
    let ca = tlsutil::TestCA::new("timings CA");
    let server = httpsutil::serve(ca.issue(&["localhost"]).server_config());
    let reactor = Reactor::new();
    let agent = httpsutil::agent_trusting(&reactor, &ca, true);
    let (_, _) = fetch(&reactor, &agent, &server.url("localhost", "/warm-up"));
    let (response, body) = fetch(&reactor, &agent, &server.url("localhost", "/again"));
    assert_eq!(&body[..], b"GET /again ");
    assert!(response.timings().reused());
    assert_eq!(response.timings().time_appconnect(), None);

    // A new connection (another pool: a full handshake again).
    let agent = httpsutil::agent_trusting(&reactor, &ca, true);
    let (response, _) = fetch(&reactor, &agent, &server.url("localhost", "/new"));
    let t = response.timings();
    assert!(!t.reused());
    let (connect, tls) = (t.time_connect().unwrap(), t.time_appconnect().unwrap());
    assert!(
        connect <= tls && tls <= t.time_starttransfer().unwrap(),
        "{t}"
    );
    assert!(t.tls_handshake().unwrap() > 0.0, "{t}");
    assert!(t.time_namelookup().is_some(), "localhost was resolved: {t}");
    assert_ordered(&t);
}

// ---------------------------------------------------------------------------------------------
// Exact values on a Clock, over in-memory connections.

/// Answers each request head 2.5 s later (on the clock) with the head and half the body, and
/// sends the other half 1 s after that.
struct SlowServer {
    clock: Clock,
    transport: RefCell<Option<Rc<dyn ITransport>>>,
    received: RefCell<Vec<u8>>,
}

impl IProtocol for SlowServer {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        *self.transport.borrow_mut() = Some(transport);
    }
    fn data_received(&self, data: Bytes) {
        let mut received = self.received.borrow_mut();
        received.extend_from_slice(&data);
        while let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            received.drain(..end + 4);
            let t = self.transport.borrow().clone().unwrap();
            let t2 = t.clone();
            self.clock.call_later(2.5, move || {
                t.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab");
            });
            self.clock.call_later(3.5, move || t2.write(b"cd"));
        }
    }
    fn connection_lost(&self, _reason: Failure) {}
}

/// Connects 0.75 s (on the clock) after being asked, to a [`SlowServer`] in memory.
struct SlowEndpoints {
    clock: Clock,
    pumps: Rc<RefCell<Vec<IOPump>>>,
}

struct SlowEndpoint {
    clock: Clock,
    pumps: Rc<RefCell<Vec<IOPump>>>,
}

impl IStreamClientEndpoint for SlowEndpoint {
    fn connect(&self, protocol: Rc<dyn IProtocol>) -> Deferred<()> {
        let connected = Deferred::new();
        let (d, clock, pumps) = (connected.clone(), self.clock.clone(), self.pumps.clone());
        self.clock.call_later(0.75, move || {
            let server = Rc::new(SlowServer {
                clock,
                transport: RefCell::new(None),
                received: RefCell::new(Vec::new()),
            });
            let (_, _, pump) = connected_server_and_client(server, protocol);
            pumps.borrow_mut().push(pump);
            let _ = d.callback(());
        });
        connected
    }
}

impl EndpointFactory for SlowEndpoints {
    fn endpoint_for_uri(
        &self,
        _scheme: &str,
        _host: &str,
        _port: u16,
    ) -> Result<Rc<dyn IStreamClientEndpoint>, Failure> {
        Ok(Rc::new(SlowEndpoint {
            clock: self.clock.clone(),
            pumps: self.pumps.clone(),
        }))
    }
}

struct SlowWorld {
    clock: Clock,
    agent: Agent,
    pumps: Rc<RefCell<Vec<IOPump>>>,
}

impl SlowWorld {
    fn new() -> SlowWorld {
        let clock = Clock::new();
        let time: Rc<dyn IReactorTime> = Rc::new(clock.clone());
        let pumps = Rc::new(RefCell::new(Vec::new()));
        let factory = Rc::new(SlowEndpoints {
            clock: clock.clone(),
            pumps: pumps.clone(),
        });
        let pool = HTTPConnectionPool::with_clock(time.clone(), true);
        let agent = Agent::using_endpoint_factory_with_clock(time, factory, pool);
        SlowWorld {
            clock,
            agent,
            pumps,
        }
    }

    /// Advance the clock by `seconds`, then move every byte written.
    fn advance(&self, seconds: f64) {
        self.clock.advance(seconds);
        for pump in self.pumps.borrow().iter() {
            pump.flush().unwrap();
        }
    }

    /// A GET on the pooled connection, its body read, stepping the clock through the server's
    /// schedule.
    fn get_on_the_pooled_connection(&self) -> RequestTimings {
        let d = self
            .agent
            .request("GET", "http://slow.test/", None, None)
            .add_callback(|r: Response| read_body(&r).add_callback(move |body| (r, body)));
        self.advance(0.0); // the request to the server
        self.advance(2.5);
        assert!(!d.called(), "half the body is still to come");
        self.advance(1.0);
        let (response, body) = d.take_result().expect("answered").unwrap();
        assert_eq!(&body[..], b"abcd");
        response.timings()
    }
}

#[test]
fn on_a_clock_the_phases_are_exact_and_a_reused_connection_starts_at_the_transfer() {
    let world = SlowWorld::new();
    world.advance(1.0);
    let response = Rc::new(RefCell::new(None));
    let r = response.clone();
    let d = world
        .agent
        .request("GET", "http://slow.test/", None, None)
        .add_callback(move |resp: Response| {
            *r.borrow_mut() = Some(resp.clone());
            read_body(&resp)
        });
    world.advance(0.75); // connected
    world.advance(2.5); // the head and half the body
    let at_head = response.borrow().as_ref().unwrap().timings();
    assert_eq!(at_head.started_at(), 1.0);
    assert_eq!(at_head.time_connect(), Some(0.75));
    assert_eq!(at_head.time_starttransfer(), Some(3.25));
    assert_eq!(at_head.time_total(), None);
    world.advance(1.0); // the rest of the body
    assert_eq!(&d.take_result().unwrap().unwrap()[..], b"abcd");
    let t = response.borrow().as_ref().unwrap().timings();
    assert_eq!(t.time_namelookup(), None, "the endpoint resolves no name");
    assert_eq!(t.time_connect(), Some(0.75));
    assert_eq!(
        t.connect(),
        Some(0.75),
        "with no lookup, the connect starts at once"
    );
    assert_eq!(t.time_appconnect(), None);
    assert_eq!(t.time_to_first_byte(), Some(3.25));
    assert_eq!(t.total(), Some(4.25));
    assert!(!t.reused());

    world.advance(1.0);
    let second = world.get_on_the_pooled_connection();
    assert!(second.reused());
    assert_eq!(second.started_at(), 6.25);
    assert_eq!(second.time_connect(), None);
    assert_eq!(second.time_to_first_byte(), Some(2.5));
    assert_eq!(second.total(), Some(3.5));
    assert_eq!(world.pumps.borrow().len(), 1, "one connection");
}

/// Answers on the stub's clock: the head and body 2.5 s after the request, the end 1 s later.
fn slow_stub() -> (StubTreq, Rc<RefCell<Option<Rc<ServerRequest>>>>) {
    let pending: Rc<RefCell<Option<Rc<ServerRequest>>>> = Rc::new(RefCell::new(None));
    let p = pending.clone();
    let stub = StubTreq::new(Rc::new(FnResource::new(
        move |request: &Rc<ServerRequest>| {
            *p.borrow_mut() = Some(request.clone());
            NOT_DONE_YET
        },
    )));
    (stub, pending)
}

#[test]
fn treq_responses_carry_the_timings_through_the_http_client() {
    let (stub, pending) = slow_stub();
    stub.clock().advance(10.0);
    let d = stub.get("http://example.test/slow").send();
    stub.flush().unwrap();
    stub.clock().advance(2.5);
    let request = pending.borrow_mut().take().expect("the request arrived");
    request.write(b"first half, ");
    stub.flush().unwrap();
    let response = d.take_result().expect("the head is in").unwrap();
    let t = response.timings();
    assert_eq!(t.started_at(), 10.0);
    assert!(!t.reused());
    assert_eq!(t.time_connect(), Some(0.0), "in memory, connected at once");
    assert_eq!(t.time_to_first_byte(), Some(2.5));
    assert_eq!(t.total(), None);
    stub.clock().advance(1.0);
    request.write(b"second half");
    request.finish();
    stub.flush().unwrap();
    let body = response.content().take_result().unwrap().unwrap();
    assert_eq!(&body[..], b"first half, second half");
    assert_eq!(response.timings().total(), Some(3.5));
    assert_eq!(response.timings().time_to_first_byte(), Some(2.5));
}
