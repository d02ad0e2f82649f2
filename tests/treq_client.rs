//! treq's `HTTPClient` against the httpbin-compatible server (hyper, its own thread): the
//! behaviours of treq's `test_client`, `test_api` and `test_response`, over real sockets.

mod support;

use reactor::defer::{Deferred, Failure};
use reactor::Reactor;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Cursor;
use std::rc::Rc;
use support::httpbin::HttpBin;
use treq::client::{Data, HTTPClient, InvalidMethod, RequestBodyError};
use treq::response::Response;
use treq::web::client::{Agent, BytesBodyProducer, HTTPConnectionPool};
use treq::web::error::InvalidURI;
use treq::web::http_headers::{HeaderError, Headers};
use treq::web::response::BodyAlreadyDelivered;

fn run<T: 'static>(reactor: &Reactor, d: Deferred<T>) -> Result<T, Failure> {
    support::wait::run(reactor, d, 10.0)
}

struct Fixture {
    reactor: Reactor,
    bin: HttpBin,
    client: HTTPClient,
}

fn fixture() -> Fixture {
    let reactor = Reactor::new();
    let pool = HTTPConnectionPool::new(&reactor, true);
    let client = HTTPClient::new(Agent::new(&reactor).pool(pool));
    Fixture {
        reactor,
        bin: HttpBin::start(),
        client,
    }
}

impl Fixture {
    fn json(&self, d: Deferred<Response>) -> Value {
        let d = d.add_callback(|response: Response| response.json::<Value>());
        run(&self.reactor, d).unwrap()
    }
}

#[test]
fn get_with_params_appends_to_the_query_and_repeats_list_values() {
    let f = fixture();
    let url = f.bin.url("/get?x=1");
    let mut params = BTreeMap::new();
    params.insert("a", vec!["b", "c"]);
    let data = f.json(
        f.client
            .get(&url)
            .params(params)
            .params([("q", "a b")])
            .send(),
    );
    assert_eq!(data["args"]["x"], "1");
    assert_eq!(data["args"]["a"], json!(["b", "c"]));
    assert_eq!(data["args"]["q"], "a b");
    assert!(data["url"]
        .as_str()
        .unwrap()
        .ends_with("/get?x=1&a=b&a=c&q=a+b"));
}

#[test]
fn the_method_is_upper_cased_and_must_be_ascii() {
    let f = fixture();
    let data = f.json(f.client.request("patch", f.bin.url("/anything")).send());
    assert_eq!(data["method"], "PATCH");
    let failure = run(
        &f.reactor,
        f.client.request("GËT", f.bin.url("/get")).send(),
    )
    .unwrap_err();
    assert!(failure.check::<InvalidMethod>(), "{failure}");
}

#[test]
fn headers_from_a_map_with_lists_or_a_headers_object() {
    let f = fixture();
    let data = f.json(
        f.client
            .get(f.bin.url("/headers"))
            .headers([("X-One", vec!["1", "2"])])
            .headers([("X-Two", "b")])
            .send(),
    );
    assert_eq!(data["headers"]["X-One"], "1,2");
    assert_eq!(data["headers"]["X-Two"], "b");

    let mut headers = Headers::new();
    headers.add_raw_header("X-Three", "c").unwrap();
    let data = f.json(f.client.get(f.bin.url("/headers")).headers(&headers).send());
    assert_eq!(data["headers"]["X-Three"], "c");
    assert_eq!(headers.len(), 1, "the caller's Headers is not changed");
}

#[test]
fn a_bad_header_is_a_typed_error_before_sending() {
    let f = fixture();
    let d = f
        .client
        .get(f.bin.url("/headers"))
        .headers([("X-Bad", "a\r\nInjected: 1")])
        .send();
    let failure = run(&f.reactor, d).unwrap_err();
    assert!(failure.check::<HeaderError>(), "{failure}");
    assert_eq!(f.bin.hits(), 0);
}

#[test]
fn a_bad_url_is_invalid_uri() {
    let f = fixture();
    let failure = run(&f.reactor, f.client.get("not a url").send()).unwrap_err();
    assert!(failure.check::<InvalidURI>(), "{failure}");
    let failure = run(&f.reactor, f.client.get(&b"http://h/\xff"[..]).send()).unwrap_err();
    assert!(failure.check::<InvalidURI>(), "{failure}");
}

