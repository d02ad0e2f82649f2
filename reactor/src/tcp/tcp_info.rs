//! The kernel's smoothed round-trip time of a TCP connection (`TCP_INFO`): the other place
//! the reactor uses `unsafe` (beside `spare_read.rs`), because neither std nor socket2 reads
//! `TCP_INFO`.
//!
//! The transport asks it once per connection, when the connection turns out to carry a bulk
//! transfer, to decide whether the kernel's own buffer sizing needs help (see
//! `buffer_tuning.rs`).

use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

/// The smoothed round-trip time the kernel keeps for the connection `socket`, or `None` where
/// it cannot be read (not a TCP socket, not Linux).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub(super) fn smoothed_rtt<S: AsFd>(socket: &S) -> Option<Duration> {
    let mut info = std::mem::MaybeUninit::<libc::tcp_info>::zeroed();
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: `info` is writable memory of `len` bytes, zero-initialised; getsockopt writes at
    // most `len` bytes there and reports how many in `len`. The descriptor is borrowed from
    // `socket`, so it stays open during the call.
    let status = unsafe {
        libc::getsockopt(
            socket.as_fd().as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    };
    // The RTT field sits well inside the struct every kernel since 2.6 fills in.
    let filled = len as usize >= std::mem::offset_of!(libc::tcp_info, tcpi_rttvar);
    if status != 0 || !filled {
        return None;
    }
    // SAFETY: zero-initialised memory, partly overwritten by the kernel: every bit pattern is
    // a valid tcp_info (plain integers).
    let info = unsafe { info.assume_init() };
    Some(Duration::from_micros(u64::from(info.tcpi_rtt)))
}

/// Not read outside Linux.
#[cfg(not(target_os = "linux"))]
pub(super) fn smoothed_rtt<S: AsFd>(_socket: &S) -> Option<Duration> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::smoothed_rtt;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    #[test]
    fn a_loopback_connection_reports_its_round_trip() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        // A few exchanges give the kernel samples.
        let mut byte = [0u8; 1];
        for _ in 0..5 {
            client.write_all(b"x").unwrap();
            server.read_exact(&mut byte).unwrap();
            server.write_all(b"y").unwrap();
            client.read_exact(&mut byte).unwrap();
        }
        let rtt = smoothed_rtt(&client).expect("TCP_INFO on a TCP socket");
        assert!(rtt < Duration::from_millis(100), "{rtt:?}");
    }

    #[test]
    fn a_socket_that_is_not_tcp_has_no_round_trip() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        assert_eq!(smoothed_rtt(&a), None);
    }
}
