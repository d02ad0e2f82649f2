//! `multipart/form-data` request bodies (treq's `treq.multipart`): [`MultiPartProducer`].
//!
//! The body is produced part by part: text fields are written at once, file parts are
//! streamed from their own [`IBodyProducer`] (so a large file is never held in memory), and
//! pausing the producer pauses whichever part is streaming. The total
//! [`length`](IBodyProducer::length) is known when every file part's length is known;
//! otherwise it is [`UNKNOWN_LENGTH`](crate::web::iweb::UNKNOWN_LENGTH) and the request goes
//! out chunked.
//!
//! Layout, as treq writes it (text fields first, then files, each group sorted by name):
//!
//! ```text
//! --BOUNDARY\r\n
//! Content-Disposition: form-data; name="field"\r\n
//! \r\n
//! value\r\n
//! --BOUNDARY\r\n
//! Content-Disposition: form-data; name="file"; filename="a.txt"\r\n
//! Content-Type: text/plain\r\n
//! Content-Length: 5\r\n
//! \r\n
//! hello\r\n
//! --BOUNDARY--\r\n
//! ```
//!
//! ```
//! use std::rc::Rc;
//! use treq::multipart::{MultiPartField, MultiPartProducer};
//! use treq::web::client::BytesBodyProducer;
//! use treq::web::iweb::IBodyProducer;
//!
//! let producer = MultiPartProducer::with_boundary(
//!     vec![
//!         MultiPartField::text("a", "1"),
//!         MultiPartField::file("f", Some("a.txt"), "text/plain", Rc::new(BytesBodyProducer::new("hi"))),
//!     ],
//!     "B",
//! );
//! assert_eq!(producer.boundary(), "B");
//! assert_eq!(producer.length(), Some(175));
//! ```

use crate::web::iweb::IBodyProducer;
use bytes::{Bytes, BytesMut};
use reactor::defer::{Deferred, Failure};
use reactor::interfaces::IConsumer;
use std::cell::{Cell, RefCell};
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::rc::Rc;

const CRLF: &[u8] = b"\r\n";

/// One field of a multipart form.
#[derive(Clone)]
pub enum MultiPartField {
    /// A plain form field: its value is written as it is.
    Text {
        /// The field name.
        name: String,
        /// The value (treq encodes text as UTF-8).
        value: Bytes,
    },
    /// A file: its bytes come from `producer`.
    File {
        /// The field name.
        name: String,
        /// The file name sent in `Content-Disposition`, if any.
        filename: Option<String>,
        /// The part's `Content-Type`.
        content_type: String,
        /// Where the part's bytes come from.
        producer: Rc<dyn IBodyProducer>,
    },
}

impl MultiPartField {
    /// A plain field.
    pub fn text(name: impl Into<String>, value: impl Into<Bytes>) -> MultiPartField {
        MultiPartField::Text {
            name: name.into(),
            value: value.into(),
        }
    }

    /// A file field streamed from `producer`.
    pub fn file(
        name: impl Into<String>,
        filename: Option<&str>,
        content_type: impl Into<String>,
        producer: Rc<dyn IBodyProducer>,
    ) -> MultiPartField {
        MultiPartField::File {
            name: name.into(),
            filename: filename.map(str::to_owned),
            content_type: content_type.into(),
            producer,
        }
    }

    fn name(&self) -> &str {
        match self {
            MultiPartField::Text { name, .. } | MultiPartField::File { name, .. } => name,
        }
    }
}

impl fmt::Debug for MultiPartField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MultiPartField::Text { name, value } => f
                .debug_struct("Text")
                .field("name", name)
                .field("len", &value.len())
                .finish(),
            MultiPartField::File {
                name,
                filename,
                content_type,
                producer,
            } => f
                .debug_struct("File")
                .field("name", name)
                .field("filename", filename)
                .field("content_type", content_type)
                .field("length", &producer.length())
                .finish(),
        }
    }
}

