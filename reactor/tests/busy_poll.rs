//! Busy polling (`Reactor::set_busy_poll`): the loop spins for the reply while exactly one
//! connection waits for it, stops spinning after a slow answer, and starts again once answers
//! come quickly. Real sockets on 127.0.0.1, with an echo server on its own thread.

mod netutil;

use bytes::Bytes;
use netutil::run_until;
use reactor::defer::{gather_results, Deferred, Failure};
use reactor::interfaces::{IProtocol, ITransport};
use reactor::protocol::{ClientFactory, ProtocolFactory};
use reactor::{BusyPollStats, Reactor, DEFAULT_BUSY_POLL};
use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::rc::Rc;
use std::thread;
use std::time::Duration;

/// Sends one byte, and another each time one comes back, `rounds` times.
struct PingPong {
    transport: RefCell<Option<Rc<dyn ITransport>>>,
    answers: Cell<usize>,
    rounds: usize,
    /// Write the first ping only when told (`start`), not on connecting.
    wait_to_start: bool,
    done: Deferred<()>,
}

impl PingPong {
    fn new(rounds: usize, wait_to_start: bool) -> Rc<PingPong> {
        Rc::new(PingPong {
            transport: RefCell::new(None),
            answers: Cell::new(0),
            rounds,
            wait_to_start,
            done: Deferred::new(),
        })
    }

    fn start(&self) {
        if let Some(transport) = self.transport.borrow().as_ref() {
            transport.write(b"p");
        }
    }
}

impl IProtocol for PingPong {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        *self.transport.borrow_mut() = Some(transport);
        if !self.wait_to_start {
            self.start();
        }
    }
    fn data_received(&self, data: Bytes) {
        self.answers.set(self.answers.get() + data.len());
        if self.answers.get() < self.rounds {
            self.start();
        } else {
            let _ = self.done.callback(());
        }
    }
    fn connection_lost(&self, _reason: Failure) {
        let _ = self.done.callback(());
    }
}

struct Factory(Rc<PingPong>);
impl ProtocolFactory for Factory {
    fn build_protocol(&self, _addr: SocketAddr) -> Rc<dyn IProtocol> {
        self.0.clone()
    }
}
impl ClientFactory for Factory {}

/// An echo server for `connections` clients on its own thread; the answer to the `n`th byte
/// of a connection waits `delay(n)` first.
fn echo_server(connections: usize, delay: fn(usize) -> Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for _ in 0..connections {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            thread::spawn(move || {
                let mut byte = [0u8; 1];
                let mut n = 0;
                while let Ok(1) = stream.read(&mut byte) {
                    thread::sleep(delay(n));
                    n += 1;
                    if stream.write_all(&byte).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// Play `rounds` ping-pongs on each of `clients` connections to `port` (all start together once
/// every one is connected when there are several), with the spin budget `budget`; the stats.
fn play(port: u16, clients: usize, rounds: usize, budget: Duration) -> BusyPollStats {
    let reactor = Reactor::new();
    reactor.set_busy_poll(budget);
    let players: Vec<Rc<PingPong>> = (0..clients)
        .map(|_| PingPong::new(rounds, clients > 1))
        .collect();
    let all = Rc::new(Cell::new(0usize));
    for player in &players {
        let factory = Rc::new(Factory(player.clone()));
        let connecting = reactor.connect_tcp("127.0.0.1", port, factory, 5.0, None);
        let (all, players, done) = (all.clone(), players.clone(), player.done.clone());
        connecting.add_both(move |connected: Result<Rc<dyn IProtocol>, Failure>| {
            if connected.is_err() {
                // Nothing to play: the count of answers says the test failed.
                let _ = done.callback(());
                return;
            }
            all.set(all.get() + 1);
            if all.get() == players.len() && players.len() > 1 {
                players.iter().for_each(|p| p.start());
            }
        });
    }
    let all_done = gather_results(players.iter().map(|p| p.done.clone()).collect(), true);
    run_until(&reactor, all_done, 20.0).expect("every connection finished");
    for player in &players {
        assert_eq!(player.answers.get(), rounds, "every ping was answered");
    }
    reactor.busy_poll_stats()
}

fn at_once(_n: usize) -> Duration {
    Duration::ZERO
}

#[test]
fn a_new_reactor_spins_for_the_default_budget() {
    assert_eq!(Reactor::new().busy_poll(), DEFAULT_BUSY_POLL);
    assert_eq!(DEFAULT_BUSY_POLL, Duration::from_micros(50));
}

#[test]
fn a_lone_exchange_spins_for_its_reply() {
    let port = echo_server(1, at_once);
    // A budget far above a loopback round trip: even on a loaded machine most replies come
    // within it, and one that does not makes the loop block, not fail.
    let stats = play(port, 1, 50, Duration::from_millis(20));
    assert!(stats.hits >= 1, "{stats:?}");
    assert!(
        stats.hits + stats.misses <= 50,
        "one spin per ping at most: {stats:?}"
    );
}

#[test]
fn a_zero_budget_never_spins() {
    let port = echo_server(1, at_once);
    let stats = play(port, 1, 20, Duration::ZERO);
    assert_eq!(stats, BusyPollStats::default());
}

#[test]
fn a_slow_peer_costs_one_spin_then_the_loop_blocks() {
    // Each answer takes 30 ms: the first spin (2 ms) runs out, and the waits that follow take
    // longer than four budgets, so the loop stays cold.
    let port = echo_server(1, |_| Duration::from_millis(30));
    let stats = play(port, 1, 5, Duration::from_millis(2));
    assert_eq!(
        stats,
        BusyPollStats { hits: 0, misses: 1 },
        "one spin ran out, then blocking waits"
    );
}

#[test]
fn quick_answers_after_a_slow_one_turn_spinning_back_on() {
    // The first answer takes 100 ms; the next ones come at once.
    let port = echo_server(1, |n| Duration::from_millis(if n == 0 { 100 } else { 0 }));
    let stats = play(port, 1, 40, Duration::from_millis(20));
    assert!(
        stats.misses >= 1,
        "the slow answer ran the spin out: {stats:?}"
    );
    assert!(stats.hits >= 1, "later answers were spun for: {stats:?}");
}

#[test]
fn several_exchanges_in_flight_do_not_spin() {
    // Eight connections, each one ping at a time, all started together: while more than one
    // waits for its reply the loop blocks. Each answer waits a little, so the connections
    // stay in step and finish together; only the tail, when a single one is left waiting, may
    // spin.
    let port = echo_server(8, |_| Duration::from_millis(1));
    let stats = play(port, 8, 10, Duration::from_millis(20));
    let waits = 8 * 10;
    assert!(
        stats.hits + stats.misses < waits / 4,
        "few spins among {waits} waits: {stats:?}"
    );
}
