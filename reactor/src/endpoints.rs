//! Client endpoints (`twisted.internet.endpoints`): [`HostnameEndpoint`] with happy eyeballs,
//! [`TCP4ClientEndpoint`], and (on Unix) `UNIXClientEndpoint` for a Unix-domain socket path.

use crate::connect_timings::ConnectTimings;
use crate::defer::{Deferred, Failure};
use crate::error::ConnectError;
use crate::interfaces::{
    IConnection, IProtocol, IReactorTCP, IReactorTime, IResolver, IStreamClientEndpoint,
};
use crate::timer::DelayedCall;
use crate::Reactor;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;

/// Connects to a Unix-domain socket path (Twisted's `UNIXClientEndpoint`).
#[cfg(unix)]
pub use crate::unix::UNIXClientEndpoint;

/// Default connect timeout, seconds (Twisted's 30).
pub const DEFAULT_CONNECT_TIMEOUT: f64 = 30.0;
/// Delay between starting connection attempts to successive addresses (Twisted's 0.3 s).
pub const ATTEMPT_DELAY: f64 = 0.3;

/// Connects to a host name (Twisted's `HostnameEndpoint`): the name is converted with IDNA and
/// resolved off the reactor thread; the addresses are tried as RFC 8305 "happy eyeballs" do —
/// families interleaved, a new attempt every 0.3 s while earlier ones are pending (at once when
/// one fails), the first to connect wins and the others are cancelled. If all fail, the last
/// failure is reported; the whole attempt, resolution included, is bounded by the timeout.
///
/// ```no_run
/// use reactor::endpoints::HostnameEndpoint;
/// use reactor::Reactor;
///
/// let reactor = Reactor::default();
/// let endpoint = HostnameEndpoint::new(&reactor, "localhost", 8080).timeout(5.0);
/// ```
#[derive(Clone)]
pub struct HostnameEndpoint {
    clock: Rc<dyn IReactorTime>,
    tcp: Rc<dyn IReactorTCP>,
    resolver: Rc<dyn IResolver>,
    host: String,
    port: u16,
    timeout: f64,
    bind_address: Option<SocketAddr>,
    ipv4_only: bool,
    attempt_delay: f64,
    /// The address itself when `host` is an IP literal and the reactor is the resolver (made
    /// by [`new`](Self::new)): there is nothing to look up and one address to try, so
    /// `connect` goes straight to it.
    literal: Option<SocketAddr>,
}

