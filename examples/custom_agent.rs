//! treq's `custom_agent.py`, ported: an `HTTPClient` over an `Agent` configured by hand.
//!
//! ```python
//! from treq.client import HTTPClient
//! from _utils import print_response
//! from twisted.internet.task import react
//! from twisted.web.client import Agent
//!
//! def make_custom_agent(reactor):
//!     return Agent(reactor, connectTimeout=42)
//!
//! def main(reactor, *args):
//!     agent = make_custom_agent(reactor)
//!     http_client = HTTPClient(agent)
//!     d = http_client.get(
//!         'https://secure.example.net/area51',
//!         auth=('admin', "you'll never guess!"))
//!     d.addCallback(print_response)
//!     return d
//!
//! react(main, [])
//! ```
//!
//! Twisted's keyword arguments of `Agent(...)` are builder methods of [`Agent`]:
//! `connect_timeout`, `pool`, `bind_address`, `context_factory`.
//!
//! Runs offline against a local stand-in for `secure.example.net`:
//! `cargo run --example custom_agent`.

mod support;

use reactor::Reactor;
use support::utils::{expect_code, print_response};
use treq::client::HTTPClient;
use treq::web::client::Agent;

fn make_custom_agent(reactor: &Reactor) -> Agent {
    Agent::new(reactor).connect_timeout(42.0)
}

fn main() {
    let reactor = Reactor::default();
    let bin = support::LocalBin::start(&reactor);

    let agent = make_custom_agent(&reactor);
    let http_client = HTTPClient::new(agent);
    let d = http_client
        .get(bin.url("/area51"))
        .auth(("admin", "you'll never guess!"))
        .send();
    let d = d
        .add_callback(expect_code(200))
        .add_callback(print_response);
    support::run_to_completion(&reactor, d);
}
