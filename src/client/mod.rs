//! treq's `treq.client`: [`HTTPClient`], and the pool and reactor defaults
//! ([`get_global_pool`], [`set_global_pool`], [`default_pool`], [`default_reactor`]).
//!
//! ```no_run
//! use reactor::defer::ensure_deferred;
//! use reactor::Reactor;
//! use treq::client::HTTPClient;
//! use treq::cookies::CookieJar;
//! use treq::web::client::{Agent, HTTPConnectionPool};
//!
//! let reactor = Reactor::default();                      // from twisted.internet import reactor
//! let pool = HTTPConnectionPool::new(&reactor, true);     // persistent=True
//! let agent = Agent::new(&reactor).pool(pool).connect_timeout(30.0);
//! let cookiejar = CookieJar::new();
//! let client = HTTPClient::new(agent).cookiejar(cookiejar.clone());
//!
//! let r = reactor.clone();
//! ensure_deferred(async move {
//!     client.get("http://127.0.0.1:8080/cookies/set/test/value").await?;
//!     let response = client.get("http://127.0.0.1:8080/cookies").await?;
//!     let data: serde_json::Value = response.json().await?;
//!     println!("Cookies: {}", data["cookies"]);
//!     Ok(())
//! })
//! .add_both(move |_: Result<(), _>| { let _ = r.stop(); });
//! reactor.run().unwrap();
//! ```

mod body;
mod cookies_arg;
mod error;
mod global_pool;
mod params;
mod request;
mod stack;

/// The options of the `retry=` keyword ([`RequestBuilder::retry`]).
pub use crate::web::client::RetryPolicy;
pub use body::{
    default_data_to_body_producer, Data, DataToBodyProducer, FileBody, FilePart, ReadSeek,
};
pub use cookies_arg::Cookies;
pub use error::{ConnectTimeoutUnsupported, InvalidMethod, RequestBodyError};
pub use global_pool::{default_pool, default_reactor, get_global_pool, set_global_pool};
pub use params::Values;
pub use request::{HeaderValues, RequestBuilder, RequestSource};

use crate::web::cookiejar::CookieJar;
use crate::web::error::InvalidURI;
use crate::web::iweb::{IAgent, IBodyProducer};
use reactor::defer::Failure;
use reactor::interfaces::IReactorTime;
use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use url::Url;

/// A URL as requests take it: `&str`, `String`, bytes (UTF-8), or a parsed [`Url`].
pub trait IntoUrl {
    /// The parsed URL, or an [`InvalidURI`] failure.
    fn into_url(self) -> Result<Url, Failure>;
}

/// `text` parsed. The last URL parsed on this thread is remembered with the text it came from:
/// a program that requests the same URL over and over parses it once (a parse was a third of
/// the treq layer's own instructions per request; a clone of the remembered `Url` is one copy
/// of its string).
fn parse_url(text: &str) -> Result<Url, Failure> {
    thread_local! {
        static LAST: RefCell<Option<(String, Url)>> = const { RefCell::new(None) };
    }
    let remembered = LAST.with(|last| {
        last.borrow()
            .as_ref()
            .filter(|(seen, _)| seen == text)
            .map(|(_, url)| url.clone())
    });
    if let Some(url) = remembered {
        return Ok(url);
    }
    let url = Url::parse(text).map_err(|e| {
        Failure::new(InvalidURI {
            uri: text.to_owned(),
            reason: e.to_string(),
        })
    })?;
    LAST.with(|last| *last.borrow_mut() = Some((text.to_owned(), url.clone())));
    Ok(url)
}

impl IntoUrl for Url {
    fn into_url(self) -> Result<Url, Failure> {
        Ok(self)
    }
}
impl IntoUrl for &Url {
    fn into_url(self) -> Result<Url, Failure> {
        Ok(self.clone())
    }
}
impl IntoUrl for &str {
    fn into_url(self) -> Result<Url, Failure> {
        parse_url(self)
    }
}
impl IntoUrl for String {
    fn into_url(self) -> Result<Url, Failure> {
        parse_url(&self)
    }
}
impl IntoUrl for &String {
    fn into_url(self) -> Result<Url, Failure> {
        parse_url(self)
    }
}
impl IntoUrl for &[u8] {
    fn into_url(self) -> Result<Url, Failure> {
        match std::str::from_utf8(self) {
            Ok(text) => parse_url(text),
            Err(_) => Err(Failure::new(InvalidURI {
                uri: String::from_utf8_lossy(self).into_owned(),
                reason: "the URL is not UTF-8".to_owned(),
            })),
        }
    }
}
impl<const N: usize> IntoUrl for &[u8; N] {
    fn into_url(self) -> Result<Url, Failure> {
        self[..].into_url()
    }
}
impl IntoUrl for Vec<u8> {
    fn into_url(self) -> Result<Url, Failure> {
        self.as_slice().into_url()
    }
}

