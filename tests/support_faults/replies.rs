//! One-request fault cases as table rows: what the server answers, what the client must end
//! with.

use super::{protocol_error, Case, FaultServer, Step};
use bytes::Bytes;
use treq::web::error::ResponseFailed;
use treq::web::http11::ProtocolError;

/// `GET` (or `method`) from a server that answers `reply` and then keeps its side open: the
/// request or its body must fail with `expected` inside a [`ResponseFailed`], the client must
/// close the connection itself, and nothing may be pooled or leaked.
pub fn expect_protocol_error(label: &str, method: &str, reply: Vec<u8>, expected: ProtocolError) {
    let case = Case::new();
    let server = FaultServer::one(vec![
        Step::ReadRequest,
        Step::Send(reply),
        Step::DrainUntilClosed,
    ]);
    let failure = match case.fetch(method, &server.url("/")) {
        Err(failure) => failure,
        Ok((response, Err(failure))) => {
            assert_eq!(response.code, 200, "{label}: the head was accepted");
            failure
        }
        Ok((response, Ok(body))) => panic!(
            "{label}: expected {expected:?}, got {} with body {body:?}",
            response.code
        ),
    };
    assert!(
        failure.check::<ResponseFailed>(),
        "{label}: not a ResponseFailed: {failure}"
    );
    assert_eq!(
        protocol_error(&failure),
        Some(expected),
        "{label}: {failure}"
    );
    let closed = server_closed_probe(&server);
    assert!(
        case.run_until(2.0, closed),
        "{label}: the client did not close the connection"
    );
    case.finish(server, 0);
}

/// What a successful one-request case must end with.
pub struct Expected<'a> {
    /// The status code.
    pub code: u16,
    /// The whole body.
    pub body: &'a str,
    /// Whether the connection may carry another request (and so stays in the pool).
    pub reused: bool,
}

/// `method` from a server that answers `reply` and keeps its side open: the response must be
/// `expected`. A connection that must not be reused must be closed by the client, and the next
/// request must go to a new connection, never reading the bytes left on the old one.
pub fn expect_response(label: &str, method: &str, reply: Vec<u8>, expected: Expected<'_>) {
    let case = Case::new();
    let server = FaultServer::start(vec![
        vec![Step::ReadRequest, Step::Send(reply), Step::DrainUntilClosed],
        vec![
            Step::ReadRequest,
            Step::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext".to_vec()),
            Step::DrainUntilClosed,
        ],
    ]);
    let (response, body) = case
        .fetch(method, &server.url("/"))
        .unwrap_or_else(|f| panic!("{label}: {f}"));
    let body = body.unwrap_or_else(|f| panic!("{label}: body: {f}"));
    assert_eq!(
        (response.code, body),
        (expected.code, Bytes::from(expected.body.to_owned())),
        "{label}"
    );
    let key = case.key(&server);
    if expected.reused {
        assert_eq!(case.pool.idle_count(&key), 1, "{label}: not pooled");
    } else {
        let closed = server_closed_probe(&server);
        assert!(
            case.run_until(2.0, closed),
            "{label}: the client did not close the connection"
        );
        assert_eq!(case.pool.idle_count(&key), 0, "{label}: pooled");
        assert_eq!(
            case.get_ok(&server.url("/")),
            (200, Bytes::from("next")),
            "{label}: the next request"
        );
        assert_eq!(server.connections(), 2, "{label}");
    }
    case.finish(server, 1);
}

fn server_closed_probe(server: &FaultServer) -> impl Fn() -> bool + 'static {
    let probe = server.probe();
    move || probe.log(0).client_closed
}
