//! HostnameEndpoint's happy-eyeballs schedule, failures, timeout and cancellation, driven by a
//! `Clock` with a fake TCP layer and resolver (no sockets).

use bytes::Bytes;
use reactor::connect_timings::ConnectTimings;
use reactor::defer::{Deferred, Failure};
use reactor::endpoints::HostnameEndpoint;
use reactor::error::{ConnectError, DNSLookupError};
use reactor::interfaces::{
    IConnection, IConsumer, IProducer, IProtocol, IPushProducer, IReactorTCP, IResolver,
    IStreamClientEndpoint, ITransport, Producer,
};
use reactor::task::Clock;
use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;

/// A connection that only records what is done to it.
#[derive(Default)]
struct FakeConnection {
    attached: Cell<bool>,
    aborted: Cell<bool>,
}

impl IConsumer for FakeConnection {
    fn register_producer(&self, _producer: Producer) {}
    fn unregister_producer(&self) {}
    fn write(&self, _data: &[u8]) {}
}
impl IProducer for FakeConnection {
    fn stop_producing(&self) {}
}
impl IPushProducer for FakeConnection {
    fn pause_producing(&self) {}
    fn resume_producing(&self) {}
}
impl ITransport for FakeConnection {
    fn write_sequence(&self, _data: &[&[u8]]) {}
    fn lose_connection(&self) {}
    fn abort_connection(&self) {
        self.aborted.set(true);
    }
    fn get_peer(&self) -> Option<SocketAddr> {
        None
    }
    fn get_host(&self) -> Option<SocketAddr> {
        None
    }
}
impl IConnection for FakeConnection {
    fn attach_protocol(self: Rc<Self>, protocol: Rc<dyn IProtocol>) {
        self.attached.set(true);
        protocol.make_connection(self);
    }
}

struct Attempt {
    address: SocketAddr,
    started_at: f64,
    result: Deferred<Rc<dyn IConnection>>,
    cancelled: Rc<Cell<bool>>,
}

/// Records connection attempts; the test decides how each ends.
struct FakeTcp {
    clock: Clock,
    attempts: RefCell<Vec<Rc<Attempt>>>,
}

impl IReactorTCP for FakeTcp {
    fn connect_tcp_address(
        &self,
        address: SocketAddr,
        _timeout: f64,
        _bind_address: Option<SocketAddr>,
    ) -> Deferred<Rc<dyn IConnection>> {
        let cancelled = Rc::new(Cell::new(false));
        let flag = cancelled.clone();
        let result = Deferred::with_canceller(move |_| flag.set(true));
        self.attempts.borrow_mut().push(Rc::new(Attempt {
            address,
            started_at: self.clock.seconds(),
            result: result.clone(),
            cancelled,
        }));
        result
    }
}

struct FakeResolver {
    answer: RefCell<Option<Deferred<Vec<SocketAddr>>>>,
}

impl IResolver for FakeResolver {
    fn resolve_host_name(&self, _host: &str, _port: u16) -> Deferred<Vec<SocketAddr>> {
        self.answer.borrow_mut().take().expect("one lookup")
    }
}

#[derive(Default)]
struct Proto {
    made: Cell<bool>,
}
impl IProtocol for Proto {
    fn make_connection(&self, _transport: Rc<dyn ITransport>) {
        self.made.set(true);
    }
    fn data_received(&self, _data: Bytes) {}
    fn connection_lost(&self, _reason: Failure) {}
}

struct Setup {
    clock: Clock,
    tcp: Rc<FakeTcp>,
    endpoint: HostnameEndpoint,
    resolution: Deferred<Vec<SocketAddr>>,
}

fn setup(timeout: f64) -> Setup {
    let clock = Clock::new();
    let tcp = Rc::new(FakeTcp {
        clock: clock.clone(),
        attempts: RefCell::new(Vec::new()),
    });
    let resolution = Deferred::new();
    let resolver = Rc::new(FakeResolver {
        answer: RefCell::new(Some(resolution.clone())),
    });
    let endpoint = HostnameEndpoint::with_parts(
        Rc::new(clock.clone()),
        tcp.clone(),
        resolver,
        "example.test",
        80,
    )
    .timeout(timeout);
    Setup {
        clock,
        tcp,
        endpoint,
        resolution,
    }
}

