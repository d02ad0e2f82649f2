//! `CookieAgent` and `CookieJar` against a hyper 1.x server on 127.0.0.1, over real sockets.
//!
//! The server answers every request with a body naming the `Cookie` headers it received
//! (`-` for none), sets a `Set-Cookie` for each `set=` query parameter and takes its status
//! from `status=`.

mod support;

use http_body_util::Full;
use hyper::body::{Bytes as HBytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use reactor::task::Clock;
use reactor::Reactor;
use std::convert::Infallible;
use std::rc::Rc;
use std::thread;
use support::wait::run;
use treq::web::client::{read_body, Agent, CookieAgent, HTTPConnectionPool};
use treq::web::cookiejar::CookieJar;
use treq::web::error::InvalidURI;
use treq::web::http_headers::Headers;
use treq::web::iweb::IAgent;
use treq::web::response::Response;
use url::Url;

// ---------------------------------------------------------------------------------------------
// The hyper server.

async fn handle(
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<HBytes>>, Infallible> {
    let url = Url::parse(&format!("http://server{}", req.uri())).unwrap();
    let received: Vec<String> = req
        .headers()
        .get_all("cookie")
        .iter()
        .map(|v| v.to_str().unwrap_or("?").to_owned())
        .collect();
    let body = if received.is_empty() {
        "-".to_owned()
    } else {
        received.join(" | ")
    };
    let mut response = hyper::Response::builder();
    for (key, value) in url.query_pairs() {
        match &*key {
            "set" => response = response.header("Set-Cookie", &*value),
            "status" => response = response.status(value.parse::<u16>().unwrap()),
            _ => {}
        }
    }
    Ok(response.body(Full::new(HBytes::from(body))).unwrap())
}

/// Start a server on 127.0.0.1 and return its port.
fn serve() -> u16 {
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::task::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service_fn(handle))
                        .await;
                });
            }
        });
    });
    rx.recv().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Client helpers.

/// A reactor, a jar and a CookieAgent over a persistent Agent.
struct Client {
    reactor: Reactor,
    jar: CookieJar,
    agent: CookieAgent,
}

impl Client {
    fn new() -> Client {
        Client::with_jar(CookieJar::new())
    }

    fn with_jar(jar: CookieJar) -> Client {
        let reactor = Reactor::new();
        let pool = HTTPConnectionPool::new(&reactor, true);
        let agent = Agent::new(&reactor).pool(pool).connect_timeout(5.0);
        let agent = CookieAgent::new(Rc::new(agent), jar.clone());
        Client {
            reactor,
            jar,
            agent,
        }
    }

    /// GET `url` with `headers`; the status and the body (what the server received).
    fn get_with(&self, url: &str, headers: Option<Headers>) -> (u16, String) {
        let d = self.agent.request("GET", url, headers, None);
        let d = d.add_callback(|response: Response| {
            let code = response.code;
            read_body(&response).add_callback(move |body| (code, body))
        });
        let (code, body) = run(&self.reactor, d, 10.0).unwrap();
        (code, String::from_utf8(body.to_vec()).unwrap())
    }

    /// What the server received as `Cookie` on a GET of `url`.
    fn get(&self, url: &str) -> String {
        self.get_with(url, None).1
    }
}

