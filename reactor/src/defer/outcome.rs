//! What a callback may return: a value, a failure, or another Deferred to wait for.

use super::{Deferred, Failure};
use bytes::{Bytes, BytesMut};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::rc::Rc;
use std::sync::Arc;

/// The result of one callback in a chain.
///
/// Twisted lets a callback return a value, raise (a failure), or return a Deferred whose
/// result the chain then waits for. `Outcome` is that choice as a type; callbacks rarely build one
/// by hand, because anything that implements [`IntoOutcome`] will do.
pub enum Outcome<U: 'static> {
    /// A plain value: the next callback gets it.
    Value(U),
    /// A failure: the chain switches to the errback path.
    Failure(Failure),
    /// Another Deferred: the chain waits for it and continues with its result.
    Deferred(Deferred<U>),
}

/// Anything a callback may return (see [`Outcome`]).
///
/// Implemented for:
/// * `Result<U, Failure>`: `Ok` continues with a value, `Err` switches to the errback path (so `?`
///   works inside callbacks on any error type);
/// * `Deferred<U>`: the chain waits for it;
/// * [`Outcome<U>`];
/// * plain values of common types: `()`, `bool`, `char`, numbers, `String`, `&'static str`,
///   `Bytes`, `BytesMut`, `Vec`, `VecDeque`, `Option`, `Box`, `Rc`, `Arc`, `HashMap`, `BTreeMap`,
///   and tuples of up to four elements.
///
/// A callback that returns a value of your own type writes `Ok(value)`, or the type implements
/// this trait itself with [`impl_into_outcome!`](crate::impl_into_outcome). (A blanket
/// implementation for every type would make the three cases ambiguous to type inference.)
pub trait IntoOutcome {
    /// The type the next link of the chain receives.
    type Value: 'static;
    /// Convert into an [`Outcome`].
    fn into_outcome(self) -> Outcome<Self::Value>;
}

impl<U: 'static> IntoOutcome for Outcome<U> {
    type Value = U;
    fn into_outcome(self) -> Outcome<U> {
        self
    }
}

impl<U: 'static> IntoOutcome for Result<U, Failure> {
    type Value = U;
    fn into_outcome(self) -> Outcome<U> {
        match self {
            Ok(value) => Outcome::Value(value),
            Err(failure) => Outcome::Failure(failure),
        }
    }
}

impl<U: 'static> IntoOutcome for Deferred<U> {
    type Value = U;
    fn into_outcome(self) -> Outcome<U> {
        Outcome::Deferred(self)
    }
}

/// Implement [`IntoOutcome`] for your own types, so callbacks may return them directly.
///
/// ```
/// use reactor::{defer::Deferred, impl_into_outcome};
///
/// #[derive(Debug, PartialEq)]
/// struct Celsius(f64);
/// impl_into_outcome!(Celsius);
///
/// let d = Deferred::succeed(21.5).add_callback(Celsius);
/// assert_eq!(d.take_result().unwrap().unwrap(), Celsius(21.5));
/// ```
#[macro_export]
macro_rules! impl_into_outcome {
    ($($t:ty),* $(,)?) => {
        $(impl $crate::defer::IntoOutcome for $t {
            type Value = $t;
            fn into_outcome(self) -> $crate::defer::Outcome<$t> {
                $crate::defer::Outcome::Value(self)
            }
        })*
    };
}

impl_into_outcome!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    String,
    &'static str,
    Bytes,
    BytesMut,
    std::time::Duration,
);

macro_rules! generic_into_outcome {
    ($([$($p:ident),*] $t:ty),* $(,)?) => {
        $(impl<$($p: 'static),*> IntoOutcome for $t {
            type Value = $t;
            fn into_outcome(self) -> Outcome<$t> {
                Outcome::Value(self)
            }
        })*
    };
}

generic_into_outcome!(
    [T] Vec<T>,
    [T] VecDeque<T>,
    [T] Option<T>,
    [T] Box<T>,
    [T] Rc<T>,
    [T] Arc<T>,
    [K, V] HashMap<K, V>,
    [K, V] BTreeMap<K, V>,
    [A, B] (A, B),
    [A, B, C] (A, B, C),
    [A, B, C, D] (A, B, C, D),
);
