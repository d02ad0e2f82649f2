//! The web server over real sockets on 127.0.0.1: a plain `std::net::TcpStream` client on
//! another thread, exact bytes in and out. Every reactor run is bounded.

use bytes::Bytes;
use reactor::defer::Failure;
use reactor::interfaces::{IProtocol, ITransport};
use reactor::iosim::connected_server_and_client;
use reactor::Reactor;
use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::rc::Rc;
use std::time::Duration;
use treq::web::resource::{Data, FnResource, RenderResult, ResourceTree, NOT_DONE_YET};
use treq::web::server::{Request, Site};

/// Serve `site`, run `client` on another thread against it, and return what it returns. The
/// reactor stops when the client is done; the test fails if that takes over 5 seconds.
fn with_client<T: Send + 'static>(
    reactor: &Reactor,
    site: Site,
    client: impl FnOnce(TcpStream) -> T + Send + 'static,
) -> T {
    let port = reactor.listen_tcp(0, Rc::new(site), "127.0.0.1").unwrap();
    let number = port.get_host().port();
    let handle = reactor.handle();
    let thread = std::thread::spawn(move || {
        let stream = TcpStream::connect(("127.0.0.1", number)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let out = client(stream);
        handle.stop();
        out
    });
    let timed_out = Rc::new(Cell::new(false));
    let flag = timed_out.clone();
    let r = reactor.clone();
    let guard = reactor.call_later(5.0, move || {
        flag.set(true);
        let _ = r.stop();
    });
    reactor.run().unwrap();
    if guard.active() {
        guard.cancel().unwrap();
    }
    assert!(!timed_out.get(), "the reactor run hit its 5 s bound");
    drop(port);
    thread.join().unwrap()
}

/// Send `input`, read until the server closes.
fn exchange(reactor: &Reactor, site: Site, input: &[u8]) -> Vec<u8> {
    let input = input.to_vec();
    with_client(reactor, site, move |mut stream| {
        let _ = stream.write_all(&input);
        read_to_close(&mut stream)
    })
}

fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => {
                assert!(
                    e.kind() != std::io::ErrorKind::WouldBlock
                        && e.kind() != std::io::ErrorKind::TimedOut,
                    "the server did not close: {}",
                    String::from_utf8_lossy(&out)
                );
                break;
            }
        }
    }
    out
}

