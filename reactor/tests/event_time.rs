//! `Reactor::event_seconds`: one reading of the clock for everything one I/O event causes, and
//! fresh readings everywhere else. Real sockets on 127.0.0.1.

use bytes::Bytes;
use reactor::defer::{Deferred, Failure};
use reactor::interfaces::{IProtocol, IReactorTime, ITransport};
use reactor::protocol::{ClientFactory, ProtocolFactory};
use reactor::Reactor;
use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::rc::Rc;
use std::thread;

/// Waits (without sleeping) until `reactor.seconds()` is past `t`: the clock has nanosecond
/// resolution, so this takes a few readings.
fn wait_past(reactor: &Reactor, t: f64) -> f64 {
    for _ in 0..10_000_000 {
        let now = reactor.seconds();
        if now > t {
            return now;
        }
    }
    panic!("the clock did not move");
}

/// In `data_received`, reads the event time, lets the clock move, reads it again; answers the
/// first piece with one byte.
struct Stamper {
    reactor: Reactor,
    transport: RefCell<Option<Rc<dyn ITransport>>>,
    /// (event time, event time after the clock moved, the clock then)
    readings: RefCell<Vec<(f64, f64, f64)>>,
    done: Deferred<()>,
    fired: Cell<bool>,
}

impl IProtocol for Stamper {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        *self.transport.borrow_mut() = Some(transport);
    }
    fn data_received(&self, data: Bytes) {
        let first = self.reactor.event_seconds();
        let later = wait_past(&self.reactor, first);
        let again = IReactorTime::event_seconds(&self.reactor);
        self.readings.borrow_mut().push((first, again, later));
        if data.starts_with(b"hello") {
            if let Some(transport) = self.transport.borrow().as_ref() {
                transport.write(b"!");
            }
        }
        if data.ends_with(b"again") && !self.fired.replace(true) {
            let _ = self.done.callback(());
        }
    }
    fn connection_lost(&self, _reason: Failure) {}
}

struct Factory(Rc<Stamper>);
impl ProtocolFactory for Factory {
    fn build_protocol(&self, _addr: SocketAddr) -> Rc<dyn IProtocol> {
        self.0.clone()
    }
}
impl ClientFactory for Factory {
    fn client_connection_failed(&self, _reason: Failure) {
        let _ = self.0.done.callback(());
    }
}

#[test]
fn one_event_reads_the_clock_once_and_timers_read_it_afresh() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // The second piece is sent after the client answered the first, so it arrives through a
    // readiness event of the registered socket (the first may be read by a `call_soon` call).
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.write_all(b"hello").unwrap();
        let mut answer = [0u8; 1];
        stream.read_exact(&mut answer).unwrap();
        stream.write_all(b"again").unwrap();
    });
    let reactor = Reactor::new();
    let stamper = Rc::new(Stamper {
        reactor: reactor.clone(),
        transport: RefCell::new(None),
        readings: RefCell::new(Vec::new()),
        done: Deferred::new(),
        fired: Cell::new(false),
    });
    let _connecting = reactor.connect_tcp(
        "127.0.0.1",
        port,
        Rc::new(Factory(stamper.clone())),
        5.0,
        None,
    );
    // In a timer the event time is the clock's time, read on every call.
    let in_timer = Rc::new(RefCell::new(None));
    let (r, seen) = (reactor.clone(), in_timer.clone());
    stamper.done.clone().add_both(move |_| {
        let r2 = r.clone();
        r.call_later(0.0, move || {
            let first = r2.event_seconds();
            wait_past(&r2, first);
            *seen.borrow_mut() = Some((first, r2.event_seconds()));
            let _ = r2.stop();
        });
    });
    let r = reactor.clone();
    let timeout = reactor.call_later(10.0, move || {
        let _ = r.stop();
    });
    reactor.run().unwrap();
    assert!(timeout.active(), "timed out");

    let readings = stamper.readings.borrow();
    assert!(readings.len() >= 2, "both pieces arrived: {readings:?}");
    for &(first, again, later) in readings.iter() {
        assert_eq!(first, again, "one event, one reading");
        assert!(later > first, "the clock itself moved on");
    }
    let (first, second) = in_timer.borrow().expect("the timer ran");
    assert!(second > first, "a timer's readings are fresh");
    assert!(first > readings[0].2, "the timer came after the event");
    // Outside the reactor, fresh too.
    let outside = reactor.event_seconds();
    assert!(wait_past(&reactor, outside) > outside);
    assert!(reactor.event_seconds() > outside);
}
