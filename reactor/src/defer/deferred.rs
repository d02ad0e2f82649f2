//! [`Deferred<T>`]: a result that is not there yet, with a typed callback chain.

use super::errors::{AlreadyCalledError, AlreadyChainedError, CancelledError, TimeoutError};
use super::{Failure, IntoOutcome, Outcome};
use crate::interfaces::IReactorTime;
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::marker::PhantomData;
use std::rc::{Rc, Weak};
use std::task::Waker;

/// What runs when a Deferred's result is ready: it hands the result on and says which
/// Deferred (if any) has become ready to run next, so that the trampoline in [`run`] can
/// continue without recursion.
enum Continuation<T: 'static> {
    /// Any function of the result.
    Boxed(Box<dyn FnOnce(Result<T, Failure>) -> Next>),
    /// The next link of the chain, which holds its own callback: one allocation per
    /// `add_callback`, not one for the link and one for the boxed callback.
    Link(Rc<dyn Resume<T>>),
    /// Another Deferred that takes the result as its own (a link waiting for the Deferred its
    /// callback returned).
    Forward(Rc<dyn Slot<T>>),
}

impl<T: 'static> Continuation<T> {
    fn run(self, result: Result<T, Failure>) -> Next {
        match self {
            Continuation::Boxed(f) => f(result),
            Continuation::Link(link) => link.resume(result),
            Continuation::Forward(target) => Deferred { cell: target }.store(result),
        }
    }
}

/// The next Deferred the trampoline should step, type-erased.
pub(crate) type Next = Option<Rc<dyn Step>>;

/// One step of the trampoline: hand a ready result to its continuation.
pub(crate) trait Step {
    fn step(self: Rc<Self>) -> Next;
}

/// Cancellation, type-erased, for walking up a chain.
trait Cancel {
    fn cancel_erased(self: Rc<Self>);
}

/// One Deferred's storage, whichever kind of cell holds it: a plain one, one with its
/// canceller inline, or a chain link with its callback inline.
trait Slot<T: 'static>: Step + Cancel {
    fn state(&self) -> &RefCell<State<T>>;
    /// Take the canceller and call it on `d`; `false` when there is none.
    fn run_canceller(&self, _d: &Deferred<T>) -> bool {
        false
    }
    /// Drop the canceller (the Deferred has fired).
    fn drop_canceller(&self) {}
}

/// A chain link taking the previous link's result.
trait Resume<T> {
    fn resume(self: Rc<Self>, result: Result<T, Failure>) -> Next;
}

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

/// A Deferred made by [`Deferred::new`], `succeed` or `fail`.
struct PlainCell<T: 'static> {
    state: RefCell<State<T>>,
}

/// A Deferred made by [`Deferred::with_canceller`], the canceller kept inline.
struct CancellerCell<T: 'static, C> {
    state: RefCell<State<T>>,
    canceller: Cell<Option<C>>,
}

/// The Deferred an `add_callback` (or its kin) returns, with the callback `f` that turns the
/// previous link's `T` into this one's `U`.
struct LinkCell<T, U: 'static, F> {
    state: RefCell<State<U>>,
    f: Cell<Option<F>>,
    _from: PhantomData<fn(T)>,
}

struct State<T: 'static> {
    /// The current result, once fired and until a continuation or an `await` takes it.
    result: Option<Result<T, Failure>>,
    /// `callback`/`errback` happened (or the result arrived from upstream).
    called: bool,
    /// A continuation was attached at some point; the result is (or will be) its.
    chained: bool,
    continuation: Option<Continuation<T>>,
    waker: Option<Waker>,
    /// The Deferred whose cancellation fires this one: the previous link, or the Deferred that a
    /// callback returned and this link now waits for.
    upstream: Option<Weak<dyn Cancel>>,
    paused: u32,
    /// Set by `cancel()` on a Deferred without a canceller; one later `callback()` from the
    /// original producer is then ignored.
    suppress_already_called: bool,
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

impl<T: 'static> State<T> {
    fn new() -> State<T> {
        State {
            result: None,
            called: false,
            chained: false,
            continuation: None,
            waker: None,
            upstream: None,
            paused: 0,
            suppress_already_called: false,
        }
    }

    /// Hand a ready result to the continuation (or wake the task awaiting it).
    fn step(cell: &RefCell<State<T>>) -> Next {
        let (continuation, result) = {
            let mut s = cell.borrow_mut();
            if s.paused > 0 || s.result.is_none() {
                return None;
            }
            match s.continuation.take() {
                Some(c) => (c, s.result.take().expect("checked above")),
                None => {
                    let waker = s.waker.take();
                    drop(s);
                    if let Some(waker) = waker {
                        waker.wake();
                    }
                    return None;
                }
            }
        };
        continuation.run(result)
    }

    /// What a cell does when it is dropped: report an unhandled failure, and drop the rest of
    /// the chain without recursion.
    fn on_drop(&mut self) {
        if let Some(Err(failure)) = &self.result {
            log::error!("Unhandled error in Deferred: {}", failure.get_traceback());
        }
        if let Some(continuation) = self.continuation.take() {
            drop_without_recursion(Box::new(continuation));
        }
    }
}

