//! Sending a request on an [`HTTP11ClientProtocol`]: the head and an in-memory body at once, a
//! streamed body from its producer, and sending it again through the pool's retry hook when
//! the connection turns out stale.

use super::super::body::{BodyConsumer, ProducerAdapter};
use super::super::request::Request;
use super::HTTP11ClientProtocol;
use crate::web::error::{
    protocol_failure, RequestGenerationFailed, RequestNotSent, RequestTransmissionFailed,
};
use crate::web::http11::{
    write_request_head, BodyEncoder, BodyFraming, RequestHead, ResponseParser,
};
use crate::web::response::{RequestInfo, Response};
use crate::web::timings::RequestTimer;
use bytes::{Bytes, BytesMut};
use reactor::defer::{Deferred, Failure};
use reactor::interfaces::{IProducer, Producer};
use std::rc::Rc;

/// Sends a request again on a new connection in place of this one (given as the first
/// argument), with its timer: set by the pool on each connection it opens, so that a request
/// that may be retried costs nothing extra until it has to be.
pub(crate) type RetryHook =
    Rc<dyn Fn(Rc<HTTP11ClientProtocol>, Request, Option<RequestTimer>) -> Deferred<Response>>;

/// Methods a request may be sent again with after a stale connection failed it (Twisted's
/// `_RetryingHTTP11ClientProtocol._shouldRetry`), when it has no body.
const IDEMPOTENT: [&[u8]; 5] = [b"GET", b"HEAD", b"OPTIONS", b"DELETE", b"TRACE"];

/// Whether `request` may be sent again on a new connection.
fn may_retry(request: &Request) -> bool {
    IDEMPOTENT.contains(&&request.method[..]) && request.body_producer.is_none()
}

/// The largest request buffer a connection keeps between requests: one that held a large
/// in-memory body is let go rather than held by an idle connection.
const KEPT_OUT_BUFFER: usize = 16 * 1024;

impl HTTP11ClientProtocol {
    /// Send `request`. The Deferred fires with the [`Response`] once its head has arrived.
    ///
    /// Fails with [`RequestNotSent`] while another request is in flight or once the connection
    /// is closed, and with [`RequestGenerationFailed`] (nothing written) for an invalid method,
    /// target or host. Cancelling it aborts the connection.
    pub fn request(&self, request: Request) -> Deferred<Response> {
        self.send(request, None, false)
    }

    /// [`request`](Self::request), its phases stamped by `timer` (the first byte here, the end
    /// by the response's body). With `retry`, an idempotent request without a body that fails
    /// before any response arrives is sent again through the [retry hook](Self::set_retry_hook)
    /// (once: the new connection is asked not to retry).
    pub(crate) fn request_timed(
        &self,
        request: Request,
        timer: RequestTimer,
        retry: bool,
    ) -> Deferred<Response> {
        self.send(request, Some(timer), retry)
    }

    fn send(
        &self,
        mut request: Request,
        timer: Option<RequestTimer>,
        retry: bool,
    ) -> Deferred<Response> {
        let retry = retry && may_retry(&request);
        let transport = {
            let s = self.s.borrow();
            match &s.transport {
                Some(t) if !s.busy && !s.lost => t.clone(),
                _ => {
                    let hook = s.retry.clone().filter(|_| retry);
                    drop(s);
                    return match (hook, self.me.upgrade()) {
                        (Some(hook), Some(me)) => hook(me, request, timer),
                        _ => Deferred::fail(RequestNotSent),
                    };
                }
            }
        };
        let framing = match &request.body_producer {
            None => BodyFraming::None,
            Some(p) => match p.length() {
                Some(n) => BodyFraming::Length(n),
                None => BodyFraming::Chunked,
            },
        };
        let head = RequestHead {
            method: &request.method,
            target: &request.target,
            host: &request.host,
            headers: &request.headers,
            framing,
            keep_alive: request.persistent,
        };
        let mut out = std::mem::take(&mut *self.out.borrow_mut());
        out.clear();
        out.reserve(256);
        if let Err(e) = write_request_head(&head, &mut out) {
            return Deferred::fail(RequestGenerationFailed::new(vec![protocol_failure(e)]));
        }
        let mut encoder = BodyEncoder::new(framing);
        let immediate: Option<Bytes> = request
            .body_producer
            .as_ref()
            .and_then(|p| p.immediate_body());
        let streaming = request.body_producer.is_some() && immediate.is_none();
        if !streaming {
            let body = immediate.unwrap_or_default();
            let r = encoder
                .encode(&body, &mut out)
                .and_then(|_| encoder.finish(&mut out));
            if let Err(e) = r {
                return Deferred::fail(RequestGenerationFailed::new(vec![protocol_failure(e)]));
            }
        }
        let me = self.me.clone();
        let finished = Deferred::with_canceller(move |_| {
            if let Some(p) = me.upgrade() {
                p.cancel_request();
            }
        });
        let producer = if streaming {
            request.body_producer.take()
        } else {
            None
        };
        let adapter = producer.as_ref().map(|p| ProducerAdapter::new(p.clone()));
        {
            let mut s = self.s.borrow_mut();
            s.busy = true;
            s.finished = Some(finished.clone());
            // The response shares the request's URI.
            s.info = Some(RequestInfo {
                method: request.method.clone(),
                absolute_uri: request.absolute_uri.clone(),
            });
            s.parser = Some(ResponseParser::new(&request.method[..] == b"HEAD"));
            s.buf.clear();
            s.ever_received = false;
            s.timer = timer;
            s.persistent = request.persistent;
            if streaming {
                s.encoder = Some(encoder);
                s.producer = adapter.clone();
            }
            s.retryable = retry.then_some(request);
        }
        transport.write(&out);
        if out.capacity() <= KEPT_OUT_BUFFER {
            *self.out.borrow_mut() = out;
        }
        if let Some(producer) = producer {
            let adapter = adapter.expect("streaming has an adapter");
            transport.register_producer(Producer::Push(adapter));
            let consumer = Rc::new(BodyConsumer {
                protocol: self.me.clone(),
            });
            let me = self.me.clone();
            let me2 = self.me.clone();
            producer.start_producing(consumer).add_callbacks(
                move |()| {
                    if let Some(p) = me.upgrade() {
                        p.body_produced(Ok(()));
                    }
                },
                move |failure: Failure| {
                    if let Some(p) = me2.upgrade() {
                        p.body_produced(Err(failure));
                    }
                },
            );
        }
        finished
    }

