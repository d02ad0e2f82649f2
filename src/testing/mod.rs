//! treq's `treq.testing`: test code that makes HTTP requests with no network, no ports and no
//! waiting.
//!
//! * [`StubTreq`]: the `treq` module's API over a resource you give it, through the real
//!   agent and HTTP/1.1 protocol over in-memory connections, on its own
//!   [`Clock`](reactor::task::Clock).
//! * [`RequestTraversalAgent`]: the [`IAgent`](crate::web::iweb::IAgent) under it.
//! * [`StringStubbingResource`]: a resource answering from a function of the request's method,
//!   URL, parameters, headers and body.
//! * [`RequestSequence`]: the requests a test expects, in order, with their answers;
//!   [`ExpectedRequest`] with [`HasHeaders`] and [`ANY`] to match loosely.
//! * [`agent_spy`]: an agent that records requests for tests of code that builds agents.
//!
//! The guide is `docs/testing.md`; `examples/testing_seq.rs` is a complete test.

mod matchers;
mod parts;
mod sequence;
mod spy;
mod string_stub;
mod stub;
mod traversal;

pub use matchers::{Any, HasHeaders, IntoMatcher, Matcher, Method, ANY, NO_HEADERS, NO_PARAMS};
pub use parts::{HeaderLists, Params};
pub use sequence::{ActualRequest, ConsumeGuard, ExpectedRequest, RequestSequence};
pub use spy::{agent_spy, AgentSpy, RequestRecord, RequestRecords};
pub use string_stub::{IStringResponseStubs, IntoStubResult, StringStubbingResource, StubResponse};
pub use stub::StubTreq;
pub use traversal::RequestTraversalAgent;

/// The Rust examples of `docs/testing.md`, run as doctests so the guide stays true.
#[cfg(doctest)]
#[doc = include_str!("../../docs/testing.md")]
pub struct TestingGuide;
