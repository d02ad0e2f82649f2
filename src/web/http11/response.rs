//! Reading a response: the head parser and the per-response state machine.

use super::body::{BodyDecoder, BodyProgress};
use super::error::ProtocolError;
use super::framing::{Framing, FramingHeader};
use super::header_names::known_name;
use super::read_buffer::ReadBuffer;
use super::scan::find_lf;
use super::{MAX_HEADERS, MAX_HEAD_SIZE};
use crate::web::http_headers::Headers;
use bytes::Bytes;

/// The status line and headers of a final (non-1xx) response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// `(1, 0)` or `(1, 1)`.
    pub version: (u8, u8),
    /// The status code, 200 to 999 (1xx responses are skipped).
    pub code: u16,
    /// The reason phrase, possibly empty.
    pub phrase: Bytes,
    /// The headers, names spelled as the server sent them.
    pub headers: Headers,
    /// The body length: `Some(n)` for a `Content-Length` body, `Some(0)`
    /// for responses that cannot have a body (to `HEAD`, 204, 304), `None`
    /// when unknown (chunked, or read until close). Twisted's
    /// `Response.length`, with `None` for `UNKNOWN_LENGTH`.
    pub length: Option<u64>,
}

/// What [`ResponseParser::parse`] or [`ResponseParser::eof`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseEvent {
    /// The head of the final response; body events follow.
    Head(ResponseHead),
    /// A piece of the body (never empty), split off the read buffer without
    /// copying.
    Body(Bytes),
    /// The response is complete.
    Done {
        /// Whether the response lets the connection carry another request:
        /// the server did not ask to close, the body was delimited, and
        /// `Transfer-Encoding` did not come with a `Content-Length`. The driver must also check that
        /// no bytes are left in its buffer: bytes after a complete response
        /// were never asked for, so the connection must not be reused.
        reusable: bool,
        /// The body was delimited only by the connection closing, so a
        /// truncated body cannot be told from a complete one: Twisted's
        /// `PotentialDataLoss`.
        potential_data_loss: bool,
    },
    /// Nothing more can be produced until more bytes arrive.
    NeedMore,
}

/// Where the parser is in one response.
#[derive(Debug, Clone)]
enum State {
    /// Reading a head; the first `scanned` bytes hold no complete blank
    /// line. `seen_bytes`: any byte of the response has arrived.
    Head { scanned: usize, seen_bytes: bool },
    /// Reading the body.
    Body {
        decoder: BodyDecoder,
        reusable: bool,
    },
    /// The response ended.
    Done {
        reusable: bool,
        potential_data_loss: bool,
    },
    /// An error happened; it is returned again on every call.
    Failed(ProtocolError),
}

/// Parses one response from a stream of bytes, one event at a time.
///
/// Feed it the connection's read buffer with [`parse`](Self::parse) until it
/// returns [`ResponseEvent::NeedMore`] or [`ResponseEvent::Done`]; it removes
/// from the buffer exactly the bytes it used. When the connection closes,
/// call [`eof`](Self::eof). After an error, every call returns that error.
#[derive(Debug, Clone)]
pub struct ResponseParser {
    request_was_head: bool,
    state: State,
}

impl ResponseParser {
    /// A parser for the response to a request; `request_was_head` says the
    /// request method was `HEAD`, whose response never has a body.
    pub fn new(request_was_head: bool) -> ResponseParser {
        ResponseParser {
            request_was_head,
            state: State::Head {
                scanned: 0,
                seen_bytes: false,
            },
        }
    }

    /// Consumes what it can from the front of `buf` and returns the next
    /// event. Bytes after the end of the response are left in `buf`.
    ///
    /// Between calls the caller should only append to `buf`: the parser
    /// remembers how far it already scanned so that a head or chunk-size
    /// line arriving in small pieces is scanned once.
    pub fn parse<B: ReadBuffer>(&mut self, buf: &mut B) -> Result<ResponseEvent, ProtocolError> {
        let result = self.step(buf);
        if let Err(e) = &result {
            self.state = State::Failed(e.clone());
        }
        result
    }

