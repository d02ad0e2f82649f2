//! DeferredList (every flag combination), gather_results and race.

mod util;

use reactor::defer::{
    ensure_deferred, gather_results, race, AlreadyChainedError, CancelledError, Deferred,
    DeferredList, Failure, FailureGroup, FirstError, ListResult,
};
use std::cell::Cell;
use std::rc::Rc;
use util::{assert_no_result, failure_of, success_of, Boom};

/// What a list fired with, in a comparable shape.
#[derive(Debug, PartialEq)]
enum Seen {
    All(Vec<Result<u32, String>>),
    First(usize, u32),
    FirstError(usize, String),
}

fn seen(d: &Deferred<ListResult<u32>>) -> Seen {
    match d.take_result().expect("the list has fired") {
        Ok(ListResult::All(results)) => Seen::All(
            results
                .into_iter()
                .map(|r| r.map_err(|f| f.get_error_message()))
                .collect(),
        ),
        Ok(ListResult::First { index, value }) => Seen::First(index, value),
        Err(failure) => {
            let first = failure.value::<FirstError>().expect("a FirstError");
            Seen::FirstError(first.index, first.failure.get_error_message())
        }
    }
}

fn three() -> [Deferred<u32>; 3] {
    [Deferred::new(), Deferred::new(), Deferred::new()]
}

fn list(
    inputs: &[Deferred<u32>; 3],
    on_callback: bool,
    on_errback: bool,
    consume: bool,
) -> Deferred<ListResult<u32>> {
    DeferredList::new(inputs.to_vec())
        .fire_on_one_callback(on_callback)
        .fire_on_one_errback(on_errback)
        .consume_errors(consume)
        .into_deferred()
}

#[test]
fn every_flag_combination_when_a_success_comes_first() {
    for on_callback in [false, true] {
        for on_errback in [false, true] {
            for consume in [false, true] {
                let inputs = three();
                let d = list(&inputs, on_callback, on_errback, consume);
                inputs[1].callback(2).unwrap();
                let after_success_fired = d.called();
                inputs[0].errback(Boom("a")).unwrap();
                inputs[2].callback(3).unwrap();
                let expected = if on_callback {
                    Seen::First(1, 2)
                } else if on_errback {
                    Seen::FirstError(0, "boom: a".into())
                } else {
                    Seen::All(vec![Err("boom: a".into()), Ok(2), Ok(3)])
                };
                let flags = (on_callback, on_errback, consume);
                assert_eq!(after_success_fired, on_callback, "{flags:?}");
                assert_eq!(seen(&d), expected, "{flags:?}");
            }
        }
    }
}

#[test]
fn every_flag_combination_when_a_failure_comes_first() {
    for on_callback in [false, true] {
        for on_errback in [false, true] {
            for consume in [false, true] {
                let inputs = three();
                let d = list(&inputs, on_callback, on_errback, consume);
                inputs[2].errback(Boom("c")).unwrap();
                let after_failure_fired = d.called();
                inputs[0].callback(1).unwrap();
                inputs[1].callback(2).unwrap();
                let expected = if on_errback {
                    Seen::FirstError(2, "boom: c".into())
                } else if on_callback {
                    Seen::First(0, 1)
                } else {
                    Seen::All(vec![Ok(1), Ok(2), Err("boom: c".into())])
                };
                let flags = (on_callback, on_errback, consume);
                assert_eq!(after_failure_fired, on_errback, "{flags:?}");
                assert_eq!(seen(&d), expected, "{flags:?}");
            }
        }
    }
}

#[test]
fn without_flags_the_list_waits_for_every_input() {
    let inputs = three();
    let d = list(&inputs, false, false, true);
    inputs[2].callback(3).unwrap();
    inputs[0].callback(1).unwrap();
    assert_no_result(&d);
    inputs[1].callback(2).unwrap();
    assert_eq!(seen(&d), Seen::All(vec![Ok(1), Ok(2), Ok(3)]));
}

#[test]
fn fire_on_one_callback_with_every_input_failing_gives_all_the_failures() {
    let inputs = three();
    let d = list(&inputs, true, false, true);
    for (input, name) in inputs.iter().zip(["a", "b", "c"]) {
        input.errback(Boom(name)).unwrap();
    }
    let all = ["boom: a", "boom: b", "boom: c"].map(|m| Err(m.to_string()));
    assert_eq!(seen(&d), Seen::All(all.to_vec()));
}

#[test]
fn an_empty_list_fires_at_once_whatever_the_flags() {
    let d = DeferredList::<u32>::new(Vec::new())
        .fire_on_one_callback(true)
        .fire_on_one_errback(true)
        .into_deferred();
    assert_eq!(seen(&d), Seen::All(vec![]));
}

#[test]
fn inputs_that_already_fired_count() {
    let inputs = [
        Deferred::succeed(1),
        Deferred::new(),
        Deferred::fail(Boom("early")),
    ];
    let d = list(&inputs, false, false, true);
    assert_no_result(&d);
    inputs[1].callback(2).unwrap();
    assert_eq!(
        seen(&d),
        Seen::All(vec![Ok(1), Ok(2), Err("boom: early".into())])
    );
}

