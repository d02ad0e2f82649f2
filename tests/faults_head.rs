//! Fault injection, response heads: oversized and endless heads, malformed lines, unusual
//! line endings, informational responses, and bodies where none may be. Each case runs over a
//! real socket against the scripted server and ends with a typed error or the right response,
//! no broken connection pooled and no descriptor left open.

// The descriptor checks read /proc.
#![cfg(target_os = "linux")]

mod support_faults;

use std::time::Duration;
use support_faults::{
    expect_protocol_error, expect_response, protocol_error, Case, Expected, FaultServer, Step,
};
use treq::web::error::ResponseFailed;
use treq::web::http11::{ProtocolError, MAX_HEAD_SIZE};

const OK_HI: &str = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";

fn bytes(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

#[test]
fn a_200_kib_header() {
    let reply = format!(
        "HTTP/1.1 200 OK\r\nX-Big: {}\r\nContent-Length: 2\r\n\r\nhi",
        "a".repeat(200 * 1024)
    );
    expect_protocol_error(
        "200 KiB header",
        "GET",
        bytes(&reply),
        ProtocolError::HeadTooLarge,
    );
}

#[test]
fn ten_thousand_headers() {
    // Short lines, so the head stays under the size limit and the count limit is what trips.
    let headers: String = (0..10_000).map(|_| "a:\r\n").collect();
    assert!(headers.len() < MAX_HEAD_SIZE);
    let reply = format!("HTTP/1.1 200 OK\r\n{headers}Content-Length: 2\r\n\r\nhi");
    expect_protocol_error(
        "10,000 headers",
        "GET",
        bytes(&reply),
        ProtocolError::TooManyHeaders,
    );
}

#[test]
fn endless_headers_fail_with_bounded_memory() {
    let case = Case::new();
    let server = FaultServer::one(vec![
        Step::ReadRequest,
        Step::Send(bytes("HTTP/1.1 200 OK\r\n")),
        Step::SendForever(bytes("X-Flood: 0123456789abcdef\r\n")),
    ]);
    let failure = case.fetch("GET", &server.url("/")).unwrap_err();
    assert!(failure.check::<ResponseFailed>(), "{failure}");
    assert_eq!(protocol_error(&failure), Some(ProtocolError::HeadTooLarge));
    case.finish(server, 0);
}

#[test]
fn an_endless_status_line_fails_with_bounded_memory() {
    let case = Case::new();
    let server = FaultServer::one(vec![
        Step::ReadRequest,
        Step::Send(bytes("HTTP/1.1 200 ")),
        Step::SendForever(bytes("OKOKOKOKOKOKOKOK")),
    ]);
    let failure = case.fetch("GET", &server.url("/")).unwrap_err();
    assert_eq!(protocol_error(&failure), Some(ProtocolError::HeadTooLarge));
    case.finish(server, 0);
}

#[test]
fn malformed_header_lines() {
    for (label, lines) in [
        ("obs-fold with spaces", "X-A: 1\r\n  continued\r\n"),
        ("obs-fold with a tab", "X-A: 1\r\n\tcontinued\r\n"),
        ("a line without a colon", "NoColonHere\r\n"),
        ("space before the colon", "X-A : 1\r\n"),
        ("empty name", ": 1\r\n"),
        ("NUL in a value", "X-A: a\0b\r\n"),
        ("bare CR in a value", "X-A: a\rb\r\n"),
    ] {
        let reply = format!("HTTP/1.1 200 OK\r\n{lines}Content-Length: 2\r\n\r\nhi");
        expect_protocol_error(
            label,
            "GET",
            bytes(&reply),
            ProtocolError::InvalidHeaderInResponse,
        );
    }
}

#[test]
fn malformed_status_lines() {
    for (label, reply, expected) in [
        (
            "garbage",
            "garbage\r\n\r\n",
            ProtocolError::MalformedStatusLine,
        ),
        (
            "HTTP/0.9 body",
            "<html>hi</html>\r\n\r\n",
            ProtocolError::MalformedStatusLine,
        ),
        (
            "two-digit code",
            "HTTP/1.1 20 OK\r\n\r\n",
            ProtocolError::MalformedStatusLine,
        ),
        (
            "code 099",
            "HTTP/1.1 099 Low\r\n\r\n",
            ProtocolError::MalformedStatusLine,
        ),
        (
            "HTTP/2.0",
            "HTTP/2.0 200 OK\r\n\r\n",
            ProtocolError::UnsupportedVersion,
        ),
    ] {
        expect_protocol_error(label, "GET", bytes(reply), expected);
    }
}

#[test]
fn bare_lf_line_endings() {
    expect_response(
        "bare LF",
        "GET",
        bytes("HTTP/1.1 200 OK\nContent-Length: 2\nX-A: 1\n\nhi"),
        Expected {
            code: 200,
            body: "hi",
            reused: true,
        },
    );
}

#[test]
fn continue_then_final_response() {
    expect_response(
        "100 then 200 in one read",
        "GET",
        bytes(&format!("HTTP/1.1 100 Continue\r\n\r\n{OK_HI}")),
        Expected {
            code: 200,
            body: "hi",
            reused: true,
        },
    );
}

#[test]
fn continue_then_final_response_in_separate_reads() {
    let case = Case::new();
    let server = FaultServer::one(vec![
        Step::ReadRequest,
        Step::Send(bytes("HTTP/1.1 100 Continue\r\n\r\n")),
        Step::Wait(Duration::from_millis(50)),
        Step::Send(bytes(OK_HI)),
        Step::DrainUntilClosed,
    ]);
    assert_eq!(case.get_ok(&server.url("/")), (200, "hi".into()));
    case.finish(server, 1);
}

#[test]
fn several_early_hints() {
    let case = Case::new();
    let hint = "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n";
    let server = FaultServer::one(vec![
        Step::ReadRequest,
        Step::Send(bytes(&format!("{hint}{hint}{hint}{OK_HI}"))),
        Step::DrainUntilClosed,
    ]);
    let (response, body) = case.fetch("GET", &server.url("/")).unwrap();
    assert_eq!((response.code, body.unwrap()), (200, "hi".into()));
    // The hints' headers are not the final response's.
    assert!(!response.headers.has_header("link"));
    case.finish(server, 1);
}

#[test]
fn unexpected_switching_protocols() {
    for (label, reply) in [
        (
            "101 alone",
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        ),
        (
            "101 after a 100",
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\n\r\n\x01\x05hello",
        ),
    ] {
        expect_protocol_error(
            label,
            "GET",
            bytes(reply),
            ProtocolError::UnexpectedSwitchingProtocols,
        );
    }
}

#[test]
fn responses_that_cannot_have_a_body_but_send_one() {
    // The body bytes are never delivered, and, having not been asked for, they make the
    // connection unusable: it is closed, not pooled, and the next request gets a new one.
    for (label, method, reply) in [
        (
            "HEAD",
            "HEAD",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        ),
        ("204", "GET", "HTTP/1.1 204 No Content\r\n\r\nhello"),
        (
            "204 with a length",
            "GET",
            "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello",
        ),
        (
            "304",
            "GET",
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nhello",
        ),
        (
            "304 chunked",
            "GET",
            "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        ),
    ] {
        let code = reply[9..12].parse().unwrap();
        expect_response(
            label,
            method,
            bytes(reply),
            Expected {
                code,
                body: "",
                reused: false,
            },
        );
    }
}

#[test]
fn responses_that_cannot_have_a_body_and_send_none_are_reused() {
    for (label, method, reply) in [
        (
            "HEAD",
            "HEAD",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
        ),
        ("204", "GET", "HTTP/1.1 204 No Content\r\n\r\n"),
        (
            "304",
            "GET",
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
        ),
    ] {
        let code = reply[9..12].parse().unwrap();
        expect_response(
            label,
            method,
            bytes(reply),
            Expected {
                code,
                body: "",
                reused: true,
            },
        );
    }
}
