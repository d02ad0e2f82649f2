//! The `CONNECT` tunnel over in-memory transports: the proxy's answer arriving piece by piece,
//! refusals, and the hand-over, byte for byte.

use super::*;
use reactor::iosim::{connected_server_and_client, FakeTransport, IOPump};
use std::cell::Cell;

/// A peer that records bytes and keeps its transport, so the test can answer.
#[derive(Default)]
struct Peer {
    transport: RefCell<Option<Rc<dyn ITransport>>>,
    received: RefCell<Vec<u8>>,
    lost: Cell<bool>,
}

impl Peer {
    fn write(&self, data: &[u8]) {
        let transport = self.transport.borrow().clone();
        transport.expect("connected").write(data);
    }
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.received.borrow_mut())
    }
}

impl IProtocol for Peer {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        *self.transport.borrow_mut() = Some(transport);
    }
    fn data_received(&self, data: Bytes) {
        self.received.borrow_mut().extend_from_slice(&data);
    }
    fn connection_lost(&self, _reason: Failure) {
        self.lost.set(true);
    }
}

/// An endpoint that connects its protocol to `proxy` in memory.
struct InMemory {
    proxy: Rc<Peer>,
    pump: RefCell<Option<(IOPump, Rc<FakeTransport>)>>,
}

impl IStreamClientEndpoint for InMemory {
    fn connect(&self, protocol: Rc<dyn IProtocol>) -> Deferred<()> {
        let (_, client, pump) = connected_server_and_client(self.proxy.clone(), protocol);
        *self.pump.borrow_mut() = Some((pump, client));
        Deferred::succeed(())
    }
}

struct Setup {
    proxy: Rc<Peer>,
    endpoint: Rc<InMemory>,
    origin_side: Rc<Peer>,
    ready: Deferred<()>,
}

impl Setup {
    fn new(credentials: bool) -> Setup {
        let proxy = Rc::new(Peer::default());
        let endpoint = Rc::new(InMemory {
            proxy: proxy.clone(),
            pump: RefCell::new(None),
        });
        let mut tunnel = TunnelingEndpoint::new(endpoint.clone(), "origin.test", 443);
        if credentials {
            tunnel = tunnel.proxy_credentials("Aladdin", "open sesame");
        }
        let origin_side = Rc::new(Peer::default());
        let ready = tunnel.connect(origin_side.clone());
        Setup {
            proxy,
            endpoint,
            origin_side,
            ready,
        }
    }

    fn flush(&self) {
        let pump = self.endpoint.pump.borrow();
        pump.as_ref().expect("connected").0.flush().unwrap();
    }

    fn client_transport(&self) -> Rc<FakeTransport> {
        self.endpoint
            .pump
            .borrow()
            .as_ref()
            .expect("connected")
            .1
            .clone()
    }

    /// The proxy answers `pieces`, one flush each.
    fn answer(&self, pieces: &[&[u8]]) {
        for piece in pieces {
            self.proxy.write(piece);
            self.flush();
        }
    }
}

#[test]
fn writes_connect_with_host_and_proxy_authorization_only() {
    let s = Setup::new(true);
    s.flush();
    assert_eq!(
        s.proxy.take(),
        b"CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\
          Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n"
    );
    let s = Setup::new(false);
    s.flush();
    assert_eq!(
        s.proxy.take(),
        b"CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n"
    );
}

#[test]
fn an_answer_in_pieces_opens_the_tunnel_once_complete() {
    let s = Setup::new(false);
    s.flush();
    s.proxy.take();
    s.answer(&[
        b"HTTP/1.1 2",
        b"00 Connection established\r\n",
        b"Via: test\r\n\r",
    ]);
    assert!(!s.ready.called(), "the head is not complete yet");
    assert!(s.origin_side.transport.borrow().is_none());
    s.answer(&[b"\nserver hello"]);
    assert!(s.ready.called());
    assert!(s.ready.take_result().unwrap().is_ok());
    assert_eq!(s.origin_side.take(), b"server hello");

    // From now on the bytes pass untouched, both ways.
    s.answer(&[b"HTTP/1.1 200 OK\r\n\r\n"]);
    assert_eq!(s.origin_side.take(), b"HTTP/1.1 200 OK\r\n\r\n");
    s.origin_side.write(b"client hello");
    s.flush();
    assert_eq!(s.proxy.take(), b"client hello");

    // The origin side hears of the close.
    s.proxy
        .transport
        .borrow()
        .clone()
        .unwrap()
        .lose_connection();
    s.flush();
    assert!(s.origin_side.lost.get());
}

#[test]
fn a_refusal_fails_with_the_status_and_aborts() {
    let s = Setup::new(false);
    s.flush();
    s.answer(&[b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"]);
    let failure = s.ready.take_result().unwrap().unwrap_err();
    assert_eq!(
        failure.value::<TunnelRefused>(),
        Some(&TunnelRefused {
            target: "origin.test:443".to_owned(),
            status: 407,
            phrase: "Proxy Authentication Required".to_owned(),
        })
    );
    assert!(s.client_transport().aborted());
    assert!(s.origin_side.transport.borrow().is_none());
}

#[test]
fn an_endless_answer_head_is_bounded() {
    let s = Setup::new(false);
    s.flush();
    s.answer(&[b"HTTP/1.1 200 OK\r\n"]);
    let line = format!("X-Filler: {}\r\n", "a".repeat(1000));
    for _ in 0..70 {
        if s.ready.called() {
            break;
        }
        s.answer(&[line.as_bytes()]);
    }
    let failure = s.ready.take_result().expect("failed by now").unwrap_err();
    assert!(
        failure
            .value::<TunnelFailed>()
            .unwrap()
            .reason
            .contains("larger than"),
        "{failure}"
    );
    assert!(s.client_transport().aborted());
}
