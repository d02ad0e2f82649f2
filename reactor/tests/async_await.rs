//! `async`/`await` on the reactor: `ensure_deferred` with Deferreds fired synchronously, by a
//! `Clock`, by a real reactor's timer and from other threads; `?`; cancellation.

mod util;

use reactor::defer::{
    ensure_deferred, pending_tasks, AlreadyChainedError, CancelledError, Deferred, Failure,
};
use reactor::task::{defer_later, Clock};
use reactor::{DelayedCall, Reactor};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use util::{assert_no_result, failure_of, success_of, Boom, DropGuard};

/// Stop `reactor` after a few seconds whatever happens, so that a bug cannot hang the test.
/// The test checks at the end that the safety call is still pending (it stopped on its own).
fn safety_stop(reactor: &Reactor) -> DelayedCall {
    let r = reactor.clone();
    reactor.call_later(5.0, move || {
        let _ = r.stop();
    })
}

#[track_caller]
fn assert_stopped_on_its_own(safety: DelayedCall) {
    assert!(safety.active(), "the safety timer had to stop the reactor");
    safety.cancel().unwrap();
}

#[test]
fn awaiting_fired_deferreds_completes_at_once() {
    let start = pending_tasks();
    let d = ensure_deferred(async {
        let a = Deferred::succeed(40).await?;
        let b = Deferred::succeed(2).await?;
        Ok::<_, Failure>(a + b)
    });
    assert_eq!(success_of(&d), 42);
    assert_eq!(pending_tasks(), start);
}

#[test]
fn a_task_resumes_synchronously_inside_callback() {
    let start = pending_tasks();
    let first = Deferred::<u32>::new();
    let resumed = Rc::new(Cell::new(false));
    let (awaited, flag) = (first.clone(), resumed.clone());
    let d = ensure_deferred(async move {
        let x = awaited.await?;
        flag.set(true);
        Ok::<_, Failure>(x * 2)
    });
    assert_eq!(pending_tasks(), start + 1);
    assert_no_result(&d);
    first.callback(21).unwrap();
    assert!(
        resumed.get(),
        "resumed inside callback(), no reactor turn needed"
    );
    assert_eq!(success_of(&d), 42);
    assert_eq!(pending_tasks(), start);
}

#[test]
fn awaiting_clock_timers() {
    let clock = Clock::new();
    let c = clock.clone();
    let d = ensure_deferred(async move {
        let a = defer_later(&c, 1.0, || 1u32).await?;
        let b = defer_later(&c, 2.0, || 2u32).await?;
        Ok::<_, Failure>((a + b, c.seconds()))
    });
    clock.advance(1.0);
    assert_no_result(&d);
    clock.advance(2.0);
    assert_eq!(success_of(&d), (3, 3.0));
}

#[test]
fn question_mark_passes_failures_on() {
    let failing = Deferred::<u32>::new();
    let f = failing.clone();
    let reached = Rc::new(Cell::new(false));
    let flag = reached.clone();
    let d = ensure_deferred(async move {
        let x = f.await?;
        flag.set(true);
        Ok::<_, Failure>(x)
    });
    failing.errback(Boom("awaited")).unwrap();
    assert!(!reached.get());
    assert_eq!(failure_of(&d).value::<Boom>(), Some(&Boom("awaited")));

    let d = ensure_deferred(async {
        Err(io::Error::other("plain io error"))?;
        Ok::<u32, Failure>(0)
    });
    assert_eq!(failure_of(&d).get_error_message(), "plain io error");
}

#[test]
fn awaiting_a_deferred_that_already_has_a_chain_fails() {
    let d = Deferred::<u32>::new();
    let _chain = d.add_callback(|x| x);
    let awaited = d.clone();
    let task = ensure_deferred(async move { (&awaited).await });
    assert!(failure_of(&task).check::<AlreadyChainedError>());
}

#[test]
fn cancelling_a_suspended_task_drops_its_future() {
    let start = pending_tasks();
    let dropped = Rc::new(Cell::new(false));
    let guard = DropGuard(dropped.clone());
    let inner = Deferred::<u32>::new();
    let awaited = inner.clone();
    let d = ensure_deferred(async move {
        let _guard = guard;
        awaited.await
    });
    assert!(!dropped.get());
    d.cancel();
    assert!(dropped.get(), "the future is dropped at once");
    assert!(failure_of(&d).check::<CancelledError>());
    assert!(!inner.called(), "the awaited Deferred is not cancelled");
    assert_eq!(pending_tasks(), start);
}

#[test]
fn a_task_that_cancels_itself_is_dropped_after_its_poll() {
    let start = pending_tasks();
    let dropped = Rc::new(Cell::new(false));
    let guard = DropGuard(dropped.clone());
    let me: Rc<RefCell<Option<Deferred<u32>>>> = Rc::new(RefCell::new(None));
    let trigger = Deferred::<()>::new();
    let (slot, t) = (me.clone(), trigger.clone());
    let after_cancel = Rc::new(Cell::new(false));
    let flag = after_cancel.clone();
    let d = ensure_deferred(async move {
        let _guard = guard;
        t.await?;
        let own = slot.borrow_mut().take().unwrap();
        own.cancel();
        flag.set(true); // the poll goes on up to the next suspension point
        Deferred::<u32>::new().await
    });
    *me.borrow_mut() = Some(d.clone());
    trigger.callback(()).unwrap();
    assert!(after_cancel.get());
    assert!(dropped.get());
    assert!(failure_of(&d).check::<CancelledError>());
    assert_eq!(pending_tasks(), start);
}

