//! `twisted.internet.task`: [`Clock`] for deterministic tests, [`defer_later`],
//! [`LoopingCall`], and [`sleep`] for async code.

use crate::defer::{Deferred, Failure, IntoOutcome, Outcome};
use crate::interfaces::IReactorTime;
use crate::timer::{DelayedCall, TimeSource, Timers};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

/// A manual clock (Twisted's `task.Clock`): time moves only when a test calls
/// [`advance`](Self::advance), so timeouts, expiry and retries are tested without sleeping.
///
/// ```
/// use reactor::task::{defer_later, Clock};
///
/// let clock = Clock::new();
/// let d = defer_later(&clock, 2.0, || 42);
/// clock.advance(1.0);
/// assert!(!d.called());
/// clock.advance(1.0);
/// assert_eq!(d.take_result().unwrap().unwrap(), 42);
/// ```
#[derive(Clone)]
pub struct Clock {
    timers: Rc<Timers>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

impl Clock {
    /// A clock at time 0.
    pub fn new() -> Clock {
        Clock {
            timers: Timers::new(TimeSource::Manual(Cell::new(0.0))),
        }
    }

    /// The clock's time.
    pub fn seconds(&self) -> f64 {
        self.timers.now()
    }

    /// Call `f` after `delay` seconds of this clock.
    pub fn call_later(&self, delay: f64, f: impl FnOnce() + 'static) -> DelayedCall {
        self.timers.call_later(delay, Box::new(f))
    }

    /// Move time forward and run every call that becomes due, in time order (calls scheduled
    /// by those calls run too if they fall due).
    pub fn advance(&self, seconds: f64) {
        self.timers.set_now(self.timers.now() + seconds.max(0.0));
        self.timers.run_due(self.timers.now(), u64::MAX);
    }

    /// `advance` by each amount in turn (Twisted's `Clock.pump`).
    pub fn pump(&self, timings: &[f64]) {
        for &t in timings {
            self.advance(t);
        }
    }

    /// The pending calls, earliest first.
    pub fn get_delayed_calls(&self) -> Vec<DelayedCall> {
        self.timers.pending()
    }

