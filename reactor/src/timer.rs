//! Timers: [`DelayedCall`] and the heap that orders them, shared by [`Reactor`](crate::Reactor)
//! and [`Clock`](crate::task::Clock).
//!
//! Cancellation is lazy: a cancelled call drops its function at once and leaves a small entry in
//! the heap, which is skipped when it reaches the top. When such garbage outnumbers the live
//! entries the heap is rebuilt, so a million scheduled-then-cancelled calls cost neither time on
//! later turns of the loop nor memory once they are gone. Postponing a call (`reset` to a later
//! time, `delay`) only changes its time; the heap entry is moved when it surfaces.

use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::error::Error;
use std::fmt;
use std::rc::{Rc, Weak};
use std::time::Instant;

/// Garbage entries tolerated before the heap may be rebuilt.
const MIN_GARBAGE_TO_COMPACT: usize = 1024;

/// The longest delay kept, in seconds (about 31 million years). Longer delays, infinity and NaN
/// mean "not in this program's lifetime" and are clamped to it, so every due time stays finite and
/// converts to the `Duration` the reactor waits for.
const MAX_DELAY: f64 = 1e15;

/// A delay made safe to add to the clock: negative is 0, NaN and too long are [`MAX_DELAY`].
fn bounded_delay(delay: f64) -> f64 {
    if delay.is_nan() {
        MAX_DELAY
    } else {
        delay.clamp(0.0, MAX_DELAY)
    }
}

/// Where a timer queue reads the time.
pub(crate) enum TimeSource {
    /// Monotonic seconds since the reactor started.
    Monotonic(Instant),
    /// A manual clock for tests.
    Manual(Cell<f64>),
}

/// The heap of pending calls plus its time source.
pub(crate) struct Timers {
    queue: RefCell<TimerQueue>,
    time: TimeSource,
}

#[derive(Default)]
struct TimerQueue {
    heap: BinaryHeap<Entry>,
    garbage: usize,
    seq: u64,
}

struct Entry {
    time: f64,
    seq: u64,
    generation: u32,
    call: Rc<CallInner>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest time, then the first
    /// scheduled.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .time
            .total_cmp(&self.time)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum CallState {
    Pending,
    Called,
    Cancelled,
}

struct CallInner {
    time: Cell<f64>,
    state: Cell<CallState>,
    generation: Cell<u32>,
    func: RefCell<Option<Box<dyn FnOnce()>>>,
    timers: Weak<Timers>,
}

impl Entry {
    /// Whether the entry still stands for its call at this time.
    fn is_live(&self) -> bool {
        self.call.state.get() == CallState::Pending && self.call.generation.get() == self.generation
    }
}

impl Timers {
    pub(crate) fn new(time: TimeSource) -> Rc<Timers> {
        Rc::new(Timers {
            queue: RefCell::new(TimerQueue::default()),
            time,
        })
    }

    pub(crate) fn now(&self) -> f64 {
        match &self.time {
            TimeSource::Monotonic(start) => start.elapsed().as_secs_f64(),
            TimeSource::Manual(now) => now.get(),
        }
    }

    /// Advance a manual clock.
    pub(crate) fn set_now(&self, seconds: f64) {
        if let TimeSource::Manual(now) = &self.time {
            now.set(seconds);
        }
    }

    pub(crate) fn call_later(self: &Rc<Self>, delay: f64, func: Box<dyn FnOnce()>) -> DelayedCall {
        let delay = bounded_delay(delay);
        let call = Rc::new(CallInner {
            time: Cell::new(self.now() + delay),
            state: Cell::new(CallState::Pending),
            generation: Cell::new(0),
            func: RefCell::new(Some(func)),
            timers: Rc::downgrade(self),
        });
        self.push(&call);
        DelayedCall { inner: call }
    }

    fn push(&self, call: &Rc<CallInner>) {
        let mut q = self.queue.borrow_mut();
        q.seq += 1;
        let entry = Entry {
            time: call.time.get(),
            seq: q.seq,
            generation: call.generation.get(),
            call: call.clone(),
        };
        q.heap.push(entry);
    }

    fn add_garbage(&self) {
        let mut q = self.queue.borrow_mut();
        q.garbage += 1;
        if q.garbage > MIN_GARBAGE_TO_COMPACT && q.garbage * 2 > q.heap.len() {
            let mut entries = std::mem::take(&mut q.heap).into_vec();
            entries.retain(Entry::is_live);
            entries.shrink_to_fit();
            q.heap = BinaryHeap::from(entries);
            q.garbage = 0;
        }
    }

    /// The sequence number of the newest scheduled call: calls scheduled after this are left for
    /// the next turn of the loop.
    pub(crate) fn last_seq(&self) -> u64 {
        self.queue.borrow().seq
    }

    /// The time of the earliest live call, dropping garbage from the top.
    pub(crate) fn next_time(&self) -> Option<f64> {
        let mut q = self.queue.borrow_mut();
        loop {
            let entry = q.heap.peek()?;
            if !entry.is_live() {
                q.heap.pop();
                q.garbage = q.garbage.saturating_sub(1);
                continue;
            }
            if entry.time < entry.call.time.get() {
                // Postponed: move it to its new place.
                let mut entry = q.heap.pop().expect("peeked");
                entry.time = entry.call.time.get();
                q.heap.push(entry);
                continue;
            }
            return Some(entry.time);
        }
    }

