//! The behaviours of Twisted's `test_defer.py` for `Deferred<T>` itself.

mod util;

use reactor::defer::{
    maybe_deferred, succeed, AlreadyCalledError, AlreadyChainedError, CancelledError, Deferred,
    Failure, TimeoutError,
};
use reactor::task::Clock;
use reactor::Reactor;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use util::{assert_no_result, failure_of, success_of, Boom, Events};

#[test]
fn callbacks_run_in_order_and_pass_values_on() {
    let events = Events::new();
    let d = Deferred::<u32>::new();
    let (e1, e2) = (events.clone(), events.clone());
    let tail = d
        .add_callback(move |x| {
            e1.push(format!("first {x}"));
            x + 1
        })
        .add_callback(move |x| {
            e2.push(format!("second {x}"));
            format!("<{x}>")
        });
    assert!(
        events.take().is_empty(),
        "nothing runs before the Deferred fires"
    );
    d.callback(1).unwrap();
    assert_eq!(events.take(), ["first 1", "second 2"]);
    assert_eq!(success_of(&tail), "<2>");
}

#[test]
fn callback_added_to_a_fired_deferred_runs_at_once() {
    let d = succeed(20);
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    let tail = d.add_callback(move |x| {
        flag.set(true);
        x * 2
    });
    assert!(ran.get());
    assert_eq!(success_of(&tail), 40);
}

#[test]
fn a_failure_skips_callbacks_until_an_errback() {
    let events = Events::new();
    let d = Deferred::<u32>::new();
    let (e1, e2, e3) = (events.clone(), events.clone(), events.clone());
    let tail = d
        .add_callback(move |x| {
            e1.push("callback 1");
            x
        })
        .add_errback(move |failure| {
            e2.push(format!("errback: {}", failure.get_error_message()));
            Err(failure)
        })
        .add_callback(move |x| {
            e3.push("callback 2");
            x
        });
    d.errback(Boom("first")).unwrap();
    assert_eq!(events.take(), ["errback: boom: first"]);
    assert_eq!(failure_of(&tail).value::<Boom>(), Some(&Boom("first")));
}

#[test]
fn a_callback_returning_err_switches_to_the_errback_path() {
    let d = Deferred::<u32>::new();
    let tail = d
        .add_callback(|_| Err::<u32, _>(Failure::new(Boom("in callback"))))
        .add_callback(|x| x + 100)
        .add_errback(|failure| {
            assert!(failure.check::<Boom>());
            Ok(7)
        });
    d.callback(1).unwrap();
    assert_eq!(success_of(&tail), 7);
}

#[test]
fn an_errback_that_recovers_resumes_the_callback_path() {
    let d = Deferred::<u32>::new();
    let tail = d
        .add_errback(|failure| failure.trap::<Boom>().map(|_| 0))
        .add_callback(|x| x + 1);
    d.errback(Boom("recover me")).unwrap();
    assert_eq!(success_of(&tail), 1);
}

#[test]
fn trap_passes_other_errors_on() {
    let d = Deferred::<u32>::new();
    let tail = d.add_errback(|failure| failure.trap::<CancelledError>().map(|_| 0));
    d.errback(Boom("not trapped")).unwrap();
    assert!(failure_of(&tail).check::<Boom>());
}

#[test]
fn add_callbacks_takes_exactly_one_path() {
    let ok = Deferred::<u32>::new();
    let tail = ok.add_callbacks(|x| format!("value {x}"), |_| "failure".to_string());
    ok.callback(3).unwrap();
    assert_eq!(success_of(&tail), "value 3");

    let bad = Deferred::<u32>::new();
    let tail = bad.add_callbacks(|x| format!("value {x}"), |f| format!("failure {f}"));
    bad.errback(Boom("x")).unwrap();
    assert_eq!(success_of(&tail), "failure boom: x");
}

