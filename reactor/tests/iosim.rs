//! `reactor::iosim`: in-memory connections between a server and a client protocol.

#[path = "simutil/mod.rs"]
mod util;

use reactor::error::{ConnectionAborted, ConnectionDone, ConnectionLost};
use reactor::interfaces::{
    IConsumer, IProducer, IPullProducer, IPushProducer, ITransport, Producer,
};
use reactor::iosim::{
    connect, connected_server_and_client, FakeTransport, IOPump, PumpLimitExceeded,
    DEFAULT_FLUSH_LIMIT,
};
use reactor::task::Clock;
use std::cell::Cell;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;
use util::{Event, Recorder};

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

#[test]
fn echo_pair_round_trips_and_greetings_are_exchanged_by_connect() {
    let server = Recorder::echo();
    let client = Recorder::greeting(b"hello");
    let (_st, _ct, pump) = connected_server_and_client(server.clone(), client.clone());
    // connect() flushed: the greeting went to the server and came back.
    assert_eq!(server.received(), b"hello");
    assert_eq!(client.received(), b"hello");
    assert!(matches!(server.events.borrow()[0], Event::Connected));

    client.transport().write(b" world");
    assert!(pump.flush().unwrap());
    assert_eq!(client.received(), b"hello world");
    assert!(!pump.pump(), "nothing left to move");
    assert!(server.lost().is_empty() && client.lost().is_empty());
}

#[test]
fn one_pump_moves_one_round_each_way() {
    let server = Recorder::echo();
    let client = Recorder::new();
    let (st, ct, pump) = connected_server_and_client(server.clone(), client.clone());
    ct.write(b"ping");
    assert_eq!(ct.buffered(), 4);
    assert!(pump.pump());
    assert_eq!(server.received(), b"ping");
    assert_eq!(st.buffered(), 4, "the echo waits for the next round");
    assert!(client.received().is_empty());
    assert!(pump.pump());
    assert_eq!(client.received(), b"ping");
    assert!(!pump.pump());
}

