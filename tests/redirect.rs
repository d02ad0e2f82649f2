//! RedirectAgent and BrowserLikeRedirectAgent against hyper servers over real sockets: chains,
//! method rewriting, body replay, limits, Location handling, credentials across origins, and
//! the redirect body drained so the connection is reused.

mod support;

use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;

use reactor::defer::CancelledError;
use reactor::defer::{Deferred, Failure};
use reactor::endpoints::HostnameEndpoint;
use reactor::interfaces::{IConsumer, IStreamClientEndpoint};
use reactor::Reactor;
use std::rc::Rc;
use support::wait_until;
use support::{reply, run, serve, Out, Seen, Server};
use treq::web::client::{
    read_body, Agent, BrowserLikeRedirectAgent, BytesBodyProducer, ContentDecoderAgent,
    EndpointFactory, HTTPConnectionPool, InfiniteRedirection, InvalidRedirectLocation,
    PageRedirect, RedirectAgent, RedirectBodyNotReplayable, RedirectWithNoLocation,
    REDIRECT_DRAIN_LIMIT,
};
use treq::web::error::ResponseFailed;
use treq::web::error::SchemeNotSupported;
use treq::web::http_headers::Headers;
use treq::web::iweb::{IAgent, IBodyProducer};
use treq::web::response::Response;

/// Routes:
/// * `/redirect/N`: 302 to `/redirect/N-1` (relative), with a 2 KiB body; `/redirect/0` is 200.
/// * `/absolute/N`: as `/redirect/N` with an absolute Location built from `Host`.
/// * `/to?code=C&location=L[&size=N][&gzip=1]`: status C, Location L, a body of N bytes
///   (default 13), gzip-encoded with `gzip`.
/// * `/stall`: 302 to `/echo` with a body that starts and never ends.
/// * `/loop`: 302 to itself. `/nolocation`: 302 without Location.
/// * anything else: 200, body `ok`.
fn handler(seen: &Seen) -> hyper::Response<Out> {
    let path = seen.path().to_owned();
    let host = seen.header("host").unwrap_or("?").to_owned();
    if let Some(n) = path.strip_prefix("/redirect/") {
        return chain("/redirect/", n, "");
    }
    if let Some(n) = path.strip_prefix("/absolute/") {
        return chain("/absolute/", n, &format!("http://{host}"));
    }
    match path.as_str() {
        "/to" => {
            let code = seen.param("code").unwrap().parse().unwrap();
            let location = seen.param("location").unwrap();
            let size: usize = seen.param("size").map_or(13, |s| s.parse().unwrap());
            let mut headers = vec![
                ("location", location.as_str()),
                ("content-type", "text/plain"),
            ];
            let mut body = vec![b'r'; size];
            if seen.param("gzip").is_some() {
                let mut e = GzEncoder::new(Vec::new(), Compression::default());
                e.write_all(&body).unwrap();
                body = e.finish().unwrap();
                headers.push(("content-encoding", "gzip"));
            }
            reply(code, &headers, Out::full(body))
        }
        "/stall" => reply(
            302,
            &[("location", "/echo")],
            Out::Stall(Some("a start".into())),
        ),
        "/bad-location" => reply(302, &[("location", "http://[::1")], Out::full("bad")),
        "/loop" => reply(302, &[("location", "/loop")], Out::full("again")),
        "/nolocation" => reply(302, &[], Out::full("nowhere")),
        _ => reply(200, &[], Out::full("ok")),
    }
}

fn chain(prefix: &str, n: &str, origin: &str) -> hyper::Response<Out> {
    let n: u32 = n.parse().unwrap();
    if n == 0 {
        return reply(200, &[], Out::full("done"));
    }
    let location = format!("{origin}{prefix}{}", n - 1);
    reply(302, &[("location", &location)], Out::full(vec![b'x'; 2048]))
}

fn to(server: &Server, code: u16, location: &str) -> String {
    let location: String = url::form_urlencoded::byte_serialize(location.as_bytes()).collect();
    server.url(&format!("/to?code={code}&location={location}"))
}

fn persistent_agent(reactor: &Reactor) -> Rc<dyn IAgent> {
    Rc::new(Agent::new(reactor).pool(HTTPConnectionPool::new(reactor, true)))
}

