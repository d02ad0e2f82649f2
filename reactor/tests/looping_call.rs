//! `LoopingCall` on a `Clock`.

use reactor::defer::{Deferred, Failure};
use reactor::interfaces::IReactorTime;
use reactor::task::{Clock, LoopingCall, LoopingCallError};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

fn clock() -> (Clock, Rc<dyn IReactorTime>) {
    let clock = Clock::new();
    let time: Rc<dyn IReactorTime> = Rc::new(clock.clone());
    (clock, time)
}

#[derive(Debug)]
struct Boom;

impl fmt::Display for Boom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("boom")
    }
}
impl std::error::Error for Boom {}

#[test]
fn ticks_every_interval_on_schedule() {
    let (clock, time) = clock();
    let at = Rc::new(RefCell::new(Vec::new()));
    let (a, c) = (at.clone(), clock.clone());
    let lc = LoopingCall::new(time, move || a.borrow_mut().push(c.seconds()));
    let done = lc.start(0.5, false);
    assert!(at.borrow().is_empty(), "now = false: no call at start");
    clock.pump(&[0.5, 0.5, 0.25, 0.25, 0.5]);
    assert_eq!(*at.borrow(), [0.5, 1.0, 1.5, 2.0]);
    assert!(lc.running() && !done.called());
    assert_eq!(clock.get_delayed_calls().len(), 1);
}

#[test]
fn with_count_reports_the_intervals_that_passed() {
    let (clock, time) = clock();
    let counts = Rc::new(RefCell::new(Vec::new()));
    let c = counts.clone();
    let lc = LoopingCall::with_count(time, move |n| c.borrow_mut().push(n));
    lc.start(1.0, true);
    assert_eq!(*counts.borrow(), [1]);
    clock.advance(1.0);
    assert_eq!(*counts.borrow(), [1, 1]);
    clock.advance(2.0);
    assert_eq!(*counts.borrow(), [1, 1, 2], "one interval skipped");
    clock.advance(4.0);
    assert_eq!(*counts.borrow(), [1, 1, 2, 4], "three intervals skipped");
    clock.advance(1.0);
    assert_eq!(*counts.borrow(), [1, 1, 2, 4, 1]);
}

#[test]
fn with_count_does_not_count_a_late_call_as_two() {
    // Twisted's test_countLengthyIntervalCounts: a call late by less than an interval is one.
    let (clock, time) = clock();
    let calls = Rc::new(RefCell::new(Vec::new()));
    let (c, k) = (calls.clone(), clock.clone());
    let lc = LoopingCall::with_count(time, move |n| c.borrow_mut().push((k.seconds(), n)));
    lc.start(0.5, true);
    clock.advance(0.51);
    clock.advance(0.875);
    clock.advance(0.125);
    let counts: Vec<u64> = calls.borrow().iter().map(|&(_, n)| n).collect();
    assert_eq!(counts, [1, 1, 1, 1]);
}

#[test]
fn a_deferred_from_the_function_delays_the_next_call() {
    let (clock, time) = clock();
    let calls = Rc::new(Cell::new(0));
    let pending: Rc<RefCell<Option<Deferred<()>>>> = Rc::new(RefCell::new(None));
    let (c, p) = (calls.clone(), pending.clone());
    let lc = LoopingCall::new(time, move || {
        c.set(c.get() + 1);
        let d = Deferred::<()>::new();
        *p.borrow_mut() = Some(d.clone());
        d
    });
    lc.start(1.0, true);
    assert_eq!(calls.get(), 1);
    clock.advance(5.0);
    assert_eq!(calls.get(), 1, "waiting for the Deferred");
    assert!(clock.get_delayed_calls().is_empty());
    pending.borrow_mut().take().unwrap().callback(()).unwrap();
    assert_eq!(calls.get(), 1, "the next call keeps to the schedule");
    clock.advance(1.0);
    assert_eq!(calls.get(), 2);
}

#[test]
fn a_failure_stops_the_loop_and_fails_the_start_deferred() {
    let (clock, time) = clock();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let lc = LoopingCall::new(time, move || {
        c.set(c.get() + 1);
        if c.get() == 3 {
            Err(Failure::new(Boom))
        } else {
            Ok(())
        }
    });
    let done = lc.start(1.0, true);
    clock.pump(&[1.0, 1.0, 1.0, 1.0]);
    assert_eq!(calls.get(), 3);
    assert!(!lc.running());
    let failure = done.take_result().unwrap().unwrap_err();
    assert!(failure.check::<Boom>());
    assert!(clock.get_delayed_calls().is_empty());
}

