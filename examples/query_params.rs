//! treq's `query_params.py`, ported: the shapes `params=` takes — a list of pairs, a map, a
//! list value (the key repeats), bytes, and params added to a URL that has a query already.
//!
//! ```python
//! from twisted.internet.task import react
//! from twisted.internet.defer import inlineCallbacks
//!
//! import treq
//!
//!
//! @inlineCallbacks
//! def main(reactor):
//!     print('List of tuples')
//!     resp = yield treq.get('https://httpbin.org/get',
//!                           params=[('foo', 'bar'), ('baz', 'bax')])
//!     content = yield resp.text()
//!     print(content)
//!
//!     print('Single value dictionary')
//!     resp = yield treq.get('https://httpbin.org/get',
//!                           params={'foo': 'bar', 'baz': 'bax'})
//!     content = yield resp.text()
//!     print(content)
//!
//!     print('Multi value dictionary')
//!     resp = yield treq.get('https://httpbin.org/get',
//!                           params={b'foo': [b'bar', b'baz', b'bax']})
//!     content = yield resp.text()
//!     print(content)
//!
//!     print('Mixed value dictionary')
//!     resp = yield treq.get('https://httpbin.org/get',
//!                           params={'foo': [1, 2, 3], 'bax': b'quux', b'bar': 'foo'})
//!     content = yield resp.text()
//!     print(content)
//!
//!     print('Preserved query parameters')
//!     resp = yield treq.get('https://httpbin.org/get?foo=bar',
//!                           params={'baz': 'bax'})
//!     content = yield resp.text()
//!     print(content)
//!
//! react(main, [])
//! ```
//!
//! In Rust a map's values share one type, so the mixed dictionary is a list of pairs of
//! [`Values`](treq::client::Values) (numbers are given as text: `params` takes text or bytes).
//! A `HashMap` sends its pairs in its own order; use a `BTreeMap` or a list for a fixed one.
//!
//! Runs offline against a local stand-in for httpbin: `cargo run --example query_params`.

mod support;

use reactor::defer::ensure_deferred;
use reactor::Reactor;
use serde_json::Value;
use std::collections::BTreeMap;
use support::utils::check;
use treq::client::Values;

fn main() {
    let reactor = Reactor::default();
    let bin = support::LocalBin::start(&reactor);

    let main = ensure_deferred(async move {
        println!("List of tuples");
        let resp = treq::get(bin.url("/get"))
            .params([("foo", "bar"), ("baz", "bax")])
            .await?;
        let content = resp.text(None).await?;
        println!("{content}");
        check(content.contains("?foo=bar&baz=bax"), "?foo=bar&baz=bax")?;

        println!("Single value dictionary");
        let resp = treq::get(bin.url("/get"))
            .params(BTreeMap::from([("foo", "bar"), ("baz", "bax")]))
            .await?;
        let content = resp.text(None).await?;
        println!("{content}");
        check(content.contains("?baz=bax&foo=bar"), "?baz=bax&foo=bar")?;

        println!("Multi value dictionary");
        let resp = treq::get(bin.url("/get"))
            .params([(&b"foo"[..], vec!["bar", "baz", "bax"])])
            .await?;
        let content = resp.text(None).await?;
        println!("{content}");
        check(
            content.contains("?foo=bar&foo=baz&foo=bax"),
            "?foo=bar&foo=baz&foo=bax",
        )?;

        println!("Mixed value dictionary");
        let resp = treq::get(bin.url("/get"))
            .params([
                (&b"foo"[..], Values::from(["1", "2", "3"])),
                (b"bax", Values::from(&b"quux"[..])),
                (b"bar", Values::from("foo")),
            ])
            .await?;
        let content = resp.text(None).await?;
        println!("{content}");
        let data: Value = resp.json().await?;
        check(
            data["args"]["foo"] == serde_json::json!(["1", "2", "3"]),
            "foo=1,2,3",
        )?;
        check(data["args"]["bax"] == "quux", "bax=quux")?;

        println!("Preserved query parameters");
        let resp = treq::get(bin.url("/get?foo=bar"))
            .params([("baz", "bax")])
            .await?;
        let content = resp.text(None).await?;
        println!("{content}");
        check(content.contains("?foo=bar&baz=bax"), "?foo=bar&baz=bax")
    });
    support::run_to_completion(&reactor, main);
}
