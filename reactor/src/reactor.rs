//! [`Reactor`]: one thread's event loop over `mio::Poll` (Twisted's reactor).

use crate::defer::{Deferred, Failure};
use crate::error::ReactorError;
use crate::event_clock::EventClock;
use crate::interfaces::IReactorTime;
use crate::threadpool::ThreadPool;
use crate::timer::{DelayedCall, TimeSource, Timers};
use mio::event::{Event, Source};
use mio::{Events, Interest, Poll, Registry, Token, Waker};
use slab::Slab;
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WAKER_TOKEN: Token = Token(usize::MAX);
const GENERATION_SHIFT: u32 = usize::BITS / 2;
const EVENTS_CAPACITY: usize = 1024;

mod busy_poll;
mod threads;
use busy_poll::BusyPoll;
pub use busy_poll::{BusyPollStats, DEFAULT_BUSY_POLL};
pub use threads::ThreadPanicked;

/// Something registered with the reactor that wants readiness events.
pub(crate) trait Readiness {
    fn ready(self: Rc<Self>, event: &Event);
}

struct Registration {
    handler: Rc<dyn Readiness>,
    generation: usize,
}

type RemoteCall = Box<dyn FnOnce(&Reactor) + Send>;
/// Fires a `defer_to_thread` Deferred with the thread's boxed outcome.
type ThreadWaiter = Box<dyn FnOnce(Box<dyn Any + Send>)>;

/// The part of a reactor that other threads may touch.
struct Remote {
    queue: Mutex<Vec<RemoteCall>>,
    pending: AtomicBool,
    waker: Waker,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum RunState {
    Idle,
    Running,
    Stopping,
}

/// When a system event trigger runs (Twisted's `"before"`, `"during"`, `"after"`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Phase {
    /// Before the event; a trigger may return a Deferred the event waits for.
    Before,
    /// During the event.
    During,
    /// After the event.
    After,
}

/// The system events (Twisted's `"startup"` and `"shutdown"`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SystemEvent {
    /// `run()` starts.
    Startup,
    /// `stop()` was called.
    Shutdown,
}

/// What a system event trigger returns: nothing, or a Deferred the event waits for.
pub enum TriggerResult {
    /// Done.
    Done,
    /// The event goes on when this fires (Twisted: a "before" trigger returning a Deferred).
    Wait(Deferred<()>),
}

impl From<()> for TriggerResult {
    fn from(_: ()) -> TriggerResult {
        TriggerResult::Done
    }
}

impl From<Deferred<()>> for TriggerResult {
    fn from(d: Deferred<()>) -> TriggerResult {
        TriggerResult::Wait(d)
    }
}

/// Names a trigger for [`Reactor::remove_system_event_trigger`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct TriggerId(u64);

type TriggerFn = Rc<RefCell<dyn FnMut() -> TriggerResult>>;

struct Trigger {
    id: TriggerId,
    phase: Phase,
    event: SystemEvent,
    func: TriggerFn,
}

pub(crate) struct ReactorInner {
    poll: RefCell<Poll>,
    registry: Registry,
    events: RefCell<Option<Events>>,
    sources: RefCell<Slab<Registration>>,
    next_generation: Cell<usize>,
    timers: Rc<Timers>,
    event_clock: EventClock,
    busy_poll: BusyPoll,
    soon: RefCell<VecDeque<Box<dyn FnOnce()>>>,
    remote: Arc<Remote>,
    state: Cell<RunState>,
    triggers: RefCell<Vec<Trigger>>,
    next_trigger: Cell<u64>,
    thread_pool: RefCell<Option<ThreadPool>>,
    thread_waiters: RefCell<Slab<ThreadWaiter>>,
}

/// A single-threaded event loop: timers, sockets, and calls from other threads.
///
/// `Reactor` is a cheap handle (`Clone`, not `Send`) to one loop. [`Reactor::default()`] gives
/// the thread's default reactor — what `from twisted.internet import reactor` gives Python code —
/// and [`Reactor::new()`] a separate one.
///
/// ```
/// use reactor::Reactor;
///
/// let reactor = Reactor::new();
/// let r = reactor.clone();
/// reactor.call_later(0.01, move || r.stop().unwrap());
/// reactor.run().unwrap();
/// ```
#[derive(Clone)]
pub struct Reactor {
    inner: Rc<ReactorInner>,
}

thread_local! {
    static DEFAULT_REACTOR: RefCell<Option<Reactor>> = const { RefCell::new(None) };
}

