//! Response parser tests, and the helpers that feed input in every split.

use super::*;
use crate::web::http_headers::Headers;
use bytes::BytesMut;

mod chunked;
mod framing;
mod head;
mod mutations;

/// Everything a parser produced for one input.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    heads: Vec<ResponseHead>,
    body: Vec<u8>,
    /// `Done`, an error, or `NeedMore` if the input ran out without eof.
    end: Result<ResponseEvent, ProtocolError>,
    leftover: Vec<u8>,
}

/// Feeds `input` cut at `splits`, parsing until `NeedMore` after each piece,
/// then calls `eof()` if asked and the response is not over.
fn run_split(input: &[u8], request_was_head: bool, splits: &[usize], eof: bool) -> Outcome {
    let mut parser = ResponseParser::new(request_was_head);
    let mut buf = BytesMut::new();
    let mut out = Outcome {
        heads: vec![],
        body: vec![],
        end: Ok(ResponseEvent::NeedMore),
        leftover: vec![],
    };
    let mut over = false;
    let mut start = 0;
    for end in splits.iter().copied().chain([input.len()]) {
        buf.extend_from_slice(&input[start..end]);
        start = end;
        while !over {
            match parser.parse(&mut buf) {
                Ok(ResponseEvent::Head(h)) => out.heads.push(h),
                Ok(ResponseEvent::Body(b)) => {
                    assert!(!b.is_empty(), "empty Body event");
                    out.body.extend_from_slice(&b);
                }
                Ok(ResponseEvent::NeedMore) => break,
                end => {
                    out.end = end;
                    over = true;
                }
            }
        }
    }
    if !over && eof {
        out.end = parser.eof();
    }
    out.leftover = buf.to_vec();
    out
}

/// Parses `input` in one piece.
fn run(input: &[u8], request_was_head: bool, eof: bool) -> Outcome {
    run_split(input, request_was_head, &[], eof)
}

/// Parses `input` whole, one byte at a time, and cut in two at every
/// position; asserts all give the same outcome, and returns it.
fn run_every_split(input: &[u8], request_was_head: bool, eof: bool) -> Outcome {
    let whole = run(input, request_was_head, eof);
    let bytewise: Vec<usize> = (1..input.len()).collect();
    assert_eq!(
        run_split(input, request_was_head, &bytewise, eof),
        whole,
        "one byte at a time"
    );
    for cut in 1..input.len() {
        assert_eq!(
            run_split(input, request_was_head, &[cut], eof),
            whole,
            "cut at {cut}"
        );
    }
    whole
}

fn done(reusable: bool, potential_data_loss: bool) -> Result<ResponseEvent, ProtocolError> {
    Ok(ResponseEvent::Done {
        reusable,
        potential_data_loss,
    })
}

fn headers(pairs: &[(&str, &str)]) -> Headers {
    Headers::try_from(pairs).unwrap()
}

fn head(code: u16, phrase: &str, pairs: &[(&str, &str)], length: Option<u64>) -> ResponseHead {
    ResponseHead {
        version: (1, 1),
        code,
        phrase: bytes::Bytes::copy_from_slice(phrase.as_bytes()),
        headers: headers(pairs),
        length,
    }
}

/// The error from parsing `input` whole (with eof), checked to be the same
/// one byte at a time.
fn error_of(input: &[u8]) -> ProtocolError {
    let whole = run(input, false, true);
    let bytewise: Vec<usize> = (1..input.len()).collect();
    assert_eq!(run_split(input, false, &bytewise, true).end, whole.end);
    whole.end.expect_err("expected an error")
}

#[test]
fn helper_sees_every_event() {
    let mut parser = ResponseParser::new(false);
    let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab"[..]);
    assert!(matches!(parser.parse(&mut buf), Ok(ResponseEvent::Head(_))));
    assert_eq!(parser.parse(&mut buf), Ok(ResponseEvent::Body("ab".into())));
    assert_eq!(parser.parse(&mut buf), Ok(ResponseEvent::NeedMore));
    buf.extend_from_slice(b"c");
    assert_eq!(parser.parse(&mut buf), Ok(ResponseEvent::Body("c".into())));
    buf.extend_from_slice(b"dHTTP");
    assert_eq!(parser.parse(&mut buf), Ok(ResponseEvent::Body("d".into())));
    assert_eq!(parser.parse(&mut buf), done(true, false));
    assert!(parser.is_done());
    assert_eq!(&buf[..], b"HTTP");
    // Done is repeated, and never consumes more.
    assert_eq!(parser.parse(&mut buf), done(true, false));
    assert_eq!(parser.eof(), done(true, false));
    assert_eq!(&buf[..], b"HTTP");
}
