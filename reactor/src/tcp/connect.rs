//! Outgoing TCP connections: a non-blocking connect with a timeout, cancellable.

use super::TcpTransport;
use crate::defer::{Deferred, Failure};
use crate::error::ConnectError;
use crate::reactor::{Reactor, Readiness};
use crate::timer::DelayedCall;
use mio::event::Event;
use mio::net::TcpStream;
use mio::{Interest, Token};
use socket2::{Domain, Protocol, Socket, Type};
use std::cell::{Cell, RefCell};
use std::io;
use std::net::SocketAddr;
use std::rc::{Rc, Weak};

/// One connection attempt in progress.
struct Connecting {
    reactor: Reactor,
    address: SocketAddr,
    stream: RefCell<Option<TcpStream>>,
    token: Cell<Option<Token>>,
    timer: RefCell<Option<DelayedCall>>,
    result: Deferred<Rc<TcpTransport>>,
    /// An event taken here reported the socket readable (or closed): the transport reads at
    /// once instead of waiting for an event.
    maybe_readable: Cell<bool>,
}

/// Connect to `address`, binding the local side to `bind_address` first when given. The
/// Deferred fires with the connected transport (no protocol attached yet) or fails with a
/// [`ConnectError`]: refused, timed out after `timeout` seconds, cancelled, or another I/O error.
pub(crate) fn connect(
    reactor: &Reactor,
    address: SocketAddr,
    timeout: f64,
    bind_address: Option<SocketAddr>,
) -> Deferred<Rc<TcpTransport>> {
    let stream = match start_connect(address, bind_address) {
        Ok(stream) => stream,
        Err(error) => return Deferred::fail(ConnectError::from_io(address, error)),
    };
    let slot: Rc<RefCell<Weak<Connecting>>> = Rc::new(RefCell::new(Weak::new()));
    let canceller_slot = slot.clone();
    let result = Deferred::with_canceller(move |_| {
        let taken = canceller_slot.borrow().upgrade();
        if let Some(attempt) = taken {
            attempt.finish(Err(Failure::new(ConnectError::Cancelled)));
        }
    });
    let attempt = Rc::new(Connecting {
        reactor: reactor.clone(),
        address,
        stream: RefCell::new(None),
        token: Cell::new(None),
        timer: RefCell::new(None),
        result: result.clone(),
        maybe_readable: Cell::new(false),
    });
    *slot.borrow_mut() = Rc::downgrade(&attempt);
    let mut stream = stream;
    let handler: Rc<dyn Readiness> = attempt.clone();
    match reactor.register(
        &mut stream,
        Interest::READABLE | Interest::WRITABLE,
        handler,
    ) {
        Ok(token) => attempt.token.set(Some(token)),
        Err(error) => return Deferred::fail(ConnectError::from_io(address, error)),
    }
    *attempt.stream.borrow_mut() = Some(stream);
    let weak = Rc::downgrade(&attempt);
    let timer = reactor.call_later(timeout, move || {
        if let Some(attempt) = weak.upgrade() {
            attempt.finish(Err(Failure::new(ConnectError::Timeout {
                address: Some(address),
                seconds: timeout,
            })));
        }
    });
    *attempt.timer.borrow_mut() = Some(timer);
    result
}

fn start_connect(address: SocketAddr, bind_address: Option<SocketAddr>) -> io::Result<TcpStream> {
    // Non-blocking from the start where the OS can say so in socket(2): no fcntl calls.
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM.nonblocking(),
        Some(Protocol::TCP),
    )?;
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    let socket = {
        let socket = Socket::new(
            Domain::for_address(address),
            Type::STREAM,
            Some(Protocol::TCP),
        )?;
        socket.set_nonblocking(true)?;
        socket
    };
    if let Some(bind) = bind_address {
        socket.bind(&bind.into())?;
    }
    match socket.connect(&address.into()) {
        Ok(()) => {}
        Err(e) if in_progress(&e) => {}
        Err(e) => return Err(e),
    }
    Ok(TcpStream::from_std(socket.into()))
}

#[cfg(unix)]
fn in_progress(error: &io::Error) -> bool {
    error.raw_os_error() == Some(libc::EINPROGRESS)
}

#[cfg(not(unix))]
fn in_progress(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::WouldBlock
}

impl Connecting {
    /// Done, one way or the other: stop the timer, hand over or close the socket, fire.
    fn finish(&self, outcome: Result<(), Failure>) {
        let taken = self.timer.borrow_mut().take();
        if let Some(timer) = taken {
            let _ = timer.cancel();
        }
        let stream = self.stream.borrow_mut().take();
        let token = self.token.take();
        let (Some(mut stream), Some(token)) = (stream, token) else {
            return;
        };
        let result = match outcome {
            Ok(()) => TcpTransport::from_registered(
                &self.reactor,
                stream,
                token,
                Some(self.address),
                self.maybe_readable.get(),
            )
            .ok_or_else(|| {
                Failure::new(ConnectError::Io {
                    address: Some(self.address),
                    error: io::Error::other("the connecting socket lost its registration"),
                })
            }),
            Err(failure) => {
                self.reactor.deregister(&mut stream, token);
                Err(failure)
            }
        };
        let _ = self.result.fire(result);
    }

