//! The port of `twisted.web.client`: [`Agent`], [`HTTPConnectionPool`], the body producers.

mod agent;
mod pool;
mod producers;

pub use crate::web::response::read_body;
pub use agent::{Agent, EndpointFactory};
pub use pool::{HTTPConnectionPool, PoolKey};
pub use producers::{BytesBodyProducer, FileBodyProducer, DEFAULT_READ_SIZE};

#[cfg(test)]
mod tests;
