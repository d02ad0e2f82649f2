//! treq's `disable_redirects.py`, ported: `allow_redirects=False` hands back the redirect
//! itself.
//!
//! ```python
//! from twisted.internet.task import react
//! from _utils import print_response
//!
//! import treq
//!
//!
//! def main(reactor, *args):
//!     d = treq.get('https://httpbin.org/redirect/1', allow_redirects=False)
//!     d.addCallback(print_response)
//!     return d
//!
//! react(main, [])
//! ```
//!
//! Runs offline against a local stand-in for httpbin: `cargo run --example disable_redirects`.

mod support;

use reactor::Reactor;
use support::utils::{check, expect_code, print_response};

fn main() {
    let reactor = Reactor::default();
    let bin = support::LocalBin::start(&reactor);

    let d = treq::get(bin.url("/redirect/1"))
        .allow_redirects(false)
        .send();
    let d = d
        .add_callback(expect_code(302))
        .add_callback(|response| {
            let location = response.headers().get_first("Location").cloned();
            check(location.as_deref() == Some(&b"/get"[..]), "Location: /get")?;
            Ok(response)
        })
        .add_callback(print_response);
    support::run_to_completion(&reactor, d);
}
