//! [`RequestTraversalAgent`]: an [`IAgent`] that sends every request, through the real
//! [`Agent`] and HTTP/1.1 client, to a [`Site`] over in-memory connections.

use crate::web::client::{Agent, EndpointFactory, HTTPConnectionPool};
use crate::web::error::SchemeNotSupported;
use crate::web::http_headers::Headers;
use crate::web::iweb::{IAgent, IBodyProducer};
use crate::web::resource::Resource;
use crate::web::response::Response;
use crate::web::server::Site;
use reactor::defer::{Deferred, Failure};
use reactor::interfaces::{IProtocol, IReactorTime, IStreamClientEndpoint};
use reactor::iosim::{self, FakeTransport, IOPump, PumpLimitExceeded, DEFAULT_FLUSH_LIMIT};
use reactor::task::Clock;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;

/// The client's address on every in-memory connection (treq uses the same port).
const CLIENT_PORT: u16 = 31337;

/// The open in-memory connections, and the sites they reach.
struct Connections {
    clock: Clock,
    site: Site,
    secure_site: Site,
    pumps: RefCell<Vec<IOPump>>,
    flushing: Cell<bool>,
}

impl Connections {
    /// Connect `protocol` to a new server channel of the site; the server's address is
    /// 127.0.0.1 with the URL's port.
    fn connect(&self, protocol: Rc<dyn IProtocol>, secure: bool, port: u16) {
        let localhost = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let server_address = SocketAddr::new(localhost, port);
        let client_address = SocketAddr::new(localhost, CLIENT_PORT);
        let site = if secure {
            &self.secure_site
        } else {
            &self.site
        };
        let server = site.build_protocol(client_address);
        let server_transport =
            FakeTransport::with_addresses(server.clone(), true, server_address, client_address);
        let client_transport =
            FakeTransport::with_addresses(protocol.clone(), false, client_address, server_address);
        let pump = iosim::connect(server, server_transport, protocol, client_transport);
        self.pumps.borrow_mut().push(pump);
    }

    /// Pump every connection until a round moves nothing; the clock is advanced by zero before
    /// each round, so work scheduled for "now" (file body producers) runs. A flush already under
    /// way (this is called again from a callback it ran) carries on with any new connection.
    fn flush(&self) -> Result<(), PumpLimitExceeded> {
        if self.flushing.replace(true) {
            return Ok(());
        }
        let result = self.flush_rounds();
        self.flushing.set(false);
        result
    }

    fn flush_rounds(&self) -> Result<(), PumpLimitExceeded> {
        for _ in 0..DEFAULT_FLUSH_LIMIT {
            self.clock.advance(0.0);
            let pumps = self.pumps.borrow().clone();
            let mut moved = false;
            for pump in &pumps {
                moved |= pump.pump();
            }
            self.pumps
                .borrow_mut()
                .retain(|p| !(p.client().disconnected() && p.server().disconnected()));
            if !moved {
                return Ok(());
            }
        }
        Err(PumpLimitExceeded {
            rounds: DEFAULT_FLUSH_LIMIT,
        })
    }
}

/// Hands the real [`Agent`] endpoints that connect in memory.
struct TraversalEndpointFactory {
    connections: Rc<Connections>,
}

impl EndpointFactory for TraversalEndpointFactory {
    fn endpoint_for_uri(
        &self,
        scheme: &str,
        _host: &str,
        port: u16,
    ) -> Result<Rc<dyn IStreamClientEndpoint>, Failure> {
        let secure = match scheme {
            "http" => false,
            "https" => true,
            other => {
                return Err(Failure::new(SchemeNotSupported {
                    scheme: other.to_owned(),
                }))
            }
        };
        Ok(Rc::new(MemoryEndpoint {
            connections: self.connections.clone(),
            secure,
            port,
        }))
    }
}

/// One URL's endpoint: each connect is a new in-memory connection to the site.
struct MemoryEndpoint {
    connections: Rc<Connections>,
    secure: bool,
    port: u16,
}

impl IStreamClientEndpoint for MemoryEndpoint {
    fn connect(&self, protocol: Rc<dyn IProtocol>) -> Deferred<()> {
        self.connections.connect(protocol, self.secure, self.port);
        Deferred::succeed(())
    }
}

