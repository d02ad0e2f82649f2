//! Timers: `call_later` and `DelayedCall` on a `Clock` and on a real `Reactor`.

#[path = "simutil/mod.rs"]
mod util;

use reactor::error::ReactorError;
use reactor::task::Clock;
use reactor::{DelayedCall, DelayedCallError, Reactor};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Instant;
use util::{run_until_stopped, Watchdog};

type Log = Rc<RefCell<Vec<&'static str>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

fn note(log: &Log, what: &'static str) -> impl FnOnce() + 'static {
    let log = log.clone();
    move || log.borrow_mut().push(what)
}

// ---- Clock -------------------------------------------------------------------------------

#[test]
fn clock_fires_in_time_order_and_fifo_for_equal_times() {
    let clock = Clock::new();
    let order = log();
    clock.call_later(3.0, note(&order, "c"));
    clock.call_later(1.0, note(&order, "a1"));
    clock.call_later(2.0, note(&order, "b"));
    clock.call_later(1.0, note(&order, "a2"));
    clock.call_later(1.0, note(&order, "a3"));
    clock.advance(1.0);
    assert_eq!(*order.borrow(), ["a1", "a2", "a3"]);
    clock.advance(5.0);
    assert_eq!(*order.borrow(), ["a1", "a2", "a3", "b", "c"]);
    assert!(clock.get_delayed_calls().is_empty());
}

#[test]
fn get_delayed_calls_lists_pending_calls_earliest_first() {
    let clock = Clock::new();
    let late = clock.call_later(5.0, || ());
    let early = clock.call_later(1.0, || ());
    let cancelled = clock.call_later(2.0, || ());
    cancelled.cancel().unwrap();
    let times: Vec<f64> = clock
        .get_delayed_calls()
        .iter()
        .map(DelayedCall::get_time)
        .collect();
    assert_eq!(times, [early.get_time(), late.get_time()]);
}

#[test]
fn cancel_reset_and_delay() {
    let clock = Clock::new();
    let order = log();
    let cancelled = clock.call_later(1.0, note(&order, "cancelled"));
    let postponed = clock.call_later(1.0, note(&order, "postponed"));
    let advanced = clock.call_later(10.0, note(&order, "advanced"));
    let reset_later = clock.call_later(2.0, note(&order, "reset_later"));
    let reset_earlier = clock.call_later(20.0, note(&order, "reset_earlier"));

    cancelled.cancel().unwrap();
    assert!(!cancelled.active());
    postponed.delay(4.0).unwrap();
    assert_eq!(postponed.get_time(), 5.0);
    advanced.delay(-7.0).unwrap();
    assert_eq!(advanced.get_time(), 3.0);
    reset_later.reset(6.0).unwrap();
    assert_eq!(reset_later.get_time(), 6.0);
    reset_earlier.reset(0.5).unwrap();
    assert_eq!(reset_earlier.get_time(), 0.5);

    clock.advance(1.0);
    assert_eq!(*order.borrow(), ["reset_earlier"]);
    clock.advance(10.0);
    assert_eq!(
        *order.borrow(),
        ["reset_earlier", "advanced", "postponed", "reset_later"]
    );
    assert!(clock.get_delayed_calls().is_empty());
}

#[test]
fn reset_is_relative_to_now() {
    let clock = Clock::new();
    let fired = Rc::new(Cell::new(false));
    let flag = fired.clone();
    let call = clock.call_later(5.0, move || flag.set(true));
    clock.advance(4.0);
    call.reset(5.0).unwrap();
    assert_eq!(call.get_time(), 9.0);
    clock.advance(4.9);
    assert!(!fired.get());
    clock.advance(0.1);
    assert!(fired.get());
}

#[test]
fn calls_no_longer_pending_refuse_cancel_reset_and_delay() {
    let clock = Clock::new();
    let called = clock.call_later(1.0, || ());
    clock.advance(1.0);
    assert!(!called.active());
    assert_eq!(called.cancel(), Err(DelayedCallError::AlreadyCalled));
    assert_eq!(called.reset(1.0), Err(DelayedCallError::AlreadyCalled));
    assert_eq!(called.delay(1.0), Err(DelayedCallError::AlreadyCalled));

    let cancelled = clock.call_later(1.0, || ());
    cancelled.cancel().unwrap();
    assert_eq!(cancelled.cancel(), Err(DelayedCallError::AlreadyCancelled));
    assert_eq!(
        cancelled.reset(1.0),
        Err(DelayedCallError::AlreadyCancelled)
    );
    assert_eq!(
        cancelled.delay(1.0),
        Err(DelayedCallError::AlreadyCancelled)
    );
}

#[test]
fn cancel_drops_the_function_at_once() {
    let clock = Clock::new();
    let held = Rc::new(());
    let captured = held.clone();
    let call = clock.call_later(1.0, move || drop(captured));
    assert_eq!(Rc::strong_count(&held), 2);
    call.cancel().unwrap();
    assert_eq!(Rc::strong_count(&held), 1);
}

#[test]
fn callbacks_may_cancel_and_add_timers_while_timers_run() {
    let clock = Clock::new();
    let order = log();
    let victim: Rc<RefCell<Option<DelayedCall>>> = Rc::new(RefCell::new(None));
    let (o, v, c) = (order.clone(), victim.clone(), clock.clone());
    clock.call_later(1.0, move || {
        o.borrow_mut().push("first");
        v.borrow().as_ref().unwrap().cancel().unwrap();
        // Time has already moved to the end of the advance (as in Twisted's Clock.advance):
        // a zero delay is due in this advance, a positive one is not.
        c.call_later(0.0, note(&o, "added, due in this advance"));
        c.call_later(0.5, note(&o, "added, due in the next advance"));
    });
    *victim.borrow_mut() = Some(clock.call_later(1.0, note(&order, "victim (same time)")));
    clock.call_later(1.2, note(&order, "third"));
    clock.advance(2.0);
    assert_eq!(
        *order.borrow(),
        ["first", "third", "added, due in this advance"]
    );
    clock.advance(0.5);
    assert_eq!(
        order.borrow().last(),
        Some(&"added, due in the next advance")
    );
}

#[test]
fn infinite_and_nan_delays_never_come_due() {
    let clock = Clock::new();
    let fired = Rc::new(Cell::new(0));
    let calls: Vec<DelayedCall> = [f64::INFINITY, f64::NAN, 1e300]
        .into_iter()
        .map(|delay| {
            let f = fired.clone();
            clock.call_later(delay, move || f.set(f.get() + 1))
        })
        .collect();
    let pushed = clock.call_later(1.0, || ());
    pushed.delay(f64::NAN).unwrap();
    clock.advance(1e9);
    assert_eq!(fired.get(), 0);
    assert!(calls.iter().all(DelayedCall::active));
    assert!(
        pushed.active(),
        "delay(NaN) must not make a call due at once"
    );
    for call in &calls {
        assert!(call.get_time().is_finite());
    }
}

#[test]
fn a_million_cancelled_timers_leave_a_small_heap_on_a_clock() {
    const N: usize = 1_000_000;
    let clock = Clock::new();
    let held = Rc::new(());
    let calls: Vec<DelayedCall> = (0..N)
        .map(|i| {
            let h = held.clone();
            clock.call_later(1.0 + i as f64 * 1e-3, move || drop(h))
        })
        .collect();
    assert_eq!(clock.timer_heap_len(), N);
    for call in &calls {
        call.cancel().unwrap();
    }
    assert_eq!(
        Rc::strong_count(&held),
        1,
        "every cancelled function dropped"
    );
    assert!(
        clock.timer_heap_len() <= 2048,
        "heap still holds {} entries after cancelling everything",
        clock.timer_heap_len()
    );
    drop(calls);
    assert!(clock.get_delayed_calls().is_empty());

    let fired = Rc::new(Cell::new(false));
    let f = fired.clone();
    clock.call_later(0.5, move || f.set(true));
    clock.advance(0.5);
    assert!(fired.get());
}

// ---- Reactor -----------------------------------------------------------------------------

#[test]
fn reactor_fires_in_time_order_and_fifo_for_equal_times() {
    let reactor = Reactor::new();
    let order = log();
    reactor.call_later(0.03, note(&order, "c"));
    reactor.call_later(0.01, note(&order, "a1"));
    reactor.call_later(0.02, note(&order, "b"));
    reactor.call_later(0.01, note(&order, "a2"));
    let r = reactor.clone();
    reactor.call_later(0.04, move || r.stop().unwrap());
    run_until_stopped(&reactor, 5.0);
    assert_eq!(*order.borrow(), ["a1", "a2", "b", "c"]);
}

#[test]
fn reactor_honours_cancel_reset_and_delay() {
    let reactor = Reactor::new();
    let order = log();
    let cancelled = reactor.call_later(0.01, note(&order, "cancelled"));
    let reset = reactor.call_later(60.0, note(&order, "reset"));
    let delayed = reactor.call_later(0.0, note(&order, "delayed"));
    cancelled.cancel().unwrap();
    reset.reset(0.01).unwrap();
    delayed.delay(0.02).unwrap();
    let r = reactor.clone();
    reactor.call_later(0.05, move || r.stop().unwrap());
    run_until_stopped(&reactor, 5.0);
    assert_eq!(*order.borrow(), ["reset", "delayed"]);
    assert_eq!(cancelled.cancel(), Err(DelayedCallError::AlreadyCancelled));
    assert_eq!(reset.cancel(), Err(DelayedCallError::AlreadyCalled));
}

#[test]
fn a_timer_cancelling_another_due_in_the_same_turn_prevents_it() {
    let reactor = Reactor::new();
    let order = log();
    let victim: Rc<RefCell<Option<DelayedCall>>> = Rc::new(RefCell::new(None));
    let (o, v) = (order.clone(), victim.clone());
    reactor.call_later(0.01, move || {
        o.borrow_mut().push("first");
        v.borrow().as_ref().unwrap().cancel().unwrap();
    });
    *victim.borrow_mut() = Some(reactor.call_later(0.01, note(&order, "victim")));
    let r = reactor.clone();
    reactor.call_later(0.02, move || r.stop().unwrap());
    run_until_stopped(&reactor, 5.0);
    assert_eq!(*order.borrow(), ["first"]);
}

#[test]
fn call_later_zero_from_a_timer_runs_on_a_later_turn() {
    let reactor = Reactor::new();
    let order = log();
    let (o, r) = (order.clone(), reactor.clone());
    reactor.call_later(0.0, move || {
        o.borrow_mut().push("timer");
        r.call_later(0.0, note(&o, "nested timer"));
        r.call_soon(note(&o, "soon"));
    });
    reactor.iterate();
    assert_eq!(
        *order.borrow(),
        ["timer"],
        "the nested timer waits for the next turn"
    );
    reactor.iterate();
    // The next turn runs call_soon work before due timers: proof the nested timer did not run
    // in the turn that scheduled it.
    assert_eq!(*order.borrow(), ["timer", "soon", "nested timer"]);
}

#[test]
fn stop_from_a_callback_ends_run_and_later_timers_do_not_run() {
    let reactor = Reactor::new();
    let ran_late = Rc::new(Cell::new(false));
    let flag = ran_late.clone();
    let late = reactor.call_later(30.0, move || flag.set(true));
    let r = reactor.clone();
    reactor.call_later(0.0, move || {
        r.stop().unwrap();
        assert_eq!(r.stop(), Err(ReactorError::NotRunning), "already stopping");
    });
    run_until_stopped(&reactor, 5.0);
    assert!(!reactor.running());
    assert!(!ran_late.get());
    assert!(late.active());
}

#[test]
fn run_while_running_and_stop_while_not_running_are_errors() {
    let reactor = Reactor::new();
    assert_eq!(reactor.stop(), Err(ReactorError::NotRunning));
    let nested = Rc::new(Cell::new(None));
    let (n, r) = (nested.clone(), reactor.clone());
    reactor.call_later(0.0, move || {
        n.set(Some(r.run()));
        r.stop().unwrap();
    });
    run_until_stopped(&reactor, 5.0);
    assert_eq!(nested.get(), Some(Err(ReactorError::AlreadyRunning)));
    assert_eq!(reactor.stop(), Err(ReactorError::NotRunning));
    // The reactor can run again after it stopped.
    let r = reactor.clone();
    reactor.call_later(0.0, move || r.stop().unwrap());
    run_until_stopped(&reactor, 5.0);
}

#[test]
fn a_timer_too_far_away_for_a_duration_does_not_break_the_loop() {
    let reactor = Reactor::new();
    let never = reactor.call_later(f64::INFINITY, || panic!("ran"));
    let far = reactor.call_later(1e30, || panic!("ran"));
    // One turn for the near timer; the next turn waits on the far ones until the thread's stop
    // wakes it. The safety bound is a watchdog thread: a bound timer would be the earliest one
    // and hide the far timers from the loop's wait.
    let watchdog = Watchdog::start(&reactor, 5.0);
    let handle = reactor.handle();
    reactor.call_later(0.0, move || {
        std::thread::spawn(move || handle.stop());
    });
    reactor.run().unwrap();
    watchdog.done();
    assert!(never.active() && far.active());
}

#[test]
fn a_million_cancelled_timers_cost_nothing_on_a_reactor() {
    const N: usize = 1_000_000;
    let reactor = Reactor::new();
    let held = Rc::new(());
    let calls: Vec<DelayedCall> = (0..N)
        .map(|i| {
            let h = held.clone();
            reactor.call_later(100.0 + i as f64 * 1e-3, move || drop(h))
        })
        .collect();
    assert_eq!(reactor.get_delayed_calls().len(), N);
    for call in &calls {
        call.cancel().unwrap();
    }
    drop(calls);
    assert_eq!(
        Rc::strong_count(&held),
        1,
        "every cancelled function dropped"
    );
    assert!(reactor.get_delayed_calls().is_empty());

    let fired = Rc::new(Cell::new(false));
    let f = fired.clone();
    reactor.call_later(0.0, move || f.set(true));
    let started = Instant::now();
    reactor.iterate();
    // Reported, not asserted: wall-clock speed depends on the machine.
    eprintln!(
        "one iterate after 1,000,000 cancellations: {:?}",
        started.elapsed()
    );
    assert!(fired.get());
    assert!(reactor.get_delayed_calls().is_empty());
}
