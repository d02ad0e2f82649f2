//! https through a forward proxy's `CONNECT` tunnel: an `Agent` over a
//! `TunnelingEndpointFactory` runs TLS to the origin (the httpbin server's HTTPS port,
//! trusting its test CA) inside the tunnel of the test proxy (`tests/support/proxy.rs`), over
//! real sockets. Plain http through the proxy and the tunnel's own edge cases are in
//! `tests/proxy.rs`.

mod support;

use reactor::defer::Deferred;
use reactor::endpoints::HostnameEndpoint;
use reactor::interfaces::IStreamClientEndpoint;
use reactor::tls::{TLSError, TLSErrorKind, TrustRoot};
use reactor::Reactor;
use serde_json::Value;
use std::rc::Rc;
use support::httpbin::HttpBin;
use support::proxy::{ForwardProxy, ProxyConfig};
use support::wait::run;
use treq::web::client::{
    read_body, Agent, BrowserLikePolicyForHTTPS, BytesBodyProducer, HTTPConnectionPool,
    TunnelingEndpointFactory,
};
use treq::web::error::ResponseNeverReceived;
use treq::web::iweb::IAgent;
use treq::web::response::Response;

/// `Basic` for `user:pass`.
const USER_PASS: &str = "Basic dXNlcjpwYXNz";

fn proxy_endpoint(reactor: &Reactor, proxy_port: u16) -> Rc<dyn IStreamClientEndpoint> {
    Rc::new(HostnameEndpoint::new(reactor, "127.0.0.1", proxy_port).timeout(5.0))
}