#[test]
fn add_both_sees_values_and_failures() {
    let seen = Events::new();
    for fire_ok in [true, false] {
        let d = Deferred::<u32>::new();
        let s = seen.clone();
        let tail = d.add_both(move |result| {
            s.push(result.is_ok());
            "done"
        });
        if fire_ok {
            d.callback(1).unwrap();
        } else {
            d.errback(Boom("both")).unwrap();
        }
        assert_eq!(success_of(&tail), "done");
    }
    assert_eq!(seen.take(), ["true", "false"]);
}

#[test]
fn a_chain_waits_for_a_deferred_returned_by_a_callback() {
    let outer = Deferred::<u32>::new();
    let inner = Deferred::<u32>::new();
    let events = Events::new();
    let (i, e) = (inner.clone(), events.clone());
    let tail = outer
        .add_callback(move |x| {
            e.push(format!("outer {x}"));
            i.add_callback(move |y| x + y)
        })
        .add_callback(|sum| sum * 10);
    outer.callback(1).unwrap();
    assert_eq!(events.take(), ["outer 1"]);
    assert_no_result(&tail);
    inner.callback(2).unwrap();
    assert_eq!(success_of(&tail), 30);
}

#[test]
fn a_failing_inner_deferred_fails_the_outer_chain() {
    let outer = Deferred::<u32>::new();
    let inner = Deferred::<u32>::new();
    let i = inner.clone();
    let tail = outer.add_callback(move |_| i).add_callback(|x| x + 1);
    outer.callback(1).unwrap();
    inner.errback(Boom("inner")).unwrap();
    assert_eq!(failure_of(&tail).value::<Boom>(), Some(&Boom("inner")));
}

#[test]
fn returning_an_already_chained_deferred_fails_with_already_chained() {
    let inner = succeed(5);
    let _first_chain = inner.add_callback(|x| x);
    let tail = succeed(1).add_callback(move |_| inner);
    assert!(failure_of(&tail).check::<AlreadyChainedError>());
}

#[test]
fn cancelling_the_tail_calls_the_heads_canceller() {
    let cancelled = Rc::new(Cell::new(0));
    let count = cancelled.clone();
    let head = Deferred::<u32>::with_canceller(move |_| count.set(count.get() + 1));
    let skipped = Rc::new(Cell::new(false));
    let s = skipped.clone();
    let tail = head.add_callback(|x| x + 1).add_callback(move |x| {
        s.set(true);
        x
    });
    tail.cancel();
    assert_eq!(cancelled.get(), 1);
    assert!(!skipped.get(), "callbacks are skipped");
    assert!(head.called());
    assert!(failure_of(&tail).check::<CancelledError>());
}

#[test]
fn cancelling_while_waiting_on_an_inner_deferred_cancels_the_inner() {
    let inner_cancelled = Rc::new(Cell::new(false));
    let flag = inner_cancelled.clone();
    let inner = Deferred::<u32>::with_canceller(move |_| flag.set(true));
    let i = inner.clone();
    let outer = Deferred::<u32>::new();
    let tail = outer.add_callback(move |_| i).add_callback(|x| x + 1);
    outer.callback(0).unwrap();
    tail.cancel();
    assert!(inner_cancelled.get());
    assert!(inner.called());
    assert!(failure_of(&tail).check::<CancelledError>());
}

#[test]
fn cancel_without_canceller_fails_and_ignores_one_late_callback() {
    let d = Deferred::<u32>::new();
    d.cancel();
    assert!(d.called());
    assert_eq!(
        d.callback(1),
        Ok(()),
        "the producer's late callback is swallowed"
    );
    assert_eq!(d.callback(2), Err(AlreadyCalledError));
    assert_eq!(d.errback(Boom("late")), Err(AlreadyCalledError));
    assert!(failure_of(&d).check::<CancelledError>());
}

#[test]
fn cancel_without_canceller_swallows_a_late_errback_too() {
    let d = Deferred::<u32>::new();
    d.cancel();
    assert_eq!(d.errback(Boom("late")), Ok(()));
    assert!(failure_of(&d).check::<CancelledError>());
}

