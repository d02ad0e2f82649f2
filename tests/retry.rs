//! `RetryAgent` and treq's `retry=` against real servers on 127.0.0.1: retry counts, backoff
//! delays (on a `task::Clock`), `Retry-After` in seconds and as a date, idempotency and
//! replayable bodies, connect errors, resets, per-attempt and total time bounds,
//! cancellation, and drained bodies that let the connection be reused.

mod support;

use reactor::defer::{CancelledError, Deferred, Failure, TimeoutError};
use reactor::error::ConnectError;
use reactor::task::Clock;
use reactor::Reactor;
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::rc::Rc;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};
use support::{reply, serve, wait_until, Out, Seen};
use treq::client::HTTPClient;
use treq::web::client::{
    Agent, BytesBodyProducer, FileBodyProducer, HTTPConnectionPool, RetryAgent, RetryPolicy,
};
use treq::web::error::ResponseNeverReceived;
use treq::web::iweb::{IAgent, IBodyProducer};

static ATTEMPTS: Mutex<Option<HashMap<String, usize>>> = Mutex::new(None);

/// `/flaky/<name>?fail=N&code=C&retry_after=V&retry_in=S`: the first `N` requests to a path get
/// `C` (default 503) with `Retry-After: V` (or an HTTP date `S` seconds ahead), the rest 200.
/// With `big=K` the failing answers have a body of `K` KiB.
fn flaky(seen: &Seen) -> hyper::Response<Out> {
    let n = {
        let mut map = ATTEMPTS.lock().unwrap();
        let count = map
            .get_or_insert_with(HashMap::new)
            .entry(seen.path().to_owned())
            .or_insert(0);
        *count += 1;
        *count
    };
    let fail: usize = seen.param("fail").map_or(0, |v| v.parse().unwrap());
    if n > fail {
        return reply(200, &[], Out::full(format!("ok after {n}")));
    }
    let code: u16 = seen.param("code").map_or(503, |v| v.parse().unwrap());
    let mut headers = Vec::new();
    let date;
    if let Some(v) = seen.param("retry_after") {
        headers.push(("retry-after".to_owned(), v));
    }
    if let Some(s) = seen.param("retry_in") {
        date = httpdate::fmt_http_date(
            SystemTime::now() + Duration::from_secs(s.parse::<u64>().unwrap()),
        );
        headers.push(("retry-after".to_owned(), date));
    }
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    // `big=K`: a body of K KiB, sent in pieces.
    if let Some(k) = seen.param("big") {
        let body = Out::Repeat {
            head: None,
            piece: vec![b'x'; 1024].into(),
            count: k.parse().unwrap(),
            tail: None,
        };
        return reply(code, &headers, body);
    }
    reply(code, &headers, Out::full("try again later"))
}

type Outcome<T> = Rc<RefCell<Option<Result<T, Failure>>>>;

fn result_of<T: 'static>(d: Deferred<T>) -> Outcome<T> {
    let out = Rc::new(RefCell::new(None));
    let o = out.clone();
    d.add_both(move |r: Result<T, Failure>| {
        *o.borrow_mut() = Some(r);
    });
    out
}

struct Setup {
    reactor: Reactor,
    clock: Rc<Clock>,
}

impl Setup {
    fn new() -> Setup {
        Setup {
            reactor: Reactor::new(),
            clock: Rc::new(Clock::new()),
        }
    }

    fn agent(&self, policy: RetryPolicy) -> RetryAgent {
        let pool = HTTPConnectionPool::new(&self.reactor, true);
        RetryAgent::new(Rc::new(Agent::new(&self.reactor).pool(pool)), policy)
            .clock(self.clock.clone())
    }

    /// Turn the reactor until a wait is pending on the clock, and give its length.
    fn next_wait(&self) -> f64 {
        let clock = self.clock.clone();
        assert!(
            wait_until(&self.reactor, 10.0, || clock.get_delayed_calls().len() == 1),
            "no wait was scheduled: {} pending",
            self.clock.get_delayed_calls().len()
        );
        let calls = self.clock.get_delayed_calls();
        calls[0].get_time() - self.clock.seconds()
    }

