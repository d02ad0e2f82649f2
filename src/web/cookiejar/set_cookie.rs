//! What the jar accepts: parsing a `Set-Cookie` value, checking a cookie against the URL that
//! set it (name, value, size, `Secure`, public-suffix and domain rules) and resolving its
//! domain, path and expiry into a store [`Entry`].

use super::store::{CookieLimits, Entry};
use super::CookieError;
use cookie::Cookie;
use url::Url;

/// The latest expiry kept: 9999-12-31T23:59:59Z, in Unix seconds.
const MAX_EXPIRY: f64 = 253_402_300_799.0;

/// Whether `url` can take and get cookies: `http` or `https` with a host.
pub(super) fn is_http_url(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|h| !h.is_empty())
}

/// A domain as given by a caller or a `Domain` attribute, trimmed, without a leading dot,
/// lower-cased.
pub(super) fn normalize_domain(domain: &str) -> String {
    let domain = domain.trim();
    domain
        .strip_prefix('.')
        .unwrap_or(domain)
        .to_ascii_lowercase()
}

/// Parse one `Set-Cookie` value.
pub(super) fn parse_set_cookie(value: &[u8]) -> Result<Cookie<'static>, CookieError> {
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
pub(super) fn make_entry(
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
    Ok(Entry::new(
        resolved.into_owned(),
        expiry(&cookie, now),
        port,
    ))
}

/// Whether `domain` is on the public suffix list (only listed suffixes count, not the
/// list's catch-all rule for unknown top-level names). International names are compared in
/// their ASCII (punycode) form, as the list is.
fn is_public_suffix(domain: &str) -> bool {
    let Ok(url::Host::Domain(ascii)) = url::Host::parse(domain) else {
        return false;
    };
    psl::suffix(ascii.as_bytes()).is_some_and(|s| s.is_known() && s.as_bytes() == ascii.as_bytes())
}
