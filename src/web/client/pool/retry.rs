//! Sending a request again when a connection from the pool turns out stale: a new connection
//! takes the stale one's place under the per-host limit.

use super::{Checkout, HTTPConnectionPool, PoolKey, Slot};
use crate::web::error::RequestNotSent;
use crate::web::newclient::{HTTP11ClientProtocol, Request, RetryHook};
use crate::web::response::Response;
use crate::web::timings::RequestTimer;
use reactor::defer::Deferred;
use reactor::interfaces::{IReactorTime, IStreamClientEndpoint};
use std::rc::Rc;

impl HTTPConnectionPool {
    /// A new connection in place of `stale`, a connection from [`checkout`](Self::checkout)
    /// that failed before any response (it is lost, or is closed now): the new one takes the
    /// stale one's place under the per-host limit, so the limit holds and the request keeps
    /// its turn. If the stale connection's place was already given up, this waits for a turn
    /// as any request does.
    fn replace_connection(
        &self,
        key: &PoolKey,
        endpoint: &Rc<dyn IStreamClientEndpoint>,
        clock: &Rc<dyn IReactorTime>,
        stale: &Checkout,
    ) -> Deferred<Checkout> {
        if !stale.connection.is_lost() {
            stale.connection.abort();
        }
        if stale.slot.replace(false) {
            self.open(key, endpoint, clock, true)
        } else {
            self.checkout(key, endpoint, clock)
        }
    }

    /// How a connection opened for `key` from `endpoint` (its place under the limit being
    /// `slot`) sends a request again when it turns out stale: on a new connection from the same
    /// endpoint, which takes its place ([`replace_connection`](Self::replace_connection)) and
    /// does not retry again. Made once per connection, so a request that may be retried
    /// allocates nothing for it.
    pub(super) fn retry_hook(
        &self,
        key: &Rc<PoolKey>,
        endpoint: &Rc<dyn IStreamClientEndpoint>,
        clock: &Rc<dyn IReactorTime>,
        slot: &Slot,
    ) -> RetryHook {
        let pool = Rc::downgrade(&self.inner);
        let (key, endpoint, clock, slot) =
            (key.clone(), endpoint.clone(), clock.clone(), slot.clone());
        Rc::new(
            move |stale: Rc<HTTP11ClientProtocol>,
                  request: Request,
                  timer: Option<RequestTimer>|
                  -> Deferred<Response> {
                let Some(inner) = pool.upgrade() else {
                    return Deferred::fail(RequestNotSent);
                };
                let stale = Checkout {
                    connection: stale,
                    slot: slot.clone(),
                    cached: true,
                    connect_timings: None,
                };
                HTTPConnectionPool { inner }
                    .replace_connection(&key, &endpoint, &clock, &stale)
                    .add_callback(move |fresh: Checkout| {
                        let mut timer = timer;
                        if let (Some(timer), Some(timings)) = (&mut timer, &fresh.connect_timings) {
                            timer.on_new_connection(timings.clone());
                        }
                        match timer {
                            Some(timer) => fresh.connection.request_timed(request, timer, false),
                            None => fresh.connection.request(request),
                        }
                    })
            },
        )
    }
}