    /// Heap entries, live or cancelled-but-not-yet-collected: for tests of timer memory.
    pub fn timer_heap_len(&self) -> usize {
        self.timers.heap_len()
    }
}

impl IReactorTime for Clock {
    fn seconds(&self) -> f64 {
        Clock::seconds(self)
    }
    fn call_later(&self, delay: f64, f: Box<dyn FnOnce()>) -> DelayedCall {
        self.timers.call_later(delay, f)
    }
    fn get_delayed_calls(&self) -> Vec<DelayedCall> {
        Clock::get_delayed_calls(self)
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Clock at {}>", self.seconds())
    }
}

/// Call `f` after `delay` seconds and fire the returned Deferred with its outcome (Twisted's
/// `deferLater`). Cancelling the Deferred cancels the call.
pub fn defer_later<R, F>(clock: &dyn IReactorTime, delay: f64, f: F) -> Deferred<R::Value>
where
    R: IntoOutcome,
    F: FnOnce() -> R + 'static,
{
    let call_slot: Rc<RefCell<Option<DelayedCall>>> = Rc::new(RefCell::new(None));
    let slot = call_slot.clone();
    let d = Deferred::<()>::with_canceller(move |_| {
        let taken = slot.borrow_mut().take();
        if let Some(call) = taken {
            let _ = call.cancel();
        }
    });
    let target = d.clone();
    let call = clock.call_later(
        delay,
        Box::new(move || {
            let _ = target.callback(());
        }),
    );
    *call_slot.borrow_mut() = Some(call);
    d.add_callback(move |()| f())
}

/// A Deferred that fires after `seconds` (for `async` code: `sleep(&reactor, 0.5).await`).
pub fn sleep(clock: &dyn IReactorTime, seconds: f64) -> Deferred<()> {
    defer_later(clock, seconds, || ())
}

/// The function a [`LoopingCall`] calls, with the count of intervals passed.
type LoopFn = Box<dyn FnMut(u64) -> Outcome<()>>;

struct LoopState {
    clock: Rc<dyn IReactorTime>,
    /// The function; `None` while it runs (it is taken out so that it may call back into the
    /// loop without a borrow being held).
    func: RefCell<Option<LoopFn>>,
    interval: Cell<f64>,
    start_time: Cell<f64>,
    last_tick: Cell<u64>,
    running: Cell<bool>,
    /// Bumped by each `start`, so a call that outlives its run (the function stopped and
    /// restarted the loop) leaves the scheduling to the new run.
    epoch: Cell<u64>,
    call: RefCell<Option<DelayedCall>>,
    waiting: RefCell<Option<Deferred<()>>>,
    finished: RefCell<Option<Deferred<()>>>,
}

/// Call a function every `interval` seconds (Twisted's `LoopingCall`).
///
/// Calls keep to the schedule `start + k * interval`: missed intervals are skipped, and
/// [`with_count`](Self::with_count) tells the function how many intervals passed. If the function
/// returns a Deferred, the next call waits for it; a failure stops the loop and fails the Deferred
/// that [`start`](Self::start) returned.
///
/// ```
/// use reactor::task::{Clock, LoopingCall};
/// use std::{cell::Cell, rc::Rc};
///
/// let clock = Clock::new();
/// let ticks = Rc::new(Cell::new(0));
/// let t = ticks.clone();
/// let lc = LoopingCall::new(Rc::new(clock.clone()), move || t.set(t.get() + 1));
/// let done = lc.start(1.0, true);
/// clock.pump(&[1.0, 1.0]);
/// assert_eq!(ticks.get(), 3);
/// lc.stop();
/// assert!(done.called());
/// ```
#[derive(Clone)]
pub struct LoopingCall {
    state: Rc<LoopState>,
}

impl LoopingCall {
    /// A loop calling `f` on `clock`.
    pub fn new<R, F>(clock: Rc<dyn IReactorTime>, mut f: F) -> LoopingCall
    where
        R: IntoOutcome<Value = ()>,
        F: FnMut() -> R + 'static,
    {
        LoopingCall::with_count(clock, move |_| f())
    }

    /// A loop calling `f` with the number of intervals since the previous call (Twisted's
    /// `LoopingCall.withCount`).
    pub fn with_count<R, F>(clock: Rc<dyn IReactorTime>, mut f: F) -> LoopingCall
    where
        R: IntoOutcome<Value = ()>,
        F: FnMut(u64) -> R + 'static,
    {
        LoopingCall {
            state: Rc::new(LoopState {
                clock,
                func: RefCell::new(Some(Box::new(move |n| f(n).into_outcome()))),
                interval: Cell::new(0.0),
                start_time: Cell::new(0.0),
                last_tick: Cell::new(0),
                running: Cell::new(false),
                epoch: Cell::new(0),
                call: RefCell::new(None),
                waiting: RefCell::new(None),
                finished: RefCell::new(None),
            }),
        }
    }

    /// Whether the loop runs.
    pub fn running(&self) -> bool {
        self.state.running.get()
    }

    /// Start calling every `interval` seconds, the first time at once if `now`. The returned
    /// Deferred fires when [`stop`](Self::stop) is called, or fails when the function fails.
    pub fn start(&self, interval: f64, now: bool) -> Deferred<()> {
        let finished = Deferred::new();
        if self.running() {
            return Deferred::fail(Failure::new(LoopingCallError::AlreadyRunning));
        }
        if interval.is_nan() || interval < 0.0 {
            return Deferred::fail(Failure::new(LoopingCallError::NegativeInterval));
        }
        let s = &self.state;
        s.running.set(true);
        s.epoch.set(s.epoch.get() + 1);
        s.interval.set(interval);
        s.start_time.set(s.clock.seconds());
        s.last_tick.set(0);
        *s.finished.borrow_mut() = Some(finished.clone());
        if now {
            self.call_now(1);
        } else {
            self.schedule();
        }
        finished
    }

