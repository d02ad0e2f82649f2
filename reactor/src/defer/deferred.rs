//! [`Deferred<T>`]: a result that is not there yet, with a typed callback chain.

use super::errors::{AlreadyCalledError, AlreadyChainedError, CancelledError, TimeoutError};
use super::{Failure, IntoOutcome, Outcome};
use crate::interfaces::IReactorTime;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::marker::PhantomData;
use std::rc::{Rc, Weak};
use std::task::Waker;

mod cells;

use cells::{run, Cancel, CancellerCell, Continuation, LinkCell, Next, PlainCell, Slot, State};

/// A result that will arrive later: Twisted's `Deferred`, with a typed callback chain.
///
/// A `Deferred<T>` is a cheap, clonable handle (`Rc`) to one pending result of type `T` or a
/// [`Failure`]. It fires once, with [`callback`](Self::callback) or
/// [`errback`](Self::errback). Callbacks are added with [`add_callback`](Self::add_callback),
/// [`add_errback`](Self::add_errback), [`add_callbacks`](Self::add_callbacks) and
/// [`add_both`](Self::add_both); each returns the Deferred of the *next* link, whose type is what
/// the callback returns. A callback may return a value, a `Result` (an `Err` switches to the
/// errback path), or another `Deferred` (the chain waits for it). See [`IntoOutcome`].
///
/// Differences from Twisted, forced by types:
/// * Twisted's `d.addCallback(f)` returns `d` itself with a changed result; here it returns a
///   new `Deferred<U>`, and the result of `d` belongs to that one chain. A second
///   `add_callback` on the same `d` yields a Deferred that fails with [`AlreadyChainedError`].
/// * Callbacks added to a Deferred that has already fired run at once, as in Twisted, and long
///   chains run in a loop, not by recursion.
///
/// ```
/// use reactor::defer::Deferred;
///
/// let d = Deferred::<u32>::new();
/// let doubled = d
///     .add_callback(|x| x * 2)
///     .add_callback(|x| if x > 10 { Ok(x) } else { Err(std::fmt::Error.into()) });
/// d.callback(21).unwrap();
/// assert_eq!(doubled.take_result().unwrap().unwrap(), 42);
/// ```
pub struct Deferred<T: 'static> {
    cell: Rc<dyn Slot<T>>,
}

impl<T: 'static> Clone for Deferred<T> {
    fn clone(&self) -> Self {
        Deferred {
            cell: self.cell.clone(),
        }
    }
}

impl<T: 'static> Default for Deferred<T> {
    fn default() -> Self {
        Deferred::new()
    }
}

