//! HTTPS policies (Twisted's `IPolicyForHTTPS`, `BrowserLikePolicyForHTTPS`,
//! `HostnameCachingHTTPSPolicy`): what an [`Agent`](super::Agent) verifies when it connects
//! to an `https` URL.
//!
//! The default, [`BrowserLikePolicyForHTTPS`], does what a browser does: the server's chain must
//! lead to a trusted root (the `webpki-roots` set, or the roots given to
//! [`with_trust_root`](BrowserLikePolicyForHTTPS::with_trust_root)), the certificate must be
//! valid now and for the host name or IP address in the URL, SNI is sent and ALPN offers
//! `http/1.1`. There is no switch that turns verification off: a program that must talk to a
//! server it cannot verify writes its own [`IPolicyForHTTPS`] (see
//! `examples/custom_tls_policy.rs`).

use reactor::defer::Failure;
use reactor::tls::rustls::ClientConfig;
use reactor::tls::{
    ClientCertificate, ClientTLSOptions, ClientTLSSettings, ITLSClientConnectionCreator,
    TLSVersion, TrustRoot,
};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

pub use reactor::tls::{options_for_client_tls, TLSConfigError, TLSError, TLSErrorKind};

/// Decides the TLS settings for each HTTPS host an agent connects to (Twisted's
/// `IPolicyForHTTPS`).
pub trait IPolicyForHTTPS {
    /// The connection creator for `hostname:port` (`hostname` is a DNS name or an IP address,
    /// without brackets). An error fails the request before connecting.
    fn creator_for_netloc(
        &self,
        hostname: &str,
        port: u16,
    ) -> Result<Rc<dyn ITLSClientConnectionCreator>, Failure>;
}

/// The default HTTPS policy (Twisted's `BrowserLikePolicyForHTTPS`): verify the chain against
/// the trust root, check the host name, send SNI, offer ALPN `http/1.1`.
///
/// One rustls configuration is shared by every connection the policy makes (clones share it
/// too), so TLS sessions resume when a pool dials the same host again.
///
/// ```
/// use treq::web::client::{Agent, BrowserLikePolicyForHTTPS};
/// use reactor::tls::TrustRoot;
///
/// # fn ca_pem() -> Vec<u8> { Vec::new() }
/// let reactor = reactor::Reactor::new();
/// let agent = Agent::new(&reactor).context_factory(BrowserLikePolicyForHTTPS::new());
/// // A private CA instead of the public roots:
/// if let Ok(root) = TrustRoot::from_pem(&ca_pem()) {
///     let agent = Agent::new(&reactor).context_factory(BrowserLikePolicyForHTTPS::with_trust_root(root));
/// }
/// ```
#[derive(Clone)]
pub struct BrowserLikePolicyForHTTPS {
    settings: ClientTLSSettings,
    config: Result<Arc<ClientConfig>, Failure>,
}

impl BrowserLikePolicyForHTTPS {
    /// Verify against the `webpki-roots` set of public CAs. All default policies on a thread
    /// share one configuration (and session cache).
    pub fn new() -> BrowserLikePolicyForHTTPS {
        thread_local! {
            static DEFAULT: BrowserLikePolicyForHTTPS =
                BrowserLikePolicyForHTTPS::from_settings(default_settings());
        }
        DEFAULT.with(Clone::clone)
    }

    /// Verify against `trust_root` only (Twisted's `BrowserLikePolicyForHTTPS(trustRoot=...)`),
    /// for servers whose certificates a private CA signs.
    pub fn with_trust_root(trust_root: TrustRoot) -> BrowserLikePolicyForHTTPS {
        let settings = ClientTLSSettings {
            trust_root: Some(trust_root),
            ..default_settings()
        };
        BrowserLikePolicyForHTTPS::from_settings(settings)
    }

    /// A policy built from `settings` (trust root, client certificate, ALPN, minimum version).
    pub fn from_settings(settings: ClientTLSSettings) -> BrowserLikePolicyForHTTPS {
        let config = settings.build().map_err(Failure::new);
        BrowserLikePolicyForHTTPS { settings, config }
    }

    /// Show `certificate` to servers that ask for a client certificate.
    pub fn client_certificate(self, certificate: ClientCertificate) -> BrowserLikePolicyForHTTPS {
        let settings = ClientTLSSettings {
            client_certificate: Some(certificate),
            ..self.settings
        };
        BrowserLikePolicyForHTTPS::from_settings(settings)
    }

    /// Refuse protocol versions below `version` (default TLS 1.2).
    pub fn minimum_version(self, version: TLSVersion) -> BrowserLikePolicyForHTTPS {
        let settings = ClientTLSSettings {
            minimum_version: version,
            ..self.settings
        };
        BrowserLikePolicyForHTTPS::from_settings(settings)
    }

    /// The settings this policy was built from.
    pub fn settings(&self) -> &ClientTLSSettings {
        &self.settings
    }

