//! The selection rules of [`EnvProxies`], on environments given as maps.

use super::*;
use std::collections::HashMap;

fn env(vars: &[(&str, &str)]) -> Result<EnvProxies, ProxyEnvError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    EnvProxies::from_lookup(|name| map.get(name).cloned())
}

fn hostport(proxy: Option<&ProxyUrl>) -> Option<(String, u16)> {
    proxy.map(|p| (p.host.clone(), p.port))
}

fn via(proxies: &EnvProxies, url: &str) -> Option<(String, u16)> {
    hostport(proxies.proxy_for_url(url))
}

fn some(host: &str, port: u16) -> Option<(String, u16)> {
    Some((host.to_owned(), port))
}

#[test]
fn each_scheme_uses_its_own_variable() {
    let p = env(&[("http_proxy", "http://h:1"), ("https_proxy", "http://s:2")]).unwrap();
    assert_eq!(via(&p, "http://example.com/"), some("h", 1));
    assert_eq!(via(&p, "https://example.com/"), some("s", 2));
    assert_eq!(via(&p, "ftp://example.com/"), None);
    let only_https = env(&[("HTTPS_PROXY", "http://s:2")]).unwrap();
    assert_eq!(via(&only_https, "http://example.com/"), None);
    assert_eq!(via(&only_https, "https://example.com/"), some("s", 2));
    assert_eq!(env(&[]).unwrap(), EnvProxies::default());
}

#[test]
fn lower_case_wins_over_upper_case_and_empty_is_unset() {
    let p = env(&[
        ("http_proxy", "http://lower:1"),
        ("HTTP_PROXY", "http://upper:2"),
    ])
    .unwrap();
    assert_eq!(via(&p, "http://example.com/"), some("lower", 1));
    let p = env(&[("http_proxy", " "), ("HTTP_PROXY", "http://upper:2")]).unwrap();
    assert_eq!(via(&p, "http://example.com/"), some("upper", 2));
    let p = env(&[("https_proxy", ""), ("all_proxy", "http://all:3")]).unwrap();
    assert_eq!(via(&p, "https://example.com/"), some("all", 3));
}

#[test]
fn all_proxy_covers_both_schemes_when_theirs_is_unset() {
    let p = env(&[("ALL_PROXY", "http://all:3"), ("http_proxy", "http://h:1")]).unwrap();
    assert_eq!(via(&p, "http://example.com/"), some("h", 1));
    assert_eq!(via(&p, "https://example.com/"), some("all", 3));
}

#[test]
fn request_method_set_ignores_http_proxy_httpoxy() {
    let vars = [
        ("REQUEST_METHOD", "GET"),
        ("HTTP_PROXY", "http://attacker:1"),
        ("http_proxy", "http://attacker:1"),
        ("https_proxy", "http://s:2"),
    ];
    let p = env(&vars).unwrap();
    assert_eq!(via(&p, "http://example.com/"), None);
    assert_eq!(via(&p, "https://example.com/"), some("s", 2));
    // A bad value in an ignored variable is not read at all.
    let p = env(&[("REQUEST_METHOD", "POST"), ("HTTP_PROXY", "socks5://x")]).unwrap();
    assert_eq!(p.http, None);
    // all_proxy cannot come from a request header and still applies.
    let p = env(&[("REQUEST_METHOD", "GET"), ("all_proxy", "http://all:3")]).unwrap();
    assert_eq!(via(&p, "http://example.com/"), some("all", 3));
    // Outside CGI (REQUEST_METHOD unset or empty) HTTP_PROXY counts.
    let p = env(&[("REQUEST_METHOD", ""), ("HTTP_PROXY", "http://h:1")]).unwrap();
    assert_eq!(via(&p, "http://example.com/"), some("h", 1));
}

#[test]
fn no_proxy_sends_matching_hosts_direct() {
    let vars = [
        ("all_proxy", "http://all:3"),
        (
            "no_proxy",
            "localhost, .corp.example, 10.0.0.0/8, [::1]:8080",
        ),
    ];
    let p = env(&vars).unwrap();
    assert_eq!(via(&p, "http://localhost:5000/"), None);
    assert_eq!(via(&p, "https://git.corp.example/"), None);
    assert_eq!(via(&p, "http://corp.example/"), None);
    assert_eq!(via(&p, "http://10.1.1.1/"), None);
    assert_eq!(via(&p, "http://[::1]:8080/"), None);
    assert_eq!(via(&p, "http://[::1]:8081/"), some("all", 3));
    assert_eq!(via(&p, "http://11.1.1.1/"), some("all", 3));
    assert_eq!(via(&p, "https://example.com/"), some("all", 3));
    // Default ports count for port entries.
    let p = env(&[
        ("all_proxy", "http://all:3"),
        ("NO_PROXY", "example.com:443"),
    ])
    .unwrap();
    assert_eq!(via(&p, "https://example.com/"), None);
    assert_eq!(via(&p, "http://example.com/"), some("all", 3));
    let p = env(&[("all_proxy", "http://all:3"), ("no_proxy", "*")]).unwrap();
    assert_eq!(via(&p, "https://anything.example/"), None);
}

#[test]
fn proxy_urls_carry_credentials_ports_and_ipv6() {
    let p = ProxyUrl::parse("http://us%40er:p%3Ass@[::1]:3128/").unwrap();
    assert_eq!((p.host.as_str(), p.port), ("::1", 3128));
    assert_eq!(p.credentials, Some(("us@er".to_owned(), "p:ss".to_owned())));
    assert_eq!(p.to_string(), "http://[::1]:3128");
    assert!(
        !format!("{p:?}").contains("p:ss"),
        "Debug hides the password"
    );
    let bare = ProxyUrl::parse("proxy.corp:8080").unwrap();
    assert_eq!(
        (bare.host.as_str(), bare.port, bare.credentials),
        ("proxy.corp", 8080, None)
    );
    assert_eq!(ProxyUrl::parse("http://proxy.corp").unwrap().port, 80);
    assert_eq!(ProxyUrl::parse("10.0.0.1").unwrap().host, "10.0.0.1");
    let user_only = ProxyUrl::parse("http://user@proxy").unwrap();
    assert_eq!(
        user_only.credentials,
        Some(("user".to_owned(), String::new()))
    );
}

#[test]
fn unusable_settings_are_typed_errors_naming_the_variable() {
    let error = env(&[("ALL_PROXY", "socks5://user:hunter2@proxy:1080")]).unwrap_err();
    assert_eq!(
        error,
        ProxyEnvError::Proxy {
            variable: "ALL_PROXY".to_owned(),
            error: ProxyUrlError::UnsupportedScheme("socks5".to_owned()),
        }
    );
    let message = error.to_string();
    assert!(message.starts_with("ALL_PROXY: "), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    for value in [
        "http://",
        "http://proxy:notaport",
        "http://proxy/path",
        "https://p",
    ] {
        let error = env(&[("https_proxy", value)]).unwrap_err();
        assert!(
            matches!(&error, ProxyEnvError::Proxy { variable, .. } if variable == "https_proxy"),
            "{value}: {error:?}"
        );
    }
    let error = env(&[("no_proxy", "ok.example,10.0.0.0/40")]).unwrap_err();
    assert!(
        matches!(&error, ProxyEnvError::NoProxy { variable, error } if variable == "no_proxy" && error.entry == "10.0.0.0/40"),
        "{error:?}"
    );
    assert!(error.to_string().contains("10.0.0.0/40"), "{error}");
}
