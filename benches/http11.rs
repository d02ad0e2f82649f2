//! Micro-benchmarks of the HTTP/1.1 hot paths: `cargo bench --bench http11`.
//!
//! Plain `Instant` timing (no harness), as `reactor/benches/deferred.rs`: each case runs a
//! warm-up of a tenth of its iterations, then the measured loop, and prints the time per
//! operation (and per byte where bytes are the unit of work).

use bytes::{Bytes, BytesMut};
use reactor::defer::{Deferred, Failure};
use reactor::interfaces::{IProtocol, IStreamClientEndpoint, ITransport};
use reactor::iosim::{connected_server_and_client, IOPump};
use reactor::Reactor;
use std::cell::RefCell;
use std::hint::black_box;
use std::rc::Rc;
use std::time::Instant;
use treq::web::client::{read_body, Agent, EndpointFactory, HTTPConnectionPool};
use treq::web::http11::{
    write_request_head, BodyFraming, RequestHead, ResponseEvent, ResponseParser,
};
use treq::web::http_headers::Headers;
use treq::web::iweb::IAgent;

/// Run `f(i)` for `iterations` values of `i`; print and return the time per iteration in ns.
fn measure(name: &str, iterations: u64, mut f: impl FnMut(u64)) -> f64 {
    for i in 0..iterations / 10 {
        f(i);
    }
    let start = Instant::now();
    for i in 0..iterations {
        f(i);
    }
    let ns = start.elapsed().as_nanos() as f64 / iterations as f64;
    println!("{name:<58} {ns:>9.1} ns/op  ({iterations} iterations)");
    ns
}

/// nginx's answer to `GET /small` in the referee (its head is 239 bytes).
const SMALL_RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nServer: nginx\r\n\
Date: Tue, 01 Dec 2026 20:00:00 GMT\r\nContent-Type: application/octet-stream\r\n\
Content-Length: 13\r\nLast-Modified: Tue, 01 Dec 2026 19:00:00 GMT\r\n\
Connection: keep-alive\r\nETag: \"692df0c0-d\"\r\nAccept-Ranges: bytes\r\n\r\nHello, world!";

/// Parse one whole response from `buf`, returning the body bytes seen.
fn parse_all<B: treq::web::http11::ReadBuffer>(buf: &mut B) -> usize {
    let mut parser = ResponseParser::new(false);
    let mut body = 0;
    loop {
        match parser.parse(buf).expect("valid response") {
            ResponseEvent::Head(head) => {
                black_box(head);
            }
            ResponseEvent::Body(data) => body += data.len(),
            ResponseEvent::Done { .. } => return body,
            ResponseEvent::NeedMore => unreachable!("the whole response is there"),
        }
    }
}

fn parsing() {
    let small = Bytes::from_static(SMALL_RESPONSE);
    let ns = measure(
        "parse a small response (nginx head + 13 B) from Bytes",
        1_000_000,
        |_| {
            let mut buf = small.clone();
            black_box(parse_all(&mut buf));
        },
    );
    println!(
        "{:<58} {:>9.2} ns/byte",
        "  (per byte of the response)",
        ns / SMALL_RESPONSE.len() as f64
    );
    measure(
        "the same from a BytesMut (bytes copied in first)",
        1_000_000,
        |_| {
            let mut buf = BytesMut::from(SMALL_RESPONSE);
            black_box(parse_all(&mut buf));
        },
    );
    // 1 MiB chunked in 16 KiB chunks, parsed in place.
    let mut chunked = BytesMut::from(&b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"[..]);
    for _ in 0..64 {
        chunked.extend_from_slice(b"4000\r\n");
        chunked.extend_from_slice(&[b'x'; 16 * 1024]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let chunked = chunked.freeze();
    let ns = measure("parse a 1 MiB chunked body (16 KiB chunks)", 20_000, |_| {
        let mut buf = chunked.clone();
        black_box(parse_all(&mut buf));
    });
    println!(
        "{:<58} {:>9.4} ns/byte",
        "  (per byte of the response)",
        ns / chunked.len() as f64
    );
}

fn head_writing() {
    let headers = Headers::try_from([("User-Agent", "treq-rs"), ("Accept", "*/*")]).unwrap();
    let mut out = BytesMut::with_capacity(256);
    measure(
        "write a GET head (Host + 2 headers) into a reused buffer",
        2_000_000,
        |_| {
            out.clear();
            let head = RequestHead {
                method: b"GET",
                target: b"/small?q=1",
                host: b"127.0.0.1:18080",
                headers: &headers,
                framing: BodyFraming::None,
                keep_alive: true,
            };
            write_request_head(&head, &mut out).unwrap();
            black_box(&out);
        },
    );
}

/// Answers every request head with the small response.
#[derive(Default)]
struct AutoServer {
    transport: RefCell<Option<Rc<dyn ITransport>>>,
}

impl IProtocol for AutoServer {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        *self.transport.borrow_mut() = Some(transport);
    }
    fn data_received(&self, data: Bytes) {
        if data.ends_with(b"\r\n\r\n") {
            let transport = self.transport.borrow().clone();
            if let Some(t) = transport {
                t.write(SMALL_RESPONSE);
            }
        }
    }
    fn connection_lost(&self, _reason: Failure) {}
}

/// Connects every request to a new in-memory [`AutoServer`].
#[derive(Default)]
struct MemoryEndpoint {
    pumps: Rc<RefCell<Vec<IOPump>>>,
}

impl IStreamClientEndpoint for MemoryEndpoint {
    fn connect(&self, protocol: Rc<dyn IProtocol>) -> Deferred<()> {
        let (_server, _client, pump) =
            connected_server_and_client(Rc::new(AutoServer::default()), protocol);
        self.pumps.borrow_mut().push(pump);
        Deferred::succeed(())
    }
}

struct MemoryFactory(Rc<RefCell<Vec<IOPump>>>);

impl EndpointFactory for MemoryFactory {
    fn endpoint_for_uri(
        &self,
        _scheme: &str,
        _host: &str,
        _port: u16,
    ) -> Result<Rc<dyn IStreamClientEndpoint>, Failure> {
        Ok(Rc::new(MemoryEndpoint {
            pumps: self.0.clone(),
        }))
    }
}

fn agent_round_trip() {
    let reactor = Reactor::new();
    let pumps: Rc<RefCell<Vec<IOPump>>> = Rc::default();
    let pool = HTTPConnectionPool::new(&reactor, true);
    let agent = Agent::using_endpoint_factory(
        &reactor,
        Rc::new(MemoryFactory(pumps.clone())),
        pool.clone(),
    );
    measure(
        "Agent GET over an in-memory connection, body read",
        200_000,
        |_| {
            let d = agent
                .request("GET", "http://127.0.0.1:18080/small", None, None)
                .add_callback(|response| read_body(&response));
            for pump in pumps.borrow().iter() {
                pump.flush().unwrap();
            }
            black_box(d.take_result().expect("fired").expect("body"));
        },
    );
    assert_eq!(
        pumps.borrow().len(),
        1,
        "one connection, checked out and in"
    );
}

fn main() {
    println!("HTTP/1.1 micro-benchmarks");
    parsing();
    head_writing();
    agent_round_trip();
}
