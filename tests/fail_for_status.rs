//! `Response::fail_for_status` (treq #62) against a hyper server: 4xx/5xx fail with an
//! `HTTPError` that keeps the response; other codes give the response back.

mod support;

use reactor::Reactor;
use support::{reply, serve, Out, Seen};
use treq::client::HTTPClient;
use treq::response::HTTPError;
use treq::web::client::Agent;

fn by_path(seen: &Seen) -> hyper::Response<Out> {
    let code: u16 = seen.path().trim_start_matches('/').parse().unwrap_or(500);
    reply(
        code,
        &[("content-type", "text/plain")],
        Out::full(format!("body {code}")),
    )
}

#[test]
fn client_and_server_errors_fail_with_the_response() {
    let server = serve(by_path);
    let reactor = Reactor::new();
    let client = HTTPClient::new(Agent::new(&reactor));
    for code in [400u16, 404, 418, 500, 503, 599] {
        let d = client
            .get(server.url(&format!("/{code}")))
            .send()
            .add_callback(|r| r.fail_for_status());
        let failure = support::run(&reactor, d, 10.0).unwrap_err();
        let error = failure.value::<HTTPError>().expect("an HTTPError");
        assert_eq!(error.code, code);
        assert_eq!(error.url, server.url(&format!("/{code}")));
        assert_eq!(error.is_client_error(), code < 500);
        assert!(
            failure.to_string().contains(&format!("{code} ")),
            "{failure}"
        );
        // The body is still there to read.
        let body = support::run(&reactor, error.response.text(None), 10.0).unwrap();
        assert_eq!(body, format!("body {code}"));
    }
}

#[test]
fn other_codes_give_the_response_back() {
    let server = serve(by_path);
    let reactor = Reactor::new();
    let client = HTTPClient::new(Agent::new(&reactor));
    for code in [200u16, 204, 304, 399] {
        let d = client
            .get(server.url(&format!("/{code}")))
            .allow_redirects(false)
            .send()
            .add_callback(|r| r.fail_for_status());
        let response = support::run(&reactor, d, 10.0).unwrap();
        assert_eq!(response.code(), code);
    }
}

#[test]
fn the_message_names_code_phrase_and_url() {
    let server = serve(by_path);
    let reactor = Reactor::new();
    let client = HTTPClient::new(Agent::new(&reactor));
    let d = client
        .get(server.url("/404"))
        .send()
        .add_callback(|r| r.fail_for_status());
    let failure = support::run(&reactor, d, 10.0).unwrap_err();
    assert_eq!(
        failure.value::<HTTPError>().unwrap().to_string(),
        format!("404 client error (Not Found) for {}", server.url("/404"))
    );
}