fn read_exactly(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    stream.read_exact(&mut out).unwrap();
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn hello_site() -> Site {
    let root = Rc::new(ResourceTree::new());
    root.put_child("hello", Rc::new(Data::new("hello world", "text/plain")));
    let a = Rc::new(ResourceTree::new());
    a.put_child("b", Rc::new(Data::new("in a/b", "text/plain")));
    a.put_child("", Rc::new(Data::new("a index", "text/plain")));
    root.put_child("a", a);
    Site::new(root)
}

const HELLO: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world";

#[test]
fn get_data_resource() {
    let reactor = Reactor::new();
    let out = exchange(
        &reactor,
        hello_site(),
        b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(text(&out), text(HELLO));
}

#[test]
fn child_traversal_and_404() {
    let reactor = Reactor::new();
    let out = exchange(
        &reactor,
        hello_site(),
        b"GET /a/b HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        text(&out),
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nConnection: close\r\n\r\nin a/b"
    );
    let out = exchange(
        &reactor,
        hello_site(),
        b"GET /a/ HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert!(text(&out).ends_with("\r\n\r\na index"), "{}", text(&out));
    for path in ["/a/c", "/nope", "/", "/hello%2"] {
        let request = format!("GET {path} HTTP/1.1\r\nConnection: close\r\n\r\n");
        let out = text(&exchange(&reactor, hello_site(), request.as_bytes()));
        if path == "/hello%2" {
            // "%2" is not an escape: the segment stays "hello%2", which does not exist.
            assert!(out.starts_with("HTTP/1.1 404 Not Found\r\n"), "{out}");
            continue;
        }
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert_eq!(
            head,
            format!(
                "HTTP/1.1 404 Not Found\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close",
                body.len()
            ),
            "{path}"
        );
        assert!(body.contains("<h1>No Such Resource</h1>"), "{body}");
    }
}

#[test]
fn percent_encoded_segments_are_decoded_for_traversal() {
    let reactor = Reactor::new();
    let root = Rc::new(ResourceTree::new());
    root.put_child(
        "a b",
        Rc::new(FnResource::new(|request: &Rc<Request>| {
            let pre: Vec<String> = request.prepath().iter().map(|s| text(s)).collect();
            let post: Vec<String> = request.postpath().iter().map(|s| text(s)).collect();
            format!(
                "{}|{}|{}",
                text(request.path()),
                pre.join(","),
                post.join(",")
            )
            .into()
        })),
    );
    let out = exchange(
        &reactor,
        Site::new(root),
        b"GET /a%20b/c/d?x=1 HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert!(
        text(&out).ends_with("\r\n\r\n/a%20b/c/d|a b|c,d"),
        "{}",
        text(&out)
    );
}

#[test]
fn method_not_allowed_has_allow() {
    let reactor = Reactor::new();
    let out = text(&exchange(
        &reactor,
        hello_site(),
        b"POST /hello HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    ));
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    assert_eq!(
        head,
        format!(
            "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close",
            body.len()
        )
    );
    assert!(body.contains("POST"), "{body}");
}

fn echo_args() -> Rc<FnResource<impl Fn(&Rc<Request>) -> RenderResult>> {
    Rc::new(FnResource::new(|request: &Rc<Request>| {
        let mut out = String::new();
        for (name, values) in request.args() {
            let values: Vec<String> = values.iter().map(|v| text(v)).collect();
            out.push_str(&format!("{}={};", text(name), values.join(",")));
        }
        out.into()
    }))
}

#[test]
fn post_form_body_reaches_args() {
    let reactor = Reactor::new();
    let body = "a=1&a=2&b=x+y%21&empty";
    let request = format!(
        "POST /form?q=1&a=0 HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let out = exchange(&reactor, Site::new(echo_args()), request.as_bytes());
    assert_eq!(
        text(&out),
        "HTTP/1.1 200 OK\r\nContent-Length: 26\r\nConnection: close\r\n\r\na=0,1,2;b=x y!;empty=;q=1;"
    );
}

fn echo_content() -> Rc<FnResource<impl Fn(&Rc<Request>) -> RenderResult>> {
    Rc::new(FnResource::new(|request: &Rc<Request>| {
        RenderResult::Body(request.content().clone())
    }))
}

#[test]
fn chunked_request_body() {
    let reactor = Reactor::new();
    let out = exchange(
        &reactor,
        Site::new(echo_content()),
        b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n",
    );
    assert_eq!(
        text(&out),
        "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world"
    );
}

#[test]
fn expect_100_continue_is_answered() {
    let reactor = Reactor::new();
    let out = with_client(&reactor, Site::new(echo_content()), |mut stream| {
        stream
            .write_all(b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\n")
            .unwrap();
        let interim = read_exactly(&mut stream, 25);
        stream.write_all(b"body").unwrap();
        (interim, read_to_close(&mut stream))
    });
    assert_eq!(text(&out.0), "HTTP/1.1 100 Continue\r\n\r\n");
    assert_eq!(
        text(&out.1),
        "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody"
    );
}

#[test]
fn keep_alive_two_requests_on_one_connection() {
    let reactor = Reactor::new();
    let (first, second) = with_client(&reactor, hello_site(), |mut stream| {
        stream.write_all(b"GET /hello HTTP/1.1\r\n\r\n").unwrap();
        let first = read_exactly(
            &mut stream,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world"
                .len(),
        );
        stream
            .write_all(b"GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n")
            .unwrap();
        (first, read_to_close(&mut stream))
    });
    assert_eq!(
        text(&first),
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world"
    );
    assert_eq!(text(&second), text(HELLO));
}

#[test]
fn pipelined_requests_answered_in_order() {
    let reactor = Reactor::new();
    // The first response finishes late, the others at once: still answered in order.
    let r = reactor.clone();
    let site = Site::new(Rc::new(FnResource::new(move |request: &Rc<Request>| {
        if &request.path()[..] == b"/slow" {
            let request = request.clone();
            r.call_later(0.05, move || {
                request.set_header("Content-Length", "4").unwrap();
                request.write(b"slow");
                request.finish();
            });
            NOT_DONE_YET
        } else {
            RenderResult::Body(request.path().clone())
        }
    })));
    let out = exchange(
        &reactor,
        site,
        b"GET /slow HTTP/1.1\r\n\r\nGET /two HTTP/1.1\r\n\r\nPOST /three HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        text(&out),
        "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow\
         HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n/two\
         HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\n/three"
    );
}

#[test]
fn http10_closes() {
    let reactor = Reactor::new();
    let out = exchange(&reactor, hello_site(), b"GET /hello HTTP/1.0\r\n\r\n");
    assert_eq!(
        text(&out),
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world"
    );
}

#[test]
fn http10_keep_alive_with_length() {
    let reactor = Reactor::new();
    let (first, second) = with_client(&reactor, hello_site(), |mut stream| {
        stream
            .write_all(b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .unwrap();
        let expected = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: keep-alive\r\n\r\nhello world";
        let first = read_exactly(&mut stream, expected.len());
        stream.write_all(b"GET /hello HTTP/1.0\r\n\r\n").unwrap();
        (first, read_to_close(&mut stream))
    });
    assert_eq!(
        text(&first),
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: keep-alive\r\n\r\nhello world"
    );
    assert!(text(&second).starts_with("HTTP/1.0 200 OK\r\n"));
}

#[test]
fn http10_response_without_length_ends_at_close() {
    let reactor = Reactor::new();
    let site = Site::new(Rc::new(FnResource::new(|request: &Rc<Request>| {
        request.write(b"streamed");
        request.finish();
        NOT_DONE_YET
    })));
    let out = exchange(
        &reactor,
        site,
        b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    );
    assert_eq!(
        text(&out),
        "HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nstreamed"
    );
}

#[test]
fn not_done_yet_finishes_from_call_later_chunked() {
    let reactor = Reactor::new();
    let finished = Rc::new(Cell::new(false));
    let flag = finished.clone();
    let r = reactor.clone();
    let site = Site::new(Rc::new(FnResource::new(move |request: &Rc<Request>| {
        request.set_header("Content-Type", "text/plain").unwrap();
        request.write(b"abc");
        let flag = flag.clone();
        request
            .notify_finish()
            .add_callback(move |()| flag.set(true));
        let request = request.clone();
        r.call_later(0.05, move || {
            request.write(b"");
            request.write(b"defghijklmnopqrstu");
            request.finish();
        });
        NOT_DONE_YET
    })));
    let out = exchange(
        &reactor,
        site,
        b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        text(&out),
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n12\r\ndefghijklmnopqrstu\r\n0\r\n\r\n"
    );
    assert!(finished.get());
}

#[test]
fn head_has_no_body() {
    let reactor = Reactor::new();
    let out = exchange(
        &reactor,
        hello_site(),
        b"HEAD /hello HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        text(&out),
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: close\r\n\r\n"
    );
    // Keep-alive HEAD followed by GET: the HEAD response must not carry a body.
    let out = exchange(
        &reactor,
        hello_site(),
        b"HEAD /hello HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        text(&out),
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\n{}",
            text(HELLO)
        )
    );
}

#[test]
fn oversized_head_is_431() {
    let reactor = Reactor::new();
    let mut request = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
    request.extend(std::iter::repeat_n(b'a', 2000));
    request.extend_from_slice(b"\r\n\r\n");
    let out = exchange(&reactor, hello_site().with_max_head_size(1024), &request);
    assert_eq!(
        text(&out),
        "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
}

#[test]
fn oversized_body_is_413() {
    let reactor = Reactor::new();
    let site = Site::new(echo_content()).with_max_body_size(10);
    let expected =
        "HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let out = exchange(
        &reactor,
        site.clone(),
        b"POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n",
    );
    assert_eq!(text(&out), expected);
    let out = exchange(
        &reactor,
        site.clone(),
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nghijkl\r\n",
    );
    assert_eq!(text(&out), expected);
    // Exactly at the limit is fine.
    let out = exchange(
        &reactor,
        site,
        b"POST / HTTP/1.1\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789",
    );
    assert!(text(&out).ends_with("\r\n\r\n0123456789"));
}

#[test]
fn garbage_is_400() {
    let reactor = Reactor::new();
    let expected = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    for garbage in [
        &b"\x00\x01garbage\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ] {
        let out = exchange(&reactor, hello_site(), garbage);
        assert_eq!(text(&out), expected, "{:?}", text(garbage));
    }
}

#[test]
fn notify_finish_fails_when_the_client_goes_away() {
    let reactor = Reactor::new();
    let lost: Rc<RefCell<Option<Failure>>> = Rc::default();
    let slot = lost.clone();
    let r = reactor.clone();
    let site = Site::new(Rc::new(FnResource::new(move |request: &Rc<Request>| {
        let slot = slot.clone();
        let r = r.clone();
        let request2 = request.clone();
        request
            .notify_finish()
            .add_errback(move |failure: Failure| {
                *slot.borrow_mut() = Some(failure);
                // Writing after the loss is ignored.
                request2.write(b"late");
                request2.finish();
                let _ = r.stop();
            });
        NOT_DONE_YET
    })));
    with_client(&reactor, site, |mut stream| {
        stream.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        // Close without reading; the reactor stops from the errback.
        stream.shutdown(std::net::Shutdown::Both).unwrap();
        std::thread::sleep(Duration::from_millis(50));
    });
    assert!(lost.borrow().is_some(), "notify_finish did not fail");
}

/// A client protocol over iosim that sends bytes and records the answer.
#[derive(Default)]
struct RawClient {
    send: Vec<u8>,
    received: RefCell<Vec<u8>>,
    lost: Cell<bool>,
}

impl IProtocol for RawClient {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        transport.write(&self.send);
    }
    fn data_received(&self, data: Bytes) {
        self.received.borrow_mut().extend_from_slice(&data);
    }
    fn connection_lost(&self, _reason: Failure) {
        self.lost.set(true);
    }
}

fn over_iosim(site: &Site, send: Vec<u8>) -> (String, bool) {
    let client = Rc::new(RawClient {
        send,
        ..RawClient::default()
    });
    let (_s, _c, pump) = connected_server_and_client(
        site.build_protocol("127.0.0.1:9".parse().unwrap()),
        client.clone(),
    );
    pump.flush().unwrap();
    let received = text(&client.received.borrow());
    (received, client.lost.get())
}

#[test]
fn default_head_limit_over_iosim() {
    let site = hello_site();
    let mut request = b"GET /hello HTTP/1.1\r\nX-Big: ".to_vec();
    request.extend(std::iter::repeat_n(b'a', 64 * 1024));
    request.extend_from_slice(b"\r\n\r\n");
    let (out, lost) = over_iosim(&site, request);
    assert_eq!(
        out,
        "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    assert!(lost);
    // Just under the limit is served.
    let mut request = b"GET /hello HTTP/1.1\r\nConnection: close\r\nX-Big: ".to_vec();
    request.extend(std::iter::repeat_n(b'a', 60 * 1024));
    request.extend_from_slice(b"\r\n\r\n");
    let (out, lost) = over_iosim(&site, request);
    assert_eq!(out, text(HELLO));
    assert!(lost);
}

#[test]
fn too_many_headers_is_431_and_absolute_uri_is_accepted() {
    let site = hello_site();
    let mut request = b"GET /hello HTTP/1.1\r\n".to_vec();
    for i in 0..101 {
        request.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    request.extend_from_slice(b"\r\n");
    let (out, _) = over_iosim(&site, request);
    assert!(out.starts_with("HTTP/1.1 431 "), "{out}");
    let (out, _) = over_iosim(
        &site,
        b"GET http://example.com/hello HTTP/1.1\r\nConnection: close\r\n\r\n".to_vec(),
    );
    assert_eq!(out, text(HELLO));
}

/// A resource written the Twisted way: `render_get` and `render_post`.
struct Counter {
    count: Cell<u32>,
}

impl treq::web::resource::Resource for Counter {
    fn render_get(&self, _request: &Rc<Request>) -> Option<RenderResult> {
        Some(format!("count={}", self.count.get()).into())
    }
    fn render_post(&self, request: &Rc<Request>) -> Option<RenderResult> {
        self.count.set(self.count.get() + 1);
        request.set_response_code_with_phrase(201, Some("Counted"));
        Some(RenderResult::Body(Bytes::new()))
    }
    fn allowed_methods(&self) -> Vec<&'static str> {
        vec!["GET", "POST"]
    }
    fn is_leaf(&self) -> bool {
        true
    }
}

#[test]
fn trait_resource_dispatches_by_method() {
    let site = Site::new(Rc::new(Counter {
        count: Cell::new(0),
    }));
    let (out, _) = over_iosim(
        &site,
        b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\nGET / HTTP/1.1\r\n\r\nDELETE / HTTP/1.1\r\nConnection: close\r\n\r\n"
            .to_vec(),
    );
    let (head, body) = out.rsplit_once("\r\n\r\n").unwrap();
    assert!(
        out.starts_with(
            "HTTP/1.1 201 Counted\r\nContent-Length: 0\r\n\r\n\
             HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\ncount=1\
             HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, POST, HEAD\r\n"
        ),
        "{out}"
    );
    assert!(head.ends_with("Connection: close"), "{head}");
    assert!(body.contains("DELETE"), "{body}");
}

#[test]
fn notify_finish_failure_is_the_connection_loss_reason() {
    let request_slot: Rc<RefCell<Option<Rc<Request>>>> = Rc::default();
    let slot = request_slot.clone();
    let site = Site::new(Rc::new(FnResource::new(move |request: &Rc<Request>| {
        *slot.borrow_mut() = Some(request.clone());
        NOT_DONE_YET
    })));
    let client = Rc::new(RawClient {
        send: b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        ..RawClient::default()
    });
    let (_s, client_transport, pump) = connected_server_and_client(
        site.build_protocol("127.0.0.1:9".parse().unwrap()),
        client.clone(),
    );
    pump.flush().unwrap();
    let request = request_slot.borrow().clone().expect("rendered");
    let first = request.notify_finish();
    client_transport.lose_connection();
    pump.flush().unwrap();
    assert!(request.connection_lost());
    let failure = first.take_result().unwrap().unwrap_err();
    assert!(
        failure.check::<reactor::error::ConnectionDone>(),
        "{failure:?}"
    );
    let late = request.notify_finish().take_result().unwrap().unwrap_err();
    assert!(late.check::<reactor::error::ConnectionDone>());
}

#[test]
fn no_content_has_no_length_and_no_body() {
    let site = Site::new(Rc::new(FnResource::new(|request: &Rc<Request>| {
        request.set_response_code(204);
        "ignored".into()
    })));
    let (out, _) = over_iosim(
        &site,
        b"DELETE /x HTTP/1.1\r\n\r\nDELETE /y HTTP/1.1\r\nConnection: close\r\n\r\n".to_vec(),
    );
    assert_eq!(
        out,
        "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"
    );
}

#[test]
fn pipelined_bytes_pause_reading_until_the_response_finishes() {
    let pending: Rc<RefCell<Option<Rc<Request>>>> = Rc::default();
    let slot = pending.clone();
    let site = Site::new(Rc::new(FnResource::new(move |request: &Rc<Request>| {
        if &request.path()[..] == b"/slow" {
            *slot.borrow_mut() = Some(request.clone());
            NOT_DONE_YET
        } else {
            RenderResult::Body(request.path().clone())
        }
    })))
    .with_max_head_size(100);
    let mut send = b"GET /slow HTTP/1.1\r\n\r\n".to_vec();
    for i in 0..10 {
        send.extend_from_slice(format!("GET /{i} HTTP/1.1\r\n\r\n").as_bytes());
    }
    send.extend_from_slice(b"GET /last HTTP/1.1\r\nConnection: close\r\n\r\n");
    let client = Rc::new(RawClient {
        send,
        ..RawClient::default()
    });
    let (server_transport, _c, pump) = connected_server_and_client(
        site.build_protocol("127.0.0.1:9".parse().unwrap()),
        client.clone(),
    );
    pump.flush().unwrap();
    assert!(server_transport.reading_paused());
    assert!(client.received.borrow().is_empty());
    let request = pending.borrow_mut().take().unwrap();
    request.write(b"slow");
    request.finish();
    pump.flush().unwrap();
    assert!(!server_transport.reading_paused());
    let out = text(&client.received.borrow());
    let mut expected =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nslow\r\n0\r\n\r\n".to_string();
    for i in 0..10 {
        expected.push_str(&format!("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n/{i}"));
    }
    expected.push_str("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n/last");
    assert_eq!(out, expected);
    assert!(client.lost.get());
}

fn echo_url() -> Rc<FnResource<impl Fn(&Rc<Request>) -> RenderResult>> {
    Rc::new(FnResource::new(|request: &Rc<Request>| {
        RenderResult::from(format!("{} {}", request.is_secure(), request.url()))
    }))
}

#[test]
fn request_url_from_the_host_header_or_the_server_address() {
    let reactor = Reactor::new();
    let out = exchange(
        &reactor,
        Site::new(echo_url()),
        b"GET /a/b%20c?q=1 HTTP/1.1\r\nHost: example.test:8080\r\nConnection: close\r\n\r\n",
    );
    assert!(
        text(&out).ends_with("\r\n\r\nfalse http://example.test:8080/a/b%20c"),
        "{}",
        text(&out)
    );
    // HTTP/1.0 without a Host header: the address the connection reached.
    let out = exchange(&reactor, Site::new(echo_url()), b"GET /x HTTP/1.0\r\n\r\n");
    let body = text(&out);
    let body = body.rsplit("\r\n\r\n").next().unwrap();
    assert!(body.starts_with("false http://127.0.0.1:"), "{body}");
    assert!(body.ends_with("/x"), "{body}");
}

#[test]
fn a_site_marked_secure_says_so_to_its_requests() {
    let reactor = Reactor::new();
    let site = Site::new(echo_url()).with_secure(true);
    let out = exchange(
        &reactor,
        site,
        b"GET / HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n",
    );
    assert!(
        text(&out).ends_with("\r\n\r\ntrue https://example.test/"),
        "{}",
        text(&out)
    );
}
