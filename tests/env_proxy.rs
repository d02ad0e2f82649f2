//! `EnvProxyAgent` over real sockets: environments (given as maps, never the process's) that
//! send requests through the test forward proxy of `tests/support/proxy.rs` — absolute-form
//! for http, a `CONNECT` tunnel with TLS to the origin for https — or, by `NO_PROXY` and the
//! httpoxy rule, straight to the httpbin server.

mod support;

use reactor::defer::Deferred;
use reactor::error::ConnectError;
use reactor::tls::TrustRoot;
use reactor::Reactor;
use serde_json::Value;
use std::collections::HashMap;
use std::net::TcpListener;
use support::httpbin::HttpBin;
use support::proxy::{ForwardProxy, ProxyConfig};
use support::wait::run;
use treq::client::HTTPClient;
use treq::web::client::{
    read_body, BrowserLikePolicyForHTTPS, EnvProxies, EnvProxyAgent, HTTPConnectionPool, ProxyAgent,
};
use treq::web::iweb::IAgent;
use treq::web::response::Response;

/// `Basic` for `user:p@ss`.
const USER_PASS: &str = "Basic dXNlcjpwQHNz";

fn authenticating_proxy() -> ForwardProxy {
    ForwardProxy::with_config(ProxyConfig {
        require_auth: Some(USER_PASS.to_owned()),
        ..ProxyConfig::default()
    })
}

/// The proxy's URL with the credentials of [`USER_PASS`], the `@` of the password escaped.
fn proxy_url(proxy: &ForwardProxy) -> String {
    format!("http://user:p%40ss@127.0.0.1:{}", proxy.port())
}

fn proxies(vars: &[(&str, &str)]) -> EnvProxies {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    EnvProxies::from_lookup(|name| map.get(name).cloned()).expect("usable variables")
}

/// An agent on `proxies` that trusts `bin`'s CA, direct or tunneled.
fn agent(reactor: &Reactor, bin: &HttpBin, proxies: EnvProxies) -> EnvProxyAgent {
    let trust = TrustRoot::from_pem(bin.ca_pem().as_bytes()).unwrap();
    EnvProxyAgent::new(reactor, HTTPConnectionPool::new(reactor, true), proxies)
        .context_factory(BrowserLikePolicyForHTTPS::with_trust_root(trust))
        .connect_timeout(5.0)
}

/// The status and JSON body of a response.
fn json_response(reactor: &Reactor, d: Deferred<Response>) -> (u16, Value) {
    let d = d.add_callback(|response: Response| {
        read_body(&response).add_callback(move |body| (response.code, body))
    });
    let (code, body) = run(reactor, d, 10.0).unwrap();
    (code, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn get(reactor: &Reactor, agent: &dyn IAgent, url: &str) -> Value {
    let (code, v) = json_response(reactor, agent.request("GET", url, None, None));
    assert_eq!(code, 200, "{url}: {v}");
    v
}

#[test]
fn http_goes_through_http_proxy_with_the_urls_credentials() {
    let (bin, proxy, reactor) = (HttpBin::start(), authenticating_proxy(), Reactor::new());
    let url = proxy_url(&proxy);
    let agent = agent(&reactor, &bin, proxies(&[("http_proxy", &url)]));
    let v = get(&reactor, &agent, &bin.url("/headers?n=1"));
    let headers = v["headers"].as_object().unwrap();
    assert!(!headers.contains_key("Proxy-Authorization"), "{headers:?}");
    get(&reactor, &agent, &bin.url("/get"));
    let seen = proxy.requests();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(
        seen[0].line(),
        format!("GET {} HTTP/1.1", bin.url("/headers?n=1"))
    );
    assert_eq!(seen[0].header("proxy-authorization"), Some(USER_PASS));
    assert_eq!(proxy.connections(), 1, "one pooled connection to the proxy");
    // No https proxy is set: https goes direct.
    get(&reactor, &agent, &bin.https_url("/get"));
    assert_eq!(proxy.requests().len(), 2);
}

#[test]
fn https_goes_through_a_connect_tunnel_with_tls_to_the_origin() {
    let (bin, proxy, reactor) = (HttpBin::start(), authenticating_proxy(), Reactor::new());
    // Without a scheme, as many environments write it.
    let setting = format!("user:p%40ss@127.0.0.1:{}", proxy.port());
    let agent = agent(&reactor, &bin, proxies(&[("HTTPS_PROXY", &setting)]));
    for n in 0..2 {
        let v = get(&reactor, &agent, &bin.https_url(&format!("/headers?n={n}")));
        let headers = v["headers"].as_object().unwrap();
        assert!(!headers.contains_key("Proxy-Authorization"), "{headers:?}");
    }
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1, "the proxy saw only the CONNECT: {seen:?}");
    let target = format!("localhost:{}", bin.https_port());
    assert_eq!(seen[0].line(), format!("CONNECT {target} HTTP/1.1"));
    assert_eq!(seen[0].header("proxy-authorization"), Some(USER_PASS));
    // http has no proxy of its own here: direct.
    get(&reactor, &agent, &bin.url("/get"));
    assert_eq!((proxy.connections(), proxy.requests().len()), (1, 1));
}

#[test]
fn all_proxy_serves_both_schemes_and_no_proxy_sends_hosts_direct() {
    let (bin, proxy, reactor) = (HttpBin::start(), authenticating_proxy(), Reactor::new());
    let url = proxy_url(&proxy);
    // 127.0.0.1 goes direct; localhost (the https URLs) goes through the proxy.
    let vars = [
        ("ALL_PROXY", url.as_str()),
        ("no_proxy", "example.com, 127.0.0.0/8"),
    ];
    let agent = agent(&reactor, &bin, proxies(&vars));
    get(&reactor, &agent, &bin.url("/get"));
    assert_eq!(proxy.connections(), 0, "127.0.0.1 is in NO_PROXY's block");
    get(&reactor, &agent, &bin.https_url("/get"));
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].method, "CONNECT");
    // A port entry sends only that port direct.
    let https_port = format!("localhost:{}", bin.https_port());
    let vars = [
        ("all_proxy", url.as_str()),
        ("NO_PROXY", https_port.as_str()),
    ];
    let agent = self::agent(&reactor, &bin, proxies(&vars));
    get(&reactor, &agent, &bin.https_url("/get"));
    assert_eq!(
        proxy.requests().len(),
        1,
        "localhost:{} went direct",
        bin.https_port()
    );
    get(&reactor, &agent, &bin.url("/get"));
    let seen = proxy.requests();
    assert_eq!(seen.len(), 2, "127.0.0.1 is not in this NO_PROXY");
    assert_eq!(seen[1].line(), format!("GET {} HTTP/1.1", bin.url("/get")));
}

