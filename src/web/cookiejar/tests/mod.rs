//! Unit tests of the cookie jar: matching, expiry on a `task::Clock`, limits and clearing.

mod expiry;
mod limits;
mod matching;
mod public_suffix;

use super::{CookieError, CookieJar, CookieLimits};
use crate::web::http_headers::Headers;
use cookie::Cookie;
use reactor::task::Clock;
use std::rc::Rc;
use url::Url;

/// 2023-11-14T22:13:20Z: the jar's "now" in these tests.
const NOW: f64 = 1_700_000_000.0;

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

/// A jar on a clock set to [`NOW`].
fn jar_at_now() -> (CookieJar, Clock) {
    let clock = Clock::new();
    clock.advance(NOW);
    (CookieJar::with_clock(Rc::new(clock.clone())), clock)
}

/// Feed `set_cookies` to the jar as the `Set-Cookie` headers of a response from `from`.
fn receive(jar: &CookieJar, from: &str, set_cookies: &[&str]) {
    let mut headers = Headers::new();
    for value in set_cookies {
        headers.add_raw_header("Set-Cookie", value).unwrap();
    }
    jar.extract_cookies(&url(from), &headers);
}

/// The `Cookie` header the jar sends to `to`.
fn header(jar: &CookieJar, to: &str) -> Option<String> {
    jar.cookie_header_for(&url(to))
}

/// Store one `Set-Cookie` value through `set_cookie`, returning its result.
fn set(jar: &CookieJar, from: &str, set_cookie: &str) -> Result<(), CookieError> {
    jar.set_cookie(Cookie::parse(set_cookie.to_owned()).unwrap(), &url(from))
}

#[test]
fn clones_share_one_jar() {
    let (jar, _clock) = jar_at_now();
    let other = jar.clone();
    receive(&jar, "http://example.com/", &["a=1"]);
    assert_eq!(other.len(), 1);
    other.clear();
    assert!(jar.is_empty());
}

#[test]
fn add_cookie_header_leaves_a_given_cookie_header_alone() {
    let (jar, _clock) = jar_at_now();
    receive(&jar, "http://example.com/", &["a=1"]);
    let mut headers = Headers::new();
    headers.add_raw_header("cookie", "mine=yes").unwrap();
    jar.add_cookie_header(&url("http://example.com/"), &mut headers);
    let values: Vec<_> = headers.get_raw_headers("Cookie").unwrap().collect();
    assert_eq!(values, [&b"mine=yes"[..]]);

    let mut headers = Headers::new();
    jar.add_cookie_header(&url("http://example.com/"), &mut headers);
    assert_eq!(headers.get_first("Cookie").unwrap(), &b"a=1"[..]);

    let mut headers = Headers::new();
    jar.add_cookie_header(&url("http://other.com/"), &mut headers);
    assert!(!headers.has_header("Cookie"));
}

#[test]
fn unparsable_set_cookie_headers_are_skipped_and_the_rest_kept() {
    let (jar, _clock) = jar_at_now();
    let mut headers = Headers::new();
    headers
        .add_raw_header("Set-Cookie", b"bad=\xff\xfe")
        .unwrap();
    headers
        .add_raw_header("Set-Cookie", "no-equals-sign")
        .unwrap();
    headers.add_raw_header("Set-Cookie", "=nameless").unwrap();
    headers.add_raw_header("Set-Cookie", "good=1").unwrap();
    jar.extract_cookies(&url("http://example.com/"), &headers);
    assert_eq!(
        header(&jar, "http://example.com/").as_deref(),
        Some("good=1")
    );
    assert_eq!(jar.len(), 1);
}

#[test]
fn bad_names_and_values_are_refused_with_a_typed_error() {
    let (jar, _clock) = jar_at_now();
    let at = url("http://example.com/");
    let err = jar.set_cookie(Cookie::new("a b", "1"), &at).unwrap_err();
    assert_eq!(err, CookieError::InvalidName { name: "a b".into() });
    let err = jar.set_cookie(Cookie::new("a", "x;y"), &at).unwrap_err();
    assert_eq!(err, CookieError::InvalidValue { name: "a".into() });
    let err = jar
        .set_cookie(Cookie::new("a", "x\r\nInjected: 1"), &at)
        .unwrap_err();
    assert_eq!(err, CookieError::InvalidValue { name: "a".into() });
    assert!(err.to_string().contains("control character"), "{err}");
    let err = jar.set_cookie(Cookie::new("", "1"), &at).unwrap_err();
    assert!(matches!(err, CookieError::InvalidName { .. }));
    assert!(jar.is_empty());
}

