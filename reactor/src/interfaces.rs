//! The interfaces of `twisted.internet.interfaces`, as traits.
//!
//! Protocols, transports and producers are shared objects in Twisted (a transport refers to its
//! protocol and the protocol to its transport, and a pool holds both), so here they are used
//! through `Rc<dyn Trait>` and their methods take `&self`. Implementations keep their state in
//! `Cell`/`RefCell` and never hold a borrow while calling into another object.

use crate::connect_timings::ConnectTimings;
use crate::defer::Failure;
use crate::timer::DelayedCall;
use bytes::Bytes;
use std::net::SocketAddr;
use std::rc::Rc;

/// Scheduling by time (Twisted's `IReactorTime`), implemented by [`Reactor`](crate::Reactor)
/// and by [`Clock`](crate::task::Clock) for tests.
///
/// Both types also have a generic inherent `call_later` that takes any closure; through a
/// `&dyn IReactorTime` the function is boxed.
pub trait IReactorTime {
    /// The current time in seconds (monotonic for the reactor; manual for a `Clock`).
    fn seconds(&self) -> f64;
    /// When the I/O event being delivered (or the `call_soon` call being run) was taken up: the
    /// clock is read once per event and every caller during its delivery gets that reading, so
    /// stamping what one event caused (a response's first byte, its end, its connection going
    /// idle) costs one clock read. Elsewhere (timers, code the reactor did not call), and on
    /// clocks without events (the default), `seconds()`. Not Twisted's: for timestamps of
    /// arrivals, where `seconds()` is for time that passes.
    fn event_seconds(&self) -> f64 {
        self.seconds()
    }
    /// Call `f` after `delay` seconds.
    fn call_later(&self, delay: f64, f: Box<dyn FnOnce()>) -> DelayedCall;
    /// The calls still pending, earliest first.
    fn get_delayed_calls(&self) -> Vec<DelayedCall>;
}

/// A protocol: what a connection does with its bytes (Twisted's `IProtocol`).
pub trait IProtocol {
    /// The connection is up. Keep `transport`, then do what Twisted's `connectionMade` does.
    fn make_connection(&self, transport: Rc<dyn ITransport>);
    /// Bytes arrived.
    fn data_received(&self, data: Bytes);
    /// The connection is gone. `reason` holds [`ConnectionDone`](crate::error::ConnectionDone)
    /// for a clean close, [`ConnectionLost`](crate::error::ConnectionLost) otherwise.
    fn connection_lost(&self, reason: Failure);
}

/// Something that produces data for a consumer and can be stopped (Twisted's `IProducer`).
pub trait IProducer {
    /// Stop for good: the consumer will not take more.
    fn stop_producing(&self);
}

/// A producer that writes on its own until paused (Twisted's `IPushProducer`).
pub trait IPushProducer: IProducer {
    /// Stop writing until [`resume_producing`](Self::resume_producing).
    fn pause_producing(&self);
    /// Writing may go on.
    fn resume_producing(&self);
}

/// A producer that writes one piece each time it is asked (Twisted's `IPullProducer`).
pub trait IPullProducer: IProducer {
    /// Write the next piece.
    fn resume_producing(&self);
}

/// A producer registered with a consumer: Twisted's `registerProducer(producer, streaming)`,
/// where `streaming = true` means push and `false` means pull.
#[derive(Clone)]
pub enum Producer {
    /// A streaming producer: paused when the consumer's buffer is full, resumed when it drains.
    Push(Rc<dyn IPushProducer>),
    /// A pull producer: asked for more each time the consumer's buffer drains.
    Pull(Rc<dyn IPullProducer>),
}

impl Producer {
    /// Stop the producer, whichever kind it is.
    pub fn stop_producing(&self) {
        match self {
            Producer::Push(p) => p.stop_producing(),
            Producer::Pull(p) => p.stop_producing(),
        }
    }
}

/// Something that takes data and can push back on a producer (Twisted's `IConsumer`).
pub trait IConsumer {
    /// Register a producer; a second registration without unregistering is ignored with a logged
    /// error (Twisted raises).
    fn register_producer(&self, producer: Producer);
    /// Forget the registered producer.
    fn unregister_producer(&self);
    /// Take some bytes.
    fn write(&self, data: &[u8]);
}

/// A connection's transport (Twisted's `ITransport`, with the `IConsumer` and `IPushProducer`
/// sides that TCP transports have): protocols write to it, and pause it to stop reading.
pub trait ITransport: IConsumer + IPushProducer {
    /// Write several buffers at once (vectored where the transport can).
    fn write_sequence(&self, data: &[&[u8]]);
    /// Close after everything written has been sent. `connection_lost` follows, later.
    fn lose_connection(&self);
    /// Close now, dropping unsent data. `connection_lost` follows, later.
    fn abort_connection(&self);
    /// The remote address, when there is one.
    fn get_peer(&self) -> Option<SocketAddr>;
    /// The local address, when there is one.
    fn get_host(&self) -> Option<SocketAddr>;
    /// Bytes written but not yet handed to the network (not in Twisted: for flow-control tests
    /// and memory accounting).
    fn write_buffer_len(&self) -> usize {
        0
    }
}

/// A connection that is up but has no protocol yet: what a connect attempt yields, so that
/// happy-eyeballs can pick one winner before any protocol sees a byte.
pub trait IConnection: ITransport {
    /// Give the connection to `protocol` (`make_connection`, then any bytes already waiting).
    fn attach_protocol(self: Rc<Self>, protocol: Rc<dyn IProtocol>);
}

/// Making TCP connections (the part of Twisted's `IReactorTCP` that endpoints use). The
/// [`Reactor`](crate::Reactor) implements it with real sockets; tests may substitute a fake.
pub trait IReactorTCP {
    /// Connect to one address. Fails with a [`ConnectError`](crate::error::ConnectError).
    fn connect_tcp_address(
        &self,
        address: SocketAddr,
        timeout: f64,
        bind_address: Option<SocketAddr>,
    ) -> crate::defer::Deferred<Rc<dyn IConnection>>;
}

/// Name resolution (Twisted's `IHostnameResolver`, simplified): the addresses for a host and
/// port, in the resolver's order. Fails with a [`DNSLookupError`](crate::error::DNSLookupError).
pub trait IResolver {
    /// Resolve `host` for `port`.
    fn resolve_host_name(&self, host: &str, port: u16) -> crate::defer::Deferred<Vec<SocketAddr>>;
}

/// Something that connects a protocol to a peer (Twisted's `IStreamClientEndpoint`).
pub trait IStreamClientEndpoint {
    /// Connect, then hand the connection to `protocol`. Cancelling the Deferred stops
    /// connecting.
    fn connect(&self, protocol: Rc<dyn IProtocol>) -> crate::defer::Deferred<()>;

    /// [`connect`](Self::connect), stamping in `timings` the end of each phase this endpoint
    /// performs (see [`ConnectTimings`]). The default stamps nothing.
    fn connect_timed(
        &self,
        protocol: Rc<dyn IProtocol>,
        timings: &Rc<ConnectTimings>,
    ) -> crate::defer::Deferred<()> {
        let _ = timings;
        self.connect(protocol)
    }
}
