//! treq's `basic_get.py`, ported: a GET, then the status line, headers and body printed.
//!
//! ```python
//! from twisted.internet.task import react
//! from _utils import print_response
//!
//! import treq
//!
//!
//! def main(reactor, *args):
//!     d = treq.get('https://httpbin.org/get')
//!     d.addCallback(print_response)
//!     return d
//!
//! react(main, [])
//! ```
//!
//! Runs offline against a local stand-in for httpbin: `cargo run --example basic_get`.

mod support;

use reactor::Reactor;
use support::utils::{expect_code, print_response};

fn main() {
    let reactor = Reactor::default(); // react(main, []): the thread's reactor
    let bin = support::LocalBin::start(&reactor);

    let d = treq::get(bin.url("/get")).send();
    let d = d
        .add_callback(expect_code(200))
        .add_callback(print_response);
    support::run_to_completion(&reactor, d);
}