/// `Step` and `Cancel` for a cell type with a `state` field; `Slot` is each type's own.
macro_rules! step_and_cancel {
    ([$($generics:tt)*] $cell:ty, $value:ty) => {
        impl<$($generics)*> Step for $cell {
            fn step(self: Rc<Self>) -> Next {
                State::step(&self.state)
            }
        }

        impl<$($generics)*> Cancel for $cell {
            fn cancel_erased(self: Rc<Self>) {
                Deferred::<$value> { cell: self }.cancel();
            }
        }
    };
}

step_and_cancel!([T: 'static] PlainCell<T>, T);
step_and_cancel!([T: 'static, C: FnOnce(&Deferred<T>) + 'static] CancellerCell<T, C>, T);
step_and_cancel!(
    [T: 'static, U: 'static, F: FnOnce(Result<T, Failure>) -> Outcome<U> + 'static]
    LinkCell<T, U, F>,
    U
);

impl<T: 'static> Drop for PlainCell<T> {
    fn drop(&mut self) {
        self.state.get_mut().on_drop();
    }
}

impl<T: 'static, C> Drop for CancellerCell<T, C> {
    fn drop(&mut self) {
        self.state.get_mut().on_drop();
    }
}

impl<T, U: 'static, F> Drop for LinkCell<T, U, F> {
    fn drop(&mut self) {
        self.state.get_mut().on_drop();
    }
}

impl<T: 'static> Slot<T> for PlainCell<T> {
    fn state(&self) -> &RefCell<State<T>> {
        &self.state
    }
}

impl<T: 'static, C: FnOnce(&Deferred<T>) + 'static> Slot<T> for CancellerCell<T, C> {
    fn state(&self) -> &RefCell<State<T>> {
        &self.state
    }

    fn run_canceller(&self, d: &Deferred<T>) -> bool {
        match self.canceller.take() {
            Some(canceller) => {
                canceller(d);
                true
            }
            None => false,
        }
    }

    fn drop_canceller(&self) {
        drop(self.canceller.take());
    }
}

impl<T, U, F> Slot<U> for LinkCell<T, U, F>
where
    T: 'static,
    U: 'static,
    F: FnOnce(Result<T, Failure>) -> Outcome<U> + 'static,
{
    fn state(&self) -> &RefCell<State<U>> {
        &self.state
    }
}

impl<T, U, F> Resume<T> for LinkCell<T, U, F>
where
    T: 'static,
    U: 'static,
    F: FnOnce(Result<T, Failure>) -> Outcome<U> + 'static,
{
    fn resume(self: Rc<Self>, result: Result<T, Failure>) -> Next {
        // Taken once: a link runs at most once.
        let f = self.f.take()?;
        let outcome = f(result);
        Deferred::<U> { cell: self }.resolve(outcome)
    }
}

thread_local! {
    /// Continuations waiting to be dropped by the outermost [`drop_without_recursion`].
    static DROP_QUEUE: RefCell<Option<Vec<Box<dyn Any>>>> = const { RefCell::new(None) };
}

/// Drop an unrun continuation, and with it the rest of the chain it owns, in a loop: each link
/// owns the next one through its continuation, so dropping an unfired chain of many links by
/// plain recursion would overflow the stack.
fn drop_without_recursion(continuation: Box<dyn Any>) {
    let mut item = Some(continuation);
    let outermost = DROP_QUEUE.try_with(|queue| {
        let mut queue = queue.borrow_mut();
        match queue.as_mut() {
            Some(pending) => {
                pending.extend(item.take());
                false
            }
            None => {
                *queue = Some(Vec::new());
                true
            }
        }
    });
    if outermost != Ok(true) {
        // Queued for the outer loop, or thread-local storage is gone (thread exit): drop here.
        return;
    }
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            let rest = DROP_QUEUE.try_with(|queue| queue.borrow_mut().take());
            drop(rest);
        }
    }
    let _reset = Reset;
    while let Some(next) = item {
        drop(next);
        item = DROP_QUEUE
            .try_with(|queue| queue.borrow_mut().as_mut().and_then(Vec::pop))
            .ok()
            .flatten();
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

/// Run the trampoline from one ready Deferred until the chain settles.
fn run(start: Rc<dyn Step>) {
    let mut next: Next = Some(start);
    while let Some(step) = next {
        next = step.step();
    }
}
