//! A treq `HTTPClient` on its own reactor with an httpbin beside it, for the treq tests.

use super::httpbin::HttpBin;
use reactor::defer::{Deferred, Failure};
use reactor::Reactor;
use serde_json::Value;
use treq::client::HTTPClient;
use treq::response::Response;
use treq::web::client::{Agent, HTTPConnectionPool};

/// Run the reactor until `d` fires (at most 10 s).
pub fn run<T: 'static>(reactor: &Reactor, d: Deferred<T>) -> Result<T, Failure> {
    super::wait::run(reactor, d, 10.0)
}

/// A reactor, an httpbin, and a client with a persistent pool.
pub struct Fixture {
    pub reactor: Reactor,
    pub bin: HttpBin,
    pub client: HTTPClient,
}

/// A new fixture.
pub fn fixture() -> Fixture {
    let reactor = Reactor::new();
    let pool = HTTPConnectionPool::new(&reactor, true);
    let client = HTTPClient::new(Agent::new(&reactor).pool(pool));
    Fixture {
        reactor,
        bin: HttpBin::start(),
        client,
    }
}

impl Fixture {
    /// Send, and parse the response body as JSON.
    pub fn json(&self, d: Deferred<Response>) -> Value {
        let d = d.add_callback(|response: Response| response.json::<Value>());
        run(&self.reactor, d).unwrap()
    }
}
