//! [`HTTP11ClientProtocol`]: one connection, one request at a time.

use super::body::ProducerAdapter;
use super::request::Request;
use crate::web::error::{
    protocol_failure, PotentialDataLoss, RequestTransmissionFailed, ResponseDone, ResponseFailed,
    ResponseNeverReceived,
};
use crate::web::http11::{BodyEncoder, ProtocolError, ResponseEvent, ResponseHead, ResponseParser};
use crate::web::response::{BodyChannel, RequestInfo, Response};
use crate::web::timings::RequestTimer;
use bytes::{Bytes, BytesMut};
use reactor::defer::{CancelledError, Deferred, Failure};
use reactor::interfaces::{IProducer, IProtocol, ITransport};
use std::cell::RefCell;
use std::fmt;
use std::rc::{Rc, Weak};

mod send;
pub(crate) use send::RetryHook;

/// Called with the protocol when it can take another request.
type QuiescentCallback = Rc<dyn Fn(Rc<HTTP11ClientProtocol>)>;

#[derive(Default)]
struct Inner {
    transport: Option<Rc<dyn ITransport>>,
    /// A request is in flight (from `request` until its response is complete).
    busy: bool,
    /// The connection is gone.
    lost: bool,
    /// The response Deferred, until the head arrives.
    finished: Option<Deferred<Response>>,
    info: Option<RequestInfo>,
    parser: Option<ResponseParser>,
    buf: BytesMut,
    /// A received piece being parsed in place (see `data_received`); what is left of it comes
    /// before `buf`, which is empty while there is one.
    piece: Option<Bytes>,
    /// `data_received`'s parse loop is running.
    parsing: bool,
    ever_received: bool,
    /// Stamps the first byte of the response, then goes to its body.
    timer: Option<RequestTimer>,
    /// The body of the response being read.
    body: Option<Rc<BodyChannel>>,
    /// The request body being streamed.
    producer: Option<Rc<ProducerAdapter>>,
    encoder: Option<BodyEncoder>,
    persistent: bool,
    quiescent_callback: Option<QuiescentCallback>,
    lost_waiters: Vec<Deferred<()>>,
    /// How a request that failed here before any response is sent again.
    retry: Option<RetryHook>,
    /// The request in flight, while it may still be sent again.
    retryable: Option<Request>,
    /// The request sent again on a new connection, for cancelling.
    retrying: Option<Deferred<Response>>,
}

/// The HTTP/1.1 client protocol (Twisted's `HTTP11ClientProtocol`).
///
/// Attach it to a connection, then call [`request`](Self::request). When a response is
/// complete, the connection may carry another request and nothing extra arrived, the
/// [quiescent callback](Self::set_quiescent_callback) is called (the pool takes the connection
/// back); otherwise the connection is closed.
///
/// Errors: the connection lost before any response byte → [`ResponseNeverReceived`]; while
/// the body producer is still writing → [`RequestTransmissionFailed`]; after part of the
/// response → [`ResponseFailed`] (for the Deferred, or for the body protocol).
pub struct HTTP11ClientProtocol {
    me: Weak<HTTP11ClientProtocol>,
    s: RefCell<Inner>,
    /// Where each request's head (and in-memory body) is written before it goes to the
    /// transport, which copies what it cannot send at once: kept for the next request.
    out: RefCell<BytesMut>,
}

impl HTTP11ClientProtocol {
    /// A protocol not yet connected.
    pub fn new() -> Rc<HTTP11ClientProtocol> {
        Rc::new_cyclic(|me| HTTP11ClientProtocol {
            me: me.clone(),
            s: RefCell::new(Inner {
                persistent: true,
                ..Inner::default()
            }),
            out: RefCell::default(),
        })
    }

    /// Call `callback` each time a response completes and the connection can be reused
    /// (Twisted's `quiescentCallback`).
    pub fn set_quiescent_callback(&self, callback: impl Fn(Rc<HTTP11ClientProtocol>) + 'static) {
        self.s.borrow_mut().quiescent_callback = Some(Rc::new(callback));
    }

    /// Send a request that fails here before any response (the connection was stale) again
    /// through `hook`, when [`request_timed`](Self::request_timed) asks for it.
    pub(crate) fn set_retry_hook(&self, hook: RetryHook) {
        self.s.borrow_mut().retry = Some(hook);
    }

    /// Whether the protocol can take a request now: connected, idle, not closed.
    pub fn is_quiescent(&self) -> bool {
        let s = self.s.borrow();
        s.transport.is_some() && !s.busy && !s.lost
    }

