//! What an expected request is compared with: exact values, [`ANY`], and [`HasHeaders`].

use super::parts::{sorted_lists, HeaderLists, Params};
use crate::client::Values;
use bytes::Bytes;
use std::fmt;

/// Tests one part of a request (its method, URL, parameters, headers or body).
///
/// Exact values, [`ANY`] and [`HasHeaders`] are matchers; implement this trait for any other
/// test and pass it boxed (`Box<dyn Matcher<T>>`).
pub trait Matcher<T: ?Sized>: fmt::Debug {
    /// Whether `actual` is acceptable.
    fn matches(&self, actual: &T) -> bool;
}

/// Turns an expected value into its [`Matcher`]: text and bytes match exactly, maps and lists
/// of pairs match exactly after sorting, [`ANY`] matches anything.
pub trait IntoMatcher<T: ?Sized> {
    /// The matcher.
    fn into_matcher(self) -> Box<dyn Matcher<T>>;
}

/// A request's method, as [`RequestSequence`](super::RequestSequence) matches it: expected
/// methods are compared ignoring ASCII case (`"get"` matches `GET`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Method(pub Bytes);

/// Matches anything (Python's `unittest.mock.ANY`); use [`ANY`].
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Any;

/// Matches any method, URL, parameters, headers or body.
pub const ANY: Any = Any;

impl fmt::Debug for Any {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ANY")
    }
}

impl<T: ?Sized> Matcher<T> for Any {
    fn matches(&self, _actual: &T) -> bool {
        true
    }
}

impl<T: ?Sized + 'static> IntoMatcher<T> for Any {
    fn into_matcher(self) -> Box<dyn Matcher<T>> {
        Box::new(Any)
    }
}

impl<T: ?Sized> IntoMatcher<T> for Box<dyn Matcher<T>> {
    fn into_matcher(self) -> Box<dyn Matcher<T>> {
        self
    }
}

/// No parameters (or headers) at all: `ExpectedRequest::new("get", url, NO_PARAMS, ...)`.
pub const NO_PARAMS: [(&str, &str); 0] = [];

/// No headers at all: a response `(200, NO_HEADERS, "body")`.
pub const NO_HEADERS: [(&str, &str); 0] = [];

/// Bytes that must be equal.
struct ExactBytes(Bytes);

impl fmt::Debug for ExactBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl Matcher<[u8]> for ExactBytes {
    fn matches(&self, actual: &[u8]) -> bool {
        self.0 == actual
    }
}

/// A method, compared ignoring ASCII case.
struct MethodIs(Bytes);

impl fmt::Debug for MethodIs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl Matcher<Method> for MethodIs {
    fn matches(&self, actual: &Method) -> bool {
        self.0.eq_ignore_ascii_case(&actual.0)
    }
}

/// Text that must be equal.
struct ExactText(String);

impl fmt::Debug for ExactText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl Matcher<str> for ExactText {
    fn matches(&self, actual: &str) -> bool {
        self.0 == actual
    }
}

/// Lists that must be equal (values sorted on both sides).
struct ExactLists(Params);