    fn finish<T: 'static>(&self, out: &Outcome<T>) -> Result<T, Failure> {
        let o = out.clone();
        assert!(
            wait_until(&self.reactor, 10.0, || o.borrow().is_some()),
            "no result"
        );
        out.borrow_mut().take().unwrap()
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn failing_statuses_are_retried_with_doubling_waits_on_one_connection() {
    let server = serve(flaky);
    let s = Setup::new();
    let agent = s.agent(RetryPolicy::new().jitter(0.0).backoff_factor(0.5));
    let out = result_of(agent.request("GET", &server.url("/flaky/a?fail=2"), None, None));
    assert!(close(s.next_wait(), 0.5));
    assert_eq!(server.seen().len(), 1);
    // Nothing more happens until the clock moves.
    support::run_for(&s.reactor, 0.05);
    assert_eq!(server.seen().len(), 1);
    s.clock.advance(0.5);
    assert!(close(s.next_wait(), 1.0));
    assert_eq!(server.seen().len(), 2);
    s.clock.advance(1.0);
    let response = s.finish(&out).unwrap();
    assert_eq!(response.code, 200);
    let body = support::run(&s.reactor, treq::web::client::read_body(&response), 10.0);
    assert_eq!(body.unwrap(), "ok after 3");
    assert_eq!(server.seen().len(), 3);
    // Each 503's body was drained, so its connection went back to the pool and was reused.
    assert_eq!(server.connections(), 1);
}

#[test]
fn retries_run_out_and_the_last_response_is_the_result() {
    let server = serve(flaky);
    let s = Setup::new();
    let agent = s.agent(RetryPolicy::new().max_retries(2).jitter(0.0));
    let out = result_of(agent.request("GET", &server.url("/flaky/b?fail=99"), None, None));
    s.clock.advance(s.next_wait());
    s.clock.advance(s.next_wait());
    let response = s.finish(&out).unwrap();
    assert_eq!(response.code, 503);
    assert_eq!(server.seen().len(), 3);
    assert!(s.clock.get_delayed_calls().is_empty());
}

#[test]
fn statuses_not_in_the_list_are_given_back_at_once() {
    let server = serve(flaky);
    let s = Setup::new();
    let agent = s.agent(RetryPolicy::new().statuses([502]));
    let out = result_of(agent.request("GET", &server.url("/flaky/c?fail=1"), None, None));
    assert_eq!(s.finish(&out).unwrap().code, 503);
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn retry_after_in_seconds_replaces_the_backoff() {
    let server = serve(flaky);
    let s = Setup::new();
    let agent = s.agent(RetryPolicy::new());
    let url = server.url("/flaky/d?fail=1&code=429&retry_after=7");
    let out = result_of(agent.request("GET", &url, None, None));
    assert!(close(s.next_wait(), 7.0));
    s.clock.advance(6.9);
    support::run_for(&s.reactor, 0.05);
    assert_eq!(server.seen().len(), 1, "not before Retry-After");
    s.clock.advance(0.1);
    assert_eq!(s.finish(&out).unwrap().code, 200);
    assert_eq!(server.seen().len(), 2);
}

#[test]
fn retry_after_as_an_http_date() {
    let server = serve(flaky);
    let s = Setup::new();
    let agent = s.agent(RetryPolicy::new());
    let out = result_of(agent.request(
        "GET",
        &server.url("/flaky/e?fail=1&retry_in=30"),
        None,
        None,
    ));
    let wait = s.next_wait();
    // HTTP dates have whole seconds.
    assert!((28.0..=30.5).contains(&wait), "{wait}");
    s.clock.advance(wait);
    assert_eq!(s.finish(&out).unwrap().code, 200);
}

#[test]
fn a_retry_after_too_long_gives_the_response_back() {
    let server = serve(flaky);
    let s = Setup::new();
    let agent = s.agent(RetryPolicy::new().max_retry_after(60.0));
    let url = server.url("/flaky/f?fail=1&retry_after=3600");
    let out = result_of(agent.request("GET", &url, None, None));
    assert_eq!(s.finish(&out).unwrap().code, 503);
    assert!(s.clock.get_delayed_calls().is_empty());
    // Ignored when told to: the backoff applies.
    let agent = s.agent(RetryPolicy::new().respect_retry_after(false).jitter(0.0));
    let url = server.url("/flaky/f2?fail=1&retry_after=3600");
    let out = result_of(agent.request("GET", &url, None, None));
    assert!(close(s.next_wait(), 0.5));
    s.clock.advance(0.5);
    assert_eq!(s.finish(&out).unwrap().code, 200);
}

#[test]
fn post_is_not_retried_unless_asked() {
    let server = serve(flaky);
    let s = Setup::new();
    let body: Rc<dyn IBodyProducer> = Rc::new(BytesBodyProducer::new("payload"));
    let out = result_of(s.agent(RetryPolicy::new()).request(
        "POST",
        &server.url("/flaky/g?fail=1"),
        None,
        Some(body),
    ));
    assert_eq!(s.finish(&out).unwrap().code, 503);
    assert_eq!(server.seen().len(), 1);
    assert!(s.clock.get_delayed_calls().is_empty());
}

#[test]
fn post_opted_in_is_retried_with_the_same_body() {
    let server = serve(flaky);
    let s = Setup::new();
    let agent = s.agent(RetryPolicy::new().retry_non_idempotent(true).jitter(0.0));
    let body: Rc<dyn IBodyProducer> = Rc::new(BytesBodyProducer::new("payload"));
    let out = result_of(agent.request("POST", &server.url("/flaky/h?fail=1"), None, Some(body)));
    s.clock.advance(s.next_wait());
    assert_eq!(s.finish(&out).unwrap().code, 200);
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen
        .iter()
        .all(|r| r.method == "POST" && r.body == b"payload"));
}

#[test]
fn a_body_that_cannot_be_replayed_is_sent_once() {
    let server = serve(flaky);
    let s = Setup::new();
    let agent = s.agent(RetryPolicy::new().retry_non_idempotent(true));
    let file = FileBodyProducer::new(&s.reactor, std::io::Cursor::new(b"streamed".to_vec()));
    let body: Rc<dyn IBodyProducer> = Rc::new(file.unwrap());
    let out = result_of(agent.request("PUT", &server.url("/flaky/i?fail=1"), None, Some(body)));
    assert_eq!(s.finish(&out).unwrap().code, 503);
    assert_eq!(server.seen().len(), 1);
    assert_eq!(server.seen()[0].body, b"streamed");
}

/// What a raw server does with each connection it accepts, in turn.
#[derive(Clone, Copy)]
enum Conn {
    /// Read the request and close.
    Reset,
    /// Read the request and never answer (until the client goes).
    Silent,
    /// Answer 200 "ok".
    Answer,
}

fn raw_server(script: Vec<Conn>) -> (u16, std::sync::Arc<Mutex<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(Mutex::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for conn in script {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            *count.lock().unwrap() += 1;
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            match conn {
                Conn::Reset => drop(stream),
                Conn::Silent => {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 64];
                        while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
                    });
                }
                Conn::Answer => {
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                    );
                }
            }
        }
    });
    (port, accepted)
}

