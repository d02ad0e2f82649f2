//! Domain attributes that are public suffixes.

use super::*;

#[test]
fn public_suffix_domains_are_refused() {
    let (jar, _clock) = jar_at_now();
    for (from, domain, reported) in [
        ("http://www.example.com/", "com", "com"),
        ("http://www.example.com/", ".com", "com"),
        ("http://www.example.com/", "COM", "com"),
        ("http://www.example.com/", "com.", "com."),
        ("http://www.example.co.uk/", "co.uk", "co.uk"),
        ("http://www.example.co.uk/", "Co.UK", "co.uk"),
        ("http://www.example.co.uk/", ".co.uk.", "co.uk."),
        ("http://a.github.io/", "github.io", "github.io"),
        ("http://www.example.xn--55qx5d/", "公司.cn", "公司.cn"),
        ("http://www.example.xn--55qx5d/", "xn--55qx5d", "xn--55qx5d"),
    ] {
        let err = set(&jar, from, &format!("a=1; Domain={domain}")).unwrap_err();
        assert_eq!(
            err,
            CookieError::PublicSuffix {
                domain: reported.into()
            },
            "Domain={domain} from {from}"
        );
        assert!(err.to_string().contains("public suffix"), "{err}");
    }
    receive(&jar, "http://www.example.co.uk/", &["b=1; Domain=co.uk"]);
    assert!(jar.is_empty());
    assert_eq!(header(&jar, "http://other.co.uk/"), None);
}

#[test]
fn a_registrable_domain_under_a_public_suffix_is_fine() {
    let (jar, _clock) = jar_at_now();
    set(
        &jar,
        "http://www.example.co.uk/",
        "a=1; Domain=Example.CO.uk",
    )
    .unwrap();
    assert_eq!(
        header(&jar, "http://shop.example.co.uk/").as_deref(),
        Some("a=1")
    );
    assert_eq!(header(&jar, "http://other.co.uk/"), None);
}

#[test]
fn a_public_suffix_host_may_set_a_host_only_cookie_for_itself() {
    let (jar, _clock) = jar_at_now();
    set(&jar, "http://github.io/", "a=1; Domain=github.io").unwrap();
    assert_eq!(header(&jar, "http://github.io/").as_deref(), Some("a=1"));
    assert_eq!(header(&jar, "http://x.github.io/"), None);
}

#[test]
fn names_unknown_to_the_list_are_not_public_suffixes() {
    // `localhost` and private names are not on the list: a site may scope cookies to them.
    let (jar, _clock) = jar_at_now();
    set(&jar, "http://app.localhost/", "a=1; Domain=localhost").unwrap();
    assert_eq!(
        header(&jar, "http://api.localhost/").as_deref(),
        Some("a=1")
    );
}
