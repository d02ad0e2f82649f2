//! Fault injection over real sockets: resets and closes at every point of a response, and a
//! cached connection closed under a new request (retried only as Twisted allows). Every case
//! ends with a typed error or the right result, no broken connection in the pool and no
//! descriptor left open (see `support_faults`).
//!
//! Framing cases are in `faults_framing.rs`, head cases in `faults_head.rs`, time cases in
//! `faults_time.rs`, request-side injection in `faults_injection.rs`.

// The descriptor checks read /proc.
#![cfg(target_os = "linux")]

mod support_faults;

use bytes::Bytes;
use reactor::defer::CancelledError;
use std::rc::Rc;
use std::time::Duration;
use support_faults::{protocol_error, Case, FaultServer, Step};
use treq::web::client::{BytesBodyProducer, HTTPConnectionPool};
use treq::web::error::{ResponseFailed, ResponseNeverReceived};
use treq::web::http11::ProtocolError;
use treq::web::iweb::{IAgent, IBodyProducer};

/// Long enough for bytes sent before a reset to be read by the client first (a reset can
/// discard data still unread in the receive queue).
const SETTLE: Duration = Duration::from_millis(100);

fn send(bytes: &str) -> Step {
    Step::Send(bytes.as_bytes().to_vec())
}

fn ok(body: &str) -> Step {
    send(&format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ))
}

// --- Resets and closes on a new connection --------------------------------------------------

#[test]
fn reset_before_any_response_byte() {
    let case = Case::new();
    let server = FaultServer::one(vec![Step::ReadRequest, Step::Reset]);
    let failure = case.fetch("GET", &server.url("/")).unwrap_err();
    assert!(failure.check::<ResponseNeverReceived>(), "{failure}");
    // A new connection is never retried.
    assert_eq!(server.connections(), 1);
    case.finish(server, 0);
}

#[test]
fn close_before_any_response_byte() {
    let case = Case::new();
    let server = FaultServer::one(vec![Step::ReadRequest, Step::Close]);
    let failure = case.fetch("GET", &server.url("/")).unwrap_err();
    assert!(failure.check::<ResponseNeverReceived>(), "{failure}");
    assert_eq!(server.connections(), 1);
    case.finish(server, 0);
}

#[test]
fn reset_on_accept_before_the_request_is_read() {
    for fault in [Step::Reset, Step::Close] {
        let case = Case::new();
        let server = FaultServer::one(vec![fault.clone()]);
        let failure = case.fetch("GET", &server.url("/")).unwrap_err();
        assert!(
            failure.check::<ResponseNeverReceived>(),
            "{fault:?}: {failure}"
        );
        assert_eq!(server.connections(), 1, "{fault:?}");
        case.finish(server, 0);
    }
}

#[test]
fn reset_mid_head() {
    let case = Case::new();
    let server = FaultServer::one(vec![
        Step::ReadRequest,
        send("HTTP/1.1 200 OK\r\nContent-Le"),
        Step::Wait(SETTLE),
        Step::Reset,
    ]);
    let failure = case.fetch("GET", &server.url("/")).unwrap_err();
    assert!(failure.check::<ResponseFailed>(), "{failure}");
    assert_eq!(
        protocol_error(&failure),
        Some(ProtocolError::ConnectionClosedInHead)
    );
    case.finish(server, 0);
}

#[test]
fn close_mid_head() {
    let case = Case::new();
    let server = FaultServer::one(vec![
        Step::ReadRequest,
        send("HTTP/1.1 200 OK\r\n"),
        Step::Close,
    ]);
    let failure = case.fetch("GET", &server.url("/")).unwrap_err();
    assert!(failure.check::<ResponseFailed>(), "{failure}");
    assert_eq!(
        protocol_error(&failure),
        Some(ProtocolError::ConnectionClosedInHead)
    );
    case.finish(server, 0);
}

#[test]
fn reset_mid_body() {
    let case = Case::new();
    let server = FaultServer::one(vec![
        Step::ReadRequest,
        send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"),
        Step::Wait(SETTLE),
        Step::Reset,
    ]);
    let (response, body) = case.fetch("GET", &server.url("/")).unwrap();
    assert_eq!((response.code, response.length), (200, Some(10)));
    let failure = body.unwrap_err();
    assert!(failure.check::<ResponseFailed>(), "{failure}");
    assert_eq!(
        protocol_error(&failure),
        Some(ProtocolError::ConnectionClosedInBody {
            expected: 10,
            received: 5
        })
    );
    case.finish(server, 0);
}

