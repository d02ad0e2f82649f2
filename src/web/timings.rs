//! [`RequestTimings`]: where the time of one request went, as `curl -w` reports it.
//!
//! Every [`Response`](crate::web::response::Response) from an
//! [`Agent`](crate::web::client::Agent) (and from the agents that wrap one, and treq's
//! [`Response`](crate::response::Response)) carries the timings of the request that produced
//! it, measured on the agent's own clock ([`IAgent::reactor`](crate::web::iweb::IAgent)): the
//! reactor, or the [`Clock`](reactor::task::Clock) a test gave it, so that tests get exact
//! values.
//!
//! ```text
//!  request ─ name lookup ─ TCP connect ─ TLS handshake ─ request sent … first byte ─ body … end
//!  0         time_namelookup time_connect time_appconnect              time_starttransfer time_total
//! ```
//!
//! The first byte and the end are stamped with the time the reactor took up the read that
//! brought them ([`IReactorTime::event_seconds`](reactor::interfaces::IReactorTime)): one
//! reading of the clock for everything one read causes.
//!
//! All times are seconds from the start of the request (when the agent was asked for it). A
//! request sent on a connection from the pool ([`reused`](RequestTimings::reused)) has no name
//! lookup, connect or TLS phase; a request over a Unix socket has no name lookup; a plain
//! `http` request has no TLS phase. The total is known once the body has ended (read with
//! `read_body`, `collect`, `content` or any body protocol); until then it is `None`.
//!
//! A stale pooled connection that the agent replaced transparently leaves the timings of the
//! new connection (not reused), counted from the start of the request.

use reactor::connect_timings::ConnectTimings;
use reactor::interfaces::IReactorTime;
use std::fmt;
use std::rc::Rc;

/// The timings of one request (curl's `-w` variables). Cheap to copy.
///
/// ```
/// use treq::web::timings::RequestTimings;
///
/// let t = RequestTimings::default();
/// assert!(!t.reused());
/// assert_eq!(t.time_total(), None);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RequestTimings {
    /// When the request started, on the agent's clock.
    started: f64,
    /// The end of each phase, on the agent's clock.
    name_resolved: Stamp,
    connected: Stamp,
    tls_established: Stamp,
    first_byte: Stamp,
    ended: Stamp,
    reused: bool,
}

/// A time on the agent's clock, or none: an `f64` with NaN for none, half the size of an
/// `Option<f64>` (the timings travel with every request, by value).
#[derive(Clone, Copy)]
struct Stamp(f64);

impl Stamp {
    const NONE: Stamp = Stamp(f64::NAN);

    fn get(self) -> Option<f64> {
        (!self.0.is_nan()).then_some(self.0)
    }

    fn of(time: Option<f64>) -> Stamp {
        time.map_or(Stamp::NONE, Stamp)
    }
}

impl Default for Stamp {
    fn default() -> Stamp {
        Stamp::NONE
    }
}

impl PartialEq for Stamp {
    fn eq(&self, other: &Stamp) -> bool {
        self.get() == other.get()
    }
}

impl fmt::Debug for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}

impl RequestTimings {
    fn since_start(&self, at: Stamp) -> Option<f64> {
        at.get().map(|t| t - self.started)
    }

    /// When the request started, in seconds of the agent's clock
    /// ([`IReactorTime::seconds`]).
    pub fn started_at(&self) -> f64 {
        self.started
    }

    /// Whether the request went out on a connection taken from the pool (then there is no
    /// name lookup, connect or TLS phase).
    pub fn reused(&self) -> bool {
        self.reused
    }

    /// Seconds from the start until the host name was resolved (curl's `time_namelookup`).
    pub fn time_namelookup(&self) -> Option<f64> {
        self.since_start(self.name_resolved)
    }

    /// Seconds from the start until the connection was up (curl's `time_connect`).
    pub fn time_connect(&self) -> Option<f64> {
        self.since_start(self.connected)
    }

    /// Seconds from the start until the TLS handshake finished (curl's `time_appconnect`).
    pub fn time_appconnect(&self) -> Option<f64> {
        self.since_start(self.tls_established)
    }

