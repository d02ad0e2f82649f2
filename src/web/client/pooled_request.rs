//! Sending one request on a connection from the pool: what [`Agent`](super::Agent) and
//! [`ProxyAgent`](super::ProxyAgent) share once they know where to connect. Takes a
//! connection (idle or new, under the per-host limit), retries once on a new connection when
//! a cached one turns out stale (Twisted's `retryAutomatically`), and starts the request's
//! [`RequestTimings`](crate::web::timings::RequestTimings) on the agent's clock.

use super::pool::{Checkout, HTTPConnectionPool, PoolKey};
use crate::web::error::{RequestNotSent, RequestTransmissionFailed, ResponseNeverReceived};
use crate::web::newclient::Request;
use crate::web::response::Response;
use crate::web::timings::RequestTimer;
use reactor::defer::{CancelledError, Deferred, Failure, TimeoutError};
use reactor::error::ConnectError;
use reactor::interfaces::{IReactorTime, IStreamClientEndpoint};
use std::rc::Rc;

/// Where a request goes and on what clock it is timed.
pub(super) struct Route<'a> {
    pub(super) pool: &'a HTTPConnectionPool,
    pub(super) key: PoolKey,
    pub(super) endpoint: Rc<dyn IStreamClientEndpoint>,
    /// The agent's clock: timings, and the connect guard.
    pub(super) clock: &'a Rc<dyn IReactorTime>,
    /// Fail the connect phase after this many seconds of `clock`.
    pub(super) connect_guard: Option<f64>,
}

/// Send `request` on a connection for `route`: the pool's most recent idle one, or a new one.
/// A request that fails before any response on a cached connection, is idempotent and has no
/// body is sent once more on a new connection, which takes the stale one's place under the
/// pool's per-host limit.
pub(super) fn send_on_pool(route: Route<'_>, request: Request) -> Deferred<Response> {
    let Route {
        pool,
        key,
        endpoint,
        clock,
        connect_guard,
    } = route;
    // Only the start is kept until a connection is had: the closures stay small.
    let started = clock.seconds();
    let retry = pool.retries_automatically();
    let mut connection = pool.checkout(&key, &endpoint, clock);
    if let Some(seconds) = connect_guard.filter(|_| !connection.called()) {
        connection = connect_timeout(connection, seconds, &**clock);
    }
    let (pool, clock) = (pool.clone(), clock.clone());
    connection.add_callback(move |checkout: Checkout| {
        let timer = timer_on(&clock, started, &checkout);
        if !(checkout.cached && retry) {
            return checkout.connection.request_timed(request, timer);
        }
        checkout
            .connection
            .request_timed(request.clone(), timer)
            .add_errback(move |failure: Failure| {
                if !should_retry(&request, &failure) {
                    return Deferred::fail(failure);
                }
                pool.replace_connection(&key, &endpoint, &clock, &checkout)
                    .add_callback(move |fresh: Checkout| {
                        let timer = timer_on(&clock, started, &fresh);
                        fresh.connection.request_timed(request, timer)
                    })
            })
    })
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

/// Whether a request that failed with `failure` on a cached connection is sent again on a new
/// one (Twisted's `_RetryingHTTP11ClientProtocol._shouldRetry`).
pub(super) fn should_retry(request: &Request, failure: &Failure) -> bool {
    const IDEMPOTENT: [&[u8]; 5] = [b"GET", b"HEAD", b"OPTIONS", b"DELETE", b"TRACE"];
    if !IDEMPOTENT.contains(&&request.method[..]) || request.body_producer.is_some() {
        return false;
    }
    let reasons = if let Some(e) = failure.value::<RequestTransmissionFailed>() {
        &e.reasons
    } else if let Some(e) = failure.value::<ResponseNeverReceived>() {
        &e.reasons
    } else {
        return failure.check::<RequestNotSent>();
    };
    !reasons.iter().any(|r| r.check::<CancelledError>())
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
