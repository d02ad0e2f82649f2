//! The jar's storage: cookies with their expiry time, port restriction and creation order,
//! and the RFC 6265 storage rules (replacement, deletion by an expired cookie, eviction).
//!
//! Matching a cookie's domain and path against a URL is `cookie_store`'s
//! ([`cookie_store::Cookie::matches`]); time is ours, passed in as `now` (Unix seconds), so
//! that expiry follows the jar's clock.

use cookie_store::Cookie as StoreCookie;
use url::Url;

/// Limits on what the jar keeps (RFC 6265 section 6.1 asks for at least these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieLimits {
    /// Most bytes of name plus value in one cookie (default 4096); a larger cookie is refused.
    pub max_cookie_size: usize,
    /// Most cookies kept for one domain (default 50); past it the oldest of that domain goes.
    pub max_cookies_per_domain: usize,
    /// Most cookies kept in all (default 3000); past it the oldest goes.
    pub max_cookies: usize,
}

impl Default for CookieLimits {
    fn default() -> Self {
        CookieLimits {
            max_cookie_size: 4096,
            max_cookies_per_domain: 50,
            max_cookies: 3000,
        }
    }
}

/// One stored cookie.
#[derive(Clone)]
pub(super) struct Entry {
    /// The cookie with its domain (host-only or not) and path resolved.
    cookie: StoreCookie<'static>,
    /// The cookie's domain and path as strings (kept to compare without allocating).
    domain: String,
    path: String,
    /// When it expires (Unix seconds); `None` for a session cookie.
    pub expires: Option<f64>,
    /// The only port it is sent to, if restricted.
    pub port: Option<u16>,
    /// Creation order: earlier cookies come first in a `Cookie` header.
    created: u64,
}

impl Entry {
    pub fn new(cookie: StoreCookie<'static>, expires: Option<f64>, port: Option<u16>) -> Entry {
        Entry {
            domain: String::from(&cookie.domain),
            path: String::from(&cookie.path),
            cookie,
            expires,
            port,
            created: 0,
        }
    }

    pub fn cookie(&self) -> &StoreCookie<'static> {
        &self.cookie
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn is_expired(&self, now: f64) -> bool {
        self.expires.is_some_and(|at| at <= now)
    }

    fn same_key(&self, other: &Entry) -> bool {
        self.cookie.name() == other.cookie.name()
            && self.domain() == other.domain()
            && self.path() == other.path()
    }

    /// Whether this cookie goes with a request to `url` at `now` (RFC 6265 section 5.4).
    pub fn matches(&self, url: &Url, now: f64) -> bool {
        !self.is_expired(now)
            && self.cookie.matches(url)
            // cookie_store counts http://localhost as secure; a Secure cookie goes over https
            // only.
            && (self.cookie.secure() != Some(true) || url.scheme() == "https")
            && self
                .port
                .is_none_or(|port| url.port_or_known_default() == Some(port))
    }
}

/// What storing a cookie did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StoreAction {
    Inserted,
    Replaced,
    /// The cookie was already expired: it removed its namesake, if there was one.
    Deleted,
}

/// The cookies of one jar.
#[derive(Default)]
pub(super) struct Store {
    pub entries: Vec<Entry>,
    next_created: u64,
    pub limits: CookieLimits,
}

impl Store {
    pub fn new(limits: CookieLimits) -> Store {
        Store {
            entries: Vec::new(),
            next_created: 0,
            limits,
        }
    }

    /// Store `entry` (RFC 6265 section 5.3 steps 11 and 12), replacing the cookie of the same
    /// name, domain and path, then evict past the limits.
    pub fn insert(&mut self, mut entry: Entry, now: f64) -> StoreAction {
        let old = self.entries.iter().position(|e| e.same_key(&entry));
        if entry.is_expired(now) {
            if let Some(i) = old {
                self.entries.remove(i);
            }
            return StoreAction::Deleted;
        }
        match old {
            Some(i) => {
                entry.created = self.entries[i].created;
                self.entries[i] = entry;
                StoreAction::Replaced
            }
            None => {
                entry.created = self.next_created;
                self.next_created += 1;
                let domain = entry.domain.clone();
                self.entries.push(entry);
                self.evict(&domain, now);
                StoreAction::Inserted
            }
        }
    }

    /// Drop expired cookies, then the oldest of `domain` past the per-domain limit, then the
    /// oldest of all past the total limit.
    fn evict(&mut self, domain: &str, now: f64) {
        let per_domain = self.entries.iter().filter(|e| e.domain() == domain).count();
        if per_domain > self.limits.max_cookies_per_domain
            || self.entries.len() > self.limits.max_cookies
        {
            self.remove_expired(now);
        }
        loop {
            let in_domain: Vec<usize> = (0..self.entries.len())
                .filter(|&i| self.entries[i].domain() == domain)
                .collect();
            if in_domain.len() <= self.limits.max_cookies_per_domain {
                break;
            }
            let oldest = in_domain
                .into_iter()
                .min_by_key(|&i| self.entries[i].created)
                .expect("the domain has cookies");
            self.entries.remove(oldest);
        }
        while self.entries.len() > self.limits.max_cookies {
            let oldest = (0..self.entries.len())
                .min_by_key(|&i| self.entries[i].created)
                .expect("the jar has cookies");
            self.entries.remove(oldest);
        }
    }

    pub fn remove_expired(&mut self, now: f64) {
        self.entries.retain(|e| !e.is_expired(now));
    }

    /// The cookies for a request to `url`, longest path first, then oldest first.
    pub fn matching(&self, url: &Url, now: f64) -> Vec<&Entry> {
        let mut found: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| e.matches(url, now))
            .collect();
        found.sort_by(|a, b| {
            let (pa, pb) = (a.path().len(), b.path().len());
            pb.cmp(&pa).then(a.created.cmp(&b.created))
        });
        found
    }

    /// Unexpired cookies in creation order.
    pub fn unexpired(&self, now: f64) -> impl Iterator<Item = &Entry> {
        let mut found: Vec<&Entry> = self.entries.iter().filter(|e| !e.is_expired(now)).collect();
        found.sort_by_key(|e| e.created);
        found.into_iter()
    }
}
