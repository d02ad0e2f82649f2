//! Sending one request on a connection from the pool: what [`Agent`](super::Agent) and
//! [`ProxyAgent`](super::ProxyAgent) share once they know where to connect. Takes a
//! connection (idle or new, under the per-host limit), retries once on a new connection when
//! a cached one turns out stale (Twisted's `retryAutomatically`), and starts the request's
//! [`RequestTimings`](crate::web::timings::RequestTimings) on the agent's clock.

use super::pool::{Checkout, HTTPConnectionPool, PoolKey};
use crate::web::newclient::Request;
use crate::web::response::Response;
use crate::web::timings::RequestTimer;
use reactor::defer::{Deferred, Failure, TimeoutError};
use reactor::error::ConnectError;
use reactor::interfaces::{IReactorTime, IStreamClientEndpoint};
use std::rc::Rc;

/// The pool a request is sent through and the clock it is timed on.
pub(super) struct Route<'a> {
    pub(super) pool: &'a HTTPConnectionPool,
    /// The agent's clock: timings, and the connect guard.
    pub(super) clock: &'a Rc<dyn IReactorTime>,
    /// Fail the connect phase after this many seconds of `clock`.
    pub(super) connect_guard: Option<f64>,
}

/// Send `request` on a connection for `key`: the pool's most recent idle one (taken at once:
/// a keep-alive request makes no endpoint and waits for no Deferred), or a new one through the
/// endpoint `endpoint` makes. A request that fails before any response on a cached connection,
/// is idempotent and has no body is sent once more on a new connection, which takes the stale
/// one's place under the pool's per-host limit (the pool's retry hook on the connection).
pub(super) fn send_on_pool<E>(
    route: Route<'_>,
    key: &PoolKey,
    endpoint: E,
    request: Request,
) -> Deferred<Response>
where
    E: FnOnce() -> Result<Rc<dyn IStreamClientEndpoint>, Failure>,
{
    let Route {
        pool,
        clock,
        connect_guard,
    } = route;
    // Only the start is kept until a connection is had: the closures stay small.
    let sent = Sent {
        pool: pool.clone(),
        clock: clock.clone(),
        started: clock.seconds(),
    };
    if let Some(checkout) = pool.take_idle(key) {
        return sent.on(checkout, request);
    }
    let made = match endpoint() {
        Ok(endpoint) => endpoint,
        Err(failure) => return Deferred::fail(failure),
    };
    let mut connection = pool.checkout(key, &made, clock);
    if let Some(seconds) = connect_guard.filter(|_| !connection.called()) {
        connection = connect_timeout(connection, seconds, &**clock);
    }
    connection.add_callback(move |checkout: Checkout| sent.on(checkout, request))
}

/// What a request needs once it has a connection: for its timer.
struct Sent {
    pool: HTTPConnectionPool,
    clock: Rc<dyn IReactorTime>,
    started: f64,
}

impl Sent {
    /// Send `request` on `checkout`; on a cached connection, when the pool retries
    /// automatically, the connection sends it once more on a new connection if it was stale
    /// (the pool's retry hook: nothing is allocated for it here).
    fn on(self, checkout: Checkout, request: Request) -> Deferred<Response> {
        let timer = timer_on(&self.clock, self.started, &checkout);
        let retry = checkout.cached && self.pool.retries_automatically();
        checkout.connection.request_timed(request, timer, retry)
    }
}

/// The timer of a request that started at `started` on `clock` and goes out on `checkout`.
fn timer_on(clock: &Rc<dyn IReactorTime>, started: f64, checkout: &Checkout) -> RequestTimer {
    let mut timer = RequestTimer::started_at(clock.clone(), started);
    match &checkout.connect_timings {
        Some(timings) => timer.on_new_connection(timings.clone()),
        None => timer.on_reused_connection(),
    }
    timer
}

/// `connecting`, failed with [`ConnectError::Timeout`] (and the attempt cancelled) unless it
/// fires within `seconds` of `clock`.
pub(super) fn connect_timeout<T: 'static>(
    connecting: Deferred<T>,
    seconds: f64,
    clock: &dyn IReactorTime,
) -> Deferred<T> {
    connecting
        .add_timeout(seconds, clock)
        .add_errback(move |failure: Failure| {
            if failure.check::<TimeoutError>() {
                Err(Failure::new(ConnectError::Timeout {
                    address: None,
                    seconds,
                }))
            } else {
                Err(failure)
            }
        })
}