impl HostnameEndpoint {
    /// An endpoint for `host:port` on `reactor`.
    pub fn new(reactor: &Reactor, host: &str, port: u16) -> HostnameEndpoint {
        let r = Rc::new(reactor.clone());
        let mut endpoint = HostnameEndpoint::with_parts(r.clone(), r.clone(), r, host, port);
        // Brackets off, as `host_to_ascii` does for literals; a name is not parsed further.
        endpoint.literal = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, port));
        endpoint
    }

    /// An endpoint with its time, TCP and resolver supplied separately (for tests: a
    /// [`Clock`](crate::task::Clock) and fakes).
    pub fn with_parts(
        clock: Rc<dyn IReactorTime>,
        tcp: Rc<dyn IReactorTCP>,
        resolver: Rc<dyn IResolver>,
        host: &str,
        port: u16,
    ) -> HostnameEndpoint {
        HostnameEndpoint {
            clock,
            tcp,
            resolver,
            host: host.to_string(),
            port,
            timeout: DEFAULT_CONNECT_TIMEOUT,
            bind_address: None,
            ipv4_only: false,
            attempt_delay: ATTEMPT_DELAY,
            literal: None,
        }
    }

    /// The connect timeout in seconds (default 30).
    pub fn timeout(mut self, seconds: f64) -> HostnameEndpoint {
        self.timeout = seconds;
        self
    }

    /// Bind the local side of the connection to this address first.
    pub fn bind_address(mut self, address: SocketAddr) -> HostnameEndpoint {
        self.bind_address = Some(address);
        self
    }

    /// The host name this endpoint connects to.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port this endpoint connects to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connect and return the connection without attaching a protocol.
    pub fn connect_connection(&self) -> Deferred<Rc<dyn IConnection>> {
        self.connect_with(None)
    }

    /// [`connect_connection`](Self::connect_connection), stamping in `timings` when the name
    /// was resolved and when the winning address connected.
    pub fn connect_connection_timed(
        &self,
        timings: &Rc<ConnectTimings>,
    ) -> Deferred<Rc<dyn IConnection>> {
        self.connect_with(Some(timings.clone()))
    }

    fn connect_with(&self, timings: Option<Rc<ConnectTimings>>) -> Deferred<Rc<dyn IConnection>> {
        match self.literal {
            Some(address) if !(self.ipv4_only && address.is_ipv6()) => {
                self.connect_literal(address, timings)
            }
            _ => Attempts::start(self.clone(), timings),
        }
    }

    /// Connect to an IP literal: no resolution, no other address to race, so no attempt
    /// bookkeeping and no timers beyond the connect's own timeout (the same `timeout`).
    fn connect_literal(
        &self,
        address: SocketAddr,
        timings: Option<Rc<ConnectTimings>>,
    ) -> Deferred<Rc<dyn IConnection>> {
        if let Some(timings) = &timings {
            timings.mark_name_resolved();
        }
        let attempt = self
            .tcp
            .connect_tcp_address(address, self.timeout, self.bind_address);
        match timings {
            Some(timings) => attempt.add_callback(move |connection: Rc<dyn IConnection>| {
                timings.mark_connected();
                Ok(connection)
            }),
            None => attempt,
        }
    }
}

impl IStreamClientEndpoint for HostnameEndpoint {
    fn connect(&self, protocol: Rc<dyn IProtocol>) -> Deferred<()> {
        self.connect_connection()
            .add_callback(move |connection: Rc<dyn IConnection>| {
                connection.attach_protocol(protocol);
            })
    }

    fn connect_timed(
        &self,
        protocol: Rc<dyn IProtocol>,
        timings: &Rc<ConnectTimings>,
    ) -> Deferred<()> {
        self.connect_connection_timed(timings).add_callback(
            move |connection: Rc<dyn IConnection>| {
                connection.attach_protocol(protocol);
            },
        )
    }
}

impl fmt::Debug for HostnameEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<HostnameEndpoint {}:{}>", self.host, self.port)
    }
}

/// Connects to IPv4 addresses of a host, one at a time (Twisted's `TCP4ClientEndpoint`).
#[derive(Clone, Debug)]
pub struct TCP4ClientEndpoint {
    inner: HostnameEndpoint,
}

impl TCP4ClientEndpoint {
    /// An endpoint for `host:port`; `timeout` in seconds.
    pub fn new(
        reactor: &Reactor,
        host: &str,
        port: u16,
        timeout: f64,
        bind_address: Option<SocketAddr>,
    ) -> TCP4ClientEndpoint {
        let mut inner = HostnameEndpoint::new(reactor, host, port).timeout(timeout);
        inner.bind_address = bind_address;
        inner.ipv4_only = true;
        inner.attempt_delay = f64::INFINITY;
        TCP4ClientEndpoint { inner }
    }
}

impl IStreamClientEndpoint for TCP4ClientEndpoint {
    fn connect(&self, protocol: Rc<dyn IProtocol>) -> Deferred<()> {
        self.inner.connect(protocol)
    }

    fn connect_timed(
        &self,
        protocol: Rc<dyn IProtocol>,
        timings: &Rc<ConnectTimings>,
    ) -> Deferred<()> {
        self.inner.connect_timed(protocol, timings)
    }
}

/// One address being tried: its id and its Deferred.
type ConnectionAttempt = Deferred<Rc<dyn IConnection>>;