#[test]
fn cancel_with_a_canceller_does_not_swallow_a_late_callback() {
    // Twisted's test_simpleCanceller: a canceller is expected to stop the producer, so a
    // callback after cancel() is the producer's bug and must be reported.
    let calls = Rc::new(Cell::new(0));
    let count = calls.clone();
    let d = Deferred::<u32>::with_canceller(move |_| count.set(count.get() + 1));
    d.cancel();
    assert_eq!(calls.get(), 1);
    assert_eq!(d.callback(1), Err(AlreadyCalledError));
    assert_eq!(d.errback(Boom("late")), Err(AlreadyCalledError));
    assert!(failure_of(&d).check::<CancelledError>());
}

#[test]
fn a_canceller_may_fire_the_deferred_itself() {
    let d = Deferred::<&str>::with_canceller(|d| d.callback("stopped cleanly").unwrap());
    d.cancel();
    assert_eq!(success_of(&d), "stopped cleanly");
}

#[test]
fn cancelling_twice_calls_the_canceller_once() {
    let calls = Rc::new(Cell::new(0));
    let count = calls.clone();
    let d = Deferred::<u32>::with_canceller(move |_| count.set(count.get() + 1));
    d.cancel();
    d.cancel();
    assert_eq!(calls.get(), 1);
    assert!(failure_of(&d).check::<CancelledError>());
}

#[test]
fn cancelling_a_fired_deferred_does_nothing() {
    let calls = Rc::new(Cell::new(0));
    let count = calls.clone();
    let d = Deferred::<u32>::with_canceller(move |_| count.set(count.get() + 1));
    d.callback(5).unwrap();
    d.cancel();
    assert_eq!(calls.get(), 0);
    assert_eq!(success_of(&d), 5);
}

#[test]
fn a_second_callback_is_already_called_error() {
    let d = Deferred::<u32>::new();
    d.callback(1).unwrap();
    assert_eq!(d.callback(2), Err(AlreadyCalledError));
    assert_eq!(d.errback(Boom("again")), Err(AlreadyCalledError));
    assert_eq!(success_of(&d), 1, "the first result stands");
}

#[test]
fn a_second_add_callback_gives_already_chained_error() {
    let d = Deferred::<u32>::new();
    let first = d.add_callback(|x| x + 1);
    let second = d.add_callback(|x| x + 2);
    assert!(failure_of(&second).check::<AlreadyChainedError>());
    d.callback(1).unwrap();
    assert_eq!(success_of(&first), 2);
    assert!(d.take_result().is_none(), "the result went down the chain");
}

#[test]
fn a_paused_deferred_holds_its_result_until_unpaused() {
    let d = Deferred::<u32>::new();
    let tail = d.add_callback(|x| x + 1);
    d.pause();
    d.pause();
    d.callback(1).unwrap();
    assert!(d.paused());
    assert_no_result(&tail);
    d.unpause();
    assert_no_result(&tail);
    d.unpause();
    assert!(!d.paused());
    assert_eq!(success_of(&tail), 2);
}

#[test]
fn callbacks_added_while_paused_wait_too() {
    let d = succeed(1);
    d.pause();
    let tail = d.add_callback(|x| x * 3);
    assert_no_result(&tail);
    d.unpause();
    assert_eq!(success_of(&tail), 3);
}

#[test]
fn chain_deferred_forwards_values_and_failures() {
    let (a, b) = (Deferred::<u32>::new(), Deferred::<u32>::new());
    a.chain_deferred(&b);
    a.callback(9).unwrap();
    assert_eq!(success_of(&b), 9);

    let (a, b) = (Deferred::<u32>::new(), Deferred::<u32>::new());
    a.chain_deferred(&b);
    a.errback(Boom("chained")).unwrap();
    assert!(failure_of(&b).check::<Boom>());
}

#[test]
fn cancelling_the_target_of_chain_deferred_leaves_the_source_alone() {
    let (a, b) = (Deferred::<u32>::new(), Deferred::<u32>::new());
    a.chain_deferred(&b);
    b.cancel();
    assert!(!a.called());
    a.callback(1).unwrap();
    assert!(failure_of(&b).check::<CancelledError>());
}

