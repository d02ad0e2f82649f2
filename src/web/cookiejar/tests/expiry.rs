//! Expires and Max-Age, on a `task::Clock`.

use super::*;

/// The expiry of the only cookie, in Unix seconds (`None`: a session cookie).
fn only_expiry(jar: &CookieJar) -> Option<i64> {
    let cookies = jar.cookies();
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    cookies[0].expires_datetime().map(|at| at.unix_timestamp())
}

#[test]
fn max_age_counts_from_the_jar_clock() {
    let (jar, clock) = jar_at_now();
    receive(&jar, "http://example.com/", &["a=1; Max-Age=60"]);
    assert_eq!(only_expiry(&jar), Some(NOW as i64 + 60));
    clock.advance(59.0);
    assert_eq!(header(&jar, "http://example.com/").as_deref(), Some("a=1"));
    clock.advance(1.0);
    assert_eq!(header(&jar, "http://example.com/"), None);
    assert!(jar.is_empty());
    assert!(jar.cookies().is_empty());
}

#[test]
fn expires_is_an_absolute_time() {
    let (jar, clock) = jar_at_now();
    // NOW + 1 hour.
    receive(
        &jar,
        "http://example.com/",
        &["a=1; Expires=Tue, 14 Nov 2023 23:13:20 GMT"],
    );
    assert_eq!(only_expiry(&jar), Some(NOW as i64 + 3600));
    clock.advance(3599.0);
    assert_eq!(jar.len(), 1);
    clock.advance(1.0);
    assert_eq!(jar.len(), 0);
}

#[test]
fn max_age_wins_over_expires() {
    let (jar, _clock) = jar_at_now();
    receive(
        &jar,
        "http://example.com/",
        &["a=1; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=100"],
    );
    assert_eq!(only_expiry(&jar), Some(NOW as i64 + 100));
}

#[test]
fn zero_or_negative_max_age_deletes_the_cookie() {
    let (jar, _clock) = jar_at_now();
    for deleting in [
        "a=x; Max-Age=0",
        "a=x; Max-Age=-1",
        "a=x; Max-Age=-99999999999999999999",
    ] {
        receive(&jar, "http://example.com/", &["a=1", "keep=1"]);
        assert_eq!(jar.len(), 2);
        receive(&jar, "http://example.com/", &[deleting]);
        assert_eq!(
            header(&jar, "http://example.com/").as_deref(),
            Some("keep=1"),
            "{deleting}"
        );
    }
    // An expired cookie with nothing to delete is not stored either.
    receive(&jar, "http://example.com/", &["new=1; Max-Age=0"]);
    assert_eq!(jar.len(), 1);
}

#[test]
fn an_expires_in_the_past_deletes_the_cookie() {
    let (jar, _clock) = jar_at_now();
    receive(&jar, "http://example.com/", &["a=1"]);
    receive(
        &jar,
        "http://example.com/",
        &["a=; Expires=Thu, 01 Jan 1970 00:00:00 GMT"],
    );
    assert!(jar.is_empty());
    // set_cookie deletes the same way and reports no error.
    set(&jar, "http://example.com/", "b=1").unwrap();
    set(&jar, "http://example.com/", "b=1; Max-Age=0").unwrap();
    assert!(jar.is_empty());
}

#[test]
fn a_huge_max_age_is_capped_at_the_year_9999() {
    let (jar, clock) = jar_at_now();
    receive(
        &jar,
        "http://example.com/",
        &["a=1; Max-Age=99999999999999999999999999"],
    );
    assert_eq!(only_expiry(&jar), Some(253_402_300_799));
    jar.clear();
    receive(
        &jar,
        "http://example.com/",
        &["a=1; Max-Age=9223372036854775807"],
    );
    assert_eq!(only_expiry(&jar), Some(253_402_300_799));
    clock.advance(100.0 * 365.0 * 86400.0);
    assert_eq!(jar.len(), 1);
}

#[test]
fn a_far_expires_date_is_kept() {
    let (jar, _clock) = jar_at_now();
    receive(
        &jar,
        "http://example.com/",
        &["a=1; Expires=Fri, 31 Dec 9999 23:59:59 GMT"],
    );
    assert_eq!(only_expiry(&jar), Some(253_402_300_799));
}

#[test]
fn garbage_max_age_or_expires_is_ignored() {
    let (jar, clock) = jar_at_now();
    receive(
        &jar,
        "http://example.com/",
        &[
            "a=1; Max-Age=soon",
            "b=1; Expires=whenever",
            "c=1; Max-Age=1e3",
            "d=1; Max-Age=",
        ],
    );
    assert_eq!(jar.len(), 4);
    assert!(jar.cookies().iter().all(|c| c.expires_datetime().is_none()));
    // A garbage Max-Age leaves a good Expires in force.
    receive(
        &jar,
        "http://example.com/",
        &["e=1; Max-Age=12abc; Expires=Tue, 14 Nov 2023 23:13:20 GMT"],
    );
    clock.advance(3600.0);
    let names: Vec<_> = jar.cookies().iter().map(|c| c.name().to_owned()).collect();
    assert_eq!(names, ["a", "b", "c", "d"]);
}

#[test]
fn clear_expired_and_clear_session_cookies() {
    let (jar, clock) = jar_at_now();
    receive(
        &jar,
        "http://example.com/",
        &["session=1", "short=1; Max-Age=10", "long=1; Max-Age=1000"],
    );
    clock.advance(10.0);
    jar.clear_expired();
    // An expired cookie is gone for good: moving the clock back does not revive it.
    let names = |jar: &CookieJar| {
        jar.cookies()
            .iter()
            .map(|c| c.name().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&jar), ["session", "long"]);
    jar.clear_session_cookies();
    assert_eq!(names(&jar), ["long"]);
}

#[test]
fn the_system_clock_is_the_default() {
    let jar = CookieJar::new();
    receive(&jar, "http://example.com/", &["a=1; Max-Age=3600"]);
    let expires = only_expiry(&jar).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((expires - now - 3600).abs() <= 2, "{expires} vs {now}");
}

#[test]
fn the_last_valid_max_age_counts() {
    let (jar, _clock) = jar_at_now();
    receive(
        &jar,
        "http://example.com/",
        &["a=1; Max-Age=10; Max-Age=junk; max-age = 20 ; Max-Age=-"],
    );
    assert_eq!(only_expiry(&jar), Some(NOW as i64 + 20));
}