    /// Take the earliest live call due at `now` (scheduled no later than `max_seq`), marking it
    /// called. The caller runs it, outside any borrow.
    pub(crate) fn pop_due(&self, now: f64, max_seq: u64) -> Option<Box<dyn FnOnce()>> {
        loop {
            let time = self.next_time()?;
            let mut q = self.queue.borrow_mut();
            let entry = q.heap.peek().expect("next_time saw it");
            if time > now || entry.seq > max_seq {
                return None;
            }
            let entry = q.heap.pop().expect("peeked");
            drop(q);
            entry.call.state.set(CallState::Called);
            let func = entry.call.func.borrow_mut().take();
            if let Some(func) = func {
                return Some(func);
            }
        }
    }

    /// Run every call due at `now` that was scheduled before this turn.
    pub(crate) fn run_due(&self, now: f64, max_seq: u64) {
        while let Some(func) = self.pop_due(now, max_seq) {
            func();
        }
    }

    /// The pending calls, earliest first.
    pub(crate) fn pending(&self) -> Vec<DelayedCall> {
        let q = self.queue.borrow();
        let mut calls: Vec<&Entry> = q.heap.iter().filter(|e| e.is_live()).collect();
        calls.sort_by(|a, b| b.cmp(a));
        calls
            .into_iter()
            .map(|e| DelayedCall {
                inner: e.call.clone(),
            })
            .collect()
    }

    /// Heap entries, live or not (for tests of memory use).
    pub(crate) fn heap_len(&self) -> usize {
        self.queue.borrow().heap.len()
    }
}

/// A call scheduled with `call_later` (Twisted's `IDelayedCall`).
///
/// ```
/// use reactor::task::Clock;
/// use std::{cell::Cell, rc::Rc};
///
/// let clock = Clock::new();
/// let fired = Rc::new(Cell::new(false));
/// let flag = fired.clone();
/// let call = clock.call_later(5.0, move || flag.set(true));
/// call.delay(5.0).unwrap();              // now due at t = 10
/// clock.advance(9.0);
/// assert!(!fired.get() && call.active());
/// clock.advance(1.0);
/// assert!(fired.get() && !call.active());
/// assert!(call.cancel().is_err());        // AlreadyCalled
/// ```
#[derive(Clone)]
pub struct DelayedCall {
    inner: Rc<CallInner>,
}

impl DelayedCall {
    /// When the call is due, in its clock's seconds.
    pub fn get_time(&self) -> f64 {
        self.inner.time.get()
    }

    /// Whether the call is still pending (neither called nor cancelled).
    pub fn active(&self) -> bool {
        self.inner.state.get() == CallState::Pending
    }

    /// Cancel the call; its function is dropped at once.
    pub fn cancel(&self) -> Result<(), DelayedCallError> {
        self.check_pending()?;
        self.inner.state.set(CallState::Cancelled);
        let func = self.inner.func.borrow_mut().take();
        drop(func);
        if let Some(timers) = self.inner.timers.upgrade() {
            timers.add_garbage();
        }
        Ok(())
    }

    /// Make the call due `seconds` from now.
    pub fn reset(&self, seconds: f64) -> Result<(), DelayedCallError> {
        self.check_pending()?;
        let Some(timers) = self.inner.timers.upgrade() else {
            return Ok(());
        };
        self.move_to(&timers, timers.now() + bounded_delay(seconds));
        Ok(())
    }

    /// Postpone (or, with a negative value, advance) the call by `seconds`.
    pub fn delay(&self, seconds: f64) -> Result<(), DelayedCallError> {
        self.check_pending()?;
        let Some(timers) = self.inner.timers.upgrade() else {
            return Ok(());
        };
        let latest = timers.now() + MAX_DELAY;
        let time = self.inner.time.get() + seconds;
        self.move_to(
            &timers,
            if time.is_nan() {
                latest
            } else {
                time.min(latest)
            },
        );
        Ok(())
    }

    fn move_to(&self, timers: &Rc<Timers>, time: f64) {
        let earlier = time < self.inner.time.get();
        self.inner.time.set(time);
        if earlier {
            // The old entry would surface too late: retire it and push a new one.
            self.inner
                .generation
                .set(self.inner.generation.get().wrapping_add(1));
            timers.push(&self.inner);
            timers.add_garbage();
        }
    }

    fn check_pending(&self) -> Result<(), DelayedCallError> {
        match self.inner.state.get() {
            CallState::Pending => Ok(()),
            CallState::Called => Err(DelayedCallError::AlreadyCalled),
            CallState::Cancelled => Err(DelayedCallError::AlreadyCancelled),
        }
    }
}

impl fmt::Debug for DelayedCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<DelayedCall at {:.3} {:?}>",
            self.inner.time.get(),
            self.inner.state.get()
        )
    }
}

/// Cancelling or moving a call that is no longer pending (Twisted's `AlreadyCalled` and
/// `AlreadyCancelled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DelayedCallError {
    /// The call has run.
    AlreadyCalled,
    /// The call was cancelled.
    AlreadyCancelled,
}

impl fmt::Display for DelayedCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DelayedCallError::AlreadyCalled => f.write_str("the delayed call has already run"),
            DelayedCallError::AlreadyCancelled => {
                f.write_str("the delayed call has already been cancelled")
            }
        }
    }
}

impl Error for DelayedCallError {}
