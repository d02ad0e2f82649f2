//! Waiting for several Deferreds: [`DeferredList`], [`gather_results`] and [`race`].
//!
//! See [`DeferredList`] for how the inputs' failures and cancellation are handled.

use super::{Deferred, Failure};
use std::cell::{Cell, RefCell};
use std::error::Error;
use std::fmt;
use std::future::IntoFuture;
use std::rc::Rc;

/// Wait for a list of Deferreds (Twisted's `DeferredList`).
///
/// Build it with [`new`](Self::new), set the options, then call
/// [`into_deferred`](Self::into_deferred) (or `await` it) for a `Deferred<ListResult<T>>`:
///
/// | options | the Deferred fires with |
/// |---|---|
/// | none | [`ListResult::All`]: every result, in input order, once all inputs have fired |
/// | `fire_on_one_callback` | [`ListResult::First`] with the first success; `All` if every input fails |
/// | `fire_on_one_errback` | fails with [`FirstError`] at the first failure; else `All` |
///
/// See [Failures and cancellation](#failures-and-cancellation) for `consume_errors`.
///
/// ```
/// use reactor::defer::{Deferred, DeferredList, ListResult};
///
/// let (a, b) = (Deferred::<u32>::new(), Deferred::<u32>::new());
/// let all = DeferredList::new(vec![a.clone(), b.clone()])
///     .consume_errors(true)
///     .into_deferred();
/// b.callback(2).unwrap();
/// a.errback(std::fmt::Error).unwrap();
/// match all.take_result().unwrap().unwrap() {
///     ListResult::All(results) => {
///         assert!(results[0].as_ref().unwrap_err().check::<std::fmt::Error>());
///         assert_eq!(*results[1].as_ref().unwrap(), 2);
///     }
///     ListResult::First { .. } => unreachable!(),
/// }
/// ```
///
/// # Failures and cancellation
///
/// A `Deferred<T>` has one callback chain (see [`Deferred`]), and a list takes the chain of each
/// input, as [`gather_results`] and [`race`] do: each input's result goes to the list. What remains of each input's chain after the list has seen
/// the result is a small link Deferred owned by the list, and that link models Twisted's
/// `consumeErrors` flag:
///
/// * `consume_errors(true)`: the link ends with `()`, so a failure is handled once the list has
///   recorded it.
/// * `consume_errors(false)` (the default, as in Twisted): the link keeps the failure. Nobody else
///   can reach that link, so the failure is logged as an unhandled error in a Deferred when the
///   list lets go of the link: when the list fires or, if the input fails later, at once. Twisted
///   logs the same failure when the input Deferred is garbage-collected.
///
/// Cancelling the Deferred of a list cancels every input that has not fired yet.
#[must_use = "a DeferredList does nothing until into_deferred() or await"]
pub struct DeferredList<T: 'static> {
    deferreds: Vec<Deferred<T>>,
    options: Options,
}

#[derive(Clone, Copy, Default)]
struct Options {
    fire_on_one_callback: bool,
    fire_on_one_errback: bool,
    consume_errors: bool,
}

/// What a [`DeferredList`] fires with.
#[derive(Debug)]
pub enum ListResult<T> {
    /// Every input's result, in input order.
    All(Vec<Result<T, Failure>>),
    /// With `fire_on_one_callback`: the first input to succeed.
    First {
        /// The input's position in the list.
        index: usize,
        /// Its value.
        value: T,
    },
}

/// The first failure of a [`DeferredList`] with `fire_on_one_errback`, or of
/// [`gather_results`] (Twisted's `FirstError`).
#[derive(Debug, Clone)]
pub struct FirstError {
    /// The failed input's position in the list.
    pub index: usize,
    /// Its failure.
    pub failure: Failure,
}

impl fmt::Display for FirstError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FirstError[#{}, {}]", self.index, self.failure)
    }
}

impl Error for FirstError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(self.failure.error())
    }
}

/// Every input of a [`race`] failed (Twisted's `FailureGroup`).
#[derive(Debug, Clone)]
pub struct FailureGroup {
    /// The failures, in input order.
    pub failures: Vec<Failure>,
}

impl fmt::Display for FailureGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "all {} Deferreds failed", self.failures.len())?;
        for (index, failure) in self.failures.iter().enumerate() {
            write!(f, "; #{index}: {failure}")?;
        }
        Ok(())
    }
}

impl Error for FailureGroup {}

