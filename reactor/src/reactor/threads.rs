//! The reactor's thread pool: `call_in_thread` and `defer_to_thread` (Twisted's
//! `callInThread` and `deferToThread`), with a panic in the pool coming back as a failure.

use super::Reactor;
use crate::defer::{Deferred, Failure};
use crate::threadpool::ThreadPool;
use std::any::Any;
use std::error::Error;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The threads of the pool, started on first use.
const THREAD_POOL_SIZE: usize = 4;

impl Reactor {
    /// Run `f` in the reactor's thread pool (Twisted's `callInThread`).
    pub fn call_in_thread(&self, f: impl FnOnce() + Send + 'static) {
        let mut pool = self.inner.thread_pool.borrow_mut();
        pool.get_or_insert_with(|| ThreadPool::new(THREAD_POOL_SIZE))
            .call_in_thread(Box::new(f));
    }

    /// Run `f` in the thread pool and fire the returned Deferred with its result on this
    /// reactor's thread (Twisted's `deferToThread`). A panic in `f` becomes a
    /// [`ThreadPanicked`] failure. The reactor must be running (or iterated) for the result to
    /// arrive.
    pub fn defer_to_thread<T, E, F>(&self, f: F) -> Deferred<T>
    where
        T: Send + 'static,
        E: Error + Send + 'static,
        F: FnOnce() -> Result<T, E> + Send + 'static,
    {
        let d = Deferred::new();
        let target = d.clone();
        let key = self.inner.thread_waiters.borrow_mut().insert(Box::new(
            move |any: Box<dyn Any + Send>| {
                let result = match any.downcast::<Result<T, E>>() {
                    Ok(result) => (*result).map_err(Failure::new),
                    Err(panic) => Err(Failure::new(ThreadPanicked {
                        message: panic_message(&panic),
                    })),
                };
                let _ = target.fire(result);
            },
        ));
        let handle = self.handle();
        self.call_in_thread(move || {
            let outcome: Box<dyn Any + Send> = match catch_unwind(AssertUnwindSafe(f)) {
                Ok(result) => Box::new(result),
                Err(panic) => Box::new(PanicPayload(panic_message(&panic))),
            };
            handle.call_with_reactor(move |reactor| reactor.complete_thread_call(key, outcome));
        });
        d
    }

    fn complete_thread_call(&self, key: usize, outcome: Box<dyn Any + Send>) {
        let waiter = {
            let mut waiters = self.inner.thread_waiters.borrow_mut();
            waiters.contains(key).then(|| waiters.remove(key))
        };
        if let Some(waiter) = waiter {
            match outcome.downcast::<PanicPayload>() {
                Ok(panic) => waiter(Box::new(panic.0)),
                Err(outcome) => waiter(outcome),
            }
        }
    }
}

struct PanicPayload(String);

fn panic_message(panic: &Box<dyn Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a thread pool call panicked".to_string()
    }
}

/// A function run by `defer_to_thread` panicked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadPanicked {
    /// The panic's message.
    pub message: String,
}

impl fmt::Display for ThreadPanicked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "thread pool call panicked: {}", self.message)
    }
}
impl Error for ThreadPanicked {}
