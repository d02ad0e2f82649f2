//! treq's module-level API (`treq.request`, `treq.get`, ...), re-exported at the crate root.
//!
//! Each request builds an [`HTTPClient`] of its own, with a fresh cookie jar, over
//! `agent` if given, else an [`Agent`] on the request's reactor with the pool that
//! [`default_pool`] picks — the global persistent pool unless `pool` or `persistent(false)`
//! says otherwise.
//!
//! ```no_run
//! use reactor::Reactor;
//!
//! let reactor = Reactor::default();
//! let r = reactor.clone();
//! treq::get("http://127.0.0.1:8080/get")
//!     .params([("q", "rust")])
//!     .timeout(5.0)
//!     .send()
//!     .add_callback(|response| response.json::<serde_json::Value>())
//!     .add_callback(|data| println!("{data}"))
//!     .add_errback(|failure| eprintln!("request failed: {failure}"))
//!     .add_both(move |_| { let _ = r.stop(); });
//! reactor.run().unwrap();
//! ```

use crate::client::{
    default_pool, default_reactor, HTTPClient, IntoUrl, RequestBuilder, RequestSource,
};
use crate::web::client::{Agent, HTTPConnectionPool};
use crate::web::iweb::IAgent;
use reactor::defer::Failure;
use reactor::Reactor;
use std::rc::Rc;

/// The source of a module-level request: the `agent`, `pool` and `persistent` keywords.
#[derive(Default, Clone)]
pub struct ModuleLevel {
    agent: Option<Rc<dyn IAgent>>,
    pool: Option<HTTPConnectionPool>,
    persistent: Option<bool>,
}

impl RequestSource for ModuleLevel {
    fn into_client(self, reactor: Option<&Reactor>) -> Result<HTTPClient, Failure> {
        if let Some(agent) = self.agent {
            return Ok(HTTPClient::from_agent(agent));
        }
        let reactor = default_reactor(reactor);
        let pool = default_pool(&reactor, self.pool, self.persistent);
        Ok(HTTPClient::new(Agent::new(&reactor).pool(pool)))
    }
}

impl RequestBuilder<ModuleLevel> {
    /// Send through `agent` instead of a new [`Agent`] (treq's `agent=`).
    pub fn agent(mut self, agent: impl IAgent + 'static) -> Self {
        self.source.agent = Some(Rc::new(agent));
        self
    }

    /// Use `pool` for connections (treq's `pool=`).
    pub fn pool(mut self, pool: HTTPConnectionPool) -> Self {
        self.source.pool = Some(pool);
        self
    }

    /// `false`: a new non-persistent pool for this request instead of the global pool
    /// (treq's `persistent=`).
    pub fn persistent(mut self, persistent: bool) -> Self {
        self.source.persistent = Some(persistent);
        self
    }
}

/// A request with any method (treq's `treq.request`).
pub fn request(method: &str, url: impl IntoUrl) -> RequestBuilder<ModuleLevel> {
    RequestBuilder::new(ModuleLevel::default(), method, url.into_url())
}

/// A GET request (treq's `treq.get`).
pub fn get(url: impl IntoUrl) -> RequestBuilder<ModuleLevel> {
    request("GET", url)
}

/// A POST request (treq's `treq.post`).
pub fn post(url: impl IntoUrl) -> RequestBuilder<ModuleLevel> {
    request("POST", url)
}

/// A PUT request (treq's `treq.put`).
pub fn put(url: impl IntoUrl) -> RequestBuilder<ModuleLevel> {
    request("PUT", url)
}

/// A PATCH request (treq's `treq.patch`).
pub fn patch(url: impl IntoUrl) -> RequestBuilder<ModuleLevel> {
    request("PATCH", url)
}

/// A DELETE request (treq's `treq.delete`).
pub fn delete(url: impl IntoUrl) -> RequestBuilder<ModuleLevel> {
    request("DELETE", url)
}

/// A HEAD request (treq's `treq.head`).
pub fn head(url: impl IntoUrl) -> RequestBuilder<ModuleLevel> {
    request("HEAD", url)
}
