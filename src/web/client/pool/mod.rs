//! [`HTTPConnectionPool`]: idle HTTP/1.1 connections kept per (scheme, host, port).

use super::key_hash::KeyMap;
use crate::web::newclient::HTTP11ClientProtocol;
use reactor::connect_timings::ConnectTimings;
use reactor::defer::{gather_results, Deferred};
use reactor::interfaces::{IProtocol, IReactorTime, IStreamClientEndpoint};
use reactor::{DelayedCall, Reactor};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;

mod retry;

/// What idle connections are kept under: `(scheme, host, port)`. For `https` under a policy
/// other than the default one, the scheme element is `https#<policy id>`, so a connection
/// verified under one trust root is never reused under another.
pub type PoolKey = (String, String, u16);

struct Cached {
    connection: Rc<HTTP11ClientProtocol>,
    slot: Slot,
    idle: Rc<IdleTimer>,
}

/// A connection's idle timeout, one per connection for its whole life. Checking a connection
/// in only stamps the time; the timer is armed when none is pending, and when it fires early
/// (the connection was used and checked in again since) it is armed again for what is left,
/// so a keep-alive request neither schedules nor cancels a call.
#[derive(Default)]
struct IdleTimer {
    /// When the connection last went idle.
    since: Cell<f64>,
    /// The pending call, if any.
    call: RefCell<Option<DelayedCall>>,
}

impl IdleTimer {
    /// Cancel the pending call: the connection is gone.
    fn stop(&self) {
        let call = self.call.borrow_mut().take();
        if let Some(call) = call {
            call.cancel().ok();
        }
    }
}

/// A connection's place under [`max_connections_per_host`](HTTPConnectionPool::max_connections_per_host):
/// `true` while it counts in `open`. Released once, when the connection is lost or fails to
/// open, unless it was handed to the connection that replaced it
/// ([`HTTPConnectionPool::replace_connection`]).
pub(crate) type Slot = Rc<Cell<bool>>;

/// A connection handed out for one request.
pub(crate) struct Checkout {
    pub(crate) connection: Rc<HTTP11ClientProtocol>,
    /// Its place under the per-host limit.
    pub(crate) slot: Slot,
    /// Whether it came from the pool.
    pub(crate) cached: bool,
    /// For a new connection, when its connect phases ended; `None` for one from the pool.
    pub(crate) connect_timings: Option<Rc<ConnectTimings>>,
}

struct PoolInner {
    clock: Rc<dyn IReactorTime>,
    persistent: bool,
    max_persistent_per_host: Cell<usize>,
    cached_connection_timeout: Cell<f64>,
    retry_automatically: Cell<bool>,
    /// Idle connections per key, oldest first: taken from the end (LIFO).
    connections: RefCell<KeyMap<PoolKey, Vec<Cached>>>,
    /// The most connections per key, open or opening (`None`: no limit).
    max_connections_per_host: Cell<Option<usize>>,
    /// Connections per key that are open or opening (busy or idle).
    open: RefCell<KeyMap<PoolKey, usize>>,
    /// Requests waiting for a connection under the limit, per key, first come first.
    waiting: RefCell<KeyMap<PoolKey, VecDeque<Ticket>>>,
    next_ticket: Cell<u64>,
}

/// A request's place in the queue: fired when a connection can be had.
struct Ticket {
    id: u64,
    ready: Deferred<()>,
}

/// A pool of persistent HTTP/1.1 connections (Twisted's `HTTPConnectionPool`).
///
/// With `persistent = false` every request gets a new connection, sent with
/// `Connection: close`. With `persistent = true`, a connection whose response was read
/// completely goes back to the pool: at most
/// [`max_persistent_per_host`](Self::max_persistent_per_host) idle connections per
/// `(scheme, host, port)` (the oldest is closed to make room), each closed after
/// [`cached_connection_timeout`](Self::cached_connection_timeout) seconds idle. The most recently
/// used idle connection is handed out first. An idle connection the server closes leaves the
/// pool at once. Requests on a cached connection that fail before any response are retried once
/// on a new connection when [`retry_automatically`](Self::retry_automatically) is set and the
/// request is idempotent and has no body.
///
/// Cloning is cheap: clones share the pool.
#[derive(Clone)]
pub struct HTTPConnectionPool {
    inner: Rc<PoolInner>,
}

