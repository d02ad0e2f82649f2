//! [`TunnelingEndpointFactory`]: every origin through one forward proxy's `CONNECT` tunnel,
//! `http` in the clear inside it and `https` with TLS to the origin over it.

use super::agent::EndpointFactory;
use super::basic_auth::basic_auth_header;
use super::tls_policy::{AgentPolicy, IPolicyForHTTPS};
use super::tunnel::TunnelingEndpoint;
use crate::web::error::SchemeNotSupported;
use reactor::defer::Failure;
use reactor::interfaces::IStreamClientEndpoint;
use std::fmt;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Tells apart the proxies of different [`TunnelingEndpointFactory::new`] calls in pool keys.
static NEXT_TUNNEL_ID: AtomicU64 = AtomicU64::new(1);

/// Makes a [`TunnelingEndpoint`] through one proxy for each origin, for
/// [`Agent::using_endpoint_factory`](super::Agent::using_endpoint_factory): requests are
/// written in origin-form inside the tunnel, and the proxy sees only the `CONNECT`.
///
/// For `https` the tunnel carries TLS to the origin, verified by the factory's policy
/// ([`BrowserLikePolicyForHTTPS`](super::BrowserLikePolicyForHTTPS) unless
/// [`context_factory`](Self::context_factory) says otherwise): the proxy sees neither the
/// request nor the response, only the `host:port` of the `CONNECT`. `Proxy-Authorization` goes
/// on the `CONNECT` alone, never inside the tunnel.
///
/// Connections are pooled under a key of their own — per proxy (each `new`), per credentials,
/// per policy — so a pool shared with agents that reach the same origins directly, or through
/// another proxy, never hands one's connection to the other.
///
/// ```no_run
/// use reactor::endpoints::HostnameEndpoint;
/// use reactor::Reactor;
/// use std::rc::Rc;
/// use treq::web::client::{Agent, HTTPConnectionPool, TunnelingEndpointFactory};
/// use treq::web::iweb::IAgent;
///
/// let reactor = Reactor::new();
/// let proxy = Rc::new(HostnameEndpoint::new(&reactor, "proxy.example", 3128));
/// let factory = TunnelingEndpointFactory::new(proxy).proxy_credentials("user", "secret");
/// let pool = HTTPConnectionPool::new(&reactor, true);
/// let agent = Agent::using_endpoint_factory(&reactor, Rc::new(factory), pool);
/// let d = agent.request("GET", "https://example.com/", None, None);
/// ```
pub struct TunnelingEndpointFactory {
    proxy: Rc<dyn IStreamClientEndpoint>,
    proxy_id: u64,
    credentials: Option<(String, String)>,
    tls_policy: AgentPolicy,
}

impl TunnelingEndpointFactory {
    /// Tunnels through `proxy`, verifying `https` origins with the default
    /// [`BrowserLikePolicyForHTTPS`](super::BrowserLikePolicyForHTTPS).
    pub fn new(proxy: Rc<dyn IStreamClientEndpoint>) -> TunnelingEndpointFactory {
        TunnelingEndpointFactory {
            proxy,
            proxy_id: NEXT_TUNNEL_ID.fetch_add(1, Ordering::Relaxed),
            credentials: None,
            tls_policy: AgentPolicy::default_policy(),
        }
    }

    /// Send `Proxy-Authorization: Basic ...` with each `CONNECT`.
    pub fn proxy_credentials(mut self, user: &str, password: &str) -> TunnelingEndpointFactory {
        self.credentials = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// Decide TLS for `https` origins with `policy` (as
    /// [`Agent::context_factory`](super::Agent::context_factory) does for direct connections).
    pub fn context_factory(
        mut self,
        policy: impl IPolicyForHTTPS + 'static,
    ) -> TunnelingEndpointFactory {
        self.tls_policy = AgentPolicy::custom(Rc::new(policy));
        self
    }
}

impl EndpointFactory for TunnelingEndpointFactory {
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
        let mut tunnel = TunnelingEndpoint::new(self.proxy.clone(), host, port);
        if let Some((user, password)) = &self.credentials {
            tunnel = tunnel.proxy_credentials(user, password);
        }
        if scheme == "https" {
            return self.tls_policy.tls_endpoint(host, port, Rc::new(tunnel));
        }
        Ok(Rc::new(tunnel))
    }

    /// `<scheme>[#policy]+tunnel-<proxy>[-auth-<hash>]`.
    fn pool_key_scheme(&self, scheme: &str) -> Option<String> {
        let mut key = format!(
            "{}+tunnel-{}",
            self.tls_policy.pool_scheme(scheme),
            self.proxy_id
        );
        if let Some((user, password)) = &self.credentials {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            basic_auth_header(user, password).hash(&mut hasher);
            key.push_str(&format!("-auth-{:016x}", hasher.finish()));
        }
        Some(key)
    }
}

impl fmt::Debug for TunnelingEndpointFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TunnelingEndpointFactory")
            .field("proxy_id", &self.proxy_id)
            .field("has_credentials", &self.credentials.is_some())
            .field("default_tls_policy", &(self.tls_policy.id == 0))
            .finish_non_exhaustive()
    }
}