    /// The shared rustls configuration, for a custom policy to start from (clone it, adjust
    /// it, wrap it in a new `Arc`).
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, Failure> {
        self.config.clone()
    }
}

impl Default for BrowserLikePolicyForHTTPS {
    fn default() -> Self {
        BrowserLikePolicyForHTTPS::new()
    }
}

fn default_settings() -> ClientTLSSettings {
    ClientTLSSettings {
        acceptable_protocols: vec![b"http/1.1".to_vec()],
        ..ClientTLSSettings::default()
    }
}

impl IPolicyForHTTPS for BrowserLikePolicyForHTTPS {
    fn creator_for_netloc(
        &self,
        hostname: &str,
        _port: u16,
    ) -> Result<Rc<dyn ITLSClientConnectionCreator>, Failure> {
        let config = self.config.clone()?;
        let options = ClientTLSOptions::new(config, hostname).map_err(Failure::new)?;
        Ok(Rc::new(options))
    }
}

impl fmt::Debug for BrowserLikePolicyForHTTPS {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrowserLikePolicyForHTTPS")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Remembers the creators another policy made for the most recent host names (Twisted's
/// `HostnameCachingHTTPSPolicy`, default size 20), so a busy agent does not rebuild them.
pub struct HostnameCachingHTTPSPolicy {
    policy: Rc<dyn IPolicyForHTTPS>,
    cache_size: usize,
    cache: RefCell<VecDeque<(String, Rc<dyn ITLSClientConnectionCreator>)>>,
}

impl HostnameCachingHTTPSPolicy {
    /// Cache the creators of `policy` for up to `cache_size` host names (Twisted uses 20).
    pub fn new(policy: Rc<dyn IPolicyForHTTPS>, cache_size: usize) -> HostnameCachingHTTPSPolicy {
        HostnameCachingHTTPSPolicy {
            policy,
            cache_size,
            cache: RefCell::new(VecDeque::new()),
        }
    }

    /// How many host names are cached now.
    pub fn cached(&self) -> usize {
        self.cache.borrow().len()
    }
}

impl IPolicyForHTTPS for HostnameCachingHTTPSPolicy {
    fn creator_for_netloc(
        &self,
        hostname: &str,
        port: u16,
    ) -> Result<Rc<dyn ITLSClientConnectionCreator>, Failure> {
        let hit = {
            let mut cache = self.cache.borrow_mut();
            let found = cache.iter().position(|(h, _)| h == hostname);
            found.and_then(|i| cache.remove(i))
        };
        let entry = match hit {
            Some(entry) => entry,
            None => (
                hostname.to_owned(),
                self.policy.creator_for_netloc(hostname, port)?,
            ),
        };
        let creator = entry.1.clone();
        let mut cache = self.cache.borrow_mut();
        cache.push_back(entry);
        while cache.len() > self.cache_size {
            cache.pop_front();
        }
        Ok(creator)
    }
}

impl fmt::Debug for HostnameCachingHTTPSPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<HostnameCachingHTTPSPolicy {} of {}>",
            self.cached(),
            self.cache_size
        )
    }
}

/// A policy as an agent holds it: the policy and the identity that goes into pool keys, so
/// connections verified under one policy are never handed out under another.
#[derive(Clone)]
pub(crate) struct AgentPolicy {
    pub(crate) policy: Rc<dyn IPolicyForHTTPS>,
    /// 0 for the default policy (all default policies verify alike); unique otherwise.
    pub(crate) id: u64,
}

impl AgentPolicy {
    pub(crate) fn default_policy() -> AgentPolicy {
        AgentPolicy {
            policy: Rc::new(BrowserLikePolicyForHTTPS::new()),
            id: 0,
        }
    }

    pub(crate) fn custom(policy: Rc<dyn IPolicyForHTTPS>) -> AgentPolicy {
        thread_local! {
            static NEXT: std::cell::Cell<u64> = const { std::cell::Cell::new(1) };
        }
        let id = NEXT.with(|n| n.replace(n.get() + 1));
        AgentPolicy { policy, id }
    }

    /// The scheme element of a pool key for `scheme` under this policy: `https` for the
    /// default policy, `https#<id>` for another.
    pub(crate) fn pool_scheme(&self, scheme: &str) -> String {
        if scheme == "https" && self.id != 0 {
            format!("https#{}", self.id)
        } else {
            scheme.to_owned()
        }
    }

    /// An endpoint that runs TLS for `host:port` over `tcp`.
    pub(crate) fn tls_endpoint(
        &self,
        host: &str,
        port: u16,
        tcp: Rc<dyn reactor::interfaces::IStreamClientEndpoint>,
    ) -> Result<Rc<dyn reactor::interfaces::IStreamClientEndpoint>, Failure> {
        let creator = self.policy.creator_for_netloc(host, port)?;
        Ok(Rc::new(reactor::tls::wrap_client_tls(creator, tcp)))
    }
}
