//! Helpers for tests over real sockets: a recording protocol and a bounded reactor run.
#![allow(dead_code)]

use bytes::Bytes;
use reactor::defer::{Deferred, Failure};
use reactor::interfaces::{IProtocol, ITransport};
use reactor::Reactor;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// Run `reactor` until `d` fires, or fail the test after `seconds`.
pub fn run_until<T: 'static>(
    reactor: &Reactor,
    d: Deferred<T>,
    seconds: f64,
) -> Result<T, Failure> {
    let out: Rc<RefCell<Option<Result<T, Failure>>>> = Rc::new(RefCell::new(None));
    let slot = out.clone();
    let r = reactor.clone();
    d.add_both(move |result| {
        *slot.borrow_mut() = Some(result);
        let _ = r.stop();
    });
    if out.borrow().is_some() {
        return out.borrow_mut().take().unwrap();
    }
    let r = reactor.clone();
    let timed_out = Rc::new(Cell::new(false));
    let flag = timed_out.clone();
    let guard = reactor.call_later(seconds, move || {
        flag.set(true);
        let _ = r.stop();
    });
    reactor.run().unwrap();
    if guard.active() {
        guard.cancel().unwrap();
    }
    assert!(
        !timed_out.get(),
        "the reactor run hit its {seconds} s bound"
    );
    let result = out.borrow_mut().take().expect("fired");
    result
}

/// A protocol that records what happens to it.
#[derive(Default)]
pub struct Recorder {
    pub transport: RefCell<Option<Rc<dyn ITransport>>>,
    pub received: RefCell<Vec<u8>>,
    pub chunks: Cell<usize>,
    pub lost: RefCell<Option<Failure>>,
    pub waiters: RefCell<Vec<Deferred<()>>>,
    /// Stop reading after the first chunk.
    pub pause_on_data: Cell<bool>,
    /// Echo back what arrives.
    pub echo: Cell<bool>,
    /// Close after receiving this many bytes.
    pub close_after: Cell<Option<usize>>,
    /// Write this on connect.
    pub greeting: RefCell<Option<Vec<u8>>>,
}

impl Recorder {
    pub fn new() -> Rc<Recorder> {
        Rc::new(Recorder::default())
    }

    pub fn when_lost(&self) -> Deferred<()> {
        if self.lost.borrow().is_some() {
            return Deferred::succeed(());
        }
        let d = Deferred::new();
        self.waiters.borrow_mut().push(d.clone());
        d
    }

    pub fn transport(&self) -> Rc<dyn ITransport> {
        self.transport.borrow().clone().expect("connected")
    }
}

impl IProtocol for Recorder {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        *self.transport.borrow_mut() = Some(transport.clone());
        if let Some(greeting) = self.greeting.borrow().as_ref() {
            transport.write(greeting);
        }
    }

    fn data_received(&self, data: Bytes) {
        self.chunks.set(self.chunks.get() + 1);
        self.received.borrow_mut().extend_from_slice(&data);
        let transport = self.transport();
        if self.echo.get() {
            transport.write(&data);
        }
        if self.pause_on_data.get() {
            transport.pause_producing();
        }
        if let Some(n) = self.close_after.get() {
            if self.received.borrow().len() >= n {
                transport.lose_connection();
            }
        }
    }

    fn connection_lost(&self, reason: Failure) {
        assert!(self.lost.borrow().is_none(), "connection_lost twice");
        *self.lost.borrow_mut() = Some(reason);
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        for d in waiters {
            let _ = d.callback(());
        }
    }
}
