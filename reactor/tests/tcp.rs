//! TCP transports over real sockets on 127.0.0.1.

mod netutil;

use bytes::Bytes;
use netutil::{run_until, Recorder};
use reactor::defer::{Deferred, Failure};
use reactor::error::{
    CannotListenError, ConnectError, ConnectionAborted, ConnectionDone, ConnectionLost,
    DNSLookupError,
};
use reactor::interfaces::{IProducer, IProtocol, IPushProducer, ITransport, Producer};
use reactor::protocol::{ClientFactory, ProtocolFactory};
use reactor::Reactor;
use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;

fn listen(
    reactor: &Reactor,
    make: impl Fn() -> Rc<Recorder> + 'static,
) -> (u16, Rc<RefCell<Vec<Rc<Recorder>>>>) {
    let accepted: Rc<RefCell<Vec<Rc<Recorder>>>> = Rc::default();
    let list = accepted.clone();
    let factory = move |_addr: SocketAddr| -> Rc<dyn IProtocol> {
        let p = make();
        list.borrow_mut().push(p.clone());
        p
    };
    let port = reactor
        .listen_tcp(0, Rc::new(factory), "127.0.0.1")
        .unwrap();
    (port.get_host().port(), accepted)
}

struct Factory(Rc<Recorder>, RefCell<Option<Failure>>);
impl ProtocolFactory for Factory {
    fn build_protocol(&self, _addr: SocketAddr) -> Rc<dyn IProtocol> {
        self.0.clone()
    }
}
impl ClientFactory for Factory {
    fn client_connection_failed(&self, reason: Failure) {
        *self.1.borrow_mut() = Some(reason);
    }
}

fn connect(reactor: &Reactor, port: u16, client: Rc<Recorder>) -> Deferred<Rc<dyn IProtocol>> {
    reactor.connect_tcp(
        "127.0.0.1",
        port,
        Rc::new(Factory(client, RefCell::new(None))),
        5.0,
        None,
    )
}

#[test]
fn echo_round_trip_and_clean_close() {
    let reactor = Reactor::new();
    let (port, _servers) = listen(&reactor, || {
        let p = Recorder::new();
        p.echo.set(true);
        p
    });
    let client = Recorder::new();
    client.close_after.set(Some(11));
    *client.greeting.borrow_mut() = Some(b"hello world".to_vec());
    run_until(&reactor, connect(&reactor, port, client.clone()), 5.0).unwrap();
    run_until(&reactor, client.when_lost(), 5.0).unwrap();
    assert_eq!(&client.received.borrow()[..], b"hello world");
    assert!(client
        .lost
        .borrow()
        .as_ref()
        .unwrap()
        .check::<ConnectionDone>());
    let peer = client.transport().get_peer().unwrap();
    assert_eq!(peer.port(), port);
}

#[test]
fn server_sees_clean_close_and_connection_lost_once() {
    let reactor = Reactor::new();
    let (port, servers) = listen(&reactor, Recorder::new);
    let client = Recorder::new();
    *client.greeting.borrow_mut() = Some(b"bye".to_vec());
    run_until(&reactor, connect(&reactor, port, client.clone()), 5.0).unwrap();
    client.transport().lose_connection();
    run_until(&reactor, client.when_lost(), 5.0).unwrap();
    let server = servers.borrow()[0].clone();
    run_until(&reactor, server.when_lost(), 5.0).unwrap();
    assert_eq!(&server.received.borrow()[..], b"bye");
    assert!(server
        .lost
        .borrow()
        .as_ref()
        .unwrap()
        .check::<ConnectionDone>());
}

#[test]
fn connection_refused_is_typed() {
    let reactor = Reactor::new();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client = Recorder::new();
    let factory = Rc::new(Factory(client, RefCell::new(None)));
    let d = reactor.connect_tcp("127.0.0.1", port, factory.clone(), 5.0, None);
    let failure = run_until(&reactor, d, 5.0).err().expect("refused");
    assert!(
        matches!(
            failure.value::<ConnectError>(),
            Some(ConnectError::ConnectionRefused { .. })
        ),
        "{failure:?}"
    );
    assert!(
        factory.1.borrow().is_some(),
        "client_connection_failed called"
    );
    assert_eq!(reactor.registered_sources(), 0);
}

