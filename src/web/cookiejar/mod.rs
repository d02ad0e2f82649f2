//! A client cookie jar that follows RFC 6265: the analogue of Python's `http.cookiejar`.
//!
//! [`CookieJar`] stores the cookies of `Set-Cookie` response headers
//! ([`extract_cookies`](CookieJar::extract_cookies)) and gives back the `Cookie` header for
//! a request ([`cookie_header_for`](CookieJar::cookie_header_for),
//! [`add_cookie_header`](CookieJar::add_cookie_header)).
//! [`CookieAgent`](crate::web::client::CookieAgent) does both around every request.
//!
//! What it enforces:
//!
//! * domain and path matching, host-only cookies (no `Domain` attribute), default paths:
//!   the rules of RFC 6265 sections 5.1 to 5.4, as implemented by `cookie_store`;
//! * a `Domain` attribute that is a public suffix (`com`, `co.uk`, `com.`, `CO.UK`) is refused,
//!   unless it is the request's host itself, which makes the cookie host-only; the list of
//!   suffixes is compiled in (`psl`);
//! * `Secure` cookies are stored from and sent to `https` URLs only, never plain `http` (not
//!   even to `localhost`);
//! * `HttpOnly` is kept (this jar is an HTTP API, so such cookies are sent);
//! * `Max-Age` wins over `Expires`; zero or negative `Max-Age`, or an `Expires` in the past,
//!   deletes the cookie; a huge `Max-Age` is capped at the year 9999; an unparsable
//!   `Max-Age` or `Expires` is ignored;
//! * limits on size and count ([`CookieLimits`]).
//!
//! Time comes from the system clock, or from an [`IReactorTime`] given to
//! [`CookieJar::with_clock`] (its `seconds()` read as Unix time), so tests drive expiry with
//! `reactor::task::Clock`.
//!
//! ```
//! use treq::web::cookiejar::CookieJar;
//! use treq::web::http_headers::Headers;
//! use url::Url;
//!
//! let jar = CookieJar::new();
//! let url = Url::parse("http://example.com/login").unwrap();
//! let mut response_headers = Headers::new();
//! response_headers.add_raw_header("Set-Cookie", "session=abc; Path=/; HttpOnly").unwrap();
//! jar.extract_cookies(&url, &response_headers);
//!
//! let next = Url::parse("http://example.com/account").unwrap();
//! assert_eq!(jar.cookie_header_for(&next).as_deref(), Some("session=abc"));
//! assert_eq!(jar.cookie_header_for(&Url::parse("http://other.example/").unwrap()), None);
//! ```

mod error;
mod set_cookie;
mod store;

pub use error::CookieError;
pub use store::CookieLimits;

use crate::web::http_headers::Headers;
use cookie::Cookie;
use reactor::interfaces::IReactorTime;
use set_cookie::{is_http_url, make_entry, normalize_domain, parse_set_cookie};
use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};
use store::{Entry, Store, StoreAction};
use url::Url;

/// A client cookie jar (Python's `http.cookiejar.CookieJar`).
///
/// Clones share one jar, so the caller keeps a clone to look at what a
/// [`CookieAgent`](crate::web::client::CookieAgent) stored.
#[derive(Clone, Default)]
pub struct CookieJar {
    inner: Rc<JarInner>,
}

#[derive(Default)]
struct JarInner {
    store: RefCell<Store>,
    clock: Option<Rc<dyn IReactorTime>>,
}

impl fmt::Debug for CookieJar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieJar")
            .field("cookies", &self.len())
            .finish()
    }
}

impl CookieJar {
    /// An empty jar on the system clock, with the default [`CookieLimits`].
    pub fn new() -> CookieJar {
        CookieJar::default()
    }

    /// An empty jar whose "now" is `clock.seconds()`, read as Unix time: meant for a
    /// `reactor::task::Clock` advanced to a Unix time in tests. (A `Reactor`'s `seconds()` is
    /// monotonic, not Unix time: leave the system clock to [`new`](Self::new).)
    pub fn with_clock(clock: Rc<dyn IReactorTime>) -> CookieJar {
        CookieJar::with_clock_and_limits(Some(clock), CookieLimits::default())
    }

