//! [`ConnectTimings`]: when the phases of one connect ended (name resolution, TCP connect, TLS
//! handshake), stamped on a caller's clock.
//!
//! A client that wants to know where the time of a connect went makes one `ConnectTimings` per
//! connect and passes it to [`IStreamClientEndpoint::connect_timed`]. Each endpoint stamps the
//! phases it performs: [`HostnameEndpoint`](crate::endpoints::HostnameEndpoint) the end of the
//! name resolution and of the TCP connect, the endpoint of
//! [`wrap_client_tls`](crate::tls::wrap_client_tls) the end of the handshake (which comes
//! after the connect's Deferred has fired, with the first bytes exchanged). An endpoint that
//! does not stamp anything (a Unix socket, an in-memory one) leaves the phases empty, and the
//! caller stamps [`connected`](ConnectTimings::mark_connected) itself when the connect fires.
//!
//! ```
//! use reactor::connect_timings::ConnectTimings;
//! use reactor::task::Clock;
//! use std::rc::Rc;
//!
//! let clock = Rc::new(Clock::new());
//! let timings = ConnectTimings::new(clock.clone());
//! clock.advance(0.25);
//! timings.mark_name_resolved();
//! clock.advance(0.5);
//! timings.mark_connected();
//! timings.mark_connected(); // the first stamp of a phase stays
//! assert_eq!(timings.name_resolved(), Some(0.25));
//! assert_eq!(timings.connected(), Some(0.75));
//! assert_eq!(timings.tls_established(), None);
//! ```
//!
//! [`IStreamClientEndpoint::connect_timed`]: crate::interfaces::IStreamClientEndpoint::connect_timed

use crate::interfaces::IReactorTime;
use std::cell::Cell;
use std::fmt;
use std::rc::Rc;

/// The times (in [`IReactorTime::seconds`] of one clock) at which the phases of one connect
/// ended. Each phase is stamped once: a later stamp of the same phase (a second address tried
/// by happy eyeballs, say) is ignored.
pub struct ConnectTimings {
    clock: Rc<dyn IReactorTime>,
    name_resolved: Cell<Option<f64>>,
    connected: Cell<Option<f64>>,
    tls_established: Cell<Option<f64>>,
}

impl ConnectTimings {
    /// Empty timings, stamped on `clock`.
    pub fn new(clock: Rc<dyn IReactorTime>) -> Rc<ConnectTimings> {
        Rc::new(ConnectTimings {
            clock,
            name_resolved: Cell::new(None),
            connected: Cell::new(None),
            tls_established: Cell::new(None),
        })
    }

    fn stamp(&self, phase: &Cell<Option<f64>>) {
        if phase.get().is_none() {
            phase.set(Some(self.clock.seconds()));
        }
    }

    /// The host name has been resolved to addresses.
    pub fn mark_name_resolved(&self) {
        self.stamp(&self.name_resolved);
    }

    /// The transport connection (TCP, or a Unix socket) is up.
    pub fn mark_connected(&self) {
        self.stamp(&self.connected);
    }

    /// The TLS handshake has finished.
    pub fn mark_tls_established(&self) {
        self.stamp(&self.tls_established);
    }

    /// When the name was resolved, if it was (not for a Unix socket).
    pub fn name_resolved(&self) -> Option<f64> {
        self.name_resolved.get()
    }

    /// When the connection was up.
    pub fn connected(&self) -> Option<f64> {
        self.connected.get()
    }

    /// When the TLS handshake finished, for a TLS connection whose handshake has.
    pub fn tls_established(&self) -> Option<f64> {
        self.tls_established.get()
    }
}

impl fmt::Debug for ConnectTimings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectTimings")
            .field("name_resolved", &self.name_resolved.get())
            .field("connected", &self.connected.get())
            .field("tls_established", &self.tls_established.get())
            .finish()
    }
}
