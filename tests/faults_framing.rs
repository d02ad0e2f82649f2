//! Fault injection, body framing: hostile `Content-Length` and `Transfer-Encoding`
//! combinations, broken chunked bodies, and bytes past the end of a response. Each case runs
//! over a real socket against the scripted server and ends with a typed error or the right
//! body, the broken connection closed by the client and never pooled, and no descriptor left
//! open.

// The descriptor checks read /proc.
#![cfg(target_os = "linux")]

mod support_faults;

use bytes::Bytes;
use std::time::Duration;
use support_faults::{
    expect_protocol_error, expect_response, protocol_error, Case, Expected, FaultServer, Step,
};
use treq::web::error::{PartialDownloadError, ResponseFailed};
use treq::web::http11::ProtocolError;

fn head(headers: &str) -> String {
    format!("HTTP/1.1 200 OK\r\n{headers}\r\n")
}

fn reply(headers: &str, body: &str) -> Vec<u8> {
    format!("{}{body}", head(headers)).into_bytes()
}

#[test]
fn content_length_and_transfer_encoding_together() {
    // Chunked wins (RFC 9112 6.1), and the connection is not reused: a smuggling attempt or a
    // broken intermediary.
    for (label, headers) in [
        (
            "CL before TE",
            "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
        ),
        (
            "TE before CL",
            "Transfer-Encoding: chunked\r\nContent-Length: 100\r\n",
        ),
    ] {
        expect_response(
            label,
            "GET",
            reply(headers, "5\r\nhello\r\n0\r\n\r\n"),
            Expected {
                code: 200,
                body: "hello",
                reused: false,
            },
        );
    }
}

#[test]
fn conflicting_content_lengths() {
    for (label, headers) in [
        ("two lines", "Content-Length: 5\r\nContent-Length: 6\r\n"),
        ("one list", "Content-Length: 5, 6\r\n"),
        (
            "a list and a line",
            "Content-Length: 5,5\r\nContent-Length: 4\r\n",
        ),
    ] {
        expect_protocol_error(
            label,
            "GET",
            reply(headers, "hello!"),
            ProtocolError::ConflictingContentLength,
        );
    }
}

#[test]
fn malformed_content_lengths() {
    for (label, value) in [
        ("plus sign", "+5"),
        ("minus sign", "-5"),
        ("hex", "0x5"),
        ("empty", ""),
        ("letters", "five"),
        ("inner space", "5 5"),
        ("overflow", "99999999999999999999999"),
        ("empty list element", "5,,x"),
    ] {
        expect_protocol_error(
            label,
            "GET",
            reply(&format!("Content-Length: {value}\r\n"), "hello"),
            ProtocolError::InvalidContentLength,
        );
    }
}

#[test]
fn equivalent_content_lengths_are_one_length() {
    for (label, headers) in [
        ("spaces around", "Content-Length:  5 \r\n"),
        ("list of equal values", "Content-Length: 5,5\r\n"),
        ("equal lines", "Content-Length: 5\r\nContent-Length: 5\r\n"),
    ] {
        expect_response(
            label,
            "GET",
            reply(headers, "hello"),
            Expected {
                code: 200,
                body: "hello",
                reused: true,
            },
        );
    }
}

#[test]
fn transfer_codings_other_than_chunked() {
    for (label, value) in [
        ("gzip then chunked", "gzip, chunked"),
        ("chunked then gzip", "chunked, gzip"),
        ("xchunked", "xchunked"),
        ("chunked twice", "chunked, chunked"),
        ("identity", "identity"),
    ] {
        expect_protocol_error(
            label,
            "GET",
            reply(
                &format!("Transfer-Encoding: {value}\r\n"),
                "5\r\nhello\r\n0\r\n\r\n",
            ),
            ProtocolError::UnsupportedTransferEncoding,
        );
    }
}

fn chunked(body: &str) -> Vec<u8> {
    reply("Transfer-Encoding: chunked\r\n", body)
}

#[test]
fn malformed_chunk_sizes() {
    for (label, body, expected) in [
        (
            "17 hex digits",
            "10000000000000000\r\n",
            ProtocolError::ChunkSizeTooLarge,
        ),
        (
            "17 digits with leading zeros",
            "00000000000000005\r\nhello\r\n0\r\n\r\n",
            ProtocolError::ChunkSizeTooLarge,
        ),
        ("0x prefix", "0x10\r\n", ProtocolError::ChunkSizeInvalid),
        (
            "negative",
            "-5\r\nhello\r\n",
            ProtocolError::ChunkSizeInvalid,
        ),
        (
            "empty size",
            "\r\nhello\r\n",
            ProtocolError::ChunkSizeInvalid,
        ),
        (
            "bare LF",
            "5\nhello\r\n0\r\n\r\n",
            ProtocolError::ChunkSizeInvalid,
        ),
        (
            "control byte in extension",
            "5;a=\x01\r\nhello\r\n0\r\n\r\n",
            ProtocolError::ChunkExtensionsInvalid,
        ),
        (
            "data without CRLF",
            "5\r\nhello0\r\n\r\n",
            ProtocolError::ChunkDataNotTerminated,
        ),
        (
            "data longer than its size",
            "3\r\nhello\r\n0\r\n\r\n",
            ProtocolError::ChunkDataNotTerminated,
        ),
    ] {
        expect_protocol_error(label, "GET", chunked(body), expected);
    }
}

#[test]
fn a_mebibyte_of_chunk_extensions() {
    let mut body = b"5;".to_vec();
    body.extend(std::iter::repeat_n(b'x', 1024 * 1024));
    body.extend_from_slice(b"\r\nhello\r\n0\r\n\r\n");
    let mut bytes = head("Transfer-Encoding: chunked\r\n").into_bytes();
    bytes.extend(body);
    expect_protocol_error(
        "1 MiB of extensions",
        "GET",
        bytes,
        ProtocolError::ChunkExtensionsTooLong,
    );
}

