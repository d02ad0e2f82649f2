//! Domain, path, Secure and HttpOnly matching.

use super::*;

#[test]
fn a_cookie_without_domain_is_host_only() {
    let (jar, _clock) = jar_at_now();
    receive(&jar, "http://example.com/", &["a=1"]);
    assert_eq!(header(&jar, "http://example.com/").as_deref(), Some("a=1"));
    assert_eq!(header(&jar, "http://www.example.com/"), None);
    assert_eq!(header(&jar, "http://notexample.com/"), None);
    assert_eq!(
        header(&jar, "https://example.com:8443/x").as_deref(),
        Some("a=1")
    );
}

#[test]
fn a_domain_cookie_goes_to_the_domain_and_its_subdomains() {
    let (jar, _clock) = jar_at_now();
    receive(
        &jar,
        "http://www.example.com/",
        &["a=1; Domain=example.com"],
    );
    for to in [
        "http://example.com/",
        "http://www.example.com/",
        "http://a.b.example.com/",
    ] {
        assert_eq!(header(&jar, to).as_deref(), Some("a=1"), "{to}");
    }
    for to in [
        "http://notexample.com/",
        "http://example.org/",
        "http://com/",
    ] {
        assert_eq!(header(&jar, to), None, "{to}");
    }
}

#[test]
fn domain_attribute_ignores_a_leading_dot_and_case() {
    let (jar, _clock) = jar_at_now();
    receive(
        &jar,
        "http://www.example.com/",
        &["a=1; Domain=.EXAMPLE.Com"],
    );
    assert_eq!(
        header(&jar, "http://sub.example.com/").as_deref(),
        Some("a=1")
    );
    assert_eq!(jar.cookies()[0].domain(), Some("example.com"));
}

#[test]
fn a_domain_the_host_is_not_in_is_refused() {
    let (jar, _clock) = jar_at_now();
    let err = set(&jar, "http://www.example.com/", "a=1; Domain=other.com").unwrap_err();
    assert_eq!(
        err,
        CookieError::DomainMismatch {
            domain: "other.com".into(),
            host: "www.example.com".into()
        }
    );
    // A parent cannot set a cookie for its child.
    let err = set(&jar, "http://example.com/", "a=1; Domain=www.example.com").unwrap_err();
    assert!(matches!(err, CookieError::DomainMismatch { .. }), "{err:?}");
    // A trailing dot names another domain.
    let err = set(&jar, "http://www.example.com/", "a=1; Domain=example.com.").unwrap_err();
    assert!(matches!(err, CookieError::DomainMismatch { .. }), "{err:?}");
    assert!(jar.is_empty());
}

#[test]
fn ip_hosts_take_host_only_cookies_and_no_domain_suffix() {
    let (jar, _clock) = jar_at_now();
    receive(&jar, "http://127.0.0.1:8000/", &["a=1"]);
    assert_eq!(
        header(&jar, "http://127.0.0.1:9000/").as_deref(),
        Some("a=1")
    );
    assert_eq!(header(&jar, "http://127.0.0.2/"), None);
    let err = set(&jar, "http://127.0.0.1/", "b=1; Domain=0.0.1").unwrap_err();
    assert!(matches!(err, CookieError::DomainMismatch { .. }), "{err:?}");
}

#[test]
fn path_matching_follows_rfc_6265() {
    let (jar, _clock) = jar_at_now();
    receive(&jar, "http://example.com/", &["a=1; Path=/docs"]);
    for to in ["/docs", "/docs/", "/docs/a/b", "/docs?q=1"] {
        let to = format!("http://example.com{to}");
        assert_eq!(header(&jar, &to).as_deref(), Some("a=1"), "{to}");
    }
    for to in ["/", "/doc", "/docsx", "/Docs", "/other/docs"] {
        let to = format!("http://example.com{to}");
        assert_eq!(header(&jar, &to), None, "{to}");
    }
}

#[test]
fn the_default_path_is_the_directory_of_the_request_path() {
    let (jar, _clock) = jar_at_now();
    receive(&jar, "http://example.com/a/b/page", &["a=1"]);
    receive(&jar, "http://example.com/top", &["t=1"]);
    assert_eq!(
        header(&jar, "http://example.com/a/b/other").as_deref(),
        Some("a=1; t=1")
    );
    assert_eq!(
        header(&jar, "http://example.com/a/").as_deref(),
        Some("t=1")
    );
    let paths: Vec<_> = jar
        .cookies()
        .iter()
        .map(|c| c.path().unwrap().to_owned())
        .collect();
    assert_eq!(paths, ["/a/b", "/"]);
}

#[test]
fn longer_paths_first_then_older_cookies_first() {
    let (jar, _clock) = jar_at_now();
    receive(
        &jar,
        "http://example.com/",
        &["old=1; Path=/", "deep=1; Path=/a/b", "new=1; Path=/"],
    );
    receive(&jar, "http://example.com/", &["mid=1; Path=/a"]);
    assert_eq!(
        header(&jar, "http://example.com/a/b/c").as_deref(),
        Some("deep=1; mid=1; old=1; new=1")
    );
}

#[test]
fn same_name_domain_and_path_replaces_and_keeps_its_place() {
    let (jar, _clock) = jar_at_now();
    receive(&jar, "http://example.com/", &["a=1; Path=/", "b=1; Path=/"]);
    receive(&jar, "http://example.com/", &["a=2; Path=/"]);
    assert_eq!(
        header(&jar, "http://example.com/").as_deref(),
        Some("a=2; b=1")
    );
    // Another path is another cookie.
    receive(&jar, "http://example.com/", &["a=3; Path=/x"]);
    assert_eq!(
        header(&jar, "http://example.com/x").as_deref(),
        Some("a=3; a=2; b=1")
    );
    assert_eq!(jar.len(), 3);
}

#[test]
fn secure_cookies_go_over_https_only() {
    let (jar, _clock) = jar_at_now();
    receive(&jar, "https://example.com/", &["s=1; Secure", "p=1"]);
    assert_eq!(
        header(&jar, "https://example.com/").as_deref(),
        Some("s=1; p=1")
    );
    assert_eq!(header(&jar, "http://example.com/").as_deref(), Some("p=1"));
    assert!(jar.cookies()[0].secure().unwrap_or(false));

    // Not even to localhost over plain http.
    receive(&jar, "https://localhost/", &["s=1; Secure"]);
    assert_eq!(header(&jar, "http://localhost/"), None);
    assert_eq!(header(&jar, "https://localhost/").as_deref(), Some("s=1"));
}

#[test]
fn a_secure_cookie_from_plain_http_is_refused() {
    let (jar, _clock) = jar_at_now();
    let err = set(&jar, "http://example.com/", "s=1; Secure").unwrap_err();
    assert_eq!(err, CookieError::SecureFromInsecure { name: "s".into() });
    receive(&jar, "http://127.0.0.1/", &["s=1; Secure"]);
    assert!(jar.is_empty());
}

#[test]
fn http_only_cookies_are_kept_and_sent() {
    let (jar, _clock) = jar_at_now();
    receive(&jar, "http://example.com/", &["h=1; HttpOnly"]);
    assert_eq!(header(&jar, "http://example.com/").as_deref(), Some("h=1"));
    assert_eq!(jar.cookies()[0].http_only(), Some(true));
}