fn addrs(list: &[&str]) -> Vec<SocketAddr> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

fn attempt(s: &Setup, i: usize) -> Rc<Attempt> {
    s.tcp.attempts.borrow()[i].clone()
}

#[test]
fn attempts_interleave_families_every_300_ms_and_the_first_to_connect_wins() {
    let s = setup(30.0);
    let proto = Rc::new(Proto::default());
    let d = s.endpoint.connect(proto.clone());
    assert!(
        s.tcp.attempts.borrow().is_empty(),
        "nothing before resolution"
    );
    s.resolution
        .callback(addrs(&[
            "[::1]:80",
            "[::2]:80",
            "127.0.0.1:80",
            "127.0.0.2:80",
        ]))
        .unwrap();
    assert_eq!(s.tcp.attempts.borrow().len(), 1);
    s.clock.advance(0.29);
    assert_eq!(s.tcp.attempts.borrow().len(), 1);
    s.clock.advance(0.01);
    assert_eq!(s.tcp.attempts.borrow().len(), 2);
    s.clock.advance(0.3);
    assert_eq!(s.tcp.attempts.borrow().len(), 3);
    let order: Vec<String> = s
        .tcp
        .attempts
        .borrow()
        .iter()
        .map(|a| a.address.to_string())
        .collect();
    assert_eq!(order, ["[::1]:80", "127.0.0.1:80", "[::2]:80"]);
    let times: Vec<f64> = s
        .tcp
        .attempts
        .borrow()
        .iter()
        .map(|a| a.started_at)
        .collect();
    assert!(
        (times[1] - 0.3).abs() < 1e-9 && (times[2] - 0.6).abs() < 1e-9,
        "{times:?}"
    );

    // The second attempt connects: it wins, the others are cancelled, no fourth starts.
    let winner = Rc::new(FakeConnection::default());
    attempt(&s, 1).result.callback(winner.clone()).unwrap();
    assert!(d.take_result().unwrap().is_ok());
    assert!(winner.attached.get() && proto.made.get());
    assert!(attempt(&s, 0).cancelled.get() && attempt(&s, 2).cancelled.get());
    s.clock.advance(5.0);
    assert_eq!(s.tcp.attempts.borrow().len(), 3);
    assert!(s.clock.get_delayed_calls().is_empty(), "timers cleaned up");
}

