//! The one error type of the HTTP/1.1 core.

use crate::web::http_headers::HeaderError;
use std::fmt;

/// Everything that can go wrong while writing a request or reading a
/// response, one precise variant per cause.
///
/// Errors are final: a parser or encoder that returned one keeps returning
/// it, and the connection must be closed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    // --- Writing the request ---
    /// The method is empty or not an RFC 9110 token (it contains a space,
    /// CR, LF, NUL or another separator).
    InvalidMethod,
    /// The request target is empty or contains a byte outside printable
    /// ASCII (`0x21..=0x7e`): spaces, control characters, non-ASCII.
    InvalidRequestTarget,
    /// The host is empty or contains a byte outside printable ASCII.
    InvalidHost,
    /// A header name or value was refused.
    InvalidHeader(HeaderError),
    /// The body did not match its declared `Content-Length`: `actual` bytes
    /// were given (so far, if too many) where `expected` were declared.
    WrongBodyLength {
        /// The declared length.
        expected: u64,
        /// How many bytes the caller gave.
        actual: u64,
    },
    /// Body bytes were given for a request declared to have no body.
    BodyNotDeclared,
    /// Body bytes (or a second end) were given after the body was finished.
    BodyAlreadyFinished,

    // --- Reading the response head ---
    /// The status line is not `HTTP/x.y SP 3DIGIT [SP reason]`, or the
    /// status code is below 100.
    MalformedStatusLine,
    /// The status line names an HTTP version other than 1.0 or 1.1.
    UnsupportedVersion,
    /// The response head (status line and headers) exceeds
    /// [`MAX_HEAD_SIZE`](super::MAX_HEAD_SIZE) bytes.
    HeadTooLarge,
    /// The response has more than [`MAX_HEADERS`](super::MAX_HEADERS)
    /// header lines.
    TooManyHeaders,
    /// A response header line is malformed: a bad name, a control character
    /// in a value, whitespace before the colon, or an obs-fold continuation.
    InvalidHeaderInResponse,
    /// The response carries `Content-Length` values that differ.
    ConflictingContentLength,
    /// A `Content-Length` value is not a plain decimal number (signs, hex,
    /// empty values and overflow are all refused).
    InvalidContentLength,
    /// The response's `Transfer-Encoding` is anything but a single
    /// `chunked` coding.
    UnsupportedTransferEncoding,
    /// The server answered `101 Switching Protocols`, which this client never
    /// asks for.
    UnexpectedSwitchingProtocols,

    // --- Reading a chunked body ---
    /// A chunk-size line does not start with a hexadecimal size, or is not
    /// terminated by CRLF.
    ChunkSizeInvalid,
    /// A chunk size has more than 16 hexadecimal digits.
    ChunkSizeTooLarge,
    /// The chunk extensions of one size line exceed
    /// [`MAX_CHUNK_EXTENSIONS_SIZE`](super::MAX_CHUNK_EXTENSIONS_SIZE) bytes.
    ChunkExtensionsTooLong,
    /// Chunk extensions contain a control character.
    ChunkExtensionsInvalid,
    /// A chunk's data is not followed by CRLF.
    ChunkDataNotTerminated,
    /// The trailer section exceeds
    /// [`MAX_TRAILERS_SIZE`](super::MAX_TRAILERS_SIZE) bytes or
    /// [`MAX_TRAILER_LINES`](super::MAX_TRAILER_LINES) lines.
    TrailersTooLarge,

    // --- The connection closed early ---
    /// The connection closed before any byte of the response arrived (for a
    /// reused connection: the server had closed it; safe to retry an
    /// idempotent request).
    ConnectionClosedBeforeResponse,
    /// The connection closed in the middle of the response head.
    ConnectionClosedInHead,
    /// The connection closed before the `Content-Length` body was complete.
    ConnectionClosedInBody {
        /// The declared length.
        expected: u64,
        /// How many body bytes arrived.
        received: u64,
    },
    /// The connection closed before the chunked body's last chunk and
    /// trailers were complete.
    ConnectionClosedInChunkedBody,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ProtocolError::*;
        match self {
            InvalidMethod => f.write_str("invalid request method: must be an HTTP token"),
            InvalidRequestTarget => f.write_str(
                "invalid request target: must be non-empty printable ASCII without spaces",
            ),
            InvalidHost => {
                f.write_str("invalid host: must be non-empty printable ASCII without spaces")
            }
            InvalidHeader(e) => write!(f, "{e}"),
            WrongBodyLength { expected, actual } => write!(
                f,
                "request body length mismatch: Content-Length is {expected} but {actual} bytes were given"
            ),
            BodyNotDeclared => f.write_str("request body given but the request declared no body"),
            BodyAlreadyFinished => f.write_str("request body used after it was finished"),
            MalformedStatusLine => f.write_str("malformed response status line"),
            UnsupportedVersion => {
                f.write_str("unsupported HTTP version in response (only HTTP/1.0 and HTTP/1.1)")
            }
            HeadTooLarge => write!(
                f,
                "response head larger than {} bytes",
                super::MAX_HEAD_SIZE
            ),
            TooManyHeaders => write!(
                f,
                "response has more than {} header lines",
                super::MAX_HEADERS
            ),
            InvalidHeaderInResponse => f.write_str("malformed header line in response"),
            ConflictingContentLength => {
                f.write_str("response has conflicting Content-Length values")
            }
            InvalidContentLength => f.write_str("response Content-Length is not a decimal number"),
            UnsupportedTransferEncoding => f.write_str(
                "unsupported response Transfer-Encoding (only a single `chunked` is supported)",
            ),
            UnexpectedSwitchingProtocols => {
                f.write_str("unexpected 101 Switching Protocols response")
            }
            ChunkSizeInvalid => f.write_str("invalid chunk-size line in chunked body"),
            ChunkSizeTooLarge => f.write_str("chunk size has more than 16 hex digits"),
            ChunkExtensionsTooLong => write!(
                f,
                "chunk extensions longer than {} bytes",
                super::MAX_CHUNK_EXTENSIONS_SIZE
            ),
            ChunkExtensionsInvalid => f.write_str("control character in chunk extensions"),
            ChunkDataNotTerminated => f.write_str("chunk data not followed by CRLF"),
            TrailersTooLarge => write!(
                f,
                "chunked body trailers larger than {} bytes or {} lines",
                super::MAX_TRAILERS_SIZE,
                super::MAX_TRAILER_LINES
            ),
            ConnectionClosedBeforeResponse => {
                f.write_str("connection closed before any response was received")
            }
            ConnectionClosedInHead => f.write_str("connection closed in the middle of the response head"),
            ConnectionClosedInBody { expected, received } => write!(
                f,
                "connection closed after {received} of {expected} response body bytes"
            ),
            ConnectionClosedInChunkedBody => {
                f.write_str("connection closed before the end of the chunked response body")
            }
        }
    }
}

impl std::error::Error for ProtocolError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ProtocolError::InvalidHeader(e) => Some(e),
            _ => None,
        }
    }
}

impl From<HeaderError> for ProtocolError {
    fn from(e: HeaderError) -> ProtocolError {
        ProtocolError::InvalidHeader(e)
    }
}
