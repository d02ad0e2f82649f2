//! `async`/`await` on the reactor: Deferreds are futures, and [`ensure_deferred`] runs an
//! `async` block as a Deferred (Twisted's `ensureDeferred` / `inlineCallbacks`).
//!
//! There is no executor beside the reactor. A task is polled at once when it is created and
//! again, synchronously, whenever something it awaits wakes it on the reactor's thread — exactly
//! as a Twisted coroutine resumes inside the callback of the Deferred it awaited. A wake from
//! another thread is sent to the thread's default reactor with `call_from_thread`, so it is
//! polled on that reactor's next turn.
//!
//! One chain per Deferred holds for `await` too: a Deferred has one awaiter. A second task
//! awaiting the same Deferred, or an `add_callback` on a Deferred a task awaits, takes nothing
//! silently: the task that lost the chain gets [`AlreadyChainedError`](super::AlreadyChainedError).
//!
//! Cancellation: cancelling the Deferred returned by [`ensure_deferred`] drops the future at once
//! (if the task is being polled at that moment — it cancelled itself — right after that poll
//! returns). Dropping a future runs its destructors, and dropping a Deferred it awaited does not
//! cancel that Deferred: cancel it explicitly if the operation should stop too.

use super::{Deferred, Failure, IntoOutcome, Outcome};
use crate::reactor::{Reactor, ReactorHandle};
use slab::Slab;
use std::cell::{Cell, RefCell};
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, ThreadId};

/// Awaiting a Deferred takes its result: `Ok(value)` or `Err(failure)`.
impl<T: 'static> Future for Deferred<T> {
    type Output = Result<T, Failure>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.poll_result(cx.waker()) {
            Some(result) => Poll::Ready(result),
            None => Poll::Pending,
        }
    }
}

type BoxedTask = Pin<Box<dyn Future<Output = ()>>>;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum TaskState {
    Idle,
    Running,
    Notified,
    Done,
}

struct Task {
    future: RefCell<Option<BoxedTask>>,
    state: Cell<TaskState>,
    cancelled: Cell<bool>,
    waker: Waker,
}

struct TaskWaker {
    thread: ThreadId,
    key: usize,
    generation: u64,
    reactor: ReactorHandle,
}

struct Executor {
    tasks: RefCell<Slab<(u64, Rc<Task>)>>,
    next_generation: Cell<u64>,
    reactor: ReactorHandle,
}

thread_local! {
    static EXECUTOR: Executor = Executor {
        tasks: RefCell::new(Slab::new()),
        next_generation: Cell::new(0),
        reactor: Reactor::default().handle(),
    };
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if thread::current().id() == self.thread {
            poll_task(self.key, self.generation);
        } else {
            let (key, generation) = (self.key, self.generation);
            self.reactor
                .call_from_thread(move || poll_task(key, generation));
        }
    }
}

fn lookup(key: usize, generation: u64) -> Option<Rc<Task>> {
    EXECUTOR.with(|ex| {
        ex.tasks
            .borrow()
            .get(key)
            .filter(|(g, _)| *g == generation)
            .map(|(_, task)| task.clone())
    })
}

fn remove(key: usize, generation: u64) {
    let removed = EXECUTOR.with(|ex| {
        let mut tasks = ex.tasks.borrow_mut();
        match tasks.get(key) {
            Some((g, _)) if *g == generation => Some(tasks.remove(key)),
            _ => None,
        }
    });
    // Dropped here, outside the executor's borrow: the future's destructors may spawn tasks.
    drop(removed);
}

fn poll_task(key: usize, generation: u64) {
    let Some(task) = lookup(key, generation) else {
        return;
    };
    match task.state.get() {
        TaskState::Running | TaskState::Notified => {
            task.state.set(TaskState::Notified);
            return;
        }
        TaskState::Done => return,
        TaskState::Idle => {}
    }
    loop {
        task.state.set(TaskState::Running);
        let Some(mut future) = task.future.borrow_mut().take() else {
            return;
        };
        let mut cx = Context::from_waker(&task.waker);
        let ready = future.as_mut().poll(&mut cx).is_ready();
        if ready || task.cancelled.get() {
            task.state.set(TaskState::Done);
            remove(key, generation);
            drop(future);
            return;
        }
        *task.future.borrow_mut() = Some(future);
        if task.state.get() == TaskState::Notified {
            continue;
        }
        task.state.set(TaskState::Idle);
        return;
    }
}

