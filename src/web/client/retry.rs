//! [`RetryAgent`]: an agent that sends a request again after a transient failure, waiting
//! with exponential backoff and jitter, as its [`RetryPolicy`] says.
//!
//! Not in Twisted or treq, whose users write the loop themselves. Each attempt goes through
//! the wrapped agent; a response that is retried has its body read and discarded (up to
//! [`REDIRECT_DRAIN_LIMIT`](super::REDIRECT_DRAIN_LIMIT) bytes, beyond which its connection
//! is closed) before the wait, so its connection can go back to the pool. All waits run on
//! an [`IReactorTime`], so tests drive them with a [`Clock`](reactor::task::Clock).
//! Cancelling the request's Deferred (treq's `timeout=` does) cancels the attempt in flight,
//! or the wait, and no further attempt is made.

use super::producers::BytesBodyProducer;
use super::redirect::drain;
use super::retry_policy::{retry_after, Jitter, RetryPolicy};
use crate::web::error::{RequestTransmissionFailed, ResponseFailed, ResponseNeverReceived};
use crate::web::http_headers::Headers;
use crate::web::iweb::{replayable_body, IAgent, IBodyProducer};
use crate::web::response::Response;
use bytes::Bytes;
use reactor::defer::{CancelledError, Deferred, Failure, TimeoutError};
use reactor::error::{ConnectError, ConnectionLost};
use reactor::interfaces::IReactorTime;
use reactor::{DelayedCall, Reactor};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::{Rc, Weak};
use std::time::SystemTime;

/// An agent that retries transient failures of the agent it wraps (see [`RetryPolicy`]).
///
/// ```no_run
/// use reactor::Reactor;
/// use std::rc::Rc;
/// use treq::web::client::{Agent, RetryAgent, RetryPolicy};
/// use treq::web::iweb::IAgent;
///
/// let reactor = Reactor::new();
/// let agent = RetryAgent::new(Rc::new(Agent::new(&reactor)), RetryPolicy::new().max_retries(5));
/// let d = agent.request("GET", "http://example.com/flaky", None, None);
/// ```
#[derive(Clone)]
pub struct RetryAgent {
    agent: Rc<dyn IAgent>,
    policy: Rc<RetryPolicy>,
    clock: Rc<dyn IReactorTime>,
    jitter: Rc<RefCell<Jitter>>,
}

impl RetryAgent {
    /// Retry `agent`'s requests under `policy`, waiting on `agent`'s reactor (or the thread's
    /// default reactor, for an agent that does not say).
    pub fn new(agent: Rc<dyn IAgent>, policy: RetryPolicy) -> RetryAgent {
        let clock = agent
            .reactor()
            .unwrap_or_else(|| Rc::new(Reactor::default()));
        RetryAgent {
            agent,
            jitter: Rc::new(RefCell::new(Jitter::new(policy.seed))),
            policy: Rc::new(policy),
            clock,
        }
    }

    /// Wait on `clock` instead (a [`Clock`](reactor::task::Clock) in tests).
    pub fn clock(mut self, clock: Rc<dyn IReactorTime>) -> RetryAgent {
        self.clock = clock;
        self
    }

    /// The policy in force.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }
}

impl IAgent for RetryAgent {
    fn request(
        &self,
        method: &str,
        uri: &str,
        headers: Option<Headers>,
        body_producer: Option<Rc<dyn IBodyProducer>>,
    ) -> Deferred<Response> {
        let body = replayable_body(body_producer.as_ref());
        let Some(body) = body.filter(|_| self.policy.allows(method, true)) else {
            // Not retriable: one attempt, as if this agent were not here.
            return self.agent.request(method, uri, headers, body_producer);
        };
        let run = Rc::new_cyclic(|weak: &Weak<RetryRun>| {
            let weak = weak.clone();
            RetryRun {
                agent: self.agent.clone(),
                policy: self.policy.clone(),
                clock: self.clock.clone(),
                jitter: self.jitter.clone(),
                method: method.to_owned(),
                uri: uri.to_owned(),
                headers,
                body,
                first_body: RefCell::new(body_producer),
                retries: Cell::new(0),
                deadline: self.policy.total_timeout.map(|t| self.clock.seconds() + t),
                in_flight: RefCell::new(InFlight::Nothing),
                cancelled: Cell::new(false),
                done: Deferred::with_canceller(move |_| cancel(&weak)),
            }
        });
        run.attempt();
        run.done.clone()
    }

    fn reactor(&self) -> Option<Rc<dyn IReactorTime>> {
        self.agent.reactor()
    }

    fn with_connect_timeout(&self, seconds: f64) -> Option<Rc<dyn IAgent>> {
        let agent = self.agent.with_connect_timeout(seconds)?;
        Some(Rc::new(RetryAgent {
            agent,
            ..self.clone()
        }))
    }
}

impl fmt::Debug for RetryAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryAgent")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// What a retried request is doing now, so that cancelling it stops that.
enum InFlight {
    Nothing,
    Attempt(Deferred<Response>),
    Draining(Deferred<()>),
    Waiting(DelayedCall),
}

/// One request and its attempts.
struct RetryRun {
    agent: Rc<dyn IAgent>,
    policy: Rc<RetryPolicy>,
    clock: Rc<dyn IReactorTime>,
    jitter: Rc<RefCell<Jitter>>,
    method: String,
    uri: String,
    headers: Option<Headers>,
    /// The body to send again on each attempt (`None`: no body).
    body: Option<Bytes>,
    /// The caller's producer, used for the first attempt.
    first_body: RefCell<Option<Rc<dyn IBodyProducer>>>,
    retries: Cell<u32>,
    deadline: Option<f64>,
    in_flight: RefCell<InFlight>,
    cancelled: Cell<bool>,
    /// The caller's Deferred.
    done: Deferred<Response>,
}