    /// Whether the connection is gone.
    pub fn is_lost(&self) -> bool {
        self.s.borrow().lost
    }

    /// A Deferred that fires once the connection is lost (at once if it already is).
    pub fn notify_lost(&self) -> Deferred<()> {
        let mut s = self.s.borrow_mut();
        if s.lost {
            return Deferred::succeed(());
        }
        let d = Deferred::new();
        s.lost_waiters.push(d.clone());
        d
    }

    /// Close the connection once written data is sent.
    pub fn lose_connection(&self) {
        let transport = self.s.borrow().transport.clone();
        if let Some(t) = transport {
            t.lose_connection();
        }
    }

    /// Close the connection now (Twisted's `abort`); a request in flight fails.
    pub fn abort(&self) {
        let transport = self.s.borrow().transport.clone();
        if let Some(t) = transport {
            t.abort_connection();
        }
    }

    fn got_head(&self, head: ResponseHead) {
        let (finished, response) = {
            let mut s = self.s.borrow_mut();
            let channel = BodyChannel::new(s.transport.clone());
            channel.set_timer(s.timer.take());
            s.body = Some(channel.clone());
            let info = s.info.take().expect("a request is in flight");
            s.retryable = None;
            (s.finished.take(), Response::new(head, info, channel))
        };
        match finished {
            Some(d) => {
                let _ = d.callback(response);
            }
            None => {
                // The request already failed (its body could not be sent): drop the body.
                response
                    .body_channel()
                    .finish(Failure::without_backtrace(ResponseDone));
            }
        }
    }

    fn response_done(&self, reusable: bool, potential_data_loss: bool) {
        let (transport, body, producer, reuse, callback) = {
            let mut s = self.s.borrow_mut();
            let still_sending = s.encoder.is_some();
            s.encoder = None;
            let reuse = reusable && s.buf.is_empty() && !still_sending && s.persistent && !s.lost;
            s.parser = None;
            s.info = None;
            s.busy = !reuse;
            (
                s.transport.clone(),
                s.body.take(),
                s.producer.take(),
                reuse,
                s.quiescent_callback.clone(),
            )
        };
        if let Some(p) = producer {
            // The response is complete before the request body: stop sending it.
            if let Some(t) = &transport {
                t.unregister_producer();
            }
            p.stop_producing();
        }
        if let Some(body) = &body {
            body.release_transport();
        }
        if reuse {
            if let (Some(cb), Some(me)) = (callback, self.me.upgrade()) {
                cb(me);
            }
        } else if let Some(t) = &transport {
            t.lose_connection();
        }
        if let Some(body) = body {
            let reason = if potential_data_loss {
                Failure::without_backtrace(PotentialDataLoss)
            } else {
                response_done()
            };
            body.finish(reason);
        }
    }

    /// The parse loop ends: what the parser left of a piece parsed in place goes to the read
    /// buffer, for the next call (or, after the response, so that the connection is not reused).
    fn end_parsing(&self, s: &mut Inner) {
        s.parsing = false;
        if let Some(rest) = s.piece.take().filter(|r| !r.is_empty()) {
            s.buf.extend_from_slice(&rest);
        }
    }

    fn parse_failed(&self, error: ProtocolError) {
        let (transport, finished, body) = {
            let mut s = self.s.borrow_mut();
            s.parser = None;
            (s.transport.clone(), s.finished.take(), s.body.take())
        };
        let failure = ResponseFailed::new(vec![protocol_failure(error)]);
        if let Some(d) = finished {
            let _ = d.errback(failure);
        } else if let Some(body) = body {
            body.finish(Failure::new(failure));
        }
        if let Some(t) = transport {
            t.abort_connection();
        }
    }
}