impl Default for Reactor {
    /// The thread's default reactor, created on first use.
    fn default() -> Reactor {
        DEFAULT_REACTOR.with(|cell| cell.borrow_mut().get_or_insert_with(Reactor::new).clone())
    }
}

impl Reactor {
    /// A new reactor. Panics only if the OS cannot give an epoll/kqueue instance (see
    /// [`try_new`](Self::try_new)).
    pub fn new() -> Reactor {
        Reactor::try_new().expect("cannot create the reactor's poll instance")
    }

    /// A new reactor, or the OS error that prevented it.
    pub fn try_new() -> io::Result<Reactor> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = Waker::new(poll.registry(), WAKER_TOKEN)?;
        Ok(Reactor {
            inner: Rc::new(ReactorInner {
                poll: RefCell::new(poll),
                registry,
                events: RefCell::new(Some(Events::with_capacity(EVENTS_CAPACITY))),
                sources: RefCell::new(Slab::new()),
                next_generation: Cell::new(0),
                timers: Timers::new(TimeSource::Monotonic(Instant::now())),
                event_clock: EventClock::default(),
                busy_poll: BusyPoll::default(),
                soon: RefCell::new(VecDeque::new()),
                remote: Arc::new(Remote {
                    queue: Mutex::new(Vec::new()),
                    pending: AtomicBool::new(false),
                    waker,
                }),
                state: Cell::new(RunState::Idle),
                triggers: RefCell::new(Vec::new()),
                next_trigger: Cell::new(0),
                thread_pool: RefCell::new(None),
                thread_waiters: RefCell::new(Slab::new()),
            }),
        })
    }

    /// A `Send` handle for other threads ([`ReactorHandle::call_from_thread`]).
    pub fn handle(&self) -> ReactorHandle {
        ReactorHandle {
            remote: self.inner.remote.clone(),
        }
    }

    /// Whether `run()` is in progress.
    pub fn running(&self) -> bool {
        self.inner.state.get() != RunState::Idle
    }

    /// Seconds on the reactor's monotonic clock.
    pub fn seconds(&self) -> f64 {
        self.inner.timers.now()
    }

    /// When the reactor took up the I/O event it is delivering (or the `call_soon` call it is
    /// running), on the clock of [`seconds`](Self::seconds), read once per event; elsewhere
    /// `seconds()`. See [`IReactorTime::event_seconds`].
    pub fn event_seconds(&self) -> f64 {
        self.inner.event_clock.read(|| self.inner.timers.now())
    }

    /// Call `f` after `delay` seconds (Twisted's `callLater`).
    pub fn call_later(&self, delay: f64, f: impl FnOnce() + 'static) -> DelayedCall {
        self.inner.timers.call_later(delay, Box::new(f))
    }

    /// Call `f` on the next turn of the loop, before it waits for I/O.
    pub fn call_soon(&self, f: impl FnOnce() + 'static) {
        self.inner.soon.borrow_mut().push_back(Box::new(f));
    }

    /// The pending timed calls, earliest first.
    pub fn get_delayed_calls(&self) -> Vec<DelayedCall> {
        self.inner.timers.pending()
    }

    /// Call `f` once the reactor runs (now, if it already does).
    pub fn call_when_running(&self, f: impl FnOnce() + 'static) {
        if self.running() {
            f();
        } else {
            let mut f = Some(f);
            let id = Rc::new(Cell::new(None));
            let own_id = id.clone();
            let reactor = self.clone();
            let trigger = self.add_system_event_trigger(Phase::During, SystemEvent::Startup, {
                move || {
                    if let Some(f) = f.take() {
                        f();
                    }
                    if let Some(id) = own_id.get() {
                        reactor.remove_system_event_trigger(id);
                    }
                }
            });
            id.set(Some(trigger));
        }
    }

    /// Add a function to run at a phase of a system event (Twisted's `addSystemEventTrigger`).
    /// A `Before`/`Shutdown` trigger may return a `Deferred<()>`: shutdown waits for it.
    pub fn add_system_event_trigger<R: Into<TriggerResult>>(
        &self,
        phase: Phase,
        event: SystemEvent,
        mut f: impl FnMut() -> R + 'static,
    ) -> TriggerId {
        let id = TriggerId(self.inner.next_trigger.get());
        self.inner.next_trigger.set(id.0 + 1);
        let func: TriggerFn = Rc::new(RefCell::new(move || f().into()));
        self.inner.triggers.borrow_mut().push(Trigger {
            id,
            phase,
            event,
            func,
        });
        id
    }

    /// Remove a trigger; `false` if it was not there.
    pub fn remove_system_event_trigger(&self, id: TriggerId) -> bool {
        let mut triggers = self.inner.triggers.borrow_mut();
        let before = triggers.len();
        triggers.retain(|t| t.id != id);
        triggers.len() != before
    }

    /// Run the loop until [`stop`](Self::stop); then run the shutdown triggers and return.
    pub fn run(&self) -> Result<(), ReactorError> {
        if self.inner.state.get() != RunState::Idle {
            return Err(ReactorError::AlreadyRunning);
        }
        self.inner.state.set(RunState::Running);
        self.fire_system_event(SystemEvent::Startup);
        while self.inner.state.get() == RunState::Running {
            self.iterate();
        }
        self.fire_system_event(SystemEvent::Shutdown);
        self.inner.state.set(RunState::Idle);
        Ok(())
    }

    /// Ask the loop to stop; `run()` returns after the shutdown triggers.
    pub fn stop(&self) -> Result<(), ReactorError> {
        if self.inner.state.get() != RunState::Running {
            return Err(ReactorError::NotRunning);
        }
        self.inner.state.set(RunState::Stopping);
        Ok(())
    }

    fn fire_system_event(&self, event: SystemEvent) {
        for phase in [Phase::Before, Phase::During, Phase::After] {
            let funcs: Vec<TriggerFn> = self
                .inner
                .triggers
                .borrow()
                .iter()
                .filter(|t| t.event == event && t.phase == phase)
                .map(|t| t.func.clone())
                .collect();
            let waiting = Rc::new(Cell::new(0usize));
            for func in funcs {
                let result = (func.borrow_mut())();
                if let TriggerResult::Wait(d) = result {
                    waiting.set(waiting.get() + 1);
                    let count = waiting.clone();
                    d.add_both(move |result: Result<(), Failure>| {
                        if let Err(failure) = result {
                            log::error!("system event trigger failed: {failure:?}");
                        }
                        count.set(count.get() - 1);
                    });
                }
            }
            while waiting.get() > 0 {
                self.iterate();
            }
        }
    }

    /// One turn of the loop: wait for I/O (no longer than the next timer), dispatch readiness,
    /// run calls from other threads, `call_soon` calls and due timers.
    pub fn iterate(&self) {
        let timeout = self.poll_timeout();
        self.poll_and_dispatch(timeout);
        self.run_remote();
        self.run_soon();
        let now = self.seconds();
        self.inner.timers.run_due(now, self.inner.timers.last_seq());
    }

    fn poll_timeout(&self) -> Option<Duration> {
        if !self.inner.soon.borrow().is_empty() || self.inner.remote.pending.load(Ordering::Acquire)
        {
            return Some(Duration::ZERO);
        }
        self.inner.timers.next_time().map(|t| {
            let wait = (t - self.seconds()).max(0.0);
            // Round up so a timer is never polled for a moment too early.
            Duration::from_secs_f64(wait) + Duration::from_micros(50)
        })
    }

    fn poll_and_dispatch(&self, timeout: Option<Duration>) {
        let Some(mut events) = self.inner.events.borrow_mut().take() else {
            return;
        };
        let polled =
            self.inner
                .busy_poll
                .wait(&mut self.inner.poll.borrow_mut(), &mut events, timeout);
        if let Err(error) = polled {
            if error.kind() != io::ErrorKind::Interrupted {
                log::error!("poll failed: {error}");
            }
        }
        for event in events.iter() {
            if event.token() == WAKER_TOKEN {
                continue;
            }
            if let Some(handler) = self.lookup(event.token()) {
                let _delivery = self.inner.event_clock.deliver();
                handler.ready(event);
            }
        }
        *self.inner.events.borrow_mut() = Some(events);
    }

    /// A connection started waiting for the reply to a whole message it wrote (`true`), or
    /// stopped, having read or closed (`false`); called on changes only (see `busy_poll.rs`).
    pub(crate) fn awaiting_reply_changed(&self, awaiting: bool) {
        self.inner.busy_poll.awaiting_changed(awaiting);
    }

    fn lookup(&self, token: Token) -> Option<Rc<dyn Readiness>> {
        let key = token.0 & ((1usize << GENERATION_SHIFT) - 1);
        let generation = token.0 >> GENERATION_SHIFT;
        let sources = self.inner.sources.borrow();
        let registration = sources.get(key)?;
        (registration.generation == generation).then(|| registration.handler.clone())
    }

    fn run_soon(&self) {
        let batch = std::mem::take(&mut *self.inner.soon.borrow_mut());
        for f in batch {
            let _delivery = self.inner.event_clock.deliver();
            f();
        }
    }

    fn run_remote(&self) {
        if !self.inner.remote.pending.swap(false, Ordering::AcqRel) {
            return;
        }
        let batch = match self.inner.remote.queue.lock() {
            Ok(mut queue) => std::mem::take(&mut *queue),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        for f in batch {
            f(self);
        }
    }

    /// Register an I/O source; events go to `handler` until [`deregister`](Self::deregister).
    pub(crate) fn register(
        &self,
        source: &mut impl Source,
        interest: Interest,
        handler: Rc<dyn Readiness>,
    ) -> io::Result<Token> {
        let generation = self.inner.next_generation.get() & ((1usize << GENERATION_SHIFT) - 1);
        self.inner.next_generation.set(generation.wrapping_add(1));
        let key = self.inner.sources.borrow_mut().insert(Registration {
            handler,
            generation,
        });
        let token = Token(key | (generation << GENERATION_SHIFT));
        if let Err(error) = self.inner.registry.register(source, token, interest) {
            self.inner.sources.borrow_mut().remove(key);
            return Err(error);
        }
        Ok(token)
    }

    /// Send a registration's future events to another handler (a connecting socket becoming a
    /// transport keeps its epoll registration: no extra syscalls).
    pub(crate) fn replace_handler(&self, token: Token, handler: Rc<dyn Readiness>) -> bool {
        let key = token.0 & ((1usize << GENERATION_SHIFT) - 1);
        let generation = token.0 >> GENERATION_SHIFT;
        let mut sources = self.inner.sources.borrow_mut();
        match sources.get_mut(key) {
            Some(r) if r.generation == generation => {
                r.handler = handler;
                true
            }
            _ => false,
        }
    }

    /// Forget a registration made with [`register`](Self::register).
    pub(crate) fn deregister(&self, source: &mut impl Source, token: Token) {
        let _ = self.inner.registry.deregister(source);
        self.forget(token);
    }

    /// Forget the handler of a source that is being closed: closing a socket removes it from
    /// epoll, so this saves the `epoll_ctl` of [`deregister`](Self::deregister). Events of
    /// this turn still queued for `token` find no handler (the slot's generation moved on).
    pub(crate) fn forget(&self, token: Token) {
        let key = token.0 & ((1usize << GENERATION_SHIFT) - 1);
        let mut sources = self.inner.sources.borrow_mut();
        if sources.contains(key) {
            sources.remove(key);
        }
    }

    /// How many I/O sources are registered (connections, listeners, connectors).
    pub fn registered_sources(&self) -> usize {
        self.inner.sources.borrow().len()
    }
}

