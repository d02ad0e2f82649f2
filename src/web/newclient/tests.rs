//! The client protocol over in-memory transports: exact request bytes out, exact response
//! bytes in, and the right result or error.

use super::*;
use crate::web::error::{
    PotentialDataLoss, RequestGenerationFailed, RequestNotSent, RequestTransmissionFailed,
    ResponseDone, ResponseFailed, ResponseNeverReceived, WrongBodyLength,
};
use crate::web::http11::ProtocolError;
use crate::web::http_headers::Headers;
use crate::web::iweb::IBodyProducer;
use crate::web::response::{read_body, Response};
use bytes::Bytes;
use reactor::defer::{Deferred, Failure};
use reactor::interfaces::{IConsumer, IProtocol, ITransport};
use reactor::iosim::{connected_server_and_client, FakeTransport, IOPump};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// A server that records what it receives and replies only when told.
#[derive(Default)]
struct Server {
    transport: RefCell<Option<Rc<dyn ITransport>>>,
    received: RefCell<Vec<u8>>,
}

impl IProtocol for Server {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        *self.transport.borrow_mut() = Some(transport);
    }
    fn data_received(&self, data: Bytes) {
        self.received.borrow_mut().extend_from_slice(&data);
    }
    fn connection_lost(&self, _reason: Failure) {}
}

impl Server {
    fn send(&self, data: &[u8]) {
        self.transport.borrow().clone().unwrap().write(data);
    }
    fn close(&self) {
        self.transport.borrow().clone().unwrap().lose_connection();
    }
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.received.borrow_mut())
    }
}

struct Conn {
    client: Rc<HTTP11ClientProtocol>,
    server: Rc<Server>,
    client_transport: Rc<FakeTransport>,
    pump: IOPump,
    quiescent: Rc<Cell<usize>>,
}

fn connect() -> Conn {
    let client = HTTP11ClientProtocol::new();
    let quiescent = Rc::new(Cell::new(0));
    let q = quiescent.clone();
    client.set_quiescent_callback(move |_| q.set(q.get() + 1));
    let server = Rc::new(Server::default());
    let (_st, client_transport, pump) = connected_server_and_client(server.clone(), client.clone());
    Conn {
        client,
        server,
        client_transport,
        pump,
        quiescent,
    }
}

fn get(target: &str) -> Request {
    Request::new("GET", target.to_owned(), "example.com", Headers::new())
}

/// Run one exchange: send `request`, check the bytes the server got, reply with `reply`.
fn exchange(conn: &Conn, request: Request, expected: &[u8], reply: &[u8]) -> Deferred<Response> {
    let d = conn.client.request(request);
    conn.pump.flush().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&conn.server.take()),
        String::from_utf8_lossy(expected)
    );
    conn.server.send(reply);
    conn.pump.flush().unwrap();
    d
}

fn result<T: 'static>(d: &Deferred<T>) -> Result<T, Failure> {
    d.take_result().expect("the Deferred has fired")
}

/// A body protocol that records everything.
#[derive(Default)]
struct Body {
    transport: RefCell<Option<Rc<dyn ITransport>>>,
    data: RefCell<Vec<u8>>,
    reason: RefCell<Option<Failure>>,
}

impl IProtocol for Body {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        *self.transport.borrow_mut() = Some(transport);
    }
    fn data_received(&self, data: Bytes) {
        self.data.borrow_mut().extend_from_slice(&data);
    }
    fn connection_lost(&self, reason: Failure) {
        *self.reason.borrow_mut() = Some(reason);
    }
}

/// A body producer driven by the test.
#[derive(Default)]
struct ManualProducer {
    length: Option<u64>,
    consumer: RefCell<Option<Rc<dyn IConsumer>>>,
    done: Deferred<()>,
    paused: Cell<bool>,
    stopped: Cell<bool>,
    stops: Cell<usize>,
}

impl ManualProducer {
    fn new(length: Option<u64>) -> Rc<ManualProducer> {
        Rc::new(ManualProducer {
            length,
            ..ManualProducer::default()
        })
    }
    fn write(&self, data: &[u8]) {
        let consumer = self.consumer.borrow().clone().unwrap();
        consumer.write(data);
    }
}

