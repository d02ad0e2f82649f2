//! Reading a socket into a buffer's spare capacity, without zero-filling it first: one of the
//! two places the reactor uses `unsafe` (the other reads `TCP_INFO`, in `tcp_info.rs`).
//!
//! A safe `read` needs initialised memory, so the transport used to zero-fill each read
//! buffer before the kernel overwrote it. For a 64 KiB response that was a 64 KiB `memset`
//! per response, 44 % of the client's instructions (callgrind, `bench_client --mode conc --c 8
//! /64k`), and as many bytes written again for every byte of a download. `recv(2)` writes
//! into memory that need not be initialised; socket2 takes that memory safely as
//! `MaybeUninit` bytes, and all that is left is telling the buffer how many bytes are now
//! initialised.

use bytes::{BufMut, BytesMut};
use std::io;
use std::os::fd::AsFd;

/// Receive at most `max` bytes from `socket` into `buf`'s spare capacity (no more than it
/// has) and count them into `buf`. Returns how many bytes came, as `read` does (0: the peer
/// closed).
#[allow(unsafe_code)]
pub(crate) fn recv_into_spare<S: AsFd>(
    socket: &S,
    buf: &mut BytesMut,
    max: usize,
) -> io::Result<usize> {
    let spare = buf.spare_capacity_mut();
    let room = spare.len().min(max);
    let n = socket2::SockRef::from(socket).recv(&mut spare[..room])?;
    // recv(2) reports at most the length it was given.
    let n = n.min(room);
    // SAFETY: recv(2) wrote `n` bytes at the start of the spare capacity (n <= room, which is
    // within the capacity), so the first `n` bytes past `len` are initialised; `advance_mut`
    // only moves `len` over them.
    unsafe { buf.advance_mut(n) };
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixStream;

    #[test]
    fn bytes_received_extend_the_buffer_and_nothing_else() {
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(b"hello, world").unwrap();
        let mut buf = BytesMut::with_capacity(64);
        buf.extend_from_slice(b">");
        // At most 5 of the 12 waiting bytes.
        assert_eq!(recv_into_spare(&b, &mut buf, 5).unwrap(), 5);
        assert_eq!(&buf[..], b">hello");
        assert_eq!(recv_into_spare(&b, &mut buf, 1024).unwrap(), 7);
        assert_eq!(&buf[..], b">hello, world");
        // Never more than the spare capacity, whatever `max` says.
        let mut small = BytesMut::with_capacity(4);
        a.write_all(b"0123456789").unwrap();
        let n = recv_into_spare(&b, &mut small, usize::MAX).unwrap();
        assert_eq!(n, small.capacity());
        assert_eq!(&small[..], &b"0123456789"[..n]);
        // End of stream: nothing added.
        drop(a);
        let mut rest = BytesMut::with_capacity(64);
        while recv_into_spare(&b, &mut rest, 64).unwrap() > 0 {}
        let before = rest.len();
        assert_eq!(recv_into_spare(&b, &mut rest, 64).unwrap(), 0);
        assert_eq!(rest.len(), before);
    }
}