#[test]
fn add_timeout_fails_with_timeout_error_and_cancels() {
    let clock = Clock::new();
    let cancelled = Rc::new(Cell::new(false));
    let flag = cancelled.clone();
    let d = Deferred::<u32>::with_canceller(move |_| flag.set(true));
    let timed = d.add_timeout(10.0, &clock);
    clock.advance(9.9);
    assert_no_result(&timed);
    clock.advance(0.1);
    assert!(cancelled.get());
    let failure = failure_of(&timed);
    assert_eq!(failure.value::<TimeoutError>().unwrap().seconds, 10.0);
}

#[test]
fn add_timeout_passes_a_result_in_time_and_cancels_its_timer() {
    let clock = Clock::new();
    let d = Deferred::<u32>::new();
    let timed = d.add_timeout(10.0, &clock);
    assert_eq!(clock.get_delayed_calls().len(), 1);
    clock.advance(5.0);
    d.callback(4).unwrap();
    assert!(
        clock.get_delayed_calls().is_empty(),
        "the timer is cancelled"
    );
    clock.advance(10.0);
    assert_eq!(success_of(&timed), 4);
}

#[test]
fn add_timeout_keeps_failures_other_than_cancellation() {
    let clock = Clock::new();
    let d = Deferred::<u32>::new();
    let timed = d.add_timeout(1.0, &clock);
    d.errback(Boom("own failure")).unwrap();
    assert!(failure_of(&timed).check::<Boom>());
    assert!(clock.get_delayed_calls().is_empty());
}

#[test]
fn add_timeout_keeps_the_value_a_canceller_fires_with() {
    let clock = Clock::new();
    let d = Deferred::<u32>::with_canceller(|d| d.callback(99).unwrap());
    let timed = d.add_timeout(1.0, &clock);
    clock.advance(1.0);
    assert_eq!(success_of(&timed), 99);
}

#[test]
fn maybe_deferred_wraps_values_failures_and_deferreds() {
    assert_eq!(success_of(&maybe_deferred(|| 5)), 5);
    let failed = maybe_deferred(|| Err::<u32, _>(Failure::new(Boom("maybe"))));
    assert!(failure_of(&failed).check::<Boom>());
    let inner = Deferred::<u32>::new();
    let i = inner.clone();
    let waiting = maybe_deferred(move || i);
    assert_no_result(&waiting);
    inner.callback(6).unwrap();
    assert_eq!(success_of(&waiting), 6);
}

#[test]
fn a_callback_may_add_callbacks_to_its_own_chain() {
    // Twisted's test_reentrantRunCallbacks: callbacks added while the chain runs run after
    // the ones already there.
    let events = Events::new();
    let d = Deferred::<()>::new();
    let tail_slot: Rc<RefCell<Option<Deferred<()>>>> = Rc::new(RefCell::new(None));
    let (e1, e2, slot) = (events.clone(), events.clone(), tail_slot.clone());
    let after_first = d.add_callback(move |()| {
        e1.push(1);
        let tail = slot.borrow_mut().take().unwrap();
        let e3 = e1.clone();
        *slot.borrow_mut() = Some(tail.add_callback(move |()| e3.push(3)));
    });
    *tail_slot.borrow_mut() = Some(after_first.add_callback(move |()| e2.push(2)));
    d.callback(()).unwrap();
    assert_eq!(events.take(), ["1", "2", "3"]);
    success_of(&tail_slot.borrow().clone().unwrap());
}

