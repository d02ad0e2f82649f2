//! Status lines, header lines, 1xx responses and head limits.

use super::*;

#[test]
fn simple_length_body() {
    let out = run_every_split(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello",
        false,
        false,
    );
    assert_eq!(
        out.heads,
        [head(
            200,
            "OK",
            &[("Content-Length", "5"), ("X-A", "b")],
            Some(5)
        )]
    );
    assert_eq!(out.body, b"hello");
    assert_eq!(out.end, done(true, false));
    assert!(out.leftover.is_empty());
}

#[test]
fn zero_length_body() {
    let out = run_every_split(
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        false,
        false,
    );
    assert_eq!(out.heads[0].length, Some(0));
    assert_eq!((out.body.len(), out.end), (0, done(true, false)));
}

#[test]
fn status_line_without_phrase() {
    let out = run_every_split(b"HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx", false, false);
    assert_eq!(
        out.heads,
        [head(200, "", &[("Content-Length", "1")], Some(1))]
    );
    let out = run(b"HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", false, false);
    assert_eq!(
        out.heads,
        [head(404, "", &[("Content-Length", "0")], Some(0))]
    );
}

#[test]
fn phrase_with_spaces_and_obs_text() {
    let out = run(b"HTTP/1.1 418 I'm a \xfeteapot\r\n\r\n", false, true);
    assert_eq!(&out.heads[0].phrase[..], b"I'm a \xfeteapot");
    assert_eq!(out.end, done(false, true));
}

#[test]
fn malformed_status_lines() {
    for line in [
        &b"HTTP/1.1 2000 OK"[..],
        b"HTTP/1.1 20 OK",
        b"HTTP/1.1  200 OK",
        b"HTTP/1.1 abc OK",
        b"HTTP/1.1 099 Too Low",
        b"HTTP/1.1 200\tOK",
        b"HTTP/1.1 200 O\x01K",
        b"HTTP/1.1 200 O\rK",
        b"HTTP/1.1",
        b"HTTP/1.1 ",
        b"FOO/1.1 200 OK",
        b"http/1.1 200 OK",
        b"HTTP/x.1 200 OK",
        b"",
    ] {
        let mut input = line.to_vec();
        input.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(
            error_of(&input),
            ProtocolError::MalformedStatusLine,
            "{line:?}"
        );
    }
}

#[test]
fn unsupported_versions() {
    for line in ["HTTP/2.0 200 OK", "HTTP/1.2 200 OK", "HTTP/0.9 200 OK"] {
        let input = format!("{line}\r\n\r\n");
        assert_eq!(
            error_of(input.as_bytes()),
            ProtocolError::UnsupportedVersion,
            "{line}"
        );
    }
}

#[test]
fn bare_lf_line_endings() {
    let out = run_every_split(b"HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", false, false);
    assert_eq!(
        out.heads,
        [head(200, "OK", &[("Content-Length", "2")], Some(2))]
    );
    assert_eq!((out.body, out.end), (b"hi".to_vec(), done(true, false)));
}

#[test]
fn continue_then_final_response() {
    let out = run_every_split(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
        false,
        false,
    );
    assert_eq!(
        out.heads,
        [head(200, "OK", &[("Content-Length", "2")], Some(2))]
    );
    assert_eq!((out.body, out.end), (b"hi".to_vec(), done(true, false)));
}

#[test]
fn several_early_hints_are_skipped_with_their_headers() {
    let out = run_every_split(
        b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n\
          HTTP/1.1 103 Early Hints\r\nLink: </b>\r\n\r\n\
          HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        false,
        false,
    );
    assert_eq!(
        out.heads,
        [head(200, "OK", &[("Content-Length", "0")], Some(0))]
    );
    assert_eq!(out.end, done(true, false));
}

#[test]
fn switching_protocols_is_an_error() {
    let input = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
    assert_eq!(error_of(input), ProtocolError::UnexpectedSwitchingProtocols);
}

#[test]
fn eof_before_and_inside_the_head() {
    assert_eq!(error_of(b""), ProtocolError::ConnectionClosedBeforeResponse);
    assert_eq!(
        error_of(b"HTTP/1.1 200 OK\r\nContent-"),
        ProtocolError::ConnectionClosedInHead
    );
    assert_eq!(error_of(b"H"), ProtocolError::ConnectionClosedInHead);
    assert_eq!(
        error_of(b"HTTP/1.1 100 Continue\r\n\r\n"),
        ProtocolError::ConnectionClosedInHead
    );
}

#[test]
fn huge_head_is_refused_without_waiting_for_its_end() {
    let mut input = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
    input.resize(200 * 1024, b'a');
    assert_eq!(
        run(&input, false, false).end,
        Err(ProtocolError::HeadTooLarge)
    );
    input.extend_from_slice(b"\r\n\r\n");
    assert_eq!(
        run(&input, false, false).end,
        Err(ProtocolError::HeadTooLarge)
    );
}

#[test]
fn head_size_limit_is_exact() {
    let make = |size: usize| {
        let mut input = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
        input.resize(size - 4, b'a');
        input.extend_from_slice(b"\r\n\r\n");
        input
    };
    let at_limit = run(&make(MAX_HEAD_SIZE), false, true);
    assert_eq!(at_limit.end, done(false, true));
    let over = make(MAX_HEAD_SIZE + 1);
    assert_eq!(
        run(&over, false, true).end,
        Err(ProtocolError::HeadTooLarge)
    );
    let bytewise: Vec<usize> = (1..over.len()).step_by(997).collect();
    assert_eq!(
        run_split(&over, false, &bytewise, true).end,
        Err(ProtocolError::HeadTooLarge)
    );
}

