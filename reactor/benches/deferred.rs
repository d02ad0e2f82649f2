//! Deferred micro-benchmarks: `cargo bench -p reactor --bench deferred`.
//!
//! Plain `Instant` timing (no harness): each case runs a warm-up, then the measured loop, and
//! prints nanoseconds per operation.

use reactor::defer::{ensure_deferred, Deferred};
use std::cell::Cell;
use std::hint::black_box;
use std::rc::Rc;
use std::time::Instant;

/// Run `f(i)` for `iterations` values of `i` and print the time per iteration.
fn measure(name: &str, iterations: u64, mut f: impl FnMut(u64)) -> f64 {
    for i in 0..iterations / 10 {
        f(i);
    }
    let start = Instant::now();
    for i in 0..iterations {
        f(i);
    }
    let elapsed = start.elapsed();
    let ns = elapsed.as_nanos() as f64 / iterations as f64;
    println!("{name:<52} {ns:>8.1} ns/op  ({iterations} iterations)");
    ns
}

/// New Deferred, `links` callbacks, fire, take the result.
fn chain(links: u64) -> impl FnMut(u64) {
    move |i| {
        let d = Deferred::<u64>::new();
        let mut tail = d.add_callback(|x| x + 1);
        for _ in 1..links {
            tail = tail.add_callback(|x| x + 1);
        }
        d.callback(black_box(i)).unwrap();
        black_box(tail.take_result());
    }
}

/// The same with callbacks that capture state (an `Rc`, as a protocol's or a client's
/// callbacks do), so that each callback is a real closure, not a zero-sized function.
fn chain_capturing(links: u64) -> impl FnMut(u64) {
    let state = Rc::new(Cell::new(0u64));
    move |i| {
        let d = Deferred::<u64>::new();
        let s = state.clone();
        let mut tail = d.add_callback(move |x| x + s.get());
        for _ in 1..links {
            let s = state.clone();
            tail = tail.add_callback(move |x| x + s.get());
        }
        d.callback(black_box(i)).unwrap();
        black_box(tail.take_result());
    }
}

// The async blocks that only await are the point: they measure a task running the await.
#[allow(clippy::redundant_async_block)]
fn main() {
    println!("Deferred micro-benchmarks (ns per operation)");
    measure("new + add_callback + fire, chain of 1", 2_000_000, chain(1));
    let ten = measure("new + add_callback + fire, chain of 10", 500_000, chain(10));
    println!(
        "{:<52} {:>8.1} ns/op",
        "  (chain of 10, per link)",
        ten / 10.0
    );
    measure(
        "the same, callbacks capturing an Rc, chain of 1",
        2_000_000,
        chain_capturing(1),
    );
    let ten = measure(
        "the same, callbacks capturing an Rc, chain of 10",
        500_000,
        chain_capturing(10),
    );
    println!(
        "{:<52} {:>8.1} ns/op",
        "  (capturing chain of 10, per link)",
        ten / 10.0
    );
    measure(
        "ensure_deferred awaiting an already-fired Deferred",
        1_000_000,
        |i| {
            let d = ensure_deferred(async move { Deferred::succeed(black_box(i)).await });
            black_box(d.take_result());
        },
    );
    measure(
        "ensure_deferred awaiting a Deferred fired later",
        1_000_000,
        |i| {
            let later = Deferred::<u64>::new();
            let awaited = later.clone();
            let d = ensure_deferred(async move { awaited.await });
            later.callback(black_box(i)).unwrap();
            black_box(d.take_result());
        },
    );
}
