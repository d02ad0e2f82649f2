//! treq's `HTTPClient` and redirects against the httpbin server: history, 303, browser-like
//! redirects, cookies and credentials across hops, gzip (the stack treq builds per request).

mod support;

use serde_json::{json, Value};
use support::client::{fixture, run};
use support::httpbin::HttpBin;
use treq::response::Response;

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
    let url = "/redirect-to?url=/get&status_code=303";
    let d = f.client.post(f.bin.url(url)).data("body").send();
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
