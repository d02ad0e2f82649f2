//! treq's content helpers (`treq::content`) over real sockets: charsets, a body that ends with
//! the connection (`PotentialDataLoss` counts as complete), empty bodies, and the free functions
//! on the Agent's own response.

mod support;

use bytes::Bytes;
use reactor::defer::{Deferred, Failure};
use reactor::Reactor;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::rc::Rc;
use treq::client::HTTPClient;
use treq::content::{DecodeError, UnknownEncoding};
use treq::cookies::{scoped_cookie, CookieJar};
use treq::response::Response;
use treq::web::client::Agent;
use treq::web::iweb::IAgent;
use treq::web::resource::{FnResource, RenderResult};
use treq::web::server::Site;

fn run<T: 'static>(reactor: &Reactor, d: Deferred<T>) -> Result<T, Failure> {
    support::wait::run(reactor, d, 10.0)
}

/// A site whose `/{content-type}` answers `body` with that Content-Type (percent-decoded).
fn typed_site(reactor: &Reactor, body: &'static [u8]) -> String {
    let site = Site::new(Rc::new(FnResource::new(move |request| {
        let path = String::from_utf8_lossy(&request.path()[1..]).into_owned();
        let content_type = path
            .replace("%3B", ";")
            .replace("%20", " ")
            .replace("%3D", "=");
        if !content_type.is_empty() {
            let _ = request.set_header("Content-Type", content_type);
        }
        RenderResult::Body(Bytes::from_static(body))
    })));
    let port = reactor.listen_tcp(0, Rc::new(site), "127.0.0.1").unwrap();
    format!("http://127.0.0.1:{}", port.get_host().port())
}

fn text_of(
    reactor: &Reactor,
    url: String,
    encoding: Option<&'static str>,
) -> Result<String, Failure> {
    let client = HTTPClient::new(Agent::new(reactor));
    let d = client
        .get(url)
        .send()
        .add_callback(move |r: Response| r.text(encoding));
    run(reactor, d)
}

#[test]
fn text_uses_the_charset_of_the_content_type() {
    let reactor = Reactor::new();
    let base = typed_site(&reactor, b"caf\xc3\xa9");
    let text = text_of(
        &reactor,
        format!("{base}/text/plain%3B%20charset%3Dutf-8"),
        None,
    );
    assert_eq!(text.unwrap(), "café");
    // Without a charset, ISO-8859-1 (treq's default): the two UTF-8 bytes are two characters.
    let text = text_of(&reactor, format!("{base}/text/plain"), None);
    assert_eq!(text.unwrap(), "cafÃ©");
    // The caller's encoding is the fallback, the header's charset wins.
    let text = text_of(&reactor, format!("{base}/text/plain"), Some("utf-8"));
    assert_eq!(text.unwrap(), "café");
    let text = text_of(
        &reactor,
        format!("{base}/text/plain%3B%20charset%3Dlatin-1"),
        Some("utf-8"),
    );
    assert_eq!(text.unwrap(), "cafÃ©");
    // JSON without a charset is UTF-8.
    let text = text_of(&reactor, format!("{base}/application/json"), None);
    assert_eq!(text.unwrap(), "café");
}

#[test]
fn text_that_is_not_valid_in_its_encoding_is_a_typed_error() {
    let reactor = Reactor::new();
    let base = typed_site(&reactor, b"\xff\xfe");
    let failure = text_of(
        &reactor,
        format!("{base}/text/plain%3B%20charset%3Dutf-8"),
        None,
    )
    .unwrap_err();
    assert!(failure.check::<DecodeError>(), "{failure}");
    let failure = text_of(&reactor, format!("{base}/text/plain"), Some("ebcdic")).unwrap_err();
    assert!(failure.check::<UnknownEncoding>(), "{failure}");
}

#[test]
fn json_of_a_latin1_body_is_decoded_first() {
    let reactor = Reactor::new();
    let base = typed_site(&reactor, b"{\"a\": \"\xe9\"}");
    let client = HTTPClient::new(Agent::new(&reactor));
    let d = client
        .get(format!("{base}/application/json%3B%20charset%3Diso-8859-1"))
        .send()
        .add_callback(|r: Response| r.json::<serde_json::Value>());
    assert_eq!(run(&reactor, d).unwrap()["a"], "é");
}

/// A server that answers every connection with `reply` (exact bytes) and closes.
fn raw_server(reply: &'static [u8]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(reply);
        }
    });
    format!("http://127.0.0.1:{port}/")
}

#[test]
fn a_body_ended_by_the_connection_counts_as_complete() {
    let reactor = Reactor::new();
    let url = raw_server(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close");
    let agent = Agent::new(&reactor);
    let d = agent
        .request("GET", &url, None, None)
        .add_callback(|r| treq::content(&r));
    assert_eq!(&run(&reactor, d).unwrap()[..], b"until close");
    // Twisted's read_body reports the same body as a possible loss.
    let d = agent
        .request("GET", &url, None, None)
        .add_callback(|r| treq::web::client::read_body(&r));
    assert!(run(&reactor, d)
        .unwrap_err()
        .check::<treq::web::error::PartialDownloadError>());
}

#[test]
fn an_empty_body_fires_at_once() {
    let reactor = Reactor::new();
    let url = raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    let response = run(
        &reactor,
        Agent::new(&reactor).request("GET", &url, None, None),
    )
    .unwrap();
    let d = treq::content(&response);
    assert_eq!(d.take_result().unwrap().unwrap(), Bytes::new());
    let d = treq::text_content(&response, None);
    assert_eq!(d.take_result().unwrap().unwrap(), "");
}

#[test]
fn a_jar_given_as_cookies_is_merged_into_the_clients() {
    let reactor = Reactor::new();
    let site = Site::new(Rc::new(FnResource::new(|request| {
        let cookie = request.get_header("Cookie").cloned().unwrap_or_default();
        RenderResult::Body(cookie)
    })));
    let port = reactor.listen_tcp(0, Rc::new(site), "127.0.0.1").unwrap();
    let url = format!("http://127.0.0.1:{}/", port.get_host().port());
    let theirs = CookieJar::new();
    scoped_cookie(url.as_str(), "from", "jar")
        .unwrap()
        .set_in(&theirs)
        .unwrap();
    let client = HTTPClient::new(Agent::new(&reactor));
    let d = client
        .get(&url)
        .cookies(&theirs)
        .send()
        .add_callback(|r: Response| r.text(None));
    assert_eq!(run(&reactor, d).unwrap(), "from=jar");
    assert_eq!(client.jar().len(), 1, "merged into the client's jar");
    let d = client
        .get(&url)
        .send()
        .add_callback(|r: Response| r.text(None));
    assert_eq!(run(&reactor, d).unwrap(), "from=jar");
}
