//! [`Case`]: one fault case on its own reactor, pool and agent, with bounded waits and the
//! file-descriptor and pool checks every case ends with.

use super::FaultServer;
use bytes::Bytes;
use reactor::defer::{Deferred, Failure};
use reactor::Reactor;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};
use treq::web::client::{read_body, Agent, HTTPConnectionPool, PoolKey};
use treq::web::error::{
    RequestGenerationFailed, RequestTransmissionFailed, ResponseFailed, ResponseNeverReceived,
};
use treq::web::http11::ProtocolError;
use treq::web::iweb::IAgent;
use treq::web::response::Response;

/// Cases of one test binary share the process's fd table: they run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// The longest any wait for the client may take before the case fails as a hang.
pub const HANG_BOUND: f64 = 5.0;

/// The number of open file descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .count()
}

/// The socket inodes among this process's open descriptors.
fn socket_inodes() -> Vec<u64> {
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_str()?.to_owned();
            target
                .strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()
        })
        .collect()
}

/// How many of this process's open TCP sockets are connected to `port` on the remote side:
/// the client's connections to a server on that port.
pub fn client_sockets(port: u16) -> usize {
    let ours = socket_inodes();
    let table = std::fs::read_to_string("/proc/self/net/tcp").expect("read /proc/self/net/tcp");
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let remote_port = fields
                .get(2)
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            let inode = fields.get(9).and_then(|i| i.parse::<u64>().ok());
            remote_port == Some(port) && inode.is_some_and(|i| i != 0 && ours.contains(&i))
        })
        .count()
}

/// One fault case: a fresh reactor, a persistent pool and an agent using it.
///
/// Bind it first in the test (`let case = Case::new();`) so that it is dropped last: it holds
/// the lock that keeps cases apart until everything else the test made is gone.
pub struct Case {
    /// The case's reactor.
    pub reactor: Reactor,
    /// A persistent pool, retrying automatically (Twisted's defaults).
    pub pool: HTTPConnectionPool,
    /// An agent on `pool`.
    pub agent: Agent,
    fds_before: usize,
    _serial: MutexGuard<'static, ()>,
}

impl Case {
    /// Start a case: take the serial lock, make the reactor, count descriptors.
    pub fn new() -> Case {
        let serial = SERIAL
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let reactor = Reactor::new();
        let pool = HTTPConnectionPool::new(&reactor, true);
        let agent = Agent::new(&reactor).pool(pool.clone());
        let fds_before = open_fds();
        Case {
            reactor,
            pool,
            agent,
            fds_before,
            _serial: serial,
        }
    }

    /// Use `pool` (and a new agent on it) instead of the default pool.
    pub fn use_pool(&mut self, pool: HTTPConnectionPool) {
        self.agent = Agent::new(&self.reactor).pool(pool.clone());
        self.pool = pool;
    }

    /// Run the reactor until `d` fires and return its result; a Deferred that has not fired
    /// after [`HANG_BOUND`] seconds fails the case.
    pub fn run<T: 'static>(&self, d: Deferred<T>) -> Result<T, Failure> {
        let result = Rc::new(RefCell::new(None));
        let (r, stopper) = (result.clone(), self.reactor.clone());
        d.add_both(move |outcome: Result<T, Failure>| {
            *r.borrow_mut() = Some(outcome);
            let _ = stopper.stop();
        });
        if result.borrow().is_none() {
            let stopper = self.reactor.clone();
            let bound = self.reactor.call_later(HANG_BOUND, move || {
                let _ = stopper.stop();
            });
            self.reactor.run().unwrap();
            let _ = bound.cancel();
        }
        let outcome = result.borrow_mut().take();
        outcome.unwrap_or_else(|| panic!("the client hung: no result after {HANG_BOUND} s"))
    }

    /// Run the reactor until `done()` holds, checking every few milliseconds, for at most
    /// `seconds`. Returns whether it held.
    pub fn run_until(&self, seconds: f64, done: impl Fn() -> bool + 'static) -> bool {
        if done() {
            return true;
        }
        let deadline = Instant::now() + Duration::from_secs_f64(seconds);
        let done = Rc::new(done);
        fn poll(reactor: Reactor, deadline: Instant, done: Rc<dyn Fn() -> bool>) {
            if done() || Instant::now() >= deadline {
                let _ = reactor.stop();
                return;
            }
            let r = reactor.clone();
            reactor.call_later(0.005, move || poll(r, deadline, done));
        }
        let r = self.reactor.clone();
        let d = done.clone();
        self.reactor.call_later(0.0, move || poll(r, deadline, d));
        self.reactor.run().unwrap();
        done()
    }

    /// Run the reactor for `seconds` of real time (to let closes and late bytes arrive).
    pub fn spin(&self, seconds: f64) {
        self.run_until(seconds, || false);
    }

    /// `method url` through the agent, then the whole body.
    pub fn fetch(
        &self,
        method: &str,
        url: &str,
    ) -> Result<(Response, Result<Bytes, Failure>), Failure> {
        let response = self.run(self.agent.request(method, url, None, None))?;
        let body = self.run(read_body(&response));
        Ok((response, body))
    }

    /// `GET url`, expecting a response and a complete body.
    pub fn get_ok(&self, url: &str) -> (u16, Bytes) {
        let (response, body) = self
            .fetch("GET", url)
            .unwrap_or_else(|f| panic!("GET {url} failed: {f}"));
        let body = body.unwrap_or_else(|f| panic!("reading the body of {url} failed: {f}"));
        (response.code, body)
    }

    /// The pool key of `server`.
    pub fn key(&self, server: &FaultServer) -> PoolKey {
        ("http".to_owned(), "127.0.0.1".to_owned(), server.port())
    }

    /// End the case: the pool must hold exactly `idle` connections for `server` (0 after a
    /// fault: a broken connection must never be pooled); then the pool is emptied, the server
    /// stopped, and every descriptor opened during the case must be closed again.
    pub fn finish(&self, server: FaultServer, idle: usize) {
        let key = self.key(&server);
        // Let a connection the client has just closed finish closing first.
        self.spin(0.05);
        assert_eq!(
            self.pool.idle_count(&key),
            idle,
            "idle connections in the pool after the case"
        );
        self.run(self.pool.close_cached_connections())
            .expect("closing cached connections");
        // While the server still holds its side open, every client socket must be closed by
        // the client itself.
        let port = server.port();
        let closed = self.run_until(2.0, move || client_sockets(port) == 0);
        assert!(
            closed,
            "{} client connection(s) to the server left open",
            client_sockets(port)
        );
        server.stop();
        let before = self.fds_before;
        let settled = self.run_until(2.0, move || open_fds() == before);
        assert!(
            settled,
            "file descriptors leaked: {} open before the case, {} after",
            before,
            open_fds()
        );
    }
}

/// The [`ProtocolError`] somewhere in `failure`'s reasons, if any.
pub fn protocol_error(failure: &Failure) -> Option<ProtocolError> {
    if let Some(e) = failure.value::<ProtocolError>() {
        return Some(e.clone());
    }
    let reasons = if let Some(e) = failure.value::<ResponseFailed>() {
        &e.reasons
    } else if let Some(e) = failure.value::<ResponseNeverReceived>() {
        &e.reasons
    } else if let Some(e) = failure.value::<RequestGenerationFailed>() {
        &e.reasons
    } else if let Some(e) = failure.value::<RequestTransmissionFailed>() {
        &e.reasons
    } else {
        return None;
    };
    reasons.iter().find_map(protocol_error)
}