impl fmt::Debug for ExactLists {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl Matcher<Params> for ExactLists {
    fn matches(&self, actual: &Params) -> bool {
        self.0 == *actual
    }
}

macro_rules! bytes_matchers {
    ($($t:ty),*) => {$(
        impl IntoMatcher<[u8]> for $t {
            fn into_matcher(self) -> Box<dyn Matcher<[u8]>> {
                Box::new(ExactBytes(Bytes::copy_from_slice(AsRef::<[u8]>::as_ref(&self))))
            }
        }
        impl IntoMatcher<Method> for $t {
            fn into_matcher(self) -> Box<dyn Matcher<Method>> {
                Box::new(MethodIs(Bytes::copy_from_slice(AsRef::<[u8]>::as_ref(&self))))
            }
        }
    )*};
}
bytes_matchers!(&str, String, &[u8], Vec<u8>, Bytes);

impl<const N: usize> IntoMatcher<[u8]> for &[u8; N] {
    fn into_matcher(self) -> Box<dyn Matcher<[u8]>> {
        Box::new(ExactBytes(Bytes::copy_from_slice(self)))
    }
}

impl<const N: usize> IntoMatcher<Method> for &[u8; N] {
    fn into_matcher(self) -> Box<dyn Matcher<Method>> {
        Box::new(MethodIs(Bytes::copy_from_slice(self)))
    }
}

impl IntoMatcher<str> for &str {
    fn into_matcher(self) -> Box<dyn Matcher<str>> {
        Box::new(ExactText(self.to_owned()))
    }
}

impl IntoMatcher<str> for String {
    fn into_matcher(self) -> Box<dyn Matcher<str>> {
        Box::new(ExactText(self))
    }
}

/// Exact parameters: a map or list of pairs, each with one value or a list.
impl<I, K, V> IntoMatcher<Params> for I
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<[u8]>,
    V: Into<Values>,
{
    fn into_matcher(self) -> Box<dyn Matcher<Params>> {
        Box::new(ExactLists(sorted_lists(self, false)))
    }
}

/// Headers that must be exactly these (names compared ignoring case, values in any order).
struct ExactHeaders(HeaderLists);

impl fmt::Debug for ExactHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl Matcher<HeaderLists> for ExactHeaders {
    fn matches(&self, actual: &HeaderLists) -> bool {
        self.0 == *actual
    }
}

/// Exact headers: a map or list of pairs, each with one value or a list. The client adds
/// headers of its own, so [`HasHeaders`] is usually what a test wants.
impl<I, K, V> IntoMatcher<HeaderLists> for I
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<[u8]>,
    V: Into<Values>,
{
    fn into_matcher(self) -> Box<dyn Matcher<HeaderLists>> {
        Box::new(ExactHeaders(self.into_iter().collect()))
    }
}

/// Headers that include the given ones (treq's `HasHeaders`): a subset match, since the
/// client adds headers of its own (`Host`, `Content-Length`, ...).
///
/// Each expected name must be present (names compared ignoring case) with at least the expected
/// values (values compared exactly, in any order; the actual headers may have more).
///
/// ```
/// use treq::testing::{HasHeaders, HeaderLists};
///
/// let expected = HasHeaders::new([("Accept", vec!["text/plain", "text/html"])]);
/// let actual: HeaderLists = [
///     ("accept", vec!["text/html", "text/plain", "*/*"]),
///     ("host", vec!["example.test"]),
/// ]
/// .into_iter()
/// .collect();
/// assert!(expected.matches(&actual));
/// assert!(!HasHeaders::new([("accept", "image/png")]).matches(&actual));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct HasHeaders {
    headers: HeaderLists,
}

impl HasHeaders {
    /// Expect these headers: a map or list of pairs, each with one value or a list.
    pub fn new<I, K, V>(headers: I) -> HasHeaders
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<[u8]>,
        V: Into<Values>,
    {
        HasHeaders {
            headers: headers.into_iter().collect(),
        }
    }

    /// Whether `actual` includes every expected header with its values.
    pub fn matches(&self, actual: &HeaderLists) -> bool {
        self.headers.is_subset_of(actual)
    }

    /// [`matches`](Self::matches) for a [`Headers`](crate::web::http_headers::Headers).
    pub fn matches_headers(&self, actual: &crate::web::http_headers::Headers) -> bool {
        self.matches(&HeaderLists::from(actual))
    }
}

impl fmt::Debug for HasHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HasHeaders({:?})", self.headers)
    }
}

impl PartialEq<HeaderLists> for HasHeaders {
    fn eq(&self, other: &HeaderLists) -> bool {
        self.matches(other)
    }
}

impl Matcher<HeaderLists> for HasHeaders {
    fn matches(&self, actual: &HeaderLists) -> bool {
        HasHeaders::matches(self, actual)
    }
}

impl IntoMatcher<HeaderLists> for HasHeaders {
    fn into_matcher(self) -> Box<dyn Matcher<HeaderLists>> {
        Box::new(self)
    }
}