    /// Seconds from the start until the first byte of the response arrived (curl's
    /// `time_starttransfer`; the same as [`time_to_first_byte`](Self::time_to_first_byte)).
    pub fn time_starttransfer(&self) -> Option<f64> {
        self.since_start(self.first_byte)
    }

    /// Seconds from the start until the body had ended (curl's `time_total`; the same as
    /// [`total`](Self::total)). `None` until then.
    pub fn time_total(&self) -> Option<f64> {
        self.since_start(self.ended)
    }

    /// How long the name lookup took (it starts with the request).
    pub fn name_lookup(&self) -> Option<f64> {
        self.time_namelookup()
    }

    /// How long the connect itself took: from the end of the name lookup (or the start, with
    /// none) until the connection was up.
    pub fn connect(&self) -> Option<f64> {
        let connected = self.connected.get()?;
        Some(connected - self.name_resolved.get().unwrap_or(self.started))
    }

    /// How long the TLS handshake took, from the connection being up until it finished.
    pub fn tls_handshake(&self) -> Option<f64> {
        Some(self.tls_established.get()? - self.connected.get()?)
    }

    /// Seconds from the start until the first byte of the response arrived (TTFB).
    pub fn time_to_first_byte(&self) -> Option<f64> {
        self.time_starttransfer()
    }

    /// Seconds from the start until the body had ended. `None` until then.
    pub fn total(&self) -> Option<f64> {
        self.time_total()
    }
}

impl fmt::Display for RequestTimings {
    /// curl's names and values, in seconds: `namelookup=0.000012 connect=... total=...`, with
    /// `-` for a phase that did not happen.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phases = [
            ("namelookup", self.time_namelookup()),
            ("connect", self.time_connect()),
            ("appconnect", self.time_appconnect()),
            ("starttransfer", self.time_starttransfer()),
            ("total", self.time_total()),
        ];
        for (name, value) in phases {
            match value {
                Some(v) => write!(f, "{name}={v:.6} ")?,
                None => write!(f, "{name}=- ")?,
            }
        }
        write!(f, "reused={}", self.reused)
    }
}

/// Stamps the phases of one request on the agent's clock, from the agent (start, connection)
/// through the protocol (first byte) to the body (end).
#[derive(Clone)]
pub(crate) struct RequestTimer {
    clock: Rc<dyn IReactorTime>,
    timings: RequestTimings,
    /// The connect phases of a new connection, read at the first byte (the TLS handshake ends
    /// after the connect).
    connect: Option<Rc<ConnectTimings>>,
}

impl RequestTimer {
    /// A request that started at `started` on `clock`.
    pub(crate) fn started_at(clock: Rc<dyn IReactorTime>, started: f64) -> RequestTimer {
        RequestTimer {
            clock,
            timings: RequestTimings {
                started,
                ..RequestTimings::default()
            },
            connect: None,
        }
    }

    /// The request goes out on a connection from the pool.
    pub(crate) fn on_reused_connection(&mut self) {
        self.timings.reused = true;
        self.connect = None;
    }

    /// The request goes out on a new connection whose connect was stamped in `timings`.
    pub(crate) fn on_new_connection(&mut self, timings: Rc<ConnectTimings>) {
        self.timings.reused = false;
        self.connect = Some(timings);
    }

    /// The first byte of the response arrived.
    pub(crate) fn first_byte(&mut self) {
        self.timings.first_byte = Stamp(self.clock.event_seconds());
        if let Some(connect) = self.connect.take() {
            self.timings.name_resolved = Stamp::of(connect.name_resolved());
            self.timings.connected = Stamp::of(connect.connected());
            self.timings.tls_established = Stamp::of(connect.tls_established());
        }
    }

    /// The timings so far.
    pub(crate) fn timings(&self) -> RequestTimings {
        self.timings
    }

    /// The body ended (the first call counts).
    pub(crate) fn end(&mut self) {
        if self.timings.ended.get().is_none() {
            self.timings.ended = Stamp(self.clock.event_seconds());
        }
    }
}

reactor::impl_into_outcome!(RequestTimings);
