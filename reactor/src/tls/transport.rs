//! [`TLSMemoryBIOProtocol`]: TLS layered over another transport.

use super::error::{TLSError, TLSErrorKind};
use super::options::ITLSClientConnectionCreator;
use super::records;
use crate::connect_timings::ConnectTimings;
use crate::defer::Failure;
use crate::error::ConnectionDone;
use crate::interfaces::{
    IConsumer, IProducer, IProtocol, IPullProducer, IPushProducer, ITransport, Producer,
};
use crate::producer_slot::ProducerSlot;
use crate::tcp::{HIGH_WATER, LOW_WATER};
use bytes::{Buf, Bytes, BytesMut};
use rustls::{Connection, ServerConfig, ServerConnection};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::net::SocketAddr;
use std::rc::{Rc, Weak};
use std::sync::Arc;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    /// No transport below yet.
    Unconnected,
    Open,
    /// `lose_connection` was asked: `close_notify` goes out once all is written.
    Disconnecting,
    /// The transport below was told to close.
    Closing,
    Closed,
}

/// TLS layered over any transport (Twisted's
/// `twisted.protocols.tls.TLSMemoryBIOProtocol`).
///
/// To the transport below it is a protocol: ciphertext arrives in `data_received` and is fed
/// to rustls with `read_tls` and `process_new_packets`; what rustls has to send is taken with
/// `write_tls` and written below. To the protocol above it is a transport: plaintext written to
/// it is encrypted and passed down. rustls' `complete_io` is never used (RUSTSEC-2024-0336):
/// this layer moves every byte itself.
///
/// ```text
///   application protocol ── write ──► TLSMemoryBIOProtocol ── write (ciphertext) ──► transport
///   application protocol ◄── data_received (plaintext) ── TLSMemoryBIOProtocol ◄── data_received
/// ```
///
/// Flow control is the TCP transport's: a producer registered here is paused while more than
/// [`HIGH_WATER`] bytes wait (plaintext held back during the handshake plus the lower
/// transport's buffer) and resumed below [`LOW_WATER`]; pausing this transport pauses reading
/// below. `lose_connection` sends `close_notify` once everything written has gone to rustls;
/// a `close_notify` from the peer is answered and ends the connection with `ConnectionDone`.
///
pub struct TLSMemoryBIOProtocol {
    me: Weak<TLSMemoryBIOProtocol>,
    conn: RefCell<Connection>,
    /// Named in errors: the server name on a client, the peer's address on a server.
    peer_name: RefCell<String>,
    app: RefCell<Option<Rc<dyn IProtocol>>>,
    lower: RefCell<Option<Rc<dyn ITransport>>>,
    state: Cell<State>,
    handshake_done: Cell<bool>,
    /// Plaintext written before the handshake finished (or not yet taken by rustls).
    pending: RefCell<BytesMut>,
    /// The TLS failure to report when the connection is gone.
    failure: RefCell<Option<Failure>>,
    received_close_notify: Cell<bool>,
    sent_close_notify: Cell<bool>,
    aborted: Cell<bool>,
    producer: ProducerSlot,
    /// Where to stamp the end of the handshake, if anywhere.
    timings: RefCell<Option<Rc<ConnectTimings>>>,
}

impl TLSMemoryBIOProtocol {
    /// The client side of TLS for `protocol`, with a connection from `creator`.
    pub fn client(
        creator: &dyn ITLSClientConnectionCreator,
        protocol: Rc<dyn IProtocol>,
    ) -> Result<Rc<TLSMemoryBIOProtocol>, TLSError> {
        let conn = creator.client_connection_for_tls()?;
        Ok(TLSMemoryBIOProtocol::build(
            Connection::Client(conn),
            creator.hostname(),
            protocol,
        ))
    }

    /// The server side of TLS for `protocol`, with `config`.
    pub fn server(
        config: Arc<ServerConfig>,
        protocol: Rc<dyn IProtocol>,
    ) -> Result<Rc<TLSMemoryBIOProtocol>, TLSError> {
        let conn =
            ServerConnection::new(config).map_err(|e| TLSError::from_rustls("client", e, true))?;
        Ok(TLSMemoryBIOProtocol::build(
            Connection::Server(conn),
            "client",
            protocol,
        ))
    }

