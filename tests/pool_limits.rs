//! `HTTPConnectionPool::max_connections_per_host` (Twisted #7614) against a hyper server on
//! 127.0.0.1: no limit by default, requests beyond the limit wait first come first served,
//! go out as connections go idle or close, and leave the queue when cancelled or timed out.

mod support;

use reactor::defer::{gather_results, CancelledError, Deferred, TimeoutError};
use reactor::task::Clock;
use reactor::Reactor;
use std::rc::Rc;
use support::{reply, serve, wait_until, Out, Seen, Server};
use treq::client::HTTPClient;
use treq::web::client::{read_body, Agent, HTTPConnectionPool, PoolKey};
use treq::web::iweb::IAgent;

fn handler(seen: &Seen) -> hyper::Response<Out> {
    if seen.path() == "/stall" {
        return reply(200, &[], Out::Stall(Some("begun".into())));
    }
    reply(200, &[], Out::full(format!("answer to {}", seen.path())))
}

fn key(server: &Server) -> PoolKey {
    ("http".to_owned(), "127.0.0.1".to_owned(), server.port)
}

/// Send GETs for `paths` at once through `agent`; the Deferred gives the bodies in order.
fn fetch_all(agent: &Agent, server: &Server, paths: &[&str]) -> Deferred<Vec<String>> {
    let ds = paths
        .iter()
        .map(|p| {
            agent
                .request("GET", &server.url(p), None, None)
                .add_callback(|r| read_body(&r))
                .add_callback(|b| String::from_utf8_lossy(&b).into_owned())
        })
        .collect();
    gather_results(ds, true)
}

fn paths_seen(server: &Server) -> Vec<String> {
    server.seen().into_iter().map(|s| s.target).collect()
}

#[test]
fn there_is_no_limit_by_default() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let pool = HTTPConnectionPool::new(&reactor, true);
    let agent = Agent::new(&reactor).pool(pool.clone());
    let d = fetch_all(&agent, &server, &["/a", "/b", "/c"]);
    assert_eq!(pool.open_count(&key(&server)), 3);
    assert_eq!(pool.waiting_count(&key(&server)), 0);
    assert_eq!(support::run(&reactor, d, 10.0).unwrap().len(), 3);
    assert_eq!(server.connections(), 3);
}

#[test]
fn beyond_the_limit_requests_wait_in_order_and_reuse_the_connection() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let pool = HTTPConnectionPool::new(&reactor, true).max_connections_per_host(1);
    let agent = Agent::new(&reactor).pool(pool.clone());
    let paths = ["/0", "/1", "/2", "/3", "/4"];
    let d = fetch_all(&agent, &server, &paths);
    assert_eq!(pool.open_count(&key(&server)), 1);
    assert_eq!(pool.waiting_count(&key(&server)), 4);
    let bodies = support::run(&reactor, d, 10.0).unwrap();
    assert_eq!(bodies[4], "answer to /4");
    assert_eq!(paths_seen(&server), paths);
    assert_eq!(
        server.connections(),
        1,
        "each waiting request took the idle one"
    );
    assert_eq!(pool.waiting_count(&key(&server)), 0);
}

#[test]
fn a_limit_of_two_opens_two() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let pool = HTTPConnectionPool::new(&reactor, true).max_connections_per_host(2);
    let agent = Agent::new(&reactor).pool(pool.clone());
    let d = fetch_all(&agent, &server, &["/a", "/b", "/c", "/d", "/e", "/f"]);
    assert_eq!(pool.open_count(&key(&server)), 2);
    assert_eq!(pool.waiting_count(&key(&server)), 4);
    assert_eq!(support::run(&reactor, d, 10.0).unwrap().len(), 6);
    assert_eq!(server.connections(), 2);
}

#[test]
fn without_persistence_the_next_request_goes_when_a_connection_closes() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let pool = HTTPConnectionPool::new(&reactor, false).max_connections_per_host(1);
    let agent = Agent::new(&reactor).pool(pool.clone());
    let paths = ["/x", "/y", "/z"];
    let d = fetch_all(&agent, &server, &paths);
    assert_eq!(pool.waiting_count(&key(&server)), 2);
    support::run(&reactor, d, 10.0).unwrap();
    assert_eq!(paths_seen(&server), paths);
    assert_eq!(server.connections(), 3);
    let p = pool.clone();
    let k = key(&server);
    assert!(wait_until(&reactor, 10.0, || p.open_count(&k) == 0));
}

#[test]
fn a_cancelled_waiting_request_leaves_the_queue() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let pool = HTTPConnectionPool::new(&reactor, true).max_connections_per_host(1);
    let agent = Agent::new(&reactor).pool(pool.clone());
    let k = key(&server);
    let a = agent.request("GET", &server.url("/stall"), None, None);
    let b = agent.request("GET", &server.url("/b"), None, None);
    let c = agent
        .request("GET", &server.url("/c"), None, None)
        .add_callback(|r| read_body(&r));
    assert_eq!(pool.waiting_count(&k), 2);
    let response_a = support::run(&reactor, a, 10.0).unwrap();
    b.cancel();
    let failure = b.take_result().unwrap().unwrap_err();
    assert!(failure.check::<CancelledError>(), "{failure}");
    assert_eq!(pool.waiting_count(&k), 1);
    // The first body never ends: give up on it, which closes its connection and frees the
    // place for the next in line.
    read_body(&response_a).cancel();
    assert_eq!(support::run(&reactor, c, 10.0).unwrap(), "answer to /c");
    assert_eq!(paths_seen(&server), ["/stall", "/c"]);
    assert_eq!(server.connections(), 2);
}

#[test]
fn treq_timeout_takes_a_waiting_request_out_of_the_queue() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let clock = Rc::new(Clock::new());
    let pool = HTTPConnectionPool::new(&reactor, true).max_connections_per_host(1);
    let client = HTTPClient::new(Agent::new(&reactor).pool(pool.clone())).clock(clock.clone());
    let k = key(&server);
    let first = client.get(server.url("/stall")).send();
    let second = client.get(server.url("/late")).timeout(1.0).send();
    let out = std::rc::Rc::new(std::cell::RefCell::new(None));
    let o = out.clone();
    second.add_both(move |r| {
        *o.borrow_mut() = Some(r);
    });
    let response = support::run(&reactor, first, 10.0).unwrap();
    assert_eq!(response.code(), 200);
    assert_eq!(pool.waiting_count(&k), 1);
    clock.advance(1.0);
    let failure = out.borrow_mut().take().unwrap().unwrap_err();
    assert!(failure.check::<TimeoutError>(), "{failure}");
    assert_eq!(pool.waiting_count(&k), 0);
    support::run_for(&reactor, 0.05);
    assert_eq!(paths_seen(&server), ["/stall"]);
}

#[test]
fn a_connection_that_fails_to_open_frees_its_place() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let reactor = Reactor::new();
    let pool = HTTPConnectionPool::new(&reactor, true).max_connections_per_host(1);
    let agent = Agent::new(&reactor).pool(pool.clone());
    let url = format!("http://127.0.0.1:{port}/");
    let ds: Vec<_> = (0..3)
        .map(|_| agent.request("GET", &url, None, None))
        .collect();
    let k = ("http".to_owned(), "127.0.0.1".to_owned(), port);
    assert_eq!(pool.waiting_count(&k), 2);
    for d in ds {
        let failure = support::run(&reactor, d, 10.0).unwrap_err();
        assert!(failure.check::<reactor::error::ConnectError>(), "{failure}");
    }
    assert_eq!(pool.open_count(&k), 0);
    assert_eq!(pool.waiting_count(&k), 0);
}
