//! [`CookieError`]: why the jar refused a cookie.

use std::error::Error;
use std::fmt;

/// Why a cookie was not stored.
///
/// [`CookieJar::extract_cookies`](super::CookieJar::extract_cookies) drops refused cookies
/// silently (as browsers do, logging them at debug level);
/// [`CookieJar::set_cookie`](super::CookieJar::set_cookie) returns the reason.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieError {
    /// The URL is not `http` or `https`, or has no host, so no cookie can belong to it.
    NotHttpUrl {
        /// The URL, as given.
        url: String,
    },
    /// The `Set-Cookie` header could not be parsed as a cookie (not UTF-8, no `name=value`).
    Parse {
        /// The header value (lossily decoded).
        header: String,
    },
    /// The name is empty or holds a byte that cannot appear in a cookie name (a control
    /// character, a space, `;`, `=` or `,`).
    InvalidName {
        /// The name.
        name: String,
    },
    /// The value holds a control character or `;`.
    InvalidValue {
        /// The cookie's name.
        name: String,
    },
    /// Name and value together are longer than the jar's limit.
    TooLarge {
        /// The cookie's name.
        name: String,
        /// Bytes of name and value.
        size: usize,
        /// The limit ([`CookieLimits::max_cookie_size`](super::CookieLimits::max_cookie_size)).
        limit: usize,
    },
    /// The `Domain` attribute is a public suffix (`com`, `co.uk`, ...): such a cookie would be
    /// sent to every site under it.
    PublicSuffix {
        /// The domain attribute, lower-cased.
        domain: String,
    },
    /// The `Domain` attribute does not domain-match the host that set the cookie.
    DomainMismatch {
        /// The domain attribute.
        domain: String,
        /// The host of the URL.
        host: String,
    },
    /// The `Domain` attribute is not a valid domain name.
    InvalidDomain {
        /// The domain attribute.
        domain: String,
    },
    /// A `Secure` cookie came from (or was set for) a URL that is not `https`.
    SecureFromInsecure {
        /// The cookie's name.
        name: String,
    },
}

impl fmt::Display for CookieError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CookieError::NotHttpUrl { url } => {
                write!(
                    f,
                    "cookie refused: {url:?} is not an http(s) URL with a host"
                )
            }
            CookieError::Parse { header } => {
                write!(f, "cookie refused: cannot parse Set-Cookie {header:?}")
            }
            CookieError::InvalidName { name } => {
                write!(f, "cookie refused: invalid cookie name {name:?}")
            }
            CookieError::InvalidValue { name } => write!(
                f,
                "cookie refused: the value of {name:?} holds a control character or ';'"
            ),
            CookieError::TooLarge { name, size, limit } => write!(
                f,
                "cookie refused: {name:?} is {size} bytes, more than the limit of {limit}"
            ),
            CookieError::PublicSuffix { domain } => {
                write!(f, "cookie refused: Domain={domain} is a public suffix")
            }
            CookieError::DomainMismatch { domain, host } => write!(
                f,
                "cookie refused: Domain={domain} does not match the host {host}"
            ),
            CookieError::InvalidDomain { domain } => {
                write!(
                    f,
                    "cookie refused: Domain={domain:?} is not a valid domain name"
                )
            }
            CookieError::SecureFromInsecure { name } => write!(
                f,
                "cookie refused: Secure cookie {name:?} from a URL that is not https"
            ),
        }
    }
}

impl Error for CookieError {}