    fn build(
        conn: Connection,
        peer_name: &str,
        app: Rc<dyn IProtocol>,
    ) -> Rc<TLSMemoryBIOProtocol> {
        Rc::new_cyclic(|me| TLSMemoryBIOProtocol {
            me: me.clone(),
            conn: RefCell::new(conn),
            peer_name: RefCell::new(peer_name.to_owned()),
            app: RefCell::new(Some(app)),
            lower: RefCell::new(None),
            state: Cell::new(State::Unconnected),
            handshake_done: Cell::new(false),
            pending: RefCell::new(BytesMut::new()),
            failure: RefCell::new(None),
            received_close_notify: Cell::new(false),
            sent_close_notify: Cell::new(false),
            aborted: Cell::new(false),
            producer: ProducerSlot::default(),
            timings: RefCell::new(None),
        })
    }

    /// Stamp the end of the handshake in `timings` when it comes
    /// ([`ConnectTimings::mark_tls_established`]).
    pub fn stamp_handshake_in(&self, timings: Rc<ConnectTimings>) {
        *self.timings.borrow_mut() = Some(timings);
    }

    /// Whether the handshake has finished.
    pub fn handshake_done(&self) -> bool {
        self.handshake_done.get()
    }

    /// The ALPN protocol agreed in the handshake, if any.
    pub fn negotiated_protocol(&self) -> Option<Vec<u8>> {
        self.conn.borrow().alpn_protocol().map(<[u8]>::to_vec)
    }

    /// Whether the handshake was a full one or resumed a earlier session (`None` until it is
    /// done).
    pub fn handshake_kind(&self) -> Option<rustls::HandshakeKind> {
        self.conn.borrow().handshake_kind()
    }

    /// The TLS version agreed in the handshake.
    pub fn protocol_version(&self) -> Option<rustls::ProtocolVersion> {
        self.conn.borrow().protocol_version()
    }

    fn lower(&self) -> Option<Rc<dyn ITransport>> {
        self.lower.borrow().clone()
    }

    fn peer_name(&self) -> String {
        self.peer_name.borrow().clone()
    }

    /// Bytes written here and not yet sent: plaintext held back plus the buffer below.
    fn backlog(&self) -> usize {
        let below = self.lower().map_or(0, |l| l.write_buffer_len());
        self.pending.borrow().len() + below
    }

    /// Write ciphertext below (no borrow held: the transport may pause our producer).
    fn send_below(&self, out: &[u8]) {
        if out.is_empty() {
            return;
        }
        if let Some(lower) = self.lower() {
            lower.write(out);
        }
    }

    /// Send whatever rustls has queued (handshake messages, alerts, close_notify).
    fn flush_tls(&self) {
        let mut out = Vec::new();
        records::take_tls_output(&mut self.conn.borrow_mut(), &mut out);
        self.send_below(&out);
    }

    /// Encrypt held-back plaintext once the handshake allows it.
    fn flush_pending(&self) {
        if !self.handshake_done.get() {
            return;
        }
        let mut out = Vec::new();
        {
            let mut pending = self.pending.borrow_mut();
            if pending.is_empty() {
                return;
            }
            let mut conn = self.conn.borrow_mut();
            let taken = records::encrypt(&mut conn, &pending, &mut out);
            pending.advance(taken);
        }
        self.send_below(&out);
    }

    /// Feed one chunk of ciphertext to rustls; returns the plaintext it yields, or the error.
    fn decrypt(&self, data: &[u8]) -> Result<BytesMut, TLSError> {
        let peer_name = self.peer_name();
        let decrypted = records::decrypt(&mut self.conn.borrow_mut(), data, &peer_name)?;
        if decrypted.peer_closed {
            self.received_close_notify.set(true);
        }
        Ok(decrypted.plaintext)
    }

    /// A TLS error: send rustls' alert, remember the error, close below.
    fn fail(&self, error: TLSError) {
        log::debug!("{error}");
        self.flush_tls();
        *self.failure.borrow_mut() = Some(Failure::new(error));
        self.pending.borrow_mut().clear();
        self.close_below();
    }

    /// Tell the transport below to close once its buffer is sent.
    fn close_below(&self) {
        if matches!(self.state.get(), State::Closing | State::Closed) {
            return;
        }
        self.state.set(State::Closing);
        if let Some(lower) = self.lower() {
            lower.unregister_producer();
            lower.lose_connection();
        }
    }

