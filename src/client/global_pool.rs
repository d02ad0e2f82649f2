//! The global connection pool and the default reactor (treq's `get_global_pool`,
//! `set_global_pool`, `default_pool`, `default_reactor`).
//!
//! The reactor is per thread, so the global pool is too: each thread's module-level requests
//! share that thread's pool.

use crate::web::client::HTTPConnectionPool;
use reactor::Reactor;
use std::cell::RefCell;

thread_local! {
    static GLOBAL_POOL: RefCell<Option<HTTPConnectionPool>> = const { RefCell::new(None) };
}

/// This thread's global pool, if one was set or created (treq's `get_global_pool`).
pub fn get_global_pool() -> Option<HTTPConnectionPool> {
    GLOBAL_POOL.with(|p| p.borrow().clone())
}

/// Make `pool` this thread's global pool: module-level requests without `pool`/`persistent`
/// use it (treq's `set_global_pool`).
pub fn set_global_pool(pool: HTTPConnectionPool) {
    GLOBAL_POOL.with(|p| *p.borrow_mut() = Some(pool));
}

/// The pool a request uses (treq's `default_pool`): `pool` if given; a new non-persistent
/// pool if `persistent` is `Some(false)`; otherwise the global pool, created persistent on
/// `reactor` the first time.
pub fn default_pool(
    reactor: &Reactor,
    pool: Option<HTTPConnectionPool>,
    persistent: Option<bool>,
) -> HTTPConnectionPool {
    if let Some(pool) = pool {
        return pool;
    }
    if persistent == Some(false) {
        return HTTPConnectionPool::new(reactor, false);
    }
    GLOBAL_POOL.with(|p| {
        p.borrow_mut()
            .get_or_insert_with(|| HTTPConnectionPool::new(reactor, true))
            .clone()
    })
}

/// `reactor`, or the thread's default reactor (treq's `default_reactor`; Python's
/// `from twisted.internet import reactor`).
pub fn default_reactor(reactor: Option<&Reactor>) -> Reactor {
    reactor.cloned().unwrap_or_default()
}