#[test]
fn header_count_limit() {
    let with_headers = |n: usize| {
        let mut input = b"HTTP/1.1 200 OK\r\n".to_vec();
        for _ in 0..n {
            input.extend_from_slice(b"a:b\r\n");
        }
        input.extend_from_slice(b"\r\n");
        input
    };
    assert_eq!(
        run(&with_headers(MAX_HEADERS), false, true).heads[0]
            .headers
            .len(),
        100
    );
    assert_eq!(
        error_of(&with_headers(MAX_HEADERS + 1)),
        ProtocolError::TooManyHeaders
    );
    assert_eq!(
        run(&with_headers(10_000), false, true).end,
        Err(ProtocolError::TooManyHeaders)
    );
}

#[test]
fn malformed_header_lines() {
    for line in [
        &b"Bad Name: x"[..],
        b"Name : x",
        b" folded",
        b"X: a\x00b",
        b"X: a\rb",
        b": empty-name",
        b"NoColon",
    ] {
        let mut input = b"HTTP/1.1 200 OK\r\nA: 1\r\n".to_vec();
        input.extend_from_slice(line);
        input.extend_from_slice(b"\r\n\r\n");
        assert_eq!(
            error_of(&input),
            ProtocolError::InvalidHeaderInResponse,
            "{line:?}"
        );
    }
}

#[test]
fn errors_are_sticky() {
    let mut parser = ResponseParser::new(false);
    let mut buf = BytesMut::from(&b"HTTP/9.9 200 OK\r\n\r\n"[..]);
    assert_eq!(
        parser.parse(&mut buf),
        Err(ProtocolError::UnsupportedVersion)
    );
    buf.extend_from_slice(b"HTTP/1.1 200 OK\r\n\r\n");
    assert_eq!(
        parser.parse(&mut buf),
        Err(ProtocolError::UnsupportedVersion)
    );
    assert_eq!(parser.eof(), Err(ProtocolError::UnsupportedVersion));
}

#[test]
fn repeated_headers_are_grouped() {
    let out = run(
        b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nX: y\r\nset-cookie: b=2\r\nContent-Length: 0\r\n\r\n",
        false,
        false,
    );
    let h = &out.heads[0].headers;
    let cookies: Vec<&[u8]> = h
        .get_raw_headers("Set-Cookie")
        .unwrap()
        .map(|v| &v[..])
        .collect();
    assert_eq!(cookies, [&b"a=1"[..], b"b=2"]);
    assert_eq!(h.iter().nth(2).map(|(n, _)| &n[..]), Some(&b"X"[..]));
}

/// More distinct names than the parser's 64-bit set of seen names has bits, so that names
/// share bits, with repeats of both early and late names in other spellings: the parsed
/// headers are grouped in the same order as the same lines given to `add_raw_header`.
#[test]
fn many_names_with_repeats_group_like_add_raw_header() {
    let mut lines: Vec<(String, String)> = (0..80)
        .map(|i| (format!("X-Name-{i}"), format!("v{i}")))
        .collect();
    lines.insert(40, ("x-name-3".into(), "again".into()));
    lines.push(("X-NAME-79".into(), "last".into()));
    lines.push(("content-length".into(), "0".into()));
    let mut input = b"HTTP/1.1 200 OK\r\n".to_vec();
    let mut expected = Headers::new();
    for (name, value) in &lines {
        input.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        expected.add_raw_header(name, value).unwrap();
    }
    input.extend_from_slice(b"\r\n");
    let out = run(&input, false, false);
    let parsed: Vec<(&[u8], &[u8])> = out.heads[0]
        .headers
        .iter()
        .map(|(n, v)| (&n[..], &v[..]))
        .collect();
    let wanted: Vec<(&[u8], &[u8])> = expected.iter().map(|(n, v)| (&n[..], &v[..])).collect();
    assert_eq!(parsed, wanted);
    assert_eq!(parsed[4], (&b"x-name-3"[..], &b"again"[..]));
}

#[test]
fn common_names_keep_the_spelling_the_server_sent() {
    let out = run(
        b"HTTP/1.1 200 OK\r\ncontent-type: a\r\nContent-Length: 0\r\nETAG: x\r\n\r\n",
        false,
        false,
    );
    let names: Vec<&[u8]> = out.heads[0].headers.iter().map(|(n, _)| &n[..]).collect();
    assert_eq!(names, [&b"content-type"[..], b"Content-Length", b"ETAG"]);
}

/// Replacing the buffer breaks the append-only contract: the results are
/// unspecified, but the parser must not panic.
#[test]
fn a_replaced_buffer_does_not_panic() {
    let mut parser = ResponseParser::new(false);
    let mut long = BytesMut::from(&b"HTTP/1.1 200 OK\r\nX-Long-Header: aaaaaaaa"[..]);
    assert_eq!(parser.parse(&mut long), Ok(ResponseEvent::NeedMore));
    let _ = parser.parse(&mut BytesMut::from(&b"HTTP/1.1 200 OK\r\n\r\n"[..]));

    let mut parser = ResponseParser::new(false);
    let mut buf =
        BytesMut::from(&b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;aaaaaaaa"[..]);
    assert!(matches!(parser.parse(&mut buf), Ok(ResponseEvent::Head(_))));
    assert_eq!(parser.parse(&mut buf), Ok(ResponseEvent::NeedMore));
    for piece in [&b"1\r\nx\r\n0\r\nT: aaaaaaaaaa"[..], b"\r\n", b"\r\n\r\n"] {
        let mut short = BytesMut::from(piece);
        while let Ok(ResponseEvent::Body(_)) = parser.parse(&mut short) {}
    }
}
