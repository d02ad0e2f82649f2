//! [`Agent`]: Twisted's `twisted.web.client.Agent`.

use super::pool::{HTTPConnectionPool, PoolKey};
use super::pooled_request::{send_on_pool, Route};
use super::tls_policy::{AgentPolicy, IPolicyForHTTPS};
use crate::web::error::{InvalidURI, RequestGenerationFailed, SchemeNotSupported};
use crate::web::http11::ProtocolError;
use crate::web::http_headers::{is_token, Headers};
use crate::web::iweb::{IAgent, IBodyProducer};
use crate::web::newclient::Request;
use crate::web::response::Response;
use bytes::Bytes;
use reactor::defer::{Deferred, Failure};
use reactor::endpoints::HostnameEndpoint;
use reactor::interfaces::{IReactorTime, IStreamClientEndpoint};
use reactor::Reactor;
use std::cell::RefCell;
use std::fmt;
use std::net::SocketAddr;
use std::rc::Rc;
use url::{Host, Url};

/// Makes the endpoint a request connects through (Twisted's `IAgentEndpointFactory`).
///
/// Tests plug in in-memory endpoints; the default connects with
/// [`HostnameEndpoint`].
pub trait EndpointFactory {
    /// The endpoint for `scheme://host:port`. `host` is a name or an IP address, without
    /// brackets.
    fn endpoint_for_uri(
        &self,
        scheme: &str,
        host: &str,
        port: u16,
    ) -> Result<Rc<dyn IStreamClientEndpoint>, Failure>;

    /// The scheme element of the pool key for this factory's `scheme` connections, when
    /// they must not be pooled with the agent's other connections to the same `host:port`
    /// (a factory that goes through a proxy, or verifies TLS its own way). `None`, the
    /// default: the scheme under the agent's own TLS policy.
    fn pool_key_scheme(&self, scheme: &str) -> Option<String> {
        let _ = scheme;
        None
    }
}

/// The default factory: TCP through [`HostnameEndpoint`] for `http`, and TLS made by the
/// agent's `context_factory` over it for `https`.
struct StandardEndpointFactory {
    reactor: Reactor,
    connect_timeout: f64,
    bind_address: Option<SocketAddr>,
    tls_policy: AgentPolicy,
}

impl EndpointFactory for StandardEndpointFactory {
    fn endpoint_for_uri(
        &self,
        scheme: &str,
        host: &str,
        port: u16,
    ) -> Result<Rc<dyn IStreamClientEndpoint>, Failure> {
        if scheme != "http" && scheme != "https" {
            return Err(Failure::new(SchemeNotSupported {
                scheme: scheme.to_owned(),
            }));
        }
        let mut endpoint =
            HostnameEndpoint::new(&self.reactor, host, port).timeout(self.connect_timeout);
        if let Some(address) = self.bind_address {
            endpoint = endpoint.bind_address(address);
        }
        if scheme == "https" {
            return self.tls_policy.tls_endpoint(host, port, Rc::new(endpoint));
        }
        Ok(Rc::new(endpoint))
    }
}

/// Where an [`Agent`]'s endpoints come from.
#[derive(Clone)]
enum Endpoints {
    /// [`StandardEndpointFactory`] on this reactor.
    Standard(Reactor),
    /// A factory of the caller's.
    Factory(Rc<dyn EndpointFactory>),
}

/// An HTTP client (Twisted's `Agent`): parses the URI, takes a connection from its
/// [`HTTPConnectionPool`] and sends the request.
///
/// A URI containing a control character or a space (CR, LF, NUL, tab, ...) fails with
/// [`InvalidURI`], and a method that is not a token with [`RequestGenerationFailed`], before
/// any connection is made.
///
/// ```no_run
/// use reactor::Reactor;
/// use treq::web::client::{Agent, HTTPConnectionPool};
/// use treq::web::iweb::IAgent;
///
/// let reactor = Reactor::new();
/// let pool = HTTPConnectionPool::new(&reactor, true);
/// let agent = Agent::new(&reactor).pool(pool).connect_timeout(10.0);
/// let d = agent.request("GET", "http://example.com/", None, None);
/// ```
#[derive(Clone)]
pub struct Agent {
    /// What [`IAgent::reactor`] hands out: the reactor, or the agent's clock.
    clock: Rc<dyn IReactorTime>,
    pool: HTTPConnectionPool,
    endpoints: Endpoints,
    connect_timeout: f64,
    bind_address: Option<SocketAddr>,
    tls_policy: AgentPolicy,
    /// Time the connect phase of every request on `clock` too, whatever the endpoint (set by
    /// [`IAgent::with_connect_timeout`]).
    connect_guard: Option<f64>,
    /// The last URI parsed, shared by clones (see [`Agent::parse_uri`]).
    last_uri: Rc<RefCell<Option<Rc<ParsedURI>>>>,
}

