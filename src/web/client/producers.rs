//! Request body producers: [`FileBodyProducer`] (Twisted's) and [`BytesBodyProducer`] for a
//! body already in memory.

use crate::web::iweb::IBodyProducer;
use bytes::Bytes;
use reactor::defer::{Deferred, Failure};
use reactor::interfaces::{IConsumer, IReactorTime};
use reactor::{DelayedCall, Reactor};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::io::{Read, Seek, SeekFrom};
use std::rc::{Rc, Weak};

/// A body already in memory. The client writes it together with the request head, in one
/// write.
#[derive(Clone)]
pub struct BytesBodyProducer {
    body: Bytes,
}

impl BytesBodyProducer {
    /// A producer for `body`.
    pub fn new(body: impl Into<Bytes>) -> BytesBodyProducer {
        BytesBodyProducer { body: body.into() }
    }
}

impl IBodyProducer for BytesBodyProducer {
    fn length(&self) -> Option<u64> {
        Some(self.body.len() as u64)
    }
    fn start_producing(&self, consumer: Rc<dyn IConsumer>) -> Deferred<()> {
        consumer.write(&self.body);
        Deferred::succeed(())
    }
    fn pause_producing(&self) {}
    fn resume_producing(&self) {}
    fn stop_producing(&self) {}
    fn immediate_body(&self) -> Option<Bytes> {
        Some(self.body.clone())
    }
}

impl fmt::Debug for BytesBodyProducer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BytesBodyProducer")
            .field("length", &self.body.len())
            .finish()
    }
}

/// The default number of bytes read per slice (Twisted's `FileBodyProducer` default).
pub const DEFAULT_READ_SIZE: usize = 65536;

struct FileState {
    me: Weak<FileState>,
    clock: Rc<dyn IReactorTime>,
    reader: RefCell<Option<Box<dyn Read>>>,
    read_size: Cell<usize>,
    consumer: RefCell<Option<Rc<dyn IConsumer>>>,
    done: RefCell<Option<Deferred<()>>>,
    scheduled: RefCell<Option<DelayedCall>>,
    paused: Cell<bool>,
    stopped: Cell<bool>,
}

impl FileState {
    fn schedule(&self) {
        if self.paused.get() || self.stopped.get() || self.scheduled.borrow().is_some() {
            return;
        }
        let me = self.me.clone();
        let call = self.clock.call_later(
            0.0,
            Box::new(move || {
                if let Some(me) = me.upgrade() {
                    me.scheduled.borrow_mut().take();
                    me.step();
                }
            }),
        );
        *self.scheduled.borrow_mut() = Some(call);
    }

    fn unschedule(&self) {
        if let Some(call) = self.scheduled.borrow_mut().take() {
            let _ = call.cancel();
        }
    }

    /// Read one slice and write it; finish at the end of the file.
    fn step(&self) {
        if self.paused.get() || self.stopped.get() {
            return;
        }
        let mut buf = vec![0u8; self.read_size.get()];
        let read = {
            let mut reader = self.reader.borrow_mut();
            match reader.as_mut() {
                Some(r) => r.read(&mut buf),
                None => return,
            }
        };
        match read {
            Ok(0) => self.finish(Ok(())),
            Ok(n) => {
                buf.truncate(n);
                let consumer = self.consumer.borrow().clone();
                if let Some(c) = consumer {
                    c.write(&buf);
                }
                self.schedule();
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => self.schedule(),
            Err(e) => self.finish(Err(Failure::new(e))),
        }
    }

    fn finish(&self, result: Result<(), Failure>) {
        self.reader.borrow_mut().take();
        self.consumer.borrow_mut().take();
        let done = self.done.borrow_mut().take();
        if let Some(d) = done {
            let _ = d.fire(result);
        }
    }
}

/// A body read from a file or any reader (Twisted's `FileBodyProducer`).
///
/// It reads one slice of [`read_size`](Self::read_size) bytes per reactor turn, so a large
/// file never blocks the loop, stops reading while paused, and drops the reader when done or
/// stopped. The length comes from `Seek` (from the current position to the end) with
/// [`new`](Self::new); [`from_reader`](Self::from_reader) makes a producer of unknown length
/// (sent chunked).
pub struct FileBodyProducer {
    state: Rc<FileState>,
    length: Option<u64>,
}

impl FileBodyProducer {
    /// A producer for `reader`, whose length is measured with `Seek`, scheduled on `reactor`.
    pub fn new<R: Read + Seek + 'static>(
        reactor: &Reactor,
        reader: R,
    ) -> std::io::Result<FileBodyProducer> {
        FileBodyProducer::with_clock(Rc::new(reactor.clone()), reader)
    }

    /// As [`new`](Self::new), scheduled on `clock` (a [`Clock`](reactor::task::Clock) in tests).
    pub fn with_clock<R: Read + Seek + 'static>(
        clock: Rc<dyn IReactorTime>,
        mut reader: R,
    ) -> std::io::Result<FileBodyProducer> {
        let start = reader.stream_position()?;
        let end = reader.seek(SeekFrom::End(0))?;
        reader.seek(SeekFrom::Start(start))?;
        let mut producer = FileBodyProducer::from_reader(clock, reader);
        producer.length = Some(end.saturating_sub(start));
        Ok(producer)
    }

    /// A producer of unknown length for any reader.
    pub fn from_reader<R: Read + 'static>(
        clock: Rc<dyn IReactorTime>,
        reader: R,
    ) -> FileBodyProducer {
        FileBodyProducer {
            state: Rc::new_cyclic(|me| FileState {
                me: me.clone(),
                clock,
                reader: RefCell::new(Some(Box::new(reader))),
                read_size: Cell::new(DEFAULT_READ_SIZE),
                consumer: RefCell::new(None),
                done: RefCell::new(None),
                scheduled: RefCell::new(None),
                paused: Cell::new(false),
                stopped: Cell::new(false),
            }),
            length: None,
        }
    }

    /// Read `n` bytes per slice (Twisted's `readSize`, default 65536).
    pub fn read_size(self, n: usize) -> FileBodyProducer {
        self.state.read_size.set(n.max(1));
        self
    }

    /// Whether the reader has been dropped (the body was read, or producing stopped).
    pub fn is_closed(&self) -> bool {
        self.state.reader.borrow().is_none()
    }
}

impl IBodyProducer for FileBodyProducer {
    fn length(&self) -> Option<u64> {
        self.length
    }

    fn start_producing(&self, consumer: Rc<dyn IConsumer>) -> Deferred<()> {
        let d = Deferred::new();
        *self.state.consumer.borrow_mut() = Some(consumer);
        *self.state.done.borrow_mut() = Some(d.clone());
        self.state.schedule();
        d
    }

    fn pause_producing(&self) {
        self.state.paused.set(true);
        self.state.unschedule();
    }

    fn resume_producing(&self) {
        self.state.paused.set(false);
        self.state.schedule();
    }

    /// Stop for good: the reader is dropped and the Deferred never fires.
    fn stop_producing(&self) {
        self.state.stopped.set(true);
        self.state.unschedule();
        self.state.reader.borrow_mut().take();
        self.state.consumer.borrow_mut().take();
        self.state.done.borrow_mut().take();
    }
}

impl fmt::Debug for FileBodyProducer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileBodyProducer")
            .field("length", &self.length)
            .field("read_size", &self.state.read_size.get())
            .finish_non_exhaustive()
    }
}
