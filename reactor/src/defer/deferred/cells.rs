//! How a [`Deferred`] is stored: the cell kinds behind its handle (plain, with a canceller,
//! a chain link with its callback), their shared state, the continuations that pass a result
//! on, and the trampoline that runs a chain without recursion.

use super::Deferred;
use crate::defer::{Failure, Outcome};
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::rc::{Rc, Weak};
use std::task::Waker;

/// What runs when a Deferred's result is ready: it hands the result on and says which
/// Deferred (if any) has become ready to run next, so that the trampoline in [`run`] can
/// continue without recursion.
pub(super) enum Continuation<T: 'static> {
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
    pub(super) fn run(self, result: Result<T, Failure>) -> Next {
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
pub(super) trait Cancel {
    fn cancel_erased(self: Rc<Self>);
}

/// One Deferred's storage, whichever kind of cell holds it: a plain one, one with its
/// canceller inline, or a chain link with its callback inline.
pub(super) trait Slot<T: 'static>: Step + Cancel {
    fn state(&self) -> &RefCell<State<T>>;
    /// Take the canceller and call it on `d`; `false` when there is none.
    fn run_canceller(&self, _d: &Deferred<T>) -> bool {
        false
    }
    /// Drop the canceller (the Deferred has fired).
    fn drop_canceller(&self) {}
}

/// A chain link taking the previous link's result.
pub(super) trait Resume<T> {
    fn resume(self: Rc<Self>, result: Result<T, Failure>) -> Next;
}

/// A Deferred made by [`Deferred::new`], `succeed` or `fail`.
pub(super) struct PlainCell<T: 'static> {
    pub(super) state: RefCell<State<T>>,
}

/// A Deferred made by [`Deferred::with_canceller`], the canceller kept inline.
pub(super) struct CancellerCell<T: 'static, C> {
    pub(super) state: RefCell<State<T>>,
    pub(super) canceller: Cell<Option<C>>,
}

/// The Deferred an `add_callback` (or its kin) returns, with the callback `f` that turns the
/// previous link's `T` into this one's `U`.
pub(super) struct LinkCell<T, U: 'static, F> {
    pub(super) state: RefCell<State<U>>,
    pub(super) f: Cell<Option<F>>,
    pub(super) _from: PhantomData<fn(T)>,
}

pub(super) struct State<T: 'static> {
    /// The current result, once fired and until a continuation or an `await` takes it.
    pub(super) result: Option<Result<T, Failure>>,
    /// `callback`/`errback` happened (or the result arrived from upstream).
    pub(super) called: bool,
    /// A continuation was attached at some point; the result is (or will be) its.
    pub(super) chained: bool,
    pub(super) continuation: Option<Continuation<T>>,
    pub(super) waker: Option<Waker>,
    /// The Deferred whose cancellation fires this one: the previous link, or the Deferred that a
    /// callback returned and this link now waits for.
    pub(super) upstream: Option<Weak<dyn Cancel>>,
    pub(super) paused: u32,
    /// Set by `cancel()` on a Deferred without a canceller; one later `callback()` from the
    /// original producer is then ignored.
    pub(super) suppress_already_called: bool,
}

impl<T: 'static> State<T> {
    pub(super) fn new() -> State<T> {
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

/// Run the trampoline from one ready Deferred until the chain settles.
pub(super) fn run(start: Rc<dyn Step>) {
    let mut next: Next = Some(start);
    while let Some(step) = next {
        next = step.step();
    }
}
