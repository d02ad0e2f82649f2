//! [`Response`] (Twisted's `twisted.web._newclient.Response`) and [`read_body`].
//!
//! A response is handed out as soon as its head has arrived. Its body is read by giving a
//! protocol to [`Response::deliver_body`]: the protocol gets `make_connection` with a transport
//! whose `pause_producing`/`resume_producing`/`stop_producing` act on the connection (so a slow
//! body protocol slows the socket down), then `data_received` for each piece, then
//! `connection_lost` with [`ResponseDone`], [`PotentialDataLoss`] or
//! [`ResponseFailed`](crate::web::error::ResponseFailed).
//!
//! Body bytes that arrive before `deliver_body` is called are kept; once more than
//! [`BODY_BUFFER_LIMIT`] bytes wait, the connection stops reading until they are delivered.

use crate::web::body_transport::{BodyFlow, BodyTransport};
use crate::web::error::{PartialDownloadError, PotentialDataLoss, ResponseDone};
use crate::web::http_headers::Headers;
use crate::web::timings::{RequestTimer, RequestTimings};
use bytes::{Bytes, BytesMut};
use reactor::defer::{Deferred, Failure};
use reactor::interfaces::{IProtocol, ITransport};
use std::cell::{Cell, RefCell};
use std::error::Error;
use std::fmt;
use std::rc::Rc;

/// Bytes of body kept for a response whose body has not been asked for yet, before the
/// connection stops reading.
pub const BODY_BUFFER_LIMIT: usize = 64 * 1024;

/// The request a response answers (the parts of Twisted's `Response.request` kept here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo {
    /// The method, such as `b"GET"`.
    pub method: Bytes,
    /// The absolute URI requested (shared with the request, not copied).
    pub absolute_uri: Rc<str>,
}

/// An HTTP response whose head has arrived (Twisted's `IResponse`/`Response`).
///
/// Cloning is cheap and every clone shares the one body. Dropping every clone before the body
/// was delivered or had fully arrived closes the connection (it is never reused).
#[derive(Clone)]
pub struct Response {
    /// The HTTP version: `(1, 0)` or `(1, 1)`.
    pub version: (u8, u8),
    /// The status code.
    pub code: u16,
    /// The reason phrase.
    pub phrase: Bytes,
    /// The response headers.
    pub headers: Headers,
    /// The body length if known ([`UNKNOWN_LENGTH`](crate::web::iweb::UNKNOWN_LENGTH), `None`,
    /// otherwise).
    pub length: Option<u64>,
    /// The request this response answers.
    pub request: RequestInfo,
    /// The response before this one, when a redirect was followed (Twisted's
    /// `previousResponse`). Its body has been read and discarded by the redirect agent.
    pub previous_response: Option<Box<Response>>,
    body: Rc<BodyOwner>,
}

/// What every clone of a [`Response`] shares: its hold on the body. When the last clone is
/// dropped before the body was delivered or had ended, nobody can read the rest, so the
/// connection is closed rather than left waiting for a reader (once more than
/// [`BODY_BUFFER_LIMIT`] bytes wait, it would never finish) or reused.
struct BodyOwner(Rc<BodyChannel>);

impl Drop for BodyOwner {
    fn drop(&mut self) {
        self.0.abandon();
    }
}

impl Response {
    pub(crate) fn new(
        head: crate::web::http11::ResponseHead,
        request: RequestInfo,
        body: Rc<BodyChannel>,
    ) -> Response {
        Response {
            version: head.version,
            code: head.code,
            phrase: head.phrase,
            headers: head.headers,
            length: head.length,
            request,
            previous_response: None,
            body: Rc::new(BodyOwner(body)),
        }
    }

    pub(crate) fn body_channel(&self) -> &Rc<BodyChannel> {
        &self.body.0
    }

    /// This response's head (status, headers, length, request, previous response) with
    /// another body: for agents that hand out a response whose body is made from this one's,
    /// such as a decoded one. The new body is fed through `body`'s `data`/`finish`; this
    /// response's own body is left alone (the caller delivers it where it goes).
    pub(crate) fn with_body(&self, body: Rc<BodyChannel>) -> Response {
        body.set_timer(self.body_channel().timer.borrow().clone());
        Response {
            body: Rc::new(BodyOwner(body)),
            ..self.clone()
        }
    }

    /// Give the body to `protocol` (Twisted's `deliverBody`): `make_connection`, the bytes
    /// already received, the rest as it arrives, then `connection_lost` with
    /// [`ResponseDone`], [`PotentialDataLoss`] or [`ResponseFailed`](crate::web::error::ResponseFailed). Fails with
    /// [`BodyAlreadyDelivered`] on a second call.
    pub fn deliver_body(&self, protocol: Rc<dyn IProtocol>) -> Result<(), BodyAlreadyDelivered> {
        let channel = self.body_channel();
        channel.deliver(protocol, channel.clone())
    }

