//! Cookie helpers (treq's `treq.cookies`): [`scoped_cookie`], [`search`], and the
//! [`CookieJar`] itself.

use crate::client::IntoUrl;
use cookie::Cookie;
use reactor::defer::Failure;
use url::Url;

pub use crate::web::cookiejar::{CookieError, CookieJar, CookieLimits};

/// A cookie limited to one origin: its host only (no subdomains), its port when that is not
/// the scheme's default, and `Secure` when the scheme is https. This is how treq scopes the
/// `cookies=` of a request (its fix for CVE-2022-23607), so they never leak to another origin,
/// not even after a redirect.
#[derive(Debug, Clone)]
pub struct ScopedCookie {
    cookie: Cookie<'static>,
    origin: Url,
    port: Option<u16>,
}

impl ScopedCookie {
    /// The cookie (name, value, and `Secure` for https).
    pub fn cookie(&self) -> &Cookie<'static> {
        &self.cookie
    }

    /// The port it is limited to (`None` for the scheme's default port: any port, as treq).
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// Store it in `jar` (Python's `jar.set_cookie(scoped_cookie(...))`).
    pub fn set_in(self, jar: &CookieJar) -> Result<(), CookieError> {
        jar.set_cookie_for_port(self.cookie, &self.origin, self.port)
    }
}

/// A cookie called `name` with `value` for `origin` only (treq's `scoped_cookie`).
///
/// ```
/// use treq::cookies::{scoped_cookie, search, CookieJar};
///
/// let jar = CookieJar::new();
/// scoped_cookie("https://example.com:8443/x", "session", "abc")
///     .map_err(|f| f.into_error())?
///     .set_in(&jar)?;
/// assert_eq!(search(&jar, "example.com", Some("session")).as_deref(), Some("abc"));
/// assert_eq!(jar.cookie_header_for(&"https://example.com:8443/".parse()?).as_deref(),
///            Some("session=abc"));
/// assert_eq!(jar.cookie_header_for(&"https://example.com/".parse()?), None);
/// assert_eq!(jar.cookie_header_for(&"http://example.com:8443/".parse()?), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn scoped_cookie(
    origin: impl IntoUrl,
    name: impl Into<String>,
    value: impl Into<String>,
) -> Result<ScopedCookie, Failure> {
    let origin = origin.into_url()?;
    let mut cookie = Cookie::new(name.into(), value.into());
    cookie.set_path("/");
    if origin.scheme() == "https" {
        cookie.set_secure(true);
    }
    let port = origin.port();
    Ok(ScopedCookie {
        cookie,
        origin,
        port,
    })
}

/// The value of the first cookie in `jar` whose domain is `domain` (and whose name is `name`,
/// when given): treq's `search(jar, domain=..., name=...)`. Subdomains are not searched.
pub fn search(jar: &CookieJar, domain: &str, name: Option<&str>) -> Option<String> {
    jar.search(domain, name)
        .into_iter()
        .next()
        .map(|c| c.value().to_owned())
}
