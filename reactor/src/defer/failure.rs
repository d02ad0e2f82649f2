//! [`Failure`]: an error travelling down a Deferred's errback chain.

use std::any::{type_name, Any};
use std::backtrace::{Backtrace, BacktraceStatus};
use std::error::Error;
use std::fmt;
use std::rc::Rc;

/// An error on its way down an errback chain (Twisted's `twisted.python.failure.Failure`).
///
/// A `Failure` wraps any `std::error::Error + 'static`, remembers the error's type name and
/// (when `RUST_BACKTRACE` enables it) where it was made, and is cheap to clone: clones share the
/// error, so one failure can be handed to several waiters.
///
/// Any error converts into a `Failure` with `?` or `.into()`, which is why `Failure` itself does not
/// implement `std::error::Error` (as `anyhow::Error` does not); [`Failure::error`] gives the error.
///
/// ```
/// use reactor::defer::Failure;
/// use std::io;
///
/// let failure = Failure::new(io::Error::new(io::ErrorKind::Other, "disk on fire"));
/// assert!(failure.check::<io::Error>());
/// assert_eq!(failure.get_error_message(), "disk on fire");
/// // trap passes on what does not match:
/// assert!(failure.clone().trap::<std::fmt::Error>().is_err());
/// assert!(failure.trap::<io::Error>().is_ok());
/// ```
#[derive(Clone)]
pub struct Failure {
    inner: Rc<FailureInner>,
}

struct FailureInner {
    error: Box<dyn Error + 'static>,
    type_name: &'static str,
    backtrace: Backtrace,
}

impl Failure {
    /// Wrap an error.
    pub fn new<E: Error + 'static>(error: E) -> Failure {
        Failure::with_type_name(Box::new(error), type_name::<E>())
    }

    /// Wrap an already boxed error.
    pub fn from_boxed(error: Box<dyn Error + 'static>) -> Failure {
        Failure::with_type_name(error, "Box<dyn Error>")
    }

    /// Wrap an error that signals a normal end rather than a fault, such as `ConnectionDone`
    /// or `ResponseDone`: no backtrace is recorded even when `RUST_BACKTRACE` asks for one.
    ///
    /// Such failures are made once per connection or per response, and capturing a backtrace
    /// costs more than the rest of a keep-alive request; where they were made says nothing.
    ///
    /// ```
    /// use reactor::defer::Failure;
    /// use reactor::error::ConnectionDone;
    /// use std::backtrace::BacktraceStatus;
    ///
    /// let done = Failure::without_backtrace(ConnectionDone);
    /// assert!(done.check::<ConnectionDone>());
    /// assert_eq!(done.backtrace().status(), BacktraceStatus::Disabled);
    /// ```
    pub fn without_backtrace<E: Error + 'static>(error: E) -> Failure {
        Failure::build(Box::new(error), type_name::<E>(), Backtrace::disabled())
    }

    fn with_type_name(error: Box<dyn Error + 'static>, type_name: &'static str) -> Failure {
        Failure::build(error, type_name, Backtrace::capture())
    }

    fn build(
        error: Box<dyn Error + 'static>,
        type_name: &'static str,
        backtrace: Backtrace,
    ) -> Failure {
        Failure {
            inner: Rc::new(FailureInner {
                error,
                type_name,
                backtrace,
            }),
        }
    }

    /// The wrapped error.
    pub fn error(&self) -> &(dyn Error + 'static) {
        &*self.inner.error
    }

    /// Whether the wrapped error is an `E` (Twisted's `Failure.check`).
    pub fn check<E: Error + 'static>(&self) -> bool {
        self.value::<E>().is_some()
    }

    /// `Ok(self)` when the wrapped error is an `E`, else `Err(self)` so that `?` passes the
    /// failure on down the chain (Twisted's `Failure.trap`).
    ///
    /// ```
    /// use reactor::defer::{Deferred, Failure, CancelledError};
    ///
    /// let d = Deferred::<u32>::new();
    /// let recovered = d.add_errback(|failure| {
    ///     failure.trap::<CancelledError>()?;
    ///     Ok(0)
    /// });
    /// d.cancel();
    /// assert_eq!(recovered.take_result().unwrap().ok(), Some(0));
    /// ```
    pub fn trap<E: Error + 'static>(self) -> Result<Failure, Failure> {
        if self.check::<E>() {
            Ok(self)
        } else {
            Err(self)
        }
    }

    /// The wrapped error as an `E`, if it is one.
    pub fn value<E: Error + 'static>(&self) -> Option<&E> {
        let error: &(dyn Error + 'static) = &*self.inner.error;
        error.downcast_ref::<E>()
    }

    /// The first error of type `E` in the wrapped error's source chain, itself included.
    pub fn find<E: Error + 'static>(&self) -> Option<&E> {
        let mut next: Option<&(dyn Error + 'static)> = Some(self.error());
        while let Some(error) = next {
            if let Some(found) = error.downcast_ref::<E>() {
                return Some(found);
            }
            next = error.source();
        }
        None
    }

    /// The error's message (its `Display`), as Twisted's `getErrorMessage`.
    pub fn get_error_message(&self) -> String {
        self.inner.error.to_string()
    }

    /// The Rust type name of the wrapped error, when it was known at construction.
    pub fn type_name(&self) -> &'static str {
        self.inner.type_name
    }

    /// Where the failure was created; empty unless `RUST_BACKTRACE`/`RUST_LIB_BACKTRACE` asks.
    pub fn backtrace(&self) -> &Backtrace {
        &self.inner.backtrace
    }

    /// The message and every `source()` below it, one per line: what logs should show.
    pub fn get_traceback(&self) -> String {
        let mut out = format!("{}: {}", self.inner.type_name, self.inner.error);
        let mut next = self.inner.error.source();
        while let Some(error) = next {
            out.push_str("\n  caused by: ");
            out.push_str(&error.to_string());
            next = error.source();
        }
        if self.inner.backtrace.status() == BacktraceStatus::Captured {
            out.push_str(&format!("\n{}", self.inner.backtrace));
        }
        out
    }

    /// Turn this failure into something that implements `std::error::Error`, to nest it inside
    /// another error as its source.
    pub fn into_error(self) -> FailureError {
        FailureError(self)
    }
}

impl<E: Error + 'static> From<E> for Failure {
    fn from(error: E) -> Failure {
        // A FailureError going back into a Failure unwraps instead of nesting.
        let any: &dyn Any = &error;
        if let Some(wrapped) = any.downcast_ref::<FailureError>() {
            return wrapped.0.clone();
        }
        Failure::new(error)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner.error, f)
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[Failure instance: {}]", self.get_traceback())
    }
}

/// A [`Failure`] as a `std::error::Error`, for use as another error's source.
#[derive(Clone, Debug)]
pub struct FailureError(pub Failure);

impl fmt::Display for FailureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Error for FailureError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(self.0.error())
    }
}
