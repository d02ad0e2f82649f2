//! [`FakeTransport`]: one end of an in-memory connection.

use crate::defer::Failure;
use crate::interfaces::{IConsumer, IProducer, IProtocol, IPushProducer, ITransport, Producer};
use crate::producer_slot::ProducerSlot;
use bytes::{Bytes, BytesMut};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;

/// The outgoing buffer size above which a registered push producer is paused: 64 KiB, Twisted's
/// `FileDescriptor.bufferSize`.
pub const DEFAULT_HIGH_WATER_MARK: usize = 64 * 1024;

thread_local! {
    static NEXT_PORT: Cell<u16> = const { Cell::new(40000) };
}

/// A fresh fake address: 127.0.0.1 with a port not handed out before on this thread (until the
/// counter wraps after ~60,000 transports).
fn next_address() -> SocketAddr {
    let port = NEXT_PORT.with(|next| {
        let port = next.get();
        next.set(if port == u16::MAX { 1024 } else { port + 1 });
        port
    });
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
}

/// One end of an in-memory connection (Twisted's `twisted.test.iosim.FakeTransport`).
///
/// A protocol writes to it as to a TCP transport; the bytes wait in an outgoing buffer until an
/// [`IOPump`](super::IOPump) moves them to the other end's protocol. It keeps the `ITransport`
/// contract of a TCP transport:
///
/// * `write`/`write_sequence` append to the outgoing buffer (ignored once the connection is
///   lost or aborted).
/// * `lose_connection` stops reading (data from the peer is dropped) and closes once the
///   outgoing buffer has been delivered: `connection_lost` with
///   [`ConnectionDone`](crate::error::ConnectionDone) then reaches both protocols.
/// * `abort_connection` drops unsent data; on the next pump this end's protocol gets
///   [`ConnectionAborted`](crate::error::ConnectionAborted) and the peer's
///   [`ConnectionLost`](crate::error::ConnectionLost) (a reset).
/// * `pause_producing` stops delivery to *this* end's protocol, as a paused TCP transport
///   stops reading: the peer's bytes stay in the peer's outgoing buffer, which pushes back on the
///   peer's producer. A clean close is not noticed while paused either (as EOF is read).
/// * A registered push producer is paused when the outgoing buffer grows past the high-water
///   mark ([`DEFAULT_HIGH_WATER_MARK`]) and resumed when a pump drains it; a pull producer
///   gets `resume_producing` when registered and each time a pump drains the buffer. The
///   producer gets `stop_producing` when the connection is lost.
///
/// Every callback into a protocol or producer runs with no borrow of the transport held, so
/// they may call back into it.
pub struct FakeTransport {
    is_server: bool,
    host: Cell<SocketAddr>,
    peer: Cell<SocketAddr>,
    protocol: RefCell<Option<Rc<dyn IProtocol>>>,
    outgoing: RefCell<BytesMut>,
    high_water: Cell<usize>,
    producer: ProducerSlot,
    reading_paused: Cell<bool>,
    disconnecting: Cell<bool>,
    aborted: Cell<bool>,
    disconnected: Cell<bool>,
}

impl FakeTransport {
    /// A transport for `protocol`, with fresh fake addresses (127.0.0.1, distinct ports). The
    /// protocol's `make_connection` is not called here: [`connect`](super::connect) does that.
    pub fn new(protocol: Rc<dyn IProtocol>, is_server: bool) -> Rc<FakeTransport> {
        FakeTransport::with_addresses(protocol, is_server, next_address(), next_address())
    }

    /// A transport with the given local (`host`) and remote (`peer`) addresses.
    pub fn with_addresses(
        protocol: Rc<dyn IProtocol>,
        is_server: bool,
        host: SocketAddr,
        peer: SocketAddr,
    ) -> Rc<FakeTransport> {
        Rc::new(FakeTransport {
            is_server,
            host: Cell::new(host),
            peer: Cell::new(peer),
            protocol: RefCell::new(Some(protocol)),
            outgoing: RefCell::new(BytesMut::new()),
            high_water: Cell::new(DEFAULT_HIGH_WATER_MARK),
            producer: ProducerSlot::default(),
            reading_paused: Cell::new(false),
            disconnecting: Cell::new(false),
            aborted: Cell::new(false),
            disconnected: Cell::new(false),
        })
    }

    /// Whether this is the server end.
    pub fn is_server(&self) -> bool {
        self.is_server
    }

    /// The protocol, until the connection is lost (then the transport lets go of it, breaking
    /// the protocol ↔ transport cycle).
    pub fn protocol(&self) -> Option<Rc<dyn IProtocol>> {
        self.protocol.borrow().clone()
    }

    /// Bytes written and not yet delivered to the peer.
    pub fn buffered(&self) -> usize {
        self.outgoing.borrow().len()
    }

    /// The outgoing buffer size above which a push producer is paused.
    pub fn high_water_mark(&self) -> usize {
        self.high_water.get()
    }

    /// Set the high-water mark (bytes).
    pub fn set_high_water_mark(&self, bytes: usize) {
        self.high_water.set(bytes);
    }

