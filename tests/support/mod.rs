//! Test servers shared by the integration tests, on their own HTTP stack (hyper 1.x and tokio
//! on a thread of their own), so the treq client is checked against code it shares nothing
//! with.
//!
//! * [`client`]: a treq `HTTPClient` on its own reactor with an httpbin beside it.
//! * [`httpbin::HttpBin`]: an httpbin-compatible server over HTTP and HTTPS (a test CA).
//! * [`target::Target`]: the in-process httpbin or the real servers the environment names.
//! * [`wait`]: running the reactor until a Deferred fires, with a time bound.
//! * [`raw`]: a raw HTTP/1.1 client over `std::net::TcpStream`, for exact bytes.
//! * [`scripted`]: a hyper server whose replies a function chooses, with a log of requests.
//! * [`proxy::ForwardProxy`]: a forward proxy (absolute-form requests and `CONNECT` tunnels)
//!   that records what it received.
//!
//! A test crate includes it with `mod support;`.

// Each test crate uses a part of the support code.
#![allow(dead_code)]

pub mod client;
pub mod httpbin;
pub mod proxy;
pub mod raw;
pub mod scripted;
pub mod target;
pub mod wait;

#[allow(unused_imports)]
pub use scripted::{reply, run_for, serve, wait_until, Handler, Out, Seen, Server};
#[allow(unused_imports)]
pub use wait::run;