impl<T: 'static> DeferredList<T> {
    /// A list of `deferreds`, with every option off.
    pub fn new(deferreds: Vec<Deferred<T>>) -> DeferredList<T> {
        DeferredList {
            deferreds,
            options: Options::default(),
        }
    }

    /// Fire with [`ListResult::First`] as soon as one input succeeds.
    pub fn fire_on_one_callback(mut self, yes: bool) -> Self {
        self.options.fire_on_one_callback = yes;
        self
    }

    /// Fail with [`FirstError`] as soon as one input fails.
    pub fn fire_on_one_errback(mut self, yes: bool) -> Self {
        self.options.fire_on_one_errback = yes;
        self
    }

    /// Treat the inputs' failures as handled once recorded (see
    /// [Failures and cancellation](DeferredList#failures-and-cancellation)).
    pub fn consume_errors(mut self, yes: bool) -> Self {
        self.options.consume_errors = yes;
        self
    }

    /// Take the inputs' chains and return the list's Deferred. An empty list fires at once with
    /// `ListResult::All(vec![])`, whatever the options.
    pub fn into_deferred(self) -> Deferred<ListResult<T>> {
        let count = self.deferreds.len();
        if count == 0 {
            return Deferred::succeed(ListResult::All(Vec::new()));
        }
        let tails = Tails::default();
        let done = tails.cancelling_deferred();
        let state = Rc::new(ListState {
            results: RefCell::new((0..count).map(|_| None).collect()),
            remaining: Cell::new(count),
            done: done.clone(),
            options: self.options,
        });
        for (index, d) in self.deferreds.into_iter().enumerate() {
            let state = state.clone();
            tails.watch(&d, self.options.consume_errors, move |result| {
                state.record(index, result)
            });
        }
        done
    }
}

impl<T: 'static> IntoFuture for DeferredList<T> {
    type Output = Result<ListResult<T>, Failure>;
    type IntoFuture = Deferred<ListResult<T>>;

    fn into_future(self) -> Deferred<ListResult<T>> {
        self.into_deferred()
    }
}

struct ListState<T: 'static> {
    results: RefCell<Vec<Option<Result<T, Failure>>>>,
    remaining: Cell<usize>,
    done: Deferred<ListResult<T>>,
    options: Options,
}

impl<T: 'static> ListState<T> {
    fn record(&self, index: usize, result: Result<T, Failure>) {
        self.remaining.set(self.remaining.get() - 1);
        if self.done.called() {
            return;
        }
        let fire = match result {
            Ok(value) if self.options.fire_on_one_callback => {
                Some(Ok(ListResult::First { index, value }))
            }
            Err(failure) if self.options.fire_on_one_errback => {
                Some(Err(Failure::new(FirstError { index, failure })))
            }
            result => {
                let mut results = self.results.borrow_mut();
                results[index] = Some(result);
                (self.remaining.get() == 0).then(|| {
                    let all = results.drain(..).map(|r| r.expect("every input fired"));
                    Ok(ListResult::All(all.collect()))
                })
            }
        };
        if let Some(result) = fire {
            let _ = self.done.fire(result);
        }
    }
}

/// The rest of each input's chain, kept by the helper so that cancelling the helper's Deferred
/// can cancel the inputs (a link cancels its upstream) without holding the inputs themselves.
#[derive(Clone, Default)]
struct Tails(Rc<RefCell<Vec<Deferred<()>>>>);

impl Tails {
    /// A Deferred whose cancellation cancels every input that has not fired.
    fn cancelling_deferred<U: 'static>(&self) -> Deferred<U> {
        let tails = self.clone();
        Deferred::with_canceller(move |_| tails.cancel_all(None))
    }

    /// Cancel the unfired inputs, except the one at `except`.
    fn cancel_all(&self, except: Option<usize>) {
        let tails = self.0.take();
        for (index, tail) in tails.iter().enumerate() {
            if Some(index) != except {
                tail.cancel();
            }
        }
    }

    /// Take `d`'s chain: `record` gets its result. If `d` was already chained, `record` gets an
    /// `AlreadyChainedError` failure.
    fn watch<T: 'static>(
        &self,
        d: &Deferred<T>,
        consume_errors: bool,
        record: impl FnOnce(Result<T, Failure>) + 'static,
    ) {
        let ran = Rc::new(Cell::new(false));
        let flag = ran.clone();
        let record = Rc::new(RefCell::new(Some(record)));
        let first = record.clone();
        let tail = d.add_both(move |result: Result<T, Failure>| {
            flag.set(true);
            let kept = match &result {
                Err(failure) if !consume_errors => Err(failure.clone()),
                _ => Ok(()),
            };
            if let Some(record) = first.take() {
                record(result);
            }
            kept
        });
        if !ran.get() && tail.called() {
            // `add_both` refused: `d` already had a chain. Report it through the list.
            let failure = tail.take_result().and_then(Result::err);
            if let (Some(failure), Some(record)) = (failure, record.take()) {
                record(Err(failure));
            }
            return;
        }
        self.0.borrow_mut().push(tail);
    }
}

