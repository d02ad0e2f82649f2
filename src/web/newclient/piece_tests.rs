//! How received pieces reach the parser: parsed in place (no copy) when nothing is left over,
//! and through the read buffer when a piece ends in the middle of a head or a chunk line.

use super::*;
use crate::web::http_headers::Headers;
use crate::web::response::{read_body, Response};
use bytes::Bytes;
use reactor::defer::{Deferred, Failure};
use reactor::interfaces::{IProtocol, ITransport};
use reactor::iosim::{connected_server_and_client, IOPump};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// A server that swallows the request; the test feeds the response to the client itself.
struct Sink;

impl IProtocol for Sink {
    fn make_connection(&self, _transport: Rc<dyn ITransport>) {}
    fn data_received(&self, _data: Bytes) {}
    fn connection_lost(&self, _reason: Failure) {}
}

/// A body protocol keeping each piece as it arrived.
#[derive(Default)]
struct Pieces {
    pieces: RefCell<Vec<Bytes>>,
    ended: Cell<bool>,
}

impl IProtocol for Pieces {
    fn make_connection(&self, _transport: Rc<dyn ITransport>) {}
    fn data_received(&self, data: Bytes) {
        self.pieces.borrow_mut().push(data);
    }
    fn connection_lost(&self, _reason: Failure) {
        self.ended.set(true);
    }
}

/// A client with a request in flight, and how many times it became quiescent.
fn in_flight() -> (
    Rc<HTTP11ClientProtocol>,
    Deferred<Response>,
    Rc<Cell<usize>>,
    IOPump,
) {
    let client = HTTP11ClientProtocol::new();
    let quiescent = Rc::new(Cell::new(0));
    let q = quiescent.clone();
    client.set_quiescent_callback(move |_| q.set(q.get() + 1));
    let (_server, _client_transport, pump) =
        connected_server_and_client(Rc::new(Sink), client.clone());
    let d = client.request(Request::new("GET", "/", "example.com", Headers::new()));
    pump.flush().unwrap();
    (client, d, quiescent, pump)
}

fn within(piece: &Bytes, received: &Bytes) -> bool {
    let (start, end) = (
        received.as_ptr() as usize,
        received.as_ptr() as usize + received.len(),
    );
    let p = piece.as_ptr() as usize;
    start <= p && p + piece.len() <= end
}

#[test]
fn a_whole_response_in_one_piece_is_not_copied() {
    let (client, d, quiescent, _pump) = in_flight();
    let received =
        Bytes::from_static(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello");
    client.data_received(received.clone());
    let response = d.take_result().unwrap().unwrap();
    assert_eq!(&*response.request.absolute_uri, "http://example.com/");
    assert_eq!(&response.request.method[..], b"GET");
    let value = response.headers.get_first("x-a").unwrap();
    assert!(within(value, &received), "header value copied");
    assert!(within(&response.phrase, &received), "phrase copied");
    let body = read_body(&response).take_result().unwrap().unwrap();
    assert_eq!(&body[..], b"hello");
    assert!(within(&body, &received), "body copied");
    assert_eq!(quiescent.get(), 1);
}

#[test]
fn body_pieces_after_the_head_are_not_copied() {
    let (client, d, quiescent, _pump) = in_flight();
    client.data_received(Bytes::from_static(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    ));
    let response = d.take_result().unwrap().unwrap();
    let body = Rc::new(Pieces::default());
    response.deliver_body(body.clone()).unwrap();
    let first = Bytes::from_static(b"a\r\n0123456789\r\n");
    let second = Bytes::from_static(b"3\r\nabc\r\n0\r\n\r\n");
    client.data_received(first.clone());
    client.data_received(second.clone());
    let pieces = body.pieces.borrow();
    assert_eq!(pieces.len(), 2);
    assert_eq!(
        (&pieces[0][..], &pieces[1][..]),
        (&b"0123456789"[..], &b"abc"[..])
    );
    assert!(within(&pieces[0], &first) && within(&pieces[1], &second));
    assert!(body.ended.get());
    assert_eq!(quiescent.get(), 1);
}

/// Every split of `reply` into two pieces gives the same body, and the connection is reused.
fn check_every_split(reply: &[u8], body: &[u8]) {
    for split in 1..reply.len() {
        let (client, d, quiescent, _pump) = in_flight();
        client.data_received(Bytes::copy_from_slice(&reply[..split]));
        client.data_received(Bytes::copy_from_slice(&reply[split..]));
        let response = d.take_result().expect("head parsed").unwrap();
        let got = read_body(&response).take_result().unwrap().unwrap();
        assert_eq!(&got[..], body, "split at {split}");
        assert_eq!(quiescent.get(), 1, "split at {split}");
        assert!(client.is_quiescent(), "split at {split}");
    }
}

#[test]
fn a_length_response_split_anywhere() {
    check_every_split(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        b"hello",
    );
}

#[test]
fn a_chunked_response_split_anywhere() {
    check_every_split(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n1\r\n!\r\n0\r\nT: v\r\n\r\n",
        b"hello!",
    );
}

#[test]
fn bytes_after_the_response_in_a_later_piece_prevent_reuse() {
    let (client, d, quiescent, _pump) = in_flight();
    client.data_received(Bytes::from_static(
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\na",
    ));
    client.data_received(Bytes::from_static(b"bcHTTP/1.1"));
    let response = d.take_result().unwrap().unwrap();
    assert_eq!(
        &read_body(&response).take_result().unwrap().unwrap()[..],
        b"abc"
    );
    assert_eq!(quiescent.get(), 0);
    assert!(!client.is_quiescent());
}

/// A body protocol that, on its first piece, hands the client more bytes from inside the
/// client's own parse loop (as an in-memory pump flushed from a callback does).
struct Reentrant {
    client: Rc<HTTP11ClientProtocol>,
    more: RefCell<Option<Bytes>>,
    received: RefCell<Vec<u8>>,
    reason: RefCell<Option<Failure>>,
}

impl IProtocol for Reentrant {
    fn make_connection(&self, _transport: Rc<dyn ITransport>) {}
    fn data_received(&self, data: Bytes) {
        self.received.borrow_mut().extend_from_slice(&data);
        let more = self.more.borrow_mut().take();
        if let Some(more) = more {
            self.client.data_received(more);
        }
    }
    fn connection_lost(&self, reason: Failure) {
        *self.reason.borrow_mut() = Some(reason);
    }
}

#[test]
fn bytes_delivered_from_inside_the_parse_loop_queue_behind_the_rest() {
    let (client, d, quiescent, _pump) = in_flight();
    let body = Rc::new(Reentrant {
        client: client.clone(),
        more: RefCell::new(Some(Bytes::from_static(b"0\r\n\r\n"))),
        received: RefCell::default(),
        reason: RefCell::default(),
    });
    let reader = body.clone();
    let delivered = d.add_callback(move |response: Response| {
        response.deliver_body(reader).map_err(Failure::new)
    });
    // The first body piece is handed out while "\r\n5\r\n56789\r\n" is still unparsed.
    client.data_received(Bytes::from_static(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n5\r\n56789\r\n",
    ));
    delivered.take_result().unwrap().unwrap();
    assert_eq!(&body.received.borrow()[..], b"0123456789");
    let reason = body.reason.borrow().clone().expect("body finished");
    assert!(
        reason.check::<crate::web::error::ResponseDone>(),
        "{reason}"
    );
    assert_eq!(quiescent.get(), 1);
}
