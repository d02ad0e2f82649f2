//! The port of `twisted.web`: the pieces of Twisted's web client that treq
//! is built on.
//!
//! * [`http_headers`]: [`Headers`](http_headers::Headers), Twisted's
//!   case-insensitive, multi-valued, order-keeping header collection.
//! * [`http11`]: a sans-IO HTTP/1.1 client core (request writer, response
//!   parser, body framing) that the reactor protocol drives.
//! * [`resource`] and [`server`]: a small HTTP/1.1 server (Twisted's
//!   `twisted.web.resource` and `twisted.web.server`) for tests and examples.

pub mod http11;
pub mod http_headers;
pub mod resource;
pub mod server;
