//! TCP: connected transports, listening ports, outgoing connects.

mod buffer_tuning;
mod connect;
mod listen;
mod read_policy;
mod socket_stream;
mod spare_read;
mod tcp_info;
mod transport;

pub use buffer_tuning::{SHORT_PATH_RTT, STREAM_RECEIVE_BUFFER, UPLOAD_SEND_BUFFER};
pub(crate) use connect::connect;
pub use listen::Port;
pub use socket_stream::SocketStream;
#[cfg(unix)]
pub use transport::UnixTransport;
pub use transport::{StreamTransport, TcpTransport, HIGH_WATER, LOW_WATER};

use crate::defer::{Deferred, Failure};
use crate::endpoints::HostnameEndpoint;
use crate::error::CannotListenError;
use crate::interfaces::{IProtocol, IStreamClientEndpoint};
use crate::protocol::{ClientFactory, ProtocolFactory};
use crate::Reactor;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;

impl Reactor {
    /// Listen for TCP connections on `port` (0 picks a free one) of `interface` (Twisted's
    /// `listenTCP`; `""` means all IPv4 interfaces, as in Twisted). Each connection gets a
    /// protocol from `factory`.
    pub fn listen_tcp(
        &self,
        port: u16,
        factory: Rc<dyn ProtocolFactory>,
        interface: &str,
    ) -> Result<Rc<Port>, CannotListenError> {
        let ip: IpAddr = if interface.is_empty() {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        } else {
            match interface
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
            {
                Ok(ip) => ip,
                Err(_) => {
                    return Err(CannotListenError {
                        address: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
                        error: std::io::Error::new(
                            std::io::ErrorKind::InvalidInput,
                            format!("not an IP address: {interface:?}"),
                        ),
                    })
                }
            }
        };
        Port::listen(self, SocketAddr::new(ip, port), factory)
    }

    /// Connect to `host:port` (Twisted's `connectTCP`): the factory builds the protocol once
    /// connected, or hears `client_connection_failed`. The Deferred fires with the protocol, or
    /// fails with the same reason; cancelling it stops connecting (Twisted's
    /// `stopConnecting`).
    pub fn connect_tcp(
        &self,
        host: &str,
        port: u16,
        factory: Rc<dyn ClientFactory>,
        timeout: f64,
        bind_address: Option<SocketAddr>,
    ) -> Deferred<Rc<dyn IProtocol>> {
        let mut endpoint = HostnameEndpoint::new(self, host, port).timeout(timeout);
        if let Some(bind) = bind_address {
            endpoint = endpoint.bind_address(bind);
        }
        let on_fail = factory.clone();
        endpoint.connect_connection().add_callbacks(
            move |connection| {
                let addr = connection
                    .get_peer()
                    .unwrap_or_else(|| SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0));
                let protocol = factory.build_protocol(addr);
                connection.attach_protocol(protocol.clone());
                Ok(protocol)
            },
            move |failure: Failure| {
                on_fail.client_connection_failed(failure.clone());
                Err(failure)
            },
        )
    }

    /// Connect `protocol` through `endpoint` and fire with the protocol (Twisted's
    /// `endpoint.connect(factory)` returning the protocol).
    pub fn connect_protocol<P: IProtocol + 'static>(
        endpoint: &dyn IStreamClientEndpoint,
        protocol: Rc<P>,
    ) -> Deferred<Rc<P>> {
        let dynamic: Rc<dyn IProtocol> = protocol.clone();
        endpoint
            .connect(dynamic)
            .add_callback(move |()| Ok(protocol))
    }
}