    /// An empty jar with these limits (on the system clock).
    pub fn with_limits(limits: CookieLimits) -> CookieJar {
        CookieJar::with_clock_and_limits(None, limits)
    }

    /// An empty jar with a clock (`None`: the system clock) and limits.
    pub fn with_clock_and_limits(
        clock: Option<Rc<dyn IReactorTime>>,
        limits: CookieLimits,
    ) -> CookieJar {
        let store = Store::new(limits);
        CookieJar {
            inner: Rc::new(JarInner {
                store: RefCell::new(store),
                clock,
            }),
        }
    }

    /// The jar's limits.
    pub fn limits(&self) -> CookieLimits {
        self.inner.store.borrow().limits
    }

    /// "Now" in Unix seconds.
    fn now(&self) -> f64 {
        match &self.inner.clock {
            Some(clock) => clock.seconds(),
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        }
    }

    /// The value for a `Cookie` header on a request to `url` (`None` when no cookie matches).
    pub fn cookie_header_for(&self, url: &Url) -> Option<String> {
        if !is_http_url(url) {
            return None;
        }
        let now = self.now();
        let store = self.inner.store.borrow();
        let pairs: Vec<String> = store
            .matching(url, now)
            .into_iter()
            .map(|e| format!("{}={}", e.cookie().name(), e.cookie().value()))
            .collect();
        if pairs.is_empty() {
            None
        } else {
            Some(pairs.join("; "))
        }
    }

    /// Add a `Cookie` header for a request to `url` to `headers`, unless they already have one
    /// (Python's `add_cookie_header`).
    pub fn add_cookie_header(&self, url: &Url, headers: &mut Headers) {
        if headers.has_header("cookie") {
            return;
        }
        if let Some(value) = self.cookie_header_for(url) {
            if let Err(e) = headers.add_raw_header("Cookie", value) {
                // Names and values are checked on the way in; this cannot happen.
                log::warn!("cookie jar: could not add the Cookie header: {e}");
            }
        }
    }

    /// Store every acceptable `Set-Cookie` of a response to `url` (Python's
    /// `extract_cookies`). Refused cookies are logged at debug level and dropped.
    pub fn extract_cookies(&self, url: &Url, headers: &Headers) {
        let Some(values) = headers.get_raw_headers("set-cookie") else {
            return;
        };
        for value in values {
            let result = parse_set_cookie(value).and_then(|cookie| self.store(cookie, url, None));
            if let Err(e) = result {
                log::debug!("cookie jar: {e} (from {url})");
            }
        }
    }

    /// Store `cookie` as if `url` had set it (Python's `set_cookie`): a cookie without `Domain`
    /// is host-only for `url`'s host, one without `Path` gets `url`'s default path.
    pub fn set_cookie(&self, cookie: Cookie<'static>, url: &Url) -> Result<(), CookieError> {
        self.store(cookie, url, None).map(|_| ())
    }

    /// Like [`set_cookie`](Self::set_cookie), but the cookie is sent only to requests on
    /// `port` (Python cookiejar's port restriction; `None`: any port).
    pub fn set_cookie_for_port(
        &self,
        cookie: Cookie<'static>,
        url: &Url,
        port: Option<u16>,
    ) -> Result<(), CookieError> {
        self.store(cookie, url, port).map(|_| ())
    }

    fn store(
        &self,
        cookie: Cookie<'static>,
        url: &Url,
        port: Option<u16>,
    ) -> Result<StoreAction, CookieError> {
        let now = self.now();
        let limits = self.limits();
        let entry = make_entry(cookie, url, port, now, &limits)?;
        Ok(self.inner.store.borrow_mut().insert(entry, now))
    }

