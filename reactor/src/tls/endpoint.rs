//! [`wrap_client_tls`]: TLS over any client endpoint, and [`TLSMemoryBIOFactory`] for servers.

use super::options::ITLSClientConnectionCreator;
use super::transport::TLSMemoryBIOProtocol;
use crate::connect_timings::ConnectTimings;
use crate::defer::{Deferred, Failure};
use crate::interfaces::{IProtocol, IStreamClientEndpoint, ITransport};
use crate::protocol::ProtocolFactory;
use bytes::Bytes;
use rustls::ServerConfig;
use std::fmt;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;

/// An endpoint that runs TLS over the connections of another endpoint (Twisted's
/// `_WrapperEndpoint` from `wrapClientTLS`).
///
/// The Deferred of [`connect`](IStreamClientEndpoint::connect) fires when the wrapped endpoint
/// has connected, as in Twisted; the protocol may write at once (bytes wait for the handshake),
/// and a failed handshake reaches it as `connection_lost` with a
/// [`TLSError`](super::TLSError).
#[derive(Clone)]
pub struct TLSWrapClientEndpoint {
    creator: Rc<dyn ITLSClientConnectionCreator>,
    wrapped: Rc<dyn IStreamClientEndpoint>,
}

/// Wrap `endpoint` so that its connections speak TLS made by `creator` (Twisted's
/// `wrapClientTLS`). Any endpoint will do: TCP, or a tunnel through a proxy.
///
/// ```no_run
/// use reactor::endpoints::HostnameEndpoint;
/// use reactor::tls::{options_for_client_tls, wrap_client_tls};
/// use reactor::Reactor;
/// use std::rc::Rc;
///
/// let reactor = Reactor::new();
/// let options = options_for_client_tls("example.com", None, None, Some(&[b"http/1.1"])).unwrap();
/// let tcp = HostnameEndpoint::new(&reactor, "example.com", 443);
/// let endpoint = wrap_client_tls(Rc::new(options), Rc::new(tcp));
/// ```
pub fn wrap_client_tls(
    creator: Rc<dyn ITLSClientConnectionCreator>,
    endpoint: Rc<dyn IStreamClientEndpoint>,
) -> TLSWrapClientEndpoint {
    TLSWrapClientEndpoint {
        creator,
        wrapped: endpoint,
    }
}

impl IStreamClientEndpoint for TLSWrapClientEndpoint {
    fn connect(&self, protocol: Rc<dyn IProtocol>) -> Deferred<()> {
        match TLSMemoryBIOProtocol::client(&*self.creator, protocol) {
            Ok(tls) => self.wrapped.connect(tls),
            Err(error) => Deferred::fail(Failure::new(error)),
        }
    }

    /// Stamps the lower endpoint's phases, and the end of the handshake when it comes.
    fn connect_timed(
        &self,
        protocol: Rc<dyn IProtocol>,
        timings: &Rc<ConnectTimings>,
    ) -> Deferred<()> {
        match TLSMemoryBIOProtocol::client(&*self.creator, protocol) {
            Ok(tls) => {
                tls.stamp_handshake_in(timings.clone());
                self.wrapped.connect_timed(tls, timings)
            }
            Err(error) => Deferred::fail(Failure::new(error)),
        }
    }
}

impl fmt::Debug for TLSWrapClientEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<TLSWrapClientEndpoint for {}>", self.creator.hostname())
    }
}

/// Wraps a server's protocol factory so every connection it accepts speaks TLS (Twisted's
/// `TLSMemoryBIOFactory` with `isClient=False`).
pub struct TLSMemoryBIOFactory {
    config: Arc<ServerConfig>,
    wrapped: Rc<dyn ProtocolFactory>,
}

impl TLSMemoryBIOFactory {
    /// TLS with `config` around the protocols `wrapped` builds.
    pub fn server(
        config: Arc<ServerConfig>,
        wrapped: Rc<dyn ProtocolFactory>,
    ) -> TLSMemoryBIOFactory {
        TLSMemoryBIOFactory { config, wrapped }
    }
}

impl ProtocolFactory for TLSMemoryBIOFactory {
    fn build_protocol(&self, addr: SocketAddr) -> Rc<dyn IProtocol> {
        let protocol = self.wrapped.build_protocol(addr);
        match TLSMemoryBIOProtocol::server(self.config.clone(), protocol) {
            Ok(tls) => tls,
            Err(error) => {
                log::error!("cannot start TLS for {addr}: {error}");
                Rc::new(Refuse)
            }
        }
    }
}

/// Closes a connection that TLS could not be set up for.
struct Refuse;

impl IProtocol for Refuse {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        transport.abort_connection();
    }
    fn data_received(&self, _data: Bytes) {}
    fn connection_lost(&self, _reason: Failure) {}
}
