//! treq's `json_post.py`, ported: a JSON body with `json=`, and the JSON answer read with
//! `response.json()`, in an `async` block where Python has `@inlineCallbacks`.
//!
//! ```python
//! from pprint import pprint
//!
//! from twisted.internet import defer
//! from twisted.internet.task import react
//!
//! import treq
//!
//!
//! @defer.inlineCallbacks
//! def main(reactor):
//!     response = yield treq.post(
//!         'https://httpbin.org/post',
//!         json={"msg": "Hello!"},
//!     )
//!     data = yield response.json()
//!     pprint(data)
//!
//! react(main, [])
//! ```
//!
//! Runs offline against a local stand-in for httpbin: `cargo run --example json_post`.

mod support;

use reactor::defer::ensure_deferred;
use reactor::Reactor;
use serde_json::{json, Value};
use support::utils::check;

fn main() {
    let reactor = Reactor::default();
    let bin = support::LocalBin::start(&reactor);

    let main = ensure_deferred(async move {
        let response = treq::post(bin.url("/post"))
            .json(&json!({"msg": "Hello!"}))
            .await?;
        let data: Value = response.json().await?;
        println!("{data:#}"); // pprint(data)
        check(
            data["json"]["msg"] == "Hello!",
            "the JSON body to be echoed",
        )?;
        check(
            data["headers"]["Content-Type"] == "application/json; charset=UTF-8",
            "Content-Type: application/json; charset=UTF-8",
        )
    });
    support::run_to_completion(&reactor, main);
}
