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
use std::borrow::Borrow;
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
/// one's place under the pool's per-host limit.
pub(super) fn send_on_pool<K, E>(
    route: Route<'_>,
    key: K,
    endpoint: E,
    request: Request,
) -> Deferred<Response>
where
    K: Borrow<PoolKey> + 'static,
    E: Fn() -> Result<Rc<dyn IStreamClientEndpoint>, Failure> + 'static,
{
    let Route {
        pool,
        clock,
        connect_guard,
    } = route;
    // Only the start is kept until a connection is had: the closures stay small.
    let started = clock.seconds();
    let sent = Sent {
        pool: pool.clone(),
        clock: clock.clone(),
        started,
        key,
        endpoint,
    };
    if let Some(checkout) = pool.take_idle(sent.key.borrow()) {
        return sent.on(checkout, request);
    }
    let made = match (sent.endpoint)() {
        Ok(endpoint) => endpoint,
        Err(failure) => return Deferred::fail(failure),
    };
    let mut connection = pool.checkout(sent.key.borrow(), &made, clock);
    if let Some(seconds) = connect_guard.filter(|_| !connection.called()) {
        connection = connect_timeout(connection, seconds, &**clock);
    }
    connection.add_callback(move |checkout: Checkout| sent.on(checkout, request))
}

/// What a request needs once it has a connection: for its timer, and for a retry.
struct Sent<K, E> {
    pool: HTTPConnectionPool,
    clock: Rc<dyn IReactorTime>,
    started: f64,
    key: K,
    endpoint: E,
}

impl<K, E> Sent<K, E>
where
    K: Borrow<PoolKey> + 'static,
    E: Fn() -> Result<Rc<dyn IStreamClientEndpoint>, Failure> + 'static,
{
    /// Send `request` on `checkout`; on a cached connection, when the pool retries
    /// automatically, once more on a new connection if the cached one was stale.
    fn on(self, checkout: Checkout, request: Request) -> Deferred<Response> {
        let timer = timer_on(&self.clock, self.started, &checkout);
        if !(checkout.cached && self.pool.retries_automatically()) {
            return checkout.connection.request_timed(request, timer);
        }
        checkout
            .connection
            .request_timed(request.clone(), timer)
            .add_errback(move |failure: Failure| {
                if !should_retry(&request, &failure) {
                    return Deferred::fail(failure);
                }
                let endpoint = match (self.endpoint)() {
                    Ok(endpoint) => endpoint,
                    Err(failure) => return Deferred::fail(failure),
                };
                let (clock, started) = (self.clock.clone(), self.started);
                self.pool
                    .replace_connection(self.key.borrow(), &endpoint, &self.clock, &checkout)
                    .add_callback(move |fresh: Checkout| {
                        let timer = timer_on(&clock, started, &fresh);
                        fresh.connection.request_timed(request, timer)
                    })
            })
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