    /// Send `close_notify` and close below, once everything asked for is written.
    fn try_finish_close(&self) {
        if self.state.get() != State::Disconnecting
            || !self.handshake_done.get()
            || !self.pending.borrow().is_empty()
            || self.producer.is_registered()
        {
            return;
        }
        self.send_close_notify();
        self.close_below();
    }

    fn send_close_notify(&self) {
        if self.sent_close_notify.replace(true) {
            return;
        }
        self.conn.borrow_mut().send_close_notify();
        self.flush_tls();
    }

    /// The transport below drained (our write-side producer was resumed).
    fn lower_drained(&self) {
        self.flush_pending();
        self.producer.after_drain(self.backlog(), LOW_WATER);
        self.try_finish_close();
    }

    fn handshake_finished(&self) {
        self.handshake_done.set(true);
        if let Some(timings) = self.timings.borrow_mut().take() {
            timings.mark_tls_established();
        }
        self.flush_pending();
        self.producer.after_drain(self.backlog(), LOW_WATER);
    }

    /// Register with the transport below to hear when its buffer fills and drains: as a pull
    /// producer while the producer registered here is one (so it is asked for more each time
    /// the buffer empties), as a push producer otherwise.
    fn register_write_side(&self, pull: bool) {
        let Some(lower) = self.lower() else { return };
        let write_side = Rc::new(WriteSide {
            tls: self.me.clone(),
        });
        lower.unregister_producer();
        lower.register_producer(if pull {
            Producer::Pull(write_side)
        } else {
            Producer::Push(write_side)
        });
    }

    fn is_writable(&self) -> bool {
        matches!(self.state.get(), State::Open | State::Unconnected)
    }

    fn write_plain(&self, data: &[u8]) {
        if !self.is_writable() || data.is_empty() {
            return;
        }
        let mut out = Vec::new();
        {
            let mut pending = self.pending.borrow_mut();
            if !self.handshake_done.get() || !pending.is_empty() {
                pending.extend_from_slice(data);
            } else {
                out.reserve(data.len() + data.len() / 64 + 64);
                let taken = records::encrypt(&mut self.conn.borrow_mut(), data, &mut out);
                pending.extend_from_slice(&data[taken..]);
            }
        }
        self.send_below(&out);
        self.producer.after_write(self.backlog(), HIGH_WATER);
    }
}

impl IProtocol for TLSMemoryBIOProtocol {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        if self.state.get() != State::Unconnected {
            log::error!("TLSMemoryBIOProtocol connected twice");
            return;
        }
        if !self.conn.borrow().is_handshaking() {
            self.handshake_done.set(true);
        }
        if let (Connection::Server(_), Some(peer)) = (&*self.conn.borrow(), transport.get_peer()) {
            *self.peer_name.borrow_mut() = format!("client {peer}");
        }
        *self.lower.borrow_mut() = Some(transport.clone());
        self.state.set(State::Open);
        self.register_write_side(false);
        self.flush_tls();
        let app = self.app.borrow().clone();
        let me = self.me.upgrade().expect("called through an Rc");
        if let Some(app) = app {
            app.make_connection(me);
        }
    }

    fn data_received(&self, data: Bytes) {
        if matches!(self.state.get(), State::Closed | State::Unconnected)
            || self.failure.borrow().is_some()
            || self.aborted.get()
        {
            return;
        }
        let plain = match self.decrypt(&data) {
            Ok(plain) => plain,
            Err(error) => {
                self.fail(error);
                return;
            }
        };
        let finished_now = !self.handshake_done.get() && !self.conn.borrow().is_handshaking();
        if finished_now {
            self.handshake_finished();
        }
        self.flush_tls();
        if !plain.is_empty() && !self.aborted.get() {
            let app = self.app.borrow().clone();
            if let Some(app) = app {
                app.data_received(plain.freeze());
            }
        }
        if finished_now {
            self.try_finish_close();
        }
        if self.received_close_notify.get() && !self.aborted.get() {
            // The peer is done: answer its close_notify and close (Twisted does the same).
            self.send_close_notify();
            self.close_below();
        }
    }

    fn connection_lost(&self, reason: Failure) {
        if self.state.replace(State::Closed) == State::Closed {
            return;
        }
        let stored = self.failure.borrow_mut().take();
        let reason = if let Some(failure) = stored {
            failure
        } else if self.aborted.get() {
            reason
        } else if !self.handshake_done.get() {
            Failure::new(TLSError::new(
                &self.peer_name(),
                TLSErrorKind::PeerClosedDuringHandshake,
                reason.to_string(),
            ))
        } else if self.received_close_notify.get() {
            // The TLS stream ended cleanly; how TCP went down after it (our answering
            // close_notify may meet a closed socket and a reset) does not matter.
            Failure::without_backtrace(ConnectionDone)
        } else if self.sent_close_notify.get() {
            reason
        } else if reason.check::<ConnectionDone>() {
            Failure::new(TLSError::new(
                &self.peer_name(),
                TLSErrorKind::Truncated,
                "",
            ))
        } else {
            reason
        };
        self.lower.borrow_mut().take();
        self.pending.borrow_mut().clear();
        self.producer.stop();
        let app = self.app.borrow_mut().take();
        if let Some(app) = app {
            app.connection_lost(reason);
        }
    }
}

