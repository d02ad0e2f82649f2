//! Writing a request: the head, then the body framed as declared.

use super::error::ProtocolError;
use crate::web::http_headers::{is_token, Headers};
use bytes::{BufMut, BytesMut};

/// How the request body is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body. `POST`, `PUT` and `PATCH` still send `Content-Length: 0`,
    /// as Twisted does, because some servers insist on a length for them.
    None,
    /// Exactly this many bytes: `Content-Length: N`.
    Length(u64),
    /// Unknown length: `Transfer-Encoding: chunked`.
    Chunked,
}

/// Everything needed to write a request head.
///
/// The writer owns the framing and connection-management headers: any
/// `Content-Length`, `Transfer-Encoding` or `Connection` in `headers` is
/// dropped, and the writer sends what `framing` and `keep_alive` say.
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'a> {
    /// The method, a token such as `b"GET"` (case-sensitive).
    pub method: &'a [u8],
    /// The request target: origin-form (`/path?query`) or, for proxies,
    /// absolute-form (`http://host/path`). Must be percent-encoded already.
    pub target: &'a [u8],
    /// The `Host` value, already formatted: `example.com`,
    /// `example.com:8080`, `[::1]:8080` (default port left out by the
    /// caller). Sent unless `headers` has its own `Host`.
    pub host: &'a [u8],
    /// The caller's headers, written in their order.
    pub headers: &'a Headers,
    /// How the body is delimited.
    pub framing: BodyFraming,
    /// When false, `Connection: close` is sent.
    pub keep_alive: bool,
}

const HTTP11_CRLF: &[u8] = b" HTTP/1.1\r\n";
const HOST: &[u8] = b"Host: ";
const CONTENT_LENGTH: &[u8] = b"Content-Length: ";
const CHUNKED: &[u8] = b"Transfer-Encoding: chunked\r\n";
const CONNECTION_CLOSE: &[u8] = b"Connection: close\r\n";

/// Headers the writer owns; the caller's copies are not sent.
fn is_owned_header(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"content-length")
        || name.eq_ignore_ascii_case(b"transfer-encoding")
        || name.eq_ignore_ascii_case(b"connection")
}

/// Whether every byte is printable ASCII and there is at least one.
fn is_printable_ascii(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&b| (0x21..=0x7e).contains(&b))
}