impl IBodyProducer for ManualProducer {
    fn length(&self) -> Option<u64> {
        self.length
    }
    fn start_producing(&self, consumer: Rc<dyn IConsumer>) -> Deferred<()> {
        *self.consumer.borrow_mut() = Some(consumer);
        self.done.clone()
    }
    fn pause_producing(&self) {
        self.paused.set(true);
    }
    fn resume_producing(&self) {
        self.paused.set(false);
    }
    fn stop_producing(&self) {
        self.stopped.set(true);
        self.stops.set(self.stops.get() + 1);
    }
}

#[test]
fn get_with_length_body() {
    let conn = connect();
    let d = exchange(
        &conn,
        get("/path?q=1"),
        b"GET /path?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello",
    );
    let response = result(&d).unwrap();
    assert_eq!((response.version, response.code), ((1, 1), 200));
    assert_eq!(&response.phrase[..], b"OK");
    assert_eq!(response.length, Some(5));
    assert_eq!(&response.request.method[..], b"GET");
    assert_eq!(&response.headers.get_first("x-a").unwrap()[..], b"b");
    assert_eq!(conn.quiescent.get(), 1);
    assert!(conn.client.is_quiescent());
    // The body arrived before deliver_body: it was kept.
    assert_eq!(&result(&read_body(&response)).unwrap()[..], b"hello");
    assert!(!conn.client_transport.disconnecting());
    // A second deliver_body is refused.
    assert!(response.deliver_body(Rc::new(Body::default())).is_err());
}

#[test]
fn second_request_on_same_connection() {
    let conn = connect();
    let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na";
    let expected = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
    result(&exchange(&conn, get("/"), expected, reply)).unwrap();
    let d = exchange(&conn, get("/"), expected, reply);
    assert_eq!(&result(&read_body(&result(&d).unwrap())).unwrap()[..], b"a");
    assert_eq!(conn.quiescent.get(), 2);
}

#[test]
fn chunked_response_streamed_to_body_protocol() {
    let conn = connect();
    let d = exchange(
        &conn,
        get("/"),
        b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    );
    let response = result(&d).unwrap();
    assert_eq!(response.length, None);
    let body = Rc::new(Body::default());
    response.deliver_body(body.clone()).unwrap();
    assert_eq!(&body.data.borrow()[..], b"hello");
    assert!(body.reason.borrow().is_none());
    conn.server.send(b"6\r\n world\r\n0\r\n\r\n");
    conn.pump.flush().unwrap();
    assert_eq!(&body.data.borrow()[..], b"hello world");
    assert!(body
        .reason
        .borrow()
        .as_ref()
        .unwrap()
        .check::<ResponseDone>());
}

#[test]
fn head_response_has_no_body() {
    let conn = connect();
    let request = Request::new("HEAD", "/", "example.com", Headers::new());
    let d = exchange(
        &conn,
        request,
        b"HEAD / HTTP/1.1\r\nHost: example.com\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
    );
    let response = result(&d).unwrap();
    assert_eq!(response.length, Some(0));
    assert_eq!(&result(&read_body(&response)).unwrap()[..], b"");
    assert_eq!(conn.quiescent.get(), 1);
}

#[test]
fn no_content_response() {
    let conn = connect();
    let d = exchange(
        &conn,
        get("/"),
        b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\n",
    );
    let response = result(&d).unwrap();
    assert_eq!(response.code, 204);
    assert_eq!(&result(&read_body(&response)).unwrap()[..], b"");
    assert_eq!(conn.quiescent.get(), 1);
}

fn post(producer: Rc<dyn IBodyProducer>) -> Request {
    Request::new("POST", "/upload", "example.com", Headers::new()).body_producer(producer)
}

