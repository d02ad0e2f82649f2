//! Busy polling: while exactly one connection waits for the reply to what it sent, the loop
//! asks for readiness without sleeping for a moment before it blocks.
//!
//! A thread that blocks in `epoll_wait` and is woken by the reply pays the kernel's (and, in
//! a virtual machine, the hypervisor's) wakeup on the critical path of every exchange. Over
//! loopback on the 2-core VM this project is measured on that is most of a round trip: a
//! sequential keep-alive GET ran 2.6–2.8× faster, at less CPU per request, when the reactor
//! spun for the reply (docs/benchmarks.md). With many exchanges in flight the server is the
//! bottleneck and spinning only burns CPU, and a stream (a download, an upload) waits for
//! data or buffer space, not for a reply: so the loop spins only when exactly one connection
//! has written a whole message and read nothing since.
//!
//! A spin that finds nothing within the budget means a distant or slow peer: the loop goes
//! cold and blocks, and spins again only after a blocking wait for a lone reply came back
//! within [`REARM_FACTOR`] budgets.

use super::Reactor;
use mio::{Events, Poll};
use std::cell::Cell;
use std::io;
use std::time::{Duration, Instant};

/// The spin budget of a new reactor: a loopback or same-rack round trip, with room.
pub const DEFAULT_BUSY_POLL: Duration = Duration::from_micros(50);
/// After a spin found nothing, a blocking wait for a lone reply that came back within this
/// many budgets turns spinning back on.
const REARM_FACTOR: u32 = 4;

/// How often the reactor spun for a reply, and how often the spin found it
/// ([`Reactor::busy_poll_stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BusyPollStats {
    /// Spins that saw an event within the budget.
    pub hits: u64,
    /// Spins that ran out of budget, after which the loop blocked.
    pub misses: u64,
}

/// The reactor's busy-poll state.
pub(crate) struct BusyPoll {
    budget: Cell<Duration>,
    /// Connections that wrote a whole message and read nothing since.
    awaiting: Cell<usize>,
    /// A spin ran out: block until a wait shows the peer answering quickly again.
    cold: Cell<bool>,
    stats: Cell<BusyPollStats>,
}

impl Default for BusyPoll {
    fn default() -> BusyPoll {
        BusyPoll {
            budget: Cell::new(DEFAULT_BUSY_POLL),
            awaiting: Cell::new(0),
            cold: Cell::new(false),
            stats: Cell::new(BusyPollStats::default()),
        }
    }
}

/// What the next wait does.
enum Wait {
    Block,
    /// Block, timing the wait: a quick answer turns spinning back on.
    TimedBlock,
    Spin,
}

impl BusyPoll {
    /// A connection started waiting for a reply (`true`: it wrote a whole message) or stopped
    /// (`false`: it read, or closed). Called on changes only, so each connection counts once.
    pub(crate) fn awaiting_changed(&self, awaiting: bool) {
        let count = self.awaiting.get();
        self.awaiting.set(if awaiting {
            count + 1
        } else {
            count.saturating_sub(1)
        });
    }

    fn plan(&self, timeout: Option<Duration>) -> Wait {
        if self.budget.get().is_zero()
            || self.awaiting.get() != 1
            || timeout == Some(Duration::ZERO)
        {
            Wait::Block
        } else if self.cold.get() {
            Wait::TimedBlock
        } else {
            Wait::Spin
        }
    }

    fn count(&self, hit: bool) {
        let mut stats = self.stats.get();
        if hit {
            stats.hits += 1;
        } else {
            stats.misses += 1;
        }
        self.stats.set(stats);
    }

    /// Wait for readiness into `events`, for at most `timeout` (`None`: no limit).
    pub(crate) fn wait(
        &self,
        poll: &mut Poll,
        events: &mut Events,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        match self.plan(timeout) {
            Wait::Block => poll.poll(events, timeout),
            Wait::TimedBlock => {
                let start = Instant::now();
                let result = poll.poll(events, timeout);
                if !events.is_empty() && start.elapsed() < self.budget.get() * REARM_FACTOR {
                    self.cold.set(false);
                }
                result
            }
            Wait::Spin => {
                let start = Instant::now();
                let limit = timeout.map_or(self.budget.get(), |t| t.min(self.budget.get()));
                loop {
                    poll.poll(events, Some(Duration::ZERO))?;
                    if !events.is_empty() {
                        self.count(true);
                        return Ok(());
                    }
                    if start.elapsed() >= limit {
                        break;
                    }
                }
                if timeout.is_some_and(|t| t <= self.budget.get()) {
                    // A timer is due: the spin ran for it, not past the peer's answer.
                    return Ok(());
                }
                self.count(false);
                self.cold.set(true);
                poll.poll(events, timeout.map(|t| t.saturating_sub(start.elapsed())))
            }
        }
    }
}

impl Reactor {
    /// How long the loop may spin for a reply before it blocks ([`DEFAULT_BUSY_POLL`] unless
    /// set). Our addition; Twisted's reactors always block.
    pub fn busy_poll(&self) -> Duration {
        self.inner.busy_poll.budget.get()
    }

    /// Set how long the loop may spin (asking for readiness without sleeping) while exactly
    /// one connection waits for the reply to what it wrote; `Duration::ZERO` turns spinning
    /// off. A spin that finds nothing makes the loop block until a peer answers quickly
    /// again, so a distant server costs one budget, not one per request.
    ///
    /// ```
    /// use reactor::Reactor;
    /// use std::time::Duration;
    ///
    /// let reactor = Reactor::new();
    /// reactor.set_busy_poll(Duration::ZERO);
    /// assert_eq!(reactor.busy_poll(), Duration::ZERO);
    /// ```
    pub fn set_busy_poll(&self, budget: Duration) {
        self.inner.busy_poll.budget.set(budget);
        self.inner.busy_poll.cold.set(false);
    }

    /// How many spins found an event and how many ran out ([`set_busy_poll`](Self::set_busy_poll)).
    pub fn busy_poll_stats(&self) -> BusyPollStats {
        self.inner.busy_poll.stats.get()
    }
}
