//! treq::testing: StubTreq over RequestTraversalAgent — every method, what reaches the
//! resource, cookies and sessions, asynchronous resources with flush, timeouts on the stub's
//! clock, https without TLS (the behaviours of treq's test_testing.py).

use bytes::Bytes;
use reactor::defer::{Deferred, Failure, TimeoutError};
use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::io::Cursor;
use std::rc::Rc;
use treq::client::FileBody;
use treq::testing::{HasHeaders, RequestTraversalAgent, StringStubbingResource, StubTreq};
use treq::web::error::SchemeNotSupported;
use treq::web::iweb::IAgent;
use treq::web::resource::{FnResource, RenderResult, Resource, NOT_DONE_YET};
use treq::web::server::Request;

/// The fired result of `d`; panics if it has not fired (a stub request that answers at once has
/// answered when `send` returns).
fn result<T>(d: &Deferred<T>) -> Result<T, Failure> {
    d.take_result().expect("the Deferred has not fired")
}

fn ok<T>(d: Deferred<T>) -> T {
    match result(&d) {
        Ok(value) => value,
        Err(failure) => panic!("the Deferred failed: {failure}"),
    }
}

fn err<T>(d: Deferred<T>) -> Failure {
    match result(&d) {
        Ok(_) => panic!("the Deferred succeeded"),
        Err(failure) => failure,
    }
}

/// Always 418 with an `x-teapot` header (treq's `_StaticTestResource`).
fn teapot() -> Rc<dyn Resource> {
    Rc::new(FnResource::new(|request: &Rc<Request>| {
        request.set_response_code(418);
        request.set_header("x-teapot", "teapot!").unwrap();
        RenderResult::from("I'm a teapot")
    }))
}

/// Never answers.
fn non_responsive() -> Rc<dyn Resource> {
    Rc::new(FnResource::new(|_request: &Rc<Request>| NOT_DONE_YET))
}

/// Keeps each request to answer it later.
#[derive(Default)]
struct Eventually {
    stored: RefCell<Vec<Rc<Request>>>,
}

impl Eventually {
    fn request(&self) -> Rc<Request> {
        self.stored
            .borrow()
            .last()
            .cloned()
            .expect("no request arrived")
    }
}

impl Resource for Eventually {
    fn render(&self, request: &Rc<Request>) -> RenderResult {
        self.stored.borrow_mut().push(request.clone());
        NOT_DONE_YET
    }
    fn is_leaf(&self) -> bool {
        true
    }
}

