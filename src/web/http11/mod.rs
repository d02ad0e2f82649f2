//! A sans-IO HTTP/1.1 client core: bytes in, bytes and events out.
//!
//! Nothing here touches a socket, a reactor or a clock. The reactor protocol
//! (Twisted's `HTTP11ClientProtocol`) is a thin driver that moves bytes
//! between these functions and the transport, so the same core is tested
//! byte for byte, reused by in-memory test transports, and fuzzable.
//!
//! * [`write_request_head`] writes a request head; [`BodyEncoder`] frames
//!   the body (`Content-Length` or chunked).
//! * [`absolute_form_target`] builds the target of a request to a forward proxy.
//! * [`ResponseParser`] turns the read buffer (a [`ReadBuffer`]) into [`ResponseEvent`]s.
//! * Every failure is one [`ProtocolError`] variant.
//!
//! # One request/response exchange
//!
//! ```text
//!  write_request_head ──► BodyEncoder::encode* ──► BodyEncoder::finish
//!                                                        │
//!        ┌───────────────────────────────────────────────┘
//!        ▼
//!  ┌───────────┐ 1xx (skipped)  ┌───────────┐
//!  │   Head    │◄───────────────┤   Head    │   101 ──► UnexpectedSwitchingProtocols
//!  └─────┬─────┘                └───────────┘
//!        │ final status line + headers: emits Head
//!        ▼
//!  ┌───────────────────────────────────────────────┐
//!  │ Body: Length(n) | Chunked | UntilClose        │──► emits Body(bytes)*
//!  │ (HEAD request, 204, 304: Length(0))           │
//!  └─────┬───────────────────────────┬─────────────┘
//!        │ body delimited            │ eof() while UntilClose
//!        ▼                           ▼
//!  Done { reusable, potential_data_loss: false }   Done { reusable: false,
//!                                                         potential_data_loss: true }
//!
//!  Any state ──error──► Failed (the error is returned again on every call)
//!  eof() in Head or in a delimited body ──► ConnectionClosed* error
//! ```
//!
//! # Driver contract
//!
//! Append received bytes to one read buffer and call
//! [`ResponseParser::parse`] until it returns `NeedMore` (read more) or
//! `Done`. When the connection closes, call [`ResponseParser::eof`]. After
//! `Done`, bytes still in the buffer were sent after the response ended: the
//! connection must not be reused even when `reusable` is true.
//!
//! # Example
//!
//! ```
//! use bytes::BytesMut;
//! use treq::web::http11::{
//!     write_request_head, BodyEncoder, BodyFraming, RequestHead, ResponseEvent, ResponseParser,
//! };
//! use treq::web::http_headers::Headers;
//!
//! // Write a chunked POST.
//! let headers = Headers::try_from([("Content-Type", "text/plain")])?;
//! let head = RequestHead {
//!     method: b"POST",
//!     target: b"/echo",
//!     host: b"example.com:8080",
//!     headers: &headers,
//!     framing: BodyFraming::Chunked,
//!     keep_alive: true,
//! };
//! let mut out = BytesMut::new();
//! write_request_head(&head, &mut out)?;
//! let mut body = BodyEncoder::new(head.framing);
//! body.encode(b"hello", &mut out)?;
//! body.finish(&mut out)?;
//! assert_eq!(
//!     &out[..],
//!     &b"POST /echo HTTP/1.1\r\nHost: example.com:8080\r\nContent-Type: text/plain\r\n\
//!        Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"[..]
//! );
//!
//! // Read the response as it arrives in two pieces.
//! let mut parser = ResponseParser::new(false);
//! let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel"[..]);
//! let ResponseEvent::Head(response) = parser.parse(&mut buf)? else { panic!() };
//! assert_eq!((response.code, &response.phrase[..], response.length), (200, &b"OK"[..], Some(5)));
//! assert_eq!(parser.parse(&mut buf)?, ResponseEvent::Body("hel".into()));
//! assert_eq!(parser.parse(&mut buf)?, ResponseEvent::NeedMore);
//! buf.extend_from_slice(b"lo");
//! assert_eq!(parser.parse(&mut buf)?, ResponseEvent::Body("lo".into()));
//! assert_eq!(
//!     parser.parse(&mut buf)?,
//!     ResponseEvent::Done { reusable: true, potential_data_loss: false }
//! );
//! assert!(buf.is_empty()); // nothing left over: the connection can be reused
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Choices
//!
//! * Response heads: at most [`MAX_HEAD_SIZE`] bytes and [`MAX_HEADERS`]
//!   lines, checked before the blank line arrives so an endless head uses
//!   bounded memory. Bare LF line endings are accepted; obs-fold
//!   continuation lines and whitespace before a colon are refused
//!   ([`ProtocolError::InvalidHeaderInResponse`]). Only HTTP/1.0 and 1.1.
//! * `Transfer-Encoding` must be exactly `chunked`; anything else
//!   (`gzip, chunked`, `chunked, gzip`, `xchunked`) is
//!   [`ProtocolError::UnsupportedTransferEncoding`] rather than read until
//!   close. It overrides `Content-Length`; when both are present the
//!   connection is not reused.
//! * Chunked framing is strict (CRLF required); chunk extensions and
//!   trailers are bounded and discarded.

pub(crate) mod body;
mod error;
mod framing;
mod header_names;
mod read_buffer;
mod request;
mod response;
mod scan;
mod target;

pub use error::ProtocolError;
pub use read_buffer::ReadBuffer;
pub use request::{write_request_head, BodyEncoder, BodyFraming, ChunkFrame, RequestHead};
pub use response::{ResponseEvent, ResponseHead, ResponseParser};
pub use target::absolute_form_target;

/// Largest response head (status line and headers) accepted, in bytes.
pub const MAX_HEAD_SIZE: usize = 64 * 1024;
/// Most header lines accepted in one response head.
pub const MAX_HEADERS: usize = 100;
/// Longest chunk extensions accepted on one chunk-size line, in bytes.
pub const MAX_CHUNK_EXTENSIONS_SIZE: usize = 4 * 1024;
/// Largest trailer section accepted after a chunked body, in bytes.
pub const MAX_TRAILERS_SIZE: usize = 16 * 1024;
/// Most trailer lines accepted after a chunked body.
pub const MAX_TRAILER_LINES: usize = 100;

#[cfg(test)]
mod tests;
