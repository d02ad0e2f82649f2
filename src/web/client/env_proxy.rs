//! [`EnvProxies`]: the proxies the environment names (`HTTP_PROXY`, `HTTPS_PROXY`,
//! `ALL_PROXY`, `NO_PROXY`), and which one a request goes through.
//!
//! The rules, as curl and Python's `urllib` read these variables:
//!
//! * each variable is read lower-case first (`http_proxy`), then upper-case (`HTTP_PROXY`); an
//!   empty value counts as unset;
//! * an `http` URL goes through `http_proxy`, an `https` URL through `https_proxy`, and either,
//!   when its own is unset, through `all_proxy`;
//! * a host that `no_proxy` matches ([`NoProxy`]) goes direct;
//! * when `REQUEST_METHOD` is set the program is a CGI script, where a request's `Proxy:`
//!   header arrives as `HTTP_PROXY` ("httpoxy", CVE-2016-5385): `http_proxy`/`HTTP_PROXY` are
//!   then ignored, as Go does (on Windows the two are one variable), and `all_proxy` still
//!   applies;
//! * a proxy is written `http://[user:password@]host[:port]`, or `host[:port]` meaning `http`;
//!   the port defaults to 80; the user and password (percent-decoded) authenticate to the
//!   proxy. Other proxy schemes (`https`, `socks5`, ...) are an error.
//!
//! The environment is read through a lookup function ([`EnvProxies::from_lookup`]), so tests
//! never change the process environment.

use super::no_proxy::{InvalidNoProxyEntry, NoProxy};
use std::error::Error;
use std::fmt;
use url::{Host, Url};

/// One proxy from the environment: where it is and how to authenticate to it.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    /// The proxy's host: a name or an IP address, without brackets.
    pub host: String,
    /// The proxy's port.
    pub port: u16,
    /// The user and password of the proxy URL, percent-decoded.
    pub credentials: Option<(String, String)>,
}

impl ProxyUrl {
    /// Parse a proxy setting: `http://[user:password@]host[:port][/]`, or the same without
    /// `http://`.
    pub fn parse(value: &str) -> Result<ProxyUrl, ProxyUrlError> {
        let value = value.trim();
        let with_scheme = if value.contains("://") {
            value.to_owned()
        } else {
            format!("http://{value}")
        };
        let url = Url::parse(&with_scheme).map_err(|e| ProxyUrlError::Invalid(e.to_string()))?;
        if url.scheme() != "http" {
            return Err(ProxyUrlError::UnsupportedScheme(url.scheme().to_owned()));
        }
        let host = match url.host() {
            Some(Host::Domain(name)) if !name.is_empty() => name.to_owned(),
            Some(Host::Ipv4(address)) => address.to_string(),
            Some(Host::Ipv6(address)) => address.to_string(),
            _ => return Err(ProxyUrlError::Invalid("no host".to_owned())),
        };
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(ProxyUrlError::Invalid(
                "a proxy URL has no path, query or fragment".to_owned(),
            ));
        }
        let decode = |s: &str| {
            percent_decode(s).ok_or_else(|| {
                ProxyUrlError::Invalid("the user or password is not UTF-8".to_owned())
            })
        };
        let credentials = if url.username().is_empty() && url.password().is_none() {
            None
        } else {
            Some((
                decode(url.username())?,
                decode(url.password().unwrap_or(""))?,
            ))
        };
        Ok(ProxyUrl {
            host,
            port: url.port().unwrap_or(80),
            credentials,
        })
    }
}

/// `%XX` sequences decoded; `None` if the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Shown without the password.
impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyUrl")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .finish()
    }
}

/// `http://host:port`, without the credentials.
impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "http://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "http://{}:{}", self.host, self.port)
        }
    }
}

/// Why a proxy setting is unusable.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyUrlError {
    /// Not a URL, or not one a proxy can have.
    Invalid(String),
    /// A scheme other than `http` (`https` to the proxy, `socks5`, ...).
    UnsupportedScheme(String),
}

impl fmt::Display for ProxyUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyUrlError::Invalid(reason) => write!(f, "not a proxy URL: {reason}"),
            ProxyUrlError::UnsupportedScheme(scheme) => {
                write!(f, "proxy scheme {scheme:?} is not supported (only http)")
            }
        }
    }
}

impl Error for ProxyUrlError {}

/// An environment variable that names a proxy, or hosts to reach direct, unusably.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyEnvError {
    /// A `*_PROXY` variable that is not a usable proxy URL.
    Proxy {
        /// The variable, as spelled in the environment (`https_proxy`, `ALL_PROXY`, ...).
        variable: String,
        /// What is wrong with its value (which is not repeated: it may hold a password).
        error: ProxyUrlError,
    },
    /// A `NO_PROXY` entry that cannot be read.
    NoProxy {
        /// The variable, as spelled in the environment.
        variable: String,
        /// The entry and what is wrong with it.
        error: InvalidNoProxyEntry,
    },
}