#[test]
fn every_method_url_and_keyword_reaches_the_resource() {
    let stub = StubTreq::new(teapot());
    let verbs = ["GET", "PUT", "HEAD", "PATCH", "DELETE", "POST"];
    let urls = [
        "http://supports-http.com",
        "https://supports-https.com",
        "http://this/has/a/path/and/invalid/domain/name",
        "https://supports-https.com:8080",
        "http://supports-http.com:8080",
    ];
    let datas: [Option<&[u8]>; 4] = [
        None,
        Some(b""),
        Some(b"some data"),
        Some(br#"{"some": "json"}"#),
    ];
    for verb in verbs {
        for url in urls {
            for with_params in [false, true] {
                for with_headers in [false, true] {
                    for data in datas {
                        let builders = [
                            stub.request(verb, url),
                            match verb {
                                "GET" => stub.get(url),
                                "PUT" => stub.put(url),
                                "HEAD" => stub.head(url),
                                "PATCH" => stub.patch(url),
                                "DELETE" => stub.delete(url),
                                _ => stub.post(url),
                            },
                        ];
                        for mut builder in builders {
                            if with_params {
                                builder = builder.params([("page", "1")]);
                            }
                            if with_headers {
                                builder =
                                    builder.headers([("x-random-header", vec!["value", "value2"])]);
                            }
                            if let Some(data) = data {
                                builder = builder.data(data.to_vec());
                            }
                            let response = ok(builder.send());
                            assert_eq!(response.code(), 418, "{verb} {url}");
                            assert_eq!(
                                response.headers().get_first("x-teapot").map(|v| &v[..]),
                                Some(&b"teapot!"[..])
                            );
                            let body = ok(stub.content(&response));
                            let expected: &[u8] =
                                if verb == "HEAD" { b"" } else { b"I'm a teapot" };
                            assert_eq!(&body[..], expected, "{verb} {url}");
                        }
                    }
                }
            }
        }
    }
    assert_eq!(
        stub.agent().open_connections(),
        0,
        "every connection closed"
    );
}

#[test]
fn unsupported_schemes_fail_even_after_a_success() {
    let stub = StubTreq::new(teapot());
    assert!(err(stub.get("x-unknown-1:").send()).check::<SchemeNotSupported>());
    ok(stub.get("http://url.com").send());
    assert!(err(stub.get("x-unknown-2:").send()).check::<SchemeNotSupported>());
}

#[test]
fn params_headers_and_data_reach_a_string_stub() {
    let seen = Rc::new(Cell::new(false));
    let s = seen.clone();
    let resource = StringStubbingResource::new(move |method, url, params, headers, data| {
        assert_eq!(method, b"DELETE");
        assert_eq!(url, "http://what/a/thing");
        let mut expected = BTreeMap::new();
        expected.insert(Bytes::from("page"), vec![Bytes::from("1")]);
        assert_eq!(params, &expected);
        assert!(HasHeaders::new([("x-header", "eh")]).matches(headers));
        assert_eq!(data, b"datastr");
        s.set(true);
        (418, [("x-response", "responseheader")], "response body")
    });
    let stub = StubTreq::new(Rc::new(resource));
    let response = ok(stub
        .delete("http://what/a/thing")
        .headers([("x-header", "eh")])
        .params([("page", "1")])
        .data(b"datastr")
        .send());
    assert!(seen.get());
    assert_eq!(response.code(), 418);
    assert_eq!(
        response.headers().get_first("x-response").map(|v| &v[..]),
        Some(&b"responseheader"[..])
    );
    assert_eq!(&ok(stub.content(&response))[..], b"response body");
}

#[test]
fn a_form_a_json_body_and_a_file_reach_the_resource() {
    type Seen = Rc<RefCell<Vec<(Vec<u8>, String, Bytes)>>>;
    let seen: Seen = Rc::default();
    let s = seen.clone();
    let resource = Rc::new(FnResource::new(move |request: &Rc<Request>| {
        let content_type = request
            .get_header("content-type")
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default();
        let name = request.arg("name").cloned().unwrap_or_default();
        s.borrow_mut()
            .push((name.to_vec(), content_type, request.content().clone()));
        RenderResult::from("ok")
    }));
    let stub = StubTreq::new(resource);

    ok(stub
        .post("http://example.test/form")
        .data([("name", "value")])
        .send());
    ok(stub
        .put("http://example.test/json")
        .json(&serde_json::json!({"a": [1, 2]}))
        .send());
    // A file read by a FileBodyProducer: its reads are scheduled on the stub's clock, which the
    // stub runs while it pumps.
    let file = FileBody::Reader(Box::new(Cursor::new(b"file contents".to_vec())));
    ok(stub
        .post("http://example.test/upload")
        .files([("upload", "a.txt", "text/plain", file)])
        .send());

    let seen = seen.borrow();
    assert_eq!(seen[0].0, b"value");
    assert!(seen[0].1.starts_with("application/x-www-form-urlencoded"));
    assert_eq!(&seen[0].2[..], b"name=value");
    assert!(seen[1].1.starts_with("application/json"));
    assert_eq!(&seen[1].2[..], br#"{"a":[1,2]}"#);
    assert!(seen[2].1.starts_with("multipart/form-data; boundary="));
    let upload = String::from_utf8_lossy(&seen[2].2).into_owned();
    assert!(upload.contains("filename=\"a.txt\""), "{upload}");
    assert!(upload.contains("\r\n\r\nfile contents\r\n"), "{upload}");
}

#[test]
fn a_failing_stub_function_answers_500() {
    let resource = StringStubbingResource::new(|_m, _u, _p, _h, _d| {
        Err::<(u16, [(&str, &str); 0], &str), _>(Failure::new(TimeoutError { seconds: 1.0 }))
    });
    let stub = StubTreq::new(Rc::new(resource));
    let response = ok(stub.get("http://example.test/").send());
    assert_eq!(response.code(), 500);
    assert!(!ok(stub.content(&response)).is_empty());
}

#[test]
fn https_urls_are_served_as_secure_without_tls() {
    let seen: Rc<RefCell<Vec<(bool, String)>>> = Rc::default();
    let s = seen.clone();
    let stub = StubTreq::new(Rc::new(FnResource::new(move |request: &Rc<Request>| {
        s.borrow_mut().push((request.is_secure(), request.url()));
        RenderResult::from("")
    })));
    ok(stub.get("https://secure.example/a/b?q=1").send());
    ok(stub.get("http://plain.example:8080/").send());
    ok(stub.get("https://secure.example:8443").send());
    assert_eq!(
        *seen.borrow(),
        vec![
            (true, "https://secure.example/a/b".to_owned()),
            (false, "http://plain.example:8080/".to_owned()),
            (true, "https://secure.example:8443/".to_owned()),
        ]
    );
}

#[test]
fn cancelling_a_request_to_a_resource_that_never_answers() {
    let stub = StubTreq::new(non_responsive());
    let d = stub.request("POST", "http://url").data(b"1234").send();
    assert!(!d.called());
    d.cancel();
    let failure = err(d);
    assert!(
        failure.check::<reactor::defer::CancelledError>(),
        "{failure}"
    );
    stub.flush().unwrap();
    assert_eq!(stub.agent().open_connections(), 0);
}

#[test]
fn a_resource_that_finishes_later_is_seen_after_flush() {
    let resource = Rc::new(Eventually::default());
    let stub = StubTreq::new(resource.clone());
    let d = stub
        .request("POST", "http://example.com/")
        .data(b"1234")
        .send();
    assert!(!d.called());
    assert_eq!(&resource.request().content()[..], b"1234");
    resource.request().finish();
    assert!(!d.called(), "nothing moves before flush");
    stub.flush().unwrap();
    assert_eq!(ok(d).code(), 200);
}

#[test]
fn a_resource_that_streams_its_body_later() {
    let resource = Rc::new(Eventually::default());
    let stub = StubTreq::new(resource.clone());
    let d = stub
        .request("GET", "http://example.com/")
        .unbuffered(true)
        .send();
    assert!(!d.called());

    let request = resource.request();
    request.write(b"spam ");
    request.write(b"eggs");
    stub.flush().unwrap();
    let response = ok(d);
    let chunks: Rc<RefCell<Vec<u8>>> = Rc::default();
    let c = chunks.clone();
    let done = stub.collect(&response, move |chunk| {
        c.borrow_mut().extend_from_slice(&chunk);
        Ok(())
    });
    assert!(!done.called());
    assert_eq!(&chunks.borrow()[..], b"spam eggs");

    chunks.borrow_mut().clear();
    request.write(b"eggs\r\nspam\r\n");
    stub.flush().unwrap();
    assert!(!done.called());
    assert_eq!(&chunks.borrow()[..], b"eggs\r\nspam\r\n");

    request.finish();
    stub.flush().unwrap();
    ok(done);
}

#[test]
fn the_timeout_runs_on_the_stub_clock() {
    let stub = StubTreq::new(non_responsive());
    let started = std::time::Instant::now();
    let d = stub.get("http://example.com/").timeout(2.0).send();
    stub.clock().advance(1.9);
    assert!(!d.called());
    stub.clock().advance(0.2);
    let failure = err(d);
    assert!(failure.check::<TimeoutError>(), "{failure}");
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    // The request was cancelled and its connection aborted.
    stub.flush().unwrap();
    assert_eq!(stub.agent().open_connections(), 0);
}

#[test]
fn the_server_sees_a_timed_out_connection_go_away() {
    let resource = Rc::new(Eventually::default());
    let stub = StubTreq::new(resource.clone());
    let d = stub.get("http://example.com/").timeout(5.0).send();
    let finished = resource.request().notify_finish();
    stub.clock().advance(5.0);
    assert!(err(d).check::<TimeoutError>());
    stub.flush().unwrap();
    assert!(resource.request().connection_lost());
    assert!(result(&finished).is_err());
}

#[test]
fn a_timely_answer_cancels_the_timeout() {
    let resource = Rc::new(Eventually::default());
    let stub = StubTreq::new(resource.clone());
    let d = stub.get("http://example.com/").timeout(5.0).send();
    stub.clock().advance(4.0);
    resource.request().finish();
    stub.flush().unwrap();
    assert_eq!(ok(d).code(), 200);
    assert!(stub.clock().get_delayed_calls().is_empty());
    stub.clock().advance(10.0);
}

/// Gives each new client a session cookie and answers with the session id (treq's
/// `_SessionIdTestResource`, with the session kept in a cookie).
#[derive(Default)]
struct Sessions {
    live: RefCell<Vec<String>>,
    next: Cell<u32>,
}

impl Sessions {
    fn expire(&self) {
        self.live.borrow_mut().clear();
    }
}

impl Resource for Sessions {
    fn render(&self, request: &Rc<Request>) -> RenderResult {
        let sent = request.get_header("cookie").and_then(|cookie| {
            let cookie = String::from_utf8_lossy(cookie).into_owned();
            cookie
                .split(';')
                .find_map(|c| c.trim().strip_prefix("SESSION=").map(str::to_owned))
        });
        if let Some(uid) = sent.filter(|uid| self.live.borrow().contains(uid)) {
            return RenderResult::from(uid);
        }
        let uid = format!("session-{}", self.next.get());
        self.next.set(self.next.get() + 1);
        self.live.borrow_mut().push(uid.clone());
        request
            .set_header("Set-Cookie", format!("SESSION={uid}; Path=/"))
            .unwrap();
        RenderResult::from(uid)
    }
    fn is_leaf(&self) -> bool {
        true
    }
}

#[test]
fn sessions_persist_between_requests_of_one_stub() {
    let resource = Rc::new(Sessions::default());
    let stub = StubTreq::new(resource.clone());
    let first = ok(stub.request("GET", "http://example.com/").send());
    let cookies = first.cookies();
    let sid_1 = ok(first.content());
    // The stub's jar keeps the cookie...
    let sid_2 = ok(ok(stub.request("GET", "http://example.com/").send()).content());
    assert_eq!(sid_1, sid_2);
    // ...and passing the response's cookies on works as in treq.
    let sid_2b = ok(ok(stub
        .request("GET", "http://example.com/")
        .cookies(cookies)
        .send())
    .content());
    assert_eq!(sid_1, sid_2b);

    resource.expire();
    let third = ok(stub.request("GET", "http://example.com/").send());
    let sid_3 = ok(third.content());
    assert_ne!(sid_1, sid_3);
    let sid_4 = ok(ok(stub.request("GET", "http://example.com/").send()).content());
    assert_eq!(sid_3, sid_4);
    assert!(!stub.jar().is_empty());
}

#[test]
fn two_stubs_keep_two_jars() {
    let resource = Rc::new(Sessions::default());
    let one = StubTreq::new(resource.clone());
    let two = StubTreq::new(resource);
    let a = ok(ok(one.get("http://example.com/").send()).content());
    let b = ok(ok(two.get("http://example.com/").send()).content());
    assert_ne!(a, b);
}

/// Redirects to https://example.org/redirected unless already there, and answers with the
/// request headers as JSON (treq's `_RedirectResource`).
fn redirecting() -> Rc<dyn Resource> {
    Rc::new(FnResource::new(|request: &Rc<Request>| {
        if !request.uri().windows(10).any(|w| w == b"redirected") {
            request.set_response_code(302);
            request
                .set_header("Location", "https://example.org/redirected")
                .unwrap();
        }
        let mut headers = serde_json::Map::new();
        for (name, value) in request.received_headers().iter() {
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            let entry = headers.entry(name).or_insert_with(|| Value::Array(vec![]));
            if let Value::Array(values) = entry {
                values.push(Value::String(String::from_utf8_lossy(value).into_owned()));
            }
        }
        RenderResult::from(Value::Object(headers).to_string())
    }))
}

fn cookie_header(received: &Value) -> String {
    received["cookie"][0].as_str().unwrap_or("").to_owned()
}

#[test]
fn cookies_are_not_sent_to_another_domain_after_a_redirect() {
    let stub = StubTreq::new(redirecting());
    let response = ok(stub
        .request("GET", "http://example.com/")
        .cookies([("not-across-redirect", "nope")])
        .send());
    assert_eq!(response.history().len(), 1);
    let received: Value = ok(response.json());
    assert!(!cookie_header(&received).contains("not-across-redirect"));
}

#[test]
fn cookies_are_sent_after_a_redirect_to_the_same_domain() {
    let stub = StubTreq::new(redirecting());
    let response = ok(stub
        .request("GET", "https://example.org/")
        .cookies([("sent-to-same-domain", "yes")])
        .send());
    assert_eq!(
        &*response.request().absolute_uri,
        "https://example.org/redirected"
    );
    let received: Value = ok(response.json());
    assert!(cookie_header(&received).contains("sent-to-same-domain"));
}

#[test]
fn cookies_are_sent_to_an_explicit_port() {
    let stub = StubTreq::new(redirecting());
    for url in [
        "http://example.org:8080/redirected",
        "https://example.org:8443/redirected",
    ] {
        let response = ok(stub
            .request("GET", url)
            .cookies([("sent-to-non-default-port", "yes")])
            .send());
        let received: Value = ok(response.json());
        assert!(
            cookie_header(&received).contains("sent-to-non-default-port"),
            "{url}"
        );
    }
}

#[test]
fn the_content_helpers_read_stub_responses() {
    let stub = StubTreq::new(Rc::new(FnResource::new(|request: &Rc<Request>| {
        request
            .set_header("Content-Type", "application/json")
            .unwrap();
        RenderResult::from(r#"{"caf\u00e9": "ok"}"#)
    })));
    let response = ok(stub.get("http://example.test/").send());
    let value: Value = ok(stub.json_content(&response));
    assert_eq!(value["café"], "ok");
    let text = ok(stub.text_content(&response, None));
    assert!(text.contains("caf"));
    let response = ok(stub.get("http://example.test/").send());
    let mut bytes = 0;
    let total = Rc::new(Cell::new(0));
    let t = total.clone();
    ok(stub.collect(&response, move |chunk| {
        t.set(t.get() + chunk.len());
        Ok(())
    }));
    bytes += total.get();
    assert_eq!(bytes, r#"{"caf\u00e9": "ok"}"#.len());
}

#[test]
fn the_traversal_agent_reports_its_clock_and_serves_a_resource_tree() {
    use treq::web::resource::{Data, ResourceTree};
    let root = Rc::new(ResourceTree::new());
    root.put_child("hello", Rc::new(Data::new("hi!", "text/plain")));
    let agent = RequestTraversalAgent::new(root);
    agent.clock().advance(12.5);
    assert_eq!(agent.reactor().unwrap().seconds(), 12.5);
    let response = ok(agent.request("GET", "http://example.test/hello", None, None));
    assert_eq!(response.code, 200);
    assert_eq!(&ok(treq::web::client::read_body(&response))[..], b"hi!");
    let missing = ok(agent.request("GET", "http://example.test/nope", None, None));
    assert_eq!(missing.code, 404);
}

#[test]
fn a_request_made_from_a_clock_callback_is_answered() {
    // Code under test that retries after a delay: its timer runs on the stub's clock, and the
    // request it makes from there is pumped like any other.
    let stub = StubTreq::new(teapot());
    let later: Rc<RefCell<Option<Deferred<treq::response::Response>>>> = Rc::default();
    let slot = later.clone();
    let s = stub.clone();
    stub.clock().call_later(30.0, move || {
        *slot.borrow_mut() = Some(s.get("http://example.test/retry").timeout(5.0).send());
    });
    stub.clock().advance(29.0);
    assert!(later.borrow().is_none());
    stub.clock().advance(1.0);
    let d = later.borrow_mut().take().expect("the retry ran");
    assert_eq!(ok(d).code(), 418);
    assert!(
        stub.clock().get_delayed_calls().is_empty(),
        "its timeout was cancelled"
    );
}