/// The response and its body.
fn fetch(reactor: &Reactor, d: Deferred<Response>) -> (Response, String) {
    let d = d.add_callback(|response: Response| {
        read_body(&response).add_callback(move |body| (response, body))
    });
    let (response, body) = run(reactor, d, 10.0).unwrap();
    (response, String::from_utf8(body.to_vec()).unwrap())
}

/// The failure of `d`, which must fail.
fn failure(reactor: &Reactor, d: Deferred<Response>) -> Failure {
    match run(reactor, d, 10.0) {
        Ok(r) => panic!("expected a failure, got {r:?}"),
        Err(f) => f,
    }
}

/// The single reason inside a `ResponseFailed`.
fn reason<E: std::error::Error + 'static>(f: &Failure) -> &E {
    let failed = f
        .value::<ResponseFailed>()
        .unwrap_or_else(|| panic!("not ResponseFailed: {f}"));
    assert_eq!(failed.reasons.len(), 1, "{f}");
    failed.reasons[0]
        .value::<E>()
        .unwrap_or_else(|| panic!("unexpected reason: {f}"))
}

fn post_body() -> Option<Rc<dyn IBodyProducer>> {
    Some(Rc::new(BytesBodyProducer::new("the payload")))
}

fn post_headers() -> Headers {
    let mut h = Headers::new();
    h.add_raw_header("Content-Type", "text/plain").unwrap();
    h.add_raw_header("Content-Language", "en").unwrap();
    h.add_raw_header("X-Keep", "kept").unwrap();
    h
}

// ---------------------------------------------------------------------------------------------
// Chains.

#[test]
fn relative_chain_is_followed_on_one_connection() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = RedirectAgent::new(persistent_agent(&reactor));
    let (response, body) = fetch(
        &reactor,
        agent.request("GET", &server.url("/redirect/3"), None, None),
    );
    assert_eq!((response.code, body.as_str()), (200, "done"));
    assert_eq!(&*response.request.absolute_uri, server.url("/redirect/0"));
    // previous_response: newest first.
    let mut uris = Vec::new();
    let mut previous = response.previous_response.as_deref();
    while let Some(p) = previous {
        assert_eq!(p.code, 302);
        uris.push(p.request.absolute_uri.to_string());
        previous = p.previous_response.as_deref();
    }
    let expected: Vec<String> = (1..=3)
        .map(|n| server.url(&format!("/redirect/{n}")))
        .collect();
    assert_eq!(uris, expected);
    let paths: Vec<String> = server.seen().iter().map(|s| s.target.clone()).collect();
    assert_eq!(
        paths,
        ["/redirect/3", "/redirect/2", "/redirect/1", "/redirect/0"]
    );
    // Each 2 KiB redirect body was read, so the connection went back to the pool.
    assert_eq!(server.connections(), 1);
}

#[test]
fn absolute_chain_is_followed() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = RedirectAgent::new(persistent_agent(&reactor));
    let (response, body) = fetch(
        &reactor,
        agent.request("HEAD", &server.url("/absolute/2"), None, None),
    );
    assert_eq!((response.code, body.as_str()), (200, ""));
    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|s| s.method == "HEAD"), "{seen:?}");
    assert_eq!(seen[2].target, "/absolute/0");
}

#[test]
fn redirect_body_is_drained_and_connection_reused() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = RedirectAgent::new(persistent_agent(&reactor));
    // 200 KiB: more than a response body keeps unread before it stops its connection.
    let url = format!("{}&size={}", to(&server, 301, "/final"), 200 * 1024);
    let (response, body) = fetch(&reactor, agent.request("GET", &url, None, None));
    assert_eq!((response.code, body.as_str()), (200, "ok"));
    assert_eq!(server.connections(), 1);
    // The redirect's body went to the drain: it cannot be delivered again.
    let previous = response.previous_response.as_deref().unwrap();
    assert!(read_body(previous).take_result().unwrap().is_err());
}

#[test]
fn huge_redirect_body_closes_its_connection_instead() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = RedirectAgent::new(persistent_agent(&reactor));
    let url = format!(
        "{}&size={}",
        to(&server, 302, "/final"),
        4 * REDIRECT_DRAIN_LIMIT
    );
    let (response, body) = fetch(&reactor, agent.request("GET", &url, None, None));
    assert_eq!((response.code, body.as_str()), (200, "ok"));
    assert_eq!(server.connections(), 2);
}

