//! A small HTTP/1.1 server (Twisted's `twisted.web.server` and the server half of
//! `twisted.web.http`), for tests, stubs and examples: small and correct, not fast.
//!
//! A [`Site`] is a protocol factory: each connection gets an [`HTTPChannel`], which parses
//! requests (one at a time, pipelined ones in order), walks the [`Resource`] tree for each and
//! renders it into a [`Request`].
//!
//! * Request heads are parsed with `httparse`: at most [`DEFAULT_MAX_HEAD_SIZE`] bytes
//!   (configurable; more is 431) and [`MAX_REQUEST_HEADERS`] lines (more is 431).
//! * Bodies are framed by `Content-Length` or `Transfer-Encoding: chunked`, read whole into
//!   [`Request::content`] before rendering, at most [`DEFAULT_MAX_BODY_SIZE`] bytes
//!   (configurable; more is 413). `Expect: 100-continue` is answered.
//! * A malformed request is answered 400 and the connection closed.
//! * HTTP/1.1 connections persist unless `Connection: close`; HTTP/1.0 ones only with
//!   `Connection: keep-alive` and a response with a `Content-Length`.
//! * A response without `Content-Length` is chunked for HTTP/1.1 and delimited by closing the
//!   connection for HTTP/1.0. `HEAD` responses have no body.
//! * No `Date` or `Server` header is added.
//!
//! A site over an in-memory connection:
//!
//! ```
//! use bytes::Bytes;
//! use reactor::defer::Failure;
//! use reactor::interfaces::{IProtocol, ITransport};
//! use reactor::iosim::connected_server_and_client;
//! use std::cell::RefCell;
//! use std::rc::Rc;
//! use treq::web::resource::{Data, ResourceTree};
//! use treq::web::server::Site;
//!
//! // A client that sends one request and records the answer.
//! #[derive(Default)]
//! struct Client(RefCell<Vec<u8>>);
//! impl IProtocol for Client {
//!     fn make_connection(&self, transport: Rc<dyn ITransport>) {
//!         transport.write(b"GET /hello HTTP/1.1\r\nHost: example\r\nConnection: close\r\n\r\n");
//!     }
//!     fn data_received(&self, data: Bytes) {
//!         self.0.borrow_mut().extend_from_slice(&data);
//!     }
//!     fn connection_lost(&self, _reason: Failure) {}
//! }
//!
//! let root = Rc::new(ResourceTree::new());
//! root.put_child("hello", Rc::new(Data::new("hi!", "text/plain")));
//! let site = Site::new(root);
//! let client = Rc::new(Client::default());
//! let (_s, _c, pump) = connected_server_and_client(
//!     site.build_protocol("127.0.0.1:1234".parse().unwrap()),
//!     client.clone(),
//! );
//! pump.flush().unwrap();
//! assert_eq!(
//!     &client.0.borrow()[..],
//!     &b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\
//!        Connection: close\r\n\r\nhi!"[..]
//! );
//! ```

mod channel;
mod query;
mod request;

pub use channel::HTTPChannel;
pub use query::{parse_qs, unquote};
pub use request::Request;

use super::resource::Resource;
use bytes::Bytes;
use reactor::interfaces::IProtocol;
use reactor::protocol::ProtocolFactory;
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::rc::Rc;

/// Largest request head (request line and headers) accepted by default, in bytes.
pub const DEFAULT_MAX_HEAD_SIZE: usize = 64 * 1024;
/// Largest request body accepted by default, in bytes.
pub const DEFAULT_MAX_BODY_SIZE: usize = 16 * 1024 * 1024;
/// Most header lines accepted in one request head.
pub const MAX_REQUEST_HEADERS: usize = 100;

/// Request arguments: each name (percent-decoded) with its values in order.
pub type Args = BTreeMap<Bytes, Vec<Bytes>>;

/// The reason phrase for a status code (Twisted's `http.RESPONSES`); `"Unknown Status"` for
/// codes it does not know.
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Requested Range Not Satisfiable",
        417 => "Expectation Failed",
        418 => "I'm a teapot",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Unknown Status",
    }
}

/// The HTTP version of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.0.
    Http10,
    /// HTTP/1.1.
    Http11,
}

impl Version {
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub fn as_bytes(self) -> &'static [u8] {
        match self {
            Version::Http10 => b"HTTP/1.0",
            Version::Http11 => b"HTTP/1.1",
        }
    }
}

/// What a [`Site`] shares with its connections.
pub(super) struct SiteConfig {
    root: Rc<dyn Resource>,
    max_head_size: usize,
    max_body_size: usize,
    secure: bool,
}

/// A web site: a resource tree served over HTTP (Twisted's `server.Site`), and the protocol
/// factory for its connections.
///
/// ```no_run
/// use reactor::Reactor;
/// use std::rc::Rc;
/// use treq::web::resource::Data;
/// use treq::web::server::Site;
///
/// let reactor = Reactor::new();
/// let site = Site::new(Rc::new(Data::new("hello", "text/plain")));
/// let port = reactor.listen_tcp(0, Rc::new(site), "127.0.0.1").unwrap();
/// println!("listening on {}", port.get_host());
/// reactor.run().unwrap();
/// ```
#[derive(Clone)]
pub struct Site {
    config: Rc<SiteConfig>,
}

impl fmt::Debug for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Site")
            .field("max_head_size", &self.config.max_head_size)
            .field("max_body_size", &self.config.max_body_size)
            .finish_non_exhaustive()
    }
}

impl Site {
    /// A site serving `root`, with the default limits.
    pub fn new(root: Rc<dyn Resource>) -> Site {
        Site {
            config: Rc::new(SiteConfig {
                root,
                max_head_size: DEFAULT_MAX_HEAD_SIZE,
                max_body_size: DEFAULT_MAX_BODY_SIZE,
                secure: false,
            }),
        }
    }

    fn with_config(&self, f: impl FnOnce(&mut SiteConfig)) -> Site {
        let mut config = SiteConfig {
            root: self.config.root.clone(),
            max_head_size: self.config.max_head_size,
            max_body_size: self.config.max_body_size,
            secure: self.config.secure,
        };
        f(&mut config);
        Site {
            config: Rc::new(config),
        }
    }

    /// The same site with another request head limit (larger heads get 431).
    pub fn with_max_head_size(&self, bytes: usize) -> Site {
        self.with_config(|c| c.max_head_size = bytes)
    }

    /// The same site with another request body limit (larger bodies get 413).
    pub fn with_max_body_size(&self, bytes: usize) -> Site {
        self.with_config(|c| c.max_body_size = bytes)
    }

    /// The same site, with its requests marked as received over TLS or not
    /// ([`Request::is_secure`]). The site does no TLS itself: this is for a site behind a TLS
    /// transport, or one that stands in for an `https` origin in tests (treq's `StubTreq`).
    pub fn with_secure(&self, secure: bool) -> Site {
        self.with_config(|c| c.secure = secure)
    }

    /// The root resource.
    pub fn root(&self) -> &Rc<dyn Resource> {
        &self.config.root
    }

    /// A new [`HTTPChannel`] for a connection from `addr` (Twisted's `buildProtocol`).
    pub fn build_protocol(&self, addr: SocketAddr) -> Rc<dyn IProtocol> {
        HTTPChannel::new(self.clone(), Some(addr))
    }
}

impl ProtocolFactory for Site {
    fn build_protocol(&self, addr: SocketAddr) -> Rc<dyn IProtocol> {
        Site::build_protocol(self, addr)
    }
}