#[test]
fn a_connection_reset_before_the_answer_is_retried() {
    let (port, accepted) = raw_server(vec![Conn::Reset, Conn::Reset, Conn::Answer]);
    let s = Setup::new();
    let agent = s.agent(RetryPolicy::new().jitter(0.0));
    let out = result_of(agent.request("GET", &format!("http://127.0.0.1:{port}/"), None, None));
    assert!(close(s.next_wait(), 0.5));
    s.clock.advance(0.5);
    assert!(close(s.next_wait(), 1.0));
    s.clock.advance(1.0);
    assert_eq!(s.finish(&out).unwrap().code, 200);
    assert_eq!(*accepted.lock().unwrap(), 3);
}

#[test]
fn resets_every_time_fail_with_the_last_failure() {
    let (port, _) = raw_server(vec![Conn::Reset, Conn::Reset]);
    let s = Setup::new();
    let agent = s.agent(RetryPolicy::new().max_retries(1).jitter(0.0));
    let out = result_of(agent.request("GET", &format!("http://127.0.0.1:{port}/"), None, None));
    s.clock.advance(s.next_wait());
    let failure = s.finish(&out).unwrap_err();
    assert!(failure.check::<ResponseNeverReceived>(), "{failure}");
}

#[test]
fn connect_errors_are_retried_then_reported() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let s = Setup::new();
    let agent = s.agent(
        RetryPolicy::new()
            .max_retries(2)
            .jitter(0.0)
            .backoff_factor(1.0),
    );
    let out = result_of(agent.request("GET", &format!("http://127.0.0.1:{port}/"), None, None));
    assert!(close(s.next_wait(), 1.0));
    s.clock.advance(1.0);
    assert!(close(s.next_wait(), 2.0));
    s.clock.advance(2.0);
    let failure = s.finish(&out).unwrap_err();
    assert!(
        matches!(
            failure.value::<ConnectError>(),
            Some(ConnectError::ConnectionRefused { .. })
        ),
        "{failure}"
    );
}