fn cancel_task(key: usize, generation: u64) {
    let Some(task) = lookup(key, generation) else {
        return;
    };
    match task.state.get() {
        TaskState::Running | TaskState::Notified => task.cancelled.set(true),
        TaskState::Done => {}
        TaskState::Idle => {
            task.state.set(TaskState::Done);
            let future = task.future.borrow_mut().take();
            remove(key, generation);
            drop(future);
        }
    }
}

/// Run a future on the reactor and return a Deferred for its result (Twisted's `ensureDeferred`,
/// the Rust form of `inlineCallbacks`).
///
/// The future is polled at once, up to its first pending `await`. Its output may be anything a
/// callback may return ([`IntoOutcome`]): usually `Result<T, Failure>`, so `?` works on
/// Deferreds and on any error type. Cancelling the returned Deferred drops the future (see the
/// module documentation).
///
/// ```
/// use reactor::defer::{ensure_deferred, Deferred, Failure};
///
/// let first = Deferred::<u32>::new();
/// let awaited = first.clone();
/// let sum = ensure_deferred(async move {
///     let x = awaited.await?;
///     let y = Deferred::succeed(2).await?;
///     Ok::<_, Failure>(x + y)
/// });
/// assert!(!sum.called());
/// first.callback(40).unwrap();
/// assert_eq!(sum.take_result().unwrap().unwrap(), 42);
/// ```
pub fn ensure_deferred<F>(future: F) -> Deferred<<F::Output as IntoOutcome>::Value>
where
    F: Future + 'static,
    F::Output: IntoOutcome,
{
    let result: Deferred<Outcome<<F::Output as IntoOutcome>::Value>> =
        spawn(async move { Outcome::Value(future.await.into_outcome()) });
    result.add_callback(|outcome| outcome)
}

/// Spawn a future whose output is the Deferred's value.
fn spawn<T: 'static>(future: impl Future<Output = Outcome<T>> + 'static) -> Deferred<T> {
    let slot: Rc<Cell<Option<(usize, u64)>>> = Rc::new(Cell::new(None));
    let canceller_slot = slot.clone();
    let d = Deferred::with_canceller(move |_| {
        if let Some((key, generation)) = canceller_slot.get() {
            cancel_task(key, generation);
        }
    });
    let target = d.clone();
    let wrapped: BoxedTask = Box::pin(async move {
        let outcome = future.await;
        match outcome {
            Outcome::Value(value) => {
                let _ = target.callback(value);
            }
            Outcome::Failure(failure) => {
                let _ = target.errback(failure);
            }
            Outcome::Deferred(inner) => inner.chain_deferred(&target),
        }
    });
    let (key, generation) = EXECUTOR.with(|ex| {
        let generation = ex.next_generation.get();
        ex.next_generation.set(generation + 1);
        let mut tasks = ex.tasks.borrow_mut();
        let entry = tasks.vacant_entry();
        let key = entry.key();
        let waker = Waker::from(Arc::new(TaskWaker {
            thread: thread::current().id(),
            key,
            generation,
            reactor: ex.reactor.clone(),
        }));
        entry.insert((
            generation,
            Rc::new(Task {
                future: RefCell::new(Some(wrapped)),
                state: Cell::new(TaskState::Idle),
                cancelled: Cell::new(false),
                waker,
            }),
        ));
        (key, generation)
    });
    slot.set(Some((key, generation)));
    poll_task(key, generation);
    d
}

impl<T: 'static> Deferred<T> {
    /// A Deferred for a future's result (the future runs as with [`ensure_deferred`]).
    pub fn from_future<F>(future: F) -> Deferred<T>
    where
        F: Future<Output = Result<T, Failure>> + 'static,
    {
        ensure_deferred(future)
    }
}

/// `IntoFuture` for a reference, so a shared Deferred can be awaited without moving the handle:
/// `(&d).await`.
impl<T: 'static> IntoFuture for &Deferred<T> {
    type Output = Result<T, Failure>;
    type IntoFuture = Deferred<T>;

    fn into_future(self) -> Deferred<T> {
        self.clone()
    }
}

/// How many tasks this thread's executor holds (for tests that check tasks are dropped).
pub fn pending_tasks() -> usize {
    EXECUTOR.with(|ex| ex.tasks.borrow().len())
}
