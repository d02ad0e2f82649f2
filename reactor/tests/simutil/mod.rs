//! Helpers shared by the integration tests (each test file uses some of them).
#![allow(dead_code)]

use bytes::Bytes;
use reactor::defer::Failure;
use reactor::interfaces::{IProtocol, ITransport};
use reactor::Reactor;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// Run `reactor` until something stops it, but no longer than `seconds`: returns `true` if the
/// bound was hit (the test should fail then). The bound's timer is cancelled afterwards.
pub fn run_bounded(reactor: &Reactor, seconds: f64) -> bool {
    let hit = Rc::new(Cell::new(false));
    let flag = hit.clone();
    let r = reactor.clone();
    let bound = reactor.call_later(seconds, move || {
        flag.set(true);
        let _ = r.stop();
    });
    reactor.run().expect("reactor was not running");
    if bound.active() {
        bound.cancel().unwrap();
    }
    hit.get()
}

/// `run_bounded` that fails the test when the bound is hit.
pub fn run_until_stopped(reactor: &Reactor, seconds: f64) {
    assert!(
        !run_bounded(reactor, seconds),
        "safety bound of {seconds} s hit: the reactor was never stopped by the test"
    );
}

/// What a [`Recorder`] saw, in order.
#[derive(Debug, Clone)]
pub enum Event {
    /// `make_connection`.
    Connected,
    /// `data_received`.
    Data(Bytes),
    /// `connection_lost`.
    Lost(Failure),
}

/// A protocol that records everything and can greet, echo, or close when told.
#[derive(Default)]
pub struct Recorder {
    pub transport: RefCell<Option<Rc<dyn ITransport>>>,
    pub events: RefCell<Vec<Event>>,
    /// Written from `make_connection`.
    pub greeting: RefCell<Vec<u8>>,
    /// Write back what arrives.
    pub echo: Cell<bool>,
}

impl Recorder {
    /// A recorder, in an `Rc`.
    pub fn new() -> Rc<Recorder> {
        Rc::new(Recorder::default())
    }

    /// An echoing recorder.
    pub fn echo() -> Rc<Recorder> {
        let r = Recorder::new();
        r.echo.set(true);
        r
    }

    /// A recorder that writes `greeting` when connected.
    pub fn greeting(greeting: &[u8]) -> Rc<Recorder> {
        let r = Recorder::new();
        *r.greeting.borrow_mut() = greeting.to_vec();
        r
    }

    /// The transport given to `make_connection`.
    pub fn transport(&self) -> Rc<dyn ITransport> {
        self.transport.borrow().clone().expect("not connected")
    }

    /// All bytes received, joined.
    pub fn received(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for event in self.events.borrow().iter() {
            if let Event::Data(data) = event {
                out.extend_from_slice(data);
            }
        }
        out
    }

    /// The reasons given to `connection_lost`, in order.
    pub fn lost(&self) -> Vec<Failure> {
        self.events
            .borrow()
            .iter()
            .filter_map(|e| match e {
                Event::Lost(f) => Some(f.clone()),
                _ => None,
            })
            .collect()
    }

    /// Whether `connection_lost` came last, after every `data_received`.
    pub fn lost_last(&self) -> bool {
        matches!(self.events.borrow().last(), Some(Event::Lost(_)))
    }
}

impl IProtocol for Recorder {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        self.events.borrow_mut().push(Event::Connected);
        *self.transport.borrow_mut() = Some(transport.clone());
        let greeting = self.greeting.borrow().clone();
        if !greeting.is_empty() {
            transport.write(&greeting);
        }
    }

    fn data_received(&self, data: Bytes) {
        self.events.borrow_mut().push(Event::Data(data.clone()));
        if self.echo.get() {
            let transport = self.transport.borrow().clone();
            if let Some(transport) = transport {
                transport.write(&data);
            }
        }
    }

    fn connection_lost(&self, reason: Failure) {
        self.events.borrow_mut().push(Event::Lost(reason));
        // A protocol may still poke its transport here; that must be harmless.
        let transport = self.transport.borrow().clone();
        if let Some(transport) = transport {
            transport.write(b"too late");
            transport.lose_connection();
        }
    }
}

/// A safety bound that needs no timer on the reactor (for tests where one would change what is
/// tested): a thread that stops the reactor if [`Watchdog::done`] has not been called within the
/// given time.
pub struct Watchdog {
    done: std::sync::mpsc::Sender<()>,
    fired: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Watchdog {
    /// Start watching `reactor`.
    pub fn start(reactor: &Reactor, seconds: f64) -> Watchdog {
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let fired = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = fired.clone();
        let handle = reactor.handle();
        std::thread::spawn(move || {
            let bound = std::time::Duration::from_secs_f64(seconds);
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(bound) {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                handle.stop();
            }
        });
        Watchdog { done, fired }
    }

    /// The test finished: assert the bound was not hit.
    pub fn done(self) {
        let _ = self.done.send(());
        assert!(
            !self.fired.load(std::sync::atomic::Ordering::SeqCst),
            "safety bound hit: the reactor was stopped by the watchdog"
        );
    }
}