#[test]
fn http_proxy_is_ignored_when_request_method_is_set() {
    let (bin, proxy, reactor) = (HttpBin::start(), ForwardProxy::start(), Reactor::new());
    let url = format!("http://127.0.0.1:{}", proxy.port());
    let vars = [("HTTP_PROXY", url.as_str()), ("REQUEST_METHOD", "GET")];
    let agent = agent(&reactor, &bin, proxies(&vars));
    get(&reactor, &agent, &bin.url("/get"));
    assert_eq!(
        proxy.connections(),
        0,
        "a CGI request's Proxy: header is not obeyed"
    );
    assert_eq!(bin.hits(), 1);
}

#[test]
fn treq_client_over_the_environment_with_a_per_request_connect_timeout() {
    let (bin, proxy, reactor) = (HttpBin::start(), authenticating_proxy(), Reactor::new());
    let url = proxy_url(&proxy);
    let agent = agent(&reactor, &bin, proxies(&[("all_proxy", &url)]));
    let client = HTTPClient::new(agent);
    for target in [bin.url("/get"), bin.https_url("/get")] {
        let d = client
            .get(target.as_str())
            .connect_timeout(5.0)
            .send()
            .add_callback(|response| response.json::<Value>());
        let v = run(&reactor, d, 10.0).unwrap();
        assert!(v["url"].as_str().unwrap().ends_with("/get"), "{v}");
    }
    let methods: Vec<String> = proxy.requests().into_iter().map(|s| s.method).collect();
    assert_eq!(methods, ["GET", "CONNECT"]);
}

#[test]
fn a_proxy_on_an_ipv6_literal_serves_both_schemes() {
    let (bin, reactor) = (HttpBin::start(), Reactor::new());
    let proxy = ForwardProxy::with_config(ProxyConfig {
        require_auth: Some(USER_PASS.to_owned()),
        ipv6: true,
        ..ProxyConfig::default()
    });
    let url = format!("http://user:p%40ss@[::1]:{}/", proxy.port());
    let agent = agent(&reactor, &bin, proxies(&[("all_proxy", &url)]));
    get(&reactor, &agent, &bin.url("/get"));
    get(&reactor, &agent, &bin.https_url("/get"));
    let lines: Vec<String> = proxy.requests().iter().map(|s| s.line()).collect();
    let expected = [
        format!("GET {} HTTP/1.1", bin.url("/get")),
        format!("CONNECT localhost:{} HTTP/1.1", bin.https_port()),
    ];
    assert_eq!(lines, expected);
}

#[test]
fn an_unreachable_proxy_fails_with_a_connect_error() {
    let (bin, reactor) = (HttpBin::start(), Reactor::new());
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let agent = agent(&reactor, &bin, proxies(&[("http_proxy", &url)]));
    let failure = run(
        &reactor,
        agent.request("GET", &bin.url("/get"), None, None),
        10.0,
    )
    .unwrap_err();
    let error = failure
        .value::<ConnectError>()
        .unwrap_or_else(|| panic!("not a connect error: {failure}"));
    assert!(
        matches!(error, ConnectError::ConnectionRefused { .. }),
        "{error}"
    );
    assert_eq!(bin.hits(), 0);
}

#[test]
fn proxy_agent_from_env_reads_the_process_environment() {
    // Only reads: whatever the environment running the tests holds, it either is usable or is
    // reported as a typed error, and the agent's proxies are what EnvProxies::from_env reads.
    let reactor = Reactor::new();
    let pool = HTTPConnectionPool::new(&reactor, false);
    match (ProxyAgent::from_env(&reactor, pool), EnvProxies::from_env()) {
        (Ok(agent), Ok(proxies)) => assert_eq!(agent.proxies(), &proxies),
        (Err(a), Err(b)) => assert_eq!(a, b),
        (a, b) => panic!("disagree: {a:?} / {b:?}"),
    }
}
