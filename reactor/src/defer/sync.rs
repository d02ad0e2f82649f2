//! Coordination between Deferred-returning operations: [`DeferredLock`],
//! [`DeferredSemaphore`] and [`DeferredQueue`] (Twisted's `defer.DeferredLock`, ...).
//!
//! All three hand things out through Deferreds, to waiters in the order they asked (FIFO), and
//! a waiter that is cancelled before its turn leaves the line (its Deferred fails with
//! [`CancelledError`](super::CancelledError)). Nothing here blocks a thread: they coordinate
//! callbacks on one reactor thread.

use super::errors::simple_error;
use super::{maybe_deferred, Deferred, IntoOutcome};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::error::Error;
use std::fmt;
use std::rc::{Rc, Weak};

/// A line of waiters, each with an id so that a cancelled one can leave.
struct Waiters<T: 'static> {
    line: VecDeque<(u64, Deferred<T>)>,
    next_id: u64,
}

impl<T: 'static> Default for Waiters<T> {
    fn default() -> Self {
        Waiters {
            line: VecDeque::new(),
            next_id: 0,
        }
    }
}

/// A new waiter at the end of the line kept in `owner`; cancelling it removes it.
fn enqueue<S: 'static, T: 'static>(
    owner: &Rc<RefCell<S>>,
    waiters: impl Fn(&mut S) -> &mut Waiters<T> + 'static,
) -> Deferred<T> {
    let weak: Weak<RefCell<S>> = Rc::downgrade(owner);
    let mut state = owner.borrow_mut();
    let line = waiters(&mut state);
    let id = line.next_id;
    line.next_id += 1;
    let d = Deferred::with_canceller(move |_| {
        if let Some(owner) = weak.upgrade() {
            let removed = {
                let mut state = owner.borrow_mut();
                let line = &mut waiters(&mut state).line;
                let at = line.iter().position(|(i, _)| *i == id);
                at.and_then(|at| line.remove(at))
            };
            drop(removed);
        }
    });
    line.line.push_back((id, d.clone()));
    d
}

/// A semaphore for Deferred-returning operations (Twisted's `DeferredSemaphore`): at most
/// [`limit`](Self::limit) holders at a time.
///
/// [`acquire`](Self::acquire) returns a Deferred that fires when a token is free; every
/// successful acquire needs one [`release`](Self::release). [`run`](Self::run) does both around
/// a function. A clone is a handle to the same semaphore.
///
/// ```
/// use reactor::defer::{Deferred, DeferredSemaphore};
///
/// let sem = DeferredSemaphore::new(2);
/// let jobs: Vec<Deferred<u32>> = (0..3).map(|_| Deferred::new()).collect();
/// let results: Vec<_> = jobs.iter().map(|job| {
///     let job = job.clone();
///     sem.run(move || job)
/// }).collect();
/// assert_eq!(sem.tokens(), 0); // two jobs run, the third waits
/// jobs[0].callback(10).unwrap(); // its token goes to the third job
/// assert_eq!(sem.tokens(), 0);
/// jobs[1].callback(11).unwrap();
/// jobs[2].callback(12).unwrap();
/// assert_eq!(sem.tokens(), 2);
/// assert_eq!(results[2].take_result().unwrap().unwrap(), 12);
/// ```
#[derive(Clone)]
pub struct DeferredSemaphore {
    state: Rc<RefCell<SemaphoreState>>,
    /// Set while `release` hands out tokens, so that releases from inside the waiters' callbacks
    /// leave the handing out to the outer loop instead of recursing.
    dispatching: Rc<Cell<bool>>,
}

struct SemaphoreState {
    tokens: usize,
    limit: usize,
    waiters: Waiters<()>,
}

impl DeferredSemaphore {
    /// A semaphore with `tokens` tokens. Panics if `tokens` is 0 (no acquire could ever succeed).
    pub fn new(tokens: usize) -> DeferredSemaphore {
        assert!(tokens >= 1, "DeferredSemaphore needs at least one token");
        DeferredSemaphore {
            state: Rc::new(RefCell::new(SemaphoreState {
                tokens,
                limit: tokens,
                waiters: Waiters::default(),
            })),
            dispatching: Rc::new(Cell::new(false)),
        }
    }

    /// The tokens free now.
    pub fn tokens(&self) -> usize {
        self.state.borrow().tokens
    }

    /// The number of tokens the semaphore was made with.
    pub fn limit(&self) -> usize {
        self.state.borrow().limit
    }

    /// How many acquires are waiting for a token.
    pub fn waiting(&self) -> usize {
        self.state.borrow().waiters.line.len()
    }

