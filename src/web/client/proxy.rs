//! [`ProxyAgent`]: Twisted's `twisted.web.client.ProxyAgent`, plain `http` through a forward
//! proxy.
//!
//! Every request goes to the proxy endpoint with its absolute-form target
//! (`GET http://example.com:8080/path HTTP/1.1`) and the origin's `Host`. Connections are
//! pooled per proxy (not per origin: one connection to the proxy serves every origin), and per
//! proxy credentials. With [`proxy_credentials`](ProxyAgent::proxy_credentials) each request
//! carries `Proxy-Authorization: Basic ...`; a proxy consumes that header and does not pass it
//! on.
//!
//! `https` is refused with [`SchemeNotSupported`], as in Twisted: through a proxy it needs a
//! `CONNECT` tunnel with TLS on top, so that the proxy sees neither the request nor the
//! response — an [`Agent`](super::Agent) over a
//! [`TunnelingEndpointFactory`](super::TunnelingEndpointFactory).

use super::basic_auth::basic_auth_header;
use super::env_proxy::ProxyEnvError;
use super::env_proxy_agent::EnvProxyAgent;
use super::pool::{HTTPConnectionPool, PoolKey};
use super::pooled_request::{send_on_pool, Route};
use crate::web::error::{InvalidURI, RequestGenerationFailed, SchemeNotSupported};
use crate::web::http11::{absolute_form_target, ProtocolError};
use crate::web::http_headers::{is_token, Headers};
use crate::web::iweb::{IAgent, IBodyProducer};
use crate::web::newclient::Request;
use crate::web::response::Response;
use reactor::defer::{Deferred, Failure};
use reactor::interfaces::{IReactorTime, IStreamClientEndpoint};
use reactor::Reactor;
use std::fmt;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use url::Url;

/// Tells apart the proxies of different [`ProxyAgent::new`] calls in pool keys.
static NEXT_PROXY_ID: AtomicU64 = AtomicU64::new(1);

/// An HTTP client that sends every request through a forward proxy (Twisted's `ProxyAgent`).
///
/// ```no_run
/// use reactor::endpoints::HostnameEndpoint;
/// use reactor::Reactor;
/// use std::rc::Rc;
/// use treq::web::client::{HTTPConnectionPool, ProxyAgent};
/// use treq::web::iweb::IAgent;
///
/// let reactor = Reactor::new();
/// let proxy = Rc::new(HostnameEndpoint::new(&reactor, "proxy.example", 3128));
/// let agent = ProxyAgent::new(proxy, &reactor, HTTPConnectionPool::new(&reactor, true))
///     .proxy_credentials("user", "secret");
/// let d = agent.request("GET", "http://example.com/", None, None);
/// ```
///
/// Cloning is cheap; clones share the proxy, the pool and the pool key.
#[derive(Clone)]
pub struct ProxyAgent {
    endpoint: Rc<dyn IStreamClientEndpoint>,
    pool: HTTPConnectionPool,
    proxy_id: u64,
    credentials: Option<Rc<str>>,
    /// What [`IAgent::reactor`] hands out and connect timeouts run on: the reactor, or a
    /// clock.
    clock: Rc<dyn IReactorTime>,
    /// Give up getting a connection after this many seconds (set by
    /// [`IAgent::with_connect_timeout`]).
    connect_guard: Option<f64>,
}

impl ProxyAgent {
    /// An agent that sends every request to `endpoint`, a forward proxy, keeping connections
    /// in `pool`. The reactor is Twisted's argument; connections come from `endpoint`, and time
    /// from the pool.
    pub fn new(
        endpoint: Rc<dyn IStreamClientEndpoint>,
        reactor: &Reactor,
        pool: HTTPConnectionPool,
    ) -> ProxyAgent {
        ProxyAgent {
            endpoint,
            pool,
            proxy_id: NEXT_PROXY_ID.fetch_add(1, Ordering::Relaxed),
            credentials: None,
            clock: Rc::new(reactor.clone()),
            connect_guard: None,
        }
    }

    /// The agent the environment's proxy variables ask for (`HTTP_PROXY`, `HTTPS_PROXY`,
    /// `ALL_PROXY`, `NO_PROXY`, read by [`EnvProxies::from_env`](super::EnvProxies::from_env)):
    /// an [`EnvProxyAgent`], which picks per request between the direct agent, a `ProxyAgent`
    /// and a `CONNECT` tunnel. Fails with a [`ProxyEnvError`] naming an unusable variable.
    pub fn from_env(
        reactor: &Reactor,
        pool: HTTPConnectionPool,
    ) -> Result<EnvProxyAgent, ProxyEnvError> {
        EnvProxyAgent::from_env(reactor, pool)
    }

