//! Driving the reactor in tests with a bound on every wait.

use reactor::defer::{Deferred, Failure};
use reactor::Reactor;
use std::cell::RefCell;
use std::rc::Rc;

/// Run `reactor` until `d` fires, at most `seconds`, and return its result; panics when the
/// time runs out.
pub fn run<T: 'static>(reactor: &Reactor, d: Deferred<T>, seconds: f64) -> Result<T, Failure> {
    let result = Rc::new(RefCell::new(None));
    let (r, stopper) = (result.clone(), reactor.clone());
    d.add_both(move |outcome: Result<T, Failure>| {
        *r.borrow_mut() = Some(outcome);
        let _ = stopper.stop();
    });
    if result.borrow().is_none() {
        let stopper = reactor.clone();
        let timeout = reactor.call_later(seconds, move || {
            let _ = stopper.stop();
        });
        reactor.run().expect("the reactor runs");
        let _ = timeout.cancel();
    }
    let outcome = result.borrow_mut().take();
    outcome.unwrap_or_else(|| panic!("timed out after {seconds} seconds"))
}