    /// A Deferred that fires when this caller holds a token: at once if one is free and nobody
    /// waits, else after the earlier waiters. Cancelling it before it fires leaves the line.
    pub fn acquire(&self) -> Deferred<()> {
        {
            let mut s = self.state.borrow_mut();
            if s.tokens > 0 && s.waiters.line.is_empty() {
                s.tokens -= 1;
                return Deferred::succeed(());
            }
        }
        enqueue(&self.state, |s: &mut SemaphoreState| &mut s.waiters)
    }

    /// Give a token back; the first waiter, if any, gets it (its callbacks run now).
    /// [`NotAcquiredError`] if every token is already free.
    pub fn release(&self) -> Result<(), NotAcquiredError> {
        {
            let mut s = self.state.borrow_mut();
            if s.tokens >= s.limit {
                return Err(NotAcquiredError);
            }
            s.tokens += 1;
        }
        if self.dispatching.replace(true) {
            return Ok(());
        }
        let _reset = ResetOnDrop(&self.dispatching);
        while let Some(waiter) = self.next_waiter() {
            if waiter.callback(()).is_err() {
                // Fired by someone else: the token was not taken.
                self.state.borrow_mut().tokens += 1;
            }
        }
        Ok(())
    }

    fn next_waiter(&self) -> Option<Deferred<()>> {
        let mut s = self.state.borrow_mut();
        if s.tokens == 0 {
            return None;
        }
        let (_, waiter) = s.waiters.line.pop_front()?;
        s.tokens -= 1;
        Some(waiter)
    }

    /// Acquire, call `f`, and release when what `f` returns has finished, success or failure
    /// (Twisted's `run`). `f` may return a value, a `Result` or a Deferred ([`IntoOutcome`]); the
    /// returned Deferred fires with its outcome. Cancelling it while it waits for a token leaves
    /// the line; cancelling it while `f`'s Deferred runs cancels that Deferred.
    pub fn run<R, F>(&self, f: F) -> Deferred<R::Value>
    where
        R: IntoOutcome,
        F: FnOnce() -> R + 'static,
    {
        let me = self.clone();
        self.acquire().add_callback(move |()| {
            maybe_deferred(f).add_both(move |result| {
                let _ = me.release();
                result
            })
        })
    }
}

struct ResetOnDrop<'a>(&'a Cell<bool>);

impl Drop for ResetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

impl fmt::Debug for DeferredSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.borrow();
        write!(
            f,
            "<DeferredSemaphore {}/{} free, {} waiting>",
            s.tokens,
            s.limit,
            s.waiters.line.len()
        )
    }
}

/// A lock for Deferred-returning operations (Twisted's `DeferredLock`): a
/// [`DeferredSemaphore`] with one token.
///
/// ```
/// use reactor::defer::{Deferred, DeferredLock};
///
/// let lock = DeferredLock::new();
/// let first = Deferred::<&str>::new();
/// let f = first.clone();
/// let a = lock.run(move || f);
/// let b = lock.run(|| "second");
/// assert!(lock.locked() && !b.called()); // b waits for a
/// first.callback("first").unwrap();
/// assert_eq!(b.take_result().unwrap().unwrap(), "second");
/// assert!(!lock.locked());
/// # drop(a);
/// ```
#[derive(Clone, Debug)]
pub struct DeferredLock {
    semaphore: DeferredSemaphore,
}

impl Default for DeferredLock {
    fn default() -> Self {
        DeferredLock::new()
    }
}

impl DeferredLock {
    /// An unlocked lock.
    pub fn new() -> DeferredLock {
        DeferredLock {
            semaphore: DeferredSemaphore::new(1),
        }
    }

    /// Whether someone holds the lock.
    pub fn locked(&self) -> bool {
        self.semaphore.tokens() == 0
    }

    /// How many acquires are waiting for the lock.
    pub fn waiting(&self) -> usize {
        self.semaphore.waiting()
    }

    /// A Deferred that fires when the caller holds the lock (see
    /// [`DeferredSemaphore::acquire`]).
    pub fn acquire(&self) -> Deferred<()> {
        self.semaphore.acquire()
    }

    /// Unlock; the first waiter, if any, gets the lock. [`NotAcquiredError`] if not locked.
    pub fn release(&self) -> Result<(), NotAcquiredError> {
        self.semaphore.release()
    }

    /// Lock, call `f`, unlock when its outcome is known (see [`DeferredSemaphore::run`]).
    pub fn run<R, F>(&self, f: F) -> Deferred<R::Value>
    where
        R: IntoOutcome,
        F: FnOnce() -> R + 'static,
    {
        self.semaphore.run(f)
    }
}

