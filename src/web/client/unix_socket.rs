//! [`UnixSocketEndpointFactory`]: every request over one Unix-domain socket (treq #202), as
//! Docker's `/var/run/docker.sock` and many local daemons serve HTTP.

use super::agent::EndpointFactory;
use crate::web::error::SchemeNotSupported;
use reactor::defer::Failure;
use reactor::endpoints::UNIXClientEndpoint;
use reactor::interfaces::IStreamClientEndpoint;
use reactor::Reactor;
use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Sends every `http` request — whatever its host — to the Unix-domain socket at one path,
/// for [`Agent::using_endpoint_factory`](super::Agent::using_endpoint_factory). The URL's
/// host and port still make the `Host` header and the pool key; the key's scheme names the
/// socket (`http+unix:<path>`), so a pool shared with TCP agents never mixes the two.
/// `https` is refused with [`SchemeNotSupported`]: a local socket needs no TLS.
///
/// ```no_run
/// use reactor::Reactor;
/// use std::rc::Rc;
/// use treq::client::HTTPClient;
/// use treq::web::client::{Agent, HTTPConnectionPool, UnixSocketEndpointFactory};
///
/// let reactor = Reactor::new();
/// let factory = UnixSocketEndpointFactory::new(&reactor, "/var/run/docker.sock");
/// let pool = HTTPConnectionPool::new(&reactor, true);
/// let agent = Agent::using_endpoint_factory(&reactor, Rc::new(factory), pool);
/// let client = HTTPClient::new(agent);
/// let d = client.get("http://docker/v1.45/containers/json").send();
/// ```
#[derive(Clone)]
pub struct UnixSocketEndpointFactory {
    reactor: Reactor,
    path: PathBuf,
}

impl UnixSocketEndpointFactory {
    /// Every request to the socket at `path`.
    pub fn new(reactor: &Reactor, path: impl Into<PathBuf>) -> UnixSocketEndpointFactory {
        UnixSocketEndpointFactory {
            reactor: reactor.clone(),
            path: path.into(),
        }
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl EndpointFactory for UnixSocketEndpointFactory {
    fn endpoint_for_uri(
        &self,
        scheme: &str,
        _host: &str,
        _port: u16,
    ) -> Result<Rc<dyn IStreamClientEndpoint>, Failure> {
        if scheme != "http" {
            return Err(Failure::new(SchemeNotSupported {
                scheme: scheme.to_owned(),
            }));
        }
        Ok(Rc::new(UNIXClientEndpoint::new(&self.reactor, &self.path)))
    }

    /// `http+unix:<path>`.
    fn pool_key_scheme(&self, scheme: &str) -> Option<String> {
        Some(format!("{scheme}+unix:{}", self.path.display()))
    }
}

impl fmt::Debug for UnixSocketEndpointFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixSocketEndpointFactory")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}