    /// Authenticate to the proxy with `Basic` credentials: every request carries
    /// `Proxy-Authorization` (unless its headers already have one). Connections opened with
    /// other credentials are not reused for these.
    pub fn proxy_credentials(mut self, user: &str, password: &str) -> ProxyAgent {
        self.credentials = Some(basic_auth_header(user, password).into());
        self
    }

    /// Time per-request connect timeouts ([`IAgent::with_connect_timeout`]) on `clock` (a
    /// [`Clock`](reactor::task::Clock) in tests) instead of the reactor; it is also what
    /// [`IAgent::reactor`] reports.
    pub fn clock(mut self, clock: Rc<dyn IReactorTime>) -> ProxyAgent {
        self.clock = clock;
        self
    }

    /// The pool this agent uses.
    pub fn get_pool(&self) -> &HTTPConnectionPool {
        &self.pool
    }

    /// The key its connections are pooled under: `("http-proxy", <this proxy and its
    /// credentials>, 0)`.
    pub fn pool_key(&self) -> PoolKey {
        let mut id = format!("proxy-{}", self.proxy_id);
        if let Some(credentials) = &self.credentials {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            credentials.hash(&mut hasher);
            id.push_str(&format!("-auth-{:016x}", hasher.finish()));
        }
        ("http-proxy".to_owned(), id, 0)
    }

    fn prepare(
        &self,
        method: &str,
        uri: &str,
        headers: Option<Headers>,
        body_producer: Option<Rc<dyn IBodyProducer>>,
    ) -> Result<Request, Failure> {
        let invalid = |reason: &str| InvalidURI {
            uri: uri.to_owned(),
            reason: reason.to_owned(),
        };
        let generation = |e: ProtocolError| RequestGenerationFailed::new(vec![Failure::new(e)]);
        let url = Url::parse(uri).map_err(|e| invalid(&e.to_string()))?;
        if url.scheme() != "http" {
            return Err(Failure::new(SchemeNotSupported {
                scheme: url.scheme().to_owned(),
            }));
        }
        if !is_token(method.as_bytes()) {
            return Err(Failure::new(generation(ProtocolError::InvalidMethod)));
        }
        let host = url.host_str().ok_or_else(|| invalid("no host"))?;
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let mut origin_form = url.path().to_owned();
        if let Some(query) = url.query() {
            origin_form.push('?');
            origin_form.push_str(query);
        }
        let target = absolute_form_target("http", &authority, &origin_form).map_err(generation)?;
        let mut headers = headers.unwrap_or_default();
        if let Some(credentials) = &self.credentials {
            if !headers.has_header("proxy-authorization") {
                headers
                    .add_raw_header("Proxy-Authorization", credentials.as_bytes())
                    .map_err(|e| RequestGenerationFailed::new(vec![Failure::new(e)]))?;
            }
        }
        let mut request = Request::new(method.as_bytes().to_vec(), target, authority, headers)
            .persistent(self.pool.persistent())
            .absolute_uri(uri);
        request.body_producer = body_producer;
        Ok(request)
    }
}

impl IAgent for ProxyAgent {
    fn reactor(&self) -> Option<Rc<dyn IReactorTime>> {
        Some(self.clock.clone())
    }

    fn request(
        &self,
        method: &str,
        uri: &str,
        headers: Option<Headers>,
        body_producer: Option<Rc<dyn IBodyProducer>>,
    ) -> Deferred<Response> {
        let request = match self.prepare(method, uri, headers, body_producer) {
            Ok(request) => request,
            Err(failure) => return Deferred::fail(failure),
        };
        send_on_pool(
            Route {
                pool: &self.pool,
                clock: &self.clock,
                connect_guard: self.connect_guard,
            },
            &self.pool_key(),
            || Ok(self.endpoint.clone()),
            request,
        )
    }

    /// A copy of this agent (sharing its pool and pool key) that gives up connecting to the
    /// proxy after `seconds`, timed on its [`clock`](ProxyAgent::clock).
    fn with_connect_timeout(&self, seconds: f64) -> Option<Rc<dyn IAgent>> {
        Some(Rc::new(ProxyAgent {
            connect_guard: Some(seconds),
            ..self.clone()
        }))
    }
}

impl fmt::Debug for ProxyAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyAgent")
            .field("pool", &self.pool)
            .field("proxy_id", &self.proxy_id)
            .field("has_credentials", &self.credentials.is_some())
            .finish_non_exhaustive()
    }
}
