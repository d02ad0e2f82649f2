//! treq's `response_history.py`, ported: `history()` lists the responses that redirected to
//! this one, oldest first.
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
//!
//!     def cb(response):
//!         print('Response history:')
//!         print(response.history())
//!         return print_response(response)
//!
//!     d.addCallback(cb)
//!     return d
//!
//! react(main, [])
//! ```
//!
//! Runs offline against a local stand-in for httpbin: `cargo run --example response_history`.

mod support;

use reactor::Reactor;
use support::utils::{check, print_response};
use treq::response::Response;

fn main() {
    let reactor = Reactor::default();
    let bin = support::LocalBin::start(&reactor);

    let d = treq::get(bin.url("/redirect/1")).send();
    let d = d
        .add_callback(|response: Response| {
            println!("Response history:");
            println!("{:?}", response.history());
            let codes: Vec<u16> = response.history().iter().map(Response::code).collect();
            check(codes == [302], "one 302 in the history")?;
            Ok(response)
        })
        .add_callback(print_response);
    support::run_to_completion(&reactor, d);
}