#[test]
fn close_mid_body() {
    let case = Case::new();
    let server = FaultServer::one(vec![
        Step::ReadRequest,
        send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel"),
        Step::Close,
    ]);
    let (_, body) = case.fetch("GET", &server.url("/")).unwrap();
    let failure = body.unwrap_err();
    assert!(failure.check::<ResponseFailed>(), "{failure}");
    assert_eq!(
        protocol_error(&failure),
        Some(ProtocolError::ConnectionClosedInBody {
            expected: 10,
            received: 3
        })
    );
    case.finish(server, 0);
}

#[test]
fn reset_mid_chunk() {
    let case = Case::new();
    let server = FaultServer::one(vec![
        Step::ReadRequest,
        send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"),
        Step::Wait(SETTLE),
        Step::Reset,
    ]);
    let (response, body) = case.fetch("GET", &server.url("/")).unwrap();
    assert_eq!((response.code, response.length), (200, None));
    let failure = body.unwrap_err();
    assert!(failure.check::<ResponseFailed>(), "{failure}");
    assert_eq!(
        protocol_error(&failure),
        Some(ProtocolError::ConnectionClosedInChunkedBody)
    );
    case.finish(server, 0);
}

#[test]
fn close_between_chunks() {
    let case = Case::new();
    let server = FaultServer::one(vec![
        Step::ReadRequest,
        send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"),
        Step::Close,
    ]);
    let (_, body) = case.fetch("GET", &server.url("/")).unwrap();
    let failure = body.unwrap_err();
    assert_eq!(
        protocol_error(&failure),
        Some(ProtocolError::ConnectionClosedInChunkedBody)
    );
    case.finish(server, 0);
}

// --- A cached connection the server closes just as the next request is sent -----------------

/// Connection 0 answers one request, then `fault`s on the second; connection 1 answers "fresh".
fn stale_server(fault: Step) -> FaultServer {
    FaultServer::start(vec![
        vec![Step::ReadRequest, ok("first"), Step::ReadRequest, fault],
        vec![Step::ReadRequest, ok("fresh"), Step::DrainUntilClosed],
    ])
}

#[test]
fn reused_connection_closed_after_request_retries_get() {
    for (method, fault) in [
        ("GET", Step::Close),
        ("GET", Step::Reset),
        ("HEAD", Step::Close),
        ("DELETE", Step::Close),
        ("OPTIONS", Step::Reset),
    ] {
        let case = Case::new();
        let server = stale_server(fault.clone());
        assert_eq!(case.get_ok(&server.url("/")), (200, Bytes::from("first")));
        let (response, body) = case
            .fetch(method, &server.url("/"))
            .unwrap_or_else(|f| panic!("{method} after {fault:?} was not retried: {f}"));
        assert_eq!(response.code, 200);
        let expected = if method == "HEAD" { "" } else { "fresh" };
        assert_eq!(body.unwrap(), expected, "{method} after {fault:?}");
        assert_eq!(server.connections(), 2, "{method} after {fault:?}");
        // The new connection is healthy and kept, the stale one is gone; except after HEAD,
        // whose answer here carries body bytes that were never asked for.
        case.finish(server, usize::from(method != "HEAD"));
    }
}

#[test]
fn reused_connection_closed_after_request_does_not_retry_post() {
    for fault in [Step::Close, Step::Reset] {
        let case = Case::new();
        let server = stale_server(fault.clone());
        assert_eq!(case.get_ok(&server.url("/")), (200, Bytes::from("first")));
        let producer: Rc<dyn IBodyProducer> = Rc::new(BytesBodyProducer::new("payload"));
        let d = case
            .agent
            .request("POST", &server.url("/"), None, Some(producer));
        let failure = case.run(d).unwrap_err();
        assert!(
            failure.check::<ResponseNeverReceived>(),
            "{fault:?}: {failure}"
        );
        assert_eq!(server.connections(), 1, "{fault:?}");
        case.finish(server, 0);
    }
}

#[test]
fn reused_connection_closed_after_request_does_not_retry_get_with_a_body() {
    let case = Case::new();
    let server = stale_server(Step::Close);
    assert_eq!(case.get_ok(&server.url("/")), (200, Bytes::from("first")));
    let producer: Rc<dyn IBodyProducer> = Rc::new(BytesBodyProducer::new("query"));
    let d = case
        .agent
        .request("GET", &server.url("/"), None, Some(producer));
    let failure = case.run(d).unwrap_err();
    assert!(failure.check::<ResponseNeverReceived>(), "{failure}");
    assert_eq!(server.connections(), 1);
    case.finish(server, 0);
}