#[test]
fn an_attempt_past_its_timeout_is_cancelled_and_retried() {
    let (port, accepted) = raw_server(vec![Conn::Silent, Conn::Answer]);
    let s = Setup::new();
    let agent = s.agent(RetryPolicy::new().attempt_timeout(5.0).jitter(0.0));
    let out = result_of(agent.request("GET", &format!("http://127.0.0.1:{port}/"), None, None));
    let a = accepted.clone();
    assert!(wait_until(&s.reactor, 10.0, || *a.lock().unwrap() == 1));
    assert!(close(s.next_wait(), 5.0), "the attempt's timeout");
    s.clock.advance(5.0);
    assert!(close(s.next_wait(), 0.5), "then the backoff");
    s.clock.advance(0.5);
    assert_eq!(s.finish(&out).unwrap().code, 200);
    assert_eq!(*accepted.lock().unwrap(), 2);
}

#[test]
fn no_retry_starts_past_the_total_time() {
    let server = serve(flaky);
    let s = Setup::new();
    let policy = RetryPolicy::new()
        .max_retries(10)
        .jitter(0.0)
        .total_timeout(1.0);
    let out =
        result_of(
            s.agent(policy)
                .request("GET", &server.url("/flaky/j?fail=99"), None, None),
        );
    s.clock.advance(s.next_wait()); // 0.5: ends at 0.5
                                    // The next wait (1.0) would end at 1.5, past the bound.
    let response = s.finish(&out).unwrap();
    assert_eq!(response.code, 503);
    assert_eq!(server.seen().len(), 2);
}

