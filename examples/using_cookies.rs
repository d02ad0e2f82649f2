//! treq's `using_cookies.py`, ported: the cookies a response set, read from its jar and sent
//! with the next request through `cookies=`.
//!
//! ```python
//! from twisted.internet.task import react
//! from _utils import print_response
//!
//! import treq
//!
//!
//! def main(reactor, *args):
//!     d = treq.get('https://httpbin.org/cookies/set?hello=world')
//!
//!     def _get_jar(resp):
//!         jar = resp.cookies()
//!
//!         print('The server set our hello cookie to: {}'.format(jar['hello']))
//!
//!         return treq.get('https://httpbin.org/cookies', cookies=jar)
//!
//!     d.addCallback(_get_jar)
//!     d.addCallback(print_response)
//!     return d
//!
//! react(main, [])
//! ```
//!
//! Python's `jar['hello']` is `treq::cookies::search(&jar, domain, Some("hello"))`: a jar holds
//! cookies of many domains, so the lookup names one.
//!
//! Runs offline against a local stand-in for httpbin: `cargo run --example using_cookies`.

mod support;

use reactor::Reactor;
use serde_json::Value;
use support::utils::{check, expect_code, print_response};
use treq::cookies::search;
use treq::response::Response;

fn main() {
    let reactor = Reactor::default();
    let bin = support::LocalBin::start(&reactor);
    let cookies_url = bin.url("/cookies");

    let d = treq::get(bin.url("/cookies/set?hello=world")).send();
    let d = d
        .add_callback(move |resp: Response| {
            let jar = resp.cookies();
            let hello = search(&jar, "127.0.0.1", Some("hello"));
            println!(
                "The server set our hello cookie to: {}",
                hello.as_deref().unwrap_or("(nothing)")
            );
            treq::get(cookies_url).cookies(jar).send()
        })
        .add_callback(expect_code(200))
        .add_callback(|response| {
            let data = response.json::<Value>();
            print_response(response)
                .add_callback(move |()| data)
                .add_callback(|data: Value| {
                    check(data["cookies"]["hello"] == "world", "the cookie sent back")
                })
        });
    support::run_to_completion(&reactor, d);
}
