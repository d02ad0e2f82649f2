//! `ProxyAgent` (plain http through a forward proxy) and `TunnelingEndpoint` (`CONNECT`
//! tunnels) against the test forward proxy of `tests/support/proxy.rs` in front of the httpbin
//! server, over real sockets; and the tunnel's edge cases against a scripted raw TCP proxy.
//!
//! https through the tunnel is in `tests/proxy_https.rs`.

mod support;

use bytes::Bytes;
use reactor::defer::{CancelledError, Deferred, Failure};
use reactor::endpoints::HostnameEndpoint;
use reactor::interfaces::{IProtocol, IStreamClientEndpoint, ITransport};
use reactor::Reactor;
use serde_json::Value;
use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;
use support::httpbin::HttpBin;
use support::proxy::{ForwardProxy, ProxyConfig};
use support::wait::run;
use treq::web::client::{
    read_body, Agent, BytesBodyProducer, EndpointFactory, HTTPConnectionPool, ProxyAgent,
    TunnelFailed, TunnelRefused, TunnelingEndpoint, TunnelingEndpointFactory,
};
use treq::web::error::SchemeNotSupported;
use treq::web::iweb::IAgent;
use treq::web::response::Response;

/// `Basic` for `user:pass`.
const USER_PASS: &str = "Basic dXNlcjpwYXNz";

fn proxy_endpoint(reactor: &Reactor, proxy_port: u16) -> Rc<dyn IStreamClientEndpoint> {
    Rc::new(HostnameEndpoint::new(reactor, "127.0.0.1", proxy_port).timeout(5.0))
}

/// The status, headers and JSON body of a response.
fn json_response(reactor: &Reactor, d: Deferred<Response>) -> (u16, Response, Value) {
    let d = d.add_callback(|response: Response| {
        read_body(&response).add_callback(move |body| (response, body))
    });
    let (response, body) = run(reactor, d, 10.0).unwrap();
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (response.code, response, value)
}

// ---------------------------------------------------------------------------------------------
// Plain http through the proxy.

#[test]
fn http_goes_to_the_proxy_in_absolute_form_with_the_origin_host() {
    let bin = HttpBin::start();
    let proxy = ForwardProxy::start();
    let reactor = Reactor::new();
    let pool = HTTPConnectionPool::new(&reactor, true);
    let agent = ProxyAgent::new(proxy_endpoint(&reactor, proxy.port()), &reactor, pool);
    let url = bin.url("/get?x=1");
    let (code, _, v) = json_response(&reactor, agent.request("GET", &url, None, None));
    assert_eq!(code, 200);
    assert_eq!(
        v["url"], url,
        "the origin answered the request it was meant for"
    );
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].line(), format!("GET {url} HTTP/1.1"));
    let host = format!("127.0.0.1:{}", bin.port());
    assert_eq!(seen[0].header("host"), Some(host.as_str()));
    assert_eq!(seen[0].header("proxy-authorization"), None);
}

#[test]
fn a_body_goes_through_the_proxy() {
    let bin = HttpBin::start();
    let proxy = ForwardProxy::start();
    let reactor = Reactor::new();
    let pool = HTTPConnectionPool::new(&reactor, false);
    let agent = ProxyAgent::new(proxy_endpoint(&reactor, proxy.port()), &reactor, pool);
    let body = Rc::new(BytesBodyProducer::new("through the proxy"));
    let d = agent.request("POST", &bin.url("/post"), None, Some(body));
    let (code, _, v) = json_response(&reactor, d);
    assert_eq!(code, 200);
    assert_eq!(v["data"], "through the proxy");
    assert_eq!(
        proxy.requests()[0].line(),
        format!("POST {} HTTP/1.1", bin.url("/post"))
    );
}

#[test]
fn proxy_credentials_go_to_the_proxy_and_no_further() {
    let bin = HttpBin::start();
    let proxy = ForwardProxy::with_config(ProxyConfig {
        require_auth: Some(USER_PASS.to_owned()),
        ..ProxyConfig::default()
    });
    let reactor = Reactor::new();
    let pool = HTTPConnectionPool::new(&reactor, true);
    let agent = ProxyAgent::new(proxy_endpoint(&reactor, proxy.port()), &reactor, pool)
        .proxy_credentials("user", "pass");
    let (code, _, v) = json_response(
        &reactor,
        agent.request("GET", &bin.url("/headers"), None, None),
    );
    assert_eq!(code, 200);
    assert_eq!(
        proxy.requests()[0].header("proxy-authorization"),
        Some(USER_PASS)
    );
    let headers = v["headers"].as_object().unwrap();
    assert!(!headers.contains_key("Proxy-Authorization"), "{headers:?}");
}

