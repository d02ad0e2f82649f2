//! Timer heap micro-benchmarks: `cargo bench -p reactor --bench timers`.
//!
//! Plain `Instant` timing (no harness), as `deferred.rs`. The cases are what an HTTP client does
//! with timers: an idle-connection timeout scheduled and cancelled per request, a request
//! timeout postponed, and many timers firing in order.

use reactor::task::Clock;
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
    let ns = start.elapsed().as_nanos() as f64 / iterations as f64;
    println!("{name:<58} {ns:>8.1} ns/op  ({iterations} iterations)");
    ns
}

fn main() {
    println!("Timer heap micro-benchmarks (ns per operation)");
    let clock = Clock::new();
    // 1,000 other timers pending, as many idle connections would have.
    let others: Vec<_> = (0..1000)
        .map(|i| clock.call_later(1000.0 + i as f64, || {}))
        .collect();
    measure(
        "call_later + cancel, 1,000 others pending",
        2_000_000,
        |i| {
            let call = clock.call_later(240.0 + (i % 7) as f64, || {});
            call.cancel().unwrap();
            if i % 64 == 0 {
                // Let the loop drop cancelled entries from the top, as the reactor does.
                clock.advance(0.0);
            }
        },
    );
    let postponed = clock.call_later(30.0, || {});
    measure("reset (postpone) a pending call", 2_000_000, |i| {
        postponed.reset(30.0 + (i % 5) as f64).unwrap();
    });
    let fired = Rc::new(Cell::new(0u64));
    let ns = measure(
        "schedule 10,000 calls, then advance past them all",
        100,
        |_| {
            for j in 0..10_000u64 {
                let fired = fired.clone();
                clock.call_later(0.001 * (j % 100) as f64, move || fired.set(fired.get() + 1));
            }
            clock.advance(1.0);
        },
    );
    println!(
        "{:<58} {:>8.1} ns/op",
        "  (per call scheduled and fired)",
        ns / 10_000.0
    );
    black_box((others, fired.get()));
}
