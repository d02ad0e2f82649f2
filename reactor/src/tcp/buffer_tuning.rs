//! Socket buffer sizes for a bulk transfer over a short path (a LAN, loopback), where the
//! kernel's own sizing is measured to fall short.
//!
//! Linux sizes both buffers of a TCP connection itself, from what moved in the last round
//! trip. Over a path of tens of microseconds that goes wrong both ways:
//!
//! * the **receive** buffer stays small (about 700 KiB on 127.0.0.1): the sender fills it
//!   while the reader is copying the last piece out, and segments are dropped and sent again;
//! * the **send** buffer grows to its ceiling (4 MiB here): megabytes wait in the queue, and
//!   they go out from the acknowledgements' path, on the receiver's CPU, in bursts the
//!   receiver's window cannot take (`ss`: "rwnd_limited" a quarter of the time).
//!
//! So a connection found to carry a long download raises its receive buffer to
//! [`STREAM_RECEIVE_BUFFER`], and one found to stream an upload bounds its send buffer to
//! [`UPLOAD_SEND_BUFFER`], but only when its round trip is under [`SHORT_PATH_RTT`]. Over a
//! longer path the kernel's sizing (which grows with the bandwidth-delay product) is left
//! alone. Setting either buffer turns the kernel's sizing off for it on that connection, so a
//! value the system would cut below what it wants is not set at all.

use super::tcp_info::smoothed_rtt;
use std::io;
use std::os::fd::AsFd;
use std::time::Duration;

/// A round trip under this is a short path: a LAN or loopback.
pub const SHORT_PATH_RTT: Duration = Duration::from_millis(1);

/// `SO_RCVBUF` asked for a long download over a short path (the kernel doubles it for its
/// bookkeeping). With it a 100 MiB download from nginx on 127.0.0.1 ran 10–15 % faster
/// (docs/benchmarks-history.md). It is a ceiling, not an allocation: the kernel holds that much only
/// while the application does not read (a paused consumer).
pub const STREAM_RECEIVE_BUFFER: usize = 4 * 1024 * 1024;

/// `SO_SNDBUF` for a streamed upload over a short path (doubled by the kernel): 1 MiB of
/// queue is more than a sub-millisecond path holds in flight at 10 Gbit/s. Against nginx on
/// 127.0.0.1 a 64 MiB upload ran about 10 % faster than with the kernel's 4 MiB, and nginx
/// spent less CPU per byte; 128 KiB was slower, 384–768 KiB about the same as 512.
pub const UPLOAD_SEND_BUFFER: usize = 512 * 1024;

/// The `SO_RCVBUF` to ask for, given the buffer the socket has now (`current`, as
/// `getsockopt` reports it: doubled) and the system's ceiling for a request (`rmem_max`); or
/// `None` when asking would not make the buffer larger.
fn receive_buffer_to_ask(current: usize, rmem_max: usize) -> Option<usize> {
    let wanted = STREAM_RECEIVE_BUFFER.min(rmem_max);
    (wanted.saturating_mul(2) > current).then_some(wanted)
}

/// The `SO_SNDBUF` to ask for under the system's ceiling for a request (`wmem_max`); `None`
/// when the system would cut it (a stock `wmem_max` of 208 KiB: a smaller buffer measured
/// slower than the kernel's own sizing).
fn send_buffer_to_ask(wmem_max: usize) -> Option<usize> {
    (wmem_max >= UPLOAD_SEND_BUFFER).then_some(UPLOAD_SEND_BUFFER)
}

/// A number from `/proc/sys/net/core/`, read once into `cell`.
#[cfg(target_os = "linux")]
fn core_limit(cell: &'static std::sync::OnceLock<Option<usize>>, name: &str) -> Option<usize> {
    *cell.get_or_init(|| {
        std::fs::read_to_string(format!("/proc/sys/net/core/{name}"))
            .ok()
            .and_then(|text| text.trim().parse().ok())
    })
}

/// The system's ceiling for an `SO_RCVBUF` request.
fn rmem_max() -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        static RMEM_MAX: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
        core_limit(&RMEM_MAX, "rmem_max")
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// The system's ceiling for an `SO_SNDBUF` request.
fn wmem_max() -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        static WMEM_MAX: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
        core_limit(&WMEM_MAX, "wmem_max")
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// Whether `socket`'s connection has a round trip under [`SHORT_PATH_RTT`].
fn is_short_path<S: AsFd>(socket: &S) -> bool {
    smoothed_rtt(socket).is_some_and(|rtt| rtt < SHORT_PATH_RTT)
}

/// `socket` carries a long download: over a short path, raise its receive buffer towards
/// [`STREAM_RECEIVE_BUFFER`] when the system allows more than it has.
pub(super) fn tune_for_download<S: AsFd>(socket: &S) -> io::Result<()> {
    let Some(rmem_max) = rmem_max() else {
        return Ok(());
    };
    if !is_short_path(socket) {
        return Ok(());
    }
    let socket = socket2::SockRef::from(socket);
    match receive_buffer_to_ask(socket.recv_buffer_size()?, rmem_max) {
        Some(size) => socket.set_recv_buffer_size(size),
        None => Ok(()),
    }
}

/// `socket` streams an upload: over a short path, bound its send buffer to
/// [`UPLOAD_SEND_BUFFER`] where the system allows that size.
pub(super) fn tune_for_upload<S: AsFd>(socket: &S) -> io::Result<()> {
    match wmem_max().and_then(send_buffer_to_ask) {
        Some(size) if is_short_path(socket) => {
            socket2::SockRef::from(socket).set_send_buffer_size(size)
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_send_buffer_is_bounded_only_where_the_system_allows_the_whole_size() {
        assert_eq!(
            send_buffer_to_ask(4 * 1024 * 1024),
            Some(UPLOAD_SEND_BUFFER)
        );
        assert_eq!(
            send_buffer_to_ask(UPLOAD_SEND_BUFFER),
            Some(UPLOAD_SEND_BUFFER)
        );
        assert_eq!(send_buffer_to_ask(212_992), None);
    }
}