#[test]
fn without_credentials_the_proxy_answers_407() {
    let bin = HttpBin::start();
    let proxy = ForwardProxy::with_config(ProxyConfig {
        require_auth: Some(USER_PASS.to_owned()),
        ..ProxyConfig::default()
    });
    let reactor = Reactor::new();
    let anonymous = ProxyAgent::new(
        proxy_endpoint(&reactor, proxy.port()),
        &reactor,
        HTTPConnectionPool::new(&reactor, true),
    );
    let (code, response, _) = json_response(
        &reactor,
        anonymous.request("GET", &bin.url("/get"), None, None),
    );
    assert_eq!(code, 407);
    let challenge = response.headers.get_first("proxy-authenticate").unwrap();
    assert_eq!(&challenge[..], b"Basic realm=\"treq test proxy\"");
    let wrong = anonymous.clone().proxy_credentials("user", "wrong");
    let (code, _, _) = json_response(&reactor, wrong.request("GET", &bin.url("/get"), None, None));
    assert_eq!(code, 407);
    assert_eq!(bin.hits(), 0, "nothing reached the origin");
}

#[test]
fn the_pool_reuses_one_proxy_connection_for_every_origin() {
    let bin = HttpBin::start();
    let other = HttpBin::start();
    let proxy = ForwardProxy::start();
    let reactor = Reactor::new();
    let pool = HTTPConnectionPool::new(&reactor, true);
    let agent = ProxyAgent::new(
        proxy_endpoint(&reactor, proxy.port()),
        &reactor,
        pool.clone(),
    );
    for url in [bin.url("/get"), other.url("/get"), bin.url("/get?again")] {
        let (code, _, v) = json_response(&reactor, agent.request("GET", &url, None, None));
        assert_eq!((code, v["url"].as_str()), (200, Some(url.as_str())));
    }
    assert_eq!(proxy.connections(), 1);
    assert_eq!(pool.idle_count(&agent.pool_key()), 1);

    let with_credentials = agent.clone().proxy_credentials("user", "pass");
    assert_ne!(with_credentials.pool_key(), agent.pool_key());
    let d = with_credentials.request("GET", &bin.url("/get"), None, None);
    assert_eq!(json_response(&reactor, d).0, 200);
    assert_eq!(
        proxy.connections(),
        2,
        "other credentials, another connection"
    );
}

#[test]
fn https_and_bad_uris_are_typed_errors() {
    let reactor = Reactor::new();
    let agent = ProxyAgent::new(
        proxy_endpoint(&reactor, 9),
        &reactor,
        HTTPConnectionPool::new(&reactor, false),
    );
    let failure = run(
        &reactor,
        agent.request("GET", "https://example.test/", None, None),
        5.0,
    )
    .unwrap_err();
    assert_eq!(
        failure.value::<SchemeNotSupported>().unwrap().scheme,
        "https"
    );
    let failure = run(&reactor, agent.request("GET", "not a uri", None, None), 5.0).unwrap_err();
    assert!(failure.check::<treq::web::error::InvalidURI>(), "{failure}");
    let failure = run(
        &reactor,
        agent.request("G T", "http://example.test/", None, None),
        5.0,
    )
    .unwrap_err();
    assert!(
        failure.check::<treq::web::error::RequestGenerationFailed>(),
        "{failure}"
    );
}

// ---------------------------------------------------------------------------------------------
// CONNECT tunnels.

fn tunneling_agent(reactor: &Reactor, proxy: &ForwardProxy, credentials: bool) -> Agent {
    let mut factory = TunnelingEndpointFactory::new(proxy_endpoint(reactor, proxy.port()));
    if credentials {
        factory = factory.proxy_credentials("user", "pass");
    }
    Agent::using_endpoint_factory(
        reactor,
        Rc::new(factory),
        HTTPConnectionPool::new(reactor, true),
    )
}

