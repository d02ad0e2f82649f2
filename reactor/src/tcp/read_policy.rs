//! How much a stream transport reads at a time, and how much it lets the kernel queue for a
//! long stream.
//!
//! A new connection reads into a small buffer, which grows while reads fill it: most
//! connections carry small responses, and a buffer per connection costs memory. A connection
//! whose reads keep filling the burst size carries a long stream (a download): it reads in
//! the largest pieces, and its socket's receive buffer is raised (see
//! [`STREAM_RECEIVE_BUFFER`]).

use std::io;
use std::os::fd::AsFd;

/// The read buffer of a new connection: enough for a small response.
pub(super) const FIRST_READ_SIZE: usize = 4 * 1024;
/// The read buffer grows fourfold each time a read fills it, up to this...
pub(super) const BURST_READ_SIZE: usize = 64 * 1024;
/// ...and to this once [`FULL_READS_TO_STREAM`] reads in a row have filled it: a long stream
/// such as a download, not a response of about the burst size (eight connections with 64 KiB
/// responses keep 64 KiB buffers).
pub(super) const MAX_READ_SIZE: usize = 256 * 1024;
/// Full reads in a row at [`BURST_READ_SIZE`] before the buffer grows to [`MAX_READ_SIZE`].
const FULL_READS_TO_STREAM: u8 = 4;

/// `SO_RCVBUF` asked for a connection found to carry a long stream (the kernel doubles it for
/// its bookkeeping, and caps the request at `net.core.rmem_max`).
///
/// Linux sizes a TCP receive buffer from what the application read in the last round trip.
/// Over loopback or a LAN the round trip is tens of microseconds, so the buffer stays small
/// (about 700 KiB measured on 127.0.0.1): the sender fills it while the reader is copying the
/// last piece out, segments are dropped and sent again. With this buffer a 100 MiB download
/// from nginx ran 15 % faster (docs/benchmarks.md). It is a ceiling, not an allocation: the
/// kernel holds that much only while the application does not read (a paused consumer).
pub const STREAM_RECEIVE_BUFFER: usize = 4 * 1024 * 1024;

/// The read size after a read of `size` that filled the room offered (`full`), and the count
/// of full reads in a row at [`BURST_READ_SIZE`] (`full_reads`, updated).
pub(super) fn next_read_size(size: usize, full: bool, full_reads: &mut u8) -> usize {
    if !full {
        *full_reads = 0;
        return size;
    }
    if size < BURST_READ_SIZE {
        return (size * 4).min(BURST_READ_SIZE);
    }
    if size < MAX_READ_SIZE {
        *full_reads += 1;
        if *full_reads >= FULL_READS_TO_STREAM {
            *full_reads = 0;
            return MAX_READ_SIZE;
        }
    }
    size
}

/// The `SO_RCVBUF` to ask for, given the buffer the socket has now (`current`, as
/// `getsockopt` reports it: doubled) and the system's ceiling for a request (`rmem_max`); or
/// `None` when asking would not make the buffer larger. Setting `SO_RCVBUF` turns the
/// kernel's own tuning off for the socket, so a request that cannot raise it is not made.
fn receive_buffer_to_ask(current: usize, rmem_max: usize) -> Option<usize> {
    let wanted = STREAM_RECEIVE_BUFFER.min(rmem_max);
    (wanted.saturating_mul(2) > current).then_some(wanted)
}

/// The system's ceiling for an `SO_RCVBUF` request (`net.core.rmem_max`), read once.
#[cfg(target_os = "linux")]
fn rmem_max() -> Option<usize> {
    static RMEM_MAX: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    *RMEM_MAX.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/net/core/rmem_max")
            .ok()
            .and_then(|text| text.trim().parse().ok())
    })
}

/// Raise `socket`'s receive buffer towards [`STREAM_RECEIVE_BUFFER`] when the system allows a
/// larger one than it has; returns whether it was raised. Only on Linux, where the kernel's
/// own tuning is known to stop short on a fast link; elsewhere nothing is changed.
pub(super) fn raise_receive_buffer<S: AsFd>(socket: &S) -> io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        let socket = socket2::SockRef::from(socket);
        let Some(rmem_max) = rmem_max() else {
            return Ok(false);
        };
        match receive_buffer_to_ask(socket.recv_buffer_size()?, rmem_max) {
            Some(size) => socket.set_recv_buffer_size(size).map(|()| true),
            None => Ok(false),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = socket;
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The read sizes after each read of a sequence (`true`: it filled the room offered).
    fn sizes(reads: &[bool]) -> Vec<usize> {
        let (mut size, mut full_reads) = (FIRST_READ_SIZE, 0);
        reads
            .iter()
            .map(|&full| {
                size = next_read_size(size, full, &mut full_reads);
                size
            })
            .collect()
    }

    #[test]
    fn reads_grow_fourfold_to_the_burst_size() {
        let k = 1024;
        assert_eq!(sizes(&[true, true, true]), [16 * k, 64 * k, 64 * k]);
        assert_eq!(sizes(&[false, true, false]), [4 * k, 16 * k, 16 * k]);
    }

    #[test]
    fn a_long_stream_of_full_reads_grows_to_the_largest_size() {
        let grown = sizes(&[true; 6]);
        assert_eq!(grown[1], BURST_READ_SIZE);
        assert_eq!(grown[4], BURST_READ_SIZE);
        assert_eq!(grown[5], MAX_READ_SIZE);
        assert_eq!(sizes(&[true; 9])[8], MAX_READ_SIZE);
    }

    #[test]
    fn responses_of_about_the_burst_size_keep_the_burst_size() {
        // A full read, then the short rest of the response, again and again.
        let reads: Vec<bool> = (0..40).map(|i| i < 2 || i % 2 == 0).collect();
        assert!(sizes(&reads).iter().all(|&s| s <= BURST_READ_SIZE));
    }

    #[test]
    fn the_receive_buffer_is_only_ever_raised() {
        let m = 1024 * 1024;
        // The kernel's default (128 KiB, reported doubled) under a 4 MiB ceiling: ask 4 MiB.
        assert_eq!(receive_buffer_to_ask(256 * 1024, 4 * m), Some(4 * m));
        // A generous ceiling: no more than the stream size is asked.
        assert_eq!(
            receive_buffer_to_ask(256 * 1024, 64 * m),
            Some(STREAM_RECEIVE_BUFFER)
        );
        // Linux's stock ceiling (208 KiB) is below what tuning already gave: leave it.
        assert_eq!(receive_buffer_to_ask(700 * 1024, 212_992), None);
        // Already as large as it could be made.
        assert_eq!(receive_buffer_to_ask(8 * m, 4 * m), None);
    }
}
