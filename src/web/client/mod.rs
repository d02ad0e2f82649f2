//! The port of `twisted.web.client`: [`Agent`], [`HTTPConnectionPool`], the body producers,
//! the HTTPS policy ([`BrowserLikePolicyForHTTPS`]), and the agents that wrap an agent:
//! [`CookieAgent`], [`RedirectAgent`], [`BrowserLikeRedirectAgent`], [`ContentDecoderAgent`],
//! [`ProxyAgent`] (with the `CONNECT` tunnel, [`TunnelingEndpoint`]), and, beyond Twisted,
//! [`RetryAgent`] and [`EnvProxyAgent`] (the proxies of `HTTP_PROXY`, `HTTPS_PROXY`,
//! `ALL_PROXY` and `NO_PROXY`); `UnixSocketEndpointFactory` sends requests over a Unix-domain
//! socket.
//!
//! ```no_run
//! use reactor::Reactor;
//! use std::rc::Rc;
//! use treq::web::client::{read_body, Agent, BytesBodyProducer, HTTPConnectionPool};
//! use treq::web::iweb::IAgent;
//!
//! let reactor = Reactor::new();
//! let pool = HTTPConnectionPool::new(&reactor, true);          // persistent=True
//! let agent = Agent::new(&reactor).pool(pool).connect_timeout(30.0);
//! let r = reactor.clone();
//! agent
//!     .request("POST", "http://example.com/post", None,
//!              Some(Rc::new(BytesBodyProducer::new("hello"))))
//!     .add_callback(|response| {
//!         println!("{} {:?}", response.code, response.headers);
//!         read_body(&response)
//!     })
//!     .add_callback(|body| println!("{} bytes", body.len()))
//!     .add_errback(|failure| eprintln!("request failed: {failure}"))
//!     .add_both(move |_| { let _ = r.stop(); });
//! reactor.run().unwrap();
//! ```

mod agent;
mod basic_auth;
mod body_timeout;
#[cfg(feature = "brotli")]
mod brotli;
mod content_decoder;
mod cookie_agent;
mod decoding_body;
mod env_proxy;
mod env_proxy_agent;
mod inflate;
mod key_hash;
mod no_proxy;
mod pool;
mod pooled_request;
mod producers;
mod proxy;
mod redirect;
mod redirect_errors;
mod retry;
mod retry_policy;
mod tls_policy;
mod tunnel;
mod tunnel_factory;
#[cfg(unix)]
mod unix_socket;
#[cfg(feature = "zstd")]
mod zstd;

pub use crate::web::response::read_body;
pub use agent::{Agent, EndpointFactory};
pub use basic_auth::basic_auth_header;
pub use body_timeout::{with_body_timeout, BodyReadTimeout};
#[cfg(feature = "brotli")]
pub use brotli::BrotliDecoder;
pub use content_decoder::{
    BodyDecoder, ContentDecoderAgent, DecodingError, DecodingErrorKind, ResponseDecoder,
    TooManyContentEncodings, MAX_STACKED_ENCODINGS,
};
pub use cookie_agent::CookieAgent;
pub use decoding_body::DECODED_SLICE;
pub use env_proxy::{EnvProxies, ProxyEnvError, ProxyUrl, ProxyUrlError};
pub use env_proxy_agent::EnvProxyAgent;
pub use inflate::{DeflateDecoder, GzipDecoder};
pub use no_proxy::{InvalidNoProxyEntry, NoProxy};
pub use pool::{HTTPConnectionPool, PoolKey};
pub use producers::{BytesBodyProducer, FileBodyProducer, DEFAULT_READ_SIZE};
pub use proxy::ProxyAgent;
pub(crate) use redirect::drain;
pub use redirect::{
    BrowserLikeRedirectAgent, RedirectAgent, DEFAULT_REDIRECT_LIMIT, REDIRECT_DRAIN_LIMIT,
};
pub use redirect_errors::{
    InfiniteRedirection, InvalidRedirectLocation, PageRedirect, RedirectBodyNotReplayable,
    RedirectWithNoLocation,
};
pub use retry::RetryAgent;
pub use retry_policy::{retry_after, RetryPolicy, DEFAULT_RETRY_STATUSES, IDEMPOTENT_METHODS};
pub use tls_policy::{
    options_for_client_tls, BrowserLikePolicyForHTTPS, HostnameCachingHTTPSPolicy, IPolicyForHTTPS,
    TLSConfigError, TLSError, TLSErrorKind,
};
pub use tunnel::{TunnelFailed, TunnelRefused, TunnelingEndpoint};
pub use tunnel_factory::TunnelingEndpointFactory;
#[cfg(unix)]
pub use unix_socket::UnixSocketEndpointFactory;
#[cfg(feature = "zstd")]
pub use zstd::ZstdDecoder;

#[cfg(test)]
mod tests;