    /// The timings of the request that produced this response: name lookup, connect, TLS
    /// handshake, first byte, and, once the body has ended, the total (see
    /// [`RequestTimings`]). After a redirect, the timings of the last request (each
    /// [`previous_response`](Self::previous_response) keeps its own). A response not made by
    /// an agent has the default timings (all `None`).
    pub fn timings(&self) -> RequestTimings {
        self.body_channel()
            .timer
            .borrow()
            .as_ref()
            .map(RequestTimer::timings)
            .unwrap_or_default()
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("version", &self.version)
            .field("code", &self.code)
            .field("phrase", &self.phrase)
            .field("headers", &self.headers)
            .field("length", &self.length)
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}

/// [`Response::deliver_body`] was called a second time: a body can be read only once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BodyAlreadyDelivered;

impl fmt::Display for BodyAlreadyDelivered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the response body was already delivered to another protocol")
    }
}
impl Error for BodyAlreadyDelivered {}

enum BodyState {
    Initial {
        chunks: Vec<Bytes>,
        buffered: usize,
        end: Option<Failure>,
    },
    Connected(Rc<dyn IProtocol>),
    Finished,
}

/// Where a response's body goes: kept until `deliver_body`, then passed on.
///
/// The transport is paused while either of two reasons holds: bytes wait for `deliver_body`
/// (`held`), or the body protocol asked for a pause (`reader_paused`). Keeping them apart lets
/// a protocol that pauses while the kept bytes are handed to it stay paused.
pub(crate) struct BodyChannel {
    state: RefCell<BodyState>,
    transport: RefCell<Option<Rc<dyn ITransport>>>,
    /// The transport is paused by this channel.
    paused: Cell<bool>,
    held: Cell<bool>,
    reader_paused: Cell<bool>,
    /// The timings of the request, stamped with the end when the body ends.
    timer: RefCell<Option<RequestTimer>>,
}

impl BodyChannel {
    /// A channel for a body read from `transport`.
    pub(crate) fn new(transport: Option<Rc<dyn ITransport>>) -> Rc<BodyChannel> {
        Rc::new(BodyChannel {
            state: RefCell::new(BodyState::Initial {
                chunks: Vec::new(),
                buffered: 0,
                end: None,
            }),
            transport: RefCell::new(transport),
            paused: Cell::new(false),
            held: Cell::new(false),
            reader_paused: Cell::new(false),
            timer: RefCell::new(None),
        })
    }

    /// Time the end of this body with `timer` (the request's).
    pub(crate) fn set_timer(&self, timer: Option<RequestTimer>) {
        *self.timer.borrow_mut() = timer;
    }

    /// Set the transport of a channel made without one (for a body fed by another protocol,
    /// whose transport refers back to the channel's feeder).
    pub(crate) fn set_transport(&self, transport: Rc<dyn ITransport>) {
        *self.transport.borrow_mut() = Some(transport);
    }

    fn transport(&self) -> Option<Rc<dyn ITransport>> {
        self.transport.borrow().clone()
    }

    /// Pause or resume the transport to match `held` and `reader_paused`.
    fn update_pause(&self) {
        let pause = self.held.get() || self.reader_paused.get();
        if self.paused.replace(pause) != pause {
            if let Some(t) = self.transport() {
                if pause {
                    t.pause_producing();
                } else {
                    t.resume_producing();
                }
            }
        }
    }

    fn hold(&self, held: bool) {
        self.held.set(held);
        self.update_pause();
    }

    fn pause(&self) {
        self.reader_paused.set(true);
        self.update_pause();
    }

    fn resume(&self) {
        self.reader_paused.set(false);
        self.update_pause();
    }

    /// Body bytes arrived.
    pub(crate) fn data(&self, data: Bytes) {
        let protocol = {
            let mut state = self.state.borrow_mut();
            match &mut *state {
                BodyState::Initial {
                    chunks, buffered, ..
                } => {
                    *buffered += data.len();
                    chunks.push(data);
                    let over = *buffered > BODY_BUFFER_LIMIT;
                    drop(state);
                    if over {
                        self.hold(true);
                    }
                    return;
                }
                BodyState::Connected(p) => p.clone(),
                BodyState::Finished => return,
            }
        };
        protocol.data_received(data);
    }

    /// The connection no longer serves this body: resume it if the body paused it, and forget
    /// it (so a late pause cannot touch a connection serving another request).
    pub(crate) fn release_transport(&self) {
        self.held.set(false);
        self.reader_paused.set(false);
        self.update_pause();
        self.transport.borrow_mut().take();
    }

    /// Every response handle is gone: if the body is neither delivered nor ended, close the
    /// connection, since no one will read the rest.
    fn abandon(&self) {
        let unread = matches!(&*self.state.borrow(), BodyState::Initial { end: None, .. });
        if unread {
            if let Some(t) = self.transport() {
                t.abort_connection();
            }
        }
    }