#[test]
fn reused_connection_closed_after_request_without_automatic_retry() {
    let mut case = Case::new();
    case.use_pool(HTTPConnectionPool::new(&case.reactor, true).retry_automatically(false));
    let server = stale_server(Step::Close);
    assert_eq!(case.get_ok(&server.url("/")), (200, Bytes::from("first")));
    let failure = case.fetch("GET", &server.url("/")).unwrap_err();
    assert!(failure.check::<ResponseNeverReceived>(), "{failure}");
    assert_eq!(server.connections(), 1);
    case.finish(server, 0);
}

#[test]
fn reused_connection_closed_mid_response_is_not_retried() {
    let case = Case::new();
    let server = stale_server(send("HTTP/1.1 200 OK\r\nContent-"));
    assert_eq!(case.get_ok(&server.url("/")), (200, Bytes::from("first")));
    // Part of a response arrived: the request may have been acted on, so no retry.
    let failure = case.fetch("GET", &server.url("/")).unwrap_err();
    assert!(failure.check::<ResponseFailed>(), "{failure}");
    assert_eq!(server.connections(), 1);
    case.finish(server, 0);
}

#[test]
fn a_retry_that_fails_too_is_not_retried_again() {
    let case = Case::new();
    let server = FaultServer::start(vec![
        vec![
            Step::ReadRequest,
            ok("first"),
            Step::ReadRequest,
            Step::Close,
        ],
        vec![Step::ReadRequest, Step::Close],
        vec![Step::ReadRequest, ok("third")],
    ]);
    assert_eq!(case.get_ok(&server.url("/")), (200, Bytes::from("first")));
    let failure = case.fetch("GET", &server.url("/")).unwrap_err();
    assert!(failure.check::<ResponseNeverReceived>(), "{failure}");
    case.spin(0.05);
    assert_eq!(server.connections(), 2, "retried more than once");
    case.finish(server, 0);
}

#[test]
fn cancelling_during_the_retry_closes_the_new_connection() {
    let case = Case::new();
    let server = FaultServer::start(vec![
        vec![
            Step::ReadRequest,
            ok("first"),
            Step::ReadRequest,
            Step::Close,
        ],
        vec![Step::ReadRequest, Step::DrainUntilClosed],
    ]);
    assert_eq!(case.get_ok(&server.url("/")), (200, Bytes::from("first")));
    let d = case.agent.request("GET", &server.url("/"), None, None);
    let probe = server.probe();
    assert!(case.run_until(5.0, move || probe.log(1).requests == 1));
    d.cancel();
    let failure = case.run(d).unwrap_err();
    assert!(failure.check::<CancelledError>(), "{failure}");
    let probe = server.probe();
    assert!(
        case.run_until(2.0, move || probe.log(1).client_closed),
        "the retry's connection was left open"
    );
    case.finish(server, 0);
}

// --- A response dropped without reading its body ----------------------------------------------

#[test]
fn dropped_response_with_an_unread_body_closes_the_connection() {
    // Larger than what is buffered for a body nobody asked for, so reading stops: if the
    // dropped response left the connection waiting, it would stay open for good.
    const SIZE: usize = 1024 * 1024;
    let case = Case::new();
    let mut reply = format!("HTTP/1.1 200 OK\r\nContent-Length: {SIZE}\r\n\r\n").into_bytes();
    reply.extend(std::iter::repeat_n(b'z', SIZE));
    let server = FaultServer::one(vec![
        Step::ReadRequest,
        Step::Send(reply),
        Step::DrainUntilClosed,
    ]);
    let response = case
        .run(case.agent.request("GET", &server.url("/"), None, None))
        .unwrap();
    assert_eq!(response.code, 200);
    drop(response);
    let probe = server.probe();
    assert!(
        case.run_until(2.0, move || probe.log(0).client_closed),
        "the connection of a dropped response was left open"
    );
    case.finish(server, 0);
}

#[test]
fn dropped_response_with_a_small_unread_body_is_still_reused() {
    let case = Case::new();
    let server = FaultServer::one(vec![
        Step::ReadRequest,
        ok("small"),
        Step::ReadRequest,
        ok("again"),
        Step::DrainUntilClosed,
    ]);
    let response = case
        .run(case.agent.request("GET", &server.url("/"), None, None))
        .unwrap();
    // The whole body arrived with the head: the connection is already back in the pool.
    case.spin(0.02);
    drop(response);
    assert_eq!(case.get_ok(&server.url("/")), (200, Bytes::from("again")));
    assert_eq!(server.connections(), 1);
    case.finish(server, 1);
}
