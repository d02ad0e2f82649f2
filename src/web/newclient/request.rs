//! [`Request`]: what [`HTTP11ClientProtocol::request`](super::HTTP11ClientProtocol::request)
//! sends.

use crate::web::http_headers::Headers;
use crate::web::iweb::IBodyProducer;
use bytes::Bytes;
use std::fmt;
use std::rc::Rc;

/// A request ready for the wire (Twisted's `twisted.web._newclient.Request`).
#[derive(Clone)]
pub struct Request {
    /// The method, such as `b"GET"`.
    pub method: Bytes,
    /// The request target: origin-form (`/path?query`), or absolute-form
    /// (`http://host/path?query`, see [`absolute_form_target`](crate::web::http11::absolute_form_target))
    /// for a forward proxy.
    pub target: Bytes,
    /// The `Host` header value, port included when it is not the scheme's default.
    pub host: Bytes,
    /// The absolute URI, kept for [`Response::request`](crate::web::response::Response).
    pub absolute_uri: Rc<str>,
    /// Headers to send besides `Host` and the framing headers.
    pub headers: Headers,
    /// The body, if any.
    pub body_producer: Option<Rc<dyn IBodyProducer>>,
    /// Whether the connection may be kept for another request; when false,
    /// `Connection: close` is sent.
    pub persistent: bool,
}

impl Request {
    /// A persistent request with no body.
    pub fn new(
        method: impl Into<Bytes>,
        target: impl Into<Bytes>,
        host: impl Into<Bytes>,
        headers: Headers,
    ) -> Request {
        let target = target.into();
        let host = host.into();
        let absolute_uri = format!(
            "http://{}{}",
            String::from_utf8_lossy(&host),
            String::from_utf8_lossy(&target)
        )
        .into();
        Request {
            method: method.into(),
            target,
            host,
            absolute_uri,
            headers,
            body_producer: None,
            persistent: true,
        }
    }

    /// Set the body producer.
    pub fn body_producer(mut self, producer: Rc<dyn IBodyProducer>) -> Request {
        self.body_producer = Some(producer);
        self
    }

    /// Set whether the connection may be reused after this request.
    pub fn persistent(mut self, persistent: bool) -> Request {
        self.persistent = persistent;
        self
    }

    /// Set the absolute URI reported in the response.
    pub fn absolute_uri(mut self, uri: impl Into<Rc<str>>) -> Request {
        self.absolute_uri = uri.into();
        self
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("absolute_uri", &self.absolute_uri)
            .field("headers", &self.headers)
            .field("has_body", &self.body_producer.is_some())
            .field("persistent", &self.persistent)
            .finish()
    }
}