impl IConsumer for TLSMemoryBIOProtocol {
    fn register_producer(&self, producer: Producer) {
        let closed = matches!(self.state.get(), State::Closing | State::Closed);
        let pull = matches!(producer, Producer::Pull(_));
        if self.producer.register(producer, closed) {
            self.producer.after_write(self.backlog(), HIGH_WATER);
            if pull {
                // The transport below asks the write side at once, which asks the producer.
                self.register_write_side(true);
            }
        }
    }

    fn unregister_producer(&self) {
        let was_pull = self.producer.is_pull();
        self.producer.unregister();
        if was_pull && !matches!(self.state.get(), State::Closing | State::Closed) {
            self.register_write_side(false);
        }
        self.try_finish_close();
    }

    fn write(&self, data: &[u8]) {
        self.write_plain(data);
    }
}

impl IProducer for TLSMemoryBIOProtocol {
    fn stop_producing(&self) {
        self.lose_connection();
    }
}

impl IPushProducer for TLSMemoryBIOProtocol {
    fn pause_producing(&self) {
        if let Some(lower) = self.lower() {
            lower.pause_producing();
        }
    }

    fn resume_producing(&self) {
        if let Some(lower) = self.lower() {
            lower.resume_producing();
        }
    }
}

impl ITransport for TLSMemoryBIOProtocol {
    fn write_sequence(&self, data: &[&[u8]]) {
        for piece in data {
            self.write_plain(piece);
        }
    }

    fn lose_connection(&self) {
        if self.is_writable() {
            self.state.set(State::Disconnecting);
            self.try_finish_close();
        }
    }

    fn abort_connection(&self) {
        if matches!(self.state.get(), State::Closed) || self.aborted.replace(true) {
            return;
        }
        self.pending.borrow_mut().clear();
        self.state.set(State::Closing);
        if let Some(lower) = self.lower() {
            lower.abort_connection();
        }
    }

    fn get_peer(&self) -> Option<SocketAddr> {
        self.lower().and_then(|l| l.get_peer())
    }

    fn get_host(&self) -> Option<SocketAddr> {
        self.lower().and_then(|l| l.get_host())
    }

    fn write_buffer_len(&self) -> usize {
        self.backlog()
    }
}

impl fmt::Debug for TLSMemoryBIOProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<TLSMemoryBIOProtocol {} {:?}>",
            self.peer_name.borrow(),
            self.state.get()
        )
    }
}

/// Registered with the transport below as a push producer, so the TLS layer hears when that
/// transport's buffer is full or drained and passes it on to its own producer.
struct WriteSide {
    tls: Weak<TLSMemoryBIOProtocol>,
}

impl IProducer for WriteSide {
    fn stop_producing(&self) {}
}

impl IPullProducer for WriteSide {
    fn resume_producing(&self) {
        if let Some(tls) = self.tls.upgrade() {
            tls.lower_drained();
        }
    }
}

impl IPushProducer for WriteSide {
    fn pause_producing(&self) {
        if let Some(tls) = self.tls.upgrade() {
            tls.producer
                .after_write(tls.backlog().max(HIGH_WATER + 1), HIGH_WATER);
        }
    }

    fn resume_producing(&self) {
        if let Some(tls) = self.tls.upgrade() {
            tls.lower_drained();
        }
    }
}