impl HTTPConnectionPool {
    /// A pool on `reactor`; `persistent` says whether connections are kept.
    pub fn new(reactor: &Reactor, persistent: bool) -> HTTPConnectionPool {
        HTTPConnectionPool::with_clock(Rc::new(reactor.clone()), persistent)
    }

    /// A pool whose idle timeouts run on `clock` (a [`Clock`](reactor::task::Clock) in tests).
    pub fn with_clock(clock: Rc<dyn IReactorTime>, persistent: bool) -> HTTPConnectionPool {
        HTTPConnectionPool {
            inner: Rc::new(PoolInner {
                clock,
                persistent,
                max_persistent_per_host: Cell::new(2),
                cached_connection_timeout: Cell::new(240.0),
                retry_automatically: Cell::new(true),
                connections: RefCell::default(),
                max_connections_per_host: Cell::new(None),
                open: RefCell::default(),
                waiting: RefCell::default(),
                next_ticket: Cell::new(0),
            }),
        }
    }

    /// Keep at most `n` idle connections per key (Twisted's `maxPersistentPerHost`, default 2).
    pub fn max_persistent_per_host(self, n: usize) -> HTTPConnectionPool {
        self.inner.max_persistent_per_host.set(n);
        self
    }

    /// Open at most `n` connections per `(scheme, host, port)` at once, idle ones included
    /// (Twisted #7614; by default there is no limit, as in Twisted). A request that finds
    /// none free waits, first come first served, until one goes idle (it is handed over) or
    /// closes (a new one is opened); cancelling its Deferred takes it out of the queue. `0`
    /// is taken as 1.
    pub fn max_connections_per_host(self, n: usize) -> HTTPConnectionPool {
        self.inner.max_connections_per_host.set(Some(n.max(1)));
        self
    }

    /// Close idle connections after `seconds` (Twisted's `cachedConnectionTimeout`, default
    /// 240).
    pub fn cached_connection_timeout(self, seconds: f64) -> HTTPConnectionPool {
        self.inner.cached_connection_timeout.set(seconds);
        self
    }

    /// Retry idempotent requests that failed on a cached connection (Twisted's
    /// `retryAutomatically`, default true).
    pub fn retry_automatically(self, retry: bool) -> HTTPConnectionPool {
        self.inner.retry_automatically.set(retry);
        self
    }

    /// Whether connections are kept between requests.
    pub fn persistent(&self) -> bool {
        self.inner.persistent
    }

    /// Whether failed requests on cached connections are retried.
    pub fn retries_automatically(&self) -> bool {
        self.inner.retry_automatically.get()
    }

    /// How many idle connections are kept for `key`.
    pub fn idle_count(&self, key: &PoolKey) -> usize {
        self.inner
            .connections
            .borrow()
            .get(key)
            .map_or(0, |v| v.len())
    }

    /// How many connections for `key` are open or opening, busy or idle.
    pub fn open_count(&self, key: &PoolKey) -> usize {
        self.inner.open.borrow().get(key).copied().unwrap_or(0)
    }

    /// How many requests for `key` wait for a connection under
    /// [`max_connections_per_host`](Self::max_connections_per_host).
    pub fn waiting_count(&self, key: &PoolKey) -> usize {
        self.inner.waiting.borrow().get(key).map_or(0, |q| q.len())
    }

    /// A connection for `key`: the most recently used idle one, or a new one from `endpoint`
    /// (Twisted's `getConnection`), or, at the per-host limit, the next one to be free. The
    /// flag says whether it came from the pool.
    pub fn get_connection(
        &self,
        key: &PoolKey,
        endpoint: &Rc<dyn IStreamClientEndpoint>,
    ) -> Deferred<(Rc<HTTP11ClientProtocol>, bool)> {
        self.checkout(key, endpoint, &self.inner.clock)
            .add_callback(|c: Checkout| (c.connection, c.cached))
    }

