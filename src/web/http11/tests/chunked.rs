//! Chunked bodies: framing, extensions, trailers, limits, truncation.

use super::*;

const CHUNKED_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

fn chunked(body: &[u8]) -> Vec<u8> {
    let mut input = CHUNKED_HEAD.to_vec();
    input.extend_from_slice(body);
    input
}

#[test]
fn chunks_with_extensions_and_trailers() {
    let out = run_every_split(
        &chunked(
            b"5;name=value\r\nhello\r\n6 ; a=\"b c\"\t;d\r\n world\r\n\
              0;last\r\nX-Trailer: 1\r\nY: 2\r\n\r\n",
        ),
        false,
        false,
    );
    assert_eq!(
        out.heads,
        [head(200, "OK", &[("Transfer-Encoding", "chunked")], None)]
    );
    assert_eq!(out.body, b"hello world");
    assert_eq!(out.end, done(true, false));
    assert!(out.leftover.is_empty());
}

#[test]
fn chunk_arriving_in_pieces_gives_several_body_events() {
    let mut parser = ResponseParser::new(false);
    let mut buf = BytesMut::from(&chunked(b"a\r\n01234")[..]);
    assert!(matches!(parser.parse(&mut buf), Ok(ResponseEvent::Head(_))));
    assert_eq!(
        parser.parse(&mut buf),
        Ok(ResponseEvent::Body("01234".into()))
    );
    assert_eq!(parser.parse(&mut buf), Ok(ResponseEvent::NeedMore));
    buf.extend_from_slice(b"56789\r");
    assert_eq!(
        parser.parse(&mut buf),
        Ok(ResponseEvent::Body("56789".into()))
    );
    assert_eq!(parser.parse(&mut buf), Ok(ResponseEvent::NeedMore));
    buf.extend_from_slice(b"\n1\r\nx\r\n0\r\n\r\nNEXT");
    assert_eq!(parser.parse(&mut buf), Ok(ResponseEvent::Body("x".into())));
    assert_eq!(parser.parse(&mut buf), done(true, false));
    assert_eq!(&buf[..], b"NEXT");
}

#[test]
fn uppercase_hex_and_sixteen_digit_sizes() {
    let out = run(
        &chunked(b"A\r\n0123456789\r\n0000000000000002\r\nab\r\n0\r\n\r\n"),
        false,
        false,
    );
    assert_eq!(
        (out.body, out.end),
        (b"0123456789ab".to_vec(), done(true, false))
    );
}

#[test]
fn chunk_size_with_seventeen_digits_is_too_large() {
    assert_eq!(
        error_of(&chunked(b"00000000000000001\r\nx\r\n0\r\n\r\n")),
        ProtocolError::ChunkSizeTooLarge
    );
    // Refused as soon as the 17th digit arrives.
    assert_eq!(
        run(&chunked(b"fffffffffffffffff"), false, false).end,
        Err(ProtocolError::ChunkSizeTooLarge)
    );
}

#[test]
fn invalid_chunk_size_lines() {
    for line in [
        &b"0x10\r\n"[..],
        b"-5\r\n",
        b"+5\r\n",
        b"\r\n",
        b" 5\r\n",
        b"g\r\n",
        b"5\n",
        b"5\rx\n",
        b"5;a=b\n",
        b"5 x\r\n",
    ] {
        let mut body = line.to_vec();
        body.extend_from_slice(b"hello\r\n0\r\n\r\n");
        assert_eq!(
            error_of(&chunked(&body)),
            ProtocolError::ChunkSizeInvalid,
            "{line:?}"
        );
    }
}

#[test]
fn control_characters_in_extensions() {
    for line in [&b"5;a=\x00\r\n"[..], b"5;a\rb\r\n", b"5;\x7f\r\n"] {
        let mut body = line.to_vec();
        body.extend_from_slice(b"hello\r\n0\r\n\r\n");
        assert_eq!(
            error_of(&chunked(&body)),
            ProtocolError::ChunkExtensionsInvalid,
            "{line:?}"
        );
    }
}

#[test]
fn a_mebibyte_of_extensions_is_refused() {
    let mut body = b"5;".to_vec();
    body.resize(1024 * 1024, b'a');
    // Without a line end yet: refused, not buffered.
    assert_eq!(
        run(&chunked(&body), false, false).end,
        Err(ProtocolError::ChunkExtensionsTooLong)
    );
    body.extend_from_slice(b"\r\nhello\r\n0\r\n\r\n");
    assert_eq!(
        run(&chunked(&body), false, false).end,
        Err(ProtocolError::ChunkExtensionsTooLong)
    );
}

