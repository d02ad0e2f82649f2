//! Protocol factories (Twisted's `Factory` and `ClientFactory`).

use crate::defer::Failure;
use crate::interfaces::IProtocol;
use std::net::SocketAddr;
use std::rc::Rc;

/// Builds a protocol for each new connection (Twisted's `Factory.buildProtocol`).
///
/// Any `Fn(SocketAddr) -> Rc<dyn IProtocol>` is a factory.
pub trait ProtocolFactory {
    /// A protocol for a connection with the peer at `addr`.
    fn build_protocol(&self, addr: SocketAddr) -> Rc<dyn IProtocol>;
}

impl<F: Fn(SocketAddr) -> Rc<dyn IProtocol>> ProtocolFactory for F {
    fn build_protocol(&self, addr: SocketAddr) -> Rc<dyn IProtocol> {
        self(addr)
    }
}

/// A factory for outgoing connections, told when connecting fails (Twisted's `ClientFactory`).
pub trait ClientFactory: ProtocolFactory {
    /// Connecting failed; `reason` holds a [`ConnectError`](crate::error::ConnectError) or a
    /// [`DNSLookupError`](crate::error::DNSLookupError).
    fn client_connection_failed(&self, reason: Failure) {
        log::info!("connection failed: {reason}");
    }
}
