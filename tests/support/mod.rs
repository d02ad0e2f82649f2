//! Test servers shared by the integration tests, on their own HTTP stack (hyper 1.x and tokio
//! on a thread of their own), so the treq client is checked against code it shares nothing
//! with.
//!
//! * [`httpbin::HttpBin`]: an httpbin-compatible server over HTTP and HTTPS (a test CA).
//! * [`wait`]: running the reactor until a Deferred fires, with a time bound.
//! * [`raw`]: a raw HTTP/1.1 client over `std::net::TcpStream`, for exact bytes.
//! * [`proxy::ForwardProxy`]: a forward proxy (absolute-form requests and `CONNECT` tunnels)
//!   that records what it received.
//!
//! A test crate includes it with `mod support;`.

// Each test crate uses a part of the support code.
#![allow(dead_code)]

pub mod httpbin;
pub mod proxy;
pub mod raw;
pub mod wait;
