//! The sockets a [`StreamTransport`](super::StreamTransport) can drive: what each kind
//! sets up once connected, how it names its ends, aborts, and tunes its buffers.

use super::buffer_tuning::{tune_for_download, tune_for_upload};
use mio::event::Source;
use mio::net::TcpStream;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::AsFd;

/// A connected stream socket a [`StreamTransport`](super::StreamTransport) can drive: mio's `TcpStream` and (on Unix)
/// `UnixStream`.
pub trait SocketStream: Read + Write + Source + AsFd + 'static {
    /// What the transport prints itself as (`TcpTransport`, `UnixTransport`).
    const NAME: &'static str;
    /// Set the socket up once connected (`TCP_NODELAY` for TCP).
    fn configure(&self);
    /// The peer's IP address, where the socket has one; `peer` is the peer's when the caller
    /// already knows it (connected to or accepted from), saving a syscall.
    fn peer_address(&self, peer: Option<SocketAddr>) -> Option<SocketAddr>;
    /// Our own IP address, where the socket has one (asked only when someone wants it).
    fn local_address(&self) -> Option<SocketAddr>;
    /// Make the coming close an abort (an RST for TCP; a Unix socket just closes).
    fn prepare_abort(&self);
    /// The socket carries a long download (its reads keep filling the largest buffer). TCP
    /// over a short path raises its receive buffer towards
    /// [`STREAM_RECEIVE_BUFFER`](super::STREAM_RECEIVE_BUFFER); by default nothing changes.
    fn tune_for_download(&self) -> io::Result<()> {
        Ok(())
    }
    /// A producer streams through the socket faster than it sends. TCP over a short path
    /// bounds its send buffer to [`UPLOAD_SEND_BUFFER`](super::UPLOAD_SEND_BUFFER); by
    /// default nothing changes.
    fn tune_for_upload(&self) -> io::Result<()> {
        Ok(())
    }
}

impl SocketStream for TcpStream {
    const NAME: &'static str = "TcpTransport";

    fn configure(&self) {
        let _ = self.set_nodelay(true);
    }

    fn peer_address(&self, peer: Option<SocketAddr>) -> Option<SocketAddr> {
        peer.or_else(|| self.peer_addr().ok())
    }

    fn local_address(&self) -> Option<SocketAddr> {
        self.local_addr().ok()
    }

    fn prepare_abort(&self) {
        // RST instead of FIN, as Twisted's abortConnection.
        let _ = socket2::SockRef::from(self).set_linger(Some(std::time::Duration::ZERO));
    }

    fn tune_for_download(&self) -> io::Result<()> {
        tune_for_download(self)
    }

    fn tune_for_upload(&self) -> io::Result<()> {
        tune_for_upload(self)
    }
}

#[cfg(unix)]
impl SocketStream for mio::net::UnixStream {
    const NAME: &'static str = "UnixTransport";

    fn configure(&self) {}

    fn peer_address(&self, _peer: Option<SocketAddr>) -> Option<SocketAddr> {
        None
    }

    fn local_address(&self) -> Option<SocketAddr> {
        None
    }

    fn prepare_abort(&self) {}
}
