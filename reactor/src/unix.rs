//! Unix-domain stream sockets, client side: [`Reactor::connect_unix`] (Twisted's
//! `connectUNIX`) and [`UNIXClientEndpoint`] (Twisted's `UNIXClientEndpoint`).
//!
//! The connection runs on the same transport as TCP ([`StreamTransport`], here
//! [`UnixTransport`]): the same buffers, flow control and close semantics. A Unix-domain
//! `connect` finishes at once — it succeeds, or fails with no such file, nothing listening,
//! no permission, or a full backlog — so there is no connect timeout; the Deferred still fires
//! on a later turn of the loop, and cancelling it before then closes the socket (which is
//! registered with the reactor only when handed over).
//!
//! ```no_run
//! use bytes::Bytes;
//! use reactor::defer::Failure;
//! use reactor::endpoints::UNIXClientEndpoint;
//! use reactor::interfaces::{IProtocol, IStreamClientEndpoint, ITransport};
//! use reactor::Reactor;
//! use std::rc::Rc;
//!
//! struct Printer;
//! impl IProtocol for Printer {
//!     fn make_connection(&self, transport: Rc<dyn ITransport>) {
//!         transport.write(b"GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n");
//!     }
//!     fn data_received(&self, data: Bytes) {
//!         print!("{}", String::from_utf8_lossy(&data));
//!     }
//!     fn connection_lost(&self, _reason: Failure) {}
//! }
//!
//! let reactor = Reactor::new();
//! let endpoint = UNIXClientEndpoint::new(&reactor, "/var/run/docker.sock");
//! let d = endpoint.connect(Rc::new(Printer));
//! ```

use crate::defer::{Deferred, Failure};
use crate::error::ConnectError;
use crate::interfaces::{IConnection, IProtocol, IStreamClientEndpoint};
use crate::tcp::{StreamTransport, UnixTransport};
use crate::Reactor;
use socket2::{Domain, SockAddr, Socket, Type};
use std::cell::RefCell;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;

impl Reactor {
    /// Connect to the Unix-domain stream socket at `path` (Twisted's `connectUNIX`). The
    /// Deferred fires, on a later turn, with the connected transport (no protocol attached
    /// yet: see [`IConnection::attach_protocol`]), or fails with
    /// [`ConnectError::UnixSocket`]; cancelling it first closes the socket and fails it with
    /// [`ConnectError::Cancelled`].
    pub fn connect_unix(&self, path: impl AsRef<Path>) -> Deferred<Rc<UnixTransport>> {
        let path = path.as_ref().to_owned();
        let unix_error = |path: &Path, error| {
            Failure::new(ConnectError::UnixSocket {
                path: path.to_owned(),
                error,
            })
        };
        let stream = match open(&path) {
            Ok(stream) => stream,
            Err(error) => return Deferred::fail(unix_error(&path, error)),
        };
        // Registered only when handed over: cancelling first just closes it.
        let pending = Rc::new(RefCell::new(Some(stream)));
        let on_cancel = pending.clone();
        let result = Deferred::with_canceller(move |d: &Deferred<Rc<UnixTransport>>| {
            if on_cancel.borrow_mut().take().is_some() {
                let _ = d.fire(Err(Failure::new(ConnectError::Cancelled)));
            }
        });
        let (fire, reactor) = (result.clone(), self.clone());
        self.call_soon(move || {
            let taken = pending.borrow_mut().take();
            if let Some(stream) = taken {
                let transport = StreamTransport::new(&reactor, stream, None)
                    .map_err(|error| unix_error(&path, error));
                let _ = fire.fire(transport);
            }
        });
        result
    }
}

/// A non-blocking socket connected to `path`.
fn open(path: &Path) -> io::Result<mio::net::UnixStream> {
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    socket.set_cloexec(true)?;
    socket.connect(&SockAddr::unix(path)?)?;
    let stream = std::os::unix::net::UnixStream::from(socket);
    Ok(mio::net::UnixStream::from_std(stream))
}

/// Connects to one Unix-domain socket path (Twisted's `UNIXClientEndpoint`).
#[derive(Clone)]
pub struct UNIXClientEndpoint {
    reactor: Reactor,
    path: PathBuf,
}

impl UNIXClientEndpoint {
    /// An endpoint for the socket at `path`.
    pub fn new(reactor: &Reactor, path: impl Into<PathBuf>) -> UNIXClientEndpoint {
        UNIXClientEndpoint {
            reactor: reactor.clone(),
            path: path.into(),
        }
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl IStreamClientEndpoint for UNIXClientEndpoint {
    fn connect(&self, protocol: Rc<dyn IProtocol>) -> Deferred<()> {
        self.reactor
            .connect_unix(&self.path)
            .add_callback(move |transport: Rc<UnixTransport>| {
                transport.attach_protocol(protocol);
            })
    }
}

impl fmt::Debug for UNIXClientEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<UNIXClientEndpoint {}>", self.path.display())
    }
}