#[test]
fn a_connect_tunnel_carries_plain_http_to_the_target() {
    let bin = HttpBin::start();
    let proxy = ForwardProxy::with_config(ProxyConfig {
        require_auth: Some(USER_PASS.to_owned()),
        ..ProxyConfig::default()
    });
    let reactor = Reactor::new();
    let agent = tunneling_agent(&reactor, &proxy, true);
    for n in 0..2 {
        let url = bin.url(&format!("/headers?n={n}"));
        let (code, _, v) = json_response(&reactor, agent.request("GET", &url, None, None));
        assert_eq!(code, 200);
        let headers = v["headers"].as_object().unwrap();
        assert!(!headers.contains_key("Proxy-Authorization"), "{headers:?}");
    }
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1, "the proxy saw only the CONNECT: {seen:?}");
    let target = format!("127.0.0.1:{}", bin.port());
    assert_eq!(seen[0].line(), format!("CONNECT {target} HTTP/1.1"));
    assert_eq!(seen[0].header("host"), Some(target.as_str()));
    assert_eq!(seen[0].header("proxy-authorization"), Some(USER_PASS));
    assert_eq!(
        (proxy.connections(), bin.connections(), bin.hits()),
        (1, 1, 2)
    );
}

#[test]
fn a_refused_connect_is_a_tunnel_refused_naming_the_status() {
    let bin = HttpBin::start();
    let proxy = ForwardProxy::with_config(ProxyConfig {
        refuse_connect: true,
        ..ProxyConfig::default()
    });
    let reactor = Reactor::new();
    let agent = tunneling_agent(&reactor, &proxy, false);
    let failure = run(
        &reactor,
        agent.request("GET", &bin.url("/get"), None, None),
        10.0,
    )
    .unwrap_err();
    let refused = failure.value::<TunnelRefused>().expect("a TunnelRefused");
    assert_eq!(
        (refused.status, refused.phrase.as_str()),
        (403, "Forbidden")
    );
    assert_eq!(refused.target, format!("127.0.0.1:{}", bin.port()));
    assert!(failure.to_string().contains("403 Forbidden"), "{failure}");
    assert_eq!(bin.hits(), 0);
}

#[test]
fn a_connect_without_credentials_is_refused_with_407() {
    let bin = HttpBin::start();
    let proxy = ForwardProxy::with_config(ProxyConfig {
        require_auth: Some(USER_PASS.to_owned()),
        ..ProxyConfig::default()
    });
    let reactor = Reactor::new();
    let agent = tunneling_agent(&reactor, &proxy, false);
    let failure = run(
        &reactor,
        agent.request("GET", &bin.url("/get"), None, None),
        10.0,
    )
    .unwrap_err();
    assert_eq!(
        failure.value::<TunnelRefused>().map(|r| r.status),
        Some(407)
    );
    assert!(failure.to_string().contains("credentials"), "{failure}");
}

#[test]
fn the_tunneling_factory_refuses_schemes_other_than_http_and_https() {
    let factory = TunnelingEndpointFactory::new(proxy_endpoint(&Reactor::new(), 9));
    let failure = factory
        .endpoint_for_uri("ftp", "localhost", 21)
        .err()
        .unwrap();
    assert_eq!(failure.value::<SchemeNotSupported>().unwrap().scheme, "ftp");
}

// ---------------------------------------------------------------------------------------------
// The tunnel's edge cases, against a scripted proxy: one connection, read the CONNECT head and
// send it on the channel, write `answer`, then (when `hold`) keep the connection until the
// client closes it and send an empty message.

fn scripted_proxy(answer: &'static [u8], hold: bool) -> (u16, mpsc::Receiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match stream.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                _ => break,
            }
        }
        let _ = tx.send(head);
        let _ = stream.write_all(answer);
        if hold {
            let mut sink = Vec::new();
            let _ = stream.read_to_end(&mut sink);
            let _ = tx.send(Vec::new());
        }
    });
    (port, rx)
}

/// A protocol that records what it is given; `got` fires once `want` bytes arrived.
#[derive(Default)]
struct Recorder {
    connected: RefCell<Option<Rc<dyn ITransport>>>,
    received: RefCell<Vec<u8>>,
    want: usize,
    got: Deferred<()>,
}

impl Recorder {
    fn close(&self) {
        let transport = self.connected.borrow().clone();
        if let Some(transport) = transport {
            transport.lose_connection();
        }
    }
}