/// Wait for every Deferred and fire with their values in input order, or fail with
/// [`FirstError`] at the first failure (Twisted's `gatherResults`). See the
/// [`DeferredList`](DeferredList#failures-and-cancellation) for `consume_errors`.
///
/// ```
/// use reactor::defer::{gather_results, Deferred, FirstError};
///
/// let d = gather_results(vec![Deferred::succeed(1), Deferred::succeed(2)], true);
/// assert_eq!(d.take_result().unwrap().unwrap(), vec![1, 2]);
///
/// let failing = Deferred::<u32>::new();
/// let d = gather_results(vec![Deferred::new(), failing.clone()], true);
/// failing.errback(std::fmt::Error).unwrap();
/// let failure = d.take_result().unwrap().unwrap_err();
/// assert_eq!(failure.value::<FirstError>().unwrap().index, 1);
/// ```
pub fn gather_results<T: 'static>(
    deferreds: Vec<Deferred<T>>,
    consume_errors: bool,
) -> Deferred<Vec<T>> {
    DeferredList::new(deferreds)
        .fire_on_one_errback(true)
        .consume_errors(consume_errors)
        .into_deferred()
        .add_callback(|result| match result {
            ListResult::All(results) => results.into_iter().collect::<Result<Vec<T>, Failure>>(),
            ListResult::First { .. } => unreachable!("fire_on_one_callback is off"),
        })
}

/// The first Deferred to succeed, with its index; the others are cancelled (Twisted's `race`).
///
/// If every input fails, the result fails with a [`FailureGroup`] of all the failures (an empty
/// list fails at once with an empty group). The inputs' failures, including the
/// `CancelledError`s of the losers, count as handled. Cancelling the result cancels every input.
///
/// ```
/// use reactor::defer::{race, Deferred, CancelledError};
///
/// let (slow, fast) = (Deferred::<&str>::new(), Deferred::<&str>::new());
/// let loser = slow.add_errback(|f| f.trap::<CancelledError>().map(|_| "cancelled"));
/// let winner = race(vec![loser, fast.clone()]);
/// fast.callback("fast").unwrap();
/// assert_eq!(winner.take_result().unwrap().unwrap(), (1, "fast"));
/// ```
pub fn race<T: 'static>(deferreds: Vec<Deferred<T>>) -> Deferred<(usize, T)> {
    let count = deferreds.len();
    if count == 0 {
        return Deferred::fail(FailureGroup {
            failures: Vec::new(),
        });
    }
    let tails = Tails::default();
    let state = Rc::new(RaceState {
        failures: RefCell::new((0..count).map(|_| None).collect()),
        remaining: Cell::new(count),
        done: tails.cancelling_deferred(),
        tails: tails.clone(),
    });
    for (index, d) in deferreds.into_iter().enumerate() {
        let state = state.clone();
        tails.watch(&d, true, move |result| state.record(index, result));
    }
    state.done.clone()
}

struct RaceState<T: 'static> {
    failures: RefCell<Vec<Option<Failure>>>,
    remaining: Cell<usize>,
    done: Deferred<(usize, T)>,
    tails: Tails,
}

impl<T: 'static> RaceState<T> {
    fn record(&self, index: usize, result: Result<T, Failure>) {
        self.remaining.set(self.remaining.get() - 1);
        if self.done.called() {
            return;
        }
        match result {
            Ok(value) => {
                // Fire first, so that the losers' cancellation finds the race decided.
                let _ = self.done.callback((index, value));
                self.tails.cancel_all(Some(index));
            }
            Err(failure) => {
                self.failures.borrow_mut()[index] = Some(failure);
                if self.remaining.get() == 0 {
                    let failures = self.failures.take().into_iter();
                    let group = FailureGroup {
                        failures: failures.map(|f| f.expect("every input failed")).collect(),
                    };
                    let _ = self.done.errback(group);
                }
            }
        }
    }
}