#[test]
fn addresses_are_loopback_with_distinct_ports_and_mirror_each_other() {
    let (st, ct, _pump) = connected_server_and_client(Recorder::new(), Recorder::new());
    let (server_host, client_host) = (st.get_host().unwrap(), ct.get_host().unwrap());
    assert_eq!(server_host.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_eq!(client_host.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_ne!(server_host.port(), client_host.port());
    assert_eq!(st.get_peer(), Some(client_host));
    assert_eq!(ct.get_peer(), Some(server_host));
    assert!(st.is_server() && !ct.is_server());
}

#[test]
fn write_sequence_appends_in_order() {
    let server = Recorder::new();
    let (_st, ct, pump) = connected_server_and_client(server.clone(), Recorder::new());
    ct.write_sequence(&[b"GET / ", b"HTTP/1.1\r\n", b"", b"\r\n"]);
    pump.flush().unwrap();
    assert_eq!(server.received(), b"GET / HTTP/1.1\r\n\r\n");
}

/// A push producer writing `total` bytes in `chunk`s while not paused, then closing.
struct PushSource {
    transport: Rc<FakeTransport>,
    data: Vec<u8>,
    sent: Cell<usize>,
    chunk: usize,
    paused: Cell<bool>,
    pauses: Cell<u32>,
    resumes: Cell<u32>,
    stopped: Cell<bool>,
    max_buffered: Cell<usize>,
}

impl PushSource {
    fn new(transport: Rc<FakeTransport>, total: usize, chunk: usize) -> Rc<PushSource> {
        Rc::new(PushSource {
            transport,
            data: pattern(total),
            sent: Cell::new(0),
            chunk,
            paused: Cell::new(false),
            pauses: Cell::new(0),
            resumes: Cell::new(0),
            stopped: Cell::new(false),
            max_buffered: Cell::new(0),
        })
    }

    fn produce(&self) {
        while !self.paused.get() && !self.stopped.get() && self.sent.get() < self.data.len() {
            let start = self.sent.get();
            let end = (start + self.chunk).min(self.data.len());
            self.transport.write(&self.data[start..end]);
            self.sent.set(end);
            self.max_buffered
                .set(self.max_buffered.get().max(self.transport.buffered()));
        }
        if self.sent.get() == self.data.len() && !self.stopped.get() {
            self.transport.unregister_producer();
            self.transport.lose_connection();
        }
    }
}

impl IProducer for PushSource {
    fn stop_producing(&self) {
        self.stopped.set(true);
    }
}

impl IPushProducer for PushSource {
    fn pause_producing(&self) {
        assert!(!self.paused.get(), "paused twice");
        self.paused.set(true);
        self.pauses.set(self.pauses.get() + 1);
    }
    fn resume_producing(&self) {
        assert!(self.paused.get(), "resumed while not paused");
        self.paused.set(false);
        self.resumes.set(self.resumes.get() + 1);
        self.produce();
    }
}

#[test]
fn push_producer_is_paused_at_the_high_water_mark_and_resumed_when_drained() {
    const TOTAL: usize = 1 << 20;
    const CHUNK: usize = 4096;
    const HIGH_WATER: usize = 16 * 1024;
    let server = Recorder::new();
    let client = Recorder::new();
    let (st, _ct, pump) = connected_server_and_client(server, client.clone());
    st.set_high_water_mark(HIGH_WATER);
    let source = PushSource::new(st.clone(), TOTAL, CHUNK);
    st.register_producer(Producer::Push(source.clone()));
    source.produce();
    assert!(st.producer_paused() && source.paused.get());
    assert!(st.buffered() > HIGH_WATER);

    pump.flush().unwrap();

    assert_eq!(client.received(), pattern(TOTAL));
    assert!(
        source.max_buffered.get() <= HIGH_WATER + CHUNK,
        "buffer reached {} bytes, bound is {} + one write",
        source.max_buffered.get(),
        HIGH_WATER
    );
    assert!(source.pauses.get() >= (TOTAL / (HIGH_WATER + CHUNK)) as u32 - 1);
    assert_eq!(source.resumes.get(), source.pauses.get());
    assert!(
        !source.stopped.get(),
        "unregistered before the close: not stopped"
    );
    assert_eq!(client.lost().len(), 1);
    assert!(client.lost()[0].check::<ConnectionDone>());
    assert!(client.lost_last());
}

#[test]
fn paused_reader_holds_data_and_pushes_back_on_the_peers_producer() {
    let client = Recorder::new();
    let (st, ct, pump) = connected_server_and_client(Recorder::new(), client.clone());
    st.set_high_water_mark(1000);
    ct.pause_producing();
    assert!(ct.reading_paused());
    let source = PushSource::new(st.clone(), 10_000, 300);
    st.register_producer(Producer::Push(source.clone()));
    source.produce();
    assert!(!pump.pump(), "nothing moves while the client does not read");
    assert!(pump.flush() == Ok(false));
    assert!(client.received().is_empty());
    assert!(source.paused.get());
    assert_eq!(
        st.buffered(),
        1200,
        "four writes: the fourth passed the mark"
    );

    ct.resume_producing();
    pump.flush().unwrap();
    assert_eq!(client.received(), pattern(10_000));
    assert!(client.lost()[0].check::<ConnectionDone>());
}

/// A pull producer writing one chunk per `resume_producing`.
struct PullSource {
    transport: Rc<FakeTransport>,
    chunks: Cell<u32>,
    max_buffered: Cell<usize>,
    stopped: Cell<bool>,
}

impl IProducer for PullSource {
    fn stop_producing(&self) {
        self.stopped.set(true);
    }
}

impl IPullProducer for PullSource {
    fn resume_producing(&self) {
        let n = self.chunks.get();
        if n == 10 {
            self.transport.unregister_producer();
            return;
        }
        self.transport.write(format!("chunk{n};").as_bytes());
        self.chunks.set(n + 1);
        self.max_buffered
            .set(self.max_buffered.get().max(self.transport.buffered()));
    }
}

#[test]
fn pull_producer_is_asked_for_more_each_time_the_buffer_drains() {
    let server = Recorder::new();
    let (_st, ct, pump) = connected_server_and_client(server.clone(), Recorder::new());
    let source = Rc::new(PullSource {
        transport: ct.clone(),
        chunks: Cell::new(0),
        max_buffered: Cell::new(0),
        stopped: Cell::new(false),
    });
    ct.register_producer(Producer::Pull(source.clone()));
    assert_eq!(source.chunks.get(), 1, "asked once on registration");
    assert!(pump.pump());
    assert_eq!(source.chunks.get(), 2, "asked again after the drain");
    pump.flush().unwrap();
    let expected: String = (0..10).map(|n| format!("chunk{n};")).collect();
    assert_eq!(server.received(), expected.as_bytes());
    assert_eq!(source.max_buffered.get(), "chunk0;".len());
    assert!(!ct.has_producer());
    assert!(!source.stopped.get());
}

#[test]
fn lose_connection_delivers_everything_then_connection_done_to_both_once() {
    let server = Recorder::new();
    let client = Recorder::new();
    let (st, ct, pump) = connected_server_and_client(server.clone(), client.clone());
    st.write(b"first ");
    st.write(b"second");
    st.lose_connection();
    st.write(b" third");
    assert!(st.disconnecting());
    assert!(
        client.lost().is_empty(),
        "connection_lost comes later, from a pump"
    );
    pump.flush().unwrap();
    assert_eq!(client.received(), b"first second third");
    for side in [&server, &client] {
        let lost = side.lost();
        assert_eq!(lost.len(), 1);
        assert!(lost[0].check::<ConnectionDone>());
        assert!(side.lost_last());
    }
    assert!(st.disconnected() && ct.disconnected());
    assert!(
        st.protocol().is_none(),
        "the transport let go of its protocol"
    );
    assert_eq!(
        st.buffered(),
        0,
        "the write from connection_lost was ignored"
    );
    assert!(!pump.pump());
    st.lose_connection();
    st.abort_connection();
    assert!(!pump.pump());
    assert_eq!(server.lost().len(), 1);
}

#[test]
fn both_ends_closing_at_once_each_get_one_connection_done() {
    let server = Recorder::new();
    let client = Recorder::new();
    let (st, ct, pump) = connected_server_and_client(server.clone(), client.clone());
    st.lose_connection();
    ct.lose_connection();
    assert!(pump.pump());
    assert!(!pump.pump());
    assert_eq!(server.lost().len(), 1);
    assert_eq!(client.lost().len(), 1);
    assert!(client.lost()[0].check::<ConnectionDone>());
}

#[test]
fn a_closing_end_reads_nothing_more() {
    let server = Recorder::new();
    let (st, ct, pump) = connected_server_and_client(server.clone(), Recorder::new());
    ct.write(b"late request");
    st.lose_connection();
    pump.flush().unwrap();
    assert!(server.received().is_empty());
    assert!(ct.disconnected());
}

#[test]
fn abort_drops_unsent_bytes_and_reports_aborted_and_lost() {
    let server = Recorder::new();
    let client = Recorder::new();
    let (st, ct, pump) = connected_server_and_client(server.clone(), client.clone());
    ct.write(b"never sent");
    ct.abort_connection();
    assert_eq!(ct.buffered(), 0);
    ct.write(b"ignored");
    assert_eq!(ct.buffered(), 0);
    assert!(
        client.lost().is_empty(),
        "connection_lost comes later, from a pump"
    );
    assert!(pump.flush().unwrap());
    assert!(server.received().is_empty());
    let (client_lost, server_lost) = (client.lost(), server.lost());
    assert_eq!(client_lost.len(), 1);
    assert_eq!(server_lost.len(), 1);
    assert!(client_lost[0].check::<ConnectionAborted>());
    let reset = server_lost[0]
        .value::<ConnectionLost>()
        .expect("ConnectionLost");
    assert_eq!(reset.error.kind(), io::ErrorKind::ConnectionReset);
    assert!(st.disconnected() && ct.disconnected());
    assert!(!pump.pump());
}

#[test]
fn abort_reaches_a_paused_peer_but_a_clean_close_waits_for_it_to_read() {
    // Clean close: the paused client sees the EOF only after resuming.
    let client = Recorder::new();
    let (st, ct, pump) = connected_server_and_client(Recorder::new(), client.clone());
    ct.pause_producing();
    st.lose_connection();
    pump.flush().unwrap();
    assert!(st.disconnected());
    assert!(client.lost().is_empty());
    ct.resume_producing();
    pump.flush().unwrap();
    assert!(client.lost()[0].check::<ConnectionDone>());

    // Abort: the paused client hears of it at once.
    let client = Recorder::new();
    let (st, ct, pump) = connected_server_and_client(Recorder::new(), client.clone());
    ct.pause_producing();
    st.abort_connection();
    pump.flush().unwrap();
    assert!(client.lost()[0].check::<ConnectionLost>());
}

#[test]
fn pause_producing_stops_delivery_until_resumed() {
    let server = Recorder::new();
    let (st, ct, pump) = connected_server_and_client(server.clone(), Recorder::new());
    st.pause_producing();
    ct.write(b"wait for it");
    assert!(!pump.pump());
    assert!(server.received().is_empty());
    assert_eq!(ct.buffered(), 11, "the bytes stay with the sender");
    st.resume_producing();
    assert!(pump.pump());
    assert_eq!(server.received(), b"wait for it");
}

/// A push producer that records being stopped.
#[derive(Default)]
struct Watcher {
    stopped: Cell<u32>,
}

impl IProducer for Watcher {
    fn stop_producing(&self) {
        self.stopped.set(self.stopped.get() + 1);
    }
}

impl IPushProducer for Watcher {
    fn pause_producing(&self) {}
    fn resume_producing(&self) {}
}

#[test]
fn producer_is_stopped_once_when_the_connection_is_lost() {
    let (st, ct, pump) = connected_server_and_client(Recorder::new(), Recorder::new());
    let watcher = Rc::new(Watcher::default());
    ct.register_producer(Producer::Push(watcher.clone()));
    assert!(ct.has_producer());
    st.abort_connection();
    pump.flush().unwrap();
    assert_eq!(watcher.stopped.get(), 1);
    assert!(!ct.has_producer());

    // Registering on a lost connection stops the producer at once.
    let late = Rc::new(Watcher::default());
    ct.register_producer(Producer::Push(late.clone()));
    assert_eq!(late.stopped.get(), 1);
    assert!(!ct.has_producer());
}

#[test]
fn a_second_producer_is_ignored() {
    let (_st, ct, pump) = connected_server_and_client(Recorder::new(), Recorder::new());
    let first = Rc::new(Watcher::default());
    let second = Rc::new(Watcher::default());
    ct.register_producer(Producer::Push(first.clone()));
    ct.register_producer(Producer::Push(second.clone()));
    ct.abort_connection();
    assert!(pump.pump());
    assert_eq!(first.stopped.get(), 1);
    assert_eq!(second.stopped.get(), 0);
}

#[test]
fn transport_stop_producing_closes_like_lose_connection() {
    let client = Recorder::new();
    let (st, _ct, pump) = connected_server_and_client(Recorder::new(), client.clone());
    st.write(b"bye");
    st.stop_producing();
    pump.flush().unwrap();
    assert_eq!(client.received(), b"bye");
    assert!(client.lost()[0].check::<ConnectionDone>());
}

#[test]
fn flush_gives_up_on_a_pair_that_never_stops_talking() {
    let server = Recorder::echo();
    let client = Recorder::echo();
    let st = FakeTransport::new(server.clone(), true);
    let ct = FakeTransport::new(client.clone(), false);
    // connect() greets with a flush, which hits the limit and is only logged.
    client.greeting.borrow_mut().extend_from_slice(b"ping");
    let pump = connect(server.clone(), st, client.clone(), ct);
    assert_eq!(
        pump.flush_with_limit(50),
        Err(PumpLimitExceeded { rounds: 50 })
    );
    assert_eq!(
        pump.flush(),
        Err(PumpLimitExceeded {
            rounds: DEFAULT_FLUSH_LIMIT
        })
    );
    assert!(server.received().len() > DEFAULT_FLUSH_LIMIT);
}

/// Replies through a `call_later(0)` on a clock.
struct Deferring {
    clock: Clock,
    inner: Rc<Recorder>,
}

impl reactor::interfaces::IProtocol for Deferring {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        self.inner.make_connection(transport);
    }
    fn data_received(&self, data: bytes::Bytes) {
        let transport = self.inner.transport();
        self.clock.call_later(0.0, move || transport.write(&data));
    }
    fn connection_lost(&self, reason: reactor::defer::Failure) {
        self.inner.connection_lost(reason);
    }
}

#[test]
fn a_pump_with_a_clock_runs_due_calls_between_rounds() {
    let clock = Clock::new();
    let server = Rc::new(Deferring {
        clock: clock.clone(),
        inner: Recorder::new(),
    });
    let client = Recorder::new();
    let st = FakeTransport::new(server.clone(), true);
    let ct = FakeTransport::new(client.clone(), false);
    let plain = connect(server.clone(), st.clone(), client.clone(), ct.clone());
    ct.write(b"later");
    plain.flush().unwrap();
    assert!(
        client.received().is_empty(),
        "no clock: the reply never goes"
    );

    let pump = IOPump::new(st, ct).with_clock(clock.clone(), 0.5);
    pump.flush().unwrap();
    assert_eq!(client.received(), b"later");
    assert!(clock.seconds() >= 0.5);
}
