//! Socket buffer tuning seen on real sockets: a long download raises the receive buffer, a
//! streamed upload bounds the send buffer, and other traffic leaves both to the kernel.

use super::*;
use crate::tcp::{STREAM_RECEIVE_BUFFER, UPLOAD_SEND_BUFFER};
use std::io::Write;
use std::sync::mpsc;

/// Counts what arrives and stops the reactor once `expected` bytes have.
struct Count {
    reactor: Reactor,
    received: Cell<usize>,
    expected: usize,
}

impl IProtocol for Count {
    fn make_connection(&self, _transport: Rc<dyn ITransport>) {}
    fn data_received(&self, data: bytes::Bytes) {
        self.received.set(self.received.get() + data.len());
        if self.received.get() >= self.expected {
            let _ = self.reactor.stop();
        }
    }
    fn connection_lost(&self, _reason: Failure) {
        let _ = self.reactor.stop();
    }
}

fn receive_buffer(transport: &TcpTransport) -> usize {
    let stream = transport.stream.borrow();
    socket2::SockRef::from(stream.as_ref().unwrap())
        .recv_buffer_size()
        .unwrap()
}

/// A peer on 127.0.0.1 sends `len` bytes and keeps the connection open; returns the
/// receiving socket's buffer size before and after the transport read them all.
fn receive_buffer_around(len: usize) -> (usize, usize) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    let (done, wait) = mpsc::channel::<()>();
    let sender = std::thread::spawn(move || {
        server.write_all(&vec![7u8; len]).unwrap();
        let _ = wait.recv_timeout(std::time::Duration::from_secs(10));
    });
    client.set_nonblocking(true).unwrap();
    let reactor = Reactor::new();
    let transport = TcpTransport::new(&reactor, TcpStream::from_std(client), None).unwrap();
    let before = receive_buffer(&transport);
    let count = Rc::new(Count {
        reactor: reactor.clone(),
        received: Cell::new(0),
        expected: len,
    });
    transport.clone().attach_protocol(count.clone());
    let r = reactor.clone();
    let timeout = reactor.call_later(10.0, move || {
        let _ = r.stop();
    });
    reactor.run().unwrap();
    assert!(timeout.active(), "timed out");
    assert_eq!(count.received.get(), len);
    let after = receive_buffer(&transport);
    done.send(()).unwrap();
    sender.join().unwrap();
    (before, after)
}

fn core_limit(name: &str) -> usize {
    std::fs::read_to_string(format!("/proc/sys/net/core/{name}"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_long_stream_raises_the_receive_buffer_as_far_as_the_system_allows() {
    let (before, after) = receive_buffer_around(8 * 1024 * 1024);
    // The kernel reports the size asked for doubled; never lower than it was.
    let raised = 2 * STREAM_RECEIVE_BUFFER.min(core_limit("rmem_max"));
    assert!(after >= raised.max(before), "{before} -> {after}");
}

#[test]
fn a_response_of_the_burst_size_leaves_the_receive_buffer_alone() {
    let (before, after) = receive_buffer_around(64 * 1024);
    assert!(after < 2 * STREAM_RECEIVE_BUFFER, "{before} -> {after}");
}

/// A push producer that does nothing when paused or resumed.
struct Idle;

impl IProducer for Idle {
    fn stop_producing(&self) {}
}

impl IPushProducer for Idle {
    fn pause_producing(&self) {}
    fn resume_producing(&self) {}
}

/// A transport to a peer on 127.0.0.1 that does not read; `producer` is registered first when
/// given. Writes 4 MiB (more than the socket takes) and returns the send buffer's size before
/// and after.
fn send_buffer_around_a_large_write(producer: bool) -> (usize, usize) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (_server, _) = listener.accept().unwrap();
    client.set_nonblocking(true).unwrap();
    let reactor = Reactor::new();
    let transport = TcpTransport::new(&reactor, TcpStream::from_std(client), None).unwrap();
    let send_buffer = || {
        let stream = transport.stream.borrow();
        socket2::SockRef::from(stream.as_ref().unwrap())
            .send_buffer_size()
            .unwrap()
    };
    let before = send_buffer();
    if producer {
        transport.register_producer(Producer::Push(Rc::new(Idle)));
    }
    transport.write(&vec![1u8; 4 * 1024 * 1024]);
    assert!(transport.write_buffer_len() > 0, "the socket took it all");
    (before, send_buffer())
}

#[test]
fn a_streamed_upload_bounds_the_send_buffer_where_the_system_allows_it() {
    let (before, after) = send_buffer_around_a_large_write(true);
    if core_limit("wmem_max") >= UPLOAD_SEND_BUFFER {
        // The kernel reports the size asked for doubled.
        assert_eq!(after, 2 * UPLOAD_SEND_BUFFER, "{before} -> {after}");
    } else {
        assert_ne!(after, 2 * UPLOAD_SEND_BUFFER, "{before} -> {after}");
    }
}

#[test]
fn a_large_write_without_a_producer_leaves_the_send_buffer_to_the_kernel() {
    let (before, after) = send_buffer_around_a_large_write(false);
    assert_ne!(after, 2 * UPLOAD_SEND_BUFFER, "{before} -> {after}");
}