impl Agent {
    /// An agent on `reactor` with a non-persistent pool and a 30 s connect timeout.
    pub fn new(reactor: &Reactor) -> Agent {
        Agent {
            clock: Rc::new(reactor.clone()),
            pool: HTTPConnectionPool::new(reactor, false),
            endpoints: Endpoints::Standard(reactor.clone()),
            connect_timeout: 30.0,
            bind_address: None,
            tls_policy: AgentPolicy::default_policy(),
            connect_guard: None,
            last_uri: Rc::default(),
        }
    }

    /// An agent that connects through `factory` (Twisted's `Agent.usingEndpointFactory`).
    pub fn using_endpoint_factory(
        reactor: &Reactor,
        factory: Rc<dyn EndpointFactory>,
        pool: HTTPConnectionPool,
    ) -> Agent {
        Agent {
            endpoints: Endpoints::Factory(factory),
            pool,
            ..Agent::new(reactor)
        }
    }

    /// An agent with no reactor at all: every endpoint comes from `factory`, and `clock` is
    /// what [`IAgent::reactor`] reports, so treq's `HTTPClient` runs the request timeouts on it.
    /// For in-memory tests on a [`Clock`](reactor::task::Clock) (treq's `StubTreq` gives
    /// Twisted's `Agent.usingEndpointFactory` a memory reactor); give `pool` the same clock
    /// ([`HTTPConnectionPool::with_clock`]).
    pub fn using_endpoint_factory_with_clock(
        clock: Rc<dyn IReactorTime>,
        factory: Rc<dyn EndpointFactory>,
        pool: HTTPConnectionPool,
    ) -> Agent {
        Agent {
            clock,
            pool,
            endpoints: Endpoints::Factory(factory),
            connect_timeout: 30.0,
            bind_address: None,
            tls_policy: AgentPolicy::default_policy(),
            connect_guard: None,
            last_uri: Rc::default(),
        }
    }

    /// Use `pool` for connections.
    pub fn pool(mut self, pool: HTTPConnectionPool) -> Agent {
        self.pool = pool;
        self
    }

    /// Give up connecting after `seconds` (Twisted's `connectTimeout`; default 30).
    pub fn connect_timeout(mut self, seconds: f64) -> Agent {
        self.connect_timeout = seconds;
        self
    }

    /// Time per-request connect timeouts ([`IAgent::with_connect_timeout`]) on `clock` (a
    /// [`Clock`](reactor::task::Clock) in tests) instead of the agent's reactor; it is also what
    /// [`IAgent::reactor`] reports.
    pub fn clock(mut self, clock: Rc<dyn IReactorTime>) -> Agent {
        self.clock = clock;
        self
    }

    /// Bind the local side of connections to `address` (Twisted's `bindAddress`).
    pub fn bind_address(mut self, address: SocketAddr) -> Agent {
        self.bind_address = Some(address);
        self
    }

    /// Decide TLS for `https` URLs with `policy` (Twisted's `contextFactory`; default
    /// [`BrowserLikePolicyForHTTPS`](super::BrowserLikePolicyForHTTPS)). Connections made under
    /// one policy are pooled apart from those made under another.
    pub fn context_factory(mut self, policy: impl IPolicyForHTTPS + 'static) -> Agent {
        self.tls_policy = AgentPolicy::custom(Rc::new(policy));
        // The remembered URI carries a pool key made under the old policy.
        self.last_uri = Rc::default();
        self
    }

    /// The pool this agent uses.
    pub fn get_pool(&self) -> &HTTPConnectionPool {
        &self.pool
    }

    fn endpoint(
        &self,
        scheme: &str,
        host: &str,
        port: u16,
    ) -> Result<Rc<dyn IStreamClientEndpoint>, Failure> {
        match &self.endpoints {
            Endpoints::Factory(factory) => factory.endpoint_for_uri(scheme, host, port),
            Endpoints::Standard(reactor) => StandardEndpointFactory {
                reactor: reactor.clone(),
                connect_timeout: self.connect_timeout,
                bind_address: self.bind_address,
                tls_policy: self.tls_policy.clone(),
            }
            .endpoint_for_uri(scheme, host, port),
        }
    }

