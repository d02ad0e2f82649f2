//! [`ReadBuffer`]: what [`ResponseParser::parse`](super::ResponseParser::parse) reads from.

use bytes::{Buf, Bytes, BytesMut};
use std::ops::Deref;

/// Bytes received and not parsed yet, taken from the front by the parser.
///
/// Two kinds serve: a [`BytesMut`] that the driver appends each received piece to, and a
/// [`Bytes`] holding one received piece as it came from the transport, parsed in place so that
/// body data and header values are slices of it rather than copies. A driver that gets
/// `NeedMore` with bytes left in a `Bytes` keeps them (appends them to its `BytesMut`) for the
/// next call.
pub trait ReadBuffer: Deref<Target = [u8]> {
    /// Removes the first `n` bytes (`n <= len`) and returns them, without copying.
    fn take_front(&mut self, n: usize) -> Bytes;
    /// Drops the first `n` bytes (`n <= len`).
    fn skip_front(&mut self, n: usize);
}

impl ReadBuffer for BytesMut {
    fn take_front(&mut self, n: usize) -> Bytes {
        if n == self.len() {
            self.split().freeze()
        } else {
            self.split_to(n).freeze()
        }
    }
    fn skip_front(&mut self, n: usize) {
        self.advance(n);
    }
}

impl ReadBuffer for Bytes {
    fn take_front(&mut self, n: usize) -> Bytes {
        self.split_to(n)
    }
    fn skip_front(&mut self, n: usize) {
        self.advance(n);
    }
}