#[test]
fn awaiting_a_real_reactor_timer() {
    let reactor = Reactor::new();
    let safety = safety_stop(&reactor);
    let timer = Deferred::<&str>::new();
    let fire = timer.clone();
    reactor.call_later(0.01, move || fire.callback("tick").unwrap());
    let r = reactor.clone();
    let d = ensure_deferred(async move {
        let started = r.seconds();
        let value = timer.await?;
        let elapsed = r.seconds() - started;
        r.stop().unwrap();
        Ok::<_, Failure>((value, elapsed))
    });
    reactor.run().unwrap();
    assert_stopped_on_its_own(safety);
    let (value, elapsed) = success_of(&d);
    assert_eq!(value, "tick");
    assert!(elapsed >= 0.01, "resumed by the timer, after {elapsed}s");
}

#[test]
fn awaiting_defer_to_thread() {
    let reactor = Reactor::new();
    let safety = safety_stop(&reactor);
    let main_thread = std::thread::current().id();
    let r = reactor.clone();
    let d = ensure_deferred(async move {
        let (value, ran_on) = r
            .defer_to_thread(|| Ok::<_, io::Error>((21, std::thread::current().id())))
            .await?;
        let failed = r
            .defer_to_thread(|| Err::<u32, _>(io::Error::other("in thread")))
            .await;
        r.stop().unwrap();
        Ok::<_, Failure>((value * 2, ran_on, failed.unwrap_err().get_error_message()))
    });
    reactor.run().unwrap();
    assert_stopped_on_its_own(safety);
    let (value, ran_on, message) = success_of(&d);
    assert_eq!(value, 42);
    assert_ne!(ran_on, main_thread);
    assert_eq!(message, "in thread");
}

thread_local! {
    static FIRED_FROM_THREAD: RefCell<Option<Deferred<u32>>> = const { RefCell::new(None) };
}

#[test]
fn awaiting_a_deferred_fired_with_call_from_thread() {
    let reactor = Reactor::new();
    let safety = safety_stop(&reactor);
    let d = Deferred::<u32>::new();
    FIRED_FROM_THREAD.with(|slot| *slot.borrow_mut() = Some(d.clone()));
    let r = reactor.clone();
    let task = ensure_deferred(async move {
        let value = d.await?;
        r.stop().unwrap();
        Ok::<_, Failure>(value)
    });
    let handle = reactor.handle();
    let worker = std::thread::spawn(move || {
        handle.call_from_thread(|| {
            let d = FIRED_FROM_THREAD
                .with(|slot| slot.borrow_mut().take())
                .unwrap();
            d.callback(7).unwrap();
        });
    });
    reactor.run().unwrap();
    worker.join().unwrap();
    assert_stopped_on_its_own(safety);
    assert_eq!(success_of(&task), 7);
}

/// A future completed by another thread, which wakes the task from there: the executor must
/// send the wake to the reactor's thread.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<(Option<u32>, Option<Waker>)>>);

impl Future for Shared {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let mut state = self.0.lock().unwrap();
        match state.0 {
            Some(value) => Poll::Ready(value),
            None => {
                state.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

#[test]
fn a_wake_from_another_thread_resumes_the_task_on_the_reactor_thread() {
    let reactor = Reactor::default(); // cross-thread wakes go to the thread's default reactor
    let safety = safety_stop(&reactor);
    let shared = Shared::default();
    let (awaited, r) = (shared.clone(), reactor.clone());
    let main_thread = std::thread::current().id();
    let task = ensure_deferred(async move {
        let value = awaited.await;
        let resumed_on = std::thread::current().id();
        r.stop().unwrap();
        Ok::<_, Failure>((value, resumed_on))
    });
    let worker = std::thread::spawn(move || {
        let waker = {
            let mut state = shared.0.lock().unwrap();
            state.0 = Some(5);
            state.1.take()
        };
        waker.expect("the task has polled").wake();
    });
    reactor.run().unwrap();
    worker.join().unwrap();
    assert_stopped_on_its_own(safety);
    assert_eq!(success_of(&task), (5, main_thread));
}

#[test]
fn add_callback_on_an_awaited_deferred_takes_the_chain_and_the_task_gets_an_error() {
    let d = Deferred::<u32>::new();
    let awaited = d.clone();
    let task = ensure_deferred(awaited);
    assert!(!task.called());
    let follower = d.add_callback(|x| x + 1);
    let error = task.take_result().expect("woken").expect_err("chain taken");
    assert!(error.check::<reactor::defer::AlreadyChainedError>());
    d.callback(1).unwrap();
    assert_eq!(follower.take_result().unwrap().unwrap(), 2);
}

#[test]
fn a_second_task_awaiting_the_same_deferred_gets_an_error_not_a_hang() {
    let d = Deferred::<u32>::new();
    let (a, b) = (d.clone(), d.clone());
    let first = ensure_deferred(a);
    let second = ensure_deferred(b);
    let error = second
        .take_result()
        .expect("fails at once")
        .expect_err("one awaiter");
    assert!(error.check::<reactor::defer::AlreadyChainedError>());
    d.callback(7).unwrap();
    assert_eq!(first.take_result().unwrap().unwrap(), 7);
}
