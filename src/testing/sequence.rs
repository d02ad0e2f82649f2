//! [`RequestSequence`]: the requests a test expects, in order, and their answers.

use super::matchers::{IntoMatcher, Matcher, Method};
use super::parts::{HeaderLists, Params};
use super::string_stub::{IStringResponseStubs, StubResponse};
use bytes::Bytes;
use reactor::defer::Failure;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;

/// One expected request: a [`Matcher`] for each of its method, URL, parameters, headers and
/// body (treq's `(method, url, params, headers, data)` tuple).
///
/// * `method`: compared ignoring case (`"get"` or `"GET"`).
/// * `url`: the absolute URL without the query, as the server sees it: scheme, `Host` header
///   (with a port that is not the scheme's default), path (`"http://example.test/"` for
///   `http://example.test`).
/// * `params`: the query (and form) arguments, exactly: a map or a list of pairs;
///   [`NO_PARAMS`](super::NO_PARAMS) for none.
/// * `headers`: usually [`HasHeaders`](super::HasHeaders), since the client adds its own
///   (`Host`, `Connection`, `Content-Length`, ...); a map or list matches exactly.
/// * `data`: the body, exactly.
///
/// [`ANY`](super::ANY) matches anything in any place.
pub struct ExpectedRequest {
    method: Box<dyn Matcher<Method>>,
    url: Box<dyn Matcher<str>>,
    params: Box<dyn Matcher<Params>>,
    headers: Box<dyn Matcher<HeaderLists>>,
    data: Box<dyn Matcher<[u8]>>,
}

impl ExpectedRequest {
    /// Expect a request with this method, URL, parameters, headers and body.
    pub fn new(
        method: impl IntoMatcher<Method>,
        url: impl IntoMatcher<str>,
        params: impl IntoMatcher<Params>,
        headers: impl IntoMatcher<HeaderLists>,
        data: impl IntoMatcher<[u8]>,
    ) -> ExpectedRequest {
        ExpectedRequest {
            method: method.into_matcher(),
            url: url.into_matcher(),
            params: params.into_matcher(),
            headers: headers.into_matcher(),
            data: data.into_matcher(),
        }
    }

    /// The parts of `request` that do not match, by name (`method`, `url`, `parameters`,
    /// `headers`, `data`).
    pub fn mismatches(&self, request: &ActualRequest) -> Vec<&'static str> {
        let mut out = Vec::new();
        if !self.method.matches(&Method(request.method.clone())) {
            out.push("method");
        }
        if !self.url.matches(&request.url) {
            out.push("url");
        }
        if !self.params.matches(&request.params) {
            out.push("parameters");
        }
        if !self.headers.matches(&request.headers) {
            out.push("headers");
        }
        if !self.data.matches(&request.data) {
            out.push("data");
        }
        out
    }
}

impl fmt::Debug for ExpectedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?}(url={:?}, params={:?}, headers={:?}, data={:?})",
            self.method, self.url, self.params, self.headers, self.data
        )
    }
}

/// A request as it arrived, for failure messages.
#[derive(Clone, PartialEq, Eq)]
pub struct ActualRequest {
    /// The method.
    pub method: Bytes,
    /// The absolute URL without the query.
    pub url: String,
    /// The arguments.
    pub params: Params,
    /// The headers.
    pub headers: HeaderLists,
    /// The body.
    pub data: Bytes,
}

impl fmt::Debug for ActualRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?}(url={:?}, params={:?}, headers={:?}, data={:?})",
            self.method, self.url, self.params, self.headers, self.data
        )
    }
}

type Reporter = Rc<dyn Fn(&str)>;

struct SequenceInner {
    remaining: RefCell<VecDeque<(ExpectedRequest, StubResponse)>>,
    reporter: Reporter,
}