#[test]
fn only_http_urls_with_a_host_take_or_get_cookies() {
    let (jar, _clock) = jar_at_now();
    let err = set(&jar, "ftp://example.com/", "a=1").unwrap_err();
    assert!(matches!(err, CookieError::NotHttpUrl { .. }), "{err:?}");
    set(&jar, "http://example.com/", "a=1").unwrap();
    assert_eq!(header(&jar, "ftp://example.com/"), None);
    assert_eq!(header(&jar, "ws://example.com/"), None);
}

#[test]
fn port_restricted_cookie_goes_only_to_its_port() {
    let (jar, _clock) = jar_at_now();
    let at = url("http://example.com:8080/");
    jar.set_cookie_for_port(Cookie::new("p", "1"), &at, Some(8080))
        .unwrap();
    jar.set_cookie_for_port(Cookie::new("any", "1"), &at, None)
        .unwrap();
    assert_eq!(
        header(&jar, "http://example.com:8080/x").as_deref(),
        Some("p=1; any=1")
    );
    assert_eq!(
        header(&jar, "http://example.com:8081/").as_deref(),
        Some("any=1")
    );
    assert_eq!(
        header(&jar, "http://example.com/").as_deref(),
        Some("any=1")
    );

    jar.set_cookie_for_port(Cookie::new("d", "1"), &url("http://example.com/"), Some(80))
        .unwrap();
    assert_eq!(
        header(&jar, "http://example.com/").as_deref(),
        Some("any=1; d=1")
    );
    assert_eq!(
        header(&jar, "http://example.com:8080/").as_deref(),
        Some("p=1; any=1")
    );
}

#[test]
fn cookies_lists_unexpired_cookies_with_domain_and_path() {
    let (jar, _clock) = jar_at_now();
    receive(
        &jar,
        "http://www.example.com/a/b",
        &["host=1", "dom=2; Domain=example.com; Path=/"],
    );
    let cookies = jar.cookies();
    let seen: Vec<_> = cookies
        .iter()
        .map(|c| (c.name(), c.value(), c.domain().unwrap(), c.path().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [
            ("host", "1", "www.example.com", "/a"),
            ("dom", "2", "example.com", "/")
        ]
    );
}

#[test]
fn search_finds_the_cookies_of_one_domain() {
    let (jar, _clock) = jar_at_now();
    receive(
        &jar,
        "http://www.example.com/",
        &["host=1", "dom=2; Domain=example.com"],
    );
    receive(&jar, "http://other.com/", &["o=3", "p=4"]);
    let names = |found: Vec<Cookie<'static>>| {
        found
            .iter()
            .map(|c| c.name().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(jar.search("www.example.com", None)), ["host"]);
    assert_eq!(names(jar.search(".Example.COM", None)), ["dom"]);
    assert_eq!(names(jar.search("other.com", Some("p"))), ["p"]);
    assert_eq!(
        names(jar.search("other.com", Some("host"))),
        Vec::<String>::new()
    );
    // As treq's search: no subdomain matching.
    assert_eq!(
        names(jar.search("a.example.com", None)),
        Vec::<String>::new()
    );
}

#[test]
fn clear_domain_removes_that_domain_only() {
    let (jar, _clock) = jar_at_now();
    receive(&jar, "http://example.com/", &["a=1"]);
    receive(&jar, "http://www.example.com/", &["b=1"]);
    receive(&jar, "http://other.com/", &["c=1"]);
    jar.clear_domain(".Example.COM");
    let names: Vec<_> = jar.cookies().iter().map(|c| c.name().to_owned()).collect();
    assert_eq!(names, ["b", "c"]);
    jar.clear();
    assert!(jar.is_empty());
    assert_eq!(header(&jar, "http://other.com/"), None);
}
