//! The TLS layer (`reactor::tls`): both ends over in-memory transports (`iosim`), bytes fed one
//! at a time, close_notify and truncation, flow control, and 100 MiB over real TCP sockets.

mod simutil;
#[path = "../../tests/tlsutil/mod.rs"]
mod tlsutil;

use bytes::Bytes;
use reactor::defer::Failure;
use reactor::endpoints::HostnameEndpoint;
use reactor::error::ConnectionDone;
use reactor::interfaces::{
    IProducer, IProtocol, IPullProducer, IPushProducer, IStreamClientEndpoint, ITransport, Producer,
};
use reactor::iosim::{connected_server_and_client, FakeTransport, IOPump};
use reactor::protocol::ProtocolFactory;
use reactor::tls::{
    options_for_client_tls, wrap_client_tls, TLSError, TLSErrorKind, TLSMemoryBIOFactory,
    TLSMemoryBIOProtocol,
};
use reactor::Reactor;
use simutil::{run_until_stopped, Recorder};
use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use tlsutil::{self_signed, TestCA};

fn client_tls(ca: &TestCA, host: &str, app: Rc<dyn IProtocol>) -> Rc<TLSMemoryBIOProtocol> {
    let options =
        options_for_client_tls(host, Some(ca.trust_root()), None, Some(&[b"http/1.1"])).unwrap();
    TLSMemoryBIOProtocol::client(&options, app).unwrap()
}

fn server_tls(
    config: Arc<reactor::tls::rustls::ServerConfig>,
    app: Rc<dyn IProtocol>,
) -> Rc<TLSMemoryBIOProtocol> {
    TLSMemoryBIOProtocol::server(config, app).unwrap()
}

fn tls_error(failure: &Failure) -> &TLSError {
    failure
        .value::<TLSError>()
        .unwrap_or_else(|| panic!("not a TLSError: {failure}"))
}

#[test]
fn handshake_then_echo_over_iosim() {
    let ca = TestCA::new("test CA");
    let server_app = Recorder::echo();
    let client_app = Recorder::greeting(b"hello before the handshake finished");
    let server = server_tls(ca.issue(&["localhost"]).server_config(), server_app.clone());
    let client = client_tls(&ca, "localhost", client_app.clone());
    let (_s, _c, pump) = connected_server_and_client(server.clone(), client.clone());
    pump.flush().unwrap();
    assert!(client.handshake_done() && server.handshake_done());
    assert_eq!(
        client.negotiated_protocol().as_deref(),
        Some(&b"http/1.1"[..])
    );
    assert_eq!(
        server_app.received(),
        b"hello before the handshake finished"
    );
    assert_eq!(
        client_app.received(),
        b"hello before the handshake finished"
    );
}

/// Hands bytes to the protocol inside one at a time: every handshake message and record
/// arrives in pieces, so each step of the handshake finds too little data first.
struct Trickle {
    inner: Rc<dyn IProtocol>,
    calls: Cell<usize>,
}

impl IProtocol for Trickle {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        self.inner.make_connection(transport);
    }
    fn data_received(&self, data: Bytes) {
        for i in 0..data.len() {
            self.calls.set(self.calls.get() + 1);
            self.inner.data_received(data.slice(i..i + 1));
        }
    }
    fn connection_lost(&self, reason: Failure) {
        self.inner.connection_lost(reason);
    }
}

#[test]
fn handshake_and_data_one_byte_at_a_time() {
    let ca = TestCA::new("test CA");
    let server_app = Recorder::echo();
    let client_app = Recorder::greeting(b"trickled");
    let server = server_tls(ca.issue(&["localhost"]).server_config(), server_app.clone());
    let client = client_tls(&ca, "localhost", client_app.clone());
    let server_side = Rc::new(Trickle {
        inner: server.clone(),
        calls: Cell::new(0),
    });
    let client_side = Rc::new(Trickle {
        inner: client.clone(),
        calls: Cell::new(0),
    });
    let (_s, _c, pump) = connected_server_and_client(server_side.clone(), client_side.clone());
    pump.flush().unwrap();
    assert_eq!(client_app.received(), b"trickled");
    assert!(server_side.calls.get() > 100 && client_side.calls.get() > 100);
    client_app.transport().lose_connection();
    pump.flush().unwrap();
    assert!(
        client_app.lost()[0].check::<ConnectionDone>(),
        "{}",
        client_app.lost()[0]
    );
    assert!(
        server_app.lost()[0].check::<ConnectionDone>(),
        "{}",
        server_app.lost()[0]
    );
}

