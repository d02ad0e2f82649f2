//! [`EnvProxyAgent`]: an agent that sends each request the way the environment's proxy
//! variables say ([`EnvProxies`]): direct, through an HTTP proxy in absolute-form, or, for
//! `https`, through a proxy's `CONNECT` tunnel with TLS to the origin.

use super::agent::Agent;
use super::env_proxy::{url_target, EnvProxies, ProxyEnvError, ProxyUrl};
use super::pool::HTTPConnectionPool;
use super::proxy::ProxyAgent;
use super::tls_policy::IPolicyForHTTPS;
use super::tunnel_factory::TunnelingEndpointFactory;
use crate::web::http_headers::Headers;
use crate::web::iweb::{IAgent, IBodyProducer};
use crate::web::response::Response;
use reactor::defer::{Deferred, Failure};
use reactor::endpoints::HostnameEndpoint;
use reactor::interfaces::{IReactorTime, IStreamClientEndpoint};
use reactor::Reactor;
use std::fmt;
use std::rc::Rc;

/// An HTTP client that picks, per request, how to reach the origin from the proxies the
/// environment names (what curl and Python's `requests` do by default; opt-in here):
///
/// * a host `NO_PROXY` matches, or a scheme with no proxy set: the direct [`Agent`];
/// * `http` with a proxy: a [`ProxyAgent`] (absolute-form request to the proxy);
/// * `https` with a proxy: an [`Agent`] over a [`TunnelingEndpointFactory`] (`CONNECT`, then
///   TLS to the origin inside the tunnel, verified by the agent's policy).
///
/// Credentials in a proxy URL (`http://user:password@proxy:3128`) become that proxy's
/// `Proxy-Authorization: Basic ...`, on the `CONNECT` alone for tunnels. All routes share one
/// [`HTTPConnectionPool`], each under keys of its own.
///
/// ```no_run
/// use reactor::Reactor;
/// use treq::client::HTTPClient;
/// use treq::web::client::{EnvProxyAgent, HTTPConnectionPool};
///
/// let reactor = Reactor::new();
/// let pool = HTTPConnectionPool::new(&reactor, true);
/// let agent = EnvProxyAgent::from_env(&reactor, pool).expect("usable proxy variables");
/// let client = HTTPClient::new(agent);
/// let d = client.get("https://example.com/").send();
/// ```
#[derive(Clone)]
pub struct EnvProxyAgent {
    reactor: Reactor,
    pool: HTTPConnectionPool,
    proxies: Rc<EnvProxies>,
    policy: Option<Rc<dyn IPolicyForHTTPS>>,
    connect_timeout: f64,
    routes: Routes,
}

/// The agents a request can go through.
#[derive(Clone)]
struct Routes {
    direct: Rc<dyn IAgent>,
    /// For `http` through `proxies.http`.
    http: Option<Rc<dyn IAgent>>,
    /// For `https` through `proxies.https`.
    https: Option<Rc<dyn IAgent>>,
}

impl Routes {
    /// Each route with `f` applied, or `None` if one of them cannot take it.
    fn map(&self, f: impl Fn(&Rc<dyn IAgent>) -> Option<Rc<dyn IAgent>>) -> Option<Routes> {
        let optional = |route: &Option<Rc<dyn IAgent>>| match route {
            None => Some(None),
            Some(agent) => f(agent).map(Some),
        };
        Some(Routes {
            direct: f(&self.direct)?,
            http: optional(&self.http)?,
            https: optional(&self.https)?,
        })
    }
}

/// A caller's policy, shared by the direct agent and the tunnels.
struct SharedPolicy(Rc<dyn IPolicyForHTTPS>);

impl IPolicyForHTTPS for SharedPolicy {
    fn creator_for_netloc(
        &self,
        hostname: &str,
        port: u16,
    ) -> Result<Rc<dyn reactor::tls::ITLSClientConnectionCreator>, Failure> {
        self.0.creator_for_netloc(hostname, port)
    }
}

impl EnvProxyAgent {
    /// An agent on `reactor` and `pool` that follows the process environment
    /// ([`EnvProxies::from_env`]); fails with a [`ProxyEnvError`] naming the variable when one
    /// is unusable.
    pub fn from_env(
        reactor: &Reactor,
        pool: HTTPConnectionPool,
    ) -> Result<EnvProxyAgent, ProxyEnvError> {
        Ok(EnvProxyAgent::new(reactor, pool, EnvProxies::from_env()?))
    }

