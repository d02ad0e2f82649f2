//! treq's integration suite (`treq/test/test_treq_integration.py`), each case run twice: over
//! HTTP and over HTTPS trusting the server's CA. The server is the in-process httpbin
//! (`tests/support/httpbin`) unless the environment names real ones (see
//! `tests/support/target.rs`; `.ci/run` runs this file against Python's httpbin under
//! gunicorn and nginx in front of it).
//!
//! The assertions hold for both servers: header echoes are compared after splitting on
//! commas (gunicorn joins repeated headers with `,`), URLs by their path (behind nginx,
//! httpbin sees the proxy's scheme), and connection counts only for the in-process server,
//! the one that can count them.

mod support;

use bytes::Bytes;
use reactor::defer::{gather_results, CancelledError, Deferred, Failure, TimeoutError};
use reactor::Reactor;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::rc::Rc;
use support::target::{Scheme, Target};
use treq::client::HTTPClient;
use treq::response::Response;
use treq::web::client::{Agent, BrowserLikePolicyForHTTPS, HTTPConnectionPool};
use treq::web::response::BodyAlreadyDelivered;

/// One case's world: a reactor, a persistent pool, a client trusting the target's CA.
struct Ctx {
    reactor: Reactor,
    target: Target,
    pool: HTTPConnectionPool,
    client: HTTPClient,
}

impl Ctx {
    fn new(scheme: Scheme) -> Option<Ctx> {
        let target = Target::for_scheme(scheme)?;
        let reactor = Reactor::new();
        let pool = HTTPConnectionPool::new(&reactor, true);
        let client = HTTPClient::new(agent(&reactor, &target, pool.clone()));
        Some(Ctx {
            reactor,
            target,
            pool,
            client,
        })
    }

    fn url(&self, path: &str) -> String {
        self.target.url(path)
    }

    fn run<T: 'static>(&self, d: Deferred<T>) -> Result<T, Failure> {
        support::wait::run(&self.reactor, d, 20.0)
    }

    fn ok(&self, d: Deferred<Response>) -> Response {
        self.run(d)
            .unwrap_or_else(|f| panic!("request failed: {f}"))
    }

    fn json(&self, d: Deferred<Response>) -> Value {
        let d = d.add_callback(|response: Response| {
            assert_eq!(response.code(), 200, "{response:?}");
            response.json::<Value>()
        });
        self.run(d)
            .unwrap_or_else(|f| panic!("request failed: {f}"))
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        let d = self.pool.close_cached_connections();
        let _ = support::wait::run(&self.reactor, d, 5.0);
    }
}

/// An agent on `pool` that trusts the target's CA for HTTPS.
fn agent(reactor: &Reactor, target: &Target, pool: HTTPConnectionPool) -> Agent {
    let agent = Agent::new(reactor).pool(pool);
    match target.trust_root() {
        Some(root) => agent.context_factory(BrowserLikePolicyForHTTPS::with_trust_root(root)),
        None => agent,
    }
}

/// The values of a header as an echo shows them, however the server joined them.
fn header_values(echo: &Value) -> Vec<String> {
    echo.as_str()
        .unwrap_or_else(|| panic!("not a header value: {echo}"))
        .split(',')
        .map(|v| v.trim().to_owned())
        .collect()
}

