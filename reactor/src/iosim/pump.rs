//! [`IOPump`]: moves bytes between the two ends of an in-memory connection.

use super::FakeTransport;
use crate::defer::Failure;
use crate::error::{ConnectionAborted, ConnectionDone, ConnectionLost};
use crate::interfaces::ITransport;
use crate::task::Clock;
use std::cell::Cell;
use std::error::Error;
use std::fmt;
use std::io;
use std::rc::Rc;

/// How many pumps [`IOPump::flush`] makes before it gives up.
pub const DEFAULT_FLUSH_LIMIT: usize = 10_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Close {
    Clean,
    Abort,
}

/// What one direction of a pump found in the sender's buffer.
enum Transfer {
    /// Nothing buffered (or the sender is gone).
    Empty,
    /// The receiver does not read now (paused): the bytes stay with the sender.
    Held,
    /// The receiver is closing or gone: the bytes were dropped.
    Discarded,
    /// Bytes to hand to the receiver.
    Deliver(bytes::Bytes),
}

struct PumpInner {
    server: Rc<FakeTransport>,
    client: Rc<FakeTransport>,
    clock: Option<(Clock, f64)>,
    close: Cell<Option<Close>>,
}

/// Moves bytes between a server and a client [`FakeTransport`] (Twisted's `IOPump`).
///
/// [`pump`](Self::pump) makes one round: it takes what each end has buffered, delivers it to the
/// other end's protocol (unless that end has paused reading), lets producers refill, and
/// delivers `connection_lost` when a close is due. [`flush`](Self::flush) pumps until nothing
/// happens. A pump given a [`Clock`] with [`with_clock`](Self::with_clock) advances it before
/// each round, so `call_later(0, ..)` work in the protocols runs between rounds.
///
/// `IOPump` is a cheap handle: clones pump the same connection.
#[derive(Clone)]
pub struct IOPump {
    inner: Rc<PumpInner>,
}

impl IOPump {
    /// A pump between two transports, which become each other's peers (`get_peer` of one is
    /// `get_host` of the other). Nothing is called on the protocols; see
    /// [`connect`](super::connect) for the usual set-up.
    pub fn new(server: Rc<FakeTransport>, client: Rc<FakeTransport>) -> IOPump {
        if let (Some(server_host), Some(client_host)) = (server.get_host(), client.get_host()) {
            server.set_peer(client_host);
            client.set_peer(server_host);
        }
        IOPump {
            inner: Rc::new(PumpInner {
                server,
                client,
                clock: None,
                close: Cell::new(None),
            }),
        }
    }

    /// The same pump, advancing `clock` by `step` seconds at the start of every round
    /// (Twisted's `IOPump(clock=...)` advances by 0, running calls already due).
    pub fn with_clock(self, clock: Clock, step: f64) -> IOPump {
        let inner = Rc::new(PumpInner {
            server: self.inner.server.clone(),
            client: self.inner.client.clone(),
            clock: Some((clock, step)),
            close: Cell::new(self.inner.close.get()),
        });
        IOPump { inner }
    }

    /// The server end.
    pub fn server(&self) -> &Rc<FakeTransport> {
        &self.inner.server
    }

    /// The client end.
    pub fn client(&self) -> &Rc<FakeTransport> {
        &self.inner.client
    }

    /// One round: move pending bytes both ways once, refill producers, deliver due
    /// `connection_lost` calls. Returns whether any bytes moved or any connection was lost.
    pub fn pump(&self) -> bool {
        let inner = &*self.inner;
        if let Some((clock, step)) = &inner.clock {
            clock.advance(*step);
        }
        // Take both buffers before delivering either, as a network round would.
        let to_server = transfer(&inner.client, &inner.server);
        let to_client = transfer(&inner.server, &inner.client);
        let mut moved = false;
        for (transfer, sender, receiver) in [
            (to_server, &inner.client, &inner.server),
            (to_client, &inner.server, &inner.client),
        ] {
            match transfer {
                Transfer::Deliver(data) => {
                    moved = true;
                    receiver.deliver(data);
                    sender.drained();
                }
                Transfer::Discarded => sender.drained(),
                Transfer::Empty | Transfer::Held => {}
            }
        }
        self.check_close() || moved
    }

    /// Pump until a round moves nothing; `Ok(true)` if anything moved. Gives up with
    /// [`PumpLimitExceeded`] after [`DEFAULT_FLUSH_LIMIT`] rounds, so a pair of protocols that
    /// never stop talking cannot hang a test.
    pub fn flush(&self) -> Result<bool, PumpLimitExceeded> {
        self.flush_with_limit(DEFAULT_FLUSH_LIMIT)
    }

    /// [`flush`](Self::flush) with a limit of `rounds` pumps.
    pub fn flush_with_limit(&self, rounds: usize) -> Result<bool, PumpLimitExceeded> {
        let mut any = false;
        for _ in 0..rounds {
            if !self.pump() {
                return Ok(any);
            }
            any = true;
        }
        Err(PumpLimitExceeded { rounds })
    }

    /// Decide whether the connection closes and deliver `connection_lost` to each end that is
    /// due: at once to an end that aborted or closed, and to the other end when it reads (a
    /// clean close is an EOF that a paused end has not seen yet). Returns whether any was
    /// delivered.
    fn check_close(&self) -> bool {
        let inner = &*self.inner;
        let ends = [&inner.server, &inner.client];
        if inner.close.get().is_none() {
            if ends.iter().any(|t| t.aborted()) {
                inner.close.set(Some(Close::Abort));
            } else if ends.iter().any(|t| t.disconnecting() && t.buffered() == 0) {
                inner.close.set(Some(Close::Clean));
            }
        }
        let Some(close) = inner.close.get() else {
            return false;
        };
        let mut delivered = false;
        for end in ends {
            if end.disconnected() {
                continue;
            }
            let reason = if end.aborted() {
                Failure::new(ConnectionAborted)
            } else if close == Close::Abort {
                Failure::new(ConnectionLost {
                    error: io::Error::new(
                        io::ErrorKind::ConnectionReset,
                        "connection reset by peer (aborted)",
                    ),
                })
            } else if end.disconnecting() || !end.reading_paused() {
                Failure::without_backtrace(ConnectionDone)
            } else {
                continue;
            };
            delivered |= end.lose(reason);
        }
        delivered
    }
}

fn transfer(sender: &FakeTransport, receiver: &FakeTransport) -> Transfer {
    if sender.is_gone() || sender.buffered() == 0 {
        Transfer::Empty
    } else if receiver.is_gone() || receiver.disconnecting() {
        drop(sender.take_outgoing());
        Transfer::Discarded
    } else if !receiver.can_receive() {
        Transfer::Held
    } else {
        Transfer::Deliver(sender.take_outgoing())
    }
}

impl fmt::Debug for IOPump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IOPump")
            .field("server", &self.inner.server)
            .field("client", &self.inner.client)
            .finish()
    }
}

/// [`IOPump::flush`] gave up: the protocols were still exchanging bytes after this many
/// rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PumpLimitExceeded {
    /// The rounds pumped.
    pub rounds: usize,
}

impl fmt::Display for PumpLimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IOPump::flush gave up: data still moving after {} rounds",
            self.rounds
        )
    }
}

impl Error for PumpLimitExceeded {}
