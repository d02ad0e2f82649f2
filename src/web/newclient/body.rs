//! The request body's path to the wire: the consumer a body producer writes to, and the
//! adapter that registers the producer with the transport.

use super::protocol::HTTP11ClientProtocol;
use crate::web::iweb::IBodyProducer;
use reactor::interfaces::{IConsumer, IProducer, IPushProducer, Producer};
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

/// An [`IBodyProducer`] seen as the push producer the transport pauses and resumes.
pub(super) struct ProducerAdapter(pub(super) Rc<dyn IBodyProducer>);

impl IProducer for ProducerAdapter {
    fn stop_producing(&self) {
        self.0.stop_producing();
    }
}

impl IPushProducer for ProducerAdapter {
    fn pause_producing(&self) {
        self.0.pause_producing();
    }
    fn resume_producing(&self) {
        self.0.resume_producing();
    }
}