#[test]
fn a_failed_attempt_starts_the_next_at_once_and_the_last_failure_is_reported() {
    let s = setup(30.0);
    let d = s.endpoint.connect(Rc::new(Proto::default()));
    s.resolution
        .callback(addrs(&["127.0.0.1:80", "127.0.0.2:80"]))
        .unwrap();
    let refused = |a: &str| ConnectError::ConnectionRefused {
        address: a.parse().unwrap(),
    };
    attempt(&s, 0)
        .result
        .errback(refused("127.0.0.1:80"))
        .unwrap();
    assert_eq!(
        s.tcp.attempts.borrow().len(),
        2,
        "next attempt without waiting"
    );
    assert_eq!(s.clock.seconds(), 0.0);
    attempt(&s, 1)
        .result
        .errback(refused("127.0.0.2:80"))
        .unwrap();
    let failure = d.take_result().unwrap().err().unwrap();
    match failure.value::<ConnectError>() {
        Some(ConnectError::ConnectionRefused { address }) => {
            assert_eq!(address.to_string(), "127.0.0.2:80")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_timeout_covers_everything_and_cancels_the_attempts() {
    let s = setup(2.0);
    let d = s.endpoint.connect(Rc::new(Proto::default()));
    s.resolution.callback(addrs(&["127.0.0.1:80"])).unwrap();
    s.clock.advance(1.9);
    assert!(!d.called());
    s.clock.advance(0.1);
    let failure = d.take_result().unwrap().err().unwrap();
    assert!(matches!(
        failure.value::<ConnectError>(),
        Some(ConnectError::Timeout { address: None, .. })
    ));
    assert!(attempt(&s, 0).cancelled.get());
}

#[test]
fn a_resolver_that_never_answers_is_bounded_by_the_timeout() {
    let s = setup(1.0);
    let d = s.endpoint.connect(Rc::new(Proto::default()));
    s.clock.advance(1.0);
    assert!(d.take_result().unwrap().is_err());
    assert!(s.resolution.called(), "resolution cancelled");
}

#[test]
fn cancelling_stops_connecting() {
    let s = setup(30.0);
    let d = s.endpoint.connect(Rc::new(Proto::default()));
    s.resolution
        .callback(addrs(&["127.0.0.1:80", "127.0.0.2:80"]))
        .unwrap();
    d.cancel();
    let failure = d.take_result().unwrap().err().unwrap();
    assert!(matches!(
        failure.value::<ConnectError>(),
        Some(ConnectError::Cancelled)
    ));
    assert!(attempt(&s, 0).cancelled.get());
    s.clock.advance(1.0);
    assert_eq!(s.tcp.attempts.borrow().len(), 1, "no attempt after cancel");
}

#[test]
fn dns_failure_is_reported_as_is() {
    let s = setup(30.0);
    let d = s.endpoint.connect(Rc::new(Proto::default()));
    s.resolution
        .errback(DNSLookupError {
            name: "example.test".into(),
            message: "no such host".into(),
        })
        .unwrap();
    let failure = d.take_result().unwrap().err().unwrap();
    assert!(failure.check::<DNSLookupError>());
}

#[test]
fn a_connection_that_wins_too_late_is_aborted() {
    let s = setup(30.0);
    let d = s.endpoint.connect(Rc::new(Proto::default()));
    s.resolution
        .callback(addrs(&["127.0.0.1:80", "127.0.0.2:80"]))
        .unwrap();
    s.clock.advance(0.3);
    let first = Rc::new(FakeConnection::default());
    attempt(&s, 0).result.callback(first.clone()).unwrap();
    assert!(d.take_result().unwrap().is_ok());
    // The canceller of the fake does not fire the attempt; it connects anyway afterwards.
    let late = Rc::new(FakeConnection::default());
    let _ = attempt(&s, 1).result.callback(late.clone());
    assert!(!late.attached.get());
}

#[test]
fn connect_timed_stamps_the_resolution_and_the_winning_connect_on_the_clock() {
    let s = setup(30.0);
    let proto = Rc::new(Proto::default());
    let timings = ConnectTimings::new(Rc::new(s.clock.clone()));
    let d = s.endpoint.connect_timed(proto.clone(), &timings);
    s.clock.advance(0.25);
    assert_eq!(timings.name_resolved(), None, "not resolved yet");
    s.resolution
        .callback(addrs(&["[::1]:80", "127.0.0.1:80"]))
        .unwrap();
    assert_eq!(timings.name_resolved(), Some(0.25));
    s.clock.advance(0.5);
    // The second address (started at 0.55) wins at 0.75; the first then connects too late.
    attempt(&s, 1)
        .result
        .callback(Rc::new(FakeConnection::default()))
        .unwrap();
    assert!(d.take_result().unwrap().is_ok());
    assert!(proto.made.get());
    assert_eq!(timings.connected(), Some(0.75));
    assert_eq!(timings.tls_established(), None);
    s.clock.advance(1.0);
    let _ = attempt(&s, 0)
        .result
        .callback(Rc::new(FakeConnection::default()));
    assert_eq!(timings.connected(), Some(0.75), "the winner's time stays");
}

#[test]
fn a_connect_that_times_out_has_a_resolution_time_and_no_connect_time() {
    let s = setup(1.0);
    let timings = ConnectTimings::new(Rc::new(s.clock.clone()));
    let d = s
        .endpoint
        .connect_timed(Rc::new(Proto::default()), &timings);
    s.resolution.callback(addrs(&["127.0.0.1:80"])).unwrap();
    s.clock.advance(1.0);
    let failure = d.take_result().unwrap().unwrap_err();
    assert!(failure.check::<ConnectError>(), "{failure}");
    assert_eq!(timings.name_resolved(), Some(0.0));
    assert_eq!(timings.connected(), None);
}