/// The requests a test expects, in order, each with its answer (treq's `RequestSequence`).
///
/// Give it to a [`StringStubbingResource`](super::StringStubbingResource) (with
/// [`from_stubs`](super::StringStubbingResource::from_stubs)) and that to a
/// [`StubTreq`](super::StubTreq). Each request is compared with the next expected one: a match
/// takes it off the list and gets its answer; a mismatch, or a request when none is left, gets
/// `500 StubbingError` and is reported through the `async_failure_reporter` (the request stays
/// expected). The reporter cannot fail the test itself — a panic inside the server would only
/// turn into a broken response — so collect its messages and check them at the end.
///
/// [`consume`](Self::consume) (or [`guard`](Self::guard)) fails the test if expected requests
/// are left over.
///
/// Cloning is cheap: clones share the list.
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use treq::testing::{
///     ExpectedRequest, HasHeaders, RequestSequence, StringStubbingResource, StubResponse,
///     StubTreq, NO_PARAMS,
/// };
///
/// let failures = Rc::new(RefCell::new(Vec::<String>::new()));
/// let f = failures.clone();
/// let sequence = RequestSequence::new(
///     [(
///         ExpectedRequest::new("get", "http://example.test/", NO_PARAMS,
///                              HasHeaders::new([("accept", "text/plain")]), ""),
///         StubResponse::new(200, "hello"),
///     )],
///     move |message: &str| f.borrow_mut().push(message.to_owned()),
/// );
/// let stub = StubTreq::new(Rc::new(StringStubbingResource::from_stubs(sequence.clone())));
/// sequence.consume(|| {
///     let response = stub.get("http://example.test")
///         .headers([("Accept", "text/plain")])
///         .send().take_result().unwrap().unwrap();
///     assert_eq!(response.code(), 200);
/// });
/// assert!(failures.borrow().is_empty());
/// ```
#[derive(Clone)]
pub struct RequestSequence {
    inner: Rc<SequenceInner>,
}

impl RequestSequence {
    /// The expected `(request, response)` pairs in order; `async_failure_reporter` is called
    /// with a message for each unexpected request.
    pub fn new<I, R>(expected: I, async_failure_reporter: impl Fn(&str) + 'static) -> Self
    where
        I: IntoIterator<Item = (ExpectedRequest, R)>,
        R: Into<StubResponse>,
    {
        RequestSequence {
            inner: Rc::new(SequenceInner {
                remaining: RefCell::new(
                    expected
                        .into_iter()
                        .map(|(request, response)| (request, response.into()))
                        .collect(),
                ),
                reporter: Rc::new(async_failure_reporter),
            }),
        }
    }

    /// A sequence whose unexpected requests are logged with `log::error!` (treq's default
    /// reporter) instead of reported to the test.
    pub fn logging<I, R>(expected: I) -> Self
    where
        I: IntoIterator<Item = (ExpectedRequest, R)>,
        R: Into<StubResponse>,
    {
        RequestSequence::new(expected, |message: &str| {
            log::error!("RequestSequence async error: {message}")
        })
    }

    /// Whether every expected request has been made.
    pub fn consumed(&self) -> bool {
        self.inner.remaining.borrow().is_empty()
    }

    /// How many expected requests are left.
    pub fn remaining(&self) -> usize {
        self.inner.remaining.borrow().len()
    }

    /// The message listing the expected requests not made yet.
    fn leftover_message(&self) -> String {
        let mut message = String::from("Not all expected requests were made.  Still expecting:");
        for (expected, _) in self.inner.remaining.borrow().iter() {
            message.push_str(&format!("\n- {expected:?}"));
        }
        message
    }

    /// Run `body`, then call `sync_failure_reporter` with a message listing the expected
    /// requests that were not made, if any (treq's `consume`).
    pub fn consume_with<T>(
        &self,
        sync_failure_reporter: impl FnOnce(&str),
        body: impl FnOnce() -> T,
    ) -> T {
        let value = body();
        if !self.consumed() {
            let message = self.leftover_message();
            sync_failure_reporter(&message);
        }
        value
    }

    /// Run `body`, then panic, failing the test, if expected requests were not made.
    pub fn consume<T>(&self, body: impl FnOnce() -> T) -> T {
        self.consume_with(|message| panic!("{message}"), body)
    }

    /// A guard that panics, failing the test, when dropped with expected requests left over
    /// (not while the thread is already panicking).
    pub fn guard(&self) -> ConsumeGuard {
        ConsumeGuard {
            sequence: self.clone(),
        }
    }

    /// The answer to one request, and the report to make, with no borrow held by the caller.
    fn answer(&self, request: ActualRequest) -> (StubResponse, Option<String>) {
        let mut remaining = self.inner.remaining.borrow_mut();
        let Some((expected, _)) = remaining.front() else {
            return (
                StubResponse::stubbing_error(),
                Some(format!(
                    "No more requests expected, but request {request:?} made."
                )),
            );
        };
        let mismatches = expected.mismatches(&request);
        if !mismatches.is_empty() {
            let message = format!(
                "\nExpected the next request to be: {expected:?}\nGot request                    : {request:?}\n\nMismatches: {mismatches:?}"
            );
            return (StubResponse::stubbing_error(), Some(message));
        }
        let (_, response) = remaining.pop_front().expect("front was checked");
        (response, None)
    }
}

impl IStringResponseStubs for RequestSequence {
    fn get_response_for(
        &self,
        method: &[u8],
        url: &str,
        params: &Params,
        headers: &HeaderLists,
        data: &[u8],
    ) -> Result<StubResponse, Failure> {
        let request = ActualRequest {
            method: Bytes::copy_from_slice(method),
            url: url.to_owned(),
            params: params.clone(),
            headers: headers.clone(),
            data: Bytes::copy_from_slice(data),
        };
        let (response, report) = self.answer(request);
        if let Some(message) = report {
            let reporter = self.inner.reporter.clone();
            reporter(&message);
        }
        Ok(response)
    }
}

impl fmt::Debug for RequestSequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestSequence")
            .field("remaining", &*self.inner.remaining.borrow())
            .finish_non_exhaustive()
    }
}

/// Fails the test when dropped while its [`RequestSequence`] still expects requests; made by
/// [`RequestSequence::guard`].
#[must_use = "the guard checks the sequence when it is dropped"]
pub struct ConsumeGuard {
    sequence: RequestSequence,
}

impl fmt::Debug for ConsumeGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsumeGuard")
            .field("remaining", &self.sequence.remaining())
            .finish()
    }
}

impl Drop for ConsumeGuard {
    fn drop(&mut self) {
        if !self.sequence.consumed() && !std::thread::panicking() {
            panic!("{}", self.sequence.leftover_message());
        }
    }
}
