//! treq's `redirects.py`, ported: redirects are followed by default.
//!
//! ```python
//! from twisted.internet.task import react
//! from _utils import print_response
//!
//! import treq
//!
//!
//! def main(reactor, *args):
//!     d = treq.get('https://httpbin.org/redirect/1')
//!     d.addCallback(print_response)
//!     return d
//!
//! react(main, [])
//! ```
//!
//! Runs offline against a local stand-in for httpbin: `cargo run --example redirects`.

mod support;

use reactor::Reactor;
use support::utils::{check, expect_code, print_response};

fn main() {
    let reactor = Reactor::default();
    let bin = support::LocalBin::start(&reactor);

    let d = treq::get(bin.url("/redirect/1")).send();
    let d = d
        .add_callback(expect_code(200))
        .add_callback(|response| {
            check(response.history().len() == 1, "one redirect followed")?;
            check(
                response.request().absolute_uri.ends_with("/get"),
                "to land on /get",
            )?;
            Ok(response)
        })
        .add_callback(print_response);
    support::run_to_completion(&reactor, d);
}