#[test]
fn lose_connection_sends_close_notify_and_peer_answers() {
    let ca = TestCA::new("test CA");
    let server_app = Recorder::new();
    let client_app = Recorder::greeting(b"bye");
    let server = server_tls(ca.issue(&["localhost"]).server_config(), server_app.clone());
    let client = client_tls(&ca, "localhost", client_app.clone());
    let (server_lower, _c, pump) = connected_server_and_client(server.clone(), client.clone());
    pump.flush().unwrap();
    client_app.transport().lose_connection();
    pump.flush().unwrap();
    // The server saw the close_notify, so its end is clean, not truncated; it answered with its
    // own close_notify and closed.
    assert_eq!(server_app.received(), b"bye");
    assert!(
        server_app.lost()[0].check::<ConnectionDone>(),
        "{}",
        server_app.lost()[0]
    );
    assert!(server_lower.disconnecting());
    assert!(client_app.lost()[0].check::<ConnectionDone>());
}

#[test]
fn close_without_close_notify_is_truncation() {
    let ca = TestCA::new("test CA");
    let client_app = Recorder::new();
    let server = server_tls(ca.issue(&["localhost"]).server_config(), Recorder::new());
    let client = client_tls(&ca, "localhost", client_app.clone());
    let (server_lower, _c, pump) = connected_server_and_client(server, client);
    pump.flush().unwrap();
    // A FIN straight from TCP, under the TLS layer.
    server_lower.lose_connection();
    pump.flush().unwrap();
    let lost = client_app.lost();
    assert_eq!(tls_error(&lost[0]).kind(), TLSErrorKind::Truncated);
}

/// Reads the ClientHello and hangs up.
#[derive(Default)]
struct HangUp {
    transport: RefCell<Option<Rc<dyn ITransport>>>,
}

impl IProtocol for HangUp {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        *self.transport.borrow_mut() = Some(transport);
    }
    fn data_received(&self, _data: Bytes) {
        let transport = self.transport.borrow().clone();
        if let Some(t) = transport {
            t.lose_connection();
        }
    }
    fn connection_lost(&self, _reason: Failure) {}
}

#[test]
fn peer_closing_during_the_handshake_is_reported() {
    let ca = TestCA::new("test CA");
    let client_app = Recorder::new();
    let client = client_tls(&ca, "localhost", client_app.clone());
    let (_s, _c, pump) = connected_server_and_client(Rc::new(HangUp::default()), client);
    pump.flush().unwrap();
    let lost = client_app.lost();
    let error = tls_error(&lost[0]);
    assert_eq!(error.kind(), TLSErrorKind::PeerClosedDuringHandshake);
    assert_eq!(error.host(), "localhost");
    assert!(lost[0].to_string().contains("localhost"), "{}", lost[0]);
}

#[test]
fn self_signed_server_is_rejected_and_told() {
    let ca = TestCA::new("test CA");
    let server_app = Recorder::new();
    let client_app = Recorder::greeting(b"secret");
    let server = server_tls(
        self_signed(&["localhost"]).server_config(),
        server_app.clone(),
    );
    let client = client_tls(&ca, "localhost", client_app.clone());
    let (_s, _c, pump) = connected_server_and_client(server, client);
    pump.flush().unwrap();
    let lost = client_app.lost();
    assert_eq!(tls_error(&lost[0]).kind(), TLSErrorKind::UnknownIssuer);
    let message = lost[0].to_string();
    assert!(
        message.contains("localhost") && message.contains("unknown issuer"),
        "{message}"
    );
    // The server got our alert: it reports the rejection, and never saw the plaintext.
    assert_eq!(
        tls_error(&server_app.lost()[0]).kind(),
        TLSErrorKind::PeerRejected
    );
    assert!(server_app.received().is_empty());
}