    /// A piece of request body from the producer.
    pub(in crate::web::newclient) fn write_body(&self, data: &[u8]) {
        let (transport, frame) = {
            let mut s = self.s.borrow_mut();
            let Some(encoder) = s.encoder.as_mut() else {
                return;
            };
            let frame = encoder.frame(data.len());
            (s.transport.clone(), frame)
        };
        match frame {
            Ok(frame) => {
                if let Some(t) = transport {
                    t.write_sequence(&[frame.prefix(), data, frame.suffix()]);
                }
            }
            Err(e) => self.body_failed(protocol_failure(e), true),
        }
    }

    /// The producer's Deferred fired.
    fn body_produced(&self, result: Result<(), Failure>) {
        let (transport, finish) = {
            let mut s = self.s.borrow_mut();
            let Some(mut encoder) = s.encoder.take() else {
                return;
            };
            if let Some(adapter) = s.producer.take() {
                adapter.finished();
            }
            let mut out = BytesMut::new();
            let finish = result.and_then(|()| {
                encoder
                    .finish(&mut out)
                    .map(|()| out)
                    .map_err(protocol_failure)
            });
            (s.transport.clone(), finish)
        };
        if let Some(t) = &transport {
            t.unregister_producer();
        }
        match finish {
            Ok(out) => {
                if let Some(t) = &transport {
                    t.write(&out);
                }
            }
            Err(failure) => self.body_failed(failure, false),
        }
    }

    /// The request's Deferred was cancelled: no retry; a retry in flight is cancelled, else the
    /// connection is closed.
    fn cancel_request(&self) {
        let retrying = {
            let mut s = self.s.borrow_mut();
            s.retryable = None;
            s.retrying.take()
        };
        match retrying {
            Some(again) => again.cancel(),
            None => self.abort(),
        }
    }

    /// The request in flight failed before any response: send it again through the retry
    /// hook, its result going to `finished`. The protocol stays alive until then, so that
    /// cancelling `finished` reaches the retry.
    pub(super) fn retry(&self, hook: RetryHook, request: Request, finished: Deferred<Response>) {
        let Some(me) = self.me.upgrade() else {
            let _ = finished.errback(RequestNotSent);
            return;
        };
        let timer = self.s.borrow_mut().timer.take();
        let again = hook(me.clone(), request, timer);
        if again.called() {
            let _ = finished.fire(
                again
                    .take_result()
                    .unwrap_or(Err(Failure::new(RequestNotSent))),
            );
            return;
        }
        self.s.borrow_mut().retrying = Some(again.clone());
        again.add_both(move |result| {
            me.s.borrow_mut().retrying = None;
            let _ = finished.fire(result);
        });
    }

    /// Sending the body failed: stop the producer, fail the request, close the connection.
    fn body_failed(&self, failure: Failure, stop_producer: bool) {
        let (transport, producer, finished) = {
            let mut s = self.s.borrow_mut();
            s.encoder = None;
            (s.transport.clone(), s.producer.take(), s.finished.take())
        };
        if let Some(t) = &transport {
            t.unregister_producer();
        }
        if let (true, Some(p)) = (stop_producer, producer) {
            p.stop_producing();
        }
        if let Some(d) = finished {
            let _ = d.errback(RequestTransmissionFailed::new(vec![failure]));
        }
        if let Some(t) = transport {
            t.abort_connection();
        }
    }
}
