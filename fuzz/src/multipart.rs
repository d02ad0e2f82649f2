//! The multipart target: fields from the input written by [`MultiPartProducer`], read back
//! with `multer` (an independent `multipart/form-data` parser) fed in pieces. Every field must
//! come back once, in the writer's order (text fields, then files, each sorted by name), with
//! its bytes; its name and file name too, when they hold nothing the writer must escape or
//! drop (`"`, `\`, ASCII control bytes but tab). File parts are produced both ways the writer
//! handles them: bodies in memory, and producers that stream.

use crate::input::Input;
use bytes::Bytes;
use reactor::defer::Deferred;
use reactor::interfaces::{IConsumer, Producer};
use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use treq::multipart::{MultiPartField, MultiPartProducer};
use treq::web::client::BytesBodyProducer;
use treq::web::iweb::IBodyProducer;

/// Collects what a producer writes.
#[derive(Default)]
struct Sink {
    data: RefCell<Vec<u8>>,
}

impl IConsumer for Sink {
    fn register_producer(&self, _producer: Producer) {}
    fn unregister_producer(&self) {}
    fn write(&self, data: &[u8]) {
        self.data.borrow_mut().extend_from_slice(data);
    }
}

/// A file part that streams: known length or not, never in memory for the writer.
struct Streaming {
    body: Bytes,
    known_length: bool,
}

impl IBodyProducer for Streaming {
    fn length(&self) -> Option<u64> {
        self.known_length.then_some(self.body.len() as u64)
    }
    fn start_producing(&self, consumer: Rc<dyn IConsumer>) -> Deferred<()> {
        for piece in self.body.chunks(7) {
            consumer.write(piece);
        }
        Deferred::succeed(())
    }
    fn pause_producing(&self) {}
    fn resume_producing(&self) {}
    fn stop_producing(&self) {}
}

/// What a field should come back as.
#[derive(Debug)]
struct Want {
    name: String,
    file: Option<Option<String>>,
    body: Vec<u8>,
}

/// Whether the writer sends `s` as it is (it escapes `"` and `\`, and drops ASCII control
/// bytes but tab).
fn plain(s: &str) -> bool {
    !s.contains(['"', '\\']) && !s.chars().any(|c| c.is_ascii_control() && c != '\t')
}

/// Runs a future whose inputs are all in memory to the end.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000_000 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("multer did not finish on in-memory input");
}

/// The `multipart` target: byte 0 picks the piece size multer reads; then fields, each a kind
/// byte (text, file in memory, streaming file of known or unknown length), a name, a value and,
/// for files, a file name and a content type.
pub fn multipart(data: &[u8]) {
    let mut input = Input::new(data);
    let piece = usize::from(input.byte()) + 1;
    let mut fields = Vec::new();
    let mut wants = Vec::new();
    while !input.is_empty() && fields.len() < 16 {
        let kind = input.byte() % 4;
        let name = input.text();
        let body = Bytes::copy_from_slice(input.chunk());
        if kind == 0 {
            fields.push(MultiPartField::text(name.clone(), body.clone()));
            wants.push(Want {
                name,
                file: None,
                body: body.to_vec(),
            });
            continue;
        }
        let filename = input.text();
        let content_type = input.text();
        let producer: Rc<dyn IBodyProducer> = match kind {
            1 => Rc::new(BytesBodyProducer::new(body.clone())),
            k => Rc::new(Streaming {
                body: body.clone(),
                known_length: k == 2,
            }),
        };
        let filename = (!filename.is_empty()).then_some(filename);
        fields.push(MultiPartField::file(
            name.clone(),
            filename.as_deref(),
            content_type,
            producer,
        ));
        wants.push(Want {
            name,
            file: Some(filename),
            body: body.to_vec(),
        });
    }
    // The writer's order: text fields, then files, each group by name (a stable sort).
    wants.sort_by(|a, b| (a.file.is_some(), &a.name).cmp(&(b.file.is_some(), &b.name)));

    let producer = MultiPartProducer::new(fields);
    let sink = Rc::new(Sink::default());
    let done = producer.start_producing(sink.clone());
    assert!(
        matches!(done.take_result(), Some(Ok(()))),
        "in-memory parts are produced at once"
    );
    let body = sink.data.take();
    if let Some(length) = producer.length() {
        assert_eq!(length, body.len() as u64, "the announced length");
    }
    if let Some(immediate) = producer.immediate_body() {
        assert_eq!(
            immediate[..],
            body[..],
            "immediate_body is the produced body"
        );
    }
    let content_type = producer.content_type();
    let boundary = multer::parse_boundary(&content_type).expect("a boundary multer reads");
    assert_eq!(boundary, producer.boundary());

    let chunks: Vec<Result<Bytes, std::io::Error>> = body
        .chunks(piece)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let stream = futures_util::stream::iter(chunks);
    let got = block_on(async move {
        let mut multipart = multer::Multipart::new(stream, boundary);
        let mut got = Vec::new();
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => break,
                Err(e) => return Err(e),
            };
            let name = field.name().map(str::to_owned);
            let filename = field.file_name().map(str::to_owned);
            let bytes = field.bytes().await?;
            got.push((name, filename, bytes.to_vec()));
        }
        Ok(got)
    });
    let got = got.unwrap_or_else(|e| panic!("multer refused the body: {e}\n{body:?}"));
    assert_eq!(
        got.len(),
        wants.len(),
        "every field once: {got:?} {wants:?}"
    );
    for ((name, filename, bytes), want) in got.iter().zip(&wants) {
        assert_eq!(bytes, &want.body, "the bytes of {want:?}");
        if plain(&want.name) {
            assert_eq!(name.as_deref(), Some(want.name.as_str()), "the name");
        }
        match &want.file {
            None => assert_eq!(filename, &None, "a text field has no file name"),
            Some(Some(f)) if plain(f) => {
                assert_eq!(filename.as_deref(), Some(f.as_str()), "the file name")
            }
            Some(_) => {}
        }
    }
}