#[test]
fn post_known_length_from_producer() {
    let conn = connect();
    let producer = ManualProducer::new(Some(11));
    let d = conn.client.request(post(producer.clone()));
    producer.write(b"hello");
    producer.write(b" world");
    producer.done.callback(()).unwrap();
    conn.pump.flush().unwrap();
    assert_eq!(
        &conn.server.take()[..],
        b"POST /upload HTTP/1.1\r\nHost: example.com\r\nContent-Length: 11\r\n\r\nhello world"
    );
    conn.server
        .send(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
    conn.pump.flush().unwrap();
    assert_eq!(result(&d).unwrap().code, 201);
    assert_eq!(conn.quiescent.get(), 1);
}

#[test]
fn chunked_upload_of_unknown_length() {
    let conn = connect();
    let producer = ManualProducer::new(None);
    let d = conn.client.request(post(producer.clone()));
    producer.write(b"hello");
    producer.write(b"");
    producer.write(b"0123456789abcdef!");
    producer.done.callback(()).unwrap();
    conn.pump.flush().unwrap();
    assert_eq!(
        String::from_utf8(conn.server.take()).unwrap(),
        "POST /upload HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n\
         5\r\nhello\r\n11\r\n0123456789abcdef!\r\n0\r\n\r\n"
    );
    conn.server
        .send(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    conn.pump.flush().unwrap();
    assert_eq!(result(&d).unwrap().code, 200);
}

fn assert_wrong_length(failure: Failure, expected: u64, actual: u64) {
    let e = failure
        .value::<RequestTransmissionFailed>()
        .unwrap_or_else(|| panic!("not RequestTransmissionFailed: {failure}"));
    let wrong = e.reasons[0].value::<WrongBodyLength>().unwrap();
    assert_eq!((wrong.expected, wrong.actual), (expected, actual));
}

#[test]
fn producer_writes_too_many_bytes() {
    let conn = connect();
    let producer = ManualProducer::new(Some(3));
    let d = conn.client.request(post(producer.clone()));
    producer.write(b"hello");
    assert!(producer.stopped.get());
    assert_wrong_length(result(&d).unwrap_err(), 3, 5);
    assert!(conn.client_transport.aborted());
    // The producer's late completion is ignored.
    producer.done.callback(()).unwrap();
    conn.pump.flush().unwrap();
    assert!(conn.client.is_lost());
}

#[test]
fn producer_writes_too_few_bytes() {
    let conn = connect();
    let producer = ManualProducer::new(Some(10));
    let d = conn.client.request(post(producer.clone()));
    producer.write(b"hello");
    producer.done.callback(()).unwrap();
    assert_wrong_length(result(&d).unwrap_err(), 10, 5);
    assert!(conn.client_transport.aborted());
}

#[test]
fn producer_failure_fails_the_request() {
    let conn = connect();
    let producer = ManualProducer::new(None);
    let d = conn.client.request(post(producer.clone()));
    producer
        .done
        .errback(std::io::Error::other("disk on fire"))
        .unwrap();
    let failure = result(&d).unwrap_err();
    let e = failure.value::<RequestTransmissionFailed>().unwrap();
    assert!(e.reasons[0].check::<std::io::Error>());
    assert!(failure.to_string().contains("disk on fire"), "{failure}");
}

#[test]
fn early_final_response_stops_the_upload() {
    let conn = connect();
    let producer = ManualProducer::new(Some(100));
    let d = conn.client.request(post(producer.clone()));
    producer.write(b"some");
    conn.pump.flush().unwrap();
    conn.server
        .send(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 3\r\n\r\nbig");
    conn.pump.flush().unwrap();
    let response = result(&d).unwrap();
    assert_eq!(response.code, 413);
    assert!(producer.stopped.get());
    assert_eq!(&result(&read_body(&response)).unwrap()[..], b"big");
    assert_eq!(conn.quiescent.get(), 0);
    assert!(conn.client.is_lost());
}

#[test]
fn server_closes_before_response() {
    let conn = connect();
    let d = conn.client.request(get("/"));
    conn.pump.flush().unwrap();
    conn.server.close();
    conn.pump.flush().unwrap();
    let failure = result(&d).unwrap_err();
    let e = failure.value::<ResponseNeverReceived>().unwrap();
    assert!(e.reasons[0].check::<reactor::error::ConnectionDone>());
    // Once closed, requests are not sent.
    assert!(result(&conn.client.request(get("/")))
        .unwrap_err()
        .check::<RequestNotSent>());
}

#[test]
fn server_closes_mid_head() {
    let conn = connect();
    let d = conn.client.request(get("/"));
    conn.server.send(b"HTTP/1.1 200 OK\r\nContent-");
    conn.server.close();
    conn.pump.flush().unwrap();
    let failure = result(&d).unwrap_err();
    let e = failure.value::<ResponseFailed>().unwrap();
    assert_eq!(
        e.reasons[1].value::<ProtocolError>(),
        Some(&ProtocolError::ConnectionClosedInHead)
    );
}

#[test]
fn server_closes_while_uploading() {
    let conn = connect();
    let producer = ManualProducer::new(None);
    let d = conn.client.request(post(producer.clone()));
    producer.write(b"abc");
    conn.pump.flush().unwrap();
    conn.server.close();
    conn.pump.flush().unwrap();
    assert!(result(&d).unwrap_err().check::<RequestTransmissionFailed>());
    assert!(producer.stopped.get());
}

fn body_failure_after(reply: &[u8]) -> Failure {
    let conn = connect();
    let d = conn.client.request(get("/"));
    conn.server.send(reply);
    conn.pump.flush().unwrap();
    let response = result(&d).unwrap();
    let body = Rc::new(Body::default());
    response.deliver_body(body.clone()).unwrap();
    conn.server.close();
    conn.pump.flush().unwrap();
    let reason = body.reason.borrow_mut().take().unwrap();
    reason
}

#[test]
fn server_closes_mid_body() {
    let failure = body_failure_after(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel");
    let e = failure.value::<ResponseFailed>().unwrap();
    assert_eq!(
        e.reasons[1].value::<ProtocolError>(),
        Some(&ProtocolError::ConnectionClosedInBody {
            expected: 10,
            received: 3
        })
    );
}

#[test]
fn server_closes_mid_chunk() {
    let failure =
        body_failure_after(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhe");
    let e = failure.value::<ResponseFailed>().unwrap();
    assert_eq!(
        e.reasons[1].value::<ProtocolError>(),
        Some(&ProtocolError::ConnectionClosedInChunkedBody)
    );
}

#[test]
fn http10_body_read_until_close_is_potential_data_loss() {
    let failure = body_failure_after(b"HTTP/1.0 200 OK\r\n\r\nsome data");
    assert!(failure.check::<PotentialDataLoss>(), "{failure}");
}

#[test]
fn read_body_of_until_close_body_is_partial_download() {
    let conn = connect();
    let d = conn.client.request(get("/"));
    conn.server.send(b"HTTP/1.0 200 OK\r\n\r\nsome data");
    conn.server.close();
    conn.pump.flush().unwrap();
    let failure = result(&read_body(&result(&d).unwrap())).unwrap_err();
    let e = failure
        .value::<crate::web::error::PartialDownloadError>()
        .unwrap();
    assert_eq!(&e.body[..], b"some data");
}

#[test]
fn connection_close_is_not_reused() {
    let conn = connect();
    let d = exchange(
        &conn,
        get("/"),
        b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    );
    assert_eq!(
        &result(&read_body(&result(&d).unwrap())).unwrap()[..],
        b"ok"
    );
    assert_eq!(conn.quiescent.get(), 0);
    assert!(conn.client.is_lost());
}

#[test]
fn non_persistent_request_sends_connection_close() {
    let conn = connect();
    let d = exchange(
        &conn,
        get("/").persistent(false),
        b"GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    );
    result(&d).unwrap();
    assert_eq!(conn.quiescent.get(), 0);
    assert!(conn.client.is_lost());
}

#[test]
fn extra_bytes_after_response_prevent_reuse() {
    let conn = connect();
    let d = exchange(
        &conn,
        get("/"),
        b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n",
    );
    result(&d).unwrap();
    assert_eq!(conn.quiescent.get(), 0);
}

#[test]
fn second_request_while_busy_is_not_sent() {
    let conn = connect();
    let _d = conn.client.request(get("/"));
    assert!(result(&conn.client.request(get("/")))
        .unwrap_err()
        .check::<RequestNotSent>());
}

#[test]
fn invalid_request_fails_before_writing() {
    let conn = connect();
    let bad = Request::new("GE T", "/", "example.com", Headers::new());
    let failure = result(&conn.client.request(bad)).unwrap_err();
    assert!(failure.check::<RequestGenerationFailed>());
    let bad = Request::new("GET", "/a b", "example.com", Headers::new());
    assert!(result(&conn.client.request(bad))
        .unwrap_err()
        .check::<RequestGenerationFailed>());
    conn.pump.flush().unwrap();
    assert!(conn.server.take().is_empty());
    assert!(conn.client.is_quiescent());
}

#[test]
fn body_protocol_pauses_the_connection() {
    let conn = connect();
    let d = conn.client.request(get("/"));
    conn.server
        .send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
    conn.pump.flush().unwrap();
    let response = result(&d).unwrap();
    let body = Rc::new(Body::default());
    response.deliver_body(body.clone()).unwrap();
    let transport = body.transport.borrow().clone().unwrap();
    transport.pause_producing();
    assert!(conn.client_transport.reading_paused());
    conn.server.send(b"3\r\ndef\r\n0\r\n\r\n");
    conn.pump.flush().unwrap();
    assert_eq!(&body.data.borrow()[..], b"abc");
    transport.resume_producing();
    conn.pump.flush().unwrap();
    assert_eq!(&body.data.borrow()[..], b"abcdef");
    assert!(body
        .reason
        .borrow()
        .as_ref()
        .unwrap()
        .check::<ResponseDone>());
    assert_eq!(conn.quiescent.get(), 1);
}

#[test]
fn undelivered_body_pauses_reading_past_the_limit() {
    let conn = connect();
    let d = conn.client.request(get("/"));
    let size = crate::web::response::BODY_BUFFER_LIMIT + 10;
    conn.server
        .send(format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", size + 100).as_bytes());
    conn.server.send(&vec![b'x'; size]);
    conn.pump.flush().unwrap();
    assert!(conn.client_transport.reading_paused());
    conn.server.send(&[b'y'; 100]);
    let response = result(&d).unwrap();
    let body = read_body(&response);
    conn.pump.flush().unwrap();
    assert_eq!(result(&body).unwrap().len(), size + 100);
    assert_eq!(conn.quiescent.get(), 1);
}

#[test]
fn body_protocol_stop_producing_aborts() {
    let conn = connect();
    let d = conn.client.request(get("/"));
    conn.server
        .send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    conn.pump.flush().unwrap();
    let response = result(&d).unwrap();
    let body = Rc::new(Body::default());
    response.deliver_body(body.clone()).unwrap();
    body.transport.borrow().clone().unwrap().stop_producing();
    conn.pump.flush().unwrap();
    assert!(body
        .reason
        .borrow()
        .as_ref()
        .unwrap()
        .check::<ResponseFailed>());
    assert_eq!(conn.quiescent.get(), 0);
}

#[test]
fn cancelling_read_body_aborts_the_connection() {
    let conn = connect();
    let d = conn.client.request(get("/"));
    conn.server
        .send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    conn.pump.flush().unwrap();
    let body = read_body(&result(&d).unwrap());
    body.cancel();
    assert!(result(&body)
        .unwrap_err()
        .check::<reactor::defer::CancelledError>());
    assert!(conn.client_transport.aborted());
}

#[test]
fn cancelling_the_request_aborts_the_connection() {
    let conn = connect();
    let d = conn.client.request(get("/"));
    d.cancel();
    assert!(result(&d)
        .unwrap_err()
        .check::<reactor::defer::CancelledError>());
    assert!(conn.client_transport.aborted());
    conn.pump.flush().unwrap();
    assert!(conn.client.is_lost());
}

#[test]
fn invalid_response_fails() {
    let conn = connect();
    let d = conn.client.request(get("/"));
    conn.server.send(b"HTTX/1.1 200 OK\r\n\r\n");
    conn.pump.flush().unwrap();
    assert!(result(&d).unwrap_err().check::<ResponseFailed>());
    assert!(conn.client_transport.aborted());
}

#[test]
fn body_producer_is_paused_by_the_transport() {
    let conn = connect();
    conn.client_transport.set_high_water_mark(10);
    let producer = ManualProducer::new(None);
    let _d = conn.client.request(post(producer.clone()));
    producer.write(b"0123456789");
    assert!(producer.paused.get());
    conn.pump.flush().unwrap();
    assert!(!producer.paused.get());
}
