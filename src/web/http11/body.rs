//! Reading a response body: by `Content-Length`, chunked, or until close.
//!
//! Body data is never copied: each piece is split off the read buffer and
//! frozen. Chunked framing is parsed strictly (CRLF after sizes and data,
//! bounded sizes, extensions and trailers), as Twisted does since
//! CVE-2022-24801; trailers are read and discarded.

use super::error::ProtocolError;
use super::read_buffer::ReadBuffer;
use super::{MAX_CHUNK_EXTENSIONS_SIZE, MAX_TRAILERS_SIZE, MAX_TRAILER_LINES};
use bytes::Bytes;

/// The most hexadecimal digits a chunk size may have (fits in a `u64`).
const MAX_CHUNK_SIZE_DIGITS: usize = 16;

/// What one decoding step produced.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BodyProgress {
    /// A piece of body data, never empty.
    Data(Bytes),
    /// The buffer holds no complete next piece.
    NeedMore,
    /// The body is complete; later bytes in the buffer are not part of it.
    Done,
}

/// How the body is delimited, and how far reading has got.
#[derive(Debug, Clone)]
pub(crate) enum BodyDecoder {
    /// `Content-Length`: `remaining` of `expected` bytes still to come.
    Length { expected: u64, remaining: u64 },
    /// `Transfer-Encoding: chunked`.
    Chunked(ChunkedDecoder),
    /// No framing: everything until the server closes the connection.
    UntilClose,
}

impl BodyDecoder {
    /// A decoder for a body of exactly `length` bytes.
    pub(crate) fn length(length: u64) -> BodyDecoder {
        BodyDecoder::Length {
            expected: length,
            remaining: length,
        }
    }

    /// A decoder for a chunked body.
    pub(crate) fn chunked() -> BodyDecoder {
        BodyDecoder::Chunked(ChunkedDecoder {
            state: ChunkState::Size { scanned: 0 },
        })
    }

    /// Takes the next piece of body from the front of `buf`.
    pub(crate) fn decode<B: ReadBuffer>(
        &mut self,
        buf: &mut B,
    ) -> Result<BodyProgress, ProtocolError> {
        match self {
            BodyDecoder::Length { remaining: 0, .. } => Ok(BodyProgress::Done),
            BodyDecoder::Length { remaining, .. } => {
                if buf.is_empty() {
                    return Ok(BodyProgress::NeedMore);
                }
                let n = (*remaining).min(buf.len() as u64);
                *remaining -= n;
                Ok(BodyProgress::Data(buf.take_front(n as usize)))
            }
            BodyDecoder::Chunked(chunked) => chunked.decode(buf),
            BodyDecoder::UntilClose if buf.is_empty() => Ok(BodyProgress::NeedMore),
            BodyDecoder::UntilClose => Ok(BodyProgress::Data(buf.take_front(buf.len()))),
        }
    }

    /// The connection closed. `Ok` only when the close ends the body (read
    /// until close), which may have lost data; otherwise the error saying
    /// where the body was cut.
    pub(crate) fn eof(&self) -> Result<(), ProtocolError> {
        match self {
            BodyDecoder::Length { remaining: 0, .. } => Ok(()),
            BodyDecoder::Length {
                expected,
                remaining,
            } => Err(ProtocolError::ConnectionClosedInBody {
                expected: *expected,
                received: expected - remaining,
            }),
            BodyDecoder::Chunked(c) if c.state == ChunkState::Done => Ok(()),
            BodyDecoder::Chunked(_) => Err(ProtocolError::ConnectionClosedInChunkedBody),
            BodyDecoder::UntilClose => Ok(()),
        }
    }
}

/// Where a chunked body is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ChunkState {
    /// Reading a chunk-size line; the first `scanned` bytes hold no LF.
    Size { scanned: usize },
    /// Inside chunk data.
    Data { remaining: u64 },
    /// Expecting the CRLF after chunk data.
    DataEnd,
    /// After the last chunk: reading trailer lines until an empty one.
    Trailers {
        size: usize,
        lines: usize,
        scanned: usize,
    },
    /// The empty line after the trailers was read.
    Done,
}

/// The chunked transfer-coding decoder.
#[derive(Debug, Clone)]
pub(crate) struct ChunkedDecoder {
    state: ChunkState,
}

