//! The interfaces of `twisted.web.iweb`: [`IBodyProducer`], [`IAgent`] and [`UNKNOWN_LENGTH`].
//!
//! Lengths are `Option<u64>` throughout: `Some(n)` is a known length, `None` (spelled
//! [`UNKNOWN_LENGTH`] where Twisted code would) an unknown one.

use crate::web::http_headers::Headers;
use crate::web::response::Response;
use bytes::Bytes;
use reactor::defer::Deferred;
use reactor::interfaces::IConsumer;
use std::rc::Rc;

/// The length of a body whose size is not known in advance (Twisted's `UNKNOWN_LENGTH`): a
/// request body of unknown length is sent chunked.
pub const UNKNOWN_LENGTH: Option<u64> = None;

/// A request body that writes itself to a consumer (Twisted's `IBodyProducer`).
///
/// The HTTP client registers the producer with the connection as a push producer, so it is
/// paused when the socket's buffer is full and resumed when it drains.
pub trait IBodyProducer {
    /// The number of bytes [`start_producing`](Self::start_producing) will write, or
    /// [`UNKNOWN_LENGTH`]. A body that writes a different number of bytes than declared fails the
    /// request with [`WrongBodyLength`](crate::web::error::WrongBodyLength).
    fn length(&self) -> Option<u64>;
    /// Write the body to `consumer`. The Deferred fires when everything has been written, or
    /// fails if producing failed.
    fn start_producing(&self, consumer: Rc<dyn IConsumer>) -> Deferred<()>;
    /// Stop writing until [`resume_producing`](Self::resume_producing).
    fn pause_producing(&self);
    /// Writing may go on.
    fn resume_producing(&self);
    /// Stop for good (the request was abandoned). The Deferred of `start_producing` must not
    /// fire afterwards.
    fn stop_producing(&self);
    /// The whole body, when it is already in memory (not in Twisted). The client then writes
    /// head and body in one write instead of calling `start_producing`.
    fn immediate_body(&self) -> Option<Bytes> {
        None
    }
}

/// A request body as it can be sent again: `Some(None)` for no body, `Some(Some(bytes))` for
/// one already in memory, `None` for one that streams (and so can be sent only once). What
/// agents that resend a request (retries, Digest's second round) check first.
pub(crate) fn replayable_body(producer: Option<&Rc<dyn IBodyProducer>>) -> Option<Option<Bytes>> {
    match producer {
        None => Some(None),
        Some(p) => p.immediate_body().map(Some),
    }
}

/// Something that makes HTTP requests (Twisted's `IAgent`).
pub trait IAgent {
    /// Request `uri` with `method`. The Deferred fires with the [`Response`] once its head has
    /// arrived; the body is read with [`Response::deliver_body`] or
    /// [`read_body`](crate::web::response::read_body).
    fn request(
        &self,
        method: &str,
        uri: &str,
        headers: Option<Headers>,
        body_producer: Option<Rc<dyn IBodyProducer>>,
    ) -> Deferred<Response>;

    /// The reactor this agent's connections run on, when it knows it (not in Twisted, whose
    /// code shares one global reactor): treq's `HTTPClient` runs timeouts and file reads for the
    /// agent's requests on it, so an agent on a reactor other than the thread's default still
    /// gets working timeouts. Wrappers pass on their inner agent's.
    fn reactor(&self) -> Option<Rc<dyn reactor::interfaces::IReactorTime>> {
        None
    }

    /// This agent with new connections given up after `seconds` (not in Twisted): what treq's
    /// per-request `connect_timeout` uses. `None` (the default) for an agent that cannot do it;
    /// [`Agent`](crate::web::client::Agent) can, and wrappers that can pass it on to the agent
    /// they wrap. Connecting past the time fails with
    /// [`ConnectError::Timeout`](reactor::error::ConnectError::Timeout).
    fn with_connect_timeout(&self, seconds: f64) -> Option<Rc<dyn IAgent>> {
        let _ = seconds;
        None
    }
}

impl<A: IAgent + ?Sized> IAgent for Rc<A> {
    fn request(
        &self,
        method: &str,
        uri: &str,
        headers: Option<Headers>,
        body_producer: Option<Rc<dyn IBodyProducer>>,
    ) -> Deferred<Response> {
        (**self).request(method, uri, headers, body_producer)
    }

    fn reactor(&self) -> Option<Rc<dyn reactor::interfaces::IReactorTime>> {
        (**self).reactor()
    }

    fn with_connect_timeout(&self, seconds: f64) -> Option<Rc<dyn IAgent>> {
        (**self).with_connect_timeout(seconds)
    }
}

/// A response whose body can be delivered to a protocol (Twisted's `IResponse`, the part the
/// content helpers need). Implemented by the Agent's [`Response`] and by treq's buffered
/// [`Response`](crate::response::Response).
pub trait IResponse {
    /// The status code.
    fn code(&self) -> u16;
    /// The response headers.
    fn headers(&self) -> &Headers;
    /// The body length, when known.
    fn length(&self) -> Option<u64>;
    /// Give the body to `protocol` (Twisted's `deliverBody`).
    fn deliver_body(
        &self,
        protocol: Rc<dyn reactor::interfaces::IProtocol>,
    ) -> Result<(), crate::web::response::BodyAlreadyDelivered>;
}

impl IResponse for Response {
    fn code(&self) -> u16 {
        self.code
    }
    fn headers(&self) -> &Headers {
        &self.headers
    }
    fn length(&self) -> Option<u64> {
        self.length
    }
    fn deliver_body(
        &self,
        protocol: Rc<dyn reactor::interfaces::IProtocol>,
    ) -> Result<(), crate::web::response::BodyAlreadyDelivered> {
        Response::deliver_body(self, protocol)
    }
}