/// The status and JSON body of a response.
fn json_response(reactor: &Reactor, d: Deferred<Response>) -> (u16, Value) {
    let d = d.add_callback(|response: Response| {
        read_body(&response).add_callback(move |body| (response.code, body))
    });
    let (code, body) = run(reactor, d, 10.0).unwrap();
    (code, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// A tunneling agent on `pool` whose factory trusts `bin`'s CA (or the default roots).
fn https_tunneling_agent(
    reactor: &Reactor,
    proxy: &ForwardProxy,
    trust: Option<&HttpBin>,
    pool: HTTPConnectionPool,
) -> Agent {
    let mut factory = TunnelingEndpointFactory::new(proxy_endpoint(reactor, proxy.port()))
        .proxy_credentials("user", "pass");
    if let Some(bin) = trust {
        factory = factory.context_factory(trusting(bin));
    }
    Agent::using_endpoint_factory(reactor, Rc::new(factory), pool)
}

fn trusting(bin: &HttpBin) -> BrowserLikePolicyForHTTPS {
    BrowserLikePolicyForHTTPS::with_trust_root(
        TrustRoot::from_pem(bin.ca_pem().as_bytes()).unwrap(),
    )
}

fn authenticating_proxy() -> ForwardProxy {
    ForwardProxy::with_config(ProxyConfig {
        require_auth: Some(USER_PASS.to_owned()),
        ..ProxyConfig::default()
    })
}

#[test]
fn https_goes_through_the_tunnel_with_credentials_on_the_connect_only() {
    let bin = HttpBin::start();
    let proxy = authenticating_proxy();
    let reactor = Reactor::new();
    let pool = HTTPConnectionPool::new(&reactor, true);
    let agent = https_tunneling_agent(&reactor, &proxy, Some(&bin), pool);
    for n in 0..2 {
        let url = bin.https_url(&format!("/headers?n={n}"));
        let (code, v) = json_response(&reactor, agent.request("GET", &url, None, None));
        assert_eq!(code, 200);
        let headers = v["headers"].as_object().unwrap();
        assert!(!headers.contains_key("Proxy-Authorization"), "{headers:?}");
        assert_eq!(headers["Host"], format!("localhost:{}", bin.https_port()));
    }
    let body = Rc::new(BytesBodyProducer::new("sealed"));
    let d = agent.request("POST", &bin.https_url("/post"), None, Some(body));
    let (code, v) = json_response(&reactor, d);
    assert_eq!((code, v["data"].as_str()), (200, Some("sealed")));
    assert!(v["url"].as_str().unwrap().starts_with("https://"), "{v}");
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1, "the proxy saw only the CONNECT: {seen:?}");
    let target = format!("localhost:{}", bin.https_port());
    assert_eq!(seen[0].line(), format!("CONNECT {target} HTTP/1.1"));
    assert_eq!(seen[0].header("proxy-authorization"), Some(USER_PASS));
    assert_eq!(
        (proxy.connections(), bin.connections(), bin.hits()),
        (1, 1, 3),
        "one tunnel, one TLS connection, reused"
    );
}

#[test]
fn timings_through_the_tunnel_are_the_proxy_connect_then_the_origin_handshake() {
    let bin = HttpBin::start();
    let proxy = authenticating_proxy();
    let reactor = Reactor::new();
    let agent = https_tunneling_agent(
        &reactor,
        &proxy,
        Some(&bin),
        HTTPConnectionPool::new(&reactor, true),
    );
    let fetch = |n: u32| {
        let url = bin.https_url(&format!("/get?n={n}"));
        let d = agent
            .request("GET", &url, None, None)
            .add_callback(|r: Response| read_body(&r).add_callback(move |_| r.timings()));
        run(&reactor, d, 10.0).unwrap()
    };
    let first = fetch(0);
    assert!(!first.reused());
    let lookup = first.time_namelookup().expect("the proxy's address");
    let connect = first.time_connect().expect("the proxy's connect");
    let tls = first
        .time_appconnect()
        .expect("TLS with the origin, in the tunnel");
    let ttfb = first.time_starttransfer().unwrap();
    assert!(lookup <= connect && connect < tls && tls <= ttfb, "{first}");
    assert!(ttfb <= first.time_total().unwrap(), "{first}");
    let second = fetch(1);
    assert!(
        second.reused() && second.time_appconnect().is_none(),
        "{second}"
    );
    assert_eq!(proxy.connections(), 1);
}

#[test]
fn https_through_the_tunnel_is_verified_against_the_origin() {
    // The default policy does not trust httpbin's private CA: the TLS handshake inside the
    // tunnel is with the origin, and it fails there.
    let bin = HttpBin::start();
    let proxy = authenticating_proxy();
    let reactor = Reactor::new();
    let agent = https_tunneling_agent(
        &reactor,
        &proxy,
        None,
        HTTPConnectionPool::new(&reactor, false),
    );
    let failure = run(
        &reactor,
        agent.request("GET", &bin.https_url("/get"), None, None),
        10.0,
    )
    .unwrap_err();
    let error = failure
        .value::<ResponseNeverReceived>()
        .and_then(|e| {
            e.reasons
                .iter()
                .find_map(|r| r.value::<TLSError>().cloned())
        })
        .unwrap_or_else(|| panic!("not a TLS failure: {failure}"));
    assert_eq!(error.kind(), TLSErrorKind::UnknownIssuer);
    assert_eq!(error.host(), "localhost");
    assert_eq!(proxy.requests().len(), 1, "the CONNECT went through");
    assert_eq!(bin.hits(), 0);
}

#[test]
fn tunneled_connections_are_pooled_apart_from_direct_ones_and_per_policy() {
    let bin = HttpBin::start();
    let proxy = authenticating_proxy();
    let reactor = Reactor::new();
    let pool = HTTPConnectionPool::new(&reactor, true);
    let get = |agent: &Agent, url: &str| {
        let (code, _) = json_response(&reactor, agent.request("GET", url, None, None));
        assert_eq!(code, 200);
    };
    let (http, https) = (bin.url("/get"), bin.https_url("/get"));
    // Direct connections first, left idle in the shared pool.
    let direct = Agent::new(&reactor)
        .pool(pool.clone())
        .context_factory(trusting(&bin));
    get(&direct, &http);
    get(&direct, &https);
    assert_eq!((bin.connections(), proxy.connections()), (2, 0));
    // The tunneling agent does not take them: it opens tunnels of its own.
    let tunneled = https_tunneling_agent(&reactor, &proxy, Some(&bin), pool.clone());
    get(&tunneled, &http);
    get(&tunneled, &https);
    assert_eq!((bin.connections(), proxy.connections()), (4, 2));
    // And the direct agent does not take the tunnels.
    get(&direct, &https);
    assert_eq!(bin.connections(), 4);
    // Another policy through another factory: another tunnel.
    let other_policy = https_tunneling_agent(&reactor, &proxy, Some(&bin), pool.clone());
    get(&other_policy, &https);
    assert_eq!(proxy.connections(), 3);
    // The first tunneling agent still finds its own.
    get(&tunneled, &https);
    get(&tunneled, &http);
    assert_eq!((bin.connections(), proxy.connections()), (5, 3));
    assert_eq!(
        proxy.requests().len(),
        3,
        "a CONNECT per tunnel, nothing else"
    );
    pool.close_cached_connections();
}
