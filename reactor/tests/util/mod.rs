//! Helpers shared by the integration tests (each test binary uses a subset).
#![allow(dead_code)]

use reactor::defer::{Deferred, Failure};
use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

/// The value of a Deferred that must have succeeded (Twisted's `successResultOf`).
#[track_caller]
pub fn success_of<T>(d: &Deferred<T>) -> T {
    match d.take_result() {
        Some(Ok(value)) => value,
        Some(Err(failure)) => panic!("expected a result, got {failure:?}"),
        None => panic!("expected a result, the Deferred has none ({d:?})"),
    }
}

/// The failure of a Deferred that must have failed (Twisted's `failureResultOf`).
#[track_caller]
pub fn failure_of<T>(d: &Deferred<T>) -> Failure {
    match d.take_result() {
        Some(Err(failure)) => failure,
        Some(Ok(_)) => panic!("expected a failure, got a value"),
        None => panic!("expected a failure, the Deferred has none ({d:?})"),
    }
}

/// Assert that a Deferred has not fired (Twisted's `assertNoResult`).
#[track_caller]
pub fn assert_no_result<T>(d: &Deferred<T>) {
    assert!(!d.called(), "expected no result, got {d:?}");
}

/// A shared log of events, to check the order callbacks ran in.
#[derive(Clone, Default)]
pub struct Events(Rc<RefCell<Vec<String>>>);

impl Events {
    pub fn new() -> Events {
        Events::default()
    }

    pub fn push(&self, event: impl fmt::Display) {
        self.0.borrow_mut().push(event.to_string());
    }

    pub fn take(&self) -> Vec<String> {
        self.0.take()
    }
}

/// An error type of the tests' own, so `check` has something precise to find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boom(pub &'static str);

impl fmt::Display for Boom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "boom: {}", self.0)
    }
}

impl std::error::Error for Boom {}

/// Sets a flag when dropped: shows that a future (or closure) was dropped.
pub struct DropGuard(pub Rc<std::cell::Cell<bool>>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.set(true);
    }
}
