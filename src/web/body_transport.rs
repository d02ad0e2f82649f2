//! [`BodyTransport`]: the transport a response body's protocol is given.
//!
//! There is nothing to write to a response body, so writes do nothing and a producer
//! registered with it is stopped; what matters is flow control — pausing, resuming and stopping
//! the body — which each kind of body ([`BodyFlow`]) does its own way: on the connection, on
//! a decoder, on a buffer.

use reactor::interfaces::{IConsumer, IProducer, IPushProducer, ITransport, Producer};
use std::net::SocketAddr;
use std::rc::Rc;

/// How a body is paused, resumed and stopped.
pub(crate) trait BodyFlow {
    /// Stop delivering until [`resume`](Self::resume).
    fn pause(&self);
    /// Delivery may go on.
    fn resume(&self);
    /// The reader wants no more: stop for good (and close the connection, if the body still
    /// comes from one).
    fn stop(&self);
    /// The connection the body comes from, for `get_peer`/`get_host`.
    fn connection(&self) -> Option<Rc<dyn ITransport>> {
        None
    }
}

/// An [`ITransport`] whose flow control is `F`'s (writing does nothing; losing or aborting the
/// connection stops the body).
pub(crate) struct BodyTransport<F: BodyFlow>(pub(crate) F);

impl<F: BodyFlow> IConsumer for BodyTransport<F> {
    fn register_producer(&self, producer: Producer) {
        producer.stop_producing();
    }
    fn unregister_producer(&self) {}
    fn write(&self, _data: &[u8]) {}
}

impl<F: BodyFlow> IProducer for BodyTransport<F> {
    fn stop_producing(&self) {
        self.0.stop();
    }
}

impl<F: BodyFlow> IPushProducer for BodyTransport<F> {
    fn pause_producing(&self) {
        self.0.pause();
    }
    fn resume_producing(&self) {
        self.0.resume();
    }
}

impl<F: BodyFlow> ITransport for BodyTransport<F> {
    fn write_sequence(&self, _data: &[&[u8]]) {}
    fn lose_connection(&self) {
        self.0.stop();
    }
    fn abort_connection(&self) {
        self.0.stop();
    }
    fn get_peer(&self) -> Option<SocketAddr> {
        self.0.connection().and_then(|t| t.get_peer())
    }
    fn get_host(&self) -> Option<SocketAddr> {
        self.0.connection().and_then(|t| t.get_host())
    }
}