    /// The connection closed: ends a body read until close (with
    /// `potential_data_loss`), or says where the response was cut off.
    pub fn eof(&mut self) -> Result<ResponseEvent, ProtocolError> {
        let result = match &self.state {
            State::Failed(e) => Err(e.clone()),
            &State::Done {
                reusable,
                potential_data_loss,
            } => Ok(ResponseEvent::Done {
                reusable,
                potential_data_loss,
            }),
            State::Head {
                seen_bytes: false, ..
            } => Err(ProtocolError::ConnectionClosedBeforeResponse),
            State::Head { .. } => Err(ProtocolError::ConnectionClosedInHead),
            State::Body { decoder, .. } => decoder.eof().map(|()| ResponseEvent::Done {
                reusable: false,
                potential_data_loss: matches!(decoder, BodyDecoder::UntilClose),
            }),
        };
        self.state = match &result {
            Err(e) => State::Failed(e.clone()),
            &Ok(ResponseEvent::Done {
                reusable,
                potential_data_loss,
            }) => State::Done {
                reusable,
                potential_data_loss,
            },
            Ok(_) => unreachable!("eof only produces Done"),
        };
        result
    }

    /// Whether the response is complete.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done { .. })
    }

    fn step<B: ReadBuffer>(&mut self, buf: &mut B) -> Result<ResponseEvent, ProtocolError> {
        loop {
            match &mut self.state {
                State::Failed(e) => return Err(e.clone()),
                &mut State::Done {
                    reusable,
                    potential_data_loss,
                } => {
                    return Ok(ResponseEvent::Done {
                        reusable,
                        potential_data_loss,
                    })
                }
                State::Body { decoder, reusable } => {
                    return match decoder.decode(buf)? {
                        BodyProgress::Data(data) => Ok(ResponseEvent::Body(data)),
                        BodyProgress::NeedMore => Ok(ResponseEvent::NeedMore),
                        BodyProgress::Done => {
                            let reusable = *reusable;
                            self.state = State::Done {
                                reusable,
                                potential_data_loss: false,
                            };
                            Ok(ResponseEvent::Done {
                                reusable,
                                potential_data_loss: false,
                            })
                        }
                    };
                }
                State::Head {
                    scanned,
                    seen_bytes,
                } => {
                    *seen_bytes |= !buf.is_empty();
                    let Some(end) = find_head_end(buf, scanned) else {
                        if buf.len() >= MAX_HEAD_SIZE {
                            return Err(ProtocolError::HeadTooLarge);
                        }
                        return Ok(ResponseEvent::NeedMore);
                    };
                    if end > MAX_HEAD_SIZE {
                        return Err(ProtocolError::HeadTooLarge);
                    }
                    *scanned = 0;
                    let (head, framing) = parse_head(buf.take_front(end))?;
                    match head.code {
                        101 => return Err(ProtocolError::UnexpectedSwitchingProtocols),
                        100..=199 => continue,
                        _ => return self.start_body(head, &framing),
                    }
                }
            }
        }
    }

    /// Decides how the body of `head` is delimited and moves to reading it.
    fn start_body(
        &mut self,
        mut head: ResponseHead,
        framing: &Framing,
    ) -> Result<ResponseEvent, ProtocolError> {
        let mut reusable = framing.allows_reuse(head.version);
        let decoder = if self.request_was_head || head.code == 204 || head.code == 304 {
            head.length = Some(0);
            BodyDecoder::length(0)
        } else if framing.is_chunked()? {
            // A chunked body is delimited, so the connection can carry another request, unless
            // a Content-Length came with it (a smuggling attempt or a broken intermediary).
            if framing.has_content_length() {
                reusable = false;
            }
            BodyDecoder::chunked()
        } else if let Some(length) = framing.content_length()? {
            head.length = Some(length);
            BodyDecoder::length(length)
        } else {
            reusable = false;
            BodyDecoder::UntilClose
        };
        self.state = State::Body { decoder, reusable };
        Ok(ResponseEvent::Head(head))
    }
}