#[test]
fn gzip_redirect_body_is_drained_through_the_decoder() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = RedirectAgent::new(Rc::new(ContentDecoderAgent::gzip(persistent_agent(
        &reactor,
    ))));
    let url = format!("{}&size={}&gzip=1", to(&server, 302, "/final"), 300 * 1024);
    let (response, body) = fetch(&reactor, agent.request("GET", &url, None, None));
    assert_eq!((response.code, body.as_str()), (200, "ok"));
    let previous = response.previous_response.as_deref().unwrap();
    assert!(!previous.headers.has_header("content-encoding"));
    assert_eq!(server.connections(), 1);
}

#[test]
fn cancel_while_draining_a_redirect_body_closes_its_connection() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = RedirectAgent::new(persistent_agent(&reactor));
    let d = agent.request("GET", &server.url("/stall"), None, None);
    // The redirect's head arrives; its body never ends, so the agent waits in the drain.
    assert!(wait_until(&reactor, 5.0, || server.seen().len() == 1));
    run_for_a_moment(&reactor);
    assert!(!d.called());
    d.cancel();
    let f = failure(&reactor, d);
    assert!(f.check::<CancelledError>(), "{f}");
    assert!(
        wait_until(&reactor, 5.0, || server.closed() == 1),
        "connection still open"
    );
    assert_eq!(server.seen().len(), 1, "the redirect was not followed");
}

fn run_for_a_moment(reactor: &Reactor) {
    support::run_for(reactor, 0.05);
}

// ---------------------------------------------------------------------------------------------
// Methods and bodies.

#[test]
fn see_other_turns_post_into_get_without_body_or_content_headers() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = RedirectAgent::new(persistent_agent(&reactor));
    let d = agent.request(
        "POST",
        &to(&server, 303, "/echo"),
        Some(post_headers()),
        post_body(),
    );
    let (response, _) = fetch(&reactor, d);
    assert_eq!(response.code, 200);
    assert_eq!(response.request.method, "GET");
    let seen = server.seen();
    assert_eq!(
        (seen[0].method.as_str(), &seen[0].body[..]),
        ("POST", &b"the payload"[..])
    );
    let second = &seen[1];
    assert_eq!((second.method.as_str(), second.path()), ("GET", "/echo"));
    assert!(second.body.is_empty());
    for name in ["content-type", "content-length", "content-language"] {
        assert_eq!(second.header(name), None, "{name}: {second:?}");
    }
    assert_eq!(second.header("x-keep"), Some("kept"));
}

#[test]
fn plain_agent_refuses_to_redirect_post_with_page_redirect() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = RedirectAgent::new(persistent_agent(&reactor));
    for code in [301, 302, 307, 308] {
        let d = agent.request("POST", &to(&server, code, "/echo"), None, post_body());
        let f = failure(&reactor, d);
        let e: &PageRedirect = reason(&f);
        assert_eq!(
            (e.code, e.response.code, e.method.as_str()),
            (code, code, "POST")
        );
        assert_eq!(e.location.as_deref(), Some(server.url("/echo").as_str()));
        assert!(f.to_string().contains("only GET and HEAD"), "{f}");
    }
    assert!(server.seen().iter().all(|s| s.path() == "/to"));
}

#[test]
fn browser_like_307_and_308_replay_post_body() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = BrowserLikeRedirectAgent::new(persistent_agent(&reactor));
    for code in [307, 308] {
        let d = agent.request(
            "POST",
            &to(&server, code, "/echo"),
            Some(post_headers()),
            post_body(),
        );
        let (response, _) = fetch(&reactor, d);
        assert_eq!(response.code, 200);
        let seen = server.seen();
        let last = seen.last().unwrap();
        assert_eq!((last.method.as_str(), last.path()), ("POST", "/echo"));
        assert_eq!(last.body, b"the payload");
        assert_eq!(last.header("content-type"), Some("text/plain"));
        assert_eq!(last.header("content-length"), Some("11"));
    }
}

#[test]
fn browser_like_301_and_302_turn_post_into_get_and_keep_put() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = BrowserLikeRedirectAgent::new(persistent_agent(&reactor));
    for code in [301, 302] {
        let d = agent.request(
            "POST",
            &to(&server, code, "/echo"),
            Some(post_headers()),
            post_body(),
        );
        fetch(&reactor, d);
        let last = server.seen().pop().unwrap();
        assert_eq!(last.method, "GET");
        assert!(last.body.is_empty());
        assert_eq!(last.header("content-type"), None);
        assert_eq!(last.header("x-keep"), Some("kept"));
    }
    let d = agent.request("PUT", &to(&server, 302, "/echo"), None, post_body());
    fetch(&reactor, d);
    let last = server.seen().pop().unwrap();
    assert_eq!(
        (last.method.as_str(), &last.body[..]),
        ("PUT", &b"the payload"[..])
    );
}

