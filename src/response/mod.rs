//! treq's response (`treq.response._Response`): the Agent's [`Response`](AgentResponse)
//! with the content helpers as methods, the redirect history, and the client's cookies.
//!
//! Responses are buffered by default: the body is read from the connection once, on the first
//! request for it, and every reader — [`content`](Response::content),
//! [`text`](Response::text), [`json`](Response::json), [`collect`](Response::collect),
//! [`deliver_body`](Response::deliver_body), any number of times, before, during or after it
//! arrives — gets all of it. An `unbuffered` request gives a response whose body streams to a
//! single reader, with back-pressure, and is not kept.

mod buffer;
mod status;

pub use status::HTTPError;

use crate::content;
use crate::web::cookiejar::CookieJar;
use crate::web::http_headers::Headers;
use crate::web::iweb::IResponse;
use crate::web::response::{BodyAlreadyDelivered, RequestInfo, Response as AgentResponse};
use crate::web::timings::RequestTimings;
use buffer::BufferedBody;
use bytes::Bytes;
use reactor::defer::{Deferred, Failure};
use reactor::interfaces::IProtocol;
use serde::de::DeserializeOwned;
use std::fmt;
use std::rc::Rc;

/// An HTTP response as treq gives it (`_Response`). Cloning is cheap; clones share the body.
#[derive(Clone)]
pub struct Response {
    original: AgentResponse,
    buffer: Option<Rc<BufferedBody>>,
    cookiejar: CookieJar,
}

impl Response {
    /// Wrap the Agent's `response`; `buffered` keeps its body for many readers. `cookiejar` is
    /// what [`cookies`](Self::cookies) returns.
    pub fn new(response: AgentResponse, cookiejar: CookieJar, buffered: bool) -> Response {
        Response {
            buffer: buffered.then(|| BufferedBody::new(response.clone())),
            original: response,
            cookiejar,
        }
    }

    /// The Agent's response underneath.
    pub fn original(&self) -> &AgentResponse {
        &self.original
    }

    /// The status code.
    pub fn code(&self) -> u16 {
        self.original.code
    }

    /// The reason phrase.
    pub fn phrase(&self) -> &Bytes {
        &self.original.phrase
    }

    /// The HTTP version, `(1, 1)` or `(1, 0)`.
    pub fn version(&self) -> (u8, u8) {
        self.original.version
    }

    /// The response headers.
    pub fn headers(&self) -> &Headers {
        &self.original.headers
    }

    /// The body length, when known.
    pub fn length(&self) -> Option<u64> {
        self.original.length
    }

    /// The request this answers (its method and absolute URI).
    pub fn request(&self) -> &RequestInfo {
        &self.original.request
    }

    /// The timings of the request that produced this response (after redirects, the last
    /// one's): name lookup, connect, TLS handshake, first byte, and the total once the body has
    /// been read (see [`RequestTimings`]).
    pub fn timings(&self) -> RequestTimings {
        self.original.timings()
    }

    /// The response this one's request was redirected from, if any.
    pub fn previous_response(&self) -> Option<Response> {
        self.original
            .previous_response
            .as_deref()
            .map(|r| Response::new(r.clone(), self.cookiejar.clone(), false))
    }

    /// The responses that redirected to this one, oldest first (treq's `history()`).
    pub fn history(&self) -> Vec<Response> {
        let mut out = Vec::new();
        let mut next = self.previous_response();
        while let Some(r) = next {
            next = r.previous_response();
            out.push(r);
        }
        out.reverse();
        out
    }

    /// The client's cookie jar, with whatever this response set (treq's `cookies()`).
    pub fn cookies(&self) -> CookieJar {
        self.cookiejar.clone()
    }

    /// The whole body (treq's `content()`).
    pub fn content(&self) -> Deferred<Bytes> {
        content::content(self)
    }

    /// The body as text: the charset of the `Content-Type`, else `encoding`, else
    /// ISO-8859-1 (treq's `text(encoding)`). Pass `None` for treq's default.
    pub fn text<'a>(&self, encoding: impl Into<Option<&'a str>>) -> Deferred<String> {
        content::text_content(self, encoding.into())
    }

    /// The body parsed as JSON (treq's `json()`); use `serde_json::Value` for any JSON.
    pub fn json<T: DeserializeOwned + 'static>(&self) -> Deferred<T> {
        content::json_content(self)
    }

    /// Hand each piece of the body to `collector` (treq's `collect`); see
    /// [`content::collect`].
    pub fn collect(
        &self,
        collector: impl FnMut(Bytes) -> Result<(), Failure> + 'static,
    ) -> Deferred<()> {
        content::collect(self, collector)
    }

    /// This response, or a failure with [`HTTPError`] (which holds it) when its status is 4xx
    /// or 5xx (treq #62): `client.get(url).send().add_callback(|r| r.fail_for_status())`.
    pub fn fail_for_status(&self) -> Deferred<Response> {
        status::check_status(self.clone())
    }

    /// Give the body to `protocol` (Twisted's `deliverBody`). Buffered responses take any
    /// number of protocols; unbuffered ones one.
    pub fn deliver_body(&self, protocol: Rc<dyn IProtocol>) -> Result<(), BodyAlreadyDelivered> {
        match &self.buffer {
            Some(buffer) => {
                buffer.deliver(protocol);
                Ok(())
            }
            None => self.original.deliver_body(protocol),
        }
    }
}

impl IResponse for Response {
    fn code(&self) -> u16 {
        self.original.code
    }
    fn headers(&self) -> &Headers {
        &self.original.headers
    }
    fn length(&self) -> Option<u64> {
        self.original.length
    }
    fn deliver_body(&self, protocol: Rc<dyn IProtocol>) -> Result<(), BodyAlreadyDelivered> {
        Response::deliver_body(self, protocol)
    }
}

/// Like treq's repr: code, content type and size.
impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let content_type = self
            .headers()
            .get_first("content-type")
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_else(|| "unknown content type".to_owned());
        write!(f, "<treq Response {} {:?} ", self.code(), content_type)?;
        match self.length() {
            Some(n) => write!(f, "{n} bytes>"),
            None => f.write_str("unknown size>"),
        }
    }
}

reactor::impl_into_outcome!(Response);
