//! A response body read once from the connection and replayed to any number of readers.

use crate::web::body_transport::{BodyFlow, BodyTransport};
use crate::web::response::{BodyAlreadyDelivered, Response as AgentResponse};
use bytes::Bytes;
use reactor::defer::Failure;
use reactor::interfaces::{IProtocol, ITransport};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// The body of a buffered response: the first reader starts the download; every reader gets
/// every chunk from the start, then the end.
pub(crate) struct BufferedBody {
    original: AgentResponse,
    started: Cell<bool>,
    chunks: RefCell<Vec<Bytes>>,
    end: RefCell<Option<Failure>>,
    readers: RefCell<Vec<Rc<Reader>>>,
    transport: RefCell<Option<Rc<dyn ITransport>>>,
}

impl BufferedBody {
    pub(crate) fn new(original: AgentResponse) -> Rc<BufferedBody> {
        Rc::new(BufferedBody {
            original,
            started: Cell::new(false),
            chunks: RefCell::default(),
            end: RefCell::default(),
            readers: RefCell::default(),
            transport: RefCell::default(),
        })
    }

    /// Add a reader: it gets what has arrived so far at once, then the rest as it comes.
    pub(crate) fn deliver(self: &Rc<Self>, protocol: Rc<dyn IProtocol>) {
        let reader = Rc::new(Reader {
            protocol,
            body: Rc::downgrade(self),
            detached: Cell::new(false),
        });
        reader
            .protocol
            .make_connection(Rc::new(BodyTransport(ReaderFlow(reader.clone()))));
        // Replay by index: a reader's callback may add chunks (by driving the reactor) or
        // detach itself while we replay.
        let mut index = 0;
        loop {
            if reader.detached.get() {
                return;
            }
            let chunk = self.chunks.borrow().get(index).cloned();
            match chunk {
                Some(chunk) => {
                    reader.protocol.data_received(chunk);
                    index += 1;
                }
                None => break,
            }
        }
        let end = self.end.borrow().clone();
        match end {
            Some(reason) => {
                reader.detached.set(true);
                reader.protocol.connection_lost(reason);
            }
            None => {
                self.readers.borrow_mut().push(reader);
                self.start();
            }
        }
    }

    fn start(self: &Rc<Self>) {
        if self.started.replace(true) {
            return;
        }
        let sink = Rc::new(Sink { body: self.clone() });
        if let Err(BodyAlreadyDelivered) = self.original.deliver_body(sink) {
            self.finish(Failure::new(BodyAlreadyDelivered));
        }
    }

    fn live_readers(&self) -> Vec<Rc<Reader>> {
        self.readers
            .borrow()
            .iter()
            .filter(|r| !r.detached.get())
            .cloned()
            .collect()
    }

    fn data(&self, chunk: Bytes) {
        self.chunks.borrow_mut().push(chunk.clone());
        for reader in self.live_readers() {
            if !reader.detached.get() {
                reader.protocol.data_received(chunk.clone());
            }
        }
    }

    fn finish(&self, reason: Failure) {
        self.transport.borrow_mut().take();
        *self.end.borrow_mut() = Some(reason.clone());
        let readers = std::mem::take(&mut *self.readers.borrow_mut());
        for reader in readers {
            if !reader.detached.replace(true) {
                reader.protocol.connection_lost(reason.clone());
            }
        }
    }

    /// A reader stopped: when none is left and the body is still arriving, stop the download
    /// (nobody wants the rest, and a half-read connection must not go back to the pool).
    fn reader_stopped(&self) {
        self.readers.borrow_mut().retain(|r| !r.detached.get());
        if self.readers.borrow().is_empty() {
            let transport = self.transport.borrow_mut().take();
            if let Some(t) = transport {
                t.stop_producing();
            }
        }
    }
}

/// The protocol that receives the real body.
struct Sink {
    body: Rc<BufferedBody>,
}

impl IProtocol for Sink {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        *self.body.transport.borrow_mut() = Some(transport);
    }
    fn data_received(&self, data: Bytes) {
        self.body.data(data);
    }
    fn connection_lost(&self, reason: Failure) {
        self.body.finish(reason);
    }
}

/// One reader of a buffered body.
struct Reader {
    protocol: Rc<dyn IProtocol>,
    body: std::rc::Weak<BufferedBody>,
    detached: Cell<bool>,
}

/// What a reader's transport does: the whole body is read into memory whatever the readers do,
/// so pausing does nothing; stopping detaches the reader.
struct ReaderFlow(Rc<Reader>);

impl BodyFlow for ReaderFlow {
    fn pause(&self) {}
    fn resume(&self) {}
    fn stop(&self) {
        if !self.0.detached.replace(true) {
            if let Some(body) = self.0.body.upgrade() {
                body.reader_stopped();
            }
        }
    }
}