#[test]
fn dns_failures_are_typed() {
    let reactor = Reactor::new();
    // Names that fail inside this machine's resolver, without a query leaving it.
    for name in ["", "bad\0name"] {
        let failure = run_until(&reactor, reactor.resolve(name), 5.0).expect_err("fails");
        let error = failure.value::<DNSLookupError>().expect("DNSLookupError");
        assert_eq!(error.name, name);
    }
    let addrs = run_until(&reactor, reactor.resolve("127.0.0.1"), 5.0).unwrap();
    assert_eq!(
        addrs,
        vec!["127.0.0.1".parse::<std::net::IpAddr>().unwrap()]
    );
}

#[test]
fn listening_on_a_port_in_use_is_typed() {
    let reactor = Reactor::new();
    let factory = Rc::new(|_addr: SocketAddr| -> Rc<dyn IProtocol> { Recorder::new() });
    let port = reactor.listen_tcp(0, factory.clone(), "127.0.0.1").unwrap();
    let again = reactor.listen_tcp(port.get_host().port(), factory.clone(), "127.0.0.1");
    let error: CannotListenError = again.expect_err("in use");
    assert_eq!(error.error.kind(), std::io::ErrorKind::AddrInUse);
    assert!(reactor.listen_tcp(0, factory, "not-an-ip").is_err());
    port.stop_listening();
    assert_eq!(reactor.registered_sources(), 0);
}

#[test]
fn bind_address_is_used() {
    let reactor = Reactor::new();
    let (port, servers) = listen(&reactor, Recorder::new);
    let local = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let client = Recorder::new();
    let d = reactor.connect_tcp(
        "127.0.0.1",
        port,
        Rc::new(Factory(client.clone(), RefCell::new(None))),
        5.0,
        Some(local),
    );
    run_until(&reactor, d, 5.0).unwrap();
    assert_eq!(client.transport().get_host().unwrap(), local);
    client.transport().lose_connection();
    run_until(&reactor, client.when_lost(), 5.0).unwrap();
    assert_eq!(servers.borrow().len(), 1);
}

#[test]
fn lose_connection_flushes_everything_first() {
    let reactor = Reactor::new();
    let payload: Vec<u8> = (0..8 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let expected = payload.clone();
    let (port, _servers) = listen(&reactor, move || {
        let p = Recorder::new();
        *p.greeting.borrow_mut() = Some(payload.clone());
        p
    });
    // The server writes 8 MiB then closes: wrap make_connection via close_after on the client.
    let client = Recorder::new();
    run_until(&reactor, connect(&reactor, port, client.clone()), 5.0).unwrap();
    // Ask the server side to close once everything is queued.
    let servers = _servers.clone();
    let r = reactor.clone();
    r.call_soon(move || servers.borrow()[0].transport().lose_connection());
    run_until(&reactor, client.when_lost(), 10.0).unwrap();
    assert_eq!(client.received.borrow().len(), expected.len());
    assert!(client.received.borrow()[..] == expected[..]);
    assert!(client
        .lost
        .borrow()
        .as_ref()
        .unwrap()
        .check::<ConnectionDone>());
}

#[test]
fn abort_connection_resets_the_peer() {
    let reactor = Reactor::new();
    let (port, servers) = listen(&reactor, Recorder::new);
    let client = Recorder::new();
    *client.greeting.borrow_mut() = Some(b"x".to_vec());
    run_until(&reactor, connect(&reactor, port, client.clone()), 5.0).unwrap();
    // Wait until the server has the byte, then abort it.
    while servers.borrow().is_empty() || servers.borrow()[0].received.borrow().is_empty() {
        reactor.iterate();
    }
    let server = servers.borrow()[0].clone();
    server.transport().abort_connection();
    run_until(&reactor, server.when_lost(), 5.0).unwrap();
    assert!(server
        .lost
        .borrow()
        .as_ref()
        .unwrap()
        .check::<ConnectionAborted>());
    run_until(&reactor, client.when_lost(), 5.0).unwrap();
    let reason = client.lost.borrow().clone().unwrap();
    assert!(
        reason.check::<ConnectionLost>(),
        "a reset is not a clean close: {reason:?}"
    );
}

/// A push producer that writes `total` bytes in 64 KiB pieces while not paused.
struct Firehose {
    reactor: Reactor,
    consumer: Rc<dyn ITransport>,
    me: RefCell<Option<Rc<Firehose>>>,
    total: usize,
    sent: Cell<usize>,
    paused: Cell<bool>,
    pauses: Cell<usize>,
    peak_backlog: Cell<usize>,
    stopped: Cell<bool>,
}

impl Firehose {
    fn produce(self: &Rc<Self>) {
        let chunk = vec![7u8; 64 * 1024];
        while !self.paused.get() && !self.stopped.get() && self.sent.get() < self.total {
            self.consumer.write(&chunk);
            self.sent.set(self.sent.get() + chunk.len());
            let backlog = self.consumer.write_buffer_len();
            self.peak_backlog.set(self.peak_backlog.get().max(backlog));
        }
        if self.sent.get() >= self.total {
            self.consumer.unregister_producer();
            self.consumer.lose_connection();
            self.me.borrow_mut().take();
        }
    }
}

impl IProducer for Firehose {
    fn stop_producing(&self) {
        self.stopped.set(true);
    }
}

impl IPushProducer for Firehose {
    fn pause_producing(&self) {
        self.paused.set(true);
        self.pauses.set(self.pauses.get() + 1);
    }
    fn resume_producing(&self) {
        self.paused.set(false);
        let me = self.me.borrow().clone();
        if let Some(me) = me {
            self.reactor.call_soon(move || me.produce());
        }
    }
}

/// A reader that counts bytes, and can stop reading.
#[derive(Default)]
struct Counter {
    transport: RefCell<Option<Rc<dyn ITransport>>>,
    count: Cell<usize>,
    stall: Cell<bool>,
    lost: RefCell<Option<Failure>>,
}

impl IProtocol for Counter {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        if self.stall.get() {
            transport.pause_producing();
        }
        *self.transport.borrow_mut() = Some(transport);
    }
    fn data_received(&self, data: Bytes) {
        self.count.set(self.count.get() + data.len());
    }
    fn connection_lost(&self, reason: Failure) {
        *self.lost.borrow_mut() = Some(reason);
    }
}