    /// What `uri` says about where to connect and what to send, parsed once per URI string: the
    /// agent remembers the last URI it parsed (clones of the agent share the memory, and a
    /// change of TLS policy forgets it), so a program that requests the same URI over and over
    /// parses it, and makes its pool key, once.
    fn parse_uri(&self, uri: &str) -> Result<Rc<ParsedURI>, Failure> {
        let last = self.last_uri.borrow().clone();
        if let Some(parsed) = last.filter(|p| &*p.uri == uri) {
            return Ok(parsed);
        }
        let mut parsed = ParsedURI::parse(uri)?;
        let key_scheme = match &self.endpoints {
            Endpoints::Factory(factory) => factory.pool_key_scheme(parsed.scheme),
            Endpoints::Standard(_) => None,
        }
        .unwrap_or_else(|| self.tls_policy.pool_scheme(parsed.scheme));
        parsed.key = (key_scheme, parsed.host.clone(), parsed.port);
        let parsed = Rc::new(parsed);
        *self.last_uri.borrow_mut() = Some(parsed.clone());
        Ok(parsed)
    }

    /// The parsed URI (with its pool key) and the request to send; the endpoint is only made
    /// when no idle connection can carry the request ([`Agent::endpoint_for`]).
    fn prepare(
        &self,
        method: &str,
        uri: &str,
        headers: Option<Headers>,
        body_producer: Option<Rc<dyn IBodyProducer>>,
    ) -> Result<(Rc<ParsedURI>, Request), Failure> {
        let parsed = self.parse_uri(uri)?;
        if !is_token(method.as_bytes()) {
            return Err(Failure::new(RequestGenerationFailed::new(vec![
                Failure::new(ProtocolError::InvalidMethod),
            ])));
        }
        let request = Request {
            method: method_bytes(method),
            target: parsed.target.clone(),
            host: parsed.host_header.clone(),
            absolute_uri: parsed.uri.clone(),
            headers: headers.unwrap_or_default(),
            body_producer,
            persistent: self.pool.persistent(),
        };
        Ok((parsed, request))
    }

    /// The endpoint that connects to where `parsed` points. A factory of the caller's is asked
    /// every time (as Twisted does); the standard one's endpoint depends only on the URI, the
    /// TLS policy (a new policy forgets the remembered URI) and the connect settings, so it is
    /// made once per remembered URI and settings.
    fn endpoint_for(&self, parsed: &ParsedURI) -> Result<Rc<dyn IStreamClientEndpoint>, Failure> {
        if let Endpoints::Factory(_) = self.endpoints {
            return self.endpoint(parsed.scheme, &parsed.host, parsed.port);
        }
        let made_here = |made: &StandardEndpoint| {
            made.connect_timeout.to_bits() == self.connect_timeout.to_bits()
                && made.bind_address == self.bind_address
        };
        if let Some(made) = parsed.endpoint.borrow().as_ref().filter(|m| made_here(m)) {
            return Ok(made.endpoint.clone());
        }
        let endpoint = self.endpoint(parsed.scheme, &parsed.host, parsed.port)?;
        *parsed.endpoint.borrow_mut() = Some(StandardEndpoint {
            connect_timeout: self.connect_timeout,
            bind_address: self.bind_address,
            endpoint: endpoint.clone(),
        });
        Ok(endpoint)
    }
}

/// The method as the request's bytes; the common ones without allocating.
fn method_bytes(method: &str) -> Bytes {
    const COMMON: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];
    match COMMON.iter().find(|m| **m == method) {
        Some(m) => Bytes::from_static(m.as_bytes()),
        None => Bytes::copy_from_slice(method.as_bytes()),
    }
}

/// The parts of an `http` or `https` URI a request is made from.
struct ParsedURI {
    /// The URI as given, shared by every request made from it.
    uri: Rc<str>,
    scheme: &'static str,
    /// A name or an IP address, without brackets.
    host: String,
    port: u16,
    /// The `Host` header: the host as in the URI, with the port unless it is the default.
    host_header: Bytes,
    /// Path and query.
    target: Bytes,
    /// What the pool keeps connections for this URI under (set by [`Agent::parse_uri`]).
    key: PoolKey,
    /// The standard factory's endpoint for this URI, made on the first connection it needed,
    /// with the connect timeout and bind address it was made with.
    endpoint: RefCell<Option<StandardEndpoint>>,
}

/// An endpoint [`StandardEndpointFactory`] made, and the settings it was made under.
struct StandardEndpoint {
    connect_timeout: f64,
    bind_address: Option<SocketAddr>,
    endpoint: Rc<dyn IStreamClientEndpoint>,
}