#[test]
fn extension_limit_is_exact() {
    let make = |len: usize| {
        let mut body = b"1".to_vec();
        body.push(b';');
        body.resize(1 + len, b'e');
        body.extend_from_slice(b"\r\nx\r\n0\r\n\r\n");
        chunked(&body)
    };
    let ok = run(&make(MAX_CHUNK_EXTENSIONS_SIZE), false, false);
    assert_eq!((ok.body, ok.end), (b"x".to_vec(), done(true, false)));
    let too_long = make(MAX_CHUNK_EXTENSIONS_SIZE + 1);
    assert_eq!(
        run(&too_long, false, false).end,
        Err(ProtocolError::ChunkExtensionsTooLong)
    );
    let bytewise: Vec<usize> = (1..too_long.len()).collect();
    assert_eq!(
        run_split(&too_long, false, &bytewise, false).end,
        Err(ProtocolError::ChunkExtensionsTooLong)
    );
}

#[test]
fn chunk_data_must_end_with_crlf() {
    for tail in [
        &b"abcX\r\n0\r\n\r\n"[..],
        b"abc\n0\r\n\r\n",
        b"abc\rX0\r\n\r\n",
    ] {
        let mut body = b"3\r\n".to_vec();
        body.extend_from_slice(tail);
        assert_eq!(
            error_of(&chunked(&body)),
            ProtocolError::ChunkDataNotTerminated,
            "{tail:?}"
        );
    }
}

#[test]
fn trailer_line_flood_is_refused() {
    let mut body = b"0\r\n".to_vec();
    for i in 0..=MAX_TRAILER_LINES {
        body.extend_from_slice(format!("T{i}: x\r\n").as_bytes());
    }
    body.extend_from_slice(b"\r\n");
    assert_eq!(error_of(&chunked(&body)), ProtocolError::TrailersTooLarge);
}

#[test]
fn hundred_trailer_lines_are_fine() {
    let mut body = b"0\r\n".to_vec();
    for i in 0..MAX_TRAILER_LINES {
        body.extend_from_slice(format!("T{i}: x\r\n").as_bytes());
    }
    body.extend_from_slice(b"\r\n");
    assert_eq!(run(&chunked(&body), false, false).end, done(true, false));
}

#[test]
fn huge_trailer_is_refused_before_its_end() {
    let mut body = b"0\r\nX-Big: ".to_vec();
    body.resize(3 + MAX_TRAILERS_SIZE + 1, b'a');
    assert_eq!(
        run(&chunked(&body), false, false).end,
        Err(ProtocolError::TrailersTooLarge)
    );
}

#[test]
fn bare_lf_trailer_lines_are_accepted() {
    let out = run_every_split(&chunked(b"1\r\nx\r\n0\r\nA: 1\n\n"), false, false);
    assert_eq!((out.body, out.end), (b"x".to_vec(), done(true, false)));
}

#[test]
fn eof_before_the_final_crlf() {
    for body in [
        &b"0\r\n"[..],
        b"0\r\n\r",
        b"0\r\nX: 1\r\n",
        b"3\r\nabc\r\n",
        b"3\r\nab",
        b"3\r\nabc",
        b"3",
        b"",
    ] {
        let out = run(&chunked(body), false, true);
        assert_eq!(
            out.end,
            Err(ProtocolError::ConnectionClosedInChunkedBody),
            "{body:?}"
        );
    }
}

#[test]
fn eof_mid_chunk_keeps_delivered_data() {
    let out = run_every_split(&chunked(b"a\r\n01234"), false, true);
    assert_eq!(out.body, b"01234");
    assert_eq!(out.end, Err(ProtocolError::ConnectionClosedInChunkedBody));
}

#[test]
fn bytes_after_the_chunked_body_stay_in_buffer() {
    let out = run_every_split(&chunked(b"1\r\nx\r\n0\r\n\r\nHTTP/1.1"), false, false);
    assert_eq!((out.body, out.end), (b"x".to_vec(), done(true, false)));
    assert_eq!(out.leftover, b"HTTP/1.1");
}

#[test]
fn chunked_with_content_length_is_not_reusable() {
    let input =
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    assert_eq!(run(input, false, false).end, done(false, false));
    assert_eq!(
        run(&chunked(b"0\r\n\r\n"), false, false).end,
        done(true, false)
    );
}