/// Header parameter values cannot hold CR or LF (they would end the header) nor any other
/// ASCII control byte but tab (RFC 9110 field values; parsers such as httparse refuse the part),
/// so these are dropped; quotes are escaped so that a value cannot close its quoted string
/// early.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c.is_ascii_control() && c != '\t' {
            continue;
        }
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One piece of the body in order: bytes to write, or a file part's producer to run.
enum Piece {
    Bytes(Bytes),
    Producer(Rc<dyn IBodyProducer>),
}

/// The pieces for `fields` (already sorted) separated by `boundary`.
fn pieces(fields: &[MultiPartField], boundary: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut head = BytesMut::new();
    for (index, field) in fields.iter().enumerate() {
        if index > 0 {
            head.extend_from_slice(CRLF);
        }
        head.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let disposition = format!(
            "Content-Disposition: form-data; name=\"{}\"",
            escape(field.name())
        );
        head.extend_from_slice(disposition.as_bytes());
        match field {
            MultiPartField::Text { value, .. } => {
                head.extend_from_slice(b"\r\n\r\n");
                head.extend_from_slice(value);
            }
            MultiPartField::File {
                filename,
                content_type,
                producer,
                ..
            } => {
                if let Some(filename) = filename.as_deref().filter(|f| !f.is_empty()) {
                    head.extend_from_slice(
                        format!("; filename=\"{}\"", escape(filename)).as_bytes(),
                    );
                }
                head.extend_from_slice(
                    format!("\r\nContent-Type: {}\r\n", escape(content_type)).as_bytes(),
                );
                if let Some(length) = producer.length() {
                    head.extend_from_slice(format!("Content-Length: {length}\r\n").as_bytes());
                }
                head.extend_from_slice(CRLF);
                match producer.immediate_body() {
                    Some(body) => head.extend_from_slice(&body),
                    None => {
                        out.push(Piece::Bytes(head.split().freeze()));
                        out.push(Piece::Producer(producer.clone()));
                    }
                }
            }
        }
    }
    head.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    out.push(Piece::Bytes(head.freeze()));
    out
}

/// A new random boundary: 32 hex digits (128 bits, as treq's `uuid4().hex`).
fn random_boundary() -> String {
    let state = RandomState::new();
    let mut a = state.build_hasher();
    a.write_u64(0x6d75_6c74_6970_6172);
    let mut b = state.build_hasher();
    b.write_u64(a.finish());
    format!("{:016x}{:016x}", a.finish(), b.finish())
}

/// Whether `boundary` occurs in any part that is already in memory.
fn occurs_in(fields: &[MultiPartField], boundary: &str) -> bool {
    let needle = boundary.as_bytes();
    let found = |haystack: &[u8]| haystack.windows(needle.len()).any(|w| w == needle);
    fields.iter().any(|field| match field {
        MultiPartField::Text { value, .. } => found(value),
        MultiPartField::File { producer, .. } => {
            producer.immediate_body().is_some_and(|b| found(&b))
        }
    })
}

struct State {
    pieces: Vec<Piece>,
    next: Cell<usize>,
    consumer: RefCell<Option<Rc<dyn IConsumer>>>,
    current: RefCell<Option<Rc<dyn IBodyProducer>>>,
    done: RefCell<Option<Deferred<()>>>,
    paused: Cell<bool>,
    stopped: Cell<bool>,
    advancing: Cell<bool>,
}

impl State {
    /// Write pieces until paused, stopped, waiting on a file part, or done.
    fn advance(self: &Rc<State>) {
        if self.advancing.replace(true) {
            return;
        }
        loop {
            if self.paused.get() || self.stopped.get() || self.current.borrow().is_some() {
                break;
            }
            let Some(consumer) = self.consumer.borrow().clone() else {
                break;
            };
            let index = self.next.get();
            let Some(piece) = self.pieces.get(index) else {
                self.finish(Ok(()));
                break;
            };
            self.next.set(index + 1);
            match piece {
                Piece::Bytes(bytes) => consumer.write(bytes),
                Piece::Producer(producer) => {
                    *self.current.borrow_mut() = Some(producer.clone());
                    let me = self.clone();
                    producer.start_producing(consumer).add_callbacks(
                        {
                            let me = me.clone();
                            move |()| {
                                me.current.borrow_mut().take();
                                me.advance();
                            }
                        },
                        move |failure: Failure| {
                            me.current.borrow_mut().take();
                            me.finish(Err(failure));
                        },
                    );
                }
            }
        }
        self.advancing.set(false);
    }