#[test]
fn cancelling_during_a_wait_stops_the_retries() {
    let server = serve(flaky);
    let s = Setup::new();
    let d = s
        .agent(RetryPolicy::new())
        .request("GET", &server.url("/flaky/k?fail=99"), None, None);
    let out = result_of(d.clone());
    s.next_wait();
    d.cancel();
    let failure = out.borrow_mut().take().unwrap().unwrap_err();
    assert!(failure.check::<CancelledError>(), "{failure}");
    assert!(
        s.clock.get_delayed_calls().is_empty(),
        "the wait is cancelled"
    );
    s.clock.advance(100.0);
    support::run_for(&s.reactor, 0.05);
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn seeded_jitter_repeats_and_stays_in_its_share() {
    let server = serve(flaky);
    let mut waits = Vec::new();
    for run in 0..2 {
        let s = Setup::new();
        let agent = s.agent(RetryPolicy::new().seed(42).jitter(0.5).backoff_factor(1.0));
        let url = server.url(&format!("/flaky/l{run}?fail=1"));
        let out = result_of(agent.request("GET", &url, None, None));
        let wait = s.next_wait();
        assert!((0.5..=1.0).contains(&wait), "{wait}");
        waits.push(wait);
        s.clock.advance(wait);
        assert_eq!(s.finish(&out).unwrap().code, 200);
    }
    assert_eq!(waits[0], waits[1]);
}

#[test]
fn treq_retry_keyword_and_timeout_bound_the_whole_request() {
    let server = serve(flaky);
    let s = Setup::new();
    let client = HTTPClient::new(Agent::new(&s.reactor)).clock(s.clock.clone());
    let d = client
        .get(server.url("/flaky/m?fail=1"))
        .retry(RetryPolicy::new().jitter(0.0))
        .send()
        .add_callback(|r| r.text(None));
    let out = result_of(d);
    let clock = s.clock.clone();
    assert!(wait_until(&s.reactor, 10.0, || clock
        .get_delayed_calls()
        .len()
        == 1));
    s.clock.advance(0.5);
    assert_eq!(s.finish(&out).unwrap(), "ok after 2");

    // `timeout` cancels a request waiting between attempts.
    let d = client
        .get(server.url("/flaky/n?fail=99"))
        .retry(2)
        .timeout(0.3)
        .send();
    let out = result_of(d);
    let clock = s.clock.clone();
    // The timeout and the backoff wait.
    assert!(wait_until(&s.reactor, 10.0, || clock
        .get_delayed_calls()
        .len()
        == 2));
    s.clock.advance(0.3);
    let failure = out.borrow_mut().take().unwrap().unwrap_err();
    assert!(failure.check::<TimeoutError>(), "{failure}");
    assert!(s.clock.get_delayed_calls().is_empty());
    s.clock.advance(60.0);
    support::run_for(&s.reactor, 0.05);
    assert_eq!(
        server
            .seen()
            .iter()
            .filter(|r| r.path() == "/flaky/n")
            .count(),
        1
    );
}

#[test]
fn the_agent_passes_on_its_reactor() {
    let s = Setup::new();
    assert!(s.agent(RetryPolicy::new()).reactor().is_some());
}

#[test]
fn a_large_retried_body_is_drained_so_its_connection_is_reused() {
    let server = serve(flaky);
    let s = Setup::new();
    let agent = s.agent(RetryPolicy::new().jitter(0.0));
    // 256 KiB: more than the connection keeps unread, less than the drain limit.
    let url = server.url("/flaky/big?fail=1&big=256");
    let out = result_of(agent.request("GET", &url, None, None));
    s.clock.advance(s.next_wait());
    assert_eq!(s.finish(&out).unwrap().code, 200);
    assert_eq!(server.connections(), 1);
}

#[test]
fn a_retried_body_past_the_drain_limit_closes_its_connection() {
    let server = serve(flaky);
    let s = Setup::new();
    let agent = s.agent(RetryPolicy::new().jitter(0.0));
    let url = server.url("/flaky/huge?fail=1&big=4096");
    let out = result_of(agent.request("GET", &url, None, None));
    s.clock.advance(s.next_wait());
    assert_eq!(s.finish(&out).unwrap().code, 200);
    assert_eq!(server.connections(), 2);
    assert!(wait_until(&s.reactor, 10.0, || server.closed() >= 1));
}

/// Endpoints that never connect (a host that swallows SYNs): cancelling one fails it with
/// `ConnectError::Cancelled`, as `HostnameEndpoint` does.
struct NeverConnects {
    attempts: Rc<std::cell::Cell<usize>>,
}

impl reactor::interfaces::IStreamClientEndpoint for NeverConnects {
    fn connect(&self, _protocol: Rc<dyn reactor::interfaces::IProtocol>) -> Deferred<()> {
        self.attempts.set(self.attempts.get() + 1);
        Deferred::with_canceller(|d: &Deferred<()>| {
            let _ = d.errback(ConnectError::Cancelled);
        })
    }
}

impl treq::web::client::EndpointFactory for NeverConnects {
    fn endpoint_for_uri(
        &self,
        _scheme: &str,
        _host: &str,
        _port: u16,
    ) -> Result<Rc<dyn reactor::interfaces::IStreamClientEndpoint>, Failure> {
        Ok(Rc::new(NeverConnects {
            attempts: self.attempts.clone(),
        }))
    }
}

#[test]
fn an_attempt_that_times_out_while_connecting_is_retried() {
    let s = Setup::new();
    let attempts = Rc::new(std::cell::Cell::new(0));
    let factory = Rc::new(NeverConnects {
        attempts: attempts.clone(),
    });
    let base = Agent::using_endpoint_factory(
        &s.reactor,
        factory,
        HTTPConnectionPool::new(&s.reactor, false),
    );
    let agent = RetryAgent::new(
        Rc::new(base),
        RetryPolicy::new()
            .max_retries(2)
            .attempt_timeout(1.0)
            .jitter(0.0)
            .backoff_factor(0.5),
    )
    .clock(s.clock.clone());
    let out = result_of(agent.request("GET", "http://unreachable.test/", None, None));
    for expected in 1..=3 {
        assert_eq!(attempts.get(), expected);
        s.clock.advance(1.0); // the attempt's timeout
        if expected < 3 {
            assert!(out.borrow().is_none(), "retried, not failed");
            s.clock.advance(s.next_wait()); // the backoff
        }
    }
    let failure = out.borrow_mut().take().unwrap().unwrap_err();
    assert!(failure.check::<TimeoutError>(), "{failure}");
    assert_eq!(attempts.get(), 3);
}
