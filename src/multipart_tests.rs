use super::*;
use crate::web::client::{BytesBodyProducer, FileBodyProducer};
use reactor::interfaces::Producer;
use reactor::task::Clock;
use std::io::Cursor;

#[derive(Default)]
struct Sink {
    bytes: RefCell<Vec<u8>>,
}

impl IConsumer for Sink {
    fn register_producer(&self, _producer: Producer) {}
    fn unregister_producer(&self) {}
    fn write(&self, data: &[u8]) {
        self.bytes.borrow_mut().extend_from_slice(data);
    }
}

fn produce(producer: &MultiPartProducer) -> (Rc<Sink>, Deferred<()>) {
    let sink = Rc::new(Sink::default());
    let d = producer.start_producing(sink.clone());
    (sink, d)
}

fn text(sink: &Sink) -> String {
    String::from_utf8(sink.bytes.borrow().clone()).unwrap()
}

#[test]
fn text_and_file_parts_are_laid_out_as_treq_does() {
    let producer = MultiPartProducer::with_boundary(
        vec![
            MultiPartField::file(
                "file",
                Some("a.txt"),
                "text/plain",
                Rc::new(BytesBodyProducer::new("hello")),
            ),
            MultiPartField::text("field", "value"),
        ],
        "heyDavid",
    );
    let (sink, d) = produce(&producer);
    assert!(d.take_result().unwrap().is_ok());
    let expected = "--heyDavid\r\n\
        Content-Disposition: form-data; name=\"field\"\r\n\
        \r\n\
        value\r\n\
        --heyDavid\r\n\
        Content-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\
        Content-Type: text/plain\r\n\
        Content-Length: 5\r\n\
        \r\n\
        hello\r\n\
        --heyDavid--\r\n";
    assert_eq!(text(&sink), expected);
    assert_eq!(producer.length(), Some(expected.len() as u64));
    assert_eq!(
        producer.content_type(),
        "multipart/form-data; boundary=heyDavid"
    );
}

