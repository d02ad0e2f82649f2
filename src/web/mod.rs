//! The port of `twisted.web`: the pieces of Twisted's web client that treq
//! is built on.
//!
//! * [`http_headers`]: [`Headers`](http_headers::Headers), Twisted's
//!   case-insensitive, multi-valued, order-keeping header collection.
//! * [`http11`]: a sans-IO HTTP/1.1 client core (request writer, response
//!   parser, body framing) that the reactor protocol drives.
//! * [`resource`] and [`server`]: a small HTTP/1.1 server (Twisted's
//!   `twisted.web.resource` and `twisted.web.server`) for tests and examples.
//! * [`iweb`]: the interfaces `IAgent` and `IBodyProducer`.
//! * [`error`]: the client's errors (`ResponseFailed`, `ResponseNeverReceived`, ...).
//! * [`response`]: [`Response`](response::Response) and [`read_body`](response::read_body).
//! * [`newclient`]: the HTTP/1.1 client protocol on the reactor.
//! * [`client`]: `Agent`, `HTTPConnectionPool`, `CookieAgent` and the body producers.
//! * [`timings`]: [`RequestTimings`](timings::RequestTimings), where the time of a request
//!   went (name lookup, connect, TLS, first byte, total), as `curl -w` reports it.
//! * [`cookiejar`]: [`CookieJar`](cookiejar::CookieJar), an RFC 6265 client cookie jar (Python's `http.cookiejar`).

pub(crate) mod body_transport;
pub mod client;
pub mod cookiejar;
pub mod error;
pub mod http11;
pub mod http_headers;
pub mod iweb;
pub mod newclient;
pub mod resource;
pub mod response;
pub mod server;
pub mod timings;
