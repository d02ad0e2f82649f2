//! [`agent_spy`]: an [`IAgent`] that records each request and leaves its answer to the test.

use crate::web::http_headers::Headers;
use crate::web::iweb::{IAgent, IBodyProducer};
use crate::web::response::Response;
use reactor::defer::Deferred;
use reactor::interfaces::IReactorTime;
use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

/// One call to [`AgentSpy`]'s [`request`](IAgent::request) (treq's `RequestRecord`): its
/// arguments, and the Deferred it returned, which the test fires (with a response, or a
/// failure) or leaves pending.
#[derive(Clone)]
pub struct RequestRecord {
    /// The method, as given.
    pub method: String,
    /// The URI, as given.
    pub uri: String,
    /// The headers, as given.
    pub headers: Option<Headers>,
    /// The body producer, as given.
    pub body_producer: Option<Rc<dyn IBodyProducer>>,
    /// The Deferred handed back to the caller.
    pub deferred: Deferred<Response>,
}

impl fmt::Debug for RequestRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestRecord")
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("headers", &self.headers)
            .field("body_producer", &self.body_producer.is_some())
            .field("called", &self.deferred.called())
            .finish()
    }
}

/// The requests an [`AgentSpy`] has seen, in order; shared with the spy.
pub type RequestRecords = Rc<RefCell<Vec<RequestRecord>>>;

/// An agent that records requests instead of making them (treq's `_AgentSpy`), for tests of
/// code that builds or wraps agents. Each request returns a new pending Deferred, kept in the
/// [`RequestRecord`].
#[derive(Clone, Default)]
pub struct AgentSpy {
    records: RequestRecords,
    clock: Option<Rc<dyn IReactorTime>>,
}

impl AgentSpy {
    /// A spy with no records.
    pub fn new() -> AgentSpy {
        AgentSpy::default()
    }

    /// The same spy, reporting `clock` as its [`IAgent::reactor`] (so an `HTTPClient` over it
    /// runs its timeouts there).
    pub fn with_clock(mut self, clock: Rc<dyn IReactorTime>) -> AgentSpy {
        self.clock = Some(clock);
        self
    }

    /// The records, shared: later requests show up in it.
    pub fn records(&self) -> RequestRecords {
        self.records.clone()
    }
}

impl IAgent for AgentSpy {
    fn request(
        &self,
        method: &str,
        uri: &str,
        headers: Option<Headers>,
        body_producer: Option<Rc<dyn IBodyProducer>>,
    ) -> Deferred<Response> {
        let deferred = Deferred::new();
        self.records.borrow_mut().push(RequestRecord {
            method: method.to_owned(),
            uri: uri.to_owned(),
            headers,
            body_producer,
            deferred: deferred.clone(),
        });
        deferred
    }

    fn reactor(&self) -> Option<Rc<dyn IReactorTime>> {
        self.clock.clone()
    }
}

impl fmt::Debug for AgentSpy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentSpy")
            .field("records", &self.records.borrow().len())
            .finish_non_exhaustive()
    }
}

/// A new [`AgentSpy`] and its records (treq's `agent_spy`).
///
/// ```
/// use treq::client::HTTPClient;
/// use treq::testing::agent_spy;
///
/// let (agent, records) = agent_spy();
/// let client = HTTPClient::new(agent);
/// let d = client.get("http://example.test/").params([("q", "1")]).send();
/// assert!(!d.called());
/// let record = records.borrow()[0].clone();
/// assert_eq!(record.method, "GET");
/// assert_eq!(record.uri, "http://example.test/?q=1");
/// ```
pub fn agent_spy() -> (AgentSpy, RequestRecords) {
    let agent = AgentSpy::new();
    let records = agent.records();
    (agent, records)
}
