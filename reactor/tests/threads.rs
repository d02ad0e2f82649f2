//! Calls between threads: `call_from_thread`, `defer_to_thread`, `ReactorHandle::stop`.

#[path = "simutil/mod.rs"]
mod util;

use reactor::defer::Failure;
use reactor::{Reactor, ReactorHandle, ThreadPanicked};
use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use util::run_until_stopped;

#[test]
fn reactor_handle_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<ReactorHandle>();
}

#[test]
fn calls_from_eight_threads_each_run_once_on_the_reactor_thread() {
    const THREADS: usize = 8;
    const CALLS: usize = 10_000;
    const TOTAL: usize = THREADS * CALLS;
    let reactor = Reactor::new();
    let reactor_thread = thread::current().id();
    let runs: Arc<Vec<AtomicUsize>> = Arc::new((0..TOTAL).map(|_| AtomicUsize::new(0)).collect());
    let done = Arc::new(AtomicUsize::new(0));
    let wrong_thread = Arc::new(AtomicUsize::new(0));
    let handle = reactor.handle();
    let mut senders = Vec::new();
    for t in 0..THREADS {
        let (handle, runs, done, wrong_thread) = (
            handle.clone(),
            runs.clone(),
            done.clone(),
            wrong_thread.clone(),
        );
        senders.push(thread::spawn(move || {
            for i in 0..CALLS {
                let (stopper, runs, done, wrong_thread) = (
                    handle.clone(),
                    runs.clone(),
                    done.clone(),
                    wrong_thread.clone(),
                );
                handle.call_from_thread(move || {
                    if thread::current().id() != reactor_thread {
                        wrong_thread.fetch_add(1, Ordering::Relaxed);
                    }
                    runs[t * CALLS + i].fetch_add(1, Ordering::Relaxed);
                    if done.fetch_add(1, Ordering::Relaxed) + 1 == TOTAL {
                        stopper.stop();
                    }
                });
            }
        }));
    }
    run_until_stopped(&reactor, 60.0);
    for sender in senders {
        sender.join().unwrap();
    }
    assert_eq!(done.load(Ordering::Relaxed), TOTAL);
    assert_eq!(wrong_thread.load(Ordering::Relaxed), 0);
    let not_once = runs
        .iter()
        .filter(|n| n.load(Ordering::Relaxed) != 1)
        .count();
    assert_eq!(not_once, 0, "calls that did not run exactly once");
}

#[test]
fn calls_queued_before_run_run_on_the_first_turn() {
    let reactor = Reactor::new();
    let ran = Arc::new(Mutex::new(Vec::new()));
    let handle = reactor.handle();
    let r = ran.clone();
    thread::spawn(move || {
        let stopper = handle.clone();
        handle.call_from_thread(move || {
            r.lock().unwrap().push("from thread");
            stopper.stop();
        });
    })
    .join()
    .unwrap();
    run_until_stopped(&reactor, 5.0);
    assert_eq!(*ran.lock().unwrap(), ["from thread"]);
}

type Outcome<T> = Rc<RefCell<Option<Result<T, Failure>>>>;

fn record<T: 'static>(
    reactor: &Reactor,
    d: reactor::defer::Deferred<T>,
    left: &Rc<RefCell<usize>>,
) -> Outcome<T> {
    let out: Outcome<T> = Rc::new(RefCell::new(None));
    let (o, left, r) = (out.clone(), left.clone(), reactor.clone());
    d.add_both(move |result| {
        *o.borrow_mut() = Some(result);
        *left.borrow_mut() -= 1;
        if *left.borrow() == 0 {
            r.stop().unwrap();
        }
    });
    out
}

#[test]
fn defer_to_thread_delivers_values_errors_and_panics_on_the_reactor_thread() {
    let reactor = Reactor::new();
    let reactor_thread = thread::current().id();
    let left = Rc::new(RefCell::new(3));
    let value = record(
        &reactor,
        reactor.defer_to_thread(move || Ok::<_, io::Error>(thread::current().id())),
        &left,
    );
    let error = record(
        &reactor,
        reactor.defer_to_thread(|| {
            Err::<u32, _>(io::Error::new(io::ErrorKind::NotFound, "no such thing"))
        }),
        &left,
    );
    let panic = record(
        &reactor,
        reactor.defer_to_thread(|| -> Result<u32, io::Error> { panic!("kaboom") }),
        &left,
    );
    run_until_stopped(&reactor, 10.0);

    let worker = value.borrow_mut().take().unwrap().unwrap();
    assert_ne!(worker, reactor_thread, "the function ran in the pool");
    let failure = error.borrow_mut().take().unwrap().unwrap_err();
    assert_eq!(
        failure.value::<io::Error>().unwrap().kind(),
        io::ErrorKind::NotFound
    );
    let failure = panic.borrow_mut().take().unwrap().unwrap_err();
    assert_eq!(
        failure.value::<ThreadPanicked>(),
        Some(&ThreadPanicked {
            message: "kaboom".to_string()
        })
    );
}

#[test]
fn defer_to_thread_with_a_formatted_panic_message() {
    let reactor = Reactor::new();
    let left = Rc::new(RefCell::new(1));
    let n = 7;
    let panic = record(
        &reactor,
        reactor.defer_to_thread(move || -> Result<(), io::Error> { panic!("bad {n}") }),
        &left,
    );
    run_until_stopped(&reactor, 10.0);
    let failure = panic.borrow_mut().take().unwrap().unwrap_err();
    assert_eq!(failure.value::<ThreadPanicked>().unwrap().message, "bad 7");
}

#[test]
fn handle_stop_from_another_thread_stops_the_reactor() {
    let reactor = Reactor::new();
    let handle = reactor.handle();
    let spawned = Rc::new(RefCell::new(None));
    let s = spawned.clone();
    reactor.call_when_running(move || {
        *s.borrow_mut() = Some(thread::spawn(move || handle.stop()));
    });
    run_until_stopped(&reactor, 5.0);
    assert!(!reactor.running());
    spawned.borrow_mut().take().unwrap().join().unwrap();
}
