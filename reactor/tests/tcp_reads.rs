//! How the TCP transport reads: a small first buffer that grows when reads fill it, and data
//! that arrives with the peer's close still delivered before `ConnectionDone`. Real sockets on
//! 127.0.0.1, with a scripted server on its own thread.

use bytes::Bytes;
use reactor::defer::{Deferred, Failure};
use reactor::error::ConnectionDone;
use reactor::interfaces::{IProtocol, ITransport};
use reactor::protocol::{ClientFactory, ProtocolFactory};
use reactor::Reactor;
use std::cell::RefCell;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::rc::Rc;
use std::thread;

/// Records the size of every piece and how the connection ended.
#[derive(Default)]
struct Pieces {
    sizes: RefCell<Vec<usize>>,
    received: RefCell<Vec<u8>>,
    lost: RefCell<Option<Failure>>,
    done: Deferred<()>,
}

impl IProtocol for Pieces {
    fn make_connection(&self, _transport: Rc<dyn ITransport>) {}
    fn data_received(&self, data: Bytes) {
        self.sizes.borrow_mut().push(data.len());
        self.received.borrow_mut().extend_from_slice(&data);
    }
    fn connection_lost(&self, reason: Failure) {
        *self.lost.borrow_mut() = Some(reason);
        let _ = self.done.callback(());
    }
}

impl Pieces {
    /// The connection ended with `ConnectionDone`.
    fn ended_cleanly(&self) -> bool {
        self.lost
            .borrow()
            .as_ref()
            .is_some_and(|reason| reason.check::<ConnectionDone>())
    }
}

struct Factory(Rc<Pieces>);
impl ProtocolFactory for Factory {
    fn build_protocol(&self, _addr: SocketAddr) -> Rc<dyn IProtocol> {
        self.0.clone()
    }
}
impl ClientFactory for Factory {
    fn client_connection_failed(&self, reason: Failure) {
        *self.0.lost.borrow_mut() = Some(reason);
        let _ = self.0.done.callback(());
    }
}

/// A server that accepts one connection, writes `payload` at once and closes.
fn serve_once(payload: Vec<u8>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.write_all(&payload).unwrap();
    });
    port
}

/// Connects, reads until the server closes (at most 10 s), returns the recorder.
fn read_all(port: u16) -> Rc<Pieces> {
    let pieces = Rc::new(Pieces::default());
    read_with(port, Rc::new(Factory(pieces.clone())), &pieces);
    pieces
}

/// Connects with `factory` and runs until `pieces` hears the connection end (at most 10 s).
fn read_with(port: u16, factory: Rc<dyn ClientFactory>, pieces: &Pieces) {
    let reactor = Reactor::new();
    let _connecting = reactor.connect_tcp("127.0.0.1", port, factory, 5.0, None);
    let r = reactor.clone();
    pieces.done.clone().add_both(move |_| {
        let _ = r.stop();
    });
    let r = reactor.clone();
    let timeout = reactor.call_later(10.0, move || {
        let _ = r.stop();
    });
    reactor.run().unwrap();
    assert!(timeout.active(), "timed out");
}

#[test]
fn reads_start_small_and_grow_while_they_fill_the_buffer() {
    let payload: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let pieces = read_all(serve_once(payload.clone()));
    assert!(pieces.received.borrow()[..] == payload[..]);
    let sizes = pieces.sizes.borrow();
    assert!(sizes[0] <= 4 * 1024, "first read {} bytes", sizes[0]);
    let largest = *sizes.iter().max().unwrap();
    assert!(largest > 4 * 1024, "reads never grew: {largest}");
    assert!(largest <= 256 * 1024, "a read of {largest} bytes");
    assert!(pieces.ended_cleanly());
}

#[test]
fn bytes_sent_just_before_the_close_arrive_before_connection_done() {
    for _ in 0..20 {
        let pieces = read_all(serve_once(b"last words".to_vec()));
        assert_eq!(&pieces.received.borrow()[..], b"last words");
        assert!(pieces.ended_cleanly());
    }
}

/// Keeps its transport.
#[derive(Default)]
struct Holder {
    transport: RefCell<Option<Rc<dyn ITransport>>>,
    connected: Deferred<()>,
}

impl IProtocol for Holder {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        *self.transport.borrow_mut() = Some(transport);
        let _ = self.connected.callback(());
    }
    fn data_received(&self, _data: Bytes) {}
    fn connection_lost(&self, _reason: Failure) {}
}

#[test]
fn each_end_knows_both_addresses() {
    let reactor = Reactor::new();
    let server = Rc::new(Holder::default());
    let accepted = server.clone();
    let factory = move |_addr: SocketAddr| -> Rc<dyn IProtocol> { accepted.clone() };
    let port = reactor
        .listen_tcp(0, Rc::new(factory), "127.0.0.1")
        .unwrap()
        .get_host()
        .port();
    let client = Rc::new(Pieces::default());
    let _connecting = reactor.connect_tcp(
        "127.0.0.1",
        port,
        Rc::new(Factory(client.clone())),
        5.0,
        None,
    );
    let r = reactor.clone();
    server.connected.clone().add_both(move |_| {
        let _ = r.stop();
    });
    let r = reactor.clone();
    let timeout = reactor.call_later(10.0, move || {
        let _ = r.stop();
    });
    reactor.run().unwrap();
    assert!(timeout.active(), "timed out");
    let server_side = server.transport.borrow().clone().unwrap();
    let server_host = server_side.get_host().unwrap();
    let client_host = server_side.get_peer().unwrap();
    assert_eq!(server_host.port(), port);
    assert_eq!(client_host.ip(), server_host.ip());
    assert_ne!(client_host.port(), port);
}

/// Calls `lose_connection` on the first piece it receives, and records every piece.
struct Quitter {
    transport: RefCell<Option<Rc<dyn ITransport>>>,
    pieces: Rc<Pieces>,
}

impl IProtocol for Quitter {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        *self.transport.borrow_mut() = Some(transport);
    }
    fn data_received(&self, data: Bytes) {
        self.pieces.data_received(data);
        let transport = self.transport.borrow().clone();
        if let Some(transport) = transport {
            transport.lose_connection();
        }
    }
    fn connection_lost(&self, reason: Failure) {
        self.transport.borrow_mut().take();
        self.pieces.connection_lost(reason);
    }
}

impl ProtocolFactory for Quitter {
    fn build_protocol(&self, _addr: SocketAddr) -> Rc<dyn IProtocol> {
        Rc::new(Quitter {
            transport: RefCell::new(None),
            pieces: self.pieces.clone(),
        })
    }
}
impl ClientFactory for Quitter {
    fn client_connection_failed(&self, reason: Failure) {
        self.pieces.connection_lost(reason);
    }
}

#[test]
fn nothing_more_is_read_once_lose_connection_was_called() {
    // 64 KiB arrive at once; the first read takes 4 KiB of them, and the protocol closes.
    let port = serve_once(vec![b'x'; 64 * 1024]);
    let pieces = Rc::new(Pieces::default());
    let factory = Rc::new(Quitter {
        transport: RefCell::new(None),
        pieces: pieces.clone(),
    });
    read_with(port, factory, &pieces);
    assert_eq!(
        pieces.sizes.borrow().len(),
        1,
        "{:?}",
        pieces.sizes.borrow()
    );
    assert!(pieces.ended_cleanly());
}
