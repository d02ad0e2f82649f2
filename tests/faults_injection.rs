//! Request-side injection: CR, LF, NUL and spaces in the method, path, query, header names and
//! header values must fail with a typed error before a single byte is written (Twisted
//! CVE-2019-12387, hyper RUSTSEC-2017-0002, trillium RUSTSEC-2024-0008). Each case asserts the
//! scripted server received nothing.

// The descriptor checks read /proc.
#![cfg(target_os = "linux")]

mod support_faults;

use reactor::endpoints::HostnameEndpoint;
use reactor::interfaces::IStreamClientEndpoint;
use std::rc::Rc;
use support_faults::{protocol_error, Case, FaultServer, Step};
use treq::web::error::{InvalidURI, RequestGenerationFailed};
use treq::web::http11::ProtocolError;
use treq::web::http_headers::{HeaderError, Headers};
use treq::web::iweb::IAgent;
use treq::web::newclient::Request;

/// Bytes that must never reach the wire unescaped.
const BAD: [(&str, &str); 5] = [
    ("CR", "\r"),
    ("LF", "\n"),
    ("CRLF", "\r\nX-Injected: yes\r\n"),
    ("NUL", "\0"),
    ("space", " "),
];

/// A server that would answer one request, had one been sent.
fn server() -> FaultServer {
    FaultServer::one(vec![
        Step::ReadRequest,
        Step::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec()),
        Step::DrainUntilClosed,
    ])
}

fn assert_nothing_sent(case: &Case, server: FaultServer, label: &str) {
    // Give a wrongly sent request time to arrive before looking.
    case.spin(0.05);
    assert_eq!(
        server.total_received(),
        0,
        "{label}: bytes reached the server"
    );
    assert_eq!(server.connections(), 0, "{label}: a connection was made");
    case.finish(server, 0);
}

#[test]
fn method_injection() {
    for (name, bad) in BAD {
        for method in [
            format!("GET{bad}"),
            format!("G{bad}ET"),
            format!("{bad}GET"),
        ] {
            let label = format!("{name} in method {method:?}");
            let case = Case::new();
            let server = server();
            let failure = case
                .run(case.agent.request(&method, &server.url("/"), None, None))
                .unwrap_err();
            assert!(
                failure.check::<RequestGenerationFailed>(),
                "{label}: {failure}"
            );
            assert_eq!(
                protocol_error(&failure),
                Some(ProtocolError::InvalidMethod),
                "{label}"
            );
            assert_nothing_sent(&case, server, &label);
        }
    }
}

#[test]
fn uri_injection() {
    for (name, bad) in BAD {
        for (part, suffix) in [
            ("path", format!("/a{bad}b")),
            ("path end", format!("/a{bad}")),
            ("query", format!("/a?q=1{bad}2")),
            ("query key", format!("/a?{bad}=1")),
            ("fragment", format!("/a#f{bad}")),
        ] {
            let label = format!("{name} in the {part}");
            let case = Case::new();
            let server = server();
            let uri = server.url(&suffix);
            let failure = case
                .run(case.agent.request("GET", &uri, None, None))
                .unwrap_err();
            let invalid = failure
                .value::<InvalidURI>()
                .unwrap_or_else(|| panic!("{label}: not an InvalidURI: {failure}"));
            assert_eq!(invalid.uri, uri, "{label}");
            assert_nothing_sent(&case, server, &label);
        }
    }
}

#[test]
fn uri_injection_around_the_authority() {
    let case = Case::new();
    let server = server();
    let port = server.port();
    for uri in [
        format!("http://127.0.0.1:{port}\r\nX-Injected: yes\r\n/"),
        format!("http://127.0.0.1\r\n:{port}/"),
        format!(" http://127.0.0.1:{port}/"),
        format!("http://127.0.0.1:{port}/\t"),
        format!("http://127.0.0.1:{port}/a\x7fb"),
    ] {
        let failure = case
            .run(case.agent.request("GET", &uri, None, None))
            .unwrap_err();
        assert!(failure.check::<InvalidURI>(), "{uri:?}: {failure}");
    }
    assert_nothing_sent(&case, server, "authority");
}

