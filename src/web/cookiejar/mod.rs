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
mod store;

pub use error::CookieError;
pub use store::CookieLimits;

use crate::web::http_headers::Headers;
use cookie::Cookie;
use reactor::interfaces::IReactorTime;
use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};
use store::{Entry, Store, StoreAction};
use url::Url;

/// The latest expiry kept: 9999-12-31T23:59:59Z, in Unix seconds.
const MAX_EXPIRY: f64 = 253_402_300_799.0;

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

    /// An empty jar whose "now" is `clock.seconds()`, read as Unix time.
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
            .map(|e| format!("{}={}", e.cookie.name(), e.cookie.value()))
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

    /// Every unexpired cookie, oldest first, with its domain and path filled in (Python:
    /// iterating the jar). A host-only cookie's domain is its host.
    pub fn cookies(&self) -> Vec<Cookie<'static>> {
        let now = self.now();
        let store = self.inner.store.borrow();
        store.unexpired(now).map(to_public_cookie).collect()
    }

    /// The unexpired cookies that would be sent to `domain` (the cookie's domain is `domain`,
    /// or a domain cookie's domain is a parent of it), optionally only those named `name`:
    /// the base of treq's `cookies.search(jar, domain, name)`.
    pub fn search(&self, domain: &str, name: Option<&str>) -> Vec<Cookie<'static>> {
        let domain = normalize_domain(domain);
        let now = self.now();
        let store = self.inner.store.borrow();
        store
            .unexpired(now)
            .filter(|e| name.is_none_or(|n| e.cookie.name() == n))
            .filter(|e| {
                let d = e.domain();
                d == domain
                    || (!e.is_host_only()
                        && domain.len() > d.len()
                        && domain.ends_with(&d)
                        && domain.as_bytes()[domain.len() - d.len() - 1] == b'.')
            })
            .map(to_public_cookie)
            .collect()
    }

    /// How many unexpired cookies the jar holds.
    pub fn len(&self) -> usize {
        let now = self.now();
        self.inner.store.borrow().unexpired(now).count()
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

fn is_http_url(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|h| !h.is_empty())
}

fn normalize_domain(domain: &str) -> String {
    let domain = domain.trim();
    domain
        .strip_prefix('.')
        .unwrap_or(domain)
        .to_ascii_lowercase()
}

/// Parse one `Set-Cookie` value.
fn parse_set_cookie(value: &[u8]) -> Result<Cookie<'static>, CookieError> {
    let parse_error = || CookieError::Parse {
        header: String::from_utf8_lossy(value).into_owned(),
    };
    let text = std::str::from_utf8(value).map_err(|_| parse_error())?;
    let mut cookie = Cookie::parse(text.to_owned()).map_err(|_| parse_error())?;
    cookie.set_max_age(max_age_attribute(text));
    Ok(cookie)
}

/// The `Max-Age` of a `Set-Cookie` value (RFC 6265 section 5.2.2): the last attribute whose
/// value is an optional `-` and digits; others are ignored. (The cookie crate reads an empty
/// `Max-Age=` as "forever".) Negative means "expire now"; too large is the largest duration.
fn max_age_attribute(text: &str) -> Option<cookie::time::Duration> {
    let mut found = None;
    for attribute in text.split(';').skip(1) {
        let (name, value) = attribute.split_once('=').unwrap_or((attribute, ""));
        if !name.trim().eq_ignore_ascii_case("max-age") {
            continue;
        }
        let value = value.trim();
        let (negative, digits) = match value.strip_prefix('-') {
            Some(digits) => (true, digits),
            None => (false, value),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        found = Some(if negative {
            cookie::time::Duration::ZERO
        } else {
            cookie::time::Duration::seconds(digits.parse().unwrap_or(i64::MAX))
        });
    }
    found
}

/// Whether `name` can be a cookie name: visible ASCII but `;`, `=`, `,`.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && !matches!(b, b';' | b'=' | b','))
}

/// Whether `value` can be a cookie value: no control character, no `;`.
fn is_valid_value(value: &str) -> bool {
    value.bytes().all(|b| b >= 0x20 && b != 0x7f && b != b';')
}

/// When a cookie received at `now` expires (RFC 6265 sections 5.2.1, 5.2.2, 5.3 step 3):
/// `None` for a session cookie, `-inf` for one that is already expired.
fn expiry(cookie: &Cookie<'_>, now: f64) -> Option<f64> {
    if let Some(max_age) = cookie.max_age() {
        let seconds = max_age.whole_seconds();
        if seconds <= 0 {
            return Some(f64::NEG_INFINITY);
        }
        return Some((now + seconds as f64).min(MAX_EXPIRY));
    }
    cookie
        .expires_datetime()
        .map(|at| (at.unix_timestamp() as f64).min(MAX_EXPIRY))
}

/// Check `cookie` as set by `url` and resolve its domain and path.
fn make_entry(
    mut cookie: Cookie<'static>,
    url: &Url,
    port: Option<u16>,
    now: f64,
    limits: &CookieLimits,
) -> Result<Entry, CookieError> {
    if !is_http_url(url) {
        return Err(CookieError::NotHttpUrl {
            url: url.to_string(),
        });
    }
    let host = url.host_str().unwrap_or_default().to_owned();
    let name = cookie.name().to_owned();
    if !is_valid_name(&name) {
        return Err(CookieError::InvalidName { name });
    }
    if !is_valid_value(cookie.value()) {
        return Err(CookieError::InvalidValue { name });
    }
    let size = name.len() + cookie.value().len();
    if size > limits.max_cookie_size {
        return Err(CookieError::TooLarge {
            name,
            size,
            limit: limits.max_cookie_size,
        });
    }
    if cookie.secure() == Some(true) && url.scheme() != "https" {
        return Err(CookieError::SecureFromInsecure { name });
    }
    if let Some(domain) = cookie.domain().map(normalize_domain) {
        let bare = domain.strip_suffix('.').unwrap_or(&domain);
        if is_public_suffix(bare) {
            if bare == host.trim_end_matches('.') {
                // RFC 6265 section 5.3 step 5: the host itself may set a host-only cookie.
                cookie.unset_domain();
            } else {
                return Err(CookieError::PublicSuffix { domain });
            }
        }
    }
    let domain_attr = cookie.domain().map(str::to_owned);
    let resolved =
        cookie_store::Cookie::try_from_raw_cookie(&cookie, url).map_err(|e| match e {
            cookie_store::CookieError::DomainMismatch => CookieError::DomainMismatch {
                domain: domain_attr.clone().unwrap_or_default(),
                host: host.clone(),
            },
            _ => CookieError::InvalidDomain {
                domain: domain_attr.clone().unwrap_or_default(),
            },
        })?;
    Ok(Entry {
        expires: expiry(&cookie, now),
        cookie: resolved.into_owned(),
        port,
        created: 0,
    })
}

/// Whether `domain` is on the public suffix list (only listed suffixes count, not the
/// list's catch-all rule for unknown top-level names).
fn is_public_suffix(domain: &str) -> bool {
    psl::suffix(domain.as_bytes())
        .is_some_and(|s| s.is_known() && s.as_bytes() == domain.as_bytes())
}

/// The cookie as callers see it: domain and path filled in, expiry as `Expires`.
fn to_public_cookie(entry: &Entry) -> Cookie<'static> {
    let source = &entry.cookie;
    let mut cookie = Cookie::new(source.name().to_owned(), source.value().to_owned());
    cookie.set_domain(entry.domain());
    cookie.set_path(entry.path());
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