/// A push producer that writes `piece` each time it is resumed, until `total` is written.
struct Pusher {
    transport: Rc<dyn ITransport>,
    piece: Vec<u8>,
    total: usize,
    written: Cell<usize>,
    paused: Cell<bool>,
    pauses: Cell<usize>,
}

impl Pusher {
    fn write_until_paused(&self) {
        while !self.paused.get() && self.written.get() < self.total {
            self.written.set(self.written.get() + self.piece.len());
            self.transport.write(&self.piece);
        }
        if self.written.get() >= self.total {
            self.transport.unregister_producer();
        }
    }
}

impl IProducer for Pusher {
    fn stop_producing(&self) {
        self.paused.set(true);
    }
}

impl IPushProducer for Pusher {
    fn pause_producing(&self) {
        self.pauses.set(self.pauses.get() + 1);
        self.paused.set(true);
    }
    fn resume_producing(&self) {
        self.paused.set(false);
        self.write_until_paused();
    }
}

#[test]
fn push_producer_is_paused_while_the_handshake_holds_writes_back() {
    let ca = TestCA::new("test CA");
    let server_app = Recorder::new();
    let client_app = Recorder::new();
    let server = server_tls(ca.issue(&["localhost"]).server_config(), server_app.clone());
    let client = client_tls(&ca, "localhost", client_app.clone());
    // Connected by hand, without the first flush: the handshake has not started.
    let server_lower = FakeTransport::new(server.clone(), true);
    let client_lower = FakeTransport::new(client.clone(), false);
    let pump = IOPump::new(server_lower.clone(), client_lower.clone());
    server.make_connection(server_lower);
    client.make_connection(client_lower);
    assert!(!client.handshake_done());
    let pusher = Rc::new(Pusher {
        transport: client_app.transport(),
        piece: vec![7; 16 * 1024],
        total: 1024 * 1024,
        written: Cell::new(0),
        paused: Cell::new(false),
        pauses: Cell::new(0),
    });
    client_app
        .transport()
        .register_producer(Producer::Push(pusher.clone()));
    pusher.write_until_paused();
    assert!(pusher.paused.get(), "not paused at the high-water mark");
    assert!(pusher.written.get() <= reactor::tcp::HIGH_WATER + 16 * 1024);
    pump.flush().unwrap();
    assert_eq!(server_app.received().len(), 1024 * 1024);
    assert!(pusher.pauses.get() >= 1);
}

#[test]
fn pull_producer_is_asked_until_done() {
    struct Puller {
        transport: Rc<dyn ITransport>,
        left: Cell<usize>,
    }
    impl IProducer for Puller {
        fn stop_producing(&self) {}
    }
    impl IPullProducer for Puller {
        fn resume_producing(&self) {
            if self.left.get() == 0 {
                self.transport.unregister_producer();
                return;
            }
            self.left.set(self.left.get() - 1);
            self.transport.write(&[1u8; 1000]);
        }
    }
    let ca = TestCA::new("test CA");
    let server_app = Recorder::new();
    let client_app = Recorder::new();
    let server = server_tls(ca.issue(&["localhost"]).server_config(), server_app.clone());
    let client = client_tls(&ca, "localhost", client_app.clone());
    let (_s, _c, pump) = connected_server_and_client(server, client);
    pump.flush().unwrap();
    let puller = Rc::new(Puller {
        transport: client_app.transport(),
        left: Cell::new(50),
    });
    client_app
        .transport()
        .register_producer(Producer::Pull(puller.clone()));
    pump.flush().unwrap();
    assert_eq!(server_app.received().len(), 50 * 1000);
    assert_eq!(puller.left.get(), 0);
}