impl ParsedURI {
    fn parse(uri: &str) -> Result<ParsedURI, Failure> {
        let invalid = |reason: &str| InvalidURI {
            uri: uri.to_owned(),
            reason: reason.to_owned(),
        };
        // The URL parser would silently drop CR, LF and tabs and percent-encode spaces and NUL:
        // refuse them instead, as Twisted does (CVE-2019-12387), so what is sent is what was
        // asked for.
        if let Some((at, byte)) = uri
            .bytes()
            .enumerate()
            .find(|&(_, b)| b <= b' ' || b == 0x7f)
        {
            return Err(Failure::new(invalid(&format!(
                "byte {byte:#04x} at offset {at} is a control character or a space \
                 (percent-encode it)"
            ))));
        }
        let url = Url::parse(uri).map_err(|e| invalid(&e.to_string()))?;
        let (scheme, default_port) = match url.scheme() {
            "http" => ("http", 80),
            "https" => ("https", 443),
            other => {
                return Err(Failure::new(SchemeNotSupported {
                    scheme: other.to_owned(),
                }))
            }
        };
        let host = match url.host() {
            Some(Host::Domain(d)) => d.to_owned(),
            Some(Host::Ipv4(a)) => a.to_string(),
            Some(Host::Ipv6(a)) => a.to_string(),
            None => return Err(Failure::new(invalid("no host"))),
        };
        let port = url.port().unwrap_or(default_port);
        let host_str = url.host_str().unwrap_or_default();
        let host_header = if port == default_port {
            host_str.to_owned()
        } else {
            format!("{host_str}:{port}")
        };
        let mut target = url.path().to_owned();
        if let Some(query) = url.query() {
            target.push('?');
            target.push_str(query);
        }
        Ok(ParsedURI {
            uri: uri.into(),
            scheme,
            host,
            port,
            host_header: host_header.into(),
            target: target.into(),
            key: PoolKey::default(),
            endpoint: RefCell::new(None),
        })
    }
}

impl IAgent for Agent {
    fn request(
        &self,
        method: &str,
        uri: &str,
        headers: Option<Headers>,
        body_producer: Option<Rc<dyn IBodyProducer>>,
    ) -> Deferred<Response> {
        let (parsed, request) = match self.prepare(method, uri, headers, body_producer) {
            Ok(prepared) => prepared,
            Err(failure) => return Deferred::fail(failure),
        };
        send_on_pool(
            Route {
                pool: &self.pool,
                clock: &self.clock,
                connect_guard: self.connect_guard,
            },
            &parsed.key,
            || self.endpoint_for(&parsed),
            request,
        )
    }

    fn reactor(&self) -> Option<Rc<dyn IReactorTime>> {
        Some(self.clock.clone())
    }

    /// A copy of this agent (sharing its pool) whose connects time out after `seconds`,
    /// through any endpoint factory, timed on [`clock`](Agent::clock).
    fn with_connect_timeout(&self, seconds: f64) -> Option<Rc<dyn IAgent>> {
        Some(Rc::new(Agent {
            connect_timeout: seconds,
            connect_guard: Some(seconds),
            ..self.clone()
        }))
    }
}

impl fmt::Debug for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Agent")
            .field("pool", &self.pool)
            .field("connect_timeout", &self.connect_timeout)
            .field("bind_address", &self.bind_address)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_endpoint_is_made_once_per_uri_and_connect_settings() {
        let reactor = Reactor::new();
        let agent = Agent::new(&reactor);
        let endpoint = |agent: &Agent| {
            let parsed = agent.parse_uri("http://127.0.0.1:1/").unwrap();
            agent.endpoint_for(&parsed).unwrap()
        };
        let first = endpoint(&agent);
        assert!(Rc::ptr_eq(&first, &endpoint(&agent)), "made again");
        // A clone shares the remembered URI; with other connect settings it gets its own.
        let slower = agent.clone().connect_timeout(1.0);
        let other = endpoint(&slower);
        assert!(!Rc::ptr_eq(&first, &other));
        let bound = agent.clone().bind_address("127.0.0.1:0".parse().unwrap());
        assert!(!Rc::ptr_eq(&other, &endpoint(&bound)));
        // Another URI, another endpoint.
        let parsed = agent.parse_uri("http://127.0.0.1:2/").unwrap();
        assert!(!Rc::ptr_eq(&first, &agent.endpoint_for(&parsed).unwrap()));
    }
}