#[test]
fn urls_may_be_bytes_strings_or_parsed() {
    let f = fixture();
    let url = f.bin.url("/get");
    for d in [
        f.client.get(url.as_bytes()).send(),
        f.client.get(url.clone()).send(),
        f.client.get(url::Url::parse(&url).unwrap()).send(),
    ] {
        assert_eq!(run(&f.reactor, d).unwrap().code(), 200);
    }
}

#[test]
fn form_data_is_url_encoded() {
    let f = fixture();
    let data = f.json(
        f.client
            .post(f.bin.url("/post"))
            .data([("name", vec!["x"]), ("k", vec!["1", "2"])])
            .send(),
    );
    assert_eq!(data["form"]["name"], "x");
    assert_eq!(data["form"]["k"], json!(["1", "2"]));
    assert_eq!(
        data["headers"]["Content-Type"],
        "application/x-www-form-urlencoded"
    );
}

#[test]
fn json_body_replaces_the_callers_content_type() {
    let f = fixture();
    let data = f.json(
        f.client
            .post(f.bin.url("/post"))
            .headers([("Content-Type", "text/plain")])
            .json(&json!({"a": [1, 2], "b": null}))
            .send(),
    );
    assert_eq!(data["json"], json!({"a": [1, 2], "b": null}));
    assert_eq!(data["data"], r#"{"a":[1,2],"b":null}"#, "compact encoding");
    assert_eq!(
        data["headers"]["Content-Type"],
        "application/json; charset=UTF-8"
    );
    // A JSON null is a value, not "no body".
    let data = f.json(f.client.post(f.bin.url("/post")).json(&Value::Null).send());
    assert_eq!(data["data"], "null");
}

#[test]
fn raw_bytes_leave_the_callers_content_type_alone() {
    let f = fixture();
    let data = f.json(
        f.client
            .put(f.bin.url("/put"))
            .headers([("Content-Type", "application/x-custom")])
            .data("raw body")
            .send(),
    );
    assert_eq!(data["data"], "raw body");
    assert_eq!(data["headers"]["Content-Type"], "application/x-custom");
}

#[test]
fn json_with_data_or_files_is_refused() {
    let f = fixture();
    let d = f.client.post(f.bin.url("/post")).json(&1).data("x").send();
    let failure = run(&f.reactor, d).unwrap_err();
    assert_eq!(
        failure.value::<RequestBodyError>(),
        Some(&RequestBodyError::JsonWithDataOrFiles)
    );
    let d = f
        .client
        .post(f.bin.url("/post"))
        .json(&1)
        .files([("f", &b"x"[..])])
        .send();
    assert!(run(&f.reactor, d).unwrap_err().check::<RequestBodyError>());
    assert_eq!(f.bin.hits(), 0);
}

#[test]
fn a_reader_body_is_streamed_chunked() {
    let f = fixture();
    let body = vec![b'r'; 200_000];
    let data = f.json(
        f.client
            .post(f.bin.url("/post"))
            .data(Data::reader(Cursor::new(body.clone())))
            .send(),
    );
    assert_eq!(data["data"].as_str().unwrap().len(), body.len());
    assert_eq!(data["headers"]["Transfer-Encoding"], "chunked");
}

#[test]
fn a_seekable_file_is_sent_with_its_length() {
    let f = fixture();
    let data = f.json(
        f.client
            .post(f.bin.url("/post"))
            .data(Data::file(Cursor::new(b"file body".to_vec())))
            .send(),
    );
    assert_eq!(data["data"], "file body");
    assert_eq!(data["headers"]["Content-Length"], "9");
}

#[test]
fn files_are_sent_multipart_after_the_data_fields() {
    let f = fixture();
    let dir = std::env::temp_dir().join(format!("treq-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("notes.txt");
    std::fs::write(&path, "from a file").unwrap();
    let data = f.json(
        f.client
            .post(f.bin.url("/post"))
            .data([("field", "value")])
            .files([("upload", path.as_path())])
            .files([("raw", "blob.bin", "application/x-blob", &b"\x00\x01"[..])])
            .send(),
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(data["form"]["field"], "value");
    assert_eq!(data["files"]["upload"], "from a file");
    let content_type = data["headers"]["Content-Type"].as_str().unwrap();
    assert!(content_type.starts_with("multipart/form-data; boundary="));
    assert!(
        data["headers"]["Content-Length"].is_string(),
        "length known"
    );
}

#[test]
fn basic_auth_from_text_or_bytes() {
    let f = fixture();
    let data = f.json(
        f.client
            .get(f.bin.url("/basic-auth/user/secret"))
            .auth(("user", "secret"))
            .send(),
    );
    assert_eq!(data["authenticated"], true);
    assert_eq!(data["user"], "user");
    let d = f
        .client
        .get(f.bin.url("/basic-auth/user/other"))
        .auth((&b"user"[..], &b"wrong"[..]))
        .send();
    assert_eq!(run(&f.reactor, d).unwrap().code(), 401);
    // Text credentials are UTF-8: "us\u{e9}r:p\u{e4}ss" in base64.
    let data = f.json(
        f.client
            .get(f.bin.url("/headers"))
            .auth(("usér", "päss"))
            .send(),
    );
    assert_eq!(data["headers"]["Authorization"], "Basic dXPDqXI6cMOkc3M=");
}

#[test]
fn unusable_credentials_are_refused() {
    let f = fixture();
    let d = f.client.get(f.bin.url("/get")).auth(("a:b", "c")).send();
    let failure = run(&f.reactor, d).unwrap_err();
    assert!(
        failure.check::<treq::auth::UnknownAuthConfig>(),
        "{failure}"
    );
}

#[test]
fn request_cookies_are_sent_and_kept_in_the_clients_jar() {
    let f = fixture();
    let data = f.json(
        f.client
            .get(f.bin.url("/cookies"))
            .cookies([("flavour", "oat")])
            .send(),
    );
    assert_eq!(data["cookies"]["flavour"], "oat");
    let data = f.json(f.client.get(f.bin.url("/cookies")).send());
    assert_eq!(
        data["cookies"]["flavour"], "oat",
        "merged into the client's jar"
    );
    assert_eq!(
        treq::cookies::search(f.client.jar(), "127.0.0.1", Some("flavour")).as_deref(),
        Some("oat")
    );
}

#[test]
fn request_cookies_stay_on_their_origins_port() {
    let f = fixture();
    let other = HttpBin::start();
    let d = f
        .client
        .get(f.bin.url("/cookies"))
        .cookies([("scoped", "1")])
        .send();
    run(&f.reactor, d).unwrap();
    let data = f.json(f.client.get(other.url("/cookies")).send());
    assert_eq!(data["cookies"], json!({}), "not sent to another port");
}

#[test]
fn response_cookies_land_in_the_jar_and_go_back() {
    let f = fixture();
    let d = f
        .client
        .get(f.bin.url("/cookies/set?session=abc"))
        .allow_redirects(false)
        .send();
    let response = run(&f.reactor, d).unwrap();
    assert_eq!(response.code(), 302);
    assert_eq!(response.cookies().len(), 1);
    let data = f.json(f.client.get(f.bin.url("/cookies")).send());
    assert_eq!(data["cookies"]["session"], "abc");
}

#[test]
fn a_buffered_body_can_be_read_many_times_and_ways() {
    let f = fixture();
    let response = run(&f.reactor, f.client.get(f.bin.url("/get")).send()).unwrap();
    // Two readers before any byte arrived.
    let first = response.content();
    let second = response.text(None);
    let first = run(&f.reactor, first).unwrap();
    let second = run(&f.reactor, second).unwrap();
    assert_eq!(first, second.as_bytes());
    // And after.
    let value: Value = run(&f.reactor, response.json()).unwrap();
    assert_eq!(value["url"], f.bin.url("/get"));
    let again = run(&f.reactor, response.content()).unwrap();
    assert_eq!(again, first);
}

#[test]
fn an_unbuffered_body_is_read_once() {
    let f = fixture();
    let d = f
        .client
        .get(f.bin.url("/bytes/50000"))
        .unbuffered(true)
        .send();
    let response = run(&f.reactor, d).unwrap();
    let body = run(&f.reactor, response.content()).unwrap();
    assert_eq!(body.len(), 50_000);
    let failure = run(&f.reactor, response.content()).unwrap_err();
    assert!(failure.check::<BodyAlreadyDelivered>());
}

#[derive(Debug)]
struct Enough;
impl std::fmt::Display for Enough {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("enough")
    }
}
impl std::error::Error for Enough {}

#[test]
fn a_failing_collector_stops_the_body_and_fails_with_its_error() {
    let f = fixture();
    let d = f
        .client
        .get(f.bin.url("/stream-bytes/2000000?chunk_size=1024"))
        .unbuffered(true)
        .send();
    let response = run(&f.reactor, d).unwrap();
    let seen = Rc::new(RefCell::new(0usize));
    let s = seen.clone();
    let d = response.collect(move |chunk| {
        *s.borrow_mut() += chunk.len();
        Err(Failure::new(Enough))
    });
    let failure = run(&f.reactor, d).unwrap_err();
    assert!(failure.check::<Enough>(), "{failure}");
    assert!(*seen.borrow() < 2_000_000);
}

#[test]
fn collect_streams_every_chunk() {
    let f = fixture();
    let response = run(&f.reactor, f.client.get(f.bin.url("/stream/5")).send()).unwrap();
    let lines = Rc::new(RefCell::new(Vec::new()));
    let l = lines.clone();
    let d = response.collect(move |chunk| {
        l.borrow_mut().extend_from_slice(&chunk);
        Ok(())
    });
    run(&f.reactor, d).unwrap();
    let text = String::from_utf8(lines.borrow().clone()).unwrap();
    assert_eq!(text.lines().count(), 5);
}

#[test]
fn head_has_no_body() {
    let f = fixture();
    let response = run(&f.reactor, f.client.head(f.bin.url("/get")).send()).unwrap();
    assert_eq!(response.code(), 200);
    assert!(run(&f.reactor, response.content()).unwrap().is_empty());
}

#[test]
fn delete_and_put_reach_their_routes() {
    let f = fixture();
    let data = f.json(f.client.delete(f.bin.url("/delete")).send());
    assert_eq!(data["url"], f.bin.url("/delete"));
    let data = f.json(f.client.patch(f.bin.url("/patch")).data("p").send());
    assert_eq!(data["data"], "p");
}

#[test]
fn the_request_can_be_awaited() {
    let f = fixture();
    let client = f.client.clone();
    let url = f.bin.url("/get");
    let d = reactor::defer::ensure_deferred(async move {
        let response = client.get(url).params([("via", "await")]).await?;
        let data: Value = response.json().await?;
        Ok(data["args"]["via"].as_str().unwrap_or_default().to_owned())
    });
    assert_eq!(run(&f.reactor, d).unwrap(), "await");
}

struct Custom(&'static str);

#[test]
fn a_custom_data_to_body_producer_sees_the_callers_data() {
    let f = fixture();
    let client = f.client.clone().data_to_body_producer(|data| match data {
        Data::Other(value) => match value.downcast_ref::<Custom>() {
            Some(Custom(text)) => Ok(Rc::new(BytesBodyProducer::new(text.to_uppercase()))),
            None => Err(Failure::new(RequestBodyError::UnsupportedData)),
        },
        other => treq::client::default_data_to_body_producer(other),
    });
    let data = f.json(
        client
            .post(f.bin.url("/post"))
            .data(Data::other(Custom("special")))
            .send(),
    );
    assert_eq!(data["data"], "SPECIAL");
    let data = f.json(client.post(f.bin.url("/post")).data("plain").send());
    assert_eq!(data["data"], "plain");
    // Without a converter, Data::Other is a clear error.
    let d = f
        .client
        .post(f.bin.url("/post"))
        .data(Data::other(1u8))
        .send();
    let failure = run(&f.reactor, d).unwrap_err();
    assert_eq!(
        failure.value::<RequestBodyError>(),
        Some(&RequestBodyError::UnsupportedData)
    );
}

#[test]
fn the_pool_is_reused_across_requests() {
    let f = fixture();
    for _ in 0..5 {
        let response = run(&f.reactor, f.client.get(f.bin.url("/get")).send()).unwrap();
        run(&f.reactor, response.content()).unwrap();
    }
    assert_eq!(f.bin.connections(), 1);
}

#[test]
fn redirects_are_followed_and_the_history_kept_oldest_first() {
    let f = fixture();
    let response = run(&f.reactor, f.client.get(f.bin.url("/redirect/3")).send()).unwrap();
    assert_eq!(response.code(), 200);
    let history = response.history();
    assert_eq!(history.len(), 3);
    assert!(history.iter().all(|r| r.code() == 302));
    assert!(history[0].request().absolute_uri.ends_with("/redirect/3"));
    assert!(history[2].request().absolute_uri.ends_with("redirect/1"));
    let data: Value = run(&f.reactor, response.json()).unwrap();
    assert_eq!(data["url"], f.bin.url("/get"));
}

#[test]
fn allow_redirects_false_returns_the_redirect() {
    let f = fixture();
    let d = f
        .client
        .get(f.bin.url("/redirect/1"))
        .allow_redirects(false)
        .send();
    let response = run(&f.reactor, d).unwrap();
    assert_eq!(response.code(), 302);
    assert!(response.history().is_empty());
}

#[test]
fn a_post_redirected_with_303_becomes_a_get() {
    let f = fixture();
    let url = "/redirect-to?url=/get&status_code=303".to_string();
    let d = f.client.post(f.bin.url(&url)).data("body").send();
    let response = run(&f.reactor, d).unwrap();
    assert_eq!(response.code(), 200);
    assert_eq!(&response.request().method[..], b"GET");
}

#[test]
fn browser_like_redirects_turn_a_302_post_into_get() {
    let f = fixture();
    let url = f.bin.url("/redirect-to?url=/get&status_code=302");
    let failure = run(&f.reactor, f.client.post(&url).data("x").send()).unwrap_err();
    assert!(
        failure.find::<treq::web::client::PageRedirect>().is_some(),
        "{failure}"
    );
    let d = f
        .client
        .post(&url)
        .data("x")
        .browser_like_redirects(true)
        .send();
    let response = run(&f.reactor, d).unwrap();
    assert_eq!(response.code(), 200);
    assert_eq!(&response.request().method[..], b"GET");
}

#[test]
fn session_cookies_set_on_a_redirect_are_kept() {
    let f = fixture();
    let data = f.json(f.client.get(f.bin.url("/cookies/set?test=value")).send());
    assert_eq!(data["cookies"]["test"], "value");
    let data = f.json(f.client.get(f.bin.url("/cookies/delete?test")).send());
    assert_eq!(data["cookies"], json!({}));
}

#[test]
fn gzip_is_asked_for_and_decoded() {
    let f = fixture();
    let data = f.json(f.client.get(f.bin.url("/gzip")).send());
    assert_eq!(data["gzipped"], true);
    assert!(data["headers"]["Accept-Encoding"]
        .as_str()
        .unwrap()
        .contains("gzip"));
}

#[test]
fn credentials_do_not_follow_a_redirect_to_another_origin() {
    let f = fixture();
    let other = HttpBin::start();
    let target = other.url("/headers");
    let d = f
        .client
        .get(f.bin.url(&format!("/redirect-to?url={target}")))
        .auth(("user", "secret"))
        .cookies([("mine", "1")])
        .send()
        .add_callback(|r: Response| r.json::<Value>());
    let data = run(&f.reactor, d).unwrap();
    assert!(data["headers"].get("Authorization").is_none(), "{data}");
    assert!(data["headers"].get("Cookie").is_none(), "{data}");
    // Same origin keeps them.
    let d = f
        .client
        .get(f.bin.url("/redirect-to?url=/headers"))
        .auth(("user", "secret"))
        .send()
        .add_callback(|r: Response| r.json::<Value>());
    let data = run(&f.reactor, d).unwrap();
    assert!(data["headers"]["Authorization"].is_string(), "{data}");
}

#[test]
fn the_debug_form_shows_code_type_and_size() {
    let f = fixture();
    let response = run(&f.reactor, f.client.get(f.bin.url("/bytes/10")).send()).unwrap();
    assert_eq!(
        format!("{response:?}"),
        "<treq Response 200 \"application/octet-stream\" 10 bytes>"
    );
}

#[test]
fn a_wrapped_agent_passes_on_its_reactor_for_file_reads() {
    // The agent runs on a reactor that is not the thread's default: reading a streamed body
    // must happen on the agent's reactor, through the wrapper.
    let f = fixture();
    let base: Rc<dyn treq::web::iweb::IAgent> = Rc::new(Agent::new(&f.reactor));
    let wrapped = treq::web::client::RedirectAgent::new(base);
    let client = HTTPClient::new(treq::web::client::ContentDecoderAgent::gzip(Rc::new(
        wrapped,
    )));
    let data = f.json(
        client
            .post(f.bin.url("/post"))
            .data(Data::reader(Cursor::new(b"streamed".to_vec())))
            .send(),
    );
    assert_eq!(data["data"], "streamed");
}
