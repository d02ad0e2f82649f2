//! treq's `timeout=`, on a `task::Clock`: it cancels the request, aborts its connection, and
//! fails with `TimeoutError` (not a confusing connect error, treq #215).

use reactor::defer::{Deferred, Failure, TimeoutError};
use reactor::task::Clock;
use reactor::Reactor;
use std::cell::RefCell;
use std::io::Read;
use std::net::TcpListener;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use treq::client::HTTPClient;
use treq::web::client::{Agent, HTTPConnectionPool};
use treq::web::resource::{Data, ResourceTree};
use treq::web::server::Site;

/// A server that reads requests and never answers. `state`: 1 once a request arrived, 2 once
/// the client closed the connection.
fn silent_server() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let state = Arc::new(AtomicUsize::new(0));
    let s = state.clone();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => s.store(1, Ordering::SeqCst),
            }
        }
        s.store(2, Ordering::SeqCst);
    });
    (port, state)
}

/// Run `reactor` until `state` reaches `wanted` (checked every millisecond, for at most 10 s).
fn run_until(reactor: &Reactor, state: &Arc<AtomicUsize>, wanted: usize) {
    let (r, s) = (reactor.clone(), state.clone());
    let poll = reactor::task::LoopingCall::new(Rc::new(reactor.clone()), move || {
        if s.load(Ordering::SeqCst) >= wanted {
            let _ = r.stop();
        }
    });
    let _done = poll.start(0.001, true);
    let r = reactor.clone();
    let guard = reactor.call_later(10.0, move || {
        let _ = r.stop();
    });
    reactor.run().unwrap();
    let _ = guard.cancel();
    poll.stop();
    assert!(state.load(Ordering::SeqCst) >= wanted, "timed out waiting");
}

fn result_of<T: 'static>(d: &Deferred<T>) -> Rc<RefCell<Option<Result<T, Failure>>>> {
    let out = Rc::new(RefCell::new(None));
    let o = out.clone();
    d.add_both(move |r: Result<T, Failure>| {
        *o.borrow_mut() = Some(r);
    });
    out
}

#[test]
fn the_timeout_cancels_the_request_and_closes_its_connection() {
    let reactor = Reactor::new();
    let clock = Rc::new(Clock::new());
    let (port, state) = silent_server();
    let pool = HTTPConnectionPool::new(&reactor, true);
    let client = HTTPClient::new(Agent::new(&reactor).pool(pool.clone())).clock(clock.clone());
    let d = client
        .get(format!("http://127.0.0.1:{port}/never"))
        .timeout(2.5)
        .send();
    let outcome = result_of(&d);
    run_until(&reactor, &state, 1);
    clock.advance(2.0);
    assert!(outcome.borrow().is_none(), "not yet");
    clock.advance(0.5);
    let failure = outcome.borrow_mut().take().unwrap().unwrap_err();
    assert!(failure.check::<TimeoutError>(), "{failure}");
    run_until(&reactor, &state, 2);
    assert!(clock.get_delayed_calls().is_empty());
}

#[test]
fn a_request_that_answers_in_time_cancels_its_timer() {
    let reactor = Reactor::new();
    let clock = Rc::new(Clock::new());
    let root = Rc::new(ResourceTree::new());
    root.put_child("hi", Rc::new(Data::new("hello", "text/plain")));
    let port = reactor
        .listen_tcp(0, Rc::new(Site::new(root)), "127.0.0.1")
        .unwrap();
    let client = HTTPClient::new(Agent::new(&reactor)).clock(clock.clone());
    let d = client
        .get(format!("http://127.0.0.1:{}/hi", port.get_host().port()))
        .timeout(5.0)
        .send()
        .add_callback(|response| response.text(None));
    assert_eq!(clock.get_delayed_calls().len(), 1, "the timeout is pending");
    let outcome = Rc::new(RefCell::new(None));
    let (o, r) = (outcome.clone(), reactor.clone());
    d.add_both(move |result: Result<String, Failure>| {
        *o.borrow_mut() = Some(result);
        let _ = r.stop();
    });
    let r = reactor.clone();
    let guard = reactor.call_later(10.0, move || {
        let _ = r.stop();
    });
    reactor.run().unwrap();
    let _ = guard.cancel();
    assert_eq!(outcome.borrow_mut().take().unwrap().unwrap(), "hello");
    assert!(
        clock.get_delayed_calls().is_empty(),
        "the timeout was cancelled"
    );
    // Advancing past it changes nothing.
    clock.advance(10.0);
}

/// A server that reads the request, then sends a response head one byte every 5 ms, forever
/// (the head never ends). `state` counts the bytes sent; it is set to `usize::MAX / 2` plus
/// the count once the client has closed the connection.
fn trickle_server() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let state = Arc::new(AtomicUsize::new(0));
    let s = state.clone();
    std::thread::spawn(move || {
        use std::io::Write;
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = stream.read(&mut buf);
        let head = b"HTTP/1.1 200 OK\r\nX-Slow: "
            .iter()
            .chain(std::iter::repeat(&b'a'));
        for (i, byte) in head.enumerate().take(100_000) {
            if stream.write_all(&[*byte]).is_err() {
                s.store(usize::MAX / 2 + i, Ordering::SeqCst);
                return;
            }
            s.store(i + 1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    (port, state)
}

#[test]
fn the_timeout_fires_although_every_read_succeeds() {
    let reactor = Reactor::new();
    let clock = Rc::new(Clock::new());
    let (port, state) = trickle_server();
    let client = HTTPClient::new(Agent::new(&reactor)).clock(clock.clone());
    let d = client
        .get(format!("http://127.0.0.1:{port}/slow"))
        .timeout(1.0)
        .send();
    let outcome = result_of(&d);
    run_until(&reactor, &state, 20);
    assert!(
        outcome.borrow().is_none(),
        "bytes keep coming: no answer, no error yet"
    );
    clock.advance(1.0);
    let failure = outcome.borrow_mut().take().unwrap().unwrap_err();
    assert!(failure.check::<TimeoutError>(), "{failure}");
    // The connection is closed: the server's writes start failing.
    run_until(&reactor, &state, usize::MAX / 2);
}
