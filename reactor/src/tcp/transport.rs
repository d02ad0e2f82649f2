//! The stream transport: one connected socket (TCP, or a Unix-domain stream), its buffers,
//! and producer/consumer flow control.

use super::read_policy::{next_read_size, FIRST_READ_SIZE, MAX_READ_SIZE};
use super::socket_stream::SocketStream;
use super::spare_read::recv_into_spare;
use crate::defer::Failure;
use crate::error::{ConnectionAborted, ConnectionDone, ConnectionLost};
use crate::interfaces::{
    IConnection, IConsumer, IProducer, IProtocol, IPushProducer, ITransport, Producer,
};
use crate::producer_slot::ProducerSlot;
use crate::reactor::{Reactor, Readiness};
use bytes::{Buf, Bytes, BytesMut};
use mio::event::Event;
use mio::net::TcpStream;
use mio::{Interest, Token};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::rc::{Rc, Weak};

/// A connected TCP socket (Twisted's `tcp.Connection`/`Client`/`Server`).
pub type TcpTransport = StreamTransport<TcpStream>;

/// A connected Unix-domain stream socket (Twisted's `unix.Client`).
#[cfg(unix)]
pub type UnixTransport = StreamTransport<mio::net::UnixStream>;

/// Slices per vectored write.
const MAX_IOV: usize = 16;
/// Reads per readiness event before yielding to the rest of the loop.
const MAX_READS_PER_TURN: usize = 32;
/// A streaming producer is paused when this much is waiting to be sent...
pub const HIGH_WATER: usize = 64 * 1024;
/// ...and resumed when the backlog drains below this.
pub const LOW_WATER: usize = 16 * 1024;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    /// Connected; no protocol attached yet (reads wait).
    Unattached,
    Open,
    /// `lose_connection` was called: close once the write buffer is empty.
    Disconnecting,
    Closed,
}

/// What one `recv` gave.
enum ReadOutcome {
    /// Bytes, and whether the socket was drained by this read.
    Data(Bytes, bool),
    WouldBlock,
    Interrupted,
    /// End of file or an error: the connection is over.
    Ended(Failure),
}

/// A connected stream socket and its buffers: [`TcpTransport`] or `UnixTransport`.
pub struct StreamTransport<S> {
    reactor: Reactor,
    me: Weak<StreamTransport<S>>,
    stream: RefCell<Option<S>>,
    token: Cell<Option<Token>>,
    protocol: RefCell<Option<Rc<dyn IProtocol>>>,
    state: Cell<State>,
    read_buf: RefCell<BytesMut>,
    /// The size the read buffer is renewed at: [`FIRST_READ_SIZE`] growing to
    /// [`MAX_READ_SIZE`] (see [`next_read_size`]).
    read_size: Cell<usize>,
    /// Full reads in a row at [`BURST_READ_SIZE`](super::read_policy::BURST_READ_SIZE).
    full_reads: Cell<u8>,
    /// The socket was tuned for a streamed upload (once per connection).
    upload_tuned: Cell<bool>,
    write_buf: RefCell<BytesMut>,
    reading_paused: Cell<bool>,
    /// Readiness arrived (or may have) while reads were paused or not yet attached.
    read_pending: Cell<bool>,
    read_scheduled: Cell<bool>,
    /// A whole message went out and nothing was read since: the reactor may spin for the
    /// reply (see `reactor/busy_poll.rs`).
    awaiting_reply: Cell<bool>,
    producer: ProducerSlot,
    peer: Option<SocketAddr>,
    /// Our own address, looked up on the first [`get_host`](ITransport::get_host) (a
    /// `getsockname` per connection that nobody asks for is not made).
    host: Cell<Option<Option<SocketAddr>>>,
}

