//! Fuzz oracles for treq's sans-IO HTTP/1.1 core, shared by the `cargo fuzz` targets in
//! `fuzz_targets/` and the corpus replay in `tests/replay.rs` (which runs on stable).
//!
//! Both oracles feed the same bytes to [`ResponseParser`] twice, all at once and in pieces of
//! a size taken from the input, and require the same outcome: the same head, the same body
//! bytes, the same end (done, or an error), the same bytes left over. Along the way they check
//! the parser's contract: body pieces are never empty, a body never exceeds its declared
//! length, errors are sticky, nothing panics.
//!
//! The request-side targets have their oracles in their own modules: [`headers`] (the
//! `Headers` name and value checks), [`cookie_jar`] (Set-Cookie parsing and the `Cookie`
//! header the jar emits), [`params`] (treq's `params=` encoding) and [`multipart`] (the
//! multipart writer, read back with `multer`). Their inputs are read with [`input::Input`].

mod cookies;
mod headers;
pub mod input;
mod multipart;
mod params;

pub use cookies::cookie_jar;
pub use headers::headers;
pub use multipart::multipart;
pub use params::params;

use bytes::BytesMut;
use treq::web::http11::{BodyEncoder, BodyFraming, ProtocolError, ResponseEvent, ResponseParser};

/// What one parse of a whole input came to.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Code and length of the final head, if one was parsed.
    pub head: Option<(u16, Option<u64>)>,
    /// The body bytes delivered, concatenated.
    pub body: Vec<u8>,
    /// `Ok((reusable, potential_data_loss))`, or whether it failed.
    pub end: Result<(bool, bool), ()>,
    /// The error, if any.
    pub error: Option<ProtocolError>,
    /// Input bytes not used once the response was done.
    pub leftover: usize,
}

/// Parses `input` as one response, feeding it `piece` bytes at a time, then signalling end of
/// file if the response is not done by then.
pub fn parse_in_pieces(request_was_head: bool, input: &[u8], piece: usize) -> Outcome {
    assert!(piece > 0);
    let mut parser = ResponseParser::new(request_was_head);
    let mut buf = BytesMut::new();
    let mut fed = 0;
    let mut out = Outcome {
        head: None,
        body: Vec::new(),
        end: Err(()),
        error: None,
        leftover: 0,
    };
    loop {
        let before = buf.len();
        let event = parser.parse(&mut buf);
        assert!(buf.len() <= before, "the parser grew the buffer");
        match event {
            Ok(ResponseEvent::Head(head)) => {
                assert!(out.head.is_none(), "a second final head");
                assert!(head.code >= 200, "an informational head was emitted");
                out.head = Some((head.code, head.length));
            }
            Ok(ResponseEvent::Body(data)) => {
                assert!(!data.is_empty(), "an empty body piece");
                let (_, length) = out.head.expect("a body before the head");
                out.body.extend_from_slice(&data);
                if let Some(n) = length {
                    assert!(out.body.len() as u64 <= n, "more body than Content-Length");
                }
            }
            Ok(ResponseEvent::Done {
                reusable,
                potential_data_loss,
            }) => {
                let (_, length) = out.head.expect("done before the head");
                if let Some(n) = length {
                    assert_eq!(out.body.len() as u64, n, "done before the whole body");
                }
                assert!(parser.is_done());
                out.end = Ok((reusable, potential_data_loss));
                out.leftover = buf.len() + (input.len() - fed);
                return out;
            }
            Ok(ResponseEvent::NeedMore) => {
                if fed == input.len() {
                    return finish_at_eof(parser, out);
                }
                let n = piece.min(input.len() - fed);
                buf.extend_from_slice(&input[fed..fed + n]);
                fed += n;
            }
            Err(e) => {
                // Errors are final.
                assert_eq!(parser.parse(&mut buf), Err(e.clone()), "error not sticky");
                assert_eq!(parser.eof(), Err(e.clone()), "error not sticky at eof");
                out.error = Some(e);
                return out;
            }
        }
    }
}

fn finish_at_eof(mut parser: ResponseParser, mut out: Outcome) -> Outcome {
    match parser.eof() {
        Ok(ResponseEvent::Done {
            reusable,
            potential_data_loss,
        }) => {
            assert!(!reusable, "reusable after the connection closed");
            out.end = Ok((reusable, potential_data_loss));
        }
        Ok(other) => panic!("eof produced {other:?}"),
        Err(e) => out.error = Some(e),
    }
    out
}

/// Whether two errors differ only by when the bytes arrived. A limit checked before a line is
/// complete can trip before the line's own syntax error is seen; both are refusals.
fn same_refusal(a: &Option<ProtocolError>, b: &Option<ProtocolError>) -> bool {
    a.is_some() == b.is_some()
}

/// Parses `input` whole and in pieces and checks both outcomes agree.
pub fn check_packetization(request_was_head: bool, input: &[u8], piece: usize) -> Outcome {
    let whole = parse_in_pieces(request_was_head, input, input.len().max(1));
    let pieces = parse_in_pieces(request_was_head, input, piece);
    assert_eq!(
        whole.head, pieces.head,
        "head differs with pieces of {piece}"
    );
    assert!(
        same_refusal(&whole.error, &pieces.error),
        "whole: {:?}, pieces of {piece}: {:?}",
        whole.error,
        pieces.error
    );
    if whole.error.is_none() {
        assert_eq!(whole, pieces, "outcome differs with pieces of {piece}");
    } else {
        // Up to the error the same bytes came out, at most.
        let n = whole.body.len().min(pieces.body.len());
        assert_eq!(whole.body[..n], pieces.body[..n]);
    }
    whole
}

/// The response parser target: byte 0 picks `HEAD` or not and the piece size; the rest is
/// what the server sent.
pub fn response_parser(data: &[u8]) {
    let Some((&flags, input)) = data.split_first() else {
        return;
    };
    check_packetization(flags & 1 == 1, input, usize::from(flags >> 1) + 1);
}

const CHUNKED_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

/// The chunked decoder target: byte 0 picks the piece size; the rest is a chunked body after
/// a fixed head. Then the same bytes, cut into chunks by the request writer's encoder, must
/// decode back to themselves.
pub fn chunked_decoder(data: &[u8]) {
    let Some((&flags, body)) = data.split_first() else {
        return;
    };
    let piece = usize::from(flags & 0x7f) + 1;
    let mut input = CHUNKED_HEAD.to_vec();
    input.extend_from_slice(body);
    let outcome = check_packetization(false, &input, piece);
    if outcome.end.is_ok() {
        assert_eq!(outcome.end, Ok((true, false)), "a complete chunked body");
    }
    round_trip(body, piece);
}

/// Encodes `data` as chunks of `chunk` bytes with [`BodyEncoder`] and decodes it back.
fn round_trip(data: &[u8], chunk: usize) {
    let mut encoder = BodyEncoder::new(BodyFraming::Chunked);
    let mut wire = BytesMut::from(CHUNKED_HEAD);
    for piece in data.chunks(chunk) {
        encoder.encode(piece, &mut wire).expect("encode");
    }
    encoder.finish(&mut wire).expect("finish");
    let outcome = parse_in_pieces(false, &wire, chunk);
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.body, data, "round trip through chunked framing");
    assert_eq!(outcome.end, Ok((true, false)));
    assert_eq!(outcome.leftover, 0);
}
