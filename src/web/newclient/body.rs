//! The request body's path to the wire: the consumer a body producer writes to, and the
//! adapter that registers the producer with the transport.

use super::protocol::HTTP11ClientProtocol;
use crate::web::iweb::IBodyProducer;
use reactor::interfaces::{IConsumer, IProducer, IPushProducer, Producer};
use std::cell::Cell;
use std::rc::{Rc, Weak};

/// What a body producer writes to: frames each piece (chunked or length-checked) and writes it
/// to the connection (Twisted's `LengthEnforcingConsumer` and `ChunkedEncoder` in one).
pub(super) struct BodyConsumer {
    pub(super) protocol: Weak<HTTP11ClientProtocol>,
}

impl IConsumer for BodyConsumer {
    fn register_producer(&self, _producer: Producer) {
        // The body producer itself is already registered with the transport.
    }
    fn unregister_producer(&self) {}
    fn write(&self, data: &[u8]) {
        if let Some(protocol) = self.protocol.upgrade() {
            protocol.write_body(data);
        }
    }
}

/// An [`IBodyProducer`] seen as the push producer the transport pauses and resumes. Whoever
/// stops it first (the transport when the connection is lost, or the protocol), the body
/// producer's `stop_producing` is called once, and nothing reaches it afterwards.
pub(super) struct ProducerAdapter {
    producer: Rc<dyn IBodyProducer>,
    stopped: Cell<bool>,
}

impl ProducerAdapter {
    pub(super) fn new(producer: Rc<dyn IBodyProducer>) -> Rc<ProducerAdapter> {
        Rc::new(ProducerAdapter {
            producer,
            stopped: Cell::new(false),
        })
    }

    /// The producer finished on its own: nothing more is passed on.
    pub(super) fn finished(&self) {
        self.stopped.set(true);
    }
}

impl IProducer for ProducerAdapter {
    fn stop_producing(&self) {
        if !self.stopped.replace(true) {
            self.producer.stop_producing();
        }
    }
}

impl IPushProducer for ProducerAdapter {
    fn pause_producing(&self) {
        if !self.stopped.get() {
            self.producer.pause_producing();
        }
    }
    fn resume_producing(&self) {
        if !self.stopped.get() {
            self.producer.resume_producing();
        }
    }
}
