//! DeferredLock, DeferredSemaphore and DeferredQueue: fairness, cancellation, limits.

mod util;

use reactor::defer::{
    CancelledError, Deferred, DeferredLock, DeferredQueue, DeferredSemaphore, Failure,
    NotAcquiredError, QueueOverflow, QueueUnderflow,
};
use std::cell::Cell;
use std::rc::Rc;
use util::{assert_no_result, failure_of, success_of, Boom, Events};

#[test]
fn the_lock_goes_to_waiters_in_order() {
    let lock = DeferredLock::new();
    let events = Events::new();
    success_of(&lock.acquire());
    assert!(lock.locked());
    let waiters: Vec<Deferred<()>> = (0..3)
        .map(|i| {
            let e = events.clone();
            lock.acquire().add_callback(move |()| e.push(i))
        })
        .collect();
    assert_eq!(lock.waiting(), 3);
    for expected in ["0", "1", "2"] {
        lock.release().unwrap();
        assert_eq!(events.take(), [expected]);
        assert!(lock.locked(), "handed over, not freed");
    }
    lock.release().unwrap();
    assert!(!lock.locked());
    assert!(waiters.iter().all(Deferred::called));
}

#[test]
fn releasing_an_unlocked_lock_is_an_error() {
    let lock = DeferredLock::new();
    assert_eq!(lock.release(), Err(NotAcquiredError));
    success_of(&lock.acquire());
    assert_eq!(lock.release(), Ok(()));
    assert_eq!(lock.release(), Err(NotAcquiredError));
}

#[test]
fn a_cancelled_acquire_leaves_the_line() {
    let lock = DeferredLock::new();
    success_of(&lock.acquire());
    let (first, second) = (lock.acquire(), lock.acquire());
    first.cancel();
    assert!(failure_of(&first).check::<CancelledError>());
    assert_eq!(lock.waiting(), 1);
    lock.release().unwrap();
    success_of(&second);
    assert!(lock.locked());
}

#[test]
fn cancelling_an_acquired_lock_does_nothing() {
    let lock = DeferredLock::new();
    let d = lock.acquire();
    d.cancel();
    success_of(&d);
    assert!(lock.locked());
}

#[test]
fn run_holds_the_lock_until_the_functions_deferred_fires() {
    let lock = DeferredLock::new();
    let job = Deferred::<u32>::new();
    let j = job.clone();
    let first = lock.run(move || j);
    let second_ran = Rc::new(Cell::new(false));
    let flag = second_ran.clone();
    let second = lock.run(move || {
        flag.set(true);
        5
    });
    assert!(!second_ran.get());
    job.callback(4).unwrap();
    assert_eq!(success_of(&first), 4);
    assert_eq!(success_of(&second), 5);
    assert!(!lock.locked());
}

#[test]
fn run_releases_the_lock_on_failure() {
    let lock = DeferredLock::new();
    let failed = lock.run(|| Err::<u32, _>(Failure::new(Boom("in run"))));
    assert!(failure_of(&failed).check::<Boom>());
    assert!(!lock.locked());
    let job = Deferred::<u32>::new();
    let j = job.clone();
    let failed_later = lock.run(move || j);
    job.errback(Boom("later")).unwrap();
    assert!(failure_of(&failed_later).check::<Boom>());
    assert!(!lock.locked());
}

#[test]
fn cancelling_a_waiting_run_never_calls_the_function() {
    let lock = DeferredLock::new();
    success_of(&lock.acquire());
    let called = Rc::new(Cell::new(false));
    let flag = called.clone();
    let waiting = lock.run(move || flag.set(true));
    waiting.cancel();
    assert!(failure_of(&waiting).check::<CancelledError>());
    assert_eq!(lock.waiting(), 0);
    lock.release().unwrap();
    assert!(!called.get());
    assert!(!lock.locked());
}

#[test]
fn cancelling_a_running_run_cancels_the_job_and_releases() {
    let lock = DeferredLock::new();
    let job_cancelled = Rc::new(Cell::new(false));
    let flag = job_cancelled.clone();
    // The job's producer holds its Deferred, as a timer or a connection would.
    let job = Deferred::<u32>::with_canceller(move |_| flag.set(true));
    let j = job.clone();
    let running = lock.run(move || j);
    assert!(lock.locked());
    running.cancel();
    assert!(job_cancelled.get());
    assert!(failure_of(&running).check::<CancelledError>());
    assert!(!lock.locked());
}

#[test]
fn the_semaphore_admits_limit_holders_in_order() {
    let sem = DeferredSemaphore::new(2);
    assert_eq!((sem.tokens(), sem.limit()), (2, 2));
    let events = Events::new();
    let acquires: Vec<Deferred<()>> = (0..5)
        .map(|i| {
            let e = events.clone();
            sem.acquire().add_callback(move |()| e.push(i))
        })
        .collect();
    assert_eq!(events.take(), ["0", "1"]);
    assert_eq!((sem.tokens(), sem.waiting()), (0, 3));
    sem.release().unwrap();
    assert_eq!(events.take(), ["2"]);
    sem.release().unwrap();
    sem.release().unwrap();
    assert_eq!(events.take(), ["3", "4"]);
    sem.release().unwrap();
    sem.release().unwrap();
    assert_eq!(sem.tokens(), 2);
    assert_eq!(sem.release(), Err(NotAcquiredError));
    assert!(acquires.iter().all(Deferred::called));
}

