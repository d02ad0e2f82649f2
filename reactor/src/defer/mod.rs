//! `twisted.internet.defer`: [`Deferred`], [`Failure`] and their helpers: [`DeferredList`],
//! [`gather_results`], [`race`], [`DeferredLock`], [`DeferredSemaphore`], [`DeferredQueue`].

mod deferred;
mod errors;
mod failure;
mod future;
mod list;
mod outcome;
mod sync;

pub use deferred::Deferred;
pub use errors::{AlreadyCalledError, AlreadyChainedError, CancelledError, TimeoutError};
pub use failure::{Failure, FailureError};
pub use future::{ensure_deferred, pending_tasks};
pub use list::{gather_results, race, DeferredList, FailureGroup, FirstError, ListResult};
pub use outcome::{IntoOutcome, Outcome};
pub use sync::{
    DeferredLock, DeferredQueue, DeferredSemaphore, NotAcquiredError, QueueOverflow, QueueUnderflow,
};

/// A Deferred that has already fired with `value` (Twisted's `succeed`).
pub fn succeed<T: 'static>(value: T) -> Deferred<T> {
    Deferred::succeed(value)
}

/// A Deferred that has already failed (Twisted's `fail`).
pub fn fail<T: 'static>(failure: impl Into<Failure>) -> Deferred<T> {
    Deferred::fail(failure)
}

/// Call `f` and wrap whatever it returns — value, failure or Deferred — in a Deferred
/// (Twisted's `maybeDeferred`).
pub fn maybe_deferred<R: IntoOutcome>(f: impl FnOnce() -> R) -> Deferred<R::Value> {
    Deferred::from_outcome(f().into_outcome())
}