/// The caller cancelled: stop what is in flight; the caller's Deferred then fails with
/// `CancelledError`.
fn cancel(run: &Weak<RetryRun>) {
    let Some(run) = run.upgrade() else { return };
    run.cancelled.set(true);
    let in_flight = std::mem::replace(&mut *run.in_flight.borrow_mut(), InFlight::Nothing);
    match in_flight {
        InFlight::Nothing => {}
        InFlight::Attempt(d) => d.cancel(),
        InFlight::Draining(d) => d.cancel(),
        InFlight::Waiting(call) => {
            call.cancel().ok();
        }
    }
}

/// Whether `failure` is a transient one worth another attempt: connect errors, a connection
/// reset or lost before the response head arrived, an attempt timed out. Not a cancellation.
fn retriable(failure: &Failure) -> bool {
    let reasons = if let Some(e) = failure.value::<ResponseNeverReceived>() {
        &e.reasons
    } else if let Some(e) = failure.value::<RequestTransmissionFailed>() {
        &e.reasons
    } else if let Some(e) = failure.value::<ResponseFailed>() {
        &e.reasons
    } else {
        return match failure.value::<ConnectError>() {
            Some(ConnectError::Cancelled) => false,
            Some(_) => true,
            None => failure.check::<TimeoutError>() || failure.check::<ConnectionLost>(),
        };
    };
    !reasons.iter().any(|r| r.check::<CancelledError>())
}

impl RetryRun {
    fn finish(&self, result: Result<Response, Failure>) {
        let _ = self.done.fire(result);
    }

    fn body_for_attempt(&self) -> Option<Rc<dyn IBodyProducer>> {
        if let Some(first) = self.first_body.borrow_mut().take() {
            return Some(first);
        }
        self.body
            .clone()
            .map(|bytes| Rc::new(BytesBodyProducer::new(bytes)) as Rc<dyn IBodyProducer>)
    }

    fn attempt(self: &Rc<Self>) {
        if self.cancelled.get() {
            return;
        }
        let body = self.body_for_attempt();
        let mut d = self
            .agent
            .request(&self.method, &self.uri, self.headers.clone(), body);
        if let Some(seconds) = self.policy.attempt_timeout {
            d = self.time_out(d, seconds);
        }
        *self.in_flight.borrow_mut() = InFlight::Attempt(d.clone());
        let run = self.clone();
        d.add_both(move |result| run.attempted(result));
    }

    /// Cancel the attempt `d` after `seconds`; whatever it then fails with (a `CancelledError`
    /// from a request, or `ConnectError::Cancelled` when it was still connecting) becomes a
    /// [`TimeoutError`], which is retried.
    fn time_out(&self, d: Deferred<Response>, seconds: f64) -> Deferred<Response> {
        let timed_out = Rc::new(Cell::new(false));
        let (flag, target) = (timed_out.clone(), d.clone());
        let call = self.clock.call_later(
            seconds,
            Box::new(move || {
                flag.set(true);
                target.cancel();
            }),
        );
        d.add_both(move |result| {
            if call.active() {
                let _ = call.cancel();
            }
            match result {
                Err(_) if timed_out.get() => Err(Failure::new(TimeoutError { seconds })),
                other => other,
            }
        })
    }

    fn attempted(self: &Rc<Self>, result: Result<Response, Failure>) {
        *self.in_flight.borrow_mut() = InFlight::Nothing;
        if self.cancelled.get() {
            if let Ok(response) = result {
                drain(&response).cancel();
            }
            return;
        }
        match result {
            Ok(response) if self.policy.statuses.contains(&response.code) => {
                match self.next_wait(Some(&response)) {
                    Some(wait) => self.drain_then_wait(response, wait),
                    None => self.finish(Ok(response)),
                }
            }
            Err(failure) if retriable(&failure) => match self.next_wait(None) {
                Some(wait) => self.wait(wait),
                None => self.finish(Err(failure)),
            },
            other => self.finish(other),
        }
    }

    /// How long to wait before the next retry, or `None` when there is to be none (retries
    /// used up, the total time would run out, `Retry-After` asks too much).
    fn next_wait(&self, response: Option<&Response>) -> Option<f64> {
        let n = self.retries.get() + 1;
        if n > self.policy.max_retries {
            return None;
        }
        let asked = response
            .filter(|_| self.policy.respect_retry_after)
            .and_then(|r| retry_after(&r.headers, SystemTime::now()));
        let wait = match asked {
            Some(seconds) if seconds > self.policy.max_retry_after => return None,
            Some(seconds) => seconds,
            None => {
                let unit = self.jitter.borrow_mut().next_unit();
                self.policy.jittered_backoff(n, unit)
            }
        };
        if let Some(deadline) = self.deadline {
            if self.clock.seconds() + wait > deadline {
                return None;
            }
        }
        self.retries.set(n);
        Some(wait)
    }

    fn drain_then_wait(self: &Rc<Self>, response: Response, wait: f64) {
        let d = drain(&response);
        *self.in_flight.borrow_mut() = InFlight::Draining(d.clone());
        let run = self.clone();
        d.add_both(move |_: Result<(), Failure>| {
            *run.in_flight.borrow_mut() = InFlight::Nothing;
            if !run.cancelled.get() {
                run.wait(wait);
            }
        });
    }

    fn wait(self: &Rc<Self>, seconds: f64) {
        let run = self.clone();
        let call = self.clock.call_later(
            seconds,
            Box::new(move || {
                *run.in_flight.borrow_mut() = InFlight::Nothing;
                run.attempt();
            }),
        );
        *self.in_flight.borrow_mut() = InFlight::Waiting(call);
    }
}