impl<S: SocketStream> StreamTransport<S> {
    /// Wrap a connected socket (from `peer`, when known) and register it with the reactor. No
    /// protocol yet: see [`attach_protocol`](IConnection::attach_protocol).
    pub(crate) fn new(
        reactor: &Reactor,
        mut stream: S,
        peer: Option<SocketAddr>,
    ) -> io::Result<Rc<StreamTransport<S>>> {
        let transport = StreamTransport::build(reactor, &stream, peer);
        let handler: Rc<dyn Readiness> = transport.clone();
        let token = reactor.register(
            &mut stream,
            Interest::READABLE | Interest::WRITABLE,
            handler,
        )?;
        transport.token.set(Some(token));
        *transport.stream.borrow_mut() = Some(stream);
        Ok(transport)
    }

    /// Take over a socket (connected to `peer`, when known) already registered
    /// (READABLE | WRITABLE) under `token`. `maybe_readable`: the events the previous handler
    /// took may have reported bytes to read (readiness is edge-triggered, so no new event
    /// comes for them); otherwise the first read waits for an event, saving a `read` that
    /// would only say `WouldBlock`.
    pub(crate) fn from_registered(
        reactor: &Reactor,
        stream: S,
        token: Token,
        peer: Option<SocketAddr>,
        maybe_readable: bool,
    ) -> Option<Rc<StreamTransport<S>>> {
        let transport = StreamTransport::build(reactor, &stream, peer);
        transport.read_pending.set(maybe_readable);
        let handler: Rc<dyn Readiness> = transport.clone();
        if !reactor.replace_handler(token, handler) {
            return None;
        }
        transport.token.set(Some(token));
        *transport.stream.borrow_mut() = Some(stream);
        Some(transport)
    }

    fn build(reactor: &Reactor, stream: &S, peer: Option<SocketAddr>) -> Rc<StreamTransport<S>> {
        stream.configure();
        let peer = stream.peer_address(peer);
        Rc::new_cyclic(|me| StreamTransport {
            reactor: reactor.clone(),
            me: me.clone(),
            stream: RefCell::new(None),
            token: Cell::new(None),
            protocol: RefCell::new(None),
            state: Cell::new(State::Unattached),
            read_buf: RefCell::new(BytesMut::new()),
            read_size: Cell::new(FIRST_READ_SIZE),
            full_reads: Cell::new(0),
            upload_tuned: Cell::new(false),
            write_buf: RefCell::new(BytesMut::new()),
            reading_paused: Cell::new(false),
            read_pending: Cell::new(true),
            read_scheduled: Cell::new(false),
            awaiting_reply: Cell::new(false),
            producer: ProducerSlot::default(),
            peer,
            host: Cell::new(None),
        })
    }

    fn attach(self: Rc<Self>, protocol: Rc<dyn IProtocol>) {
        if self.state.get() != State::Unattached {
            log::error!("attach_protocol on a transport that already has a protocol");
            return;
        }
        *self.protocol.borrow_mut() = Some(protocol.clone());
        self.state.set(State::Open);
        protocol.make_connection(self.clone());
        if self.read_pending.get() {
            self.schedule_read();
        }
    }

    /// Record whether a whole message went out with nothing read since, for the reactor's
    /// busy polling.
    fn set_awaiting_reply(&self, now: bool) {
        if self.awaiting_reply.replace(now) != now {
            self.reactor.awaiting_reply_changed(now);
        }
    }

    /// Whether a read waits for the next turn of the loop (for the connect tests).
    #[cfg(test)]
    pub(crate) fn read_scheduled_for_test(&self) -> bool {
        self.read_scheduled.get()
    }

    fn is_closed(&self) -> bool {
        self.state.get() == State::Closed
    }

    /// Read on a later turn of the loop (after a resume, or to yield after many reads): readiness
    /// is edge-triggered, so no new event may come for bytes already waiting.
    fn schedule_read(&self) {
        if self.read_scheduled.replace(true) {
            return;
        }
        let me = self.me.clone();
        self.reactor.call_soon(move || {
            if let Some(me) = me.upgrade() {
                me.read_scheduled.set(false);
                me.do_read(false);
            }
        });
    }