/// A body that can only be produced once: no `immediate_body`.
struct OneShot;

impl IBodyProducer for OneShot {
    fn length(&self) -> Option<u64> {
        Some(4)
    }
    fn start_producing(&self, consumer: Rc<dyn IConsumer>) -> Deferred<()> {
        consumer.write(b"once");
        Deferred::succeed(())
    }
    fn pause_producing(&self) {}
    fn resume_producing(&self) {}
    fn stop_producing(&self) {}
}

#[test]
fn browser_like_307_with_a_body_that_cannot_be_replayed_fails_clearly() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = BrowserLikeRedirectAgent::new(persistent_agent(&reactor));
    let d = agent.request(
        "POST",
        &to(&server, 307, "/echo"),
        None,
        Some(Rc::new(OneShot)),
    );
    let f = failure(&reactor, d);
    let e: &RedirectBodyNotReplayable = reason(&f);
    assert_eq!((e.code, e.method.as_str()), (307, "POST"));
    assert_eq!(e.location, server.url("/echo"));
    assert!(f.to_string().contains("cannot be sent again"), "{f}");
    assert_eq!(server.seen().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Limits and Location.

#[test]
fn redirect_loop_stops_at_the_limit() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = RedirectAgent::new(persistent_agent(&reactor)).redirect_limit(3);
    let f = failure(
        &reactor,
        agent.request("GET", &server.url("/loop"), None, None),
    );
    let e: &InfiniteRedirection = reason(&f);
    assert_eq!((e.code, e.limit, e.response.code), (302, 3, 302));
    assert!(e.response.previous_response.is_some());
    assert_eq!(server.seen().len(), 4, "the first request and 3 redirects");

    let default = RedirectAgent::new(persistent_agent(&reactor));
    let f = failure(
        &reactor,
        default.request("GET", &server.url("/loop"), None, None),
    );
    assert_eq!(reason::<InfiniteRedirection>(&f).limit, 20);
    assert_eq!(server.seen().len(), 4 + 21);
}

#[test]
fn redirect_without_location_fails_with_the_response() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = RedirectAgent::new(persistent_agent(&reactor));
    let f = failure(
        &reactor,
        agent.request("GET", &server.url("/nolocation"), None, None),
    );
    let e: &RedirectWithNoLocation = reason(&f);
    assert_eq!(
        (e.code, e.uri.as_str()),
        (302, server.url("/nolocation").as_str())
    );
    let body = run(&reactor, read_body(&e.response), 5.0).unwrap();
    assert_eq!(&body[..], b"nowhere");
}

#[test]
fn unparsable_location_fails_clearly() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = RedirectAgent::new(persistent_agent(&reactor));
    let d = agent.request("GET", &server.url("/bad-location"), None, None);
    let f = failure(&reactor, d);
    let e: &InvalidRedirectLocation = reason(&f);
    assert_eq!((e.code, e.location.as_str()), (302, "http://[::1"));
    assert!(f.to_string().contains("invalid Location"), "{f}");
}

#[test]
fn redirect_to_another_scheme_is_refused_by_the_agent() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = RedirectAgent::new(persistent_agent(&reactor));
    let d = agent.request("GET", &to(&server, 302, "file:///etc/passwd"), None, None);
    let f = failure(&reactor, d);
    let e = f
        .value::<SchemeNotSupported>()
        .unwrap_or_else(|| panic!("{f}"));
    assert_eq!(e.scheme, "file");
}

#[test]
fn fragment_is_kept_unless_location_has_one() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = RedirectAgent::new(persistent_agent(&reactor));
    let uri = format!("{}#section", to(&server, 302, "/echo?a=1"));
    let (response, _) = fetch(&reactor, agent.request("GET", &uri, None, None));
    assert_eq!(
        &*response.request.absolute_uri,
        server.url("/echo?a=1#section")
    );
    let uri = format!("{}#section", to(&server, 302, "../echo#other"));
    let (response, _) = fetch(&reactor, agent.request("GET", &uri, None, None));
    assert_eq!(&*response.request.absolute_uri, server.url("/echo#other"));
    let targets: Vec<String> = server.seen().iter().map(|s| s.target.clone()).collect();
    assert_eq!(targets[1], "/echo?a=1");
    assert_eq!(targets[3], "/echo");
}