    /// Stop the loop; the Deferred from [`start`](Self::start) fires.
    pub fn stop(&self) {
        let s = &self.state;
        if !s.running.replace(false) {
            return;
        }
        let taken = s.call.borrow_mut().take();
        if let Some(call) = taken {
            let _ = call.cancel();
        }
        if s.waiting.borrow().is_none() {
            self.finish(Ok(()));
        }
    }

    fn finish(&self, result: Result<(), Failure>) {
        self.state.running.set(false);
        let finished = self.state.finished.borrow_mut().take();
        if let Some(d) = finished {
            let _ = d.fire(result);
        }
    }

    fn call_now(&self, count: u64) {
        let func = self.state.func.borrow_mut().take();
        let Some(mut func) = func else {
            // The function is running and restarted its own loop: it cannot be called inside
            // itself, so the immediate call runs on the clock's next turn.
            let me = self.clone();
            let call = self.state.clock.call_later(
                0.0,
                Box::new(move || {
                    me.state.call.borrow_mut().take();
                    me.call_now(count);
                }),
            );
            *self.state.call.borrow_mut() = Some(call);
            return;
        };
        let epoch = self.state.epoch.get();
        let outcome = func(count);
        *self.state.func.borrow_mut() = Some(func);
        if self.state.epoch.get() != epoch {
            return;
        }
        match outcome {
            Outcome::Value(()) => self.after_call(),
            Outcome::Failure(failure) => self.finish(Err(failure)),
            Outcome::Deferred(d) => {
                *self.state.waiting.borrow_mut() = Some(d.clone());
                let me = self.clone();
                d.add_both(move |result: Result<(), Failure>| {
                    me.state.waiting.borrow_mut().take();
                    match result {
                        Ok(()) if me.running() => me.after_call(),
                        Ok(()) => me.finish(Ok(())),
                        Err(failure) => me.finish(Err(failure)),
                    }
                });
            }
        }
    }

    fn after_call(&self) {
        if self.running() {
            self.schedule();
        }
    }

    /// The number of whole intervals since `start` (0 for an interval of 0).
    fn current_tick(&self) -> u64 {
        let s = &self.state;
        let interval = s.interval.get();
        if interval == 0.0 {
            return 0;
        }
        ((s.clock.seconds() - s.start_time.get()) / interval).floor() as u64
    }

    fn schedule(&self) {
        let s = &self.state;
        let interval = s.interval.get();
        let now = s.clock.seconds();
        let elapsed = now - s.start_time.get();
        let (delay, tick) = if interval == 0.0 {
            (0.0, s.last_tick.get() + 1)
        } else {
            let tick = (elapsed / interval).floor() as u64 + 1;
            (s.start_time.get() + tick as f64 * interval - now, tick)
        };
        let me = self.clone();
        let call = s.clock.call_later(
            delay.max(0.0),
            Box::new(move || {
                // Count the intervals that have passed by now (the clock may have jumped past
                // several), and never fewer than the one this call was scheduled for.
                let tick = me.current_tick().max(tick);
                let count = tick - me.state.last_tick.get();
                me.state.last_tick.set(tick);
                me.state.call.borrow_mut().take();
                me.call_now(count);
            }),
        );
        *s.call.borrow_mut() = Some(call);
    }
}

impl fmt::Debug for LoopingCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<LoopingCall every {}s, running: {}>",
            self.state.interval.get(),
            self.running()
        )
    }
}

/// Misuse of a [`LoopingCall`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoopingCallError {
    /// `start` on a running loop.
    AlreadyRunning,
    /// A negative or NaN interval.
    NegativeInterval,
}

impl fmt::Display for LoopingCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoopingCallError::AlreadyRunning => f.write_str("the LoopingCall is already running"),
            LoopingCallError::NegativeInterval => f.write_str("interval must be >= 0"),
        }
    }
}
impl std::error::Error for LoopingCallError {}