    /// An agent that follows `proxies` (from [`EnvProxies::from_lookup`], or built by hand).
    pub fn new(reactor: &Reactor, pool: HTTPConnectionPool, proxies: EnvProxies) -> EnvProxyAgent {
        let mut agent = EnvProxyAgent {
            reactor: reactor.clone(),
            pool,
            proxies: Rc::new(proxies),
            policy: None,
            connect_timeout: 30.0,
            routes: Routes {
                direct: Rc::new(Agent::new(reactor)),
                http: None,
                https: None,
            },
        };
        agent.routes = agent.build_routes();
        agent
    }

    /// Verify `https` origins, direct or tunneled, with `policy` (as
    /// [`Agent::context_factory`]; default
    /// [`BrowserLikePolicyForHTTPS`](super::BrowserLikePolicyForHTTPS)).
    pub fn context_factory(mut self, policy: impl IPolicyForHTTPS + 'static) -> EnvProxyAgent {
        self.policy = Some(Rc::new(policy));
        self.routes = self.build_routes();
        self
    }

    /// Give up connecting — to the origin, or to the proxy — after `seconds` (default 30).
    pub fn connect_timeout(mut self, seconds: f64) -> EnvProxyAgent {
        self.connect_timeout = seconds;
        self.routes = self.build_routes();
        self
    }

    /// The proxies this agent follows.
    pub fn proxies(&self) -> &EnvProxies {
        &self.proxies
    }

    /// The pool every route uses.
    pub fn get_pool(&self) -> &HTTPConnectionPool {
        &self.pool
    }

    fn proxy_endpoint(&self, proxy: &ProxyUrl) -> Rc<dyn IStreamClientEndpoint> {
        Rc::new(
            HostnameEndpoint::new(&self.reactor, &proxy.host, proxy.port)
                .timeout(self.connect_timeout),
        )
    }

    fn build_routes(&self) -> Routes {
        let mut direct = Agent::new(&self.reactor)
            .pool(self.pool.clone())
            .connect_timeout(self.connect_timeout);
        if let Some(policy) = &self.policy {
            direct = direct.context_factory(SharedPolicy(policy.clone()));
        }
        let http = self.proxies.http.as_ref().map(|proxy| {
            let mut agent =
                ProxyAgent::new(self.proxy_endpoint(proxy), &self.reactor, self.pool.clone());
            if let Some((user, password)) = &proxy.credentials {
                agent = agent.proxy_credentials(user, password);
            }
            Rc::new(agent) as Rc<dyn IAgent>
        });
        let https = self.proxies.https.as_ref().map(|proxy| {
            let mut factory = TunnelingEndpointFactory::new(self.proxy_endpoint(proxy));
            if let Some((user, password)) = &proxy.credentials {
                factory = factory.proxy_credentials(user, password);
            }
            if let Some(policy) = &self.policy {
                factory = factory.context_factory(SharedPolicy(policy.clone()));
            }
            let agent =
                Agent::using_endpoint_factory(&self.reactor, Rc::new(factory), self.pool.clone());
            Rc::new(agent) as Rc<dyn IAgent>
        });
        Routes {
            direct: Rc::new(direct),
            http,
            https,
        }
    }

    /// The agent for `uri`: a proxy's when the environment sends it through one, else the
    /// direct agent (which also reports URLs it cannot parse).
    fn route(&self, uri: &str) -> &Rc<dyn IAgent> {
        let through = url_target(uri).and_then(|(scheme, host, port)| {
            self.proxies.proxy_for(&scheme, &host, port)?;
            match scheme.as_str() {
                "http" => self.routes.http.as_ref(),
                "https" => self.routes.https.as_ref(),
                _ => None,
            }
        });
        through.unwrap_or(&self.routes.direct)
    }
}

impl IAgent for EnvProxyAgent {
    fn request(
        &self,
        method: &str,
        uri: &str,
        headers: Option<Headers>,
        body_producer: Option<Rc<dyn IBodyProducer>>,
    ) -> Deferred<Response> {
        self.route(uri).request(method, uri, headers, body_producer)
    }

    fn reactor(&self) -> Option<Rc<dyn IReactorTime>> {
        Some(Rc::new(self.reactor.clone()))
    }

    /// Every route with its connect phase timed (for tunnels: reaching the proxy, the
    /// `CONNECT` and the TLS handshake), keeping the routes' pool keys.
    fn with_connect_timeout(&self, seconds: f64) -> Option<Rc<dyn IAgent>> {
        let routes = self
            .routes
            .map(|agent| agent.with_connect_timeout(seconds))?;
        Some(Rc::new(EnvProxyAgent {
            routes,
            ..self.clone()
        }))
    }
}

impl fmt::Debug for EnvProxyAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvProxyAgent")
            .field("proxies", &self.proxies)
            .field("connect_timeout", &self.connect_timeout)
            .field("custom_tls_policy", &self.policy.is_some())
            .finish_non_exhaustive()
    }
}