/// The state of one `connect` of a [`HostnameEndpoint`].
struct Attempts {
    endpoint: HostnameEndpoint,
    result: Deferred<Rc<dyn IConnection>>,
    resolution: RefCell<Option<Deferred<Vec<SocketAddr>>>>,
    addresses: RefCell<VecDeque<SocketAddr>>,
    pending: RefCell<Vec<(usize, ConnectionAttempt)>>,
    next_id: Cell<usize>,
    next_attempt: RefCell<Option<DelayedCall>>,
    deadline: RefCell<Option<DelayedCall>>,
    last_failure: RefCell<Option<Failure>>,
    done: Cell<bool>,
    /// Where to stamp the end of the resolution and of the connect, if anywhere.
    timings: Option<Rc<ConnectTimings>>,
}

impl Attempts {
    fn start(
        endpoint: HostnameEndpoint,
        timings: Option<Rc<ConnectTimings>>,
    ) -> Deferred<Rc<dyn IConnection>> {
        let slot: Rc<RefCell<Option<Rc<Attempts>>>> = Rc::new(RefCell::new(None));
        let canceller_slot = slot.clone();
        let result = Deferred::with_canceller(move |_| {
            let taken = canceller_slot.borrow_mut().take();
            if let Some(me) = taken {
                me.fail(Failure::new(ConnectError::Cancelled));
            }
        });
        let me = Rc::new(Attempts {
            endpoint,
            result: result.clone(),
            resolution: RefCell::new(None),
            addresses: RefCell::new(VecDeque::new()),
            pending: RefCell::new(Vec::new()),
            next_id: Cell::new(0),
            next_attempt: RefCell::new(None),
            deadline: RefCell::new(None),
            last_failure: RefCell::new(None),
            done: Cell::new(false),
            timings,
        });
        *slot.borrow_mut() = Some(me.clone());
        let timeout = me.endpoint.timeout;
        let on_deadline = me.clone();
        let deadline = me.endpoint.clock.call_later(
            timeout,
            Box::new(move || {
                on_deadline.fail(Failure::new(ConnectError::Timeout {
                    address: None,
                    seconds: timeout,
                }))
            }),
        );
        *me.deadline.borrow_mut() = Some(deadline);
        let resolution = me
            .endpoint
            .resolver
            .resolve_host_name(&me.endpoint.host, me.endpoint.port);
        *me.resolution.borrow_mut() = Some(resolution.clone());
        let on_resolved = me.clone();
        resolution.add_both(move |resolved: Result<Vec<SocketAddr>, Failure>| {
            on_resolved.resolution.borrow_mut().take();
            match resolved {
                Ok(addresses) => on_resolved.resolved(addresses),
                Err(failure) => on_resolved.fail(failure),
            }
        });
        // Drop the canceller's hold once settled, so nothing keeps the attempts alive.
        result.clone().add_both(move |r| {
            slot.borrow_mut().take();
            r
        })
    }

    fn resolved(self: &Rc<Self>, addresses: Vec<SocketAddr>) {
        if self.done.get() {
            return;
        }
        if let Some(timings) = &self.timings {
            timings.mark_name_resolved();
        }
        let addresses: Vec<SocketAddr> = if self.endpoint.ipv4_only {
            addresses.into_iter().filter(|a| a.is_ipv4()).collect()
        } else {
            addresses
        };
        if addresses.is_empty() {
            self.fail(Failure::new(ConnectError::NoAddresses {
                host: self.endpoint.host.clone(),
            }));
            return;
        }
        *self.addresses.borrow_mut() = interleave(addresses);
        self.start_next();
    }