// ---------------------------------------------------------------------------------------------
// Credentials across origins.

const SENSITIVE: [&str; 6] = [
    "authorization",
    "cookie",
    "cookie2",
    "proxy-authorization",
    "www-authenticate",
    "x-api-key",
];

fn secret_headers() -> Headers {
    let mut h = Headers::new();
    for name in SENSITIVE {
        h.add_raw_header(name, format!("secret {name}")).unwrap();
    }
    h.add_raw_header("X-Public", "yes").unwrap();
    h
}

/// Follow `uri` with the secret headers through `agent`; the requests the servers saw.
fn follow_with_secrets(reactor: &Reactor, agent: &dyn IAgent, uri: &str) -> Response {
    fetch(
        reactor,
        agent.request("GET", uri, Some(secret_headers()), None),
    )
    .0
}

fn assert_secrets(seen: &Seen, present: bool) {
    for name in SENSITIVE {
        assert_eq!(seen.header(name).is_some(), present, "{name} in {seen:?}");
    }
    assert_eq!(seen.header("x-public"), Some("yes"));
}

/// An endpoint factory that connects `https` URIs over plain TCP, so that a scheme change can
/// be tested without TLS.
struct PlainForHttps(Reactor);

impl EndpointFactory for PlainForHttps {
    fn endpoint_for_uri(
        &self,
        _scheme: &str,
        host: &str,
        port: u16,
    ) -> Result<Rc<dyn IStreamClientEndpoint>, Failure> {
        Ok(Rc::new(HostnameEndpoint::new(&self.0, host, port)))
    }
}

fn redirect_agent(reactor: &Reactor) -> RedirectAgent {
    let pool = HTTPConnectionPool::new(reactor, true);
    let agent =
        Agent::using_endpoint_factory(reactor, Rc::new(PlainForHttps(reactor.clone())), pool);
    RedirectAgent::new(Rc::new(agent)).sensitive_header_names(["X-API-Key"])
}

#[test]
fn same_origin_redirect_keeps_credentials() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = redirect_agent(&reactor);
    let response = follow_with_secrets(&reactor, &agent, &to(&server, 302, "/echo"));
    assert_eq!(response.code, 200);
    let seen = server.seen();
    assert_secrets(&seen[0], true);
    assert_secrets(&seen[1], true);
}

#[test]
fn port_change_drops_credentials_both_ways() {
    let a = serve(handler);
    let b = serve(handler);
    let reactor = Reactor::new();
    let agent = redirect_agent(&reactor);
    // a -> b -> a: stripped on the way out, and still absent on the way back.
    let start = to(&a, 302, &to(&b, 302, &a.url("/echo")));
    let response = follow_with_secrets(&reactor, &agent, &start);
    assert_eq!(response.code, 200);
    let (seen_a, seen_b) = (a.seen(), b.seen());
    assert_eq!((seen_a.len(), seen_b.len()), (2, 1));
    assert_secrets(&seen_a[0], true);
    assert_secrets(&seen_b[0], false);
    assert_secrets(&seen_a[1], false);
}

#[test]
fn host_change_drops_credentials() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = redirect_agent(&reactor);
    let target = format!("http://localhost:{}/echo", server.port);
    let response = follow_with_secrets(&reactor, &agent, &to(&server, 307, &target));
    assert_eq!(response.code, 200);
    let seen = server.seen();
    assert_secrets(&seen[0], true);
    assert_eq!(
        seen[1].header("host"),
        Some(format!("localhost:{}", server.port).as_str())
    );
    assert_secrets(&seen[1], false);
}

#[test]
fn scheme_change_drops_credentials() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = redirect_agent(&reactor);
    // Same host and port, other scheme (connected over plain TCP by the test's factory).
    let target = format!("https://127.0.0.1:{}/echo", server.port);
    let response = follow_with_secrets(&reactor, &agent, &to(&server, 308, &target));
    assert_eq!(response.code, 200);
    assert_eq!(&*response.request.absolute_uri, target);
    let seen = server.seen();
    assert_secrets(&seen[0], true);
    assert_secrets(&seen[1], false);
}