    /// `lose_connection` (or `stop_producing`) was called.
    pub fn disconnecting(&self) -> bool {
        self.disconnecting.get()
    }

    /// `abort_connection` was called.
    pub fn aborted(&self) -> bool {
        self.aborted.get()
    }

    /// `connection_lost` has been delivered to this end's protocol.
    pub fn disconnected(&self) -> bool {
        self.disconnected.get()
    }

    /// Delivery to this end's protocol is paused (`pause_producing`).
    pub fn reading_paused(&self) -> bool {
        self.reading_paused.get()
    }

    /// The registered push producer is paused because the buffer passed the high-water mark.
    pub fn producer_paused(&self) -> bool {
        self.producer.is_paused()
    }

    /// Whether a producer is registered.
    pub fn has_producer(&self) -> bool {
        self.producer.is_registered()
    }

    pub(super) fn set_protocol(&self, protocol: Rc<dyn IProtocol>) {
        *self.protocol.borrow_mut() = Some(protocol);
    }

    pub(super) fn set_peer(&self, peer: SocketAddr) {
        self.peer.set(peer);
    }

    /// Whether bytes sent to this end may be handed to its protocol now.
    pub(super) fn can_receive(&self) -> bool {
        !self.reading_paused.get() && !self.disconnecting.get() && !self.is_gone()
    }

    /// Aborted or lost: nothing more goes in or out.
    pub(super) fn is_gone(&self) -> bool {
        self.aborted.get() || self.disconnected.get()
    }

    /// Take the whole outgoing buffer.
    pub(super) fn take_outgoing(&self) -> Bytes {
        self.outgoing.borrow_mut().split().freeze()
    }

    /// Hand bytes from the peer to the protocol.
    pub(super) fn deliver(&self, data: Bytes) {
        let protocol = self.protocol();
        if let Some(protocol) = protocol {
            protocol.data_received(data);
        }
    }

    /// A pump emptied the outgoing buffer: resume a paused push producer, ask a pull producer
    /// for more.
    pub(super) fn drained(&self) {
        if self.is_gone() || self.buffered() > self.high_water.get() {
            return;
        }
        // The pump delivers everything at once: resume at the high-water mark.
        self.producer
            .after_drain(self.buffered(), self.high_water.get());
    }

    /// Deliver `connection_lost` to the protocol, once: stop the producer first, then let go of
    /// protocol and producer. Returns whether this call delivered it.
    pub(super) fn lose(&self, reason: Failure) -> bool {
        if self.disconnected.replace(true) {
            return false;
        }
        self.outgoing.borrow_mut().clear();
        self.producer.stop();
        let protocol = self.protocol.borrow_mut().take();
        if let Some(protocol) = protocol {
            protocol.connection_lost(reason);
        }
        true
    }

    /// After a write: pause a push producer if the buffer is past the high-water mark.
    fn check_high_water(&self) {
        self.producer
            .after_write(self.buffered(), self.high_water.get());
    }
}

impl IConsumer for FakeTransport {
    fn register_producer(&self, producer: Producer) {
        if self.producer.register(producer, self.is_gone()) {
            self.check_high_water();
            self.producer.start_pull();
        }
    }

    fn unregister_producer(&self) {
        self.producer.unregister();
    }

    fn write(&self, data: &[u8]) {
        if data.is_empty() || self.is_gone() {
            return;
        }
        self.outgoing.borrow_mut().extend_from_slice(data);
        self.check_high_water();
    }
}

impl IProducer for FakeTransport {
    /// As for a TCP transport: close the connection.
    fn stop_producing(&self) {
        self.lose_connection();
    }
}

impl IPushProducer for FakeTransport {
    fn pause_producing(&self) {
        self.reading_paused.set(true);
    }

    fn resume_producing(&self) {
        self.reading_paused.set(false);
    }
}

impl ITransport for FakeTransport {
    fn write_sequence(&self, data: &[&[u8]]) {
        if self.is_gone() {
            return;
        }
        {
            let mut outgoing = self.outgoing.borrow_mut();
            for piece in data {
                outgoing.extend_from_slice(piece);
            }
        }
        self.check_high_water();
    }

    fn lose_connection(&self) {
        self.disconnecting.set(true);
    }

    fn abort_connection(&self) {
        if self.is_gone() {
            return;
        }
        self.aborted.set(true);
        self.disconnecting.set(true);
        self.outgoing.borrow_mut().clear();
    }

    fn get_peer(&self) -> Option<SocketAddr> {
        Some(self.peer.get())
    }

    fn get_host(&self) -> Option<SocketAddr> {
        Some(self.host.get())
    }
}

impl fmt::Debug for FakeTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.disconnected.get() {
            "disconnected"
        } else if self.aborted.get() {
            "aborted"
        } else if self.disconnecting.get() {
            "disconnecting"
        } else {
            "connected"
        };
        write!(
            f,
            "<FakeTransport {} {} -> {}, {state}, {} bytes buffered{}>",
            if self.is_server { "server" } else { "client" },
            self.host.get(),
            self.peer.get(),
            self.buffered(),
            if self.reading_paused.get() {
                ", paused"
            } else {
                ""
            }
        )
    }
}