#[test]
fn header_name_and_value_injection() {
    for (name, bad) in BAD {
        let bad_names = [format!("X{bad}Y"), format!("X-A{bad}"), format!("{bad}X")];
        for header in &bad_names {
            let label = format!("{name} in header name {header:?}");
            assert_headers_refused(&label, header, "v", HeaderError::InvalidHeaderName);
        }
        if bad == " " {
            // Spaces are legal inside a header value (User-Agent: Mozilla/5.0 (X11)).
            continue;
        }
        for value in [format!("a{bad}b"), format!("a{bad}"), format!("{bad}a")] {
            let label = format!("{name} in header value {value:?}");
            assert_headers_refused(&label, "X-A", &value, HeaderError::InvalidHeaderValue);
        }
    }
}

/// Every way of building [`Headers`] refuses `(name, value)` with `expected`, so a request
/// carrying them is never made: the caller's `?` stops it, and the server sees nothing.
fn assert_headers_refused(label: &str, name: &str, value: &str, expected: HeaderError) {
    let case = Case::new();
    let server = server();
    let built: Result<Headers, HeaderError> = Headers::try_from([("Accept", "*/*"), (name, value)]);
    assert_eq!(built.err(), Some(expected), "{label}: try_from");
    let mut headers = Headers::try_from([("Accept", "*/*")]).unwrap();
    assert_eq!(
        headers.add_raw_header(name, value),
        Err(expected),
        "{label}: add_raw_header"
    );
    assert_eq!(
        headers.set_raw_headers(name, [value]),
        Err(expected),
        "{label}: set_raw_headers"
    );
    assert_eq!(
        headers.add_raw_header_bytes(name.to_owned().into(), value.to_owned().into()),
        Err(expected),
        "{label}: add_raw_header_bytes"
    );
    // Nothing was half-added.
    assert_eq!(headers.len(), 1, "{label}");
    assert_nothing_sent(&case, server, label);
}

#[test]
fn protocol_refuses_bad_targets_and_hosts_before_writing() {
    // Below the Agent: HTTP11ClientProtocol on a real connection checks what it writes.
    let case = Case::new();
    let server = server();
    let key = case.key(&server);
    let endpoint: Rc<dyn IStreamClientEndpoint> = Rc::new(HostnameEndpoint::new(
        &case.reactor,
        "127.0.0.1",
        server.port(),
    ));
    let connection = case
        .run(case.pool.new_connection(&key, &endpoint))
        .expect("connect");
    for (name, bad) in BAD {
        for (what, request, expected) in [
            (
                "target",
                Request::new("GET", format!("/a{bad}b"), "127.0.0.1", Headers::new()),
                ProtocolError::InvalidRequestTarget,
            ),
            (
                "host",
                Request::new("GET", "/", format!("127.0.0.1{bad}"), Headers::new()),
                ProtocolError::InvalidHost,
            ),
            (
                "method",
                Request::new(format!("GET{bad}"), "/", "127.0.0.1", Headers::new()),
                ProtocolError::InvalidMethod,
            ),
        ] {
            let failure = case.run(connection.request(request)).unwrap_err();
            assert!(
                failure.check::<RequestGenerationFailed>(),
                "{name} in {what}: {failure}"
            );
            assert_eq!(protocol_error(&failure), Some(expected), "{name} in {what}");
            // The connection is still usable: nothing was written.
            assert!(connection.is_quiescent(), "{name} in {what}");
        }
    }
    case.spin(0.05);
    assert_eq!(server.total_received(), 0, "bytes reached the server");
    connection.lose_connection();
    let c = connection.clone();
    assert!(case.run_until(2.0, move || c.is_lost()));
    drop(connection);
    case.finish(server, 0);
}