    /// [`get_connection`](Self::get_connection), with the connection's place under the limit;
    /// a new connection's connect phases are stamped on `clock`.
    pub(crate) fn checkout(
        &self,
        key: &PoolKey,
        endpoint: &Rc<dyn IStreamClientEndpoint>,
        clock: &Rc<dyn IReactorTime>,
    ) -> Deferred<Checkout> {
        if let Some(checkout) = self.take_idle(key) {
            return Deferred::succeed(checkout);
        }
        if self.at_limit(key) {
            let (pool, key, endpoint) = (self.clone(), key.clone(), endpoint.clone());
            let clock = clock.clone();
            return self
                .wait_for_turn(&key)
                .add_callback(move |()| pool.checkout(&key, &endpoint, &clock));
        }
        self.open(key, endpoint, clock, false)
    }

    /// The most recently used idle connection for `key`, taken out of the pool, if there is
    /// one that can carry a request.
    pub(crate) fn take_idle(&self, key: &PoolKey) -> Option<Checkout> {
        loop {
            let cached = {
                let mut connections = self.inner.connections.borrow_mut();
                // An emptied stack stays: the connection taken usually comes back to it, and
                // the key is not allocated again. `remove` drops empty stacks.
                connections.get_mut(key)?.pop()?
            };
            if cached.connection.is_quiescent() {
                return Some(Checkout {
                    connection: cached.connection,
                    slot: cached.slot,
                    cached: true,
                    connect_timings: None,
                });
            }
        }
    }

    fn at_limit(&self, key: &PoolKey) -> bool {
        self.inner
            .max_connections_per_host
            .get()
            .is_some_and(|limit| self.open_count(key) >= limit)
    }

    /// A place at the end of `key`'s queue; cancelling it leaves the queue.
    fn wait_for_turn(&self, key: &PoolKey) -> Deferred<()> {
        let id = self.inner.next_ticket.get();
        self.inner.next_ticket.set(id + 1);
        let (pool, k) = (Rc::downgrade(&self.inner), key.clone());
        let ready = Deferred::with_canceller(move |_| {
            if let Some(inner) = pool.upgrade() {
                let mut waiting = inner.waiting.borrow_mut();
                if let Some(queue) = waiting.get_mut(&k) {
                    queue.retain(|t| t.id != id);
                    if queue.is_empty() {
                        waiting.remove(&k);
                    }
                }
            }
        });
        self.inner
            .waiting
            .borrow_mut()
            .entry(key.clone())
            .or_default()
            .push_back(Ticket {
                id,
                ready: ready.clone(),
            });
        ready
    }

    /// A connection for `key` may be had (one went idle, or closed): let the first waiting
    /// request take it.
    fn wake(&self, key: &PoolKey) {
        let ticket = {
            let mut waiting = self.inner.waiting.borrow_mut();
            let Some(queue) = waiting.get_mut(key) else {
                return;
            };
            let ticket = queue.pop_front();
            if queue.is_empty() {
                waiting.remove(key);
            }
            ticket
        };
        if let Some(ticket) = ticket {
            let _ = ticket.ready.callback(());
        }
    }

