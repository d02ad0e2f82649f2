//! `reactor`: the slice of Twisted's `twisted.internet` that treq stands on, in Rust.
//!
//! * [`Reactor`]: a single-threaded event loop over `mio` — timers, sockets, calls from other
//!   threads.
//! * [`defer`]: [`Deferred<T>`](defer::Deferred) callback chains, [`Failure`](defer::Failure),
//!   and `async`/`await` on the reactor with [`ensure_deferred`](defer::ensure_deferred).
//! * [`task`]: [`Clock`](task::Clock) for deterministic tests, `defer_later`, `LoopingCall`.
//!
//! ```
//! use reactor::{defer::Deferred, Reactor};
//!
//! let reactor = Reactor::new();
//! let d = Deferred::<u32>::new();
//! let fire = d.clone();
//! reactor.call_later(0.01, move || fire.callback(20).unwrap());
//! let r = reactor.clone();
//! d.add_callback(|x| x + 1)
//!     .add_callback(|x| x * 2)
//!     .add_callback(move |x| {
//!         assert_eq!(x, 42);
//!         r.stop().unwrap();
//!     });
//! reactor.run().unwrap();
//! ```
//!
//! The same in the style of `inlineCallbacks`: an `async` block run on the reactor by
//! [`ensure_deferred`](defer::ensure_deferred), awaiting Deferreds.
//!
//! ```
//! use reactor::defer::ensure_deferred;
//! use reactor::{task, Reactor};
//!
//! let reactor = Reactor::new();
//! let (clock, r) = (reactor.clone(), reactor.clone());
//! ensure_deferred(async move {
//!     let started = clock.seconds();
//!     task::sleep(&clock, 0.01).await?; // yield deferLater(reactor, 0.01, lambda: None)
//!     Ok::<f64, reactor::defer::Failure>(clock.seconds() - started)
//! })
//! .add_callback(move |waited| {
//!     assert!(waited > 0.009); // at least the delay (less a rounding error)
//!     r.stop().unwrap();
//! });
//! reactor.run().unwrap();
//! ```
// Two functions use unsafe code, each isolated and explained in its file: one reads a socket
// into uninitialised buffer memory (`tcp::spare_read`, measured there), one reads the kernel's
// `TCP_INFO` (`tcp::tcp_info`, for the buffer tuning in `tcp::buffer_tuning`); everything else
// is safe code.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod connect_timings;
pub mod defer;
pub mod endpoints;
pub mod error;
mod event_clock;
pub mod interfaces;
pub mod iosim;
mod producer_slot;
pub mod protocol;
mod reactor;
pub mod resolve;
pub mod task;
pub mod tcp;
mod threadpool;
mod timer;
pub mod tls;
#[cfg(unix)]
mod unix;

pub use crate::reactor::{
    BusyPollStats, Phase, Reactor, ReactorHandle, SystemEvent, ThreadPanicked, TriggerId,
    TriggerResult, DEFAULT_BUSY_POLL,
};
pub use timer::{DelayedCall, DelayedCallError};