/// A queue whose `get` returns a Deferred (Twisted's `DeferredQueue`).
///
/// [`put`](Self::put) hands the value to the oldest waiting `get` (its callbacks run now) or
/// keeps it; [`get`](Self::get) takes the oldest kept value or waits. `size` bounds the kept
/// values ([`QueueOverflow`]) and `backlog` the waiting gets ([`QueueUnderflow`]); `None` is
/// unbounded. A clone is a handle to the same queue.
///
/// ```
/// use reactor::defer::DeferredQueue;
///
/// let queue = DeferredQueue::new();
/// let waiting = queue.get();
/// queue.put("a").unwrap();
/// queue.put("b").unwrap();
/// assert_eq!(waiting.take_result().unwrap().unwrap(), "a");
/// assert_eq!(queue.get().take_result().unwrap().unwrap(), "b");
/// ```
pub struct DeferredQueue<T: 'static> {
    state: Rc<RefCell<QueueState<T>>>,
}

struct QueueState<T: 'static> {
    pending: VecDeque<T>,
    waiters: Waiters<T>,
    size: Option<usize>,
    backlog: Option<usize>,
}

impl<T: 'static> Clone for DeferredQueue<T> {
    fn clone(&self) -> Self {
        DeferredQueue {
            state: self.state.clone(),
        }
    }
}

impl<T: 'static> Default for DeferredQueue<T> {
    fn default() -> Self {
        DeferredQueue::new()
    }
}

impl<T: 'static> DeferredQueue<T> {
    /// An unbounded queue.
    pub fn new() -> DeferredQueue<T> {
        DeferredQueue::with_limits(None, None)
    }

    /// A queue keeping at most `size` values and `backlog` waiting gets.
    pub fn with_limits(size: Option<usize>, backlog: Option<usize>) -> DeferredQueue<T> {
        DeferredQueue {
            state: Rc::new(RefCell::new(QueueState {
                pending: VecDeque::new(),
                waiters: Waiters::default(),
                size,
                backlog,
            })),
        }
    }

    /// The bound on kept values.
    pub fn size(&self) -> Option<usize> {
        self.state.borrow().size
    }

    /// The bound on waiting gets.
    pub fn backlog(&self) -> Option<usize> {
        self.state.borrow().backlog
    }

    /// How many values wait for a `get`.
    pub fn pending(&self) -> usize {
        self.state.borrow().pending.len()
    }

    /// How many gets wait for a value.
    pub fn waiting(&self) -> usize {
        self.state.borrow().waiters.line.len()
    }

    /// Give `value` to the oldest waiting get, or keep it. [`QueueOverflow`] (and `value` is
    /// dropped) if nobody waits and `size` values are already kept.
    pub fn put(&self, value: T) -> Result<(), QueueOverflow> {
        let waiter = {
            let mut s = self.state.borrow_mut();
            match s.waiters.line.pop_front() {
                Some((_, waiter)) => waiter,
                None if s.size.is_some_and(|size| s.pending.len() >= size) => {
                    return Err(QueueOverflow)
                }
                None => {
                    s.pending.push_back(value);
                    return Ok(());
                }
            }
        };
        // Waiters leave the line when cancelled, so this one has not fired.
        let _ = waiter.callback(value);
        Ok(())
    }

    /// A Deferred for the oldest kept value (already fired), or one that fires on a later
    /// `put`. Fails with [`QueueUnderflow`] if `backlog` gets already wait. Cancelling a waiting
    /// get leaves the line.
    pub fn get(&self) -> Deferred<T> {
        {
            let mut s = self.state.borrow_mut();
            if let Some(value) = s.pending.pop_front() {
                return Deferred::succeed(value);
            }
            if s.backlog
                .is_some_and(|backlog| s.waiters.line.len() >= backlog)
            {
                return Deferred::fail(QueueUnderflow);
            }
        }
        enqueue(&self.state, |s: &mut QueueState<T>| &mut s.waiters)
    }
}

impl<T: 'static> fmt::Debug for DeferredQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.borrow();
        write!(
            f,
            "<DeferredQueue {} pending, {} waiting>",
            s.pending.len(),
            s.waiters.line.len()
        )
    }
}

simple_error!(
    /// `release` on a lock or semaphore that nobody holds.
    NotAcquiredError,
    "release() without a matching acquire()"
);

simple_error!(
    /// `put` on a [`DeferredQueue`] that already keeps `size` values.
    QueueOverflow,
    "the DeferredQueue is full"
);

simple_error!(
    /// `get` on a [`DeferredQueue`] that already has `backlog` waiting gets.
    QueueUnderflow,
    "too many gets are waiting on the DeferredQueue"
);
