//! treq's module-level API (`treq::get`, ...) and the pool defaults (`get_global_pool`,
//! `set_global_pool`, `default_pool`, `default_reactor`), against the httpbin server.
//!
//! The global pool is per thread, and every test runs on a thread of its own, so each test
//! starts without one.

mod support;

use reactor::defer::{Deferred, Failure};
use reactor::Reactor;
use serde_json::Value;
use std::cell::RefCell;
use std::rc::Rc;
use support::httpbin::HttpBin;
use treq::client::{default_pool, default_reactor, get_global_pool, set_global_pool};
use treq::response::Response;
use treq::web::client::{Agent, HTTPConnectionPool};

fn run<T: 'static>(reactor: &Reactor, d: Deferred<T>) -> Result<T, Failure> {
    support::wait::run(reactor, d, 10.0)
}

/// Send, then read the whole body so the connection can go back to its pool.
fn fetch(reactor: &Reactor, d: Deferred<Response>) -> Value {
    run(reactor, d.add_callback(|r: Response| r.json::<Value>())).unwrap()
}

#[test]
fn module_level_requests_share_the_global_persistent_pool() {
    let reactor = Reactor::default();
    let bin = HttpBin::start();
    assert!(get_global_pool().is_none());
    for _ in 0..3 {
        fetch(&reactor, treq::get(bin.url("/get")).send());
    }
    let pool = get_global_pool().expect("created by the first request");
    assert!(pool.persistent());
    assert_eq!(bin.connections(), 1, "one kept-alive connection");
}

#[test]
fn persistent_false_uses_a_fresh_non_persistent_pool() {
    let reactor = Reactor::default();
    let bin = HttpBin::start();
    for _ in 0..2 {
        let data = fetch(
            &reactor,
            treq::get(bin.url("/headers")).persistent(false).send(),
        );
        assert_eq!(data["headers"]["Connection"], "close");
    }
    assert_eq!(bin.connections(), 2);
    assert!(
        get_global_pool().is_none(),
        "the global pool was not created"
    );
}

#[test]
fn set_global_pool_is_what_module_level_requests_use() {
    let reactor = Reactor::default();
    let bin = HttpBin::start();
    let pool = HTTPConnectionPool::new(&reactor, true).max_persistent_per_host(10);
    set_global_pool(pool.clone());
    fetch(&reactor, treq::post(bin.url("/post")).data("x").send());
    fetch(&reactor, treq::post(bin.url("/post")).data("y").send());
    assert_eq!(bin.connections(), 1);
    let key = ("http".to_owned(), "127.0.0.1".to_owned(), bin.port());
    assert_eq!(
        pool.idle_count(&key),
        1,
        "the connection is idle in our pool"
    );
}

#[test]
fn an_explicit_pool_or_agent_wins() {
    let reactor = Reactor::default();
    let bin = HttpBin::start();
    let pool = HTTPConnectionPool::new(&reactor, true);
    fetch(
        &reactor,
        treq::get(bin.url("/get")).pool(pool.clone()).send(),
    );
    let key = ("http".to_owned(), "127.0.0.1".to_owned(), bin.port());
    assert_eq!(pool.idle_count(&key), 1);
    assert!(get_global_pool().is_none());

    let agent_pool = HTTPConnectionPool::new(&reactor, true);
    let agent = Agent::new(&reactor).pool(agent_pool.clone());
    fetch(
        &reactor,
        treq::delete(bin.url("/delete")).agent(agent).send(),
    );
    assert_eq!(agent_pool.idle_count(&key), 1);
    assert!(get_global_pool().is_none());
}

#[test]
fn default_pool_follows_treqs_rules() {
    let reactor = Reactor::default();
    let mine = HTTPConnectionPool::new(&reactor, true).max_persistent_per_host(7);
    let given = default_pool(&reactor, Some(mine), Some(false));
    assert!(
        given.persistent(),
        "an explicit pool wins over persistent=false"
    );
    let fresh = default_pool(&reactor, None, Some(false));
    assert!(!fresh.persistent());
    assert!(get_global_pool().is_none());
    let global = default_pool(&reactor, None, None);
    assert!(global.persistent());
    let again = default_pool(&reactor, None, Some(true));
    let key = ("http".to_owned(), "h".to_owned(), 80);
    // The same pool: what one holds the other sees (both empty here), and get_global_pool
    // hands it out.
    assert_eq!(again.idle_count(&key), global.idle_count(&key));
    assert!(get_global_pool().is_some());
}

#[test]
fn default_reactor_is_the_given_one_or_the_threads() {
    let mine = Reactor::new();
    let fired = Rc::new(RefCell::new(false));
    let f = fired.clone();
    let r = default_reactor(Some(&mine));
    r.call_later(0.0, move || *f.borrow_mut() = true);
    let stopper = mine.clone();
    mine.call_later(0.01, move || {
        let _ = stopper.stop();
    });
    mine.run().unwrap();
    assert!(
        *fired.borrow(),
        "the call was scheduled on the given reactor"
    );
    // Without one, it is the thread's default reactor, the same each time.
    let a = default_reactor(None);
    let b = Reactor::default();
    let seen = Rc::new(RefCell::new(false));
    let s = seen.clone();
    a.call_later(0.0, move || *s.borrow_mut() = true);
    let stopper = b.clone();
    b.call_later(0.01, move || {
        let _ = stopper.stop();
    });
    b.run().unwrap();
    assert!(*seen.borrow());
}

#[test]
fn each_module_level_request_has_a_fresh_cookie_jar() {
    let reactor = Reactor::default();
    let bin = HttpBin::start();
    let d = treq::get(bin.url("/cookies/set?k=v"))
        .allow_redirects(false)
        .send();
    let response = run(&reactor, d).unwrap();
    assert_eq!(response.cookies().len(), 1);
    let data = fetch(&reactor, treq::get(bin.url("/cookies")).send());
    assert_eq!(data["cookies"], serde_json::json!({}));
}

#[test]
fn module_level_requests_take_every_keyword() {
    let reactor = Reactor::new();
    let bin = HttpBin::start();
    let data = fetch(
        &reactor,
        treq::request("put", bin.url("/put"))
            .reactor(&reactor)
            .params([("p", "1")])
            .headers([("X-H", "h")])
            .json(&serde_json::json!({"k": "v"}))
            .auth(("u", "p"))
            .cookies([("c", "d")])
            .timeout(5.0)
            .send(),
    );
    assert_eq!(data["args"]["p"], "1");
    assert_eq!(data["headers"]["X-H"], "h");
    assert_eq!(data["json"]["k"], "v");
    assert!(data["headers"]["Authorization"]
        .as_str()
        .unwrap()
        .starts_with("Basic "));
    assert_eq!(data["headers"]["Cookie"], "c=d");
}