impl IReactorTime for Reactor {
    fn seconds(&self) -> f64 {
        Reactor::seconds(self)
    }
    fn event_seconds(&self) -> f64 {
        Reactor::event_seconds(self)
    }
    fn call_later(&self, delay: f64, f: Box<dyn FnOnce()>) -> DelayedCall {
        self.inner.timers.call_later(delay, f)
    }
    fn get_delayed_calls(&self) -> Vec<DelayedCall> {
        Reactor::get_delayed_calls(self)
    }
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<Reactor {:?}, {} sources>",
            self.inner.state.get(),
            self.registered_sources()
        )
    }
}

/// A `Send + Sync` handle to a reactor, for other threads.
#[derive(Clone)]
pub struct ReactorHandle {
    remote: Arc<Remote>,
}

impl ReactorHandle {
    /// Run `f` on the reactor's thread on its next turn (Twisted's `callFromThread`), waking
    /// the loop if it waits.
    pub fn call_from_thread(&self, f: impl FnOnce() + Send + 'static) {
        self.call_with_reactor(move |_| f());
    }

    /// Ask the reactor to stop, from any thread.
    pub fn stop(&self) {
        self.call_with_reactor(|reactor| {
            let _ = reactor.stop();
        });
    }

    pub(crate) fn call_with_reactor(&self, f: impl FnOnce(&Reactor) + Send + 'static) {
        match self.remote.queue.lock() {
            Ok(mut queue) => queue.push(Box::new(f)),
            Err(poisoned) => poisoned.into_inner().push(Box::new(f)),
        }
        if !self.remote.pending.swap(true, Ordering::AcqRel) {
            if let Err(error) = self.remote.waker.wake() {
                log::error!("could not wake the reactor: {error}");
            }
        }
    }
}

impl fmt::Debug for ReactorHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<ReactorHandle>")
    }
}