#[test]
fn pausing_the_tls_transport_pauses_reading_below() {
    let ca = TestCA::new("test CA");
    let client_app = Recorder::new();
    let server = server_tls(ca.issue(&["localhost"]).server_config(), Recorder::new());
    let client = client_tls(&ca, "localhost", client_app.clone());
    let (_s, client_lower, pump) = connected_server_and_client(server, client);
    pump.flush().unwrap();
    client_app.transport().pause_producing();
    assert!(client_lower.reading_paused());
    client_app.transport().resume_producing();
    assert!(!client_lower.reading_paused());
}

// ---------------------------------------------------------------------------------------------
// Real sockets: 100 MiB from a TLS server to a TLS client, both this crate's.

const BIG: usize = 100 * 1024 * 1024;

/// Server side: sends BIG bytes from a push producer, recording the largest backlog seen.
struct BigSender {
    transport: RefCell<Option<Rc<dyn ITransport>>>,
    sent: Cell<usize>,
    paused: Cell<bool>,
    max_backlog: Rc<Cell<usize>>,
    me: RefCell<std::rc::Weak<BigSender>>,
}

impl BigSender {
    fn send(&self) {
        let Some(t) = self.transport.borrow().clone() else {
            return;
        };
        let piece = [b'z'; 64 * 1024];
        while !self.paused.get() && self.sent.get() < BIG {
            t.write(&piece);
            self.sent.set(self.sent.get() + piece.len());
            self.max_backlog
                .set(self.max_backlog.get().max(t.write_buffer_len()));
        }
        if self.sent.get() >= BIG {
            t.unregister_producer();
            t.lose_connection();
        }
    }
}

impl IProtocol for BigSender {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        *self.transport.borrow_mut() = Some(transport.clone());
        let me = self.me.borrow().upgrade().unwrap();
        transport.register_producer(Producer::Push(me));
        self.send();
    }
    fn data_received(&self, _data: Bytes) {}
    fn connection_lost(&self, _reason: Failure) {}
}

impl IProducer for BigSender {
    fn stop_producing(&self) {
        self.paused.set(true);
    }
}

impl IPushProducer for BigSender {
    fn pause_producing(&self) {
        self.paused.set(true);
    }
    fn resume_producing(&self) {
        self.paused.set(false);
        self.send();
    }
}

/// Client side: counts bytes and stops the reactor when the connection ends.
struct Counter {
    reactor: Reactor,
    received: Cell<usize>,
    reason: RefCell<Option<Failure>>,
}

impl IProtocol for Counter {
    fn make_connection(&self, _transport: Rc<dyn ITransport>) {}
    fn data_received(&self, data: Bytes) {
        assert!(data.iter().all(|&b| b == b'z'));
        self.received.set(self.received.get() + data.len());
    }
    fn connection_lost(&self, reason: Failure) {
        *self.reason.borrow_mut() = Some(reason);
        let _ = self.reactor.stop();
    }
}

#[test]
fn hundred_mebibytes_over_tcp_with_bounded_buffers() {
    let reactor = Reactor::new();
    let ca = TestCA::new("test CA");
    let max_backlog = Rc::new(Cell::new(0));
    let backlog = max_backlog.clone();
    let app_factory = move |_addr: SocketAddr| -> Rc<dyn IProtocol> {
        let sender = Rc::new(BigSender {
            transport: RefCell::new(None),
            sent: Cell::new(0),
            paused: Cell::new(false),
            max_backlog: backlog.clone(),
            me: RefCell::new(std::rc::Weak::new()),
        });
        *sender.me.borrow_mut() = Rc::downgrade(&sender);
        sender
    };
    let factory = TLSMemoryBIOFactory::server(
        ca.issue(&["localhost", "127.0.0.1"]).server_config(),
        Rc::new(app_factory),
    );
    let port = reactor
        .listen_tcp(0, Rc::new(factory) as Rc<dyn ProtocolFactory>, "127.0.0.1")
        .unwrap();
    let address = port.get_host();
    let options = options_for_client_tls("localhost", Some(ca.trust_root()), None, None).unwrap();
    let tcp = HostnameEndpoint::new(&reactor, "127.0.0.1", address.port()).timeout(5.0);
    let endpoint = wrap_client_tls(Rc::new(options), Rc::new(tcp));
    let counter = Rc::new(Counter {
        reactor: reactor.clone(),
        received: Cell::new(0),
        reason: RefCell::new(None),
    });
    let _connecting = endpoint.connect(counter.clone());
    run_until_stopped(&reactor, 120.0);
    assert_eq!(counter.received.get(), BIG);
    let reason = counter.reason.borrow().clone().unwrap();
    assert!(reason.check::<ConnectionDone>(), "{reason}");
    // The producer was held to the high-water mark plus one piece and its TLS framing.
    assert!(
        max_backlog.get() < reactor::tcp::HIGH_WATER + 128 * 1024,
        "backlog reached {}",
        max_backlog.get()
    );
}

