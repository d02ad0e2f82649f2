//! treq's `basic_auth.py`, ported: HTTP Basic credentials with `auth=`.
//!
//! ```python
//! from twisted.internet.task import react
//! from _utils import print_response
//!
//! import treq
//!
//!
//! def main(reactor, *args):
//!     d = treq.get(
//!         'https://httpbin.org/basic-auth/treq/treq',
//!         auth=('treq', 'treq')
//!     )
//!     d.addCallback(print_response)
//!     return d
//!
//! react(main, [])
//! ```
//!
//! Runs offline against a local stand-in for httpbin: `cargo run --example basic_auth`.

mod support;

use reactor::Reactor;
use support::utils::{expect_code, print_response};

fn main() {
    let reactor = Reactor::default();
    let bin = support::LocalBin::start(&reactor);

    let d = treq::get(bin.url("/basic-auth/treq/treq"))
        .auth(("treq", "treq"))
        .send();
    let d = d
        .add_callback(expect_code(200))
        .add_callback(print_response);
    support::run_to_completion(&reactor, d);
}