    /// Whether the connect finished. `writable` says the event reported the socket writable
    /// without an error or a hang-up: on Linux that means connected (epoll reports a connecting
    /// socket writable only once the handshake is over, and a failed one with `EPOLLERR`), so
    /// neither the pending error (`getsockopt(SO_ERROR)`) nor `getpeername` is asked for.
    fn check(&self, writable: bool) {
        let status = match self.stream.borrow().as_ref() {
            Some(_) if writable && cfg!(target_os = "linux") => Ok(true),
            Some(stream) => match stream.take_error() {
                Ok(Some(error)) | Err(error) => Err(error),
                Ok(None) => match stream.peer_addr() {
                    Ok(_) => Ok(true),
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
                    Err(e) => Err(e),
                },
            },
            None => return,
        };
        match status {
            Ok(true) => self.finish(Ok(())),
            Ok(false) => {}
            Err(error) => self.finish(Err(Failure::new(ConnectError::from_io(
                self.address,
                error,
            )))),
        }
    }
}

impl Readiness for Connecting {
    fn ready(self: Rc<Self>, event: &Event) {
        if event.is_readable() || event.is_read_closed() || event.is_error() {
            self.maybe_readable.set(true);
        }
        self.check(event.is_writable() && !event.is_error() && !event.is_write_closed());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interfaces::{IConnection, IProtocol, ITransport};
    use bytes::Bytes;
    use std::io::Write;

    /// Keeps what arrives; stops the reactor on the first piece.
    struct Keep {
        reactor: Reactor,
        received: RefCell<Vec<u8>>,
    }

    impl IProtocol for Keep {
        fn make_connection(&self, _transport: Rc<dyn ITransport>) {}
        fn data_received(&self, data: Bytes) {
            self.received.borrow_mut().extend_from_slice(&data);
            let _ = self.reactor.stop();
        }
        fn connection_lost(&self, _reason: Failure) {
            let _ = self.reactor.stop();
        }
    }

    /// Connect to `listener` and run the loop until the transport is there; `greeting` is
    /// sent by the peer (accepted here) before the loop first polls.
    fn connected(
        reactor: &Reactor,
        listener: &std::net::TcpListener,
        greeting: &[u8],
    ) -> (Rc<TcpTransport>, std::net::TcpStream) {
        let attempt = connect(reactor, listener.local_addr().unwrap(), 5.0, None);
        let (mut peer, _) = listener.accept().unwrap();
        if !greeting.is_empty() {
            peer.write_all(greeting).unwrap();
        }
        let slot = Rc::new(RefCell::new(None));
        let (r, into) = (reactor.clone(), slot.clone());
        attempt.add_callback(move |transport: Rc<TcpTransport>| {
            *into.borrow_mut() = Some(transport);
            let _ = r.stop();
        });
        run_bounded(reactor);
        let transport = slot.borrow_mut().take().expect("connected");
        (transport, peer)
    }

    /// Run the loop until something stops it; fail the test after 10 s.
    fn run_bounded(reactor: &Reactor) {
        let r = reactor.clone();
        let timeout = reactor.call_later(10.0, move || {
            let _ = r.stop();
        });
        reactor.run().unwrap();
        assert!(timeout.cancel().is_ok(), "timed out");
    }

    fn keep(reactor: &Reactor) -> Rc<Keep> {
        Rc::new(Keep {
            reactor: reactor.clone(),
            received: RefCell::new(Vec::new()),
        })
    }

    #[test]
    fn a_new_connection_reads_only_once_readiness_says_so() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let reactor = Reactor::new();
        let (transport, mut peer) = connected(&reactor, &listener, b"");
        let protocol = keep(&reactor);
        transport.clone().attach_protocol(protocol.clone());
        assert!(
            !transport.read_scheduled_for_test(),
            "no read that could only say WouldBlock"
        );
        // What the peer sends later comes with its own event.
        peer.write_all(b"later").unwrap();
        run_bounded(&reactor);
        assert_eq!(&protocol.received.borrow()[..], b"later");
    }

    #[test]
    fn bytes_the_connect_event_reported_are_read_on_attaching() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let reactor = Reactor::new();
        // The greeting is there before the first poll: the event that says "connected" also
        // says "readable", and no other event will.
        let (transport, _peer) = connected(&reactor, &listener, b"hello");
        let protocol = keep(&reactor);
        transport.clone().attach_protocol(protocol.clone());
        assert!(transport.read_scheduled_for_test());
        run_bounded(&reactor);
        assert_eq!(&protocol.received.borrow()[..], b"hello");
    }
}