#[test]
fn one_gib_to_a_reader_that_stops_reading_keeps_memory_bounded() {
    let reactor = Reactor::new();
    let server = Rc::new(Counter::default());
    server.stall.set(true);
    let s = server.clone();
    let factory = move |_addr: SocketAddr| -> Rc<dyn IProtocol> { s.clone() };
    let port = reactor
        .listen_tcp(0, Rc::new(factory), "127.0.0.1")
        .unwrap();
    let client = Recorder::new();
    run_until(
        &reactor,
        connect(&reactor, port.get_host().port(), client.clone()),
        5.0,
    )
    .unwrap();
    let transport = client.transport();
    let total: usize = std::env::var("GIB_TEST_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024 * 1024 * 1024);
    let hose = Rc::new(Firehose {
        reactor: reactor.clone(),
        consumer: transport.clone(),
        me: RefCell::new(None),
        total,
        sent: Cell::new(0),
        paused: Cell::new(false),
        pauses: Cell::new(0),
        peak_backlog: Cell::new(0),
        stopped: Cell::new(false),
    });
    *hose.me.borrow_mut() = Some(hose.clone());
    transport.register_producer(Producer::Push(hose.clone()));
    hose.produce();
    // A ticking timer so that `iterate` never waits for I/O that will not come.
    let ticker = reactor::task::LoopingCall::new(Rc::new(reactor.clone()), || ());
    let _ticking = ticker.start(0.001, false);
    for _ in 0..50 {
        reactor.iterate();
    }
    assert!(hose.paused.get(), "producer paused by a full buffer");
    let sent_while_stalled = hose.sent.get();
    for _ in 0..20 {
        reactor.iterate();
    }
    assert_eq!(
        hose.sent.get(),
        sent_while_stalled,
        "nothing produced while paused"
    );
    assert!(
        sent_while_stalled < 64 * 1024 * 1024,
        "bounded: {sent_while_stalled}"
    );
    assert_eq!(server.count.get(), 0, "the reader really stopped");
    // The reader resumes and drains the whole GiB.
    server
        .transport
        .borrow()
        .clone()
        .unwrap()
        .resume_producing();
    let done = Deferred::new();
    let (d, srv) = (done.clone(), server.clone());
    let poll = reactor::task::LoopingCall::new(Rc::new(reactor.clone()), move || {
        if srv.lost.borrow().is_some() && !d.called() {
            let _ = d.callback(());
        }
    });
    let _looping = poll.start(0.01, true);
    run_until(&reactor, done, 120.0).unwrap();
    poll.stop();
    ticker.stop();
    assert_eq!(server.count.get(), total);
    assert_eq!(hose.sent.get(), total);
    assert!(hose.pauses.get() >= 1);
    let limit = reactor::tcp::HIGH_WATER + 64 * 1024;
    assert!(
        hose.peak_backlog.get() <= limit,
        "peak backlog {} > {limit}",
        hose.peak_backlog.get()
    );
    assert!(server
        .lost
        .borrow()
        .as_ref()
        .unwrap()
        .check::<ConnectionDone>());
}

#[test]
fn what_a_peer_sent_before_resetting_is_delivered_before_the_write_error() {
    // A server that answers early and closes with our bytes unread (a reset): our next write
    // fails, and its answer, already in our receive buffer, still reaches the protocol first.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut first = [0u8; 1];
        // Wait for the request without reading it, so that closing resets.
        stream.peek(&mut first).unwrap();
        std::io::Write::write_all(&mut stream, b"early answer").unwrap();
    });
    let reactor = Reactor::new();
    let client = Recorder::new();
    *client.greeting.borrow_mut() = Some(b"request".to_vec());
    run_until(&reactor, connect(&reactor, port, client.clone()), 5.0).unwrap();
    let transport = client.transport();
    // No read before the write below: the answer waits in the socket.
    transport.pause_producing();
    peer.join().unwrap();
    transport.write(b"more of the request");
    transport.resume_producing();
    run_until(&reactor, client.when_lost(), 5.0).unwrap();
    assert_eq!(&client.received.borrow()[..], b"early answer");
    let reason = client.lost.borrow().clone().unwrap();
    assert!(reason.check::<ConnectionLost>(), "{reason:?}");
}