    /// The body ended with `reason`.
    pub(crate) fn finish(&self, reason: Failure) {
        self.release_transport();
        if let Some(timer) = self.timer.borrow_mut().as_mut() {
            timer.end();
        }
        let protocol = {
            let mut state = self.state.borrow_mut();
            match &mut *state {
                BodyState::Initial { end, .. } => {
                    if end.is_none() {
                        *end = Some(reason);
                    }
                    return;
                }
                BodyState::Connected(p) => {
                    let p = p.clone();
                    *state = BodyState::Finished;
                    p
                }
                BodyState::Finished => return,
            }
        };
        protocol.connection_lost(reason);
    }

    fn deliver(
        &self,
        protocol: Rc<dyn IProtocol>,
        me: Rc<BodyChannel>,
    ) -> Result<(), BodyAlreadyDelivered> {
        let (chunks, end) = {
            let mut state = self.state.borrow_mut();
            match std::mem::replace(&mut *state, BodyState::Connected(protocol.clone())) {
                BodyState::Initial { chunks, end, .. } => (chunks, end),
                other => {
                    *state = other;
                    return Err(BodyAlreadyDelivered);
                }
            }
        };
        protocol.make_connection(Rc::new(BodyTransport(ChannelFlow(me))));
        for chunk in chunks {
            if !matches!(*self.state.borrow(), BodyState::Connected(_)) {
                return Ok(());
            }
            protocol.data_received(chunk);
        }
        match end {
            Some(reason) => {
                *self.state.borrow_mut() = BodyState::Finished;
                protocol.connection_lost(reason);
            }
            None => {
                // The bytes are taken: read on, unless the protocol paused meanwhile.
                self.hold(false);
            }
        }
        Ok(())
    }
}

/// A body read from the connection: flow control acts on the connection, and stopping closes it
/// (it is not reused).
struct ChannelFlow(Rc<BodyChannel>);

impl BodyFlow for ChannelFlow {
    fn pause(&self) {
        self.0.pause();
    }
    fn resume(&self) {
        self.0.resume();
    }
    fn stop(&self) {
        if let Some(t) = self.0.transport() {
            t.abort_connection();
        }
    }
    fn connection(&self) -> Option<Rc<dyn ITransport>> {
        self.0.transport()
    }
}

/// A body being collected. A body that arrives in one piece is kept as that piece, a slice of
/// what the connection read, without a copy; a second piece starts a buffer of them all.
#[derive(Default)]
struct Collected {
    first: Bytes,
    rest: Option<BytesMut>,
}

impl Collected {
    fn push(&mut self, data: Bytes) {
        match &mut self.rest {
            Some(rest) => rest.extend_from_slice(&data),
            None if self.first.is_empty() => self.first = data,
            None => {
                let mut rest = BytesMut::with_capacity(self.first.len() + data.len());
                rest.extend_from_slice(&std::mem::take(&mut self.first));
                rest.extend_from_slice(&data);
                self.rest = Some(rest);
            }
        }
    }

    fn into_bytes(self) -> Bytes {
        match self.rest {
            Some(rest) => rest.freeze(),
            None => self.first,
        }
    }
}

struct Collector {
    body: RefCell<Collected>,
    done: Deferred<Bytes>,
    /// The body's transport while it is delivered, for cancelling.
    transport: RefCell<Option<Rc<dyn ITransport>>>,
}

impl IProtocol for Collector {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        *self.transport.borrow_mut() = Some(transport);
    }
    fn data_received(&self, data: Bytes) {
        self.body.borrow_mut().push(data);
    }
    fn connection_lost(&self, reason: Failure) {
        self.transport.borrow_mut().take();
        let body = std::mem::take(&mut *self.body.borrow_mut()).into_bytes();
        let result = if reason.check::<ResponseDone>() {
            Ok(body)
        } else if reason.check::<PotentialDataLoss>() {
            Err(Failure::new(PartialDownloadError { body }))
        } else {
            Err(reason)
        };
        let _ = self.done.fire(result);
    }
}

/// The whole body of `response` (Twisted's `readBody`). A body that ended with the connection
/// and had no length fails with [`PartialDownloadError`] (which holds the bytes); a lost
/// connection fails with [`ResponseFailed`](crate::web::error::ResponseFailed). Cancelling the Deferred aborts the connection.
pub fn read_body(response: &Response) -> Deferred<Bytes> {
    let collector = Rc::new_cyclic(|me: &std::rc::Weak<Collector>| {
        let me = me.clone();
        Collector {
            body: RefCell::new(Collected::default()),
            done: Deferred::with_canceller(move |_| {
                let transport = me.upgrade().and_then(|c| c.transport.borrow_mut().take());
                if let Some(t) = transport {
                    t.abort_connection();
                }
            }),
            transport: RefCell::new(None),
        }
    });
    let done = collector.done.clone();
    if let Err(e) = response.deliver_body(collector) {
        return Deferred::fail(e);
    }
    done
}