    fn finish(&self, result: Result<(), Failure>) {
        self.consumer.borrow_mut().take();
        let done = self.done.borrow_mut().take();
        if let Some(done) = done {
            let _ = done.fire(result);
        }
    }
}

/// A `multipart/form-data` body (treq's `MultiPartProducer`).
pub struct MultiPartProducer {
    state: Rc<State>,
    boundary: String,
    length: Option<u64>,
}

impl MultiPartProducer {
    /// A producer for `fields` with a random boundary that occurs in none of the in-memory
    /// parts. Text fields go first, then files; each group is sorted by field name.
    pub fn new(fields: Vec<MultiPartField>) -> MultiPartProducer {
        let mut boundary = random_boundary();
        while occurs_in(&fields, &boundary) {
            boundary = random_boundary();
        }
        MultiPartProducer::with_boundary(fields, boundary)
    }

    /// A producer for `fields` separated by `boundary`.
    pub fn with_boundary(
        mut fields: Vec<MultiPartField>,
        boundary: impl Into<String>,
    ) -> MultiPartProducer {
        let boundary = boundary.into();
        fields.sort_by(|a, b| {
            let rank = |f: &MultiPartField| matches!(f, MultiPartField::File { .. });
            (rank(a), a.name()).cmp(&(rank(b), b.name()))
        });
        let pieces = pieces(&fields, &boundary);
        let length = pieces.iter().try_fold(0u64, |sum, piece| match piece {
            Piece::Bytes(b) => Some(sum + b.len() as u64),
            Piece::Producer(p) => p.length().map(|n| sum + n),
        });
        MultiPartProducer {
            state: Rc::new(State {
                pieces,
                next: Cell::new(0),
                consumer: RefCell::new(None),
                current: RefCell::new(None),
                done: RefCell::new(None),
                paused: Cell::new(false),
                stopped: Cell::new(false),
                advancing: Cell::new(false),
            }),
            boundary,
            length,
        }
    }

    /// The boundary between parts.
    pub fn boundary(&self) -> &str {
        &self.boundary
    }

    /// The request's `Content-Type`: `multipart/form-data; boundary=...`.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }
}

impl IBodyProducer for MultiPartProducer {
    fn length(&self) -> Option<u64> {
        self.length
    }

    fn start_producing(&self, consumer: Rc<dyn IConsumer>) -> Deferred<()> {
        let done = Deferred::new();
        *self.state.consumer.borrow_mut() = Some(consumer);
        *self.state.done.borrow_mut() = Some(done.clone());
        self.state.advance();
        done
    }

    fn pause_producing(&self) {
        self.state.paused.set(true);
        let current = self.state.current.borrow().clone();
        if let Some(p) = current {
            p.pause_producing();
        }
    }

    fn resume_producing(&self) {
        self.state.paused.set(false);
        let current = self.state.current.borrow().clone();
        match current {
            Some(p) => p.resume_producing(),
            None => self.state.advance(),
        }
    }

    fn stop_producing(&self) {
        self.state.stopped.set(true);
        self.state.done.borrow_mut().take();
        self.state.consumer.borrow_mut().take();
        let current = self.state.current.borrow_mut().take();
        if let Some(p) = current {
            p.stop_producing();
        }
    }

    fn immediate_body(&self) -> Option<Bytes> {
        match self.state.pieces.as_slice() {
            [Piece::Bytes(all)] => Some(all.clone()),
            _ => None,
        }
    }
}

impl fmt::Debug for MultiPartProducer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiPartProducer")
            .field("boundary", &self.boundary)
            .field("length", &self.length)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[path = "multipart_tests.rs"]
mod tests;
