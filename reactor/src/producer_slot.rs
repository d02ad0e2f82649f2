//! The producer side of a consumer: one registered producer and whether the consumer has paused
//! it. Shared by the TCP and in-memory transports, so both apply the same flow-control rules.

use crate::interfaces::Producer;
use std::cell::{Cell, RefCell};

/// A consumer's registered producer (Twisted's `registerProducer` bookkeeping).
///
/// Every method clones the producer out before calling it, so no borrow is held while the
/// producer runs (it may write, unregister or register again from inside the call).
#[derive(Default)]
pub(crate) struct ProducerSlot {
    producer: RefCell<Option<Producer>>,
    paused: Cell<bool>,
}

impl ProducerSlot {
    /// Register; `closed` consumers stop the producer at once. A second registration is ignored
    /// with a logged error. Returns the producer when the caller should go on to
    /// [`after_write`](Self::after_write) / ask a pull producer for data.
    pub(crate) fn register(&self, producer: Producer, closed: bool) -> bool {
        if self.producer.borrow().is_some() {
            log::error!("register_producer: a producer is already registered; ignored");
            return false;
        }
        if closed {
            producer.stop_producing();
            return false;
        }
        *self.producer.borrow_mut() = Some(producer);
        self.paused.set(false);
        true
    }

    pub(crate) fn unregister(&self) {
        self.producer.borrow_mut().take();
        self.paused.set(false);
    }

    /// Whether the registered producer is a pull producer.
    pub(crate) fn is_pull(&self) -> bool {
        matches!(*self.producer.borrow(), Some(Producer::Pull(_)))
    }

    pub(crate) fn is_registered(&self) -> bool {
        self.producer.borrow().is_some()
    }

    /// The push producer is paused because the consumer's buffer passed its high-water mark.
    pub(crate) fn is_paused(&self) -> bool {
        self.paused.get()
    }

    /// After a write: pause a push producer once `backlog` passes `high_water`.
    pub(crate) fn after_write(&self, backlog: usize, high_water: usize) {
        if self.paused.get() || backlog <= high_water {
            return;
        }
        let producer = self.producer.borrow().clone();
        if let Some(Producer::Push(p)) = producer {
            self.paused.set(true);
            p.pause_producing();
        }
    }

    /// After the buffer drained to `backlog`: resume a paused push producer below `low_water`;
    /// ask a pull producer for more once the buffer is empty.
    pub(crate) fn after_drain(&self, backlog: usize, low_water: usize) {
        let producer = self.producer.borrow().clone();
        match producer {
            Some(Producer::Push(p)) if self.paused.get() && backlog <= low_water => {
                self.paused.set(false);
                p.resume_producing();
            }
            Some(Producer::Pull(p)) if backlog == 0 => p.resume_producing(),
            _ => {}
        }
    }

    /// Ask a just-registered pull producer for its first piece.
    pub(crate) fn start_pull(&self) {
        let producer = self.producer.borrow().clone();
        if let Some(Producer::Pull(p)) = producer {
            p.resume_producing();
        }
    }

    /// The connection is gone: stop and forget the producer.
    pub(crate) fn stop(&self) {
        self.paused.set(false);
        let producer = self.producer.borrow_mut().take();
        if let Some(producer) = producer {
            producer.stop_producing();
        }
    }
}