    /// Copy every unexpired cookie of `other` into this jar, exactly as stored there (host-only
    /// flag, port restriction and expiry kept): treq's `merge_cookies`. Merging a jar into
    /// itself does nothing.
    pub fn merge_from(&self, other: &CookieJar) {
        if Rc::ptr_eq(&self.inner, &other.inner) {
            return;
        }
        let now = other.now();
        let entries: Vec<_> = other.inner.store.borrow().unexpired(now).cloned().collect();
        let now = self.now();
        let mut store = self.inner.store.borrow_mut();
        for entry in entries {
            store.insert(entry, now);
        }
    }

    /// Every unexpired cookie, oldest first, with its domain and path filled in (Python:
    /// iterating the jar). A host-only cookie's domain is its host.
    pub fn cookies(&self) -> Vec<Cookie<'static>> {
        let now = self.now();
        let store = self.inner.store.borrow();
        store.unexpired(now).map(to_public_cookie).collect()
    }

    /// The unexpired cookies whose domain is `domain` (case and a leading dot do not matter),
    /// optionally only those named `name`: the base of treq's `cookies.search(jar, domain,
    /// name)`. As there, subdomains are not searched: a cookie of `example.com` is not found
    /// under `www.example.com`.
    pub fn search(&self, domain: &str, name: Option<&str>) -> Vec<Cookie<'static>> {
        let domain = normalize_domain(domain);
        let now = self.now();
        let store = self.inner.store.borrow();
        store
            .unexpired(now)
            .filter(|e| e.domain() == domain && name.is_none_or(|n| e.cookie().name() == n))
            .map(to_public_cookie)
            .collect()
    }

    /// How many unexpired cookies the jar holds.
    pub fn len(&self) -> usize {
        let now = self.now();
        self.inner.store.borrow().unexpired(now).count()
    }

    /// Whether the jar holds no cookie at all, not even an expired one (cheaper than
    /// [`is_empty`](Self::is_empty): no clock, no scan).
    pub(crate) fn holds_nothing(&self) -> bool {
        self.inner.store.borrow().entries.is_empty()
    }

    /// Whether the jar holds no unexpired cookie.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Remove every cookie.
    pub fn clear(&self) {
        self.inner.store.borrow_mut().entries.clear();
    }

    /// Remove the cookies whose domain is exactly `domain` (a leading dot and case do not
    /// matter); cookies of its subdomains stay (Python's `clear(domain)`).
    pub fn clear_domain(&self, domain: &str) {
        let domain = normalize_domain(domain);
        self.inner
            .store
            .borrow_mut()
            .entries
            .retain(|e| e.domain() != domain);
    }

    /// Remove the cookies that have expired (Python's `clear_expired_cookies`).
    pub fn clear_expired(&self) {
        let now = self.now();
        self.inner.store.borrow_mut().remove_expired(now);
    }

    /// Remove the cookies without `Expires` or `Max-Age`: the end of a session (Python's
    /// `clear_session_cookies`).
    pub fn clear_session_cookies(&self) {
        self.inner
            .store
            .borrow_mut()
            .entries
            .retain(|e| e.expires.is_some());
    }
}

/// The cookie as callers see it: domain and path filled in, expiry as `Expires`.
fn to_public_cookie(entry: &Entry) -> Cookie<'static> {
    let source = entry.cookie();
    let mut cookie = Cookie::new(source.name().to_owned(), source.value().to_owned());
    cookie.set_domain(entry.domain().to_owned());
    cookie.set_path(entry.path().to_owned());
    if let Some(secure) = source.secure() {
        cookie.set_secure(secure);
    }
    if let Some(http_only) = source.http_only() {
        cookie.set_http_only(http_only);
    }
    if let Some(same_site) = source.same_site() {
        cookie.set_same_site(same_site);
    }
    if let Some(at) = entry.expires {
        if let Ok(at) = cookie::time::OffsetDateTime::from_unix_timestamp(at as i64) {
            cookie.set_expires(at);
        }
    }
    cookie
}

#[cfg(test)]
mod tests;