    fn start_next(self: &Rc<Self>) {
        if self.done.get() {
            return;
        }
        let taken = self.next_attempt.borrow_mut().take();
        if let Some(timer) = taken {
            let _ = timer.cancel();
        }
        let Some(address) = self.addresses.borrow_mut().pop_front() else {
            return;
        };
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let attempt = self.endpoint.tcp.connect_tcp_address(
            address,
            self.endpoint.timeout,
            self.endpoint.bind_address,
        );
        self.pending.borrow_mut().push((id, attempt.clone()));
        let me = self.clone();
        attempt.add_both(move |result| me.attempt_finished(id, result));
        if !self.addresses.borrow().is_empty() && self.endpoint.attempt_delay.is_finite() {
            let me = self.clone();
            let timer = self.endpoint.clock.call_later(
                self.endpoint.attempt_delay,
                Box::new(move || me.start_next()),
            );
            *self.next_attempt.borrow_mut() = Some(timer);
        }
    }

    fn attempt_finished(self: &Rc<Self>, id: usize, result: Result<Rc<dyn IConnection>, Failure>) {
        self.pending.borrow_mut().retain(|(i, _)| *i != id);
        if self.done.get() {
            if let Ok(connection) = result {
                connection.abort_connection();
            }
            return;
        }
        match result {
            Ok(connection) => {
                self.settle();
                if let Some(timings) = &self.timings {
                    timings.mark_connected();
                }
                let _ = self.result.callback(connection);
            }
            Err(failure) => {
                *self.last_failure.borrow_mut() = Some(failure);
                if !self.addresses.borrow().is_empty() {
                    self.start_next();
                } else if self.pending.borrow().is_empty() && self.next_attempt.borrow().is_none() {
                    let failure = self.last_failure.borrow_mut().take().expect("just set");
                    self.fail(failure);
                }
            }
        }
    }

    /// Stop everything still going: timers, resolution, other attempts.
    fn settle(&self) {
        self.done.set(true);
        for timer in [self.next_attempt.take(), self.deadline.take()]
            .into_iter()
            .flatten()
        {
            let _ = timer.cancel();
        }
        let taken = self.resolution.borrow_mut().take();
        if let Some(resolution) = taken {
            resolution.cancel();
        }
        let pending = std::mem::take(&mut *self.pending.borrow_mut());
        for (_, attempt) in pending {
            attempt.cancel();
        }
    }

    fn fail(&self, failure: Failure) {
        if self.done.get() {
            return;
        }
        self.settle();
        let _ = self.result.errback(failure);
    }
}

/// Alternate address families, keeping each family's order and starting with the family of the
/// first address (RFC 8305 section 4).
fn interleave(addresses: Vec<SocketAddr>) -> VecDeque<SocketAddr> {
    let first_v6 = addresses.first().is_some_and(|a| a.is_ipv6());
    let (mut primary, mut secondary): (VecDeque<_>, VecDeque<_>) =
        addresses.into_iter().partition(|a| a.is_ipv6() == first_v6);
    let mut out = VecDeque::new();
    loop {
        match (primary.pop_front(), secondary.pop_front()) {
            (None, None) => return out,
            (a, b) => out.extend(a.into_iter().chain(b)),
        }
    }
}

impl IReactorTCP for Reactor {
    fn connect_tcp_address(
        &self,
        address: SocketAddr,
        timeout: f64,
        bind_address: Option<SocketAddr>,
    ) -> Deferred<Rc<dyn IConnection>> {
        crate::tcp::connect(self, address, timeout, bind_address)
            .add_callback(|transport| Ok(transport as Rc<dyn IConnection>))
    }
}

#[cfg(test)]
mod tests {
    use super::interleave;
    use std::net::SocketAddr;

    #[test]
    fn interleaves_families_starting_with_the_first() {
        let a: Vec<SocketAddr> = ["[::1]:1", "[::2]:1", "10.0.0.1:1", "[::3]:1", "10.0.0.2:1"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let order: Vec<String> = interleave(a).iter().map(|a| a.to_string()).collect();
        assert_eq!(
            order,
            ["[::1]:1", "10.0.0.1:1", "[::2]:1", "10.0.0.2:1", "[::3]:1"]
        );
    }
}
