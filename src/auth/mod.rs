//! HTTP authentication for requests (treq's `treq.auth`): [`add_auth`], [`add_basic_auth`],
//! and, beyond treq, Digest authentication ([`add_digest_auth`], [`DigestAuthAgent`]).
//!
//! Credentials are added by wrapping the agent, so they sit above the redirect agent: a
//! redirect to another origin drops the `Authorization` header, and a Digest challenge from
//! another origin is not answered.

mod challenge;
mod digest;

pub use digest::{DigestAlgorithm, DigestAuthAgent, DigestAuthError};

use crate::web::client::basic_auth_header;
use crate::web::http_headers::Headers;
use crate::web::iweb::{IAgent, IBodyProducer};
use crate::web::response::Response;
use bytes::Bytes;
use reactor::defer::Deferred;
use std::error::Error;
use std::fmt;
use std::rc::Rc;

/// What `auth=` takes: `(username, password)`, as text (UTF-8) or bytes, for Basic
/// authentication, or [`AuthConfig::digest`] for Digest.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthConfig {
    /// HTTP Basic authentication (RFC 7617).
    Basic {
        /// The user name.
        username: Bytes,
        /// The password.
        password: Bytes,
    },
    /// HTTP Digest authentication (RFC 7616): a `401` Digest challenge is answered once.
    Digest {
        /// The user name.
        username: Bytes,
        /// The password.
        password: Bytes,
    },
}

impl AuthConfig {
    /// Digest credentials: `client.get(url).auth(AuthConfig::digest("user", "secret"))`.
    pub fn digest(username: impl AsRef<[u8]>, password: impl AsRef<[u8]>) -> AuthConfig {
        AuthConfig::Digest {
            username: Bytes::copy_from_slice(username.as_ref()),
            password: Bytes::copy_from_slice(password.as_ref()),
        }
    }
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthConfig::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<hidden>")
                .finish(),
            AuthConfig::Digest { username, .. } => f
                .debug_struct("Digest")
                .field("username", username)
                .field("password", &"<hidden>")
                .finish(),
        }
    }
}

macro_rules! basic_from {
    ($($t:ty),*) => {$(
        impl From<($t, $t)> for AuthConfig {
            fn from((username, password): ($t, $t)) -> AuthConfig {
                AuthConfig::Basic {
                    username: Bytes::copy_from_slice(AsRef::<[u8]>::as_ref(&username)),
                    password: Bytes::copy_from_slice(AsRef::<[u8]>::as_ref(&password)),
                }
            }
        }
    )*};
}
basic_from!(&str, String, &String, &[u8], Vec<u8>, Bytes);

impl<const N: usize, const M: usize> From<(&[u8; N], &[u8; M])> for AuthConfig {
    fn from((username, password): (&[u8; N], &[u8; M])) -> AuthConfig {
        AuthConfig::Basic {
            username: Bytes::copy_from_slice(username),
            password: Bytes::copy_from_slice(password),
        }
    }
}

/// An auth config that cannot be used (treq raises `UnknownAuthConfig`). Rust's types rule out
/// treq's non-tuple configs; what is left to refuse is credentials that cannot be sent: a Basic
/// user name with a colon (RFC 7617 forbids it: the password would start early), or CR, LF or
/// NUL in either part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAuthConfig {
    /// Why the config cannot be used.
    pub reason: &'static str,
}

impl fmt::Display for UnknownAuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unusable auth config: {}", self.reason)
    }
}
impl Error for UnknownAuthConfig {}

/// An agent that sets fixed headers on every request (treq's `_RequestHeaderSetterAgent`):
/// they replace any the caller gave under the same names.
struct RequestHeaderSetterAgent {
    agent: Rc<dyn IAgent>,
    headers: Vec<(&'static str, String)>,
}

impl IAgent for RequestHeaderSetterAgent {
    fn reactor(&self) -> Option<Rc<dyn reactor::interfaces::IReactorTime>> {
        self.agent.reactor()
    }

    fn request(
        &self,
        method: &str,
        uri: &str,
        headers: Option<Headers>,
        body_producer: Option<Rc<dyn IBodyProducer>>,
    ) -> Deferred<Response> {
        let mut headers = headers.unwrap_or_default();
        for (name, value) in &self.headers {
            if let Err(e) = headers.set_raw_headers(name, [value]) {
                return Deferred::fail(e);
            }
        }
        self.agent
            .request(method, uri, Some(headers), body_producer)
    }
}

/// Wrap `agent` so every request carries Basic credentials (treq's `add_basic_auth`).
pub fn add_basic_auth(
    agent: Rc<dyn IAgent>,
    username: impl AsRef<[u8]>,
    password: impl AsRef<[u8]>,
) -> Result<Rc<dyn IAgent>, UnknownAuthConfig> {
    let (username, password) = (username.as_ref(), password.as_ref());
    if username.contains(&b':') {
        return Err(UnknownAuthConfig {
            reason: "a Basic user name cannot contain ':'",
        });
    }
    check_sendable(username, password)?;
    let value = basic_auth_header(username, password);
    Ok(Rc::new(RequestHeaderSetterAgent {
        agent,
        headers: vec![("Authorization", value)],
    }))
}

fn check_sendable(username: &[u8], password: &[u8]) -> Result<(), UnknownAuthConfig> {
    if [username, password]
        .iter()
        .any(|s| s.iter().any(|b| matches!(b, b'\r' | b'\n' | 0)))
    {
        return Err(UnknownAuthConfig {
            reason: "credentials cannot contain CR, LF or NUL",
        });
    }
    Ok(())
}

/// Wrap `agent` so a `401` Digest challenge is answered once as `username` (see
/// [`DigestAuthAgent`]).
pub fn add_digest_auth(
    agent: Rc<dyn IAgent>,
    username: impl AsRef<[u8]>,
    password: impl AsRef<[u8]>,
) -> Result<Rc<dyn IAgent>, UnknownAuthConfig> {
    let (username, password) = (username.as_ref(), password.as_ref());
    check_sendable(username, password)?;
    Ok(Rc::new(DigestAuthAgent::new(
        agent,
        Bytes::copy_from_slice(username),
        Bytes::copy_from_slice(password),
    )))
}

/// Wrap `agent` to authenticate as `config` says (treq's `add_auth`).
pub fn add_auth(
    agent: Rc<dyn IAgent>,
    config: &AuthConfig,
) -> Result<Rc<dyn IAgent>, UnknownAuthConfig> {
    match config {
        AuthConfig::Basic { username, password } => add_basic_auth(agent, username, password),
        AuthConfig::Digest { username, password } => add_digest_auth(agent, username, password),
    }
}