impl IProtocol for HTTP11ClientProtocol {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        self.s.borrow_mut().transport = Some(transport);
    }

    fn data_received(&self, data: Bytes) {
        // A piece arriving when nothing is left over from the last one is parsed in place: body
        // pieces and header values are slices of it, not copies. Otherwise (or for what is left
        // of it when the parser needs more) the bytes go to the read buffer.
        let unsolicited = {
            let mut s = self.s.borrow_mut();
            if s.lost {
                return;
            }
            if s.parser.is_none() {
                true
            } else {
                if !s.ever_received {
                    s.ever_received = true;
                    if let Some(timer) = s.timer.as_mut() {
                        timer.first_byte();
                    }
                }
                if s.parsing {
                    // Called again from code the parse loop below called (a body protocol
                    // flushing an in-memory pump): queue behind what the loop has not parsed,
                    // and let the loop go on.
                    if let Some(rest) = s.piece.take() {
                        s.buf.extend_from_slice(&rest);
                    }
                    s.buf.extend_from_slice(&data);
                    return;
                }
                if s.buf.is_empty() {
                    s.piece = Some(data);
                } else {
                    s.buf.extend_from_slice(&data);
                }
                s.parsing = true;
                false
            }
        };
        if unsolicited {
            // Bytes nobody asked for: the connection cannot be trusted any more.
            self.abort();
            return;
        }
        loop {
            let event = {
                let mut s = self.s.borrow_mut();
                let s = &mut *s;
                match s.parser.as_mut() {
                    Some(parser) if !s.lost => match s.piece.as_mut() {
                        Some(piece) => parser.parse(piece),
                        None => parser.parse(&mut s.buf),
                    },
                    _ => return self.end_parsing(s),
                }
            };
            match event {
                Ok(ResponseEvent::Head(head)) => self.got_head(head),
                Ok(ResponseEvent::Body(data)) => {
                    let body = self.s.borrow().body.clone();
                    if let Some(body) = body {
                        body.data(data);
                    }
                }
                Ok(ResponseEvent::Done {
                    reusable,
                    potential_data_loss,
                }) => {
                    self.end_parsing(&mut self.s.borrow_mut());
                    return self.response_done(reusable, potential_data_loss);
                }
                Ok(ResponseEvent::NeedMore) => return self.end_parsing(&mut self.s.borrow_mut()),
                Err(e) => {
                    self.end_parsing(&mut self.s.borrow_mut());
                    return self.parse_failed(e);
                }
            }
        }
    }

    fn connection_lost(&self, reason: Failure) {
        let (parser, finished, body, producer, sending, ever_received, waiters, retry) = {
            let mut s = self.s.borrow_mut();
            if s.lost {
                return;
            }
            s.lost = true;
            s.transport = None;
            let sending = s.encoder.take().is_some();
            // Sent again only when nothing of a response came, and not for a cancellation.
            let retry = match (s.retryable.take(), &s.retry) {
                (Some(request), Some(hook))
                    if !s.ever_received && !sending && !reason.check::<CancelledError>() =>
                {
                    Some((hook.clone(), request))
                }
                _ => None,
            };
            (
                s.parser.take(),
                s.finished.take(),
                s.body.take(),
                s.producer.take(),
                sending,
                s.ever_received,
                std::mem::take(&mut s.lost_waiters),
                retry,
            )
        };
        if let Some(p) = producer {
            p.stop_producing();
        }
        if let (Some(d), Some((hook, request))) = (&finished, retry) {
            self.retry(hook, request, d.clone());
        } else if let Some(d) = finished {
            let failure = if ever_received {
                let mut reasons = vec![reason.clone()];
                if let Some(Err(e)) = parser.map(|mut p| p.eof()) {
                    reasons.push(protocol_failure(e));
                }
                Failure::new(ResponseFailed::new(reasons))
            } else if sending {
                Failure::new(RequestTransmissionFailed::new(vec![reason.clone()]))
            } else {
                Failure::new(ResponseNeverReceived::new(vec![reason.clone()]))
            };
            let _ = d.errback(failure);
        } else if let Some(body) = body {
            let end = match parser.map(|mut p| p.eof()) {
                Some(Ok(ResponseEvent::Done {
                    potential_data_loss: true,
                    ..
                })) => Failure::without_backtrace(PotentialDataLoss),
                Some(Ok(_)) => Failure::without_backtrace(ResponseDone),
                Some(Err(e)) => Failure::new(ResponseFailed::new(vec![
                    reason.clone(),
                    protocol_failure(e),
                ])),
                None => Failure::new(ResponseFailed::new(vec![reason.clone()])),
            };
            body.finish(end);
        }
        for waiter in waiters {
            let _ = waiter.callback(());
        }
    }
}

impl fmt::Debug for HTTP11ClientProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.s.borrow();
        f.debug_struct("HTTP11ClientProtocol")
            .field("busy", &s.busy)
            .field("lost", &s.lost)
            .field("persistent", &s.persistent)
            .finish_non_exhaustive()
    }
}

thread_local! {
    /// The reason every completely read body ends with, made once: it carries nothing of its
    /// own (no backtrace, no message), so one shared value saves an allocation per response.
    static RESPONSE_DONE: Failure = Failure::without_backtrace(ResponseDone);
}

/// A [`ResponseDone`] failure.
fn response_done() -> Failure {
    RESPONSE_DONE.with(Failure::clone)
}