impl<T: 'static> Deferred<T> {
    /// A new, unfired Deferred.
    pub fn new() -> Deferred<T> {
        Deferred {
            cell: Rc::new(PlainCell {
                state: RefCell::new(State::new()),
            }),
        }
    }

    /// A new Deferred whose [`cancel`](Self::cancel) calls `canceller` first. If the canceller
    /// does not fire the Deferred, it fails with [`CancelledError`].
    pub fn with_canceller(canceller: impl FnOnce(&Deferred<T>) + 'static) -> Deferred<T> {
        Deferred {
            cell: Rc::new(CancellerCell {
                state: RefCell::new(State::new()),
                canceller: Cell::new(Some(canceller)),
            }),
        }
    }

    /// A Deferred that has already fired with `value` (Twisted's `succeed`).
    pub fn succeed(value: T) -> Deferred<T> {
        let d = Deferred::new();
        d.store(Ok(value));
        d
    }

    /// A Deferred that has already failed (Twisted's `fail`).
    pub fn fail(failure: impl Into<Failure>) -> Deferred<T> {
        let d = Deferred::new();
        d.store(Err(failure.into()));
        d
    }

    /// A Deferred for an [`Outcome`]: fired for a value or a failure, the Deferred itself for a
    /// Deferred.
    pub fn from_outcome(outcome: Outcome<T>) -> Deferred<T> {
        match outcome {
            Outcome::Value(value) => Deferred::succeed(value),
            Outcome::Failure(failure) => Deferred::fail(failure),
            Outcome::Deferred(d) => d,
        }
    }

    /// Fire with a value: the callback chain runs now.
    pub fn callback(&self, value: T) -> Result<(), AlreadyCalledError> {
        self.fire(Ok(value))
    }

    /// Fire with a failure: the errback chain runs now.
    pub fn errback(&self, failure: impl Into<Failure>) -> Result<(), AlreadyCalledError> {
        self.fire(Err(failure.into()))
    }

    /// Fire with a result, `Ok` as [`callback`](Self::callback), `Err` as
    /// [`errback`](Self::errback).
    pub fn fire(&self, result: Result<T, Failure>) -> Result<(), AlreadyCalledError> {
        {
            let mut s = self.cell.state().borrow_mut();
            if s.called {
                if s.suppress_already_called {
                    s.suppress_already_called = false;
                    return Ok(());
                }
                return Err(AlreadyCalledError);
            }
        }
        if let Some(next) = self.store(result) {
            run(next);
        }
        Ok(())
    }

    /// Whether the Deferred has fired.
    pub fn called(&self) -> bool {
        self.cell.state().borrow().called
    }

    /// Whether the Deferred is paused.
    pub fn paused(&self) -> bool {
        self.cell.state().borrow().paused > 0
    }

    /// Whether the Deferred has fired and its result is still here to take (no callback has
    /// consumed it).
    pub fn has_result(&self) -> bool {
        self.cell.state().borrow().result.is_some()
    }

    /// Take the result if the Deferred has fired and no callback has consumed it: what Twisted's
    /// tests read as `d.result` (`successResultOf`, `failureResultOf`). Taking a failure counts
    /// as handling it.
    pub fn take_result(&self) -> Option<Result<T, Failure>> {
        let mut s = self.cell.state().borrow_mut();
        if s.continuation.is_some() {
            return None;
        }
        let result = s.result.take();
        if result.is_some() {
            s.chained = true;
        }
        result
    }

    /// Add a callback and an errback (Twisted's `addCallbacks`): `callback` gets the value,
    /// `errback` gets the failure; either returns the next link's outcome.
    pub fn add_callbacks<R, E, FC, FE>(&self, callback: FC, errback: FE) -> Deferred<R::Value>
    where
        R: IntoOutcome,
        E: IntoOutcome<Value = R::Value>,
        FC: FnOnce(T) -> R + 'static,
        FE: FnOnce(Failure) -> E + 'static,
    {
        self.then(move |result| match result {
            Ok(value) => callback(value).into_outcome(),
            Err(failure) => errback(failure).into_outcome(),
        })
    }

    /// Add a callback (Twisted's `addCallback`); a failure passes it by.
    pub fn add_callback<R, F>(&self, callback: F) -> Deferred<R::Value>
    where
        R: IntoOutcome,
        F: FnOnce(T) -> R + 'static,
    {
        self.then(move |result| match result {
            Ok(value) => callback(value).into_outcome(),
            Err(failure) => Outcome::Failure(failure),
        })
    }

    /// Add an errback (Twisted's `addErrback`); a value passes it by. The errback may recover
    /// (return a value) or pass the failure on (`Err(failure)`).
    pub fn add_errback<R, F>(&self, errback: F) -> Deferred<T>
    where
        R: IntoOutcome<Value = T>,
        F: FnOnce(Failure) -> R + 'static,
    {
        self.then(move |result| match result {
            Ok(value) => Outcome::Value(value),
            Err(failure) => errback(failure).into_outcome(),
        })
    }

    /// Add one function for both paths (Twisted's `addBoth`); it gets the `Result`.
    pub fn add_both<R, F>(&self, f: F) -> Deferred<R::Value>
    where
        R: IntoOutcome,
        F: FnOnce(Result<T, Failure>) -> R + 'static,
    {
        self.then(move |result| f(result).into_outcome())
    }

    /// Send this Deferred's result into `other` (Twisted's `chainDeferred`). Cancelling `other`
    /// does not cancel this one, as in Twisted.
    pub fn chain_deferred(&self, other: &Deferred<T>) {
        let other = other.clone();
        self.attach(Continuation::Boxed(Box::new(move |result| {
            if other.called() {
                log::error!("chain_deferred: the target Deferred has already been called");
                return None;
            }
            other.store(result)
        })));
    }

    /// Pause the chain: results wait until [`unpause`](Self::unpause).
    pub fn pause(&self) {
        self.cell.state().borrow_mut().paused += 1;
    }

    /// Undo one [`pause`](Self::pause); the chain resumes when none is left.
    pub fn unpause(&self) {
        let resume = {
            let mut s = self.cell.state().borrow_mut();
            s.paused = s.paused.saturating_sub(1);
            s.paused == 0 && s.result.is_some()
        };
        if resume {
            run(self.cell.clone());
        }
    }

    /// Cancel: call the canceller (or cancel the Deferred this link waits on); if that does not
    /// fire this Deferred, fail it with [`CancelledError`]. Cancelling a fired Deferred does
    /// nothing. Without a canceller, one late `callback()`/`errback()` from the producer is
    /// silently ignored (it did not know); with a canceller, a late call is
    /// [`AlreadyCalledError`], as in Twisted.
    pub fn cancel(&self) {
        let upstream = {
            let mut s = self.cell.state().borrow_mut();
            if s.called {
                return;
            }
            s.upstream.take()
        };
        // As in Twisted, only a Deferred without a canceller swallows its producer's late
        // `callback()`: a canceller is expected to stop the producer, so a later call is a bug
        // to report with `AlreadyCalledError`.
        let had_canceller = self.cell.run_canceller(self);
        if !had_canceller {
            if let Some(upstream) = upstream.and_then(|weak| weak.upgrade()) {
                upstream.cancel_erased();
            }
        }
        if !self.called() {
            let _ = self.errback(CancelledError);
            self.cell.state().borrow_mut().suppress_already_called = !had_canceller;
        }
    }

    /// Fail with [`TimeoutError`] unless fired within `timeout` seconds of `clock` (Twisted's
    /// `addTimeout`): on expiry this Deferred is cancelled, and the `CancelledError` that results
    /// becomes a `TimeoutError` in the returned Deferred.
    pub fn add_timeout(&self, timeout: f64, clock: &dyn IReactorTime) -> Deferred<T> {
        let timed_out = Rc::new(Cell::new(false));
        let target = self.clone();
        let flag = timed_out.clone();
        let call = clock.call_later(
            timeout,
            Box::new(move || {
                flag.set(true);
                target.cancel();
            }),
        );
        self.add_both(move |result| {
            if call.active() {
                let _ = call.cancel();
            }
            match result {
                Err(failure) if timed_out.get() && failure.check::<CancelledError>() => {
                    Err(Failure::new(TimeoutError { seconds: timeout }))
                }
                other => other,
            }
        })
    }

    /// The general link: `f` turns this link's result into the next link's outcome.
    fn then<U: 'static>(
        &self,
        f: impl FnOnce(Result<T, Failure>) -> Outcome<U> + 'static,
    ) -> Deferred<U> {
        let mut state = State::new();
        state.upstream = Some(self.upstream_ref());
        let link = Rc::new(LinkCell {
            state: RefCell::new(state),
            f: Cell::new(Some(f)),
            _from: PhantomData::<fn(T)>,
        });
        let next = Deferred::<U> { cell: link.clone() };
        if !self.attach(Continuation::Link(link)) {
            return Deferred::fail(AlreadyChainedError);
        }
        next
    }

    /// Attach the continuation and run it at once if the result is already here. `false` when
    /// this Deferred already has a chain.
    fn attach(&self, continuation: Continuation<T>) -> bool {
        let (ready, awaiting) = {
            let mut s = self.cell.state().borrow_mut();
            if s.chained {
                return false;
            }
            s.chained = true;
            s.continuation = Some(continuation);
            (s.result.is_some() && s.paused == 0, s.waker.take())
        };
        if let Some(waker) = awaiting {
            // A task awaits this Deferred: the callback takes the chain, and the task's next poll
            // reports AlreadyChainedError instead of waiting for ever.
            waker.wake();
        }
        if ready {
            run(self.cell.clone());
        }
        true
    }

    /// This Deferred, as the link whose cancellation a later link passes up to.
    fn upstream_ref(&self) -> Weak<dyn Cancel> {
        Rc::downgrade(&self.cell) as Weak<dyn Cancel>
    }

    /// Settle this link from a callback's outcome; returns what the trampoline runs next.
    fn resolve(&self, outcome: Outcome<T>) -> Next {
        match outcome {
            Outcome::Value(value) => self.store(Ok(value)),
            Outcome::Failure(failure) => self.store(Err(failure)),
            Outcome::Deferred(inner) => {
                if let Some(result) = inner.take_ready() {
                    return self.store(result);
                }
                self.cell.state().borrow_mut().upstream = Some(inner.upstream_ref());
                if !inner.attach(Continuation::Forward(self.cell.clone())) {
                    return self.store(Err(Failure::new(AlreadyChainedError)));
                }
                None
            }
        }
    }

    /// The result, if it is here, unclaimed and not paused: lets a callback that returns an
    /// already-fired Deferred continue in the same loop instead of nesting.
    fn take_ready(&self) -> Option<Result<T, Failure>> {
        let mut s = self.cell.state().borrow_mut();
        if s.chained || s.paused > 0 {
            return None;
        }
        let result = s.result.take();
        if result.is_some() {
            s.chained = true;
        }
        result
    }

    /// Record the result (unless already called) and return this Deferred as the next step.
    fn store(&self, result: Result<T, Failure>) -> Next {
        {
            let mut s = self.cell.state().borrow_mut();
            if s.called {
                // Already fired (cancelled while waiting): a late result is dropped.
                return None;
            }
            s.called = true;
            s.upstream = None;
            s.result = Some(result);
        }
        self.cell.drop_canceller();
        Some(self.cell.clone())
    }

    /// Used by the `Future` implementation.
    pub(crate) fn poll_result(&self, waker: &Waker) -> Option<Result<T, Failure>> {
        let mut s = self.cell.state().borrow_mut();
        if s.continuation.is_some() || (s.chained && s.result.is_none() && s.called) {
            return Some(Err(Failure::new(AlreadyChainedError)));
        }
        if s.paused == 0 {
            if let Some(result) = s.result.take() {
                s.chained = true;
                s.waker = None;
                return Some(result);
            }
        }
        match &s.waker {
            Some(w) if w.will_wake(waker) => {}
            // One awaiter per Deferred, as one chain: a second task gets an error, not a hang.
            Some(_) => return Some(Err(Failure::new(AlreadyChainedError))),
            None => s.waker = Some(waker.clone()),
        }
        None
    }
}

impl<T: 'static> fmt::Debug for Deferred<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.cell.state().borrow();
        let state = match (&s.result, s.called) {
            (Some(Ok(_)), _) => "fired (value)".to_string(),
            (Some(Err(failure)), _) => format!("fired (failure: {failure})"),
            (None, true) => "fired (result consumed)".to_string(),
            (None, false) => "waiting".to_string(),
        };
        write!(f, "<Deferred {state}")?;
        if s.paused > 0 {
            write!(f, ", paused")?;
        }
        write!(f, ">")
    }
}
