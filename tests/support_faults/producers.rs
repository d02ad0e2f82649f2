//! Request body producers for fault cases.

use reactor::defer::Deferred;
use reactor::interfaces::IConsumer;
use reactor::Reactor;
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use treq::web::iweb::IBodyProducer;

/// Size of each piece an [`EndlessProducer`] writes.
pub const PIECE: usize = 64 * 1024;

/// A body of unknown length (sent chunked) that writes [`PIECE`]-byte pieces, one per reactor
/// turn, whenever it is not paused, and records how it was driven.
pub struct EndlessProducer {
    reactor: Reactor,
    me: Weak<EndlessProducer>,
    consumer: RefCell<Option<Rc<dyn IConsumer>>>,
    /// Paused right now.
    pub paused: Cell<bool>,
    /// `pause_producing` calls.
    pub pauses: Cell<usize>,
    /// `stop_producing` calls.
    pub stopped: Cell<usize>,
    /// Bytes written so far.
    pub written: Cell<usize>,
    /// The `start_producing` Deferred (never fired: the body never ends by itself).
    pub done: Deferred<()>,
}

impl EndlessProducer {
    /// A producer on `reactor`.
    pub fn new(reactor: &Reactor) -> Rc<EndlessProducer> {
        Rc::new_cyclic(|me| EndlessProducer {
            reactor: reactor.clone(),
            me: me.clone(),
            consumer: RefCell::new(None),
            paused: Cell::new(false),
            pauses: Cell::new(0),
            stopped: Cell::new(0),
            written: Cell::new(0),
            done: Deferred::new(),
        })
    }

    fn schedule(&self) {
        let me = self.me.clone();
        self.reactor.call_later(0.0, move || {
            if let Some(me) = me.upgrade() {
                me.tick();
            }
        });
    }

    fn tick(&self) {
        if self.paused.get() {
            return;
        }
        if self.stopped.get() > 0 {
            return;
        }
        // Clone the consumer out: no borrow is held while the client code runs.
        let consumer = self.consumer.borrow().clone();
        if let Some(consumer) = consumer {
            consumer.write(&[b'u'; PIECE]);
            self.written.set(self.written.get() + PIECE);
            self.schedule();
        }
    }
}

impl IBodyProducer for EndlessProducer {
    fn length(&self) -> Option<u64> {
        None
    }
    fn start_producing(&self, consumer: Rc<dyn IConsumer>) -> Deferred<()> {
        *self.consumer.borrow_mut() = Some(consumer);
        self.schedule();
        self.done.clone()
    }
    fn pause_producing(&self) {
        self.paused.set(true);
        self.pauses.set(self.pauses.get() + 1);
    }
    fn resume_producing(&self) {
        if self.paused.replace(false) && self.stopped.get() == 0 {
            self.schedule();
        }
    }
    fn stop_producing(&self) {
        self.stopped.set(self.stopped.get() + 1);
        self.consumer.borrow_mut().take();
    }
}
