//! Size and count limits.

use super::*;

fn small_jar(max_cookie_size: usize, per_domain: usize, total: usize) -> CookieJar {
    let clock = Clock::new();
    clock.advance(NOW);
    CookieJar::with_clock_and_limits(
        Some(Rc::new(clock)),
        CookieLimits {
            max_cookie_size,
            max_cookies_per_domain: per_domain,
            max_cookies: total,
        },
    )
}

#[test]
fn default_limits_follow_rfc_6265() {
    assert_eq!(
        CookieJar::new().limits(),
        CookieLimits {
            max_cookie_size: 4096,
            max_cookies_per_domain: 50,
            max_cookies: 3000
        }
    );
}

#[test]
fn a_cookie_larger_than_the_limit_is_refused() {
    let (jar, _clock) = jar_at_now();
    let at = url("http://example.com/");
    jar.set_cookie(Cookie::new("n", "v".repeat(4095)), &at)
        .unwrap();
    let err = jar
        .set_cookie(Cookie::new("big", "v".repeat(4094)), &at)
        .unwrap_err();
    assert_eq!(
        err,
        CookieError::TooLarge {
            name: "big".into(),
            size: 4097,
            limit: 4096
        }
    );
    receive(
        &jar,
        "http://example.com/",
        &[&format!("huge={}", "x".repeat(10_000))],
    );
    let names: Vec<_> = jar.cookies().iter().map(|c| c.name().to_owned()).collect();
    assert_eq!(names, ["n"]);
}

#[test]
fn past_the_per_domain_limit_the_oldest_of_that_domain_goes() {
    let jar = small_jar(4096, 3, 100);
    receive(&jar, "http://other.com/", &["o=1"]);
    receive(&jar, "http://example.com/", &["a=1", "b=1", "c=1"]);
    // Replacing a cookie does not count as a new one.
    receive(&jar, "http://example.com/", &["a=2"]);
    assert_eq!(
        header(&jar, "http://example.com/").as_deref(),
        Some("a=2; b=1; c=1")
    );
    receive(&jar, "http://example.com/", &["d=1"]);
    assert_eq!(
        header(&jar, "http://example.com/").as_deref(),
        Some("b=1; c=1; d=1")
    );
    assert_eq!(header(&jar, "http://other.com/").as_deref(), Some("o=1"));
}

#[test]
fn expired_cookies_go_before_live_ones() {
    let clock = Clock::new();
    clock.advance(NOW);
    let jar = CookieJar::with_clock_and_limits(
        Some(Rc::new(clock.clone())),
        CookieLimits {
            max_cookie_size: 4096,
            max_cookies_per_domain: 2,
            max_cookies: 100,
        },
    );
    receive(
        &jar,
        "http://example.com/",
        &["old=1", "brief=1; Max-Age=5"],
    );
    clock.advance(5.0);
    receive(&jar, "http://example.com/", &["new=1"]);
    assert_eq!(
        header(&jar, "http://example.com/").as_deref(),
        Some("old=1; new=1")
    );
}

#[test]
fn past_the_total_limit_the_oldest_goes() {
    let jar = small_jar(4096, 10, 3);
    receive(&jar, "http://a.com/", &["a=1"]);
    receive(&jar, "http://b.com/", &["b=1"]);
    receive(&jar, "http://c.com/", &["c=1"]);
    receive(&jar, "http://d.com/", &["d=1"]);
    let names: Vec<_> = jar.cookies().iter().map(|c| c.name().to_owned()).collect();
    assert_eq!(names, ["b", "c", "d"]);
    assert_eq!(header(&jar, "http://a.com/"), None);
}