fn path_of(url: &Value) -> String {
    let url = url::Url::parse(url.as_str().expect("a URL")).expect("a valid URL");
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

/// Declares `mod http` and `mod https`, each with one test per case.
macro_rules! both_schemes {
    ($($case:ident),* $(,)?) => {
        mod http {
            $( #[test] fn $case() { if let Some(ctx) = super::Ctx::new(super::Scheme::Http) { super::$case(&ctx) } } )*
        }
        mod https {
            $( #[test] fn $case() { if let Some(ctx) = super::Ctx::new(super::Scheme::Https) { super::$case(&ctx) } } )*
        }
    };
}

both_schemes!(
    get,
    get_headers_repeated,
    get_302_absolute_redirect,
    get_302_relative_redirect,
    get_302_redirect_disallowed,
    head,
    head_302_redirect,
    head_302_relative_redirect,
    head_302_redirect_disallowed,
    get_headers_text_and_bytes,
    status_codes_without_and_with_bodies,
    stream_lines_arrive_whole,
    drip_arrives_over_time,
    post_bytes,
    multipart_post,
    post_json_content_type,
    an_early_answer_to_a_large_upload,
    put,
    patch,
    delete,
    gzip,
    basic_auth,
    failed_basic_auth,
    timeout,
    cookie_sent_from_cookies_argument,
    cookie_set_without_following_the_redirect,
    cookie_set_then_deleted_through_redirects,
    head_of_a_large_download,
    streaming_download_with_collect,
    unbuffered_body_read_once,
    history_across_a_redirect_chain,
    concurrent_requests_share_the_pool,
);

fn get(ctx: &Ctx) {
    // The module-level API, as a script would use it, with the agent that trusts the CA.
    let agent = agent(&ctx.reactor, &ctx.target, ctx.pool.clone());
    let response = ctx.ok(treq::get(ctx.url("/get")).agent(agent).send());
    assert_eq!(response.code(), 200);
    assert_eq!(
        response.headers().get_first("content-type").map(|v| &v[..]),
        Some(&b"application/json"[..])
    );
    let data: Value = ctx.run(response.json()).unwrap();
    assert_eq!(path_of(&data["url"]), "/get");
}

fn get_headers_repeated(ctx: &Ctx) {
    let d = ctx
        .client
        .get(ctx.url("/get"))
        .headers([("X-Blah", vec!["Foo", "Bar"])])
        .send();
    let data = ctx.json(d);
    assert_eq!(header_values(&data["headers"]["X-Blah"]), ["Foo", "Bar"]);
}

fn get_302_absolute_redirect(ctx: &Ctx) {
    let target = ctx.url("/get");
    let d = ctx
        .client
        .get(ctx.url("/redirect-to"))
        .params([("url", target.as_str())])
        .send();
    let response = ctx.ok(d);
    assert_eq!(response.code(), 200);
    assert_eq!(&*response.request().absolute_uri, target);
    assert_eq!(response.history().len(), 1);
}

fn get_302_relative_redirect(ctx: &Ctx) {
    let response = ctx.ok(ctx.client.get(ctx.url("/relative-redirect/1")).send());
    assert_eq!(response.code(), 200);
    assert_eq!(&*response.request().absolute_uri, ctx.url("/get"));
}

fn get_302_redirect_disallowed(ctx: &Ctx) {
    let d = ctx
        .client
        .get(ctx.url("/redirect/1"))
        .allow_redirects(false)
        .send();
    let response = ctx.ok(d);
    assert_eq!(response.code(), 302);
    assert!(response.history().is_empty());
    assert!(response.headers().get_first("location").is_some());
}

fn head(ctx: &Ctx) {
    let response = ctx.ok(ctx.client.head(ctx.url("/get")).send());
    assert_eq!(response.code(), 200);
    assert!(ctx.run(response.content()).unwrap().is_empty());
}

fn head_302_redirect(ctx: &Ctx) {
    let target = ctx.url("/get");
    let d = ctx
        .client
        .head(ctx.url("/redirect-to"))
        .params([("url", target.as_str())])
        .send();
    let response = ctx.ok(d);
    assert_eq!(response.code(), 200);
    assert_eq!(&response.request().method[..], b"HEAD");
    assert_eq!(&*response.request().absolute_uri, target);
    assert!(ctx.run(response.content()).unwrap().is_empty());
}

fn head_302_relative_redirect(ctx: &Ctx) {
    let response = ctx.ok(ctx.client.head(ctx.url("/relative-redirect/1")).send());
    assert_eq!(response.code(), 200);
    assert_eq!(&*response.request().absolute_uri, ctx.url("/get"));
    assert!(ctx.run(response.content()).unwrap().is_empty());
}

fn head_302_redirect_disallowed(ctx: &Ctx) {
    let d = ctx
        .client
        .head(ctx.url("/redirect/1"))
        .allow_redirects(false)
        .send();
    let response = ctx.ok(d);
    assert_eq!(response.code(), 302);
    assert!(ctx.run(response.content()).unwrap().is_empty());
}

fn get_headers_text_and_bytes(ctx: &Ctx) {
    // treq's test_get_headers_unicode: text and bytes values for one name.
    let d = ctx
        .client
        .get(ctx.url("/get"))
        .headers([("X-Blah", vec![&b"Foo"[..], "Bar".as_bytes()])])
        .headers([("X-Other", "Baz")])
        .send();
    let data = ctx.json(d);
    assert_eq!(header_values(&data["headers"]["X-Blah"]), ["Foo", "Bar"]);
    assert_eq!(data["headers"]["X-Other"], "Baz");
}

fn status_codes_without_and_with_bodies(ctx: &Ctx) {
    for code in [204u16, 404, 500] {
        let response = ctx.ok(ctx.client.get(ctx.url(&format!("/status/{code}"))).send());
        assert_eq!(response.code(), code);
        let body = ctx.run(response.content()).unwrap();
        if code == 204 {
            assert!(body.is_empty());
        }
    }
    let response = ctx.ok(ctx.client.get(ctx.url("/status/418")).send());
    assert_eq!(response.code(), 418);
    let text = ctx.run(response.text(None)).unwrap();
    assert!(text.contains("teapot"), "{text}");
}

fn stream_lines_arrive_whole(ctx: &Ctx) {
    let response = ctx.ok(ctx.client.get(ctx.url("/stream/5")).send());
    let text = ctx.run(response.text(None)).unwrap();
    let ids: Vec<u64> = text
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["id"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(ids, [0, 1, 2, 3, 4]);
}

fn drip_arrives_over_time(ctx: &Ctx) {
    // Ten bytes over about a second: the body streams in as it is sent.
    let started = std::time::Instant::now();
    let d = ctx
        .client
        .get(ctx.url("/drip"))
        .params([("numbytes", "10"), ("duration", "1"), ("delay", "0")])
        .unbuffered(true)
        .send();
    let response = ctx.ok(d);
    assert_eq!(response.code(), 200);
    let arrivals = Rc::new(RefCell::new(Vec::new()));
    let a = arrivals.clone();
    let d = response.collect(move |chunk: Bytes| {
        a.borrow_mut()
            .push((started.elapsed().as_secs_f64(), chunk.len()));
        Ok(())
    });
    ctx.run(d).unwrap();
    let arrivals = arrivals.borrow();
    assert_eq!(arrivals.iter().map(|(_, n)| n).sum::<usize>(), 10);
    let (first, last) = (arrivals[0].0, arrivals[arrivals.len() - 1].0);
    assert!(last - first > 0.5, "spread over time: {arrivals:?}");
}

fn post_bytes(ctx: &Ctx) {
    let data = ctx.json(ctx.client.post(ctx.url("/post")).data("Hello!").send());
    assert_eq!(data["data"], "Hello!");
    assert_eq!(data["headers"]["Content-Length"], "6");
}

fn multipart_post(ctx: &Ctx) {
    let d = ctx
        .client
        .post(ctx.url("/post"))
        .data([("a", "b")])
        // treq's case: a file-like object whose name is david.png.
        .files([("file1", "david.png", &b"file"[..])])
        .send();
    let data = ctx.json(d);
    assert_eq!(data["form"]["a"], "b");
    assert_eq!(data["files"]["file1"], "file");
    assert!(data["form"].get("file1").is_none(), "a file, not a field");
    let content_type = data["headers"]["Content-Type"].as_str().unwrap();
    assert!(
        content_type.starts_with("multipart/form-data; boundary="),
        "{content_type}"
    );
}

fn post_json_content_type(ctx: &Ctx) {
    let d = ctx
        .client
        .post(ctx.url("/post"))
        .headers([("Content-Type", "application/json")])
        .data(r#"{"msg": "hello!"}"#)
        .send();
    let data = ctx.json(d);
    assert_eq!(data["json"], json!({"msg": "hello!"}));
    assert_eq!(data["headers"]["Content-Type"], "application/json");
}

fn an_early_answer_to_a_large_upload(ctx: &Ctx) {
    // 20 MB, streamed chunked: more than nginx (1 MiB) and the in-process server (16 MiB)
    // take, so they answer 413 before the body is sent and close the connection; gunicorn
    // alone reads it all. Either way the answer is the response, not a transmission error,
    // and the client goes on working.
    const SIZE: usize = 20_000_000;
    let body = std::io::Cursor::new(vec![b'u'; SIZE]);
    let d = ctx
        .client
        .post(ctx.url("/post"))
        .data(treq::client::Data::reader(body))
        .send();
    let response = ctx.ok(d);
    match response.code() {
        413 => {}
        200 => {
            let data: Value = ctx.run(response.json()).unwrap();
            assert_eq!(data["data"].as_str().map(str::len), Some(SIZE));
        }
        other => panic!("unexpected status {other}"),
    }
    let data = ctx.json(ctx.client.get(ctx.url("/get")).send());
    assert_eq!(path_of(&data["url"]), "/get");
}

fn put(ctx: &Ctx) {
    let data = ctx.json(ctx.client.put(ctx.url("/put")).data("Hello!").send());
    assert_eq!(data["data"], "Hello!");
}

fn patch(ctx: &Ctx) {
    let data = ctx.json(ctx.client.patch(ctx.url("/patch")).data("Hello!").send());
    assert_eq!(data["data"], "Hello!");
}

fn delete(ctx: &Ctx) {
    let data = ctx.json(ctx.client.delete(ctx.url("/delete")).send());
    assert_eq!(path_of(&data["url"]), "/delete");
}

fn gzip(ctx: &Ctx) {
    let response = ctx.ok(ctx.client.get(ctx.url("/gzip")).send());
    assert_eq!(response.code(), 200);
    assert!(
        response.headers().get_first("content-encoding").is_none(),
        "decoded, so the encoding header is gone"
    );
    let data: Value = ctx.run(response.json()).unwrap();
    assert_eq!(data["gzipped"], true);
}

fn basic_auth(ctx: &Ctx) {
    let d = ctx
        .client
        .get(ctx.url("/basic-auth/treq/treq"))
        .auth(("treq", "treq"))
        .send();
    let data = ctx.json(d);
    assert_eq!(data["authenticated"], true);
    assert_eq!(data["user"], "treq");
}

fn failed_basic_auth(ctx: &Ctx) {
    let d = ctx
        .client
        .get(ctx.url("/basic-auth/treq/treq"))
        .auth(("not-treq", "not-treq"))
        .send();
    let response = ctx.ok(d);
    assert_eq!(response.code(), 401);
    ctx.run(response.content()).unwrap();
}

fn timeout(ctx: &Ctx) {
    let started = std::time::Instant::now();
    let d = ctx.client.get(ctx.url("/delay/2")).timeout(1.0).send();
    let failure = ctx.run(d).unwrap_err();
    assert!(
        failure.check::<TimeoutError>() || failure.check::<CancelledError>(),
        "{failure}"
    );
    assert!(started.elapsed().as_secs_f64() < 1.9, "gave up in time");
}

fn cookie_sent_from_cookies_argument(ctx: &Ctx) {
    let d = ctx
        .client
        .get(ctx.url("/cookies"))
        .cookies([("hello", "there")])
        .send();
    let data = ctx.json(d);
    assert_eq!(data["cookies"]["hello"], "there");
}

fn cookie_set_without_following_the_redirect(ctx: &Ctx) {
    let d = ctx
        .client
        .get(ctx.url("/cookies/set"))
        .params([("hello", "there")])
        .allow_redirects(false)
        .send();
    let response = ctx.ok(d);
    assert_eq!(response.code(), 302);
    let host = url::Url::parse(&ctx.target.base).unwrap();
    let host = host.host_str().unwrap();
    assert_eq!(
        treq::cookies::search(&response.cookies(), host, Some("hello")).as_deref(),
        Some("there")
    );
}

fn cookie_set_then_deleted_through_redirects(ctx: &Ctx) {
    let d = ctx
        .client
        .get(ctx.url("/cookies/set"))
        .params([("flavour", "oat")])
        .send();
    let data = ctx.json(d);
    assert_eq!(data["cookies"]["flavour"], "oat");
    let data = ctx.json(ctx.client.get(ctx.url("/cookies/delete?flavour")).send());
    assert_eq!(data["cookies"], json!({}), "the expired cookie is gone");
}

fn head_of_a_large_download(ctx: &Ctx) {
    // A HEAD answer announces the length of a body it does not send; the client must not
    // wait for it.
    let (path, size) = ctx.target.large.clone();
    let response = ctx.ok(ctx.client.head(ctx.url(&path)).send());
    assert_eq!(response.code(), 200);
    if let Some(length) = response.headers().get_first("content-length") {
        assert_eq!(&length[..], size.to_string().as_bytes());
    }
    assert!(ctx.run(response.content()).unwrap().is_empty());
    let data = ctx.json(ctx.client.get(ctx.url("/get")).send());
    assert_eq!(
        path_of(&data["url"]),
        "/get",
        "the connection is still in step"
    );
}

fn streaming_download_with_collect(ctx: &Ctx) {
    let (path, size) = ctx.target.large.clone();
    let response = ctx.ok(ctx.client.get(ctx.url(&path)).unbuffered(true).send());
    assert_eq!(response.code(), 200);
    let (total, pieces, largest) = (
        Rc::new(RefCell::new(0usize)),
        Rc::new(RefCell::new(0usize)),
        Rc::new(RefCell::new(0usize)),
    );
    let (t, p, l) = (total.clone(), pieces.clone(), largest.clone());
    let d = response.collect(move |chunk: Bytes| {
        *t.borrow_mut() += chunk.len();
        *p.borrow_mut() += 1;
        let mut largest = l.borrow_mut();
        *largest = (*largest).max(chunk.len());
        Ok(())
    });
    ctx.run(d).unwrap();
    assert_eq!(*total.borrow(), size);
    assert!(*pieces.borrow() > 1, "streamed in pieces, not all at once");
    assert!(
        *largest.borrow() < size.max(2),
        "no piece is the whole body"
    );
}

fn unbuffered_body_read_once(ctx: &Ctx) {
    let d = ctx
        .client
        .get(ctx.url("/stream-bytes/10000"))
        .unbuffered(true)
        .send();
    let response = ctx.ok(d);
    assert_eq!(ctx.run(response.content()).unwrap().len(), 10_000);
    let failure = ctx.run(response.content()).unwrap_err();
    assert!(failure.check::<BodyAlreadyDelivered>(), "{failure}");
}

fn history_across_a_redirect_chain(ctx: &Ctx) {
    let response = ctx.ok(ctx.client.get(ctx.url("/redirect/3")).send());
    assert_eq!(response.code(), 200);
    let history = response.history();
    assert_eq!(history.len(), 3);
    assert!(history.iter().all(|r| r.code() == 302), "{history:?}");
    assert_eq!(&*history[0].request().absolute_uri, ctx.url("/redirect/3"));
    let hops: Vec<String> = history
        .iter()
        .map(|r| r.request().absolute_uri.to_string())
        .collect();
    assert!(
        hops.windows(2).all(|w| w[0] != w[1]),
        "each hop a new URL: {hops:?}"
    );
    assert_eq!(&*response.request().absolute_uri, ctx.url("/get"));
    let data: Value = ctx.run(response.json()).unwrap();
    assert_eq!(path_of(&data["url"]), "/get");
}

fn concurrent_requests_share_the_pool(ctx: &Ctx) {
    // Four at once need four connections; the pool keeps two (max_persistent_per_host), so
    // four more one after another reuse them and open none.
    let batch: Vec<Deferred<Value>> = (0..4)
        .map(|n| {
            ctx.client
                .get(ctx.url("/get"))
                .params([("n", n.to_string())])
                .send()
                .add_callback(|r: Response| r.json::<Value>())
        })
        .collect();
    let answers = ctx.run(gather_results(batch, true)).unwrap();
    let seen: Vec<String> = answers.iter().map(|a| path_of(&a["url"])).collect();
    assert_eq!(seen, ["/get?n=0", "/get?n=1", "/get?n=2", "/get?n=3"]);
    let after_batch = ctx.target.connections();
    if let Some(n) = after_batch {
        assert_eq!(n, 4, "one connection per request in flight");
    }
    for _ in 0..4 {
        let response = ctx.ok(ctx.client.get(ctx.url("/get")).send());
        ctx.run(response.content()).unwrap();
    }
    assert_eq!(ctx.target.connections(), after_batch, "idle ones reused");
}
