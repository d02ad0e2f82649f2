//! The errors of `twisted.internet.defer`.

use std::error::Error;
use std::fmt;

macro_rules! simple_error {
    ($(#[$doc:meta])* $name:ident, $message:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct $name;

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str($message)
            }
        }

        impl Error for $name {}
    };
}
pub(crate) use simple_error;

simple_error!(
    /// A Deferred was cancelled before it fired.
    CancelledError,
    "the Deferred was cancelled"
);

simple_error!(
    /// `callback`/`errback` on a Deferred that has already fired.
    AlreadyCalledError,
    "the Deferred has already been called"
);

simple_error!(
    /// A second chain on one `Deferred<T>`: its result already went to an earlier
    /// `add_callback`, `await` or `chain_deferred`. Add the next callback to the Deferred that
    /// the earlier `add_callback` returned.
    AlreadyChainedError,
    "the Deferred already has a callback chain (add callbacks to the Deferred that add_callback returned)"
);

/// A Deferred given a timeout with `add_timeout` did not fire in time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeoutError {
    /// The timeout, in seconds.
    pub seconds: f64,
}

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Deferred timed out after {} seconds", self.seconds)
    }
}

impl Error for TimeoutError {}