impl fmt::Display for ProxyEnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyEnvError::Proxy { variable, error } => write!(f, "{variable}: {error}"),
            ProxyEnvError::NoProxy { variable, error } => {
                write!(f, "{variable}: entry {:?}: {}", error.entry, error.reason)
            }
        }
    }
}

impl Error for ProxyEnvError {}

/// The proxies the environment names, and the hosts it sends direct.
///
/// ```
/// use std::collections::HashMap;
/// use treq::web::client::EnvProxies;
///
/// let env = HashMap::from([
///     ("https_proxy", "http://user:secret@proxy.corp:3128"),
///     ("NO_PROXY", ".internal.corp,10.0.0.0/8"),
/// ]);
/// let proxies = EnvProxies::from_lookup(|name| env.get(name).map(|v| v.to_string())).unwrap();
/// let proxy = proxies.proxy_for("https", "example.com", 443).unwrap();
/// assert_eq!((proxy.host.as_str(), proxy.port), ("proxy.corp", 3128));
/// assert!(proxies.proxy_for("https", "git.internal.corp", 443).is_none());
/// assert!(proxies.proxy_for("http", "example.com", 80).is_none(), "no http proxy is set");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvProxies {
    /// For `http` URLs.
    pub http: Option<ProxyUrl>,
    /// For `https` URLs.
    pub https: Option<ProxyUrl>,
    /// The hosts that go direct.
    pub no_proxy: NoProxy,
}

impl EnvProxies {
    /// Read the process environment (`std::env::var`; a value that is not Unicode counts as
    /// unset).
    pub fn from_env() -> Result<EnvProxies, ProxyEnvError> {
        EnvProxies::from_lookup(|name| std::env::var(name).ok())
    }

    /// Read the variables through `lookup`, which gives a variable's value by its exact name
    /// (`"https_proxy"`, `"HTTPS_PROXY"`, `"REQUEST_METHOD"`, ...) or `None`.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<EnvProxies, ProxyEnvError> {
        let read = |lower: &str, upper: &str| {
            [lower, upper].into_iter().find_map(|name| {
                lookup(name)
                    .filter(|value| !value.trim().is_empty())
                    .map(|value| (name.to_owned(), value))
            })
        };
        let proxy = |setting: Option<(String, String)>| {
            setting
                .map(|(variable, value)| {
                    ProxyUrl::parse(&value)
                        .map_err(|error| ProxyEnvError::Proxy { variable, error })
                })
                .transpose()
        };
        let cgi = lookup("REQUEST_METHOD").is_some_and(|v| !v.is_empty());
        let all = proxy(read("all_proxy", "ALL_PROXY"))?;
        let http = match cgi {
            true => None,
            false => proxy(read("http_proxy", "HTTP_PROXY"))?,
        };
        let https = proxy(read("https_proxy", "HTTPS_PROXY"))?;
        let no_proxy = match read("no_proxy", "NO_PROXY") {
            None => NoProxy::default(),
            Some((variable, value)) => NoProxy::parse(&value)
                .map_err(|error| ProxyEnvError::NoProxy { variable, error })?,
        };
        Ok(EnvProxies {
            http: http.or_else(|| all.clone()),
            https: https.or(all),
            no_proxy,
        })
    }

    /// The proxy for a request to `scheme://host:port`, or `None` to go direct (no proxy for
    /// the scheme, `NO_PROXY` matches the host, or a scheme other than `http`/`https`).
    pub fn proxy_for(&self, scheme: &str, host: &str, port: u16) -> Option<&ProxyUrl> {
        let proxy = match scheme {
            "http" => self.http.as_ref(),
            "https" => self.https.as_ref(),
            _ => None,
        }?;
        if self.no_proxy.matches(host, port) {
            return None;
        }
        Some(proxy)
    }

    /// [`proxy_for`](Self::proxy_for) the scheme, host and port of `url` (`None` when it does
    /// not parse).
    pub fn proxy_for_url(&self, url: &str) -> Option<&ProxyUrl> {
        let (scheme, host, port) = url_target(url)?;
        self.proxy_for(&scheme, &host, port)
    }
}

/// The scheme, host (without brackets) and port (or the scheme's default) of `url`.
pub(super) fn url_target(url: &str) -> Option<(String, String, u16)> {
    let url = Url::parse(url).ok()?;
    let host = match url.host()? {
        Host::Domain(name) => name.to_owned(),
        Host::Ipv4(address) => address.to_string(),
        Host::Ipv6(address) => address.to_string(),
    };
    Some((url.scheme().to_owned(), host, url.port_or_known_default()?))
}

#[cfg(test)]
#[path = "env_proxy_tests.rs"]
mod tests;