#[test]
fn a_callback_that_fires_another_deferred_that_extends_the_first_chain() {
    let events = Events::new();
    let first = Deferred::<u32>::new();
    let second = Deferred::<u32>::new();
    let first_tail = first.add_callback({
        let (second, events) = (second.clone(), events.clone());
        move |x| {
            events.push(format!("first {x}"));
            second.callback(x + 1).unwrap();
            events.push("first done");
            x
        }
    });
    let extended: Rc<RefCell<Option<Deferred<u32>>>> = Rc::new(RefCell::new(None));
    let _second_tail = second.add_callback({
        let (first_tail, extended, events) = (first_tail.clone(), extended.clone(), events.clone());
        move |y| {
            events.push(format!("second {y}"));
            let e = events.clone();
            *extended.borrow_mut() = Some(first_tail.add_callback(move |x| {
                e.push(format!("added by second {x}"));
                x * 100
            }));
        }
    });
    first.callback(1).unwrap();
    assert_eq!(
        events.take(),
        ["first 1", "second 2", "first done", "added by second 1"]
    );
    assert_eq!(success_of(&extended.borrow().clone().unwrap()), 100);
}

#[test]
fn a_callback_may_stop_the_reactor() {
    let reactor = Reactor::new();
    let safety = {
        let r = reactor.clone();
        reactor.call_later(5.0, move || {
            let _ = r.stop();
        })
    };
    let d = Deferred::<u32>::new();
    let r = reactor.clone();
    let tail = d
        .add_callback(move |x| {
            r.stop().unwrap();
            x + 1
        })
        .add_callback(|x| x * 2);
    let fire = d.clone();
    reactor.call_later(0.0, move || fire.callback(1).unwrap());
    reactor.run().unwrap();
    assert!(
        safety.active(),
        "stopped by the callback, not by the safety timer"
    );
    safety.cancel().unwrap();
    assert!(!reactor.running());
    assert_eq!(
        success_of(&tail),
        4,
        "the rest of the chain ran after stop()"
    );
}

const LONG: usize = 1_000_000;

#[test]
fn a_million_links_on_an_unfired_deferred_do_not_overflow_the_stack() {
    let head = Deferred::<u64>::new();
    let mut tail = head.add_callback(|x| x + 1);
    for _ in 1..LONG {
        tail = tail.add_callback(|x| x + 1);
    }
    head.callback(0).unwrap();
    assert_eq!(success_of(&tail), LONG as u64);
}

#[test]
fn a_million_callbacks_returning_fired_deferreds_do_not_overflow_the_stack() {
    let head = Deferred::<u64>::new();
    let mut tail = head.add_callback(|x| succeed(x + 1));
    for _ in 1..LONG {
        tail = tail.add_callback(|x| succeed(x + 1));
    }
    head.callback(0).unwrap();
    assert_eq!(success_of(&tail), LONG as u64);
}

#[test]
fn take_result_claims_the_result_once() {
    let d = Deferred::<u32>::fail(Boom("taken"));
    assert!(d.has_result());
    assert!(failure_of(&d).check::<Boom>());
    assert!(d.take_result().is_none());
    assert!(d.called());
}

#[test]
fn debug_shows_the_state() {
    let d = Deferred::<u32>::new();
    assert_eq!(format!("{d:?}"), "<Deferred waiting>");
    d.pause();
    d.callback(1).unwrap();
    assert_eq!(format!("{d:?}"), "<Deferred fired (value), paused>");
}

#[test]
fn dropping_a_million_link_unfired_chain_does_not_overflow_the_stack() {
    // Each link owns the next through its continuation: dropping them must not recurse.
    let head = Deferred::<u64>::new();
    let mut tail = head.add_callback(|x| x + 1);
    for _ in 1..LONG {
        tail = tail.add_callback(|x| x + 1);
    }
    drop(tail);
    drop(head);
}

#[test]
fn dropping_a_long_chain_waiting_on_inner_deferreds_does_not_overflow_the_stack() {
    let inners: Vec<Deferred<u64>> = (0..LONG / 10).map(|_| Deferred::new()).collect();
    let mut waiting = inners[0].add_callback(|x| x);
    for inner in &inners[1..] {
        let inner = inner.clone();
        waiting = waiting.add_callback(move |_| inner);
    }
    inners[0].callback(0).unwrap();
    drop(waiting);
    drop(inners);
}
