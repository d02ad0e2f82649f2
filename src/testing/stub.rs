//! [`StubTreq`]: the `treq` module's API, answered in memory by a resource.

use super::traversal::RequestTraversalAgent;
use crate::client::{HTTPClient, IntoUrl, RequestBuilder};
use crate::web::cookiejar::CookieJar;
use crate::web::iweb::IResponse;
use crate::web::resource::Resource;
use bytes::Bytes;
use reactor::defer::{Deferred, Failure};
use reactor::iosim::PumpLimitExceeded;
use reactor::task::Clock;
use serde::de::DeserializeOwned;
use std::fmt;
use std::rc::Rc;

/// The `treq` module's functions, answered by `resource` in memory (treq's `StubTreq`).
///
/// `request`, `get`, `post`, `put`, `patch`, `delete` and `head` return the same
/// [`RequestBuilder`] as [`treq::get`](crate::get) and friends, so every keyword (`params`,
/// `headers`, `data`, `json`, `files`, `auth`, `cookies`, `allow_redirects`, `timeout`, ...)
/// works. `collect`, `content`, `text_content` and `json_content` are treq's content helpers.
///
/// Underneath is an [`HTTPClient`] (with the full agent stack: cookies, redirects, gzip,
/// credentials) over a [`RequestTraversalAgent`]: the real [`Agent`](crate::web::client::Agent)
/// and HTTP/1.1 protocol, over in-memory connections to a
/// [`Site`](crate::web::server::Site) serving the resource, on the stub's own
/// [`Clock`]. What that means in a test:
///
/// * No network, no ports, no waiting: a resource that answers at once has answered when
///   `send()` returns (take the result with `take_result()`).
/// * A resource that answers later ([`NOT_DONE_YET`](crate::web::resource::NOT_DONE_YET))
///   needs [`flush`](Self::flush) after it writes or finishes.
/// * `timeout` runs on the stub's [`clock`](Self::clock): [`advance`](Clock::advance) it to
///   make a request time out. No real time passes, and the thread's reactor is never used.
/// * One cookie jar for the stub ([`jar`](Self::jar)), as for one client: cookies set by a
///   response are sent with later requests.
/// * `https` URLs work, without TLS: the bytes go in plain HTTP over memory, and the server
///   side sees [`Request::is_secure`](crate::web::server::Request::is_secure) as true.
///
/// ```
/// use std::rc::Rc;
/// use treq::testing::StubTreq;
/// use treq::web::resource::Data;
///
/// let stub = StubTreq::new(Rc::new(Data::new("hello", "text/plain")));
/// let response = stub.get("https://example.test/").send().take_result().unwrap().unwrap();
/// assert_eq!(response.code(), 200);
/// let body = stub.content(&response).take_result().unwrap().unwrap();
/// assert_eq!(&body[..], b"hello");
/// ```
#[derive(Clone)]
pub struct StubTreq {
    agent: RequestTraversalAgent,
    client: HTTPClient,
}

impl StubTreq {
    /// A stub whose every request is answered by `resource` (the root of the site: a leaf such
    /// as [`FnResource`](crate::web::resource::FnResource) sees every path).
    pub fn new(resource: Rc<dyn Resource>) -> StubTreq {
        StubTreq::with_agent(RequestTraversalAgent::new(resource))
    }

    /// A stub over `agent` (to share its clock or connections with other code under test).
    pub fn with_agent(agent: RequestTraversalAgent) -> StubTreq {
        let client = HTTPClient::new(agent.clone()).clock(Rc::new(agent.clock().clone()));
        StubTreq { agent, client }
    }

    /// The stub's clock: [`advance`](Clock::advance) it to run timeouts.
    pub fn clock(&self) -> &Clock {
        self.agent.clock()
    }

    /// Deliver everything the resources have written since (treq's `flush`); see
    /// [`RequestTraversalAgent::flush`].
    pub fn flush(&self) -> Result<(), PumpLimitExceeded> {
        self.agent.flush()
    }

    /// The agent under the stub.
    pub fn agent(&self) -> &RequestTraversalAgent {
        &self.agent
    }

    /// The client the stub's requests go through.
    pub fn client(&self) -> &HTTPClient {
        &self.client
    }

    /// The stub's cookie jar, kept across its requests.
    pub fn jar(&self) -> &CookieJar {
        self.client.jar()
    }

    /// A request with any method (treq's `request`).
    pub fn request(&self, method: &str, url: impl IntoUrl) -> RequestBuilder<HTTPClient> {
        self.client.request(method, url)
    }

    /// A GET request (treq's `get`).
    pub fn get(&self, url: impl IntoUrl) -> RequestBuilder<HTTPClient> {
        self.client.get(url)
    }

    /// A POST request (treq's `post`).
    pub fn post(&self, url: impl IntoUrl) -> RequestBuilder<HTTPClient> {
        self.client.post(url)
    }

    /// A PUT request (treq's `put`).
    pub fn put(&self, url: impl IntoUrl) -> RequestBuilder<HTTPClient> {
        self.client.put(url)
    }

    /// A PATCH request (treq's `patch`).
    pub fn patch(&self, url: impl IntoUrl) -> RequestBuilder<HTTPClient> {
        self.client.patch(url)
    }

    /// A DELETE request (treq's `delete`).
    pub fn delete(&self, url: impl IntoUrl) -> RequestBuilder<HTTPClient> {
        self.client.delete(url)
    }

    /// A HEAD request (treq's `head`).
    pub fn head(&self, url: impl IntoUrl) -> RequestBuilder<HTTPClient> {
        self.client.head(url)
    }

    /// Give each piece of the body to `collector` ([`treq::collect`](crate::collect)).
    pub fn collect(
        &self,
        response: &dyn IResponse,
        collector: impl FnMut(Bytes) -> Result<(), Failure> + 'static,
    ) -> Deferred<()> {
        crate::content::collect(response, collector)
    }

    /// The whole body ([`treq::content`](crate::content())).
    pub fn content(&self, response: &dyn IResponse) -> Deferred<Bytes> {
        crate::content::content(response)
    }

    /// The body as text ([`treq::text_content`](crate::text_content)).
    pub fn text_content(
        &self,
        response: &dyn IResponse,
        encoding: Option<&str>,
    ) -> Deferred<String> {
        crate::content::text_content(response, encoding)
    }

    /// The body parsed as JSON ([`treq::json_content`](crate::json_content)).
    pub fn json_content<T: DeserializeOwned + 'static>(
        &self,
        response: &dyn IResponse,
    ) -> Deferred<T> {
        crate::content::json_content(response)
    }
}

impl fmt::Debug for StubTreq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StubTreq")
            .field("agent", &self.agent)
            .field("client", &self.client)
            .finish()
    }
}