impl IProtocol for Recorder {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        *self.connected.borrow_mut() = Some(transport);
    }
    fn data_received(&self, data: Bytes) {
        let len = {
            let mut received = self.received.borrow_mut();
            received.extend_from_slice(&data);
            received.len()
        };
        if len >= self.want && !self.got.called() {
            let _ = self.got.callback(());
        }
    }
    fn connection_lost(&self, _reason: Failure) {}
}

fn tunnel_to(reactor: &Reactor, port: u16) -> TunnelingEndpoint {
    TunnelingEndpoint::new(proxy_endpoint(reactor, port), "target.test", 8443)
}

#[test]
fn bytes_after_the_answer_reach_the_protocol_and_1xx_is_skipped() {
    let (port, head) = scripted_proxy(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 Connection established\r\nX-A: b\r\n\r\nfirst bytes",
        true,
    );
    let reactor = Reactor::new();
    let recorder = Rc::new(Recorder {
        want: b"first bytes".len(),
        ..Recorder::default()
    });
    let endpoint = tunnel_to(&reactor, port).proxy_credentials("user", "pass");
    run(&reactor, endpoint.connect(recorder.clone()), 10.0).unwrap();
    assert!(recorder.connected.borrow().is_some());
    assert_eq!(
        head.recv_timeout(Duration::from_secs(5)).unwrap(),
        format!("CONNECT target.test:8443 HTTP/1.1\r\nHost: target.test:8443\r\nProxy-Authorization: {USER_PASS}\r\n\r\n").as_bytes()
    );
    // The bytes that came with the answer go to the protocol, nothing else.
    run(&reactor, recorder.got.clone(), 5.0).unwrap();
    assert_eq!(&recorder.received.borrow()[..], b"first bytes");
    recorder.close();
}

#[test]
fn an_ipv6_target_is_bracketed() {
    let (port, head) = scripted_proxy(b"HTTP/1.1 200 OK\r\n\r\n", true);
    let reactor = Reactor::new();
    let recorder = Rc::new(Recorder::default());
    let endpoint = TunnelingEndpoint::new(proxy_endpoint(&reactor, port), "::1", 443);
    run(&reactor, endpoint.connect(recorder.clone()), 10.0).unwrap();
    let head = head.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(head.starts_with(b"CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n"));
    assert!(!String::from_utf8_lossy(&head).contains("Proxy-Authorization"));
    recorder.close();
}

#[test]
fn a_proxy_that_closes_before_answering_is_tunnel_failed() {
    let (port, _head) = scripted_proxy(b"", false);
    let reactor = Reactor::new();
    let recorder = Rc::new(Recorder::default());
    let failure = run(
        &reactor,
        tunnel_to(&reactor, port).connect(recorder.clone()),
        10.0,
    )
    .unwrap_err();
    let failed = failure.value::<TunnelFailed>().expect("a TunnelFailed");
    assert_eq!(failed.target, "target.test:8443");
    assert!(failed.reason.contains("closed"), "{failure}");
    assert!(
        recorder.connected.borrow().is_none(),
        "the protocol never saw the connection"
    );
}

#[test]
fn an_answer_that_is_not_http_is_tunnel_failed() {
    let (port, _head) = scripted_proxy(b"SSH-2.0-OpenSSH\r\n\r\n", true);
    let reactor = Reactor::new();
    let recorder = Rc::new(Recorder::default());
    let failure = run(
        &reactor,
        tunnel_to(&reactor, port).connect(recorder.clone()),
        10.0,
    )
    .unwrap_err();
    assert!(
        failure
            .value::<TunnelFailed>()
            .unwrap()
            .reason
            .contains("not HTTP"),
        "{failure}"
    );
    assert!(recorder.connected.borrow().is_none());
}

#[test]
fn a_target_with_a_line_break_is_refused_before_connecting() {
    let reactor = Reactor::new();
    let recorder = Rc::new(Recorder::default());
    let endpoint = TunnelingEndpoint::new(proxy_endpoint(&reactor, 9), "a\r\nX: y", 80);
    let failure = run(&reactor, endpoint.connect(recorder), 5.0).unwrap_err();
    assert!(failure.check::<TunnelFailed>(), "{failure}");
}

