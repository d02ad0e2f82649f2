//! A response whose body is another response's body, decoded while it streams.
//!
//! ```text
//!   encoded body ──deliver_body──▶ Decoding (IProtocol) ──data/finish──▶ BodyChannel ──▶ reader
//!   (connection)  ◀──pause/resume/abort── DecodedTransport ◀──pause/resume/stop── BodyTransport
//! ```
//!
//! [`decode_response`] delivers the encoded body to a `Decoding` protocol, which queues the
//! encoded pieces and inflates them into slices of at most [`DECODED_SLICE`] bytes, handing
//! each to the new response's [`BodyChannel`]. It inflates only while the reader (or the
//! channel's own buffer, before `deliver_body`) is not paused, and pauses the encoded body's
//! transport meanwhile, so the memory a body takes is bounded by the slices the reader
//! accepts, whatever its compression ratio.

use super::content_decoder::{BodyDecoder, DecodingError, DecodingErrorKind};
use crate::web::body_transport::{BodyFlow, BodyTransport};
use crate::web::error::{PotentialDataLoss, ResponseDone, ResponseFailed};
use crate::web::response::{BodyChannel, Response};
use bytes::Bytes;
use reactor::defer::Failure;
use reactor::error::ConnectionAborted;
use reactor::interfaces::{IProtocol, ITransport};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

/// The most decoded bytes made from the encoded input in one step.
pub const DECODED_SLICE: usize = 64 * 1024;

/// `response` with its body decoded by `decoder` as it arrives; `length` becomes unknown.
/// `encoding` names the coding in errors. The headers are the caller's to rewrite.
pub(crate) fn decode_response(
    response: &Response,
    encoding: String,
    decoder: Box<dyn BodyDecoder>,
) -> Response {
    let decoding = Rc::new(Decoding {
        encoding,
        decoder: RefCell::new(decoder),
        buf: RefCell::new(Vec::new()),
        input: RefCell::new(VecDeque::new()),
        raw: RefCell::new(None),
        end: RefCell::new(None),
        out: BodyChannel::new(None),
        paused: Cell::new(false),
        pumping: Cell::new(false),
        stopped: Cell::new(false),
        raw_ended: Cell::new(false),
        done: Cell::new(false),
    });
    let transport: Rc<dyn ITransport> = Rc::new(BodyTransport(DecodedTransport {
        decoding: decoding.clone(),
    }));
    decoding.out.set_transport(transport);
    let mut decoded = response.with_body(decoding.out.clone());
    decoded.length = None;
    if let Err(e) = response.deliver_body(decoding.clone()) {
        decoding.done.set(true);
        decoding.out.finish(Failure::new(e));
    }
    decoded
}

/// Take `response`'s body and close its connection at once: the body is not wanted.
pub(crate) fn abort_body(response: &Response) {
    struct Abort;
    impl IProtocol for Abort {
        fn make_connection(&self, transport: Rc<dyn ITransport>) {
            transport.stop_producing();
        }
        fn data_received(&self, _data: Bytes) {}
        fn connection_lost(&self, _reason: Failure) {}
    }
    let _ = response.deliver_body(Rc::new(Abort));
}

/// What one decoding step gave.
enum Step {
    Output(Bytes),
    NeedInput,
    Failed(DecodingErrorKind),
}

/// The protocol that receives the encoded body and feeds the decoded one.
struct Decoding {
    encoding: String,
    decoder: RefCell<Box<dyn BodyDecoder>>,
    /// The output slice, allocated on first use.
    buf: RefCell<Vec<u8>>,
    /// Encoded pieces not yet decoded.
    input: RefCell<VecDeque<Bytes>>,
    /// The encoded body's transport, while it lasts.
    raw: RefCell<Option<Rc<dyn ITransport>>>,
    /// Why the encoded body ended, until the decoded one ends with it.
    end: RefCell<Option<Failure>>,
    /// The decoded body.
    out: Rc<BodyChannel>,
    /// The decoded body's reader asked for a pause.
    paused: Cell<bool>,
    /// `pump` is running (re-entrant calls return at once; the running loop sees the change).
    pumping: Cell<bool>,
    /// The reader stopped the decoded body.
    stopped: Cell<bool>,
    raw_ended: Cell<bool>,
    /// The decoded body has ended.
    done: Cell<bool>,
}

impl Decoding {
    fn raw(&self) -> Option<Rc<dyn ITransport>> {
        self.raw.borrow().clone()
    }