#[test]
fn text_fields_come_first_and_each_group_is_sorted_by_name() {
    let file =
        |name: &str| MultiPartField::file(name, None, "a/b", Rc::new(BytesBodyProducer::new("x")));
    let producer = MultiPartProducer::with_boundary(
        vec![
            file("z"),
            MultiPartField::text("b", "2"),
            file("c"),
            MultiPartField::text("a", "1"),
        ],
        "B",
    );
    let (sink, _d) = produce(&producer);
    let out = text(&sink);
    let order: Vec<usize> = ["name=\"a\"", "name=\"b\"", "name=\"c\"", "name=\"z\""]
        .iter()
        .map(|n| out.find(n).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{out}");
    // A file part without a file name has no filename parameter.
    assert!(out.contains("name=\"c\"\r\nContent-Type: a/b\r\n"), "{out}");
}

#[test]
fn quotes_and_line_breaks_in_names_cannot_break_the_header() {
    let producer = MultiPartProducer::with_boundary(
        vec![MultiPartField::file(
            "na\"me\r\nX-Evil: 1",
            Some("f\"i\nle\r.txt"),
            "text/plain",
            Rc::new(BytesBodyProducer::new("")),
        )],
        "B",
    );
    let (sink, _d) = produce(&producer);
    let out = text(&sink);
    assert!(
        out.contains("name=\"na\\\"meX-Evil: 1\"; filename=\"f\\\"ile.txt\"\r\n"),
        "{out}"
    );
    assert_eq!(out.matches("\r\n").count(), 7, "{out}");
}

#[test]
fn control_bytes_in_names_and_types_are_dropped_but_tab() {
    // Found by the `multipart` fuzz target: a name holding 0x01 made a part head that
    // httparse-based parsers (multer) refuse.
    let producer = MultiPartProducer::with_boundary(
        vec![MultiPartField::file(
            "a\u{1}b\0c\u{7f}d\te",
            Some("f\u{1b}.txt"),
            "text/\u{1}plain",
            Rc::new(BytesBodyProducer::new("")),
        )],
        "B",
    );
    let (sink, _d) = produce(&producer);
    let out = text(&sink);
    assert!(
        out.contains("name=\"abcd\te\"; filename=\"f.txt\"\r\nContent-Type: text/plain\r\n"),
        "{out:?}"
    );
}

#[test]
fn an_unknown_length_part_makes_the_total_unknown_and_is_streamed() {
    let clock = Rc::new(Clock::new());
    let reader =
        FileBodyProducer::from_reader(clock.clone(), Cursor::new(vec![b'x'; 10])).read_size(4);
    let producer = MultiPartProducer::with_boundary(
        vec![MultiPartField::file(
            "f",
            Some("x.bin"),
            "application/octet-stream",
            Rc::new(reader),
        )],
        "B",
    );
    assert_eq!(producer.length(), None);
    let (sink, d) = produce(&producer);
    assert!(!d.called(), "the file part is read on later turns");
    for _ in 0..10 {
        clock.advance(0.0);
    }
    assert!(d.take_result().unwrap().is_ok());
    let out = text(&sink);
    assert!(!out.contains("Content-Length"), "{out}");
    assert!(out.ends_with("\r\n\r\nxxxxxxxxxx\r\n--B--\r\n"), "{out}");
}

#[test]
fn pausing_pauses_the_streaming_part_and_resuming_finishes() {
    let clock = Rc::new(Clock::new());
    let file = FileBodyProducer::with_clock(clock.clone(), Cursor::new(vec![b'y'; 8]))
        .unwrap()
        .read_size(2);
    let producer = MultiPartProducer::with_boundary(
        vec![
            MultiPartField::file("f", None, "a/b", Rc::new(file)),
            MultiPartField::text("t", "v"),
        ],
        "B",
    );
    let (sink, d) = produce(&producer);
    clock.advance(0.0);
    producer.pause_producing();
    let before = sink.bytes.borrow().len();
    for _ in 0..5 {
        clock.advance(0.0);
    }
    assert_eq!(
        sink.bytes.borrow().len(),
        before,
        "nothing is written while paused"
    );
    producer.resume_producing();
    for _ in 0..10 {
        clock.advance(0.0);
    }
    assert!(d.take_result().unwrap().is_ok());
    assert_eq!(sink.bytes.borrow().len() as u64, producer.length().unwrap());
}

#[test]
fn stopping_stops_the_part_and_the_deferred_never_fires() {
    let clock = Rc::new(Clock::new());
    let file = FileBodyProducer::with_clock(clock.clone(), Cursor::new(vec![b'z'; 8]))
        .unwrap()
        .read_size(2);
    let file = Rc::new(file);
    let producer = MultiPartProducer::with_boundary(
        vec![MultiPartField::file("f", None, "a/b", file.clone())],
        "B",
    );
    let (_sink, d) = produce(&producer);
    producer.stop_producing();
    for _ in 0..10 {
        clock.advance(0.0);
    }
    assert!(!d.called());
    assert!(file.is_closed());
    assert!(clock.get_delayed_calls().is_empty());
}

struct Failing;

#[derive(Debug)]
struct Broken;
impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("broken part")
    }
}
impl std::error::Error for Broken {}

impl IBodyProducer for Failing {
    fn length(&self) -> Option<u64> {
        None
    }
    fn start_producing(&self, _consumer: Rc<dyn IConsumer>) -> Deferred<()> {
        Deferred::fail(Broken)
    }
    fn pause_producing(&self) {}
    fn resume_producing(&self) {}
    fn stop_producing(&self) {}
}

#[test]
fn a_failing_part_fails_the_body() {
    let producer = MultiPartProducer::with_boundary(
        vec![MultiPartField::file("f", None, "a/b", Rc::new(Failing))],
        "B",
    );
    let (_sink, d) = produce(&producer);
    let failure = d.take_result().unwrap().unwrap_err();
    assert!(failure.check::<Broken>());
}

#[test]
fn random_boundaries_are_long_and_avoid_in_memory_parts() {
    let a = MultiPartProducer::new(vec![MultiPartField::text("a", "b")]);
    let b = MultiPartProducer::new(vec![MultiPartField::text("a", "b")]);
    assert_eq!(a.boundary().len(), 32);
    assert!(a.boundary().bytes().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(a.boundary(), b.boundary());
    let fields = vec![MultiPartField::text("a", format!("x{}y", a.boundary()))];
    assert!(occurs_in(&fields, a.boundary()));
    assert!(!occurs_in(&fields, "not-there"));
}