#[test]
fn a_peer_reset_while_we_write_is_a_typed_connection_lost() {
    let reactor = Reactor::new();
    let (port, servers) = listen(&reactor, || {
        let p = Recorder::new();
        p.pause_on_data.set(true);
        p
    });
    let client = Recorder::new();
    run_until(&reactor, connect(&reactor, port, client.clone()), 5.0).unwrap();
    let transport = client.transport();
    // Fill the socket buffers towards a reader that does not read.
    let chunk = vec![1u8; 256 * 1024];
    for _ in 0..16 {
        transport.write(&chunk);
    }
    while servers.borrow().is_empty() {
        reactor.iterate();
    }
    assert!(
        transport.write_buffer_len() > 0,
        "data still waiting to be sent"
    );
    servers.borrow()[0].transport().abort_connection();
    // Keep writing: the writes after the reset must not panic, and the loss is reported once.
    let r = reactor.clone();
    let t = transport.clone();
    let writer = reactor::task::LoopingCall::new(Rc::new(r), move || t.write(&[2u8; 1024]));
    let _writing = writer.start(0.001, true);
    run_until(&reactor, client.when_lost(), 5.0).unwrap();
    writer.stop();
    let reason = client.lost.borrow().clone().unwrap();
    assert!(reason.check::<ConnectionLost>(), "{reason:?}");
    assert_eq!(transport.write_buffer_len(), 0, "buffer released");
    assert_eq!(
        reactor.registered_sources(),
        1,
        "only the listening port is left"
    );
}

#[test]
fn an_ip_literal_is_connected_to_directly_with_only_the_connect_timeout_armed() {
    use reactor::connect_timings::ConnectTimings;
    use reactor::endpoints::{HostnameEndpoint, TCP4ClientEndpoint};
    use reactor::interfaces::IStreamClientEndpoint;
    let reactor = Reactor::new();
    let (port, _servers) = listen(&reactor, Recorder::new);
    let timings = ConnectTimings::new(Rc::new(reactor.clone()));
    let client = Recorder::new();
    let endpoint = HostnameEndpoint::new(&reactor, "127.0.0.1", port).timeout(5.0);
    let connecting = endpoint.connect_timed(client.clone(), &timings);
    // No resolution, no race between addresses: the connect's own timeout is the one timer
    // (the happy-eyeballs path arms a deadline beside it).
    assert_eq!(reactor.get_delayed_calls().len(), 1);
    run_until(&reactor, connecting, 5.0).unwrap();
    assert_eq!(client.transport().get_peer().unwrap().port(), port);
    assert!(timings.name_resolved().is_some() && timings.connected().is_some());
    assert!(
        reactor.get_delayed_calls().is_empty(),
        "the timeout is cancelled"
    );
    // An IPv6 literal for an IPv4-only endpoint still has no address to try.
    let v4 = TCP4ClientEndpoint::new(&reactor, "[::1]", port, 5.0, None);
    let failure = run_until(&reactor, v4.connect(Recorder::new()), 5.0).unwrap_err();
    assert!(
        matches!(
            failure.value::<ConnectError>(),
            Some(ConnectError::NoAddresses { .. })
        ),
        "{failure}"
    );
}