#[test]
fn cancelling_while_waiting_for_the_answer_drops_the_proxy_connection() {
    // The scripted proxy reads the CONNECT and answers nothing until the client closes.
    let (port, head) = scripted_proxy(b"", true);
    let reactor = Reactor::new();
    let recorder = Rc::new(Recorder::default());
    let d = tunnel_to(&reactor, port).connect(recorder.clone());
    let waiting = d.clone();
    let cancel = reactor.call_later(0.3, move || waiting.cancel());
    let failure = run(&reactor, d, 10.0).unwrap_err();
    let _ = cancel.cancel();
    assert!(failure.check::<CancelledError>(), "{failure}");
    assert!(head
        .recv_timeout(Duration::from_secs(5))
        .unwrap()
        .starts_with(b"CONNECT "));
    // Let the reactor carry out the abort, then the proxy sees the connection close.
    let later = Deferred::<()>::new();
    let fire = later.clone();
    reactor.call_later(0.2, move || {
        let _ = fire.callback(());
    });
    run(&reactor, later, 5.0).unwrap();
    let closed = head.recv_timeout(Duration::from_secs(5));
    assert_eq!(closed, Ok(Vec::new()), "the proxy connection was closed");
    assert!(recorder.connected.borrow().is_none());
}

#[test]
fn the_proxied_request_head_byte_for_byte() {
    let (port, head) = scripted_proxy(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true);
    let reactor = Reactor::new();
    let agent = ProxyAgent::new(
        proxy_endpoint(&reactor, port),
        &reactor,
        HTTPConnectionPool::new(&reactor, true),
    )
    .proxy_credentials("user", "pass");
    let d = agent
        .request("GET", "http://origin.test:8080/p?q=1#frag", None, None)
        .add_callback(|response: Response| read_body(&response));
    assert_eq!(&run(&reactor, d, 10.0).unwrap()[..], b"ok");
    assert_eq!(
        String::from_utf8(head.recv_timeout(Duration::from_secs(5)).unwrap()).unwrap(),
        format!(
            "GET http://origin.test:8080/p?q=1 HTTP/1.1\r\nHost: origin.test:8080\r\n\
             Proxy-Authorization: {USER_PASS}\r\n\r\n"
        )
    );
    agent.get_pool().close_cached_connections();
}

/// An endpoint whose connects never finish (kept pending), counting the ones cancelled.
#[derive(Default)]
struct Hanging {
    cancelled: Rc<std::cell::Cell<usize>>,
    pending: RefCell<Vec<Deferred<()>>>,
}

impl IStreamClientEndpoint for Hanging {
    fn connect(&self, _protocol: Rc<dyn IProtocol>) -> Deferred<()> {
        let cancelled = self.cancelled.clone();
        let d =
            Deferred::with_canceller(move |_: &Deferred<()>| cancelled.set(cancelled.get() + 1));
        self.pending.borrow_mut().push(d.clone());
        d
    }
}

#[test]
fn with_connect_timeout_gives_up_on_the_proxy_on_the_agents_clock() {
    let reactor = Reactor::new();
    let clock = Rc::new(reactor::task::Clock::new());
    let hanging = Rc::new(Hanging::default());
    let pool = HTTPConnectionPool::new(&reactor, false);
    let agent = ProxyAgent::new(hanging.clone(), &reactor, pool).clock(clock.clone());
    let timed = agent
        .with_connect_timeout(2.0)
        .expect("ProxyAgent times connects");
    let out: Rc<RefCell<Option<Result<Response, Failure>>>> = Rc::default();
    let o = out.clone();
    timed
        .request("GET", "http://example.test/", None, None)
        .add_both(move |r: Result<Response, Failure>| *o.borrow_mut() = Some(r));
    clock.advance(1.9);
    assert!(out.borrow().is_none());
    clock.advance(0.1);
    let failure = out.borrow_mut().take().expect("timed out").unwrap_err();
    assert!(
        matches!(
            failure.value::<reactor::error::ConnectError>(),
            Some(reactor::error::ConnectError::Timeout { seconds, .. }) if *seconds == 2.0
        ),
        "{failure}"
    );
    assert_eq!(hanging.cancelled.get(), 1, "the connect was cancelled");
    // Without it, nothing times the connect.
    let d = agent.request("GET", "http://example.test/", None, None);
    clock.advance(100.0);
    assert!(!d.called());
    d.cancel();
}
