//! System event triggers and `call_when_running`.

#[path = "simutil/mod.rs"]
mod util;

use reactor::defer::Deferred;
use reactor::{Phase, Reactor, SystemEvent};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use util::run_until_stopped;

type Log = Rc<RefCell<Vec<String>>>;

fn trigger(reactor: &Reactor, log: &Log, phase: Phase, event: SystemEvent) {
    let log = log.clone();
    reactor.add_system_event_trigger(phase, event, move || {
        log.borrow_mut().push(format!("{event:?}/{phase:?}"));
    });
}

fn stop_soon(reactor: &Reactor) {
    let r = reactor.clone();
    reactor.call_later(0.0, move || r.stop().unwrap());
}

#[test]
fn triggers_run_in_phase_order_for_startup_and_shutdown() {
    let reactor = Reactor::new();
    let log: Log = Rc::default();
    for event in [SystemEvent::Shutdown, SystemEvent::Startup] {
        for phase in [Phase::After, Phase::During, Phase::Before] {
            trigger(&reactor, &log, phase, event);
        }
    }
    let l = log.clone();
    reactor.call_later(0.0, move || l.borrow_mut().push("running".into()));
    stop_soon(&reactor);
    run_until_stopped(&reactor, 5.0);
    assert_eq!(
        *log.borrow(),
        [
            "Startup/Before",
            "Startup/During",
            "Startup/After",
            "running",
            "Shutdown/Before",
            "Shutdown/During",
            "Shutdown/After"
        ]
    );
}

#[test]
fn a_before_shutdown_trigger_returning_a_deferred_delays_shutdown() {
    let reactor = Reactor::new();
    let log: Log = Rc::default();
    let (l, r) = (log.clone(), reactor.clone());
    reactor.add_system_event_trigger(Phase::Before, SystemEvent::Shutdown, move || {
        l.borrow_mut().push("before: waiting".into());
        let d = Deferred::<()>::new();
        let (fire, l) = (d.clone(), l.clone());
        r.call_later(0.05, move || {
            l.borrow_mut().push("deferred fired".into());
            fire.callback(()).unwrap();
        });
        d
    });
    trigger(&reactor, &log, Phase::During, SystemEvent::Shutdown);
    trigger(&reactor, &log, Phase::After, SystemEvent::Shutdown);
    stop_soon(&reactor);
    run_until_stopped(&reactor, 5.0);
    assert_eq!(
        *log.borrow(),
        [
            "before: waiting",
            "deferred fired",
            "Shutdown/During",
            "Shutdown/After"
        ]
    );
    assert!(!reactor.running());
}

#[test]
fn removed_triggers_do_not_run() {
    let reactor = Reactor::new();
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let id =
        reactor.add_system_event_trigger(Phase::During, SystemEvent::Shutdown, move || r.set(true));
    assert!(reactor.remove_system_event_trigger(id));
    assert!(!reactor.remove_system_event_trigger(id), "already removed");
    stop_soon(&reactor);
    run_until_stopped(&reactor, 5.0);
    assert!(!ran.get());
}

#[test]
fn call_when_running_before_run_runs_once_at_startup() {
    let reactor = Reactor::new();
    let log: Log = Rc::default();
    trigger(&reactor, &log, Phase::Before, SystemEvent::Startup);
    let (l, r) = (log.clone(), reactor.clone());
    reactor.call_when_running(move || {
        assert!(r.running());
        l.borrow_mut().push("when running".into());
    });
    trigger(&reactor, &log, Phase::After, SystemEvent::Startup);
    assert!(log.borrow().is_empty());
    stop_soon(&reactor);
    run_until_stopped(&reactor, 5.0);
    assert_eq!(
        *log.borrow(),
        ["Startup/Before", "when running", "Startup/After"]
    );
    // A second run does not call it again.
    log.borrow_mut().clear();
    stop_soon(&reactor);
    run_until_stopped(&reactor, 5.0);
    assert_eq!(*log.borrow(), ["Startup/Before", "Startup/After"]);
}

#[test]
fn call_when_running_during_run_calls_at_once() {
    let reactor = Reactor::new();
    let order: Log = Rc::default();
    let (o, r) = (order.clone(), reactor.clone());
    reactor.call_later(0.0, move || {
        let inner = o.clone();
        r.call_when_running(move || inner.borrow_mut().push("called".into()));
        o.borrow_mut().push("after call_when_running".into());
        r.stop().unwrap();
    });
    run_until_stopped(&reactor, 5.0);
    assert_eq!(*order.borrow(), ["called", "after call_when_running"]);
}
