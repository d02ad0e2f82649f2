//! "Unhandled error in Deferred" is logged once, when the last handle of a Deferred still
//! holding a failure drops, and never for a failure that was handled or taken.
//!
//! The tests of this binary share one global logger, so each looks only for its own message.

mod util;

use log::{Level, LevelFilter, Log, Metadata, Record};
use reactor::defer::{gather_results, race, Deferred, DeferredList};
use std::sync::{Mutex, Once};
use util::{success_of, Boom};

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

static CAPTURE: Capture = Capture;

impl Log for Capture {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= Level::Error
    }
    fn log(&self, record: &Record) {
        if self.enabled(record.metadata()) {
            LINES.lock().unwrap().push(record.args().to_string());
        }
    }
    fn flush(&self) {}
}

/// How many "Unhandled error" lines mention `message`.
fn unhandled(message: &str) -> usize {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&CAPTURE).unwrap();
        log::set_max_level(LevelFilter::Error);
    });
    let lines = LINES.lock().unwrap();
    lines
        .iter()
        .filter(|line| line.starts_with("Unhandled error in Deferred") && line.contains(message))
        .count()
}

#[test]
fn logged_once_when_the_last_handle_drops() {
    unhandled("");
    let d = Deferred::<u32>::new();
    let other = d.clone();
    d.errback(Boom("last handle")).unwrap();
    drop(d);
    assert_eq!(unhandled("boom: last handle"), 0, "a handle is left");
    drop(other);
    assert_eq!(unhandled("boom: last handle"), 1);
}

#[test]
fn logged_once_at_the_end_of_a_chain_not_per_link() {
    unhandled("");
    let d = Deferred::<u32>::new();
    let tail = d.add_callback(|x| x + 1).add_callback(|x| x * 2);
    d.errback(Boom("through the chain")).unwrap();
    drop(d);
    assert_eq!(unhandled("boom: through the chain"), 0);
    drop(tail);
    assert_eq!(unhandled("boom: through the chain"), 1);
}

#[test]
fn not_logged_when_handled_or_taken() {
    unhandled("");
    let d = Deferred::<u32>::new();
    let recovered = d.add_errback(|_| Ok(0));
    d.errback(Boom("handled")).unwrap();
    assert_eq!(success_of(&recovered), 0);
    drop((d, recovered));

    let taken = Deferred::<u32>::fail(Boom("taken"));
    assert!(taken.take_result().unwrap().is_err());
    drop(taken);

    assert_eq!(unhandled("boom: handled"), 0);
    assert_eq!(unhandled("boom: taken"), 0);
}

#[test]
fn deferred_list_without_consume_errors_leaves_failures_unhandled() {
    unhandled("");
    for consume in [false, true] {
        let message = if consume {
            "list consumed"
        } else {
            "list kept"
        };
        let inputs = vec![Deferred::<u32>::new(), Deferred::new()];
        let list = DeferredList::new(inputs.clone())
            .consume_errors(consume)
            .into_deferred();
        inputs[0].errback(Boom(message)).unwrap();
        inputs[1].callback(1).unwrap();
        assert!(success_of(&list).is_all());
        drop((inputs, list));
    }
    assert_eq!(unhandled("boom: list kept"), 1);
    assert_eq!(unhandled("boom: list consumed"), 0);
}

#[test]
fn gather_results_consume_errors_decides_too() {
    unhandled("");
    for (consume, message) in [(false, "gather kept"), (true, "gather consumed")] {
        let input = Deferred::<u32>::new();
        let gathered = gather_results(vec![input.clone()], consume);
        input.errback(Boom(message)).unwrap();
        assert!(gathered.take_result().unwrap().is_err());
    }
    assert_eq!(unhandled("boom: gather kept"), 1);
    assert_eq!(unhandled("boom: gather consumed"), 0);
}

#[test]
fn race_losers_failures_are_handled() {
    unhandled("");
    let loser = Deferred::<u32>::with_canceller(|d| d.errback(Boom("race loser")).unwrap());
    let winner = Deferred::<u32>::new();
    let raced = race(vec![loser, winner.clone()]);
    winner.callback(1).unwrap();
    assert_eq!(success_of(&raced), (1, 1));
    drop((raced, winner));
    assert_eq!(unhandled("boom: race loser"), 0);
}

trait IsAll {
    fn is_all(&self) -> bool;
}

impl<T> IsAll for reactor::defer::ListResult<T> {
    fn is_all(&self) -> bool {
        matches!(self, reactor::defer::ListResult::All(_))
    }
}