    /// Read what the socket holds and hand it to the protocol.
    ///
    /// With `stop_at_short_read`, a read that returns less than the room offered ends the turn
    /// without the extra `read` that would only say `WouldBlock`: the socket was drained at
    /// that moment, and bytes arriving later raise a new edge-triggered event. It is only set
    /// for an event that did not report the peer closing (that report may not come again, so
    /// then the socket is read until it says `WouldBlock` or end of file).
    ///
    /// Once [`lose_connection`](ITransport::lose_connection) was called nothing more is read
    /// (Twisted stops reading there too): the connection closes when what is queued has been
    /// written, so a response that ends a `Connection: close` exchange costs no `read` for the
    /// end of file that follows it.
    fn do_read(&self, stop_at_short_read: bool) {
        if self.reading_paused.get() || self.state.get() == State::Unattached {
            self.read_pending.set(true);
            return;
        }
        self.read_pending.set(false);
        for _ in 0..MAX_READS_PER_TURN {
            if self.state.get() != State::Open {
                return;
            }
            if self.reading_paused.get() {
                // Paused from inside data_received: more may be waiting.
                self.read_pending.set(true);
                return;
            }
            let (data, drained) = match self.read_once(stop_at_short_read) {
                ReadOutcome::Data(data, drained) => (data, drained),
                ReadOutcome::WouldBlock => return,
                ReadOutcome::Interrupted => continue,
                ReadOutcome::Ended(reason) => {
                    self.connection_closed(reason);
                    return;
                }
            };
            self.deliver(data);
            if drained {
                return;
            }
        }
        // Still readable after a full turn's worth: let others run, then go on.
        self.schedule_read();
    }