#[test]
fn trailer_floods() {
    let many: String = (0..10_000).map(|i| format!("X-T{i}: v\r\n")).collect();
    let long = format!("X-Long: {}\r\n", "v".repeat(1024 * 1024));
    for (label, trailers) in [("10,000 trailers", many), ("1 MiB trailer", long)] {
        expect_protocol_error(
            label,
            "GET",
            chunked(&format!("5\r\nhello\r\n0\r\n{trailers}\r\n")),
            ProtocolError::TrailersTooLarge,
        );
    }
}

#[test]
fn endless_trailers_fail_with_bounded_memory() {
    let case = Case::new();
    let server = FaultServer::one(vec![
        Step::ReadRequest,
        Step::Send(chunked("5\r\nhello\r\n0\r\n")),
        Step::SendForever(b"X-Flood: 0123456789\r\n".to_vec()),
    ]);
    let (_, body) = case.fetch("GET", &server.url("/")).unwrap();
    let failure = body.unwrap_err();
    assert_eq!(
        protocol_error(&failure),
        Some(ProtocolError::TrailersTooLarge),
        "{failure}"
    );
    case.finish(server, 0);
}

#[test]
fn missing_final_crlf() {
    for (label, body) in [
        ("no CRLF after the last chunk", "5\r\nhello\r\n0\r\n"),
        ("no last chunk", "5\r\nhello\r\n"),
        ("half a CRLF", "5\r\nhello\r\n0\r\n\r"),
    ] {
        let case = Case::new();
        let server = FaultServer::one(vec![
            Step::ReadRequest,
            Step::Send(chunked(body)),
            Step::Close,
        ]);
        let (_, body) = case.fetch("GET", &server.url("/")).unwrap();
        let failure = body.unwrap_err();
        assert!(failure.check::<ResponseFailed>(), "{label}: {failure}");
        assert_eq!(
            protocol_error(&failure),
            Some(ProtocolError::ConnectionClosedInChunkedBody),
            "{label}"
        );
        case.finish(server, 0);
    }
}

#[test]
fn more_body_bytes_than_content_length_in_the_same_read() {
    // What follows the body looks like a second response; it must never be taken for the
    // answer to the next request.
    expect_response(
        "extra bytes with the body",
        "GET",
        reply(
            "Content-Length: 2\r\n",
            "hiHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfake",
        ),
        Expected {
            code: 200,
            body: "hi",
            reused: false,
        },
    );
}

#[test]
fn more_body_bytes_than_content_length_arriving_later() {
    let case = Case::new();
    let server = FaultServer::start(vec![
        vec![
            Step::ReadRequest,
            Step::Send(reply("Content-Length: 2\r\n", "hi")),
            Step::Wait(Duration::from_millis(100)),
            Step::Send(reply("Content-Length: 4\r\n", "fake")),
            Step::DrainUntilClosed,
        ],
        vec![
            Step::ReadRequest,
            Step::Send(reply("Content-Length: 4\r\n", "real")),
            Step::DrainUntilClosed,
        ],
    ]);
    assert_eq!(case.get_ok(&server.url("/")), (200, Bytes::from("hi")));
    let key = case.key(&server);
    assert_eq!(case.pool.idle_count(&key), 1);
    // The unsolicited bytes reach the idle connection: it is closed and leaves the pool.
    let pool = case.pool.clone();
    let k = key.clone();
    assert!(case.run_until(2.0, move || pool.idle_count(&k) == 0));
    assert_eq!(case.get_ok(&server.url("/")), (200, Bytes::from("real")));
    assert_eq!(server.connections(), 2);
    case.finish(server, 1);
}

#[test]
fn body_until_close_is_potential_data_loss() {
    let case = Case::new();
    let server = FaultServer::one(vec![
        Step::ReadRequest,
        Step::Send(b"HTTP/1.1 200 OK\r\n\r\nsome body".to_vec()),
        Step::Close,
    ]);
    let (response, body) = case.fetch("GET", &server.url("/")).unwrap();
    assert_eq!(response.length, None);
    let failure = body.unwrap_err();
    let partial = failure
        .value::<PartialDownloadError>()
        .unwrap_or_else(|| panic!("{failure}"));
    assert_eq!(partial.body, "some body");
    case.finish(server, 0);
}

#[test]
fn connection_management_headers_decide_reuse() {
    for (label, reply, reused) in [
        (
            "1.1 Connection: close",
            "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi",
            false,
        ),
        (
            "1.1 Connection: keep-alive, close",
            "HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 2\r\n\r\nhi",
            false,
        ),
        (
            "1.0 without keep-alive",
            "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi",
            false,
        ),
        (
            "1.0 Connection: keep-alive",
            "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nhi",
            true,
        ),
    ] {
        expect_response(
            label,
            "GET",
            reply.as_bytes().to_vec(),
            Expected {
                code: 200,
                body: "hi",
                reused,
            },
        );
    }
}

#[test]
fn a_response_trickled_one_byte_at_a_time() {
    let case = Case::new();
    let response = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n\
                    5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
    let server = FaultServer::one(vec![
        Step::ReadRequest,
        Step::Trickle(response.as_bytes().to_vec(), Duration::from_millis(1)),
        Step::DrainUntilClosed,
    ]);
    assert_eq!(
        case.get_ok(&server.url("/")),
        (200, Bytes::from("hello world"))
    );
    case.finish(server, 1);
}
