//! A response whose body fails with [`BodyReadTimeout`] when no byte of it arrives for a
//! while (treq #83): [`with_body_timeout`].
//!
//! ```text
//!   body ──deliver_body──▶ Watch (IProtocol) ──data/finish──▶ BodyChannel ──▶ reader
//!   (connection) ◀──pause/resume/abort── WatchTransport ◀──pause/resume/stop── reader
//! ```
//!
//! The watch re-arms one timer on every piece of body. The timer is stopped while the body is
//! paused (by its reader, or because bytes wait for one): only time spent waiting on the
//! peer counts.

use crate::web::body_transport::{BodyFlow, BodyTransport};
use crate::web::response::{BodyChannel, Response};
use bytes::Bytes;
use reactor::defer::Failure;
use reactor::interfaces::{IProtocol, IReactorTime, ITransport};
use reactor::DelayedCall;
use std::cell::{Cell, RefCell};
use std::error::Error;
use std::fmt;
use std::rc::{Rc, Weak};

/// No byte of the response body arrived for [`seconds`](Self::seconds) while it was being
/// read; its connection was closed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BodyReadTimeout {
    /// The time allowed without progress, in seconds.
    pub seconds: f64,
}

impl fmt::Display for BodyReadTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "reading the response body timed out: no data for {} s",
            self.seconds
        )
    }
}

impl Error for BodyReadTimeout {}

/// `response` with a body that fails with [`BodyReadTimeout`] (and closes its connection) when
/// nothing of it arrives for `seconds` of `clock`, counted from now and from each piece.
pub fn with_body_timeout(
    response: &Response,
    seconds: f64,
    clock: Rc<dyn IReactorTime>,
) -> Response {
    let watch = Rc::new_cyclic(|me: &Weak<Watch>| Watch {
        seconds,
        clock,
        raw: RefCell::new(None),
        out: BodyChannel::new(None),
        timer: RefCell::new(None),
        paused: Cell::new(false),
        done: Cell::new(false),
        me: me.clone(),
    });
    watch
        .out
        .set_transport(Rc::new(BodyTransport(WatchTransport {
            watch: watch.clone(),
        })));
    let watched = response.with_body(watch.out.clone());
    if let Err(e) = response.deliver_body(watch.clone()) {
        watch.done.set(true);
        watch.out.finish(Failure::new(e));
    }
    watched
}

struct Watch {
    seconds: f64,
    clock: Rc<dyn IReactorTime>,
    raw: RefCell<Option<Rc<dyn ITransport>>>,
    out: Rc<BodyChannel>,
    timer: RefCell<Option<DelayedCall>>,
    paused: Cell<bool>,
    done: Cell<bool>,
    me: Weak<Watch>,
}

impl Watch {
    fn raw(&self) -> Option<Rc<dyn ITransport>> {
        self.raw.borrow().clone()
    }

    /// (Re)start the timer, unless the body has ended or is paused.
    fn arm(&self) {
        if self.done.get() || self.paused.get() {
            return;
        }
        let pending = self.timer.borrow().clone();
        if let Some(timer) = pending.filter(|t| t.active()) {
            let _ = timer.reset(self.seconds);
            return;
        }
        let me = self.me.clone();
        let call = self.clock.call_later(
            self.seconds,
            Box::new(move || {
                if let Some(watch) = me.upgrade() {
                    watch.expire();
                }
            }),
        );
        *self.timer.borrow_mut() = Some(call);
    }

    fn disarm(&self) {
        let timer = self.timer.borrow_mut().take();
        if let Some(timer) = timer {
            let _ = timer.cancel();
        }
    }

    fn expire(&self) {
        self.timer.borrow_mut().take();
        if self.done.replace(true) {
            return;
        }
        let raw = self.raw.borrow_mut().take();
        if let Some(raw) = raw {
            raw.abort_connection();
        }
        self.out.finish(Failure::new(BodyReadTimeout {
            seconds: self.seconds,
        }));
    }
}

impl IProtocol for Watch {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        *self.raw.borrow_mut() = Some(transport);
        self.arm();
    }

    fn data_received(&self, data: Bytes) {
        if self.done.get() {
            return;
        }
        self.arm();
        self.out.data(data);
    }

    fn connection_lost(&self, reason: Failure) {
        self.raw.borrow_mut().take();
        if self.done.replace(true) {
            return;
        }
        self.disarm();
        self.out.finish(reason);
    }
}

/// The watched body's transport: flow control passes through to the real one, and pausing
/// stops the clock.
struct WatchTransport {
    watch: Rc<Watch>,
}

impl BodyFlow for WatchTransport {
    fn pause(&self) {
        self.watch.paused.set(true);
        self.watch.disarm();
        if let Some(raw) = self.watch.raw() {
            raw.pause_producing();
        }
    }

    fn resume(&self) {
        self.watch.paused.set(false);
        self.watch.arm();
        if let Some(raw) = self.watch.raw() {
            raw.resume_producing();
        }
    }

    fn stop(&self) {
        self.watch.disarm();
        if let Some(raw) = self.watch.raw() {
            raw.stop_producing();
        }
    }

    fn connection(&self) -> Option<Rc<dyn ITransport>> {
        self.watch.raw()
    }
}
