//! How the body is delimited (no body, length, chunked, until close),
//! and whether the connection can be reused.

use super::*;

#[test]
fn head_request_has_no_body_despite_content_length() {
    let out = run_every_split(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
        true,
        false,
    );
    assert_eq!(
        out.heads,
        [head(200, "OK", &[("Content-Length", "100")], Some(0))]
    );
    assert_eq!((out.body.len(), out.end), (0, done(true, false)));
    assert!(out.leftover.is_empty());
}

#[test]
fn bytes_after_a_bodiless_response_are_left_over() {
    let out = run(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        true,
        false,
    );
    assert_eq!((out.body.len(), out.end), (0, done(true, false)));
    assert_eq!(out.leftover, b"hello");
}

#[test]
fn no_content_and_not_modified_have_no_body() {
    for code in [204, 304] {
        let input = format!("HTTP/1.1 {code} X\r\nContent-Length: 7\r\n\r\nextra");
        let out = run_every_split(input.as_bytes(), false, false);
        assert_eq!(
            out.heads,
            [head(code, "X", &[("Content-Length", "7")], Some(0))]
        );
        assert_eq!((out.body.len(), out.end), (0, done(true, false)));
        assert_eq!(out.leftover, b"extra");
    }
}

#[test]
fn more_bytes_than_content_length_stay_in_buffer() {
    let out = run_every_split(
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200",
        false,
        false,
    );
    assert_eq!((out.body, out.end), (b"abc".to_vec(), done(true, false)));
    assert_eq!(out.leftover, b"HTTP/1.1 200");
}

#[test]
fn transfer_encoding_wins_over_content_length() {
    let out = run_every_split(
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\n0\r\n\r\n",
        false,
        false,
    );
    assert_eq!(out.heads[0].length, None);
    assert_eq!((out.body, out.end), (b"hello".to_vec(), done(false, false)));
}

#[test]
fn conflicting_content_lengths() {
    for cls in [&["5", "6"][..], &["5,6"], &["5, 5, 6"], &["5", "5,6"]] {
        let mut input = b"HTTP/1.1 200 OK\r\n".to_vec();
        for cl in cls {
            input.extend_from_slice(format!("Content-Length: {cl}\r\n").as_bytes());
        }
        input.extend_from_slice(b"\r\nhello!");
        assert_eq!(
            error_of(&input),
            ProtocolError::ConflictingContentLength,
            "{cls:?}"
        );
    }
}

#[test]
fn equal_duplicate_content_lengths_are_one() {
    for cls in [&["5", "5"][..], &["5,5"], &["5, 5"], &["5 , 5", "5"]] {
        let mut input = b"HTTP/1.1 200 OK\r\n".to_vec();
        for cl in cls {
            input.extend_from_slice(format!("Content-Length: {cl}\r\n").as_bytes());
        }
        input.extend_from_slice(b"\r\nhello");
        let out = run(&input, false, false);
        assert_eq!(out.heads[0].length, Some(5), "{cls:?}");
        assert_eq!((out.body, out.end), (b"hello".to_vec(), done(true, false)));
    }
}

#[test]
fn invalid_content_lengths() {
    for cl in [
        "+5",
        "-5",
        "0x5",
        "5 5",
        "5.0",
        "",
        "5,",
        ",5",
        "18446744073709551616",
    ] {
        let input = format!("HTTP/1.1 200 OK\r\nContent-Length: {cl}\r\n\r\nhello");
        assert_eq!(
            error_of(input.as_bytes()),
            ProtocolError::InvalidContentLength,
            "{cl:?}"
        );
    }
    let max = run(
        b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n",
        false,
        false,
    );
    assert_eq!(max.heads[0].length, Some(u64::MAX));
}

#[test]
fn unsupported_transfer_encodings() {
    for te in [
        &["gzip, chunked"][..],
        &["chunked, gzip"],
        &["xchunked"],
        &["chunked, chunked"],
        &["identity"],
        &["chunked;q=1"],
        &[""],
        &["gzip", "chunked"],
    ] {
        let mut input = b"HTTP/1.1 200 OK\r\n".to_vec();
        for v in te {
            input.extend_from_slice(format!("Transfer-Encoding: {v}\r\n").as_bytes());
        }
        input.extend_from_slice(b"\r\n0\r\n\r\n");
        assert_eq!(
            error_of(&input),
            ProtocolError::UnsupportedTransferEncoding,
            "{te:?}"
        );
    }
    let out = run(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n",
        false,
        false,
    );
    assert_eq!(out.end, done(true, false));
}

#[test]
fn http10_reads_until_close() {
    let input = b"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nsome body";
    let out = run_every_split(input, false, true);
    let mut expected = head(200, "OK", &[("Server", "old")], None);
    expected.version = (1, 0);
    assert_eq!(out.heads, [expected]);
    assert_eq!(
        (out.body, out.end),
        (b"some body".to_vec(), done(false, true))
    );
    // Without the close, the body is still open.
    assert_eq!(run(input, false, false).end, Ok(ResponseEvent::NeedMore));
}

#[test]
fn http11_without_length_reads_until_close() {
    let out = run(b"HTTP/1.1 200 OK\r\n\r\nabc", false, true);
    assert_eq!(out.heads[0].length, None);
    assert_eq!((out.body, out.end), (b"abc".to_vec(), done(false, true)));
}

#[test]
fn connection_reuse_rules() {
    let cases: [(&[u8], bool); 6] = [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true),
        (
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            false,
        ),
        (
            b"HTTP/1.1 200 OK\r\nConnection: TE, Close\r\nContent-Length: 0\r\n\r\n",
            false,
        ),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false),
        (
            b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n",
            true,
        ),
        (
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n",
            false,
        ),
    ];
    for (input, reusable) in cases {
        assert_eq!(
            run(input, false, false).end,
            done(reusable, false),
            "{input:?}"
        );
    }
}

#[test]
fn eof_inside_a_length_body() {
    let out = run_every_split(
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
        false,
        true,
    );
    assert_eq!(out.body, b"abc");
    assert_eq!(
        out.end,
        Err(ProtocolError::ConnectionClosedInBody {
            expected: 10,
            received: 3
        })
    );
}
