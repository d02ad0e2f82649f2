//! The spec's "Custom HTTP Client" example, ported line by line: an `Agent` with a persistent
//! pool and a 30 s connect timeout, an `HTTPClient` with a cookie jar of the caller's, and an
//! `async` block in place of `@inlineCallbacks`.
//!
//! ```python
//! pool = HTTPConnectionPool(reactor, persistent=True)
//! agent = Agent(reactor, pool=pool, connectTimeout=30)
//! cookiejar = CookieJar()
//! client = HTTPClient(agent, cookiejar=cookiejar)
//!
//! @defer.inlineCallbacks
//! def use_custom_client():
//!     response = yield client.get('https://httpbin.org/cookies/set/test/value')
//!     cookies_response = yield client.get('https://httpbin.org/cookies')
//!     data = yield cookies_response.json()
//!     print("Cookies:", data['cookies'])
//! ```
//!
//! Runs offline against a local stand-in for httpbin: `cargo run --example custom_client`.

mod support;

use reactor::defer::{ensure_deferred, Failure};
use reactor::Reactor;
use treq::client::HTTPClient;
use treq::cookies::CookieJar;
use treq::web::client::{Agent, HTTPConnectionPool};

fn main() {
    let reactor = Reactor::default(); // from twisted.internet import reactor
    let bin = support::LocalBin::start(&reactor);

    // Create custom agent with specific configuration
    let pool = HTTPConnectionPool::new(&reactor, true);
    let agent = Agent::new(&reactor).pool(pool).connect_timeout(30.0);

    // Create client with custom cookie jar
    let cookiejar = CookieJar::new();
    let client = HTTPClient::new(agent).cookiejar(cookiejar.clone());

    // Use the client
    let use_custom_client = ensure_deferred(async move {
        let _response = client.get(bin.url("/cookies/set/test/value")).await?;
        let cookies_response = client.get(bin.url("/cookies")).await?;
        let data: serde_json::Value = cookies_response.json().await?;
        println!("Cookies: {}", data["cookies"]);
        if data["cookies"]["test"] != "value" {
            return Err(Failure::new(std::io::Error::other(
                "the cookie did not come back",
            )));
        }
        println!("the caller's jar holds {} cookie(s)", cookiejar.len());
        Ok(())
    });
    support::run_to_completion(&reactor, use_custom_client);
}