/// Finds the end of the head (just after the blank line ending it), looking
/// for an LF followed by LF or CRLF. `scanned` carries where to resume, so
/// a head arriving in pieces is scanned once.
fn find_head_end(buf: &[u8], scanned: &mut usize) -> Option<usize> {
    let mut from = (*scanned).min(buf.len());
    while let Some(p) = find_lf(&buf[from..]) {
        let lf = from + p;
        match (buf.get(lf + 1), buf.get(lf + 2)) {
            (Some(b'\n'), _) => return Some(lf + 2),
            (Some(b'\r'), Some(b'\n')) => return Some(lf + 3),
            (None, _) | (Some(b'\r'), None) => {
                *scanned = lf;
                return None;
            }
            _ => from = lf + 1,
        }
    }
    *scanned = buf.len();
    None
}

/// Parses a complete head: status line, then headers with httparse. Header
/// names, values and the phrase are slices of `head`, not copies. The framing
/// headers' values are taken into account on the way.
fn parse_head(head: Bytes) -> Result<(ResponseHead, Framing), ProtocolError> {
    let lf = find_lf(&head).unwrap_or(head.len());
    let line = &head[..lf];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let StatusLine {
        version,
        code,
        phrase,
    } = parse_status_line(line)?;
    let phrase = head.slice_ref(phrase);
    let block = &head[(lf + 1).min(head.len())..];
    let mut storage = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let parsed = match httparse::parse_headers(block, &mut storage) {
        Ok(httparse::Status::Complete((n, parsed))) if n == block.len() => parsed,
        Err(httparse::Error::TooManyHeaders) => return Err(ProtocolError::TooManyHeaders),
        _ => return Err(ProtocolError::InvalidHeaderInResponse),
    };
    let mut headers = Headers::with_capacity(parsed.len());
    // One bit per name seen so far, from its length and first and last letters: a name whose
    // bit is clear is not in `headers` yet, so it is appended without a search for its group.
    let mut seen = 0u64;
    let mut framing = Framing::default();
    for h in parsed {
        let name = h.name.as_bytes();
        let bit = name_bit(name);
        let (name_bytes, framing_header) = match known_name(name) {
            Some(known) => known,
            None => (head.slice_ref(name), FramingHeader::of(name)),
        };
        if let Some(header) = framing_header {
            framing.add(header, h.value);
        }
        let value = head.slice_ref(h.value);
        if seen & bit == 0 {
            headers.push_parsed_new(name_bytes, value);
        } else {
            headers.append_parsed(name_bytes, value);
        }
        seen |= bit;
    }
    let head = ResponseHead {
        version,
        code,
        phrase,
        headers,
        length: None,
    };
    Ok((head, framing))
}

/// A header name's bit in a 64-bit set of names, the same for every spelling of the name
/// (ASCII case is ignored).
fn name_bit(name: &[u8]) -> u64 {
    let (first, last) = match name {
        [] => (0, 0),
        [first, .., last] => (*first | 0x20, *last | 0x20),
        [only] => (*only | 0x20, *only | 0x20),
    };
    let h = name.len() + 7 * usize::from(first) + 3 * usize::from(last);
    1 << (h % 64)
}

/// The parts of a status line.
struct StatusLine<'a> {
    version: (u8, u8),
    code: u16,
    phrase: &'a [u8],
}

/// Parses `HTTP/1.x SP 3DIGIT [SP reason-phrase]` (CR already removed).
fn parse_status_line(line: &[u8]) -> Result<StatusLine<'_>, ProtocolError> {
    let Some((version, rest)) = line.split_at_checked(8) else {
        return Err(ProtocolError::MalformedStatusLine);
    };
    let version = match version {
        b"HTTP/1.0" => (1, 0),
        b"HTTP/1.1" => (1, 1),
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            return Err(ProtocolError::UnsupportedVersion)
        }
        _ => return Err(ProtocolError::MalformedStatusLine),
    };
    let (code, phrase) = match rest {
        [b' ', a, b, c] => ([*a, *b, *c], &rest[4..]),
        [b' ', a, b, c, b' ', ..] => ([*a, *b, *c], &rest[5..]),
        _ => return Err(ProtocolError::MalformedStatusLine),
    };
    if !code.iter().all(u8::is_ascii_digit)
        || code[0] == b'0'
        || phrase
            .iter()
            .any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
    {
        return Err(ProtocolError::MalformedStatusLine);
    }
    let code = code.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    Ok(StatusLine {
        version,
        code,
        phrase,
    })
}
