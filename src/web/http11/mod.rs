//! HTTP/1.1 client core (sans-IO).

mod error;
mod request;

pub use error::ProtocolError;
pub use request::{write_request_head, BodyEncoder, BodyFraming, ChunkFrame, RequestHead};

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