    /// A connection for `key` closed, or failed to open.
    fn release(&self, key: &PoolKey) {
        {
            let mut open = self.inner.open.borrow_mut();
            if let Some(n) = open.get_mut(key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    open.remove(key);
                }
            }
        }
        self.wake(key);
    }

    /// A new connection for `key` from `endpoint`, wired to come back to this pool.
    pub fn new_connection(
        &self,
        key: &PoolKey,
        endpoint: &Rc<dyn IStreamClientEndpoint>,
    ) -> Deferred<Rc<HTTP11ClientProtocol>> {
        self.open(key, endpoint, &self.inner.clock, false)
            .add_callback(|c: Checkout| c.connection)
    }

    /// A new connection for `key` from `endpoint`, its connect phases stamped on `clock`;
    /// `counted`: its place under the limit is already counted (it replaces a connection whose
    /// place it took).
    fn open(
        &self,
        key: &PoolKey,
        endpoint: &Rc<dyn IStreamClientEndpoint>,
        clock: &Rc<dyn IReactorTime>,
        counted: bool,
    ) -> Deferred<Checkout> {
        let protocol = HTTP11ClientProtocol::new();
        if !counted {
            let mut open = self.inner.open.borrow_mut();
            match open.get_mut(key) {
                Some(n) => *n += 1,
                None => {
                    open.insert(key.clone(), 1);
                }
            }
        }
        // One copy of the key for everything the connection keeps (its release, idle returns,
        // removal and retry), so opening it copies the host strings once.
        let k = Rc::new(key.clone());
        // Released once: when the connection is lost, or when it fails to open.
        let slot: Slot = Rc::new(Cell::new(true));
        let release = {
            let (pool, k, slot) = (Rc::downgrade(&self.inner), k.clone(), slot.clone());
            move || {
                if let (true, Some(inner)) = (slot.replace(false), pool.upgrade()) {
                    HTTPConnectionPool { inner }.release(&k);
                }
            }
        };
        let pool = Rc::downgrade(&self.inner);
        let idle_key = k.clone();
        let idle_slot = slot.clone();
        let idle = Rc::new(IdleTimer::default());
        let timer = idle.clone();
        protocol.set_quiescent_callback(move |connection| {
            if let Some(inner) = pool.upgrade() {
                HTTPConnectionPool { inner }.put_connection(
                    &idle_key,
                    connection,
                    idle_slot.clone(),
                    &timer,
                );
            }
        });
        let pool = Rc::downgrade(&self.inner);
        let lost_key = k.clone();
        let weak = Rc::downgrade(&protocol);
        let on_lost = release.clone();
        protocol.notify_lost().add_callback(move |()| {
            idle.stop();
            if let (Some(inner), Some(connection)) = (pool.upgrade(), weak.upgrade()) {
                HTTPConnectionPool { inner }.remove(&lost_key, &connection);
            }
            on_lost();
        });
        protocol.set_retry_hook(self.retry_hook(&k, endpoint, clock, &slot));
        let timings = ConnectTimings::new(clock.clone());
        let connecting = endpoint.connect_timed(protocol.clone() as Rc<dyn IProtocol>, &timings);
        connecting.add_callbacks(
            move |()| {
                // For endpoints that stamp nothing themselves (Unix sockets, in-memory).
                timings.mark_connected();
                Ok(Checkout {
                    connection: protocol,
                    slot,
                    cached: false,
                    connect_timings: Some(timings),
                })
            },
            move |failure| {
                release();
                Err(failure)
            },
        )
    }

    /// Take back an idle connection (Twisted's `_putConnection`).
    fn put_connection(
        &self,
        key: &Rc<PoolKey>,
        connection: Rc<HTTP11ClientProtocol>,
        slot: Slot,
        idle: &Rc<IdleTimer>,
    ) {
        if !self.inner.persistent || self.inner.max_persistent_per_host.get() == 0 {
            connection.lose_connection();
            return;
        }
        idle.since.set(self.inner.clock.event_seconds());
        let pending = idle.call.borrow().as_ref().is_some_and(DelayedCall::active);
        if !pending {
            self.arm(
                key,
                &connection,
                idle,
                self.inner.cached_connection_timeout.get(),
            );
        }
        let cached = Cached {
            connection,
            slot,
            idle: idle.clone(),
        };
        let evicted = {
            let mut connections = self.inner.connections.borrow_mut();
            match connections.get_mut(&**key) {
                Some(stack) => {
                    let evicted = if stack.len() >= self.inner.max_persistent_per_host.get() {
                        Some(stack.remove(0))
                    } else {
                        None
                    };
                    stack.push(cached);
                    evicted
                }
                None => {
                    connections.insert(PoolKey::clone(key), vec![cached]);
                    None
                }
            }
        };
        if let Some(old) = evicted {
            old.idle.stop();
            old.connection.lose_connection();
        }
        self.wake(key);
    }

    /// Check `connection`'s idleness after `delay` seconds: closed if it has been idle for the
    /// whole timeout by then, checked again when that time comes if it went idle later, left
    /// alone if it is in use (it is armed again when it comes back).
    fn arm(
        &self,
        key: &Rc<PoolKey>,
        connection: &Rc<HTTP11ClientProtocol>,
        idle: &Rc<IdleTimer>,
        delay: f64,
    ) {
        let pool = Rc::downgrade(&self.inner);
        let k = Rc::clone(key);
        let weak = Rc::downgrade(connection);
        let timer = Rc::downgrade(idle);
        let call = self.inner.clock.call_later(
            delay,
            Box::new(move || {
                let (Some(inner), Some(connection), Some(idle)) =
                    (pool.upgrade(), weak.upgrade(), timer.upgrade())
                else {
                    return;
                };
                idle.call.borrow_mut().take();
                let pool = HTTPConnectionPool { inner };
                if !pool.is_idle(&k, &connection) {
                    return;
                }
                let deadline = idle.since.get() + pool.inner.cached_connection_timeout.get();
                let left = deadline - pool.inner.clock.seconds();
                // A float's worth of slack: the call was scheduled for the deadline itself.
                if left <= 1e-9 {
                    pool.remove(&k, &connection);
                    connection.lose_connection();
                } else {
                    pool.arm(&k, &connection, &idle, left);
                }
            }),
        );
        *idle.call.borrow_mut() = Some(call);
    }

    /// Whether `connection` is among `key`'s idle connections.
    fn is_idle(&self, key: &PoolKey, connection: &Rc<HTTP11ClientProtocol>) -> bool {
        self.inner
            .connections
            .borrow()
            .get(key)
            .is_some_and(|stack| stack.iter().any(|c| Rc::ptr_eq(&c.connection, connection)))
    }

    /// Forget an idle connection (closed by the server, or timed out).
    fn remove(&self, key: &PoolKey, connection: &Rc<HTTP11ClientProtocol>) {
        let removed = {
            let mut connections = self.inner.connections.borrow_mut();
            let Some(stack) = connections.get_mut(key) else {
                return;
            };
            let index = stack
                .iter()
                .position(|c| Rc::ptr_eq(&c.connection, connection));
            let removed = index.map(|i| stack.remove(i));
            if stack.is_empty() {
                connections.remove(key);
            }
            removed
        };
        if let Some(cached) = removed {
            cached.idle.stop();
        }
    }

    /// Close every idle connection; the Deferred fires when they are all closed (Twisted's
    /// `closeCachedConnections`).
    pub fn close_cached_connections(&self) -> Deferred<()> {
        let all: Vec<Cached> = self
            .inner
            .connections
            .borrow_mut()
            .drain()
            .flat_map(|(_, v)| v)
            .collect();
        let mut waiting = Vec::with_capacity(all.len());
        for cached in all {
            cached.idle.stop();
            waiting.push(cached.connection.notify_lost());
            cached.connection.lose_connection();
        }
        gather_results(waiting, true).add_callback(|_: Vec<()>| ())
    }
}

impl fmt::Debug for HTTPConnectionPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HTTPConnectionPool")
            .field("persistent", &self.inner.persistent)
            .field(
                "max_persistent_per_host",
                &self.inner.max_persistent_per_host.get(),
            )
            .field(
                "cached_connection_timeout",
                &self.inner.cached_connection_timeout.get(),
            )
            .field("retry_automatically", &self.inner.retry_automatically.get())
            .field(
                "max_connections_per_host",
                &self.inner.max_connections_per_host.get(),
            )
            .finish_non_exhaustive()
    }
}
