//! The errors of `twisted.internet.error`: connection and reactor failures.

use std::error::Error;
use std::fmt;
use std::io;
use std::net::SocketAddr;

/// The connection was closed cleanly (the peer's FIN, or our own `lose_connection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConnectionDone;

impl fmt::Display for ConnectionDone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection was closed cleanly")
    }
}
impl Error for ConnectionDone {}

/// The connection was lost in a non-clean way (reset, I/O error).
#[derive(Debug)]
pub struct ConnectionLost {
    /// The I/O error behind it.
    pub error: io::Error,
}

impl fmt::Display for ConnectionLost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "connection was lost in a non-clean fashion: {}",
            self.error
        )
    }
}
impl Error for ConnectionLost {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.error)
    }
}

/// The connection was aborted by this side (`abort_connection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConnectionAborted;

impl fmt::Display for ConnectionAborted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection was aborted locally")
    }
}
impl Error for ConnectionAborted {}

/// A TCP connection attempt failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectError {
    /// The peer refused the connection (nothing listening).
    ConnectionRefused {
        /// The address tried.
        address: SocketAddr,
    },
    /// The attempt did not finish within the connect timeout.
    Timeout {
        /// The address tried (`None` when the whole endpoint timed out).
        address: Option<SocketAddr>,
        /// The timeout, in seconds.
        seconds: f64,
    },
    /// The attempt was cancelled (Twisted's `ConnectingCancelledError`).
    Cancelled,
    /// Any other failure of `connect`.
    Io {
        /// The address tried.
        address: Option<SocketAddr>,
        /// The error.
        error: io::Error,
    },
    /// Name resolution gave no address to try.
    NoAddresses {
        /// The host name.
        host: String,
    },
    /// Connecting to a Unix-domain socket failed: no such file (`NotFound`), nothing
    /// listening on it (`ConnectionRefused`), no permission, a backlog that is full
    /// (`WouldBlock`), ...
    UnixSocket {
        /// The socket's path.
        path: std::path::PathBuf,
        /// The error.
        error: io::Error,
    },
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::ConnectionRefused { address } => {
                write!(f, "connection refused by {address}")
            }
            ConnectError::Timeout {
                address: Some(a),
                seconds,
            } => write!(f, "connecting to {a} timed out after {seconds} s"),
            ConnectError::Timeout {
                address: None,
                seconds,
            } => write!(f, "connecting timed out after {seconds} s"),
            ConnectError::Cancelled => f.write_str("connecting was cancelled"),
            ConnectError::Io {
                address: Some(a),
                error,
            } => write!(f, "connecting to {a} failed: {error}"),
            ConnectError::Io {
                address: None,
                error,
            } => write!(f, "connecting failed: {error}"),
            ConnectError::NoAddresses { host } => {
                write!(f, "no addresses to connect to for {host:?}")
            }
            ConnectError::UnixSocket { path, error } => {
                write!(
                    f,
                    "connecting to Unix socket {} failed: {error}",
                    path.display()
                )
            }
        }
    }
}

impl Error for ConnectError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ConnectError::Io { error, .. } | ConnectError::UnixSocket { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl ConnectError {
    /// Classify an error from `connect`.
    pub fn from_io(address: SocketAddr, error: io::Error) -> ConnectError {
        if error.kind() == io::ErrorKind::ConnectionRefused {
            ConnectError::ConnectionRefused { address }
        } else {
            ConnectError::Io {
                address: Some(address),
                error,
            }
        }
    }
}

/// A host name could not be resolved (Twisted's `DNSLookupError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DNSLookupError {
    /// The name looked up.
    pub name: String,
    /// What the resolver said.
    pub message: String,
}

impl fmt::Display for DNSLookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DNS lookup failed for {:?}: {}", self.name, self.message)
    }
}
impl Error for DNSLookupError {}

/// Listening on a port failed (Twisted's `CannotListenError`), e.g. the port is in use.
#[derive(Debug)]
pub struct CannotListenError {
    /// The address asked for.
    pub address: SocketAddr,
    /// The error.
    pub error: io::Error,
}

impl fmt::Display for CannotListenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "couldn't listen on {}: {}", self.address, self.error)
    }
}
impl Error for CannotListenError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.error)
    }
}

/// Misuse of the reactor's run state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReactorError {
    /// `stop()` when the reactor is not running (Twisted's `ReactorNotRunning`).
    NotRunning,
    /// `run()` when it already runs (Twisted's `ReactorAlreadyRunning`).
    AlreadyRunning,
}

impl fmt::Display for ReactorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReactorError::NotRunning => f.write_str("can't stop reactor that isn't running"),
            ReactorError::AlreadyRunning => f.write_str("the reactor is already running"),
        }
    }
}
impl Error for ReactorError {}
