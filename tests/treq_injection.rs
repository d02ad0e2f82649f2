//! The treq layer against request-side injection and credential leaks: CR/LF in cookie values
//! and multipart names, credentials in the URL, `cookies=` never sent to another host.

mod support;

use serde_json::Value;
use support::client::{fixture, run};
use support::httpbin::HttpBin;
use treq::response::Response;

#[test]
fn a_cookie_value_with_a_line_break_is_refused_before_a_byte_is_sent() {
    let f = fixture();
    for value in ["a\r\nX-Injected: 1", "a\nb", "a\0b", "a;b"] {
        let d = f
            .client
            .get(f.bin.url("/cookies"))
            .cookies([("name", value)])
            .send();
        let failure = run(&f.reactor, d).unwrap_err();
        assert!(
            failure.check::<treq::cookies::CookieError>(),
            "{value:?}: {failure}"
        );
    }
    assert_eq!(f.bin.hits(), 0);
}

#[test]
fn multipart_names_cannot_add_headers_or_parts() {
    let f = fixture();
    let d = f
        .client
        .post(f.bin.url("/post"))
        .data([("fi\"eld\r\nX-Injected: 1", "v")])
        .files([(
            "up\r\nload",
            "evil\"\r\nContent-Type: text/html\r\n\r\nname.txt",
            "text/plain",
            &b"body"[..],
        )])
        .send()
        .add_callback(|r: Response| r.json::<Value>());
    let data = run(&f.reactor, d).unwrap();
    let form = data["form"].as_object().unwrap();
    let files = data["files"].as_object().unwrap();
    assert_eq!(form.len(), 1, "{data}");
    assert_eq!(files.len(), 1, "{data}");
    let (name, _) = form.iter().next().unwrap();
    assert!(!name.contains('\r') && !name.contains('\n'), "{name:?}");
    assert_eq!(files.values().next().unwrap(), "body");
}

#[test]
fn credentials_in_the_url_become_basic_auth_and_leave_the_url() {
    let f = fixture();
    let url = f
        .bin
        .url("/basic-auth/user/secret")
        .replace("://", "://user:secret@");
    let d = f.client.get(url.as_str()).send();
    let response = run(&f.reactor, d).unwrap();
    assert_eq!(response.code(), 200);
    assert!(!response.request().absolute_uri.contains("secret@"));
    assert!(!format!("{response:?}").contains("secret"));
    let data: Value = run(&f.reactor, response.json()).unwrap();
    assert_eq!(data["user"], "user");
    // An explicit auth= wins over the URL's.
    let d = f.client.get(url.as_str()).auth(("user", "wrong")).send();
    assert_eq!(run(&f.reactor, d).unwrap().code(), 401);
    // Percent-escapes in the userinfo are decoded.
    let url = f.bin.url("/headers").replace("://", "://us%20er:p%40ss@");
    let d = f
        .client
        .get(url.as_str())
        .send()
        .add_callback(|r: Response| r.json::<Value>());
    let data = run(&f.reactor, d).unwrap();
    assert_eq!(
        data["headers"]["Authorization"],
        treq::web::client::basic_auth_header("us er", "p@ss")
    );
}

#[test]
fn url_credentials_do_not_follow_a_redirect_to_another_origin() {
    let f = fixture();
    let other = HttpBin::start();
    let target = other.url("/headers");
    let url = f
        .bin
        .url(&format!("/redirect-to?url={target}"))
        .replace("://", "://user:secret@");
    let d = f
        .client
        .get(url.as_str())
        .send()
        .add_callback(|r: Response| r.json::<Value>());
    let data = run(&f.reactor, d).unwrap();
    assert!(data["headers"].get("Authorization").is_none(), "{data}");
}

#[test]
fn request_cookies_are_not_sent_to_another_host_after_a_redirect() {
    let f = fixture();
    let other = HttpBin::start();
    // 127.0.0.1 and localhost are different hosts to a cookie jar.
    let target = other.url("/cookies").replace("127.0.0.1", "localhost");
    let d = f
        .client
        .get(f.bin.url(&format!("/redirect-to?url={target}")))
        .cookies([("scoped", "to-127")])
        .send()
        .add_callback(|r: Response| r.json::<Value>());
    let data = run(&f.reactor, d).unwrap();
    assert_eq!(data["cookies"], serde_json::json!({}), "{data}");
}
