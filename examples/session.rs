//! The spec's "Session Management" example, ported: one `HTTPClient` with a cookie jar keeps a
//! session across requests — log in, use it, log out.
//!
//! ```python
//! cookiejar = CookieJar()
//! client = HTTPClient(Agent(reactor), cookiejar=cookiejar)
//!
//! @defer.inlineCallbacks
//! def session_example():
//!     login_response = yield client.post('https://httpbin.org/cookies/set/session/abc123',
//!                                        data={'username': 'user', 'password': 'pass'})
//!     profile_response = yield client.get('https://httpbin.org/cookies')
//!     profile_data = yield profile_response.json()
//!     print("Session cookies:", profile_data['cookies'])
//!     yield client.post('https://httpbin.org/cookies/delete/session')
//! ```
//!
//! Runs offline against a local stand-in for httpbin: `cargo run --example session`. (A POST
//! answered with 302 is followed as a GET only with `browser_like_redirects`, as in treq.)

mod support;

use reactor::defer::{ensure_deferred, Failure};
use reactor::Reactor;
use treq::client::HTTPClient;
use treq::cookies::CookieJar;
use treq::web::client::Agent;

fn main() {
    let reactor = Reactor::default();
    let bin = support::LocalBin::start(&reactor);

    // Create client with persistent cookies
    let cookiejar = CookieJar::new();
    let client = HTTPClient::new(Agent::new(&reactor)).cookiejar(cookiejar.clone());

    let session_example = ensure_deferred(async move {
        // Login request - cookies are automatically stored
        let login_response = client
            .post(bin.url("/cookies/set/session/abc123"))
            .data([("username", "user"), ("password", "pass")])
            .browser_like_redirects(true)
            .await?;
        println!("login: {}", login_response.code());

        // Subsequent requests automatically include cookies
        let profile_response = client.get(bin.url("/cookies")).await?;
        let profile_data: serde_json::Value = profile_response.json().await?;
        println!("Session cookies: {}", profile_data["cookies"]);
        let logged_in = profile_data["cookies"]["session"] == "abc123";

        // Logout
        client
            .post(bin.url("/cookies/delete/session"))
            .browser_like_redirects(true)
            .await?;
        println!("after logout the jar holds {} cookie(s)", cookiejar.len());
        if !logged_in || !cookiejar.is_empty() {
            return Err(Failure::new(std::io::Error::other(
                "the session did not work",
            )));
        }
        Ok(())
    });
    support::run_to_completion(&reactor, session_example);
}
