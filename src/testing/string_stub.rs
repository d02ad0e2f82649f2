//! [`StringStubbingResource`]: a resource that answers from a function of the request's
//! method, URL, parameters, headers and body.

use super::parts::{HeaderLists, Params};
use crate::client::Values;
use crate::web::resource::{RenderResult, Resource};
use crate::web::server::Request;
use bytes::Bytes;
use reactor::defer::Failure;
use std::fmt;
use std::rc::Rc;

/// What a stub answers: status code, headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StubResponse {
    /// The status code.
    pub code: u16,
    /// The headers, in order; a name may repeat.
    pub headers: Vec<(Bytes, Bytes)>,
    /// The body.
    pub body: Bytes,
}

impl StubResponse {
    /// A response with `code` and `body` and no headers.
    pub fn new(code: u16, body: impl Into<Bytes>) -> StubResponse {
        StubResponse {
            code,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// The same response with one more header.
    pub fn header(mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> StubResponse {
        self.headers.push((
            Bytes::copy_from_slice(name.as_ref()),
            Bytes::copy_from_slice(value.as_ref()),
        ));
        self
    }

    /// The 500 answer to a request a stub did not expect (treq's `StubbingError` body).
    pub fn stubbing_error() -> StubResponse {
        StubResponse::new(500, "StubbingError")
    }
}

impl<H, K, V, B> From<(u16, H, B)> for StubResponse
where
    H: IntoIterator<Item = (K, V)>,
    K: AsRef<[u8]>,
    V: Into<Values>,
    B: Into<Bytes>,
{
    /// `(code, headers, body)`, headers as a map or list of pairs with one value or a list.
    fn from((code, headers, body): (u16, H, B)) -> StubResponse {
        let mut response = StubResponse::new(code, body);
        for (name, values) in headers {
            for value in values.into().iter() {
                response = response.header(name.as_ref(), value);
            }
        }
        response
    }
}

/// What a stub function may return: a [`StubResponse`], a `(code, headers, body)` tuple, or
/// either in a `Result` whose `Err` answers 500 (and is logged).
pub trait IntoStubResult {
    /// The response, or the failure to answer 500 for.
    fn into_stub_result(self) -> Result<StubResponse, Failure>;
}

impl IntoStubResult for StubResponse {
    fn into_stub_result(self) -> Result<StubResponse, Failure> {
        Ok(self)
    }
}

impl<H, K, V, B> IntoStubResult for (u16, H, B)
where
    H: IntoIterator<Item = (K, V)>,
    K: AsRef<[u8]>,
    V: Into<Values>,
    B: Into<Bytes>,
{
    fn into_stub_result(self) -> Result<StubResponse, Failure> {
        Ok(self.into())
    }
}

impl IntoStubResult for Result<StubResponse, Failure> {
    fn into_stub_result(self) -> Result<StubResponse, Failure> {
        self
    }
}

impl<H, K, V, B> IntoStubResult for Result<(u16, H, B), Failure>
where
    H: IntoIterator<Item = (K, V)>,
    K: AsRef<[u8]>,
    V: Into<Values>,
    B: Into<Bytes>,
{
    fn into_stub_result(self) -> Result<StubResponse, Failure> {
        self.map(Into::into)
    }
}

/// Answers requests from their method, URL, parameters, headers and body (treq's
/// `IStringResponseStubs`). Implemented by [`RequestSequence`](super::RequestSequence); a
/// closure is turned into one by [`StringStubbingResource::new`].
pub trait IStringResponseStubs {
    /// The answer to one request. `method` is as sent (`GET`), `url` is the absolute URL
    /// without the query, `params` the query and form arguments, `headers` the request headers
    /// (names lower-cased; values of both sorted), `data` the body. An `Err` answers 500.
    fn get_response_for(
        &self,
        method: &[u8],
        url: &str,
        params: &Params,
        headers: &HeaderLists,
        data: &[u8],
    ) -> Result<StubResponse, Failure>;
}

/// A closure as [`IStringResponseStubs`].
struct FnStubs<F>(F);

impl<F, R> IStringResponseStubs for FnStubs<F>
where
    F: Fn(&[u8], &str, &Params, &HeaderLists, &[u8]) -> R,
    R: IntoStubResult,
{
    fn get_response_for(
        &self,
        method: &[u8],
        url: &str,
        params: &Params,
        headers: &HeaderLists,
        data: &[u8],
    ) -> Result<StubResponse, Failure> {
        (self.0)(method, url, params, headers, data).into_stub_result()
    }
}

/// A leaf resource that answers every request with
/// `f(method, url, params, headers, data) -> (code, headers, body)` (treq's
/// `StringStubbingResource`). See [`IStringResponseStubs::get_response_for`] for what the
/// arguments hold. A failure from `f` answers 500 with the failure's text.
///
/// ```
/// use std::rc::Rc;
/// use treq::testing::{StringStubbingResource, StubTreq};
///
/// let resource = StringStubbingResource::new(|method, url, params, _headers, _data| {
///     assert_eq!(method, b"GET");
///     assert_eq!(url, "http://example.test/things");
///     let page = params.get(&b"page"[..]).cloned().unwrap_or_default();
///     (200, [("Content-Type", "text/plain")], format!("page {page:?}"))
/// });
/// let stub = StubTreq::new(Rc::new(resource));
/// let response = stub
///     .get("http://example.test/things")
///     .params([("page", "2")])
///     .send()
///     .take_result()
///     .unwrap()
///     .unwrap();
/// let text = response.text(None).take_result().unwrap().unwrap();
/// assert_eq!(text, r#"page [b"2"]"#);
/// ```
pub struct StringStubbingResource {
    stubs: Rc<dyn IStringResponseStubs>,
}

impl StringStubbingResource {
    /// A resource answering with `f`.
    pub fn new<F, R>(f: F) -> StringStubbingResource
    where
        F: Fn(&[u8], &str, &Params, &HeaderLists, &[u8]) -> R + 'static,
        R: IntoStubResult,
    {
        StringStubbingResource::from_stubs(FnStubs(f))
    }

    /// A resource answering with `stubs`, such as a
    /// [`RequestSequence`](super::RequestSequence).
    pub fn from_stubs(stubs: impl IStringResponseStubs + 'static) -> StringStubbingResource {
        StringStubbingResource {
            stubs: Rc::new(stubs),
        }
    }
}

impl fmt::Debug for StringStubbingResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StringStubbingResource")
            .finish_non_exhaustive()
    }
}

/// The request's arguments with sorted values.
pub(crate) fn request_params(request: &Request) -> Params {
    let mut params = request.args().clone();
    for values in params.values_mut() {
        values.sort();
    }
    params
}

/// The request's headers: names lower-cased, values sorted.
pub(crate) fn request_headers(request: &Request) -> HeaderLists {
    HeaderLists::from(request.received_headers())
}

impl Resource for StringStubbingResource {
    fn render(&self, request: &Rc<Request>) -> RenderResult {
        let params = request_params(request);
        let headers = request_headers(request);
        let url = request.url();
        let answer = self.stubs.get_response_for(
            request.method(),
            &url,
            &params,
            &headers,
            request.content(),
        );
        let response = match answer {
            Ok(response) => response,
            Err(failure) => {
                log::error!("StringStubbingResource: the stub failed for {url}: {failure}");
                request.set_response_code(500);
                let _ = request.set_header("Content-Type", "text/plain; charset=utf-8");
                return RenderResult::Body(failure.to_string().into());
            }
        };
        request.set_response_code(response.code);
        for (name, value) in &response.headers {
            if let Err(e) = request.add_header(name, value) {
                log::error!("StringStubbingResource: a stubbed header was refused: {e}");
                request.set_response_code(500);
                return RenderResult::Body(e.to_string().into());
            }
        }
        RenderResult::Body(response.body)
    }

    fn is_leaf(&self) -> bool {
        true
    }
}