/// An HTTP client over any [`IAgent`], with a cookie jar (treq's `HTTPClient`).
///
/// Each request wraps the agent as treq does: cookies from and into the client's jar, redirects
/// followed (unless `allow_redirects(false)`), gzip decoded, credentials added. Cloning is
/// cheap; clones share the agent and the jar.
#[derive(Clone)]
pub struct HTTPClient {
    agent: Rc<dyn IAgent>,
    cookiejar: CookieJar,
    data_to_body_producer: Option<DataToBodyProducer>,
    clock: Option<Rc<dyn IReactorTime>>,
    stacks: Rc<stack::StackCache>,
}

impl HTTPClient {
    /// A client making its requests through `agent`, with a new empty cookie jar.
    pub fn new(agent: impl IAgent + 'static) -> HTTPClient {
        HTTPClient::from_agent(Rc::new(agent))
    }

    /// A client over a shared agent.
    pub fn from_agent(agent: Rc<dyn IAgent>) -> HTTPClient {
        HTTPClient {
            agent,
            cookiejar: CookieJar::new(),
            data_to_body_producer: None,
            clock: None,
            stacks: Rc::default(),
        }
    }

    /// Use `jar` for cookies (treq's `cookiejar=`); the caller's clone sees what is stored.
    pub fn cookiejar(mut self, jar: CookieJar) -> HTTPClient {
        self.cookiejar = jar;
        // The cached stacks hold the old jar.
        self.stacks = Rc::default();
        self
    }

    /// Turn `data` that is not a form into a body producer with `f` (treq's
    /// `data_to_body_producer=`); `f` may fall back on [`default_data_to_body_producer`].
    pub fn data_to_body_producer(
        mut self,
        f: impl Fn(Data) -> Result<Rc<dyn IBodyProducer>, Failure> + 'static,
    ) -> HTTPClient {
        self.data_to_body_producer = Some(Rc::new(f));
        self
    }

    /// Run timeouts and file reads on `clock` instead of the thread's default reactor (a
    /// [`Clock`](reactor::task::Clock) in tests).
    pub fn clock(mut self, clock: Rc<dyn IReactorTime>) -> HTTPClient {
        self.clock = Some(clock);
        self
    }

    /// The client's cookie jar.
    pub fn jar(&self) -> &CookieJar {
        &self.cookiejar
    }

    /// The agent requests go through.
    pub fn agent(&self) -> &Rc<dyn IAgent> {
        &self.agent
    }

    /// A request with `method` (ASCII, upper-cased) for `url`; set its keywords, then
    /// [`send`](RequestBuilder::send) or `.await` it.
    pub fn request(&self, method: &str, url: impl IntoUrl) -> RequestBuilder<HTTPClient> {
        RequestBuilder::new(self.clone(), method, url.into_url())
    }

    /// A GET request.
    pub fn get(&self, url: impl IntoUrl) -> RequestBuilder<HTTPClient> {
        self.request("GET", url)
    }

    /// A POST request; its body is given with `data`, `files` or `json`.
    pub fn post(&self, url: impl IntoUrl) -> RequestBuilder<HTTPClient> {
        self.request("POST", url)
    }

    /// A PUT request.
    pub fn put(&self, url: impl IntoUrl) -> RequestBuilder<HTTPClient> {
        self.request("PUT", url)
    }

    /// A PATCH request.
    pub fn patch(&self, url: impl IntoUrl) -> RequestBuilder<HTTPClient> {
        self.request("PATCH", url)
    }

    /// A DELETE request.
    pub fn delete(&self, url: impl IntoUrl) -> RequestBuilder<HTTPClient> {
        self.request("DELETE", url)
    }

    /// A HEAD request.
    pub fn head(&self, url: impl IntoUrl) -> RequestBuilder<HTTPClient> {
        self.request("HEAD", url)
    }
}

impl fmt::Debug for HTTPClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HTTPClient")
            .field("cookiejar", &self.cookiejar)
            .field(
                "custom_data_to_body_producer",
                &self.data_to_body_producer.is_some(),
            )
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_url_is_only_given_for_the_same_text() {
        let a = "http://EXAMPLE.com/a?x=1";
        let first = a.into_url().unwrap();
        assert_eq!(first.as_str(), "http://example.com/a?x=1");
        // Again (remembered), then another, then the first again: each is its own.
        assert_eq!(a.into_url().unwrap(), first);
        assert_eq!(
            "http://b.example/b".into_url().unwrap().as_str(),
            "http://b.example/b"
        );
        assert_eq!(a.into_url().unwrap(), first);
        // The normalised text is a different text: parsed, and equal.
        assert_eq!(first.as_str().into_url().unwrap(), first);
        // A bad URL after a good one still fails.
        let failure = "http://[::1".into_url().unwrap_err();
        assert!(failure.check::<InvalidURI>());
        assert_eq!(a.into_url().unwrap(), first);
    }
}