    /// One `recv` into the read buffer. `Data` carries the bytes and whether the socket was
    /// drained (`stop_at_short_read`, see [`do_read`](Self::do_read)).
    fn read_once(&self, stop_at_short_read: bool) -> ReadOutcome {
        let mut buf = self.read_buf.borrow_mut();
        // Each read lands in the buffer's spare capacity and is split off, so the buffer stays
        // empty between reads. A new allocation only when little room is left (an eighth of
        // the read size); `reserve` takes the old one back when every chunk split off it has
        // been dropped.
        let size = self.read_size.get();
        if buf.capacity() - buf.len() < size / 8 {
            buf.reserve(size);
        }
        let room = (buf.capacity() - buf.len()).min(size);
        let result = match self.stream.borrow().as_ref() {
            Some(stream) => recv_into_spare(stream, &mut buf, size),
            None => return ReadOutcome::WouldBlock,
        };
        match result {
            Ok(0) => ReadOutcome::Ended(Failure::without_backtrace(ConnectionDone)),
            Ok(n) => {
                self.set_awaiting_reply(false);
                // After a full read more is coming: read it in larger pieces.
                let mut full_reads = self.full_reads.get();
                let next = next_read_size(size, n == room, &mut full_reads);
                self.read_size.set(next);
                self.full_reads.set(full_reads);
                if next == MAX_READ_SIZE && size < MAX_READ_SIZE {
                    self.tune(S::tune_for_download);
                }
                ReadOutcome::Data(buf.split_to(n).freeze(), stop_at_short_read && n < room)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => ReadOutcome::WouldBlock,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => ReadOutcome::Interrupted,
            Err(error) => ReadOutcome::Ended(Failure::new(ConnectionLost { error })),
        }
    }

    fn deliver(&self, data: Bytes) {
        let protocol = self.protocol.borrow().clone();
        if let Some(protocol) = protocol {
            protocol.data_received(data);
        }
    }

    /// A write failed with `error` (the peer reset or closed): first hand the protocol what
    /// the peer sent before that, then close. A server that answers early (a 413 to an upload
    /// too large) and closes makes our next write fail while its answer waits in our receive
    /// buffer; Linux keeps those bytes readable after the reset.
    fn write_failed(&self, error: io::Error) {
        if self.state.get() != State::Unattached {
            for _ in 0..MAX_READS_PER_TURN {
                if self.is_closed() || self.reading_paused.get() {
                    break;
                }
                match self.read_once(false) {
                    ReadOutcome::Data(data, _) => self.deliver(data),
                    ReadOutcome::Interrupted => continue,
                    ReadOutcome::WouldBlock | ReadOutcome::Ended(_) => break,
                }
            }
        }
        self.connection_closed(Failure::new(ConnectionLost { error }));
    }

    /// Tune the socket for a bulk transfer (a failure only means it stays as it was).
    fn tune(&self, tuning: fn(&S) -> io::Result<()>) {
        if let Some(stream) = self.stream.borrow().as_ref() {
            if let Err(error) = tuning(stream) {
                log::debug!("{}: socket buffer left as it was: {error}", S::NAME);
            }
        }
    }

    /// Send what the buffer holds; returns an error if the socket failed.
    fn flush(&self) -> io::Result<()> {
        let mut buf = self.write_buf.borrow_mut();
        let mut stream = self.stream.borrow_mut();
        let Some(stream) = stream.as_mut() else {
            return Ok(());
        };
        while !buf.is_empty() {
            match stream.write(&buf[..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => buf.advance(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn do_write(&self) {
        if self.is_closed() {
            return;
        }
        if let Err(error) = self.flush() {
            self.write_failed(error);
            return;
        }
        self.after_write();
    }

    /// Flow control and deferred closing once bytes have left the buffer.
    fn after_write(&self) {
        let backlog = self.write_buf.borrow().len();
        self.set_awaiting_reply(backlog == 0);
        if backlog == 0
            && self.state.get() == State::Disconnecting
            && !self.producer.is_registered()
        {
            self.connection_closed(Failure::without_backtrace(ConnectionDone));
            return;
        }
        self.producer.after_drain(backlog, LOW_WATER);
    }

    /// Write now if nothing is queued; queue the rest.
    fn write_slices(&self, slices: &[&[u8]]) {
        let state = self.state.get();
        if state == State::Closed || state == State::Disconnecting {
            return;
        }
        let queued = !self.write_buf.borrow().is_empty();
        let mut skip = 0usize;
        if !queued {
            // Up to MAX_IOV slices go out in one writev without allocating; the rest is queued.
            let mut io = [IoSlice::new(&[]); MAX_IOV];
            let n = slices.len().min(MAX_IOV);
            for (slot, s) in io.iter_mut().zip(slices) {
                *slot = IoSlice::new(s);
            }
            let result = match self.stream.borrow_mut().as_mut() {
                Some(stream) if n == 1 => stream.write(slices[0]),
                Some(stream) => stream.write_vectored(&io[..n]),
                None => return,
            };
            match result {
                Ok(n) => skip = n,
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    // Reported on a later turn: the caller is in the middle of its own code.
                    let me = self.me.clone();
                    self.reactor.call_soon(move || {
                        if let Some(me) = me.upgrade() {
                            me.write_failed(error);
                        }
                    });
                    self.state.set(State::Disconnecting);
                    return;
                }
            }
        }
        {
            let mut buf = self.write_buf.borrow_mut();
            for s in slices {
                if skip >= s.len() {
                    skip -= s.len();
                    continue;
                }
                buf.extend_from_slice(&s[skip..]);
                skip = 0;
            }
        }
        let backlog = self.write_buf.borrow().len();
        self.set_awaiting_reply(backlog == 0);
        if backlog > 0 && self.producer.is_registered() && !self.upload_tuned.replace(true) {
            // A producer writes faster than the socket sends: a streamed upload.
            self.tune(S::tune_for_upload);
        }
        self.producer.after_write(backlog, HIGH_WATER);
    }

    /// Tear down at once and tell the protocol (Twisted's `connectionLost`).
    fn connection_closed(&self, reason: Failure) {
        if self.is_closed() {
            return;
        }
        self.state.set(State::Closed);
        self.set_awaiting_reply(false);
        if let (Some(stream), Some(token)) = (self.stream.borrow_mut().take(), self.token.take()) {
            // Closing the socket takes it out of epoll: no epoll_ctl to deregister it first.
            self.reactor.forget(token);
            drop(stream);
        }
        self.write_buf.borrow_mut().clear();
        *self.read_buf.borrow_mut() = BytesMut::new();
        self.producer.stop();
        let protocol = self.protocol.borrow_mut().take();
        if let Some(protocol) = protocol {
            protocol.connection_lost(reason);
        }
    }

    /// Close on a later turn with `reason` (for calls made from inside protocol code).
    fn close_later(&self, reason: Failure) {
        let me = self.me.clone();
        self.reactor.call_soon(move || {
            if let Some(me) = me.upgrade() {
                me.connection_closed(reason);
            }
        });
    }
}

impl<S: SocketStream> Readiness for StreamTransport<S> {
    fn ready(self: Rc<Self>, event: &Event) {
        if event.is_writable() && !self.write_buf.borrow().is_empty() {
            self.do_write();
        }
        let closing = event.is_read_closed() || event.is_error();
        if event.is_readable() || closing {
            self.do_read(!closing);
        }
    }
}

impl<S: SocketStream> IConsumer for StreamTransport<S> {
    fn register_producer(&self, producer: Producer) {
        if self.producer.register(producer, self.is_closed()) {
            let backlog = self.write_buf.borrow().len();
            self.producer.after_write(backlog, HIGH_WATER);
            self.producer.start_pull();
        }
    }

    fn unregister_producer(&self) {
        self.producer.unregister();
        if self.state.get() == State::Disconnecting && self.write_buf.borrow().is_empty() {
            self.close_later(Failure::without_backtrace(ConnectionDone));
        }
    }

    fn write(&self, data: &[u8]) {
        if !data.is_empty() {
            self.write_slices(&[data]);
        }
    }
}

impl<S: SocketStream> IProducer for StreamTransport<S> {
    fn stop_producing(&self) {
        self.lose_connection();
    }
}

impl<S: SocketStream> IPushProducer for StreamTransport<S> {
    fn pause_producing(&self) {
        self.reading_paused.set(true);
    }

    fn resume_producing(&self) {
        if self.reading_paused.replace(false) && self.read_pending.get() {
            self.schedule_read();
        }
    }
}

impl<S: SocketStream> ITransport for StreamTransport<S> {
    fn write_sequence(&self, data: &[&[u8]]) {
        self.write_slices(data);
    }

    fn lose_connection(&self) {
        match self.state.get() {
            State::Open | State::Unattached => {
                self.state.set(State::Disconnecting);
                if self.write_buf.borrow().is_empty() && !self.producer.is_registered() {
                    self.close_later(Failure::without_backtrace(ConnectionDone));
                }
            }
            State::Disconnecting | State::Closed => {}
        }
    }

    fn abort_connection(&self) {
        if self.is_closed() {
            return;
        }
        if let Some(stream) = self.stream.borrow().as_ref() {
            stream.prepare_abort();
        }
        self.write_buf.borrow_mut().clear();
        // No more reads are delivered from here on.
        self.reading_paused.set(true);
        self.state.set(State::Disconnecting);
        self.close_later(Failure::new(ConnectionAborted));
    }

    fn get_peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    fn get_host(&self) -> Option<SocketAddr> {
        if let Some(host) = self.host.get() {
            return host;
        }
        // Once the socket is closed there is nothing to ask (and nothing is remembered).
        let host = self.stream.borrow().as_ref()?.local_address();
        self.host.set(Some(host));
        host
    }

    fn write_buffer_len(&self) -> usize {
        self.write_buf.borrow().len()
    }
}

impl<S: SocketStream> IConnection for StreamTransport<S> {
    fn attach_protocol(self: Rc<Self>, protocol: Rc<dyn IProtocol>) {
        self.attach(protocol);
    }
}

impl<S> Drop for StreamTransport<S> {
    fn drop(&mut self) {
        // A transport dropped without closing (its socket is closed with it) awaits nothing.
        if self.awaiting_reply.get() {
            self.reactor.awaiting_reply_changed(false);
        }
    }
}

impl<S: SocketStream> fmt::Debug for StreamTransport<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<{} {:?} -> {:?} {:?}>",
            S::NAME,
            self.host.get().flatten(),
            self.peer,
            self.state.get()
        )
    }
}

#[cfg(all(test, target_os = "linux"))]
#[path = "transport_tests.rs"]
mod tests;
