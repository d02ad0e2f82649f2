//! In-memory connections for tests (Twisted's `twisted.test.iosim`).
//!
//! A server protocol and a client protocol each get a [`FakeTransport`]; an [`IOPump`] moves the
//! bytes they write from one to the other when the test says so. No sockets, no reactor, no
//! waiting: a whole conversation runs in a few calls, deterministically.
//!
//! ```text
//!   client protocol                                         server protocol
//!        │ write                                                  ▲ data_received
//!        ▼                                                        │
//!   FakeTransport ── outgoing buffer ──► IOPump::pump() ──────────┘
//!   (client end)  ◄────────────────────  IOPump::pump() ◄── outgoing buffer ── FakeTransport
//!                                                                            (server end)
//! ```
//!
//! The transports keep the full [`ITransport`] contract —
//! `lose_connection` after the buffer is delivered, `abort_connection`, pausing, push and pull
//! producers with a high-water mark — so a real protocol (such as the HTTP/1.1 client) can be
//! tested over them unchanged.
//!
//! An echo server and a client that says hello:
//!
//! ```
//! use bytes::Bytes;
//! use reactor::defer::Failure;
//! use reactor::error::ConnectionDone;
//! use reactor::interfaces::{IProtocol, ITransport};
//! use reactor::iosim::connected_server_and_client;
//! use std::cell::RefCell;
//! use std::rc::Rc;
//!
//! #[derive(Default)]
//! struct Echo {
//!     transport: RefCell<Option<Rc<dyn ITransport>>>,
//! }
//!
//! impl IProtocol for Echo {
//!     fn make_connection(&self, transport: Rc<dyn ITransport>) {
//!         *self.transport.borrow_mut() = Some(transport);
//!     }
//!     fn data_received(&self, data: Bytes) {
//!         let transport = self.transport.borrow().clone();
//!         if let Some(transport) = transport {
//!             transport.write(&data);
//!         }
//!     }
//!     fn connection_lost(&self, _reason: Failure) {}
//! }
//!
//! #[derive(Default)]
//! struct Hello {
//!     transport: RefCell<Option<Rc<dyn ITransport>>>,
//!     received: RefCell<Vec<u8>>,
//!     lost: RefCell<Option<Failure>>,
//! }
//!
//! impl IProtocol for Hello {
//!     fn make_connection(&self, transport: Rc<dyn ITransport>) {
//!         transport.write(b"hello");
//!         *self.transport.borrow_mut() = Some(transport);
//!     }
//!     fn data_received(&self, data: Bytes) {
//!         self.received.borrow_mut().extend_from_slice(&data);
//!         let transport = self.transport.borrow().clone();
//!         if let Some(transport) = transport {
//!             transport.lose_connection();
//!         }
//!     }
//!     fn connection_lost(&self, reason: Failure) {
//!         *self.lost.borrow_mut() = Some(reason);
//!     }
//! }
//!
//! let client = Rc::new(Hello::default());
//! let (_server_transport, _client_transport, pump) =
//!     connected_server_and_client(Rc::new(Echo::default()), client.clone());
//! pump.flush().unwrap();
//! assert_eq!(&client.received.borrow()[..], b"hello");
//! assert!(client.lost.borrow().as_ref().unwrap().check::<ConnectionDone>());
//! ```

mod pump;
mod transport;

pub use pump::{IOPump, PumpLimitExceeded, DEFAULT_FLUSH_LIMIT};
pub use transport::{FakeTransport, DEFAULT_HIGH_WATER_MARK};

use crate::interfaces::{IProtocol, ITransport};
use std::rc::Rc;

/// Connect two protocols over two transports (Twisted's `iosim.connect`): each transport is
/// bound to its protocol, `make_connection` is called on the server protocol and then on the
/// client protocol, and one [`flush`](IOPump::flush) exchanges their greetings (a flush that hits
/// the round limit is logged; the next `flush` reports it again).
pub fn connect(
    server_protocol: Rc<dyn IProtocol>,
    server_transport: Rc<FakeTransport>,
    client_protocol: Rc<dyn IProtocol>,
    client_transport: Rc<FakeTransport>,
) -> IOPump {
    server_transport.set_protocol(server_protocol.clone());
    client_transport.set_protocol(client_protocol.clone());
    let pump = IOPump::new(server_transport.clone(), client_transport.clone());
    server_protocol.make_connection(server_transport as Rc<dyn ITransport>);
    client_protocol.make_connection(client_transport as Rc<dyn ITransport>);
    if let Err(error) = pump.flush() {
        log::warn!("iosim::connect: {error}");
    }
    pump
}

/// Make a transport for each protocol and [`connect`] them (Twisted's
/// `connectedServerAndClient`). Returns `(server_transport, client_transport, pump)`.
pub fn connected_server_and_client(
    server_protocol: Rc<dyn IProtocol>,
    client_protocol: Rc<dyn IProtocol>,
) -> (Rc<FakeTransport>, Rc<FakeTransport>, IOPump) {
    let server_transport = FakeTransport::new(server_protocol.clone(), true);
    let client_transport = FakeTransport::new(client_protocol.clone(), false);
    let pump = connect(
        server_protocol,
        server_transport.clone(),
        client_protocol,
        client_transport.clone(),
    );
    (server_transport, client_transport, pump)
}
