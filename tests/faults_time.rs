//! Fault injection, time: servers that accept and never answer, uploads the server never
//! reads, bodies that stall. The caller's Deferred can be cancelled or given a timeout on a
//! `task::Clock`; the connection is then closed, nothing is pooled or leaked, and a request
//! body producer is paused while the socket is full and stopped exactly once.

// The descriptor checks read /proc.
#![cfg(target_os = "linux")]

mod support_faults;

use bytes::Bytes;
use reactor::defer::{CancelledError, TimeoutError};
use reactor::error::ConnectError;
use reactor::task::Clock;
use support_faults::{closed_by_client, requests_seen, Case, EndlessProducer, FaultServer, Step};
use treq::web::client::read_body;
use treq::web::error::RequestTransmissionFailed;
use treq::web::iweb::IAgent;

fn ok(body: &str) -> Step {
    Step::Send(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

#[test]
fn never_answering_server_request_can_be_cancelled() {
    let case = Case::new();
    let server = FaultServer::one(vec![Step::ReadRequest, Step::DrainUntilClosed]);
    let d = case.agent.request("GET", &server.url("/"), None, None);
    let requests = requests_seen(&server);
    assert!(case.run_until(5.0, move || requests() == 1));
    d.cancel();
    let failure = case.run(d).unwrap_err();
    assert!(failure.check::<CancelledError>(), "{failure}");
    let closed = closed_by_client(&server, 0);
    assert!(case.run_until(5.0, closed), "the connection was not closed");
    // Not retried on a new connection: the caller gave up.
    assert_eq!(server.connections(), 1);
    case.finish(server, 0);
}

#[test]
fn never_answering_server_times_out_on_the_clock() {
    let case = Case::new();
    let clock = Clock::new();
    let server = FaultServer::one(vec![Step::ReadRequest, Step::DrainUntilClosed]);
    let d = case
        .agent
        .request("GET", &server.url("/"), None, None)
        .add_timeout(30.0, &clock);
    let requests = requests_seen(&server);
    assert!(case.run_until(5.0, move || requests() == 1));
    clock.advance(29.0);
    case.spin(0.02);
    assert!(!d.called(), "timed out early");
    clock.advance(1.0);
    let failure = case.run(d).unwrap_err();
    assert!(failure.check::<TimeoutError>(), "{failure}");
    let closed = closed_by_client(&server, 0);
    assert!(case.run_until(5.0, closed), "the connection was not closed");
    case.finish(server, 0);
}

#[test]
fn timeout_after_a_cached_connection_stops_answering() {
    let case = Case::new();
    let clock = Clock::new();
    let server = FaultServer::one(vec![
        Step::ReadRequest,
        ok("first"),
        Step::ReadRequest,
        Step::DrainUntilClosed,
    ]);
    assert_eq!(case.get_ok(&server.url("/")), (200, Bytes::from("first")));
    let d = case
        .agent
        .request("GET", &server.url("/"), None, None)
        .add_timeout(5.0, &clock);
    let requests = requests_seen(&server);
    assert!(case.run_until(5.0, move || requests() == 2));
    clock.advance(5.0);
    let failure = case.run(d).unwrap_err();
    assert!(failure.check::<TimeoutError>(), "{failure}");
    // A cancelled request is not retried: no second connection.
    case.spin(0.05);
    assert_eq!(server.connections(), 1);
    case.finish(server, 0);
}

#[test]
fn stalled_upload_is_paused_then_times_out() {
    let case = Case::new();
    let clock = Clock::new();
    // The server reads the head and then never reads again.
    let server = FaultServer::one(vec![Step::ReadHead, Step::Stall]);
    let producer = EndlessProducer::new(&case.reactor);
    let d = case
        .agent
        .request("PUT", &server.url("/upload"), None, Some(producer.clone()))
        .add_timeout(60.0, &clock);
    let p = producer.clone();
    assert!(
        case.run_until(5.0, move || p.paused.get()),
        "the producer was never paused by a full socket"
    );
    // Paused, the producer stays paused: memory stays bounded while the server stalls.
    let written = producer.written.get();
    case.spin(0.05);
    assert_eq!(producer.written.get(), written);
    assert!(written < 64 * 1024 * 1024, "{written} bytes buffered");
    clock.advance(60.0);
    let failure = case.run(d).unwrap_err();
    assert!(failure.check::<TimeoutError>(), "{failure}");
    // The connection is aborted on the next turn of the reactor, which stops the producer.
    case.spin(0.02);
    assert_eq!(producer.stopped.get(), 1, "stop_producing calls");
    assert!(!producer.done.called());
    case.finish(server, 0);
}

#[test]
fn request_cancelled_while_connecting() {
    let case = Case::new();
    let server = FaultServer::one(vec![Step::DrainUntilClosed]);
    let d = case.agent.request("GET", &server.url("/"), None, None);
    // Cancelled before the reactor ever ran: the connection attempt is in progress.
    d.cancel();
    let failure = case.run(d).unwrap_err();
    // The endpoint's canceller fails the attempt with its own error (Twisted's
    // ConnectingCancelledError).
    assert!(
        matches!(
            failure.find::<ConnectError>(),
            Some(ConnectError::Cancelled)
        ),
        "{failure}"
    );
    // Whatever the connect attempt became, nothing stays open or pooled.
    case.spin(0.1);
    assert_eq!(server.total_requests(), 0);
    case.finish(server, 0);
}

#[test]
fn stalled_response_body_times_out_on_the_clock() {
    let case = Case::new();
    let clock = Clock::new();
    let server = FaultServer::one(vec![
        Step::ReadRequest,
        Step::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart".to_vec()),
        Step::DrainUntilClosed,
    ]);
    let response = case
        .run(case.agent.request("GET", &server.url("/"), None, None))
        .unwrap();
    let body = read_body(&response).add_timeout(10.0, &clock);
    case.spin(0.05);
    assert!(!body.called());
    clock.advance(10.0);
    let failure = case.run(body).unwrap_err();
    assert!(failure.check::<TimeoutError>(), "{failure}");
    assert!(
        case.run_until(2.0, closed_by_client(&server, 0)),
        "the connection was not closed"
    );
    case.finish(server, 0);
}

#[test]
fn reset_mid_upload() {
    let case = Case::new();
    let server = FaultServer::one(vec![
        Step::ReadHead,
        Step::Wait(std::time::Duration::from_millis(50)),
        Step::Reset,
    ]);
    let producer = EndlessProducer::new(&case.reactor);
    let d = case
        .agent
        .request("PUT", &server.url("/upload"), None, Some(producer.clone()));
    let failure = case.run(d).unwrap_err();
    // Lost while the body was still being sent (Twisted's RequestTransmissionFailed).
    assert!(failure.check::<RequestTransmissionFailed>(), "{failure}");
    assert!(producer.written.get() > 0);
    case.spin(0.02);
    assert_eq!(producer.stopped.get(), 1, "stop_producing calls");
    // A request with a body is never retried.
    assert_eq!(server.connections(), 1);
    case.finish(server, 0);
}

#[test]
fn early_response_during_upload_stops_the_body() {
    let case = Case::new();
    let server = FaultServer::one(vec![
        Step::ReadHead,
        Step::Send(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\n\r\ntoo big!".to_vec()),
        Step::DrainUntilClosed,
    ]);
    let producer = EndlessProducer::new(&case.reactor);
    let d = case
        .agent
        .request("PUT", &server.url("/upload"), None, Some(producer.clone()))
        .add_callback(|response| {
            let code = response.code;
            read_body(&response).add_callback(move |body| (code, body))
        });
    assert_eq!(case.run(d).unwrap(), (413, Bytes::from("too big!")));
    case.spin(0.02);
    assert_eq!(producer.stopped.get(), 1, "stop_producing calls");
    // The request body was cut short, so the connection cannot carry another request.
    assert!(
        case.run_until(2.0, closed_by_client(&server, 0)),
        "the connection was not closed"
    );
    case.finish(server, 0);
}