#[test]
fn an_input_that_already_has_a_chain_is_reported_in_its_slot() {
    let chained = Deferred::<u32>::new();
    let _elsewhere = chained.add_callback(|x| x);
    let d = DeferredList::new(vec![Deferred::succeed(1), chained])
        .consume_errors(true)
        .into_deferred();
    match success_of(&d) {
        ListResult::All(results) => {
            assert_eq!(*results[0].as_ref().unwrap(), 1);
            assert!(results[1]
                .as_ref()
                .unwrap_err()
                .check::<AlreadyChainedError>());
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn cancelling_the_list_cancels_the_unfired_inputs() {
    let cancelled = Rc::new(Cell::new(0));
    let count = cancelled.clone();
    let pending = Deferred::<u32>::with_canceller(move |_| count.set(count.get() + 1));
    let fired = Deferred::succeed(1);
    let d = DeferredList::new(vec![fired, pending.clone()])
        .consume_errors(true)
        .into_deferred();
    d.cancel();
    assert_eq!(cancelled.get(), 1);
    assert!(pending.called());
    match success_of(&d) {
        ListResult::All(results) => {
            assert_eq!(*results[0].as_ref().unwrap(), 1);
            assert!(results[1].as_ref().unwrap_err().check::<CancelledError>());
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_deferred_list_can_be_awaited() {
    let inputs = three();
    let list = DeferredList::new(inputs.to_vec()).fire_on_one_callback(true);
    let d = ensure_deferred(async move {
        match list.await? {
            ListResult::First { index, value } => Ok::<_, Failure>(index as u32 * 100 + value),
            ListResult::All(_) => Ok(0),
        }
    });
    inputs[1].callback(7).unwrap();
    assert_eq!(success_of(&d), 107);
}

#[test]
fn gather_results_gives_values_in_input_order() {
    let inputs = three();
    let d = gather_results(inputs.to_vec(), true);
    inputs[2].callback(3).unwrap();
    inputs[0].callback(1).unwrap();
    assert_no_result(&d);
    inputs[1].callback(2).unwrap();
    assert_eq!(success_of(&d), vec![1, 2, 3]);
}

#[test]
fn gather_results_fails_with_the_first_error() {
    let inputs = three();
    let d = gather_results(inputs.to_vec(), true);
    inputs[0].callback(1).unwrap();
    inputs[2].errback(Boom("third")).unwrap();
    inputs[1].errback(Boom("second")).unwrap();
    let failure = failure_of(&d);
    let first = failure.value::<FirstError>().unwrap();
    assert_eq!(first.index, 2);
    assert_eq!(first.failure.value::<Boom>(), Some(&Boom("third")));
    assert_eq!(
        failure.find::<Boom>(),
        Some(&Boom("third")),
        "Boom is FirstError's source"
    );
}

#[test]
fn cancelling_gather_results_cancels_the_inputs() {
    let inputs = three();
    let d = gather_results(inputs.to_vec(), true);
    d.cancel();
    assert!(inputs.iter().all(Deferred::called));
    let failure = failure_of(&d);
    let first = failure.value::<FirstError>().unwrap();
    assert_eq!(first.index, 0);
    assert!(first.failure.check::<CancelledError>());
}

#[test]
fn race_gives_the_first_success_and_cancels_the_others() {
    let cancelled = Rc::new(Cell::new(0));
    let inputs: Vec<Deferred<u32>> = (0..3)
        .map(|_| {
            let count = cancelled.clone();
            Deferred::with_canceller(move |_| count.set(count.get() + 1))
        })
        .collect();
    let d = race(inputs.clone());
    inputs[1].callback(11).unwrap();
    assert_eq!(success_of(&d), (1, 11));
    assert_eq!(cancelled.get(), 2, "the two losers are cancelled");
    assert!(inputs.iter().all(Deferred::called));
}

#[test]
fn race_skips_failures_until_a_success() {
    let inputs = three();
    let d = race(inputs.to_vec());
    inputs[0].errback(Boom("first")).unwrap();
    assert_no_result(&d);
    inputs[2].callback(3).unwrap();
    assert_eq!(success_of(&d), (2, 3));
}

#[test]
fn race_fails_with_every_failure_when_all_fail() {
    let inputs = three();
    let d = race(inputs.to_vec());
    inputs[2].errback(Boom("c")).unwrap();
    inputs[0].errback(Boom("a")).unwrap();
    assert_no_result(&d);
    inputs[1].errback(Boom("b")).unwrap();
    let failure = failure_of(&d);
    let group = failure.value::<FailureGroup>().unwrap();
    let messages: Vec<String> = group
        .failures
        .iter()
        .map(Failure::get_error_message)
        .collect();
    assert_eq!(
        messages,
        ["boom: a", "boom: b", "boom: c"],
        "in input order"
    );
}

#[test]
fn race_of_nothing_fails_at_once() {
    let d = race(Vec::<Deferred<u32>>::new());
    assert!(failure_of(&d)
        .value::<FailureGroup>()
        .unwrap()
        .failures
        .is_empty());
}

#[test]
fn cancelling_a_race_cancels_every_input() {
    let inputs = three();
    let d = race(inputs.to_vec());
    d.cancel();
    assert!(inputs.iter().all(Deferred::called));
    let failure = failure_of(&d);
    let group = failure.value::<FailureGroup>().unwrap();
    assert_eq!(group.failures.len(), 3);
    assert!(group.failures.iter().all(|f| f.check::<CancelledError>()));
}