#[test]
fn lose_connection_during_the_handshake_waits_then_closes_cleanly() {
    let ca = TestCA::new("test CA");
    let server_app = Recorder::new();
    let client_app = Recorder::new();
    let server = server_tls(ca.issue(&["localhost"]).server_config(), server_app.clone());
    let client = client_tls(&ca, "localhost", client_app.clone());
    let server_lower = FakeTransport::new(server.clone(), true);
    let client_lower = FakeTransport::new(client.clone(), false);
    let pump = IOPump::new(server_lower.clone(), client_lower.clone());
    server.make_connection(server_lower);
    client.make_connection(client_lower.clone());
    client_app.transport().write(b"last words");
    client_app.transport().lose_connection();
    // Nothing is closed below before the handshake has carried the data.
    assert!(!client_lower.disconnecting());
    pump.flush().unwrap();
    assert_eq!(server_app.received(), b"last words");
    assert!(
        server_app.lost()[0].check::<ConnectionDone>(),
        "{}",
        server_app.lost()[0]
    );
    assert!(
        client_app.lost()[0].check::<ConnectionDone>(),
        "{}",
        client_app.lost()[0]
    );
}

#[test]
fn abort_connection_aborts_below() {
    let ca = TestCA::new("test CA");
    let client_app = Recorder::new();
    let server_app = Recorder::new();
    let server = server_tls(ca.issue(&["localhost"]).server_config(), server_app.clone());
    let client = client_tls(&ca, "localhost", client_app.clone());
    let (_s, client_lower, pump) = connected_server_and_client(server, client);
    pump.flush().unwrap();
    client_app.transport().abort_connection();
    pump.flush().unwrap();
    assert!(client_lower.aborted());
    assert!(client_app.lost()[0].check::<reactor::error::ConnectionAborted>());
    assert!(!server_app.lost().is_empty());
}

/// An endpoint that is not TCP: it connects the protocol to a TLS server over iosim.
struct InMemoryEndpoint {
    server: Rc<dyn IProtocol>,
    pump: RefCell<Option<reactor::iosim::IOPump>>,
}

impl IStreamClientEndpoint for InMemoryEndpoint {
    fn connect(&self, protocol: Rc<dyn IProtocol>) -> reactor::defer::Deferred<()> {
        let (_s, _c, pump) = connected_server_and_client(self.server.clone(), protocol);
        *self.pump.borrow_mut() = Some(pump);
        reactor::defer::Deferred::succeed(())
    }
}

#[test]
fn wrap_client_tls_wraps_any_endpoint() {
    let ca = TestCA::new("test CA");
    let server = server_tls(
        ca.issue(&["tunnel.example"]).server_config(),
        Recorder::echo(),
    );
    let inner = Rc::new(InMemoryEndpoint {
        server,
        pump: RefCell::new(None),
    });
    let options =
        options_for_client_tls("tunnel.example", Some(ca.trust_root()), None, None).unwrap();
    let endpoint = wrap_client_tls(Rc::new(options), inner.clone());
    let client_app = Recorder::greeting(b"through the tunnel");
    let connected = endpoint.connect(client_app.clone());
    let fired = Rc::new(Cell::new(false));
    let f = fired.clone();
    connected.add_callback(move |()| f.set(true));
    assert!(fired.get());
    inner.pump.borrow().as_ref().unwrap().flush().unwrap();
    assert_eq!(client_app.received(), b"through the tunnel");
}