#[test]
fn a_cancelled_semaphore_waiter_leaves_the_line() {
    let sem = DeferredSemaphore::new(1);
    success_of(&sem.acquire());
    let waiters: Vec<Deferred<()>> = (0..3).map(|_| sem.acquire()).collect();
    waiters[1].cancel();
    assert_eq!(sem.waiting(), 2);
    sem.release().unwrap();
    success_of(&waiters[0]);
    sem.release().unwrap();
    success_of(&waiters[2]);
    assert!(failure_of(&waiters[1]).check::<CancelledError>());
}

#[test]
fn a_newcomer_does_not_jump_the_line_during_a_release() {
    // A waiter's callback releases and re-acquires at once: the token goes to the next
    // waiter first, and the newcomer queues behind it.
    let sem = DeferredSemaphore::new(1);
    success_of(&sem.acquire());
    let events = Events::new();
    let (s, e) = (sem.clone(), events.clone());
    let first = sem.acquire().add_callback(move |()| {
        e.push("first");
        s.release().unwrap();
        let e2 = e.clone();
        s.acquire().add_callback(move |()| e2.push("newcomer"))
    });
    let e = events.clone();
    let _second = sem.acquire().add_callback(move |()| e.push("second"));
    sem.release().unwrap();
    assert_eq!(events.take(), ["first", "second"]);
    sem.release().unwrap();
    assert_eq!(events.take(), ["newcomer"]);
    success_of(&first);
}

#[test]
fn many_synchronous_runs_do_not_recurse() {
    let sem = DeferredSemaphore::new(1);
    success_of(&sem.acquire());
    let count = Rc::new(Cell::new(0u32));
    let runs: Vec<Deferred<u32>> = (0..100_000)
        .map(|i| {
            let c = count.clone();
            sem.run(move || {
                assert_eq!(c.get(), i, "runs in order");
                c.set(i + 1);
                i
            })
        })
        .collect();
    sem.release().unwrap();
    assert_eq!(count.get(), 100_000);
    assert_eq!(success_of(&runs[99_999]), 99_999);
    assert_eq!(sem.tokens(), 1);
}

#[test]
#[should_panic(expected = "at least one token")]
fn a_semaphore_needs_a_token() {
    let _ = DeferredSemaphore::new(0);
}

#[test]
fn queue_values_and_waiters_are_first_in_first_out() {
    let queue = DeferredQueue::new();
    let gets: Vec<Deferred<u32>> = (0..2).map(|_| queue.get()).collect();
    assert_eq!(queue.waiting(), 2);
    for value in 1..=4 {
        queue.put(value).unwrap();
    }
    assert_eq!(success_of(&gets[0]), 1);
    assert_eq!(success_of(&gets[1]), 2);
    assert_eq!(queue.pending(), 2);
    assert_eq!(success_of(&queue.get()), 3);
    assert_eq!(success_of(&queue.get()), 4);
    assert_no_result(&queue.get());
}

#[test]
fn queue_put_overflows_at_size() {
    let queue = DeferredQueue::with_limits(Some(2), None);
    assert_eq!(queue.size(), Some(2));
    queue.put(1).unwrap();
    queue.put(2).unwrap();
    assert_eq!(queue.put(3), Err(QueueOverflow));
    assert_eq!(success_of(&queue.get()), 1);
    assert_eq!(queue.put(3), Ok(()));
    assert_eq!(queue.pending(), 2);
}

#[test]
fn a_waiting_get_takes_a_put_even_at_size_zero() {
    let queue = DeferredQueue::with_limits(Some(0), None);
    assert_eq!(queue.put(1), Err(QueueOverflow));
    let get = queue.get();
    queue.put(2).unwrap();
    assert_eq!(success_of(&get), 2);
}

#[test]
fn queue_get_underflows_at_backlog() {
    let queue = DeferredQueue::<u32>::with_limits(None, Some(1));
    assert_eq!(queue.backlog(), Some(1));
    let waiting = queue.get();
    let refused = queue.get();
    assert!(failure_of(&refused).check::<QueueUnderflow>());
    queue.put(5).unwrap();
    assert_eq!(success_of(&waiting), 5);
}

#[test]
fn cancelling_a_get_removes_it_from_the_waiters() {
    let queue = DeferredQueue::new();
    let (first, second) = (queue.get(), queue.get());
    first.cancel();
    assert!(failure_of(&first).check::<CancelledError>());
    assert_eq!(queue.waiting(), 1);
    queue.put("value").unwrap();
    assert_eq!(success_of(&second), "value");
    assert_eq!(queue.pending(), 0);
}

#[test]
fn a_get_callback_may_use_the_queue() {
    let queue = DeferredQueue::new();
    let q = queue.clone();
    let echoed = queue.get().add_callback(move |x: u32| {
        q.put(x + 1).unwrap();
        q.get()
    });
    queue.put(1).unwrap();
    assert_eq!(success_of(&echoed), 2);
    assert_eq!(queue.pending(), 0);
}