    /// Decode and deliver until paused, out of input, or ended.
    fn pump(&self) {
        if self.pumping.replace(true) {
            return;
        }
        loop {
            if self.done.get() {
                break;
            }
            if self.stopped.get() {
                self.input.borrow_mut().clear();
                if self.raw_ended.get() {
                    let reason = ResponseFailed::new(vec![Failure::new(ConnectionAborted)]);
                    self.finish(Failure::new(reason));
                }
                break;
            }
            if self.paused.get() {
                break;
            }
            match self.step() {
                Step::Output(bytes) => self.out.data(bytes),
                Step::NeedInput => {
                    let end = self.end.borrow_mut().take();
                    if let Some(reason) = end {
                        self.end_of_input(reason);
                    }
                    break;
                }
                Step::Failed(kind) => {
                    self.fail(kind);
                    break;
                }
            }
        }
        self.pumping.set(false);
    }

    /// Decode the next slice from the queued input. The borrows are held across
    /// `BodyDecoder::decode`, which is this object's own decoder and sees only byte slices, so
    /// it cannot re-enter; nothing else is called.
    fn step(&self) -> Step {
        let mut input = self.input.borrow_mut();
        let mut decoder = self.decoder.borrow_mut();
        let mut buf = self.buf.borrow_mut();
        if buf.is_empty() {
            buf.resize(DECODED_SLICE, 0);
        }
        loop {
            let front: &[u8] = input.front().map_or(&[], |b| &b[..]);
            let had_input = !front.is_empty();
            let (consumed, produced) = match decoder.decode(front, &mut buf) {
                Ok(progress) => progress,
                Err(kind) => return Step::Failed(kind),
            };
            if consumed > 0 {
                let piece = input.front_mut().expect("consumed input exists");
                let rest = piece.slice(consumed.min(piece.len())..);
                if rest.is_empty() {
                    input.pop_front();
                } else {
                    *piece = rest;
                }
            }
            if produced > 0 {
                return Step::Output(Bytes::copy_from_slice(&buf[..produced.min(buf.len())]));
            }
            if consumed == 0 {
                if had_input {
                    return Step::Failed(DecodingErrorKind::Corrupt(
                        "the decoder made no progress".into(),
                    ));
                }
                return Step::NeedInput;
            }
        }
    }

    /// The encoded body ended and all of it was decoded.
    fn end_of_input(&self, reason: Failure) {
        if reason.check::<ResponseDone>() || reason.check::<PotentialDataLoss>() {
            let finished = self.decoder.borrow_mut().finish();
            match finished {
                Ok(()) => self.finish(reason),
                Err(kind) => self.fail(kind),
            }
        } else {
            self.finish(reason);
        }
    }

    fn fail(&self, kind: DecodingErrorKind) {
        if !self.raw_ended.get() {
            if let Some(raw) = self.raw() {
                raw.abort_connection();
            }
        }
        let error = DecodingError {
            encoding: self.encoding.clone(),
            kind,
        };
        let reason = ResponseFailed::new(vec![Failure::new(error)]);
        self.finish(Failure::new(reason));
    }

    fn finish(&self, reason: Failure) {
        if self.done.replace(true) {
            return;
        }
        self.input.borrow_mut().clear();
        self.raw.borrow_mut().take();
        self.out.finish(reason);
    }
}

impl IProtocol for Decoding {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        *self.raw.borrow_mut() = Some(transport);
    }

    fn data_received(&self, data: Bytes) {
        if self.done.get() || self.stopped.get() {
            return;
        }
        if !data.is_empty() {
            self.input.borrow_mut().push_back(data);
        }
        self.pump();
    }

    fn connection_lost(&self, reason: Failure) {
        self.raw_ended.set(true);
        self.raw.borrow_mut().take();
        if self.done.get() {
            return;
        }
        *self.end.borrow_mut() = Some(reason);
        self.pump();
    }
}

/// The transport of the decoded body, given to its channel: flow control reaches the
/// decoding and, through it, the encoded body's transport.
///
/// It holds the decoding, and the decoding holds the channel, until the decoded body ends
/// (`BodyChannel::finish` drops the transport): the decoded body goes on even when the
/// response and its reader's transport are dropped, as a body read from a connection does.
struct DecodedTransport {
    decoding: Rc<Decoding>,
}

impl BodyFlow for DecodedTransport {
    fn pause(&self) {
        self.decoding.paused.set(true);
        if let Some(raw) = self.decoding.raw() {
            raw.pause_producing();
        }
    }

    fn resume(&self) {
        self.decoding.paused.set(false);
        if let Some(raw) = self.decoding.raw() {
            raw.resume_producing();
        }
        self.decoding.pump();
    }

    /// Stop decoding for good and close the encoded body's connection.
    fn stop(&self) {
        let decoding = &self.decoding;
        if decoding.stopped.replace(true) {
            return;
        }
        if let Some(raw) = decoding.raw() {
            raw.abort_connection();
        }
        decoding.pump();
    }

    fn connection(&self) -> Option<Rc<dyn ITransport>> {
        self.decoding.raw()
    }
}
