//! treq's `basic_post.py`, ported: a form POST, then the response printed.
//!
//! ```python
//! from twisted.internet.task import react
//! from _utils import print_response
//!
//! import treq
//!
//!
//! def main(reactor):
//!     d = treq.post("https://httpbin.org/post",
//!                   data={"form": "data"})
//!     d.addCallback(print_response)
//!     return d
//!
//! react(main, [])
//! ```
//!
//! Runs offline against a local stand-in for httpbin: `cargo run --example basic_post`.

mod support;

use reactor::Reactor;
use serde_json::Value;
use support::utils::{check, expect_code, print_response};

fn main() {
    let reactor = Reactor::default();
    let bin = support::LocalBin::start(&reactor);

    let d = treq::post(bin.url("/post"))
        .data([("form", "data")]) // a form: sent application/x-www-form-urlencoded
        .send();
    let d = d.add_callback(expect_code(200)).add_callback(|response| {
        // Buffered: the body can be read again after print_response has read it.
        let echoed = response.json::<Value>();
        print_response(response)
            .add_callback(move |()| echoed)
            .add_callback(|echoed: Value| {
                check(echoed["data"] == "form=data", "the form to be echoed")
            })
    });
    support::run_to_completion(&reactor, d);
}