/// Formats `n` in decimal into `buf`, returning the digits.
pub(crate) fn format_decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// Formats `n` in lowercase hexadecimal into `buf`, returning the digits.
fn format_hex(mut n: u64, buf: &mut [u8; 16]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b"0123456789abcdef"[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// The `Content-Length` to send, if any.
fn content_length(head: &RequestHead<'_>) -> Option<u64> {
    match head.framing {
        BodyFraming::Length(n) => Some(n),
        BodyFraming::None if matches!(head.method, b"POST" | b"PUT" | b"PATCH") => Some(0),
        _ => None,
    }
}

/// Writes the request line and headers, ending with the blank line, into
/// `out` in one contiguous append.
///
/// The method, target and host are checked before anything is written: on
/// error `out` is unchanged. Header names and values need no check here,
/// since [`Headers`] refuses invalid ones.
///
/// Order on the wire: request line, `Host` (unless the caller's headers
/// have one), the caller's headers, `Content-Length` or
/// `Transfer-Encoding: chunked`, `Connection: close`.
pub fn write_request_head(head: &RequestHead<'_>, out: &mut BytesMut) -> Result<(), ProtocolError> {
    if !is_token(head.method) {
        return Err(ProtocolError::InvalidMethod);
    }
    if !is_printable_ascii(head.target) {
        return Err(ProtocolError::InvalidRequestTarget);
    }
    if !is_printable_ascii(head.host) {
        return Err(ProtocolError::InvalidHost);
    }
    let send_host = !head.headers.has_header("host");
    let mut digits = [0u8; 20];
    let length_digits = content_length(head).map(|n| format_decimal(n, &mut digits));

    let mut size = head.method.len() + 1 + head.target.len() + HTTP11_CRLF.len() + 2;
    if send_host {
        size += HOST.len() + head.host.len() + 2;
    }
    for (name, value) in head.headers.iter().filter(|(n, _)| !is_owned_header(n)) {
        size += name.len() + 2 + value.len() + 2;
    }
    match (length_digits, head.framing) {
        (Some(d), _) => size += CONTENT_LENGTH.len() + d.len() + 2,
        (None, BodyFraming::Chunked) => size += CHUNKED.len(),
        (None, _) => {}
    }
    if !head.keep_alive {
        size += CONNECTION_CLOSE.len();
    }

    out.reserve(size);
    out.put_slice(head.method);
    out.put_u8(b' ');
    out.put_slice(head.target);
    out.put_slice(HTTP11_CRLF);
    if send_host {
        out.put_slice(HOST);
        out.put_slice(head.host);
        out.put_slice(b"\r\n");
    }
    for (name, value) in head.headers.iter().filter(|(n, _)| !is_owned_header(n)) {
        out.put_slice(name);
        out.put_slice(b": ");
        out.put_slice(value);
        out.put_slice(b"\r\n");
    }
    match (length_digits, head.framing) {
        (Some(d), _) => {
            out.put_slice(CONTENT_LENGTH);
            out.put_slice(d);
            out.put_slice(b"\r\n");
        }
        (None, BodyFraming::Chunked) => out.put_slice(CHUNKED),
        (None, _) => {}
    }
    if !head.keep_alive {
        out.put_slice(CONNECTION_CLOSE);
    }
    out.put_slice(b"\r\n");
    Ok(())
}

/// The bytes that go around one piece of body data, so the caller can send
/// prefix, data and suffix with one vectored write and never copy the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkFrame {
    prefix: [u8; 18],
    prefix_len: u8,
    suffix: &'static [u8],
}

impl ChunkFrame {
    const EMPTY: ChunkFrame = ChunkFrame {
        prefix: [0; 18],
        prefix_len: 0,
        suffix: b"",
    };

    /// Bytes to send before the data (`1a2b\r\n` for a chunk).
    pub fn prefix(&self) -> &[u8] {
        &self.prefix[..self.prefix_len as usize]
    }

    /// Bytes to send after the data (`\r\n` for a chunk).
    pub fn suffix(&self) -> &'static [u8] {
        self.suffix
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EncoderState {
    NoBody,
    Length { expected: u64, written: u64 },
    Chunked,
    Finished,
}

/// Frames request body bytes as the head declared.
///
/// On error nothing is written and the encoder is unchanged.
#[derive(Debug, Clone)]
pub struct BodyEncoder {
    state: EncoderState,
}

impl BodyEncoder {
    /// An encoder for a body declared with `framing`.
    pub fn new(framing: BodyFraming) -> BodyEncoder {
        let state = match framing {
            BodyFraming::None => EncoderState::NoBody,
            BodyFraming::Length(expected) => EncoderState::Length {
                expected,
                written: 0,
            },
            BodyFraming::Chunked => EncoderState::Chunked,
        };
        BodyEncoder { state }
    }

    /// Accounts for `len` bytes of body data about to be sent and returns
    /// what must surround them. Zero bytes need no framing (an empty chunk
    /// would end a chunked body).
    pub fn frame(&mut self, len: usize) -> Result<ChunkFrame, ProtocolError> {
        let len64 = len as u64;
        match &mut self.state {
            EncoderState::Finished => Err(ProtocolError::BodyAlreadyFinished),
            _ if len == 0 => Ok(ChunkFrame::EMPTY),
            EncoderState::NoBody => Err(ProtocolError::BodyNotDeclared),
            EncoderState::Length { expected, written } => {
                let total = written.saturating_add(len64);
                if total > *expected {
                    return Err(ProtocolError::WrongBodyLength {
                        expected: *expected,
                        actual: total,
                    });
                }
                *written = total;
                Ok(ChunkFrame::EMPTY)
            }
            EncoderState::Chunked => {
                let mut frame = ChunkFrame {
                    suffix: b"\r\n",
                    ..ChunkFrame::EMPTY
                };
                let mut hex = [0u8; 16];
                let digits = format_hex(len64, &mut hex);
                frame.prefix[..digits.len()].copy_from_slice(digits);
                frame.prefix[digits.len()..digits.len() + 2].copy_from_slice(b"\r\n");
                frame.prefix_len = (digits.len() + 2) as u8;
                Ok(frame)
            }
        }
    }

    /// Appends `data`, framed, to `out`.
    pub fn encode(&mut self, data: &[u8], out: &mut BytesMut) -> Result<(), ProtocolError> {
        let frame = self.frame(data.len())?;
        out.reserve(frame.prefix().len() + data.len() + frame.suffix().len());
        out.put_slice(frame.prefix());
        out.put_slice(data);
        out.put_slice(frame.suffix());
        Ok(())
    }

    /// Ends the body: checks a declared length was met, or writes the last
    /// chunk (`0\r\n\r\n`) of a chunked body.
    pub fn finish(&mut self, out: &mut BytesMut) -> Result<(), ProtocolError> {
        match self.state {
            EncoderState::Finished => return Err(ProtocolError::BodyAlreadyFinished),
            EncoderState::Length { expected, written } if written != expected => {
                return Err(ProtocolError::WrongBodyLength {
                    expected,
                    actual: written,
                })
            }
            EncoderState::Chunked => out.put_slice(b"0\r\n\r\n"),
            _ => {}
        }
        self.state = EncoderState::Finished;
        Ok(())
    }

    /// Whether [`finish`](BodyEncoder::finish) has succeeded.
    pub fn is_finished(&self) -> bool {
        self.state == EncoderState::Finished
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