/// `set=` query parameters for these `Set-Cookie` values.
fn set(values: &[&str]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for value in values {
        query.append_pair("set", value);
    }
    query.finish()
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn a_set_cookie_is_stored_and_sent_on_the_next_request() {
    let port = serve();
    let client = Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let first = client.get(&format!(
        "{base}/login?{}",
        set(&["session=abc; Path=/", "lang=en"])
    ));
    assert_eq!(first, "-");
    assert_eq!(client.jar.len(), 2);
    assert_eq!(
        client.get(&format!("{base}/account")),
        "session=abc; lang=en"
    );
    let names: Vec<_> = client
        .jar
        .cookies()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    assert_eq!(names, ["session", "lang"]);
}

#[test]
fn set_cookie_on_an_error_status_is_stored_too() {
    let port = serve();
    let client = Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let (code, _) = client.get_with(&format!("{base}/?status=404&{}", set(&["seen=1"])), None);
    assert_eq!(code, 404);
    assert_eq!(client.get(&format!("{base}/")), "seen=1");
}

#[test]
fn max_age_zero_deletes_a_stored_cookie() {
    let port = serve();
    let client = Client::new();
    let base = format!("http://127.0.0.1:{port}");
    client.get(&format!("{base}/?{}", set(&["a=1; Path=/", "b=2; Path=/"])));
    assert_eq!(client.get(&format!("{base}/")), "a=1; b=2");
    client.get(&format!("{base}/?{}", set(&["a=gone; Path=/; Max-Age=0"])));
    assert_eq!(client.get(&format!("{base}/")), "b=2");
    assert_eq!(client.jar.len(), 1);
}

#[test]
fn a_path_scoped_cookie_is_sent_only_under_its_path() {
    let port = serve();
    let client = Client::new();
    let base = format!("http://127.0.0.1:{port}");
    client.get(&format!("{base}/?{}", set(&["api=1; Path=/api"])));
    assert_eq!(client.get(&format!("{base}/api")), "api=1");
    assert_eq!(client.get(&format!("{base}/api/v1/items?x=1")), "api=1");
    assert_eq!(client.get(&format!("{base}/")), "-");
    assert_eq!(client.get(&format!("{base}/apix")), "-");
}

#[test]
fn a_secure_cookie_is_not_sent_over_http() {
    let port = serve();
    let client = Client::new();
    let base = format!("http://127.0.0.1:{port}");
    // Set over https for this host (as a TLS response would), then asked for over http.
    let https = Url::parse(&format!("https://127.0.0.1:{port}/")).unwrap();
    let secure = cookie::Cookie::parse("token=s3cret; Secure; Path=/").unwrap();
    client.jar.set_cookie(secure, &https).unwrap();
    client
        .jar
        .set_cookie(cookie::Cookie::new("plain", "1"), &https)
        .unwrap();
    assert_eq!(client.get(&format!("{base}/")), "plain=1");
    // A Secure cookie an http server sets is not stored.
    client.get(&format!("{base}/?{}", set(&["sneaky=1; Secure"])));
    assert_eq!(client.get(&format!("{base}/")), "plain=1");
    assert!(client.jar.search("127.0.0.1", Some("sneaky")).is_empty());
}

#[test]
fn a_cookie_header_given_by_the_caller_is_left_alone() {
    let port = serve();
    let client = Client::new();
    let base = format!("http://127.0.0.1:{port}");
    client.get(&format!("{base}/?{}", set(&["jar=1"])));
    let mut headers = Headers::new();
    headers.add_raw_header("Cookie", "mine=yes").unwrap();
    let (_, received) = client.get_with(&format!("{base}/?{}", set(&["more=2"])), Some(headers));
    assert_eq!(received, "mine=yes");
    // The response's Set-Cookie still goes into the jar.
    assert_eq!(client.get(&format!("{base}/")), "jar=1; more=2");
    // Other headers of the caller are kept when the jar adds its Cookie.
    let mut headers = Headers::new();
    headers.add_raw_header("X-Other", "1").unwrap();
    assert_eq!(
        client.get_with(&format!("{base}/"), Some(headers)).1,
        "jar=1; more=2"
    );
}

#[test]
fn cookies_follow_the_host_not_the_port() {
    let (port_a, port_b) = (serve(), serve());
    let client = Client::new();
    client.get(&format!("http://127.0.0.1:{port_a}/?{}", set(&["a=1"])));
    // RFC 6265 cookies are not scoped by port: the other server on this host gets it.
    assert_eq!(client.get(&format!("http://127.0.0.1:{port_b}/")), "a=1");
    // `localhost` is another host, though it reaches the same server.
    assert_eq!(client.get(&format!("http://localhost:{port_a}/")), "-");
    client.get(&format!("http://localhost:{port_b}/?{}", set(&["l=1"])));
    assert_eq!(client.get(&format!("http://localhost:{port_a}/")), "l=1");
    assert_eq!(client.get(&format!("http://127.0.0.1:{port_a}/")), "a=1");
}

#[test]
fn a_port_restricted_cookie_goes_only_to_its_port() {
    let (port_a, port_b) = (serve(), serve());
    let client = Client::new();
    let origin = Url::parse(&format!("http://127.0.0.1:{port_a}/")).unwrap();
    client
        .jar
        .set_cookie_for_port(cookie::Cookie::new("scoped", "1"), &origin, Some(port_a))
        .unwrap();
    assert_eq!(
        client.get(&format!("http://127.0.0.1:{port_a}/x")),
        "scoped=1"
    );
    assert_eq!(client.get(&format!("http://127.0.0.1:{port_b}/x")), "-");
}

#[test]
fn a_cookie_expires_on_the_jar_clock() {
    let port = serve();
    let clock = Clock::new();
    clock.advance(1_700_000_000.0);
    let client = Client::with_jar(CookieJar::with_clock(Rc::new(clock.clone())));
    let base = format!("http://127.0.0.1:{port}");
    client.get(&format!(
        "{base}/?{}",
        set(&["short=1; Max-Age=60", "session=1"])
    ));
    clock.advance(59.0);
    assert_eq!(client.get(&format!("{base}/")), "short=1; session=1");
    clock.advance(1.0);
    assert_eq!(client.get(&format!("{base}/")), "session=1");
}

#[test]
fn an_invalid_uri_fails_with_the_agent_error() {
    let client = Client::new();
    let d = client.agent.request("GET", "not a url", None, None);
    let Err(failure) = run(&client.reactor, d, 5.0) else {
        panic!("an invalid URI must fail");
    };
    assert!(failure.check::<InvalidURI>(), "{failure}");
}