impl ChunkedDecoder {
    fn decode<B: ReadBuffer>(&mut self, buf: &mut B) -> Result<BodyProgress, ProtocolError> {
        loop {
            match &mut self.state {
                ChunkState::Size { scanned } => match parse_size_line(buf, scanned)? {
                    None => return Ok(BodyProgress::NeedMore),
                    Some((size, line_len)) => {
                        buf.skip_front(line_len);
                        self.state = if size == 0 {
                            ChunkState::Trailers {
                                size: 0,
                                lines: 0,
                                scanned: 0,
                            }
                        } else {
                            ChunkState::Data { remaining: size }
                        };
                    }
                },
                ChunkState::Data { remaining } => {
                    if buf.is_empty() {
                        return Ok(BodyProgress::NeedMore);
                    }
                    let n = (*remaining).min(buf.len() as u64);
                    *remaining -= n;
                    if *remaining == 0 {
                        self.state = ChunkState::DataEnd;
                    }
                    return Ok(BodyProgress::Data(buf.take_front(n as usize)));
                }
                ChunkState::DataEnd => {
                    if !b"\r\n".starts_with(&buf[..buf.len().min(2)]) {
                        return Err(ProtocolError::ChunkDataNotTerminated);
                    }
                    if buf.len() < 2 {
                        return Ok(BodyProgress::NeedMore);
                    }
                    buf.skip_front(2);
                    self.state = ChunkState::Size { scanned: 0 };
                }
                ChunkState::Trailers {
                    size,
                    lines,
                    scanned,
                } => {
                    let from = (*scanned).min(buf.len());
                    let Some(lf) = buf[from..].iter().position(|&b| b == b'\n') else {
                        if *size + buf.len() > MAX_TRAILERS_SIZE {
                            return Err(ProtocolError::TrailersTooLarge);
                        }
                        *scanned = buf.len();
                        return Ok(BodyProgress::NeedMore);
                    };
                    let line_len = from + lf + 1;
                    let is_end = matches!(&buf[..line_len], b"\n" | b"\r\n");
                    if !is_end {
                        *size += line_len;
                        *lines += 1;
                        if *size > MAX_TRAILERS_SIZE || *lines > MAX_TRAILER_LINES {
                            return Err(ProtocolError::TrailersTooLarge);
                        }
                        *scanned = 0;
                    }
                    buf.skip_front(line_len);
                    if is_end {
                        self.state = ChunkState::Done;
                    }
                }
                ChunkState::Done => return Ok(BodyProgress::Done),
            }
        }
    }
}

/// Parses `chunk-size [chunk-ext] CRLF` at the front of `buf`.
///
/// Returns the size and the line's length, or `None` if the line is not
/// complete yet. `scanned` remembers how far an LF was already looked for,
/// so a line arriving byte by byte is scanned once. Rejects as early as
/// possible: too many digits or too long extensions fail before the LF.
fn parse_size_line(buf: &[u8], scanned: &mut usize) -> Result<Option<(u64, usize)>, ProtocolError> {
    let digits = buf
        .iter()
        .take(MAX_CHUNK_SIZE_DIGITS + 1)
        .take_while(|b| b.is_ascii_hexdigit())
        .count();
    if digits > MAX_CHUNK_SIZE_DIGITS {
        return Err(ProtocolError::ChunkSizeTooLarge);
    }
    if digits == buf.len() {
        return Ok(None);
    }
    if digits == 0 || !matches!(buf[digits], b';' | b' ' | b'\t' | b'\r') {
        return Err(ProtocolError::ChunkSizeInvalid);
    }
    let from = (*scanned).clamp(digits, buf.len());
    let Some(lf) = buf[from..].iter().position(|&b| b == b'\n') else {
        // Extensions, plus the CR that may end them.
        if buf.len() - digits > MAX_CHUNK_EXTENSIONS_SIZE + 1 {
            return Err(ProtocolError::ChunkExtensionsTooLong);
        }
        *scanned = buf.len();
        return Ok(None);
    };
    let lf = from + lf;
    if buf[lf - 1] != b'\r' || lf - 1 < digits {
        return Err(ProtocolError::ChunkSizeInvalid);
    }
    check_extensions(&buf[digits..lf - 1])?;
    let size = buf[..digits].iter().fold(0u64, |acc, &b| {
        let digit = (b as char).to_digit(16).unwrap_or(0) as u64;
        (acc << 4) | digit
    });
    *scanned = 0;
    Ok(Some((size, lf + 1)))
}

/// Checks `*( BWS ";" ... )` after a chunk size: bounded, starting with
/// `;` after optional whitespace, and free of control characters.
fn check_extensions(ext: &[u8]) -> Result<(), ProtocolError> {
    if ext.len() > MAX_CHUNK_EXTENSIONS_SIZE {
        return Err(ProtocolError::ChunkExtensionsTooLong);
    }
    let rest = ext.trim_ascii_start();
    if !rest.is_empty() && rest[0] != b';' {
        return Err(ProtocolError::ChunkSizeInvalid);
    }
    if ext.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(ProtocolError::ChunkExtensionsInvalid);
    }
    Ok(())
}