#[test]
fn a_failed_deferred_stops_the_loop_too() {
    let (clock, time) = clock();
    let lc = LoopingCall::new(time, || Deferred::<()>::fail(Boom));
    let done = lc.start(1.0, true);
    clock.advance(1.0);
    assert!(!lc.running());
    assert!(done.take_result().unwrap().unwrap_err().check::<Boom>());
}

#[test]
fn stop_fires_the_start_deferred_and_cancels_the_next_call() {
    let (clock, time) = clock();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let lc = LoopingCall::new(time, move || c.set(c.get() + 1));
    let done = lc.start(1.0, false);
    clock.advance(1.0);
    lc.stop();
    assert!(!lc.running());
    assert!(done.take_result().unwrap().is_ok());
    assert!(clock.get_delayed_calls().is_empty());
    clock.advance(10.0);
    assert_eq!(calls.get(), 1);
    lc.stop(); // a second stop does nothing
}

#[test]
fn the_function_may_stop_its_own_loop() {
    let (clock, time) = clock();
    let slot: Rc<RefCell<Option<LoopingCall>>> = Rc::new(RefCell::new(None));
    let calls = Rc::new(Cell::new(0));
    let (s, c) = (slot.clone(), calls.clone());
    let lc = LoopingCall::new(time, move || {
        c.set(c.get() + 1);
        if c.get() == 2 {
            let lc = s.borrow().clone().unwrap();
            lc.stop();
        }
    });
    *slot.borrow_mut() = Some(lc.clone());
    let done = lc.start(1.0, true);
    clock.pump(&[1.0, 1.0, 1.0]);
    assert_eq!(calls.get(), 2);
    assert!(done.take_result().unwrap().is_ok());
    slot.borrow_mut().take();
}

#[test]
fn start_twice_and_negative_intervals_are_errors() {
    let (_clock, time) = clock();
    let lc = LoopingCall::new(time, || ());
    let first = lc.start(1.0, false);
    let again = lc.start(1.0, false);
    let error = again.take_result().unwrap().unwrap_err();
    assert_eq!(
        error.value::<LoopingCallError>(),
        Some(&LoopingCallError::AlreadyRunning)
    );
    lc.stop();
    assert!(first.take_result().unwrap().is_ok());
    let negative = lc.start(-1.0, false);
    assert_eq!(
        negative
            .take_result()
            .unwrap()
            .unwrap_err()
            .value::<LoopingCallError>(),
        Some(&LoopingCallError::NegativeInterval)
    );
}

#[test]
fn interval_zero_calls_again_at_once_with_count_one() {
    let (clock, time) = clock();
    let counts = Rc::new(RefCell::new(Vec::new()));
    let slot: Rc<RefCell<Option<LoopingCall>>> = Rc::new(RefCell::new(None));
    let (c, s) = (counts.clone(), slot.clone());
    let lc = LoopingCall::with_count(time, move |n| {
        c.borrow_mut().push(n);
        if c.borrow().len() == 5 {
            let lc = s.borrow().clone().unwrap();
            lc.stop();
        }
    });
    *slot.borrow_mut() = Some(lc.clone());
    let done = lc.start(0.0, true);
    // A Clock runs calls that fall due while it advances, so one advance runs the whole loop.
    clock.advance(0.0);
    assert_eq!(*counts.borrow(), [1, 1, 1, 1, 1]);
    assert!(done.take_result().unwrap().is_ok());
    slot.borrow_mut().take();
}

#[test]
fn the_function_may_restart_its_own_loop() {
    let (clock, time) = clock();
    let slot: Rc<RefCell<Option<LoopingCall>>> = Rc::new(RefCell::new(None));
    let calls = Rc::new(RefCell::new(Vec::new()));
    let restarted: Rc<RefCell<Option<Deferred<()>>>> = Rc::new(RefCell::new(None));
    let (s, c, k, rs) = (
        slot.clone(),
        calls.clone(),
        clock.clone(),
        restarted.clone(),
    );
    let lc = LoopingCall::new(time, move || {
        c.borrow_mut().push(k.seconds());
        if c.borrow().len() == 2 {
            let lc = s.borrow().clone().unwrap();
            lc.stop();
            *rs.borrow_mut() = Some(lc.start(10.0, true));
        }
    });
    *slot.borrow_mut() = Some(lc.clone());
    let first = lc.start(1.0, true);
    clock.advance(1.0);
    assert!(
        first.take_result().unwrap().is_ok(),
        "stop fired the first run"
    );
    assert!(lc.running());
    // The restarted loop's immediate call cannot run inside the running function: it runs as
    // soon as the clock moves, then every 10 s.
    clock.advance(0.0);
    clock.advance(10.0);
    assert_eq!(*calls.borrow(), [0.0, 1.0, 1.0, 11.0]);
    assert!(!restarted.borrow().as_ref().unwrap().called());
    lc.stop();
    slot.borrow_mut().take();
}