/// An [`IAgent`] that answers requests from a resource tree in memory (treq's
/// `RequestTraversalAgent`).
///
/// Each request goes through a real [`Agent`] (with a non-persistent
/// [`HTTPConnectionPool`]) and the real HTTP/1.1 client protocol, over a new
/// [`iosim`](reactor::iosim) connection to a [`Site`] serving `root`. Nothing is mocked: the
/// request and response are written and parsed as bytes. Time is a [`Clock`] of the agent's own
/// ([`clock`](Self::clock)), which is also what [`IAgent::reactor`] reports, so treq's
/// `HTTPClient` runs its `timeout` on it.
///
/// A request is pumped as far as it goes before [`request`](IAgent::request) returns, so a
/// resource that answers at once has answered by then. A resource that answers later
/// ([`NOT_DONE_YET`](crate::web::resource::NOT_DONE_YET)) needs a [`flush`](Self::flush) after
/// it writes.
///
/// `https` URLs are served by the same resource without TLS: the connection speaks plain HTTP
/// in memory, and the server's [`Request::is_secure`](crate::web::server::Request::is_secure)
/// is true. Any host name is accepted; the server sees the address 127.0.0.1 with the URL's
/// port, and the client 127.0.0.1:31337.
///
/// Cloning is cheap; clones share the connections and the clock.
#[derive(Clone)]
pub struct RequestTraversalAgent {
    connections: Rc<Connections>,
    agent: Agent,
}

impl RequestTraversalAgent {
    /// An agent serving every request from `root`, on a new [`Clock`] at time 0.
    pub fn new(root: Rc<dyn Resource>) -> RequestTraversalAgent {
        RequestTraversalAgent::with_clock(root, Clock::new())
    }

    /// An agent serving from `root`, with `clock` as its time.
    pub fn with_clock(root: Rc<dyn Resource>, clock: Clock) -> RequestTraversalAgent {
        let site = Site::new(root);
        let connections = Rc::new(Connections {
            clock: clock.clone(),
            secure_site: site.with_secure(true),
            site,
            pumps: RefCell::new(Vec::new()),
            flushing: Cell::new(false),
        });
        let time: Rc<dyn IReactorTime> = Rc::new(clock);
        let pool = HTTPConnectionPool::with_clock(time.clone(), false);
        let factory = Rc::new(TraversalEndpointFactory {
            connections: connections.clone(),
        });
        let agent = Agent::using_endpoint_factory_with_clock(time, factory, pool);
        RequestTraversalAgent { connections, agent }
    }

    /// The agent's clock: [`advance`](Clock::advance) it to run timeouts.
    pub fn clock(&self) -> &Clock {
        &self.connections.clock
    }

    /// Move every pending byte between clients and servers until nothing moves (treq's
    /// `flush`): needed after a resource that returned
    /// [`NOT_DONE_YET`](crate::web::resource::NOT_DONE_YET) writes or finishes. Gives up with
    /// [`PumpLimitExceeded`] if the connections are still busy after
    /// [`DEFAULT_FLUSH_LIMIT`] rounds.
    pub fn flush(&self) -> Result<(), PumpLimitExceeded> {
        self.connections.flush()
    }

    /// How many in-memory connections are still open.
    pub fn open_connections(&self) -> usize {
        self.connections.pumps.borrow().len()
    }
}

impl IAgent for RequestTraversalAgent {
    fn request(
        &self,
        method: &str,
        uri: &str,
        headers: Option<Headers>,
        body_producer: Option<Rc<dyn IBodyProducer>>,
    ) -> Deferred<Response> {
        let d = self.agent.request(method, uri, headers, body_producer);
        if let Err(error) = self.flush() {
            log::error!("RequestTraversalAgent: {error}");
        }
        d
    }

    fn reactor(&self) -> Option<Rc<dyn IReactorTime>> {
        Some(Rc::new(self.connections.clock.clone()))
    }
}

impl fmt::Debug for RequestTraversalAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestTraversalAgent")
            .field("open_connections", &self.open_connections())
            .field("now", &self.connections.clock.seconds())
            .finish_non_exhaustive()
    }
}
