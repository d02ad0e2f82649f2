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

use super::http11::body::{BodyDecoder, BodyProgress};
use super::http_headers::Headers;
use super::resource::{get_child_for_request, RenderResult, Resource};
use bytes::{Buf, Bytes, BytesMut};
use reactor::defer::{Deferred, Failure};
use reactor::interfaces::{IProtocol, ITransport};
use reactor::protocol::ProtocolFactory;
use std::cell::{Cell, Ref, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::rc::{Rc, Weak};

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

/// How the response body is delimited, chosen when the head is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    NoBody,
    Length,
    Chunked,
    UntilClose,
}

#[derive(Debug)]
struct ResponseState {
    code: u16,
    phrase: Option<Bytes>,
    headers: Headers,
    /// `Some` once the head is written.
    framing: Option<Framing>,
    keep_alive: bool,
    written: u64,
    finished: bool,
    lost: Option<Failure>,
    notifications: Vec<Deferred<()>>,
}

/// One request on a connection, and its response (Twisted's `server.Request`).
///
/// Resources get it as `&Rc<Request>`; keep a clone to finish the response later.
pub struct Request {
    method: Bytes,
    uri: Bytes,
    path: Bytes,
    version: Version,
    args: Args,
    received_headers: Headers,
    content: Bytes,
    client: Option<SocketAddr>,
    host: Option<SocketAddr>,
    prepath: RefCell<Vec<Bytes>>,
    postpath: RefCell<Vec<Bytes>>,
    /// The client asked for the connection to persist.
    wants_keep_alive: bool,
    response: RefCell<ResponseState>,
    channel: Weak<HTTPChannel>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("version", &self.version)
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl Request {
    /// The method, such as `GET`.
    pub fn method(&self) -> &Bytes {
        &self.method
    }

    /// The request target as sent (Twisted's `uri`).
    pub fn uri(&self) -> &Bytes {
        &self.uri
    }

    /// The path part of the target, still percent-encoded, without the query.
    pub fn path(&self) -> &Bytes {
        &self.path
    }

    /// The HTTP version (Twisted's `clientproto`).
    pub fn version(&self) -> Version {
        self.version
    }

    /// The arguments from the query string and from an `application/x-www-form-urlencoded`
    /// body, query first (Twisted's `args`).
    pub fn args(&self) -> &Args {
        &self.args
    }

    /// The first value of argument `name`.
    pub fn arg(&self, name: impl AsRef<[u8]>) -> Option<&Bytes> {
        self.args
            .get(name.as_ref())
            .and_then(|values| values.first())
    }

    /// The request headers (Twisted's `requestHeaders`).
    pub fn received_headers(&self) -> &Headers {
        &self.received_headers
    }

    /// The first value of request header `name` (Twisted's `getHeader`).
    pub fn get_header(&self, name: impl AsRef<[u8]>) -> Option<&Bytes> {
        self.received_headers.get_first(name)
    }

    /// The whole request body.
    pub fn content(&self) -> &Bytes {
        &self.content
    }

    /// The client's address (Twisted's `getClientAddress`).
    pub fn client(&self) -> Option<SocketAddr> {
        self.client
    }

    /// The server's address on this connection (Twisted's `getHost`).
    pub fn host(&self) -> Option<SocketAddr> {
        self.host
    }

    /// The path segments already walked (percent-decoded; Twisted's `prepath`).
    pub fn prepath(&self) -> Vec<Bytes> {
        self.prepath.borrow().clone()
    }

    /// The path segments still to walk (percent-decoded; Twisted's `postpath`).
    pub fn postpath(&self) -> Vec<Bytes> {
        self.postpath.borrow().clone()
    }

    /// Move the next segment from `postpath` to `prepath` and return it.
    pub(crate) fn pop_postpath(&self) -> Option<Bytes> {
        let mut postpath = self.postpath.borrow_mut();
        if postpath.is_empty() {
            return None;
        }
        let name = postpath.remove(0);
        drop(postpath);
        self.prepath.borrow_mut().push(name.clone());
        Some(name)
    }

    /// Set the status code, with its usual reason phrase (Twisted's `setResponseCode`). Has no
    /// effect once the head is written.
    pub fn set_response_code(&self, code: u16) {
        self.set_response_code_with_phrase(code, None::<&[u8]>);
    }

    /// Set the status code and, when given, the reason phrase (CR and LF are dropped).
    pub fn set_response_code_with_phrase(&self, code: u16, phrase: Option<impl AsRef<[u8]>>) {
        let mut response = self.response.borrow_mut();
        if response.framing.is_some() {
            log::warn!("set_response_code after the response head was written");
            return;
        }
        response.code = code;
        response.phrase = phrase.map(|p| {
            p.as_ref()
                .iter()
                .copied()
                .filter(|b| *b != b'\r' && *b != b'\n')
                .collect::<Vec<u8>>()
                .into()
        });
    }

    /// The status code (200 unless set).
    pub fn code(&self) -> u16 {
        self.response.borrow().code
    }

    /// Replace response header `name` with one `value` (Twisted's `setHeader`).
    ///
    /// # Panics
    ///
    /// If `name` is not a token or `value` contains CR, LF or NUL (Twisted raises).
    pub fn set_header(&self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        let mut response = self.response.borrow_mut();
        if response.framing.is_some() {
            log::warn!("set_header after the response head was written");
            return;
        }
        if let Err(error) = response.headers.set_raw_headers(name, [value]) {
            panic!("invalid response header: {error}");
        }
    }

    /// Add a value to response header `name`, after any it has.
    ///
    /// # Panics
    ///
    /// If `name` is not a token or `value` contains CR, LF or NUL.
    pub fn add_header(&self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        let mut response = self.response.borrow_mut();
        if response.framing.is_some() {
            log::warn!("add_header after the response head was written");
            return;
        }
        if let Err(error) = response.headers.add_raw_header(name, value) {
            panic!("invalid response header: {error}");
        }
    }

    /// The response headers set so far (Twisted's `responseHeaders`); borrow briefly.
    pub fn response_headers(&self) -> Ref<'_, Headers> {
        Ref::map(self.response.borrow(), |r| &r.headers)
    }

    /// Whether the response head has been written.
    pub fn started_writing(&self) -> bool {
        self.response.borrow().framing.is_some()
    }

    /// Whether [`finish`](Request::finish) was called.
    pub fn finished(&self) -> bool {
        self.response.borrow().finished
    }

    /// Whether the connection was lost before the response finished.
    pub fn connection_lost(&self) -> bool {
        self.response.borrow().lost.is_some()
    }

    fn transport(&self) -> Option<Rc<dyn ITransport>> {
        self.channel.upgrade().and_then(|c| c.transport())
    }

    /// Build the head and choose the framing; `None` when already written.
    fn take_head(&self) -> Option<Vec<u8>> {
        let mut response = self.response.borrow_mut();
        if response.framing.is_some() {
            return None;
        }
        let code = response.code;
        let no_body = &self.method[..] == b"HEAD" || !code_has_body(code);
        let has_length = response.headers.has_header("content-length");
        let framing = if no_body {
            Framing::NoBody
        } else if has_length {
            Framing::Length
        } else if self.version == Version::Http11 {
            Framing::Chunked
        } else {
            Framing::UntilClose
        };
        let close_asked = response
            .headers
            .get_raw_headers("connection")
            .is_some_and(|mut values| values.any(|v| has_token(v, b"close")));
        let keep_alive = self.wants_keep_alive
            && !close_asked
            && framing != Framing::UntilClose
            && (self.version == Version::Http11 || framing != Framing::NoBody || has_length);
        response.framing = Some(framing);
        response.keep_alive = keep_alive;

        let mut head = Vec::with_capacity(256);
        head.extend_from_slice(self.version.as_bytes());
        head.extend_from_slice(format!(" {code} ").as_bytes());
        match &response.phrase {
            Some(phrase) => head.extend_from_slice(phrase),
            None => head.extend_from_slice(reason_phrase(code).as_bytes()),
        }
        head.extend_from_slice(b"\r\n");
        for (name, value) in response.headers.iter() {
            if name.eq_ignore_ascii_case(b"connection")
                || name.eq_ignore_ascii_case(b"transfer-encoding")
            {
                continue;
            }
            head.extend_from_slice(name);
            head.extend_from_slice(b": ");
            head.extend_from_slice(value);
            head.extend_from_slice(b"\r\n");
        }
        if framing == Framing::Chunked {
            head.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
        }
        if !keep_alive {
            head.extend_from_slice(b"Connection: close\r\n");
        } else if self.version == Version::Http10 {
            head.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        head.extend_from_slice(b"\r\n");
        Some(head)
    }

    /// Write part of the response body (Twisted's `write`). The first call writes the head:
    /// without a `Content-Length` header the body is chunked (HTTP/1.1) or ends when the
    /// connection closes (HTTP/1.0). For `HEAD` and codes without a body, the bytes are
    /// dropped. Ignored (with a logged warning) after [`finish`](Request::finish) or once the
    /// connection is lost.
    pub fn write(&self, data: &[u8]) {
        {
            let response = self.response.borrow();
            if response.finished || response.lost.is_some() {
                if response.lost.is_none() {
                    log::warn!("Request::write after finish");
                }
                return;
            }
        }
        let head = self.take_head();
        let framing = {
            let mut response = self.response.borrow_mut();
            response.written += data.len() as u64;
            response.framing.expect("head written")
        };
        let Some(transport) = self.transport() else {
            return;
        };
        let head = head.as_deref().unwrap_or(b"");
        match framing {
            Framing::NoBody => {
                if !head.is_empty() {
                    transport.write(head);
                }
            }
            Framing::Chunked if !data.is_empty() => {
                let size = format!("{:x}\r\n", data.len());
                transport.write_sequence(&[head, size.as_bytes(), data, b"\r\n"]);
            }
            Framing::Chunked => {
                if !head.is_empty() {
                    transport.write(head);
                }
            }
            Framing::Length | Framing::UntilClose => {
                transport.write_sequence(&[head, data]);
            }
        }
    }

    /// End the response (Twisted's `finish`): writes the head if nothing was written (with
    /// `Content-Length: 0` unless a length was set), ends a chunked body, fires the
    /// [`notify_finish`](Request::notify_finish) Deferreds, and lets the connection go on to
    /// the next request or close. Ignored after the first call or once the connection is lost.
    pub fn finish(&self) {
        {
            let mut response = self.response.borrow_mut();
            if response.finished || response.lost.is_some() {
                if response.lost.is_none() {
                    log::warn!("Request::finish called twice");
                }
                return;
            }
            if response.framing.is_none()
                && code_has_body(response.code)
                && !response.headers.has_header("content-length")
            {
                let _ = response.headers.set_raw_headers("Content-Length", ["0"]);
            }
        }
        self.write(b"");
        let (keep_alive, notifications) = {
            let mut response = self.response.borrow_mut();
            response.finished = true;
            let framing = response.framing;
            if framing == Some(Framing::Length) {
                let declared = response
                    .headers
                    .get_first("content-length")
                    .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<u64>().ok());
                if declared != Some(response.written) {
                    log::warn!(
                        "response body of {} bytes where Content-Length said {declared:?}",
                        response.written
                    );
                    response.keep_alive = false;
                }
            }
            (
                response.keep_alive,
                std::mem::take(&mut response.notifications),
            )
        };
        if self.response.borrow().framing == Some(Framing::Chunked) {
            if let Some(transport) = self.transport() {
                transport.write(b"0\r\n\r\n");
            }
        }
        for d in notifications {
            let _ = d.callback(());
        }
        if let Some(channel) = self.channel.upgrade() {
            channel.request_done(keep_alive);
        }
    }

    /// A Deferred that fires when the response is finished, or fails with the reason if the
    /// connection is lost first (Twisted's `notifyFinish`).
    pub fn notify_finish(&self) -> Deferred<()> {
        let mut response = self.response.borrow_mut();
        if response.finished {
            return Deferred::succeed(());
        }
        if let Some(reason) = &response.lost {
            return Deferred::fail(reason.clone());
        }
        let d = Deferred::new();
        response.notifications.push(d.clone());
        d
    }

    /// The connection went away before `finish`.
    fn lose(&self, reason: &Failure) {
        let notifications = {
            let mut response = self.response.borrow_mut();
            if response.finished || response.lost.is_some() {
                return;
            }
            response.lost = Some(reason.clone());
            std::mem::take(&mut response.notifications)
        };
        for d in notifications {
            let _ = d.errback(reason.clone());
        }
    }

    /// Render with the resource's result: a body is written whole, with its length.
    fn render_result(&self, result: RenderResult) {
        match result {
            RenderResult::NotDoneYet => {}
            RenderResult::Body(body) => {
                if self.finished() || self.connection_lost() {
                    if !body.is_empty() {
                        log::warn!("a resource returned a body for a finished request");
                    }
                    return;
                }
                let needs_length = {
                    let response = self.response.borrow();
                    response.framing.is_none()
                        && code_has_body(response.code)
                        && !response.headers.has_header("content-length")
                };
                if needs_length {
                    self.set_header("Content-Length", body.len().to_string());
                }
                self.write(&body);
                self.finish();
            }
        }
    }
}

/// Whether a response with this code may have a body (not 1xx, 204 or 304).
fn code_has_body(code: u16) -> bool {
    !((100..200).contains(&code) || code == 204 || code == 304)
}

/// Whether comma-separated header `value` contains `token` (case-insensitive).
fn has_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|b| *b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decode `input`; with `plus`, `+` is a space (form encoding). Bad escapes stay as
/// they are.
pub fn unquote(input: &[u8], plus: bool) -> Bytes {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'%' if i + 2 < input.len() => {
                match (hex_value(input[i + 1]), hex_value(input[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' if plus => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    out.into()
}

/// Parse a query string or form body into `args` (Python's `parse_qs` with blank values kept):
/// pairs split on `&`, names and values percent-decoded with `+` as space.
pub fn parse_qs(input: &[u8], args: &mut Args) {
    for pair in input.split(|b| *b == b'&') {
        if pair.is_empty() {
            continue;
        }
        let (name, value) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        args.entry(unquote(name, true))
            .or_default()
            .push(unquote(value, true));
    }
}

/// What a [`Site`] shares with its connections.
struct SiteConfig {
    root: Rc<dyn Resource>,
    max_head_size: usize,
    max_body_size: usize,
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
            }),
        }
    }

    fn with_config(&self, f: impl FnOnce(&mut SiteConfig)) -> Site {
        let mut config = SiteConfig {
            root: self.config.root.clone(),
            max_head_size: self.config.max_head_size,
            max_body_size: self.config.max_body_size,
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

/// A request head parsed, its body being read.
struct PendingRequest {
    method: Bytes,
    uri: Bytes,
    version: Version,
    headers: Headers,
    keep_alive: bool,
    decoder: BodyDecoder,
    body: BytesMut,
}

enum Phase {
    /// Waiting for (more of) a request head.
    Head,
    /// Reading a request body.
    Body(Box<PendingRequest>),
    /// A request is being answered; later bytes wait in the buffer.
    Responding,
    /// The connection is closing or closed.
    Closed,
}

struct ChannelState {
    buf: BytesMut,
    phase: Phase,
    current: Option<Rc<Request>>,
    paused: bool,
}

enum Action {
    Stop,
    Continue,
    Write(&'static [u8]),
    Render(Rc<Request>),
    Error(u16),
}

/// One HTTP connection's protocol (Twisted's `HTTPChannel`), built by a [`Site`].
pub struct HTTPChannel {
    site: Site,
    client: Option<SocketAddr>,
    transport: RefCell<Option<Rc<dyn ITransport>>>,
    state: RefCell<ChannelState>,
    processing: Cell<bool>,
    this: Weak<HTTPChannel>,
}

impl fmt::Debug for HTTPChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HTTPChannel")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl HTTPChannel {
    /// A channel for `site`, with a connection from `client`.
    pub fn new(site: Site, client: Option<SocketAddr>) -> Rc<HTTPChannel> {
        Rc::new_cyclic(|this| HTTPChannel {
            site,
            client,
            transport: RefCell::new(None),
            state: RefCell::new(ChannelState {
                buf: BytesMut::new(),
                phase: Phase::Head,
                current: None,
                paused: false,
            }),
            processing: Cell::new(false),
            this: this.clone(),
        })
    }

    fn transport(&self) -> Option<Rc<dyn ITransport>> {
        self.transport.borrow().clone()
    }

    /// Parse and answer what the buffer holds, one request at a time. Re-entrant calls (a
    /// request finished while being rendered) return at once; the outer loop goes on.
    fn process(&self) {
        if self.processing.replace(true) {
            return;
        }
        loop {
            match self.step() {
                Action::Stop => break,
                Action::Continue => {}
                Action::Write(bytes) => {
                    if let Some(transport) = self.transport() {
                        transport.write(bytes);
                    }
                }
                Action::Render(request) => {
                    let resource = get_child_for_request(&self.site.config.root, &request);
                    let result = resource.render(&request);
                    request.render_result(result);
                }
                Action::Error(code) => {
                    self.state.borrow_mut().phase = Phase::Closed;
                    if let Some(transport) = self.transport() {
                        let head = format!(
                            "HTTP/1.1 {code} {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                            reason_phrase(code)
                        );
                        transport.write(head.as_bytes());
                        transport.lose_connection();
                    }
                    break;
                }
            }
        }
        self.processing.set(false);
    }

    /// One parsing step, with the state borrowed; never calls out.
    fn step(&self) -> Action {
        let config = &self.site.config;
        let mut state = self.state.borrow_mut();
        let ChannelState { buf, phase, .. } = &mut *state;
        match phase {
            Phase::Responding | Phase::Closed => Action::Stop,
            Phase::Head => {
                // Empty lines before a request line are ignored (RFC 9112, section 2.2).
                while buf.starts_with(b"\r\n") {
                    buf.advance(2);
                }
                if buf.starts_with(b"\n") {
                    buf.advance(1);
                }
                if buf.is_empty() {
                    return Action::Stop;
                }
                let mut storage = [httparse::EMPTY_HEADER; MAX_REQUEST_HEADERS];
                let mut parsed = httparse::Request::new(&mut storage);
                let n = match parsed.parse(buf) {
                    Ok(httparse::Status::Partial) => {
                        return if buf.len() > config.max_head_size {
                            Action::Error(431)
                        } else {
                            Action::Stop
                        }
                    }
                    Ok(httparse::Status::Complete(n)) => n,
                    Err(httparse::Error::TooManyHeaders) => return Action::Error(431),
                    Err(_) => return Action::Error(400),
                };
                if n > config.max_head_size {
                    return Action::Error(431);
                }
                let version = match parsed.version {
                    Some(0) => Version::Http10,
                    Some(1) => Version::Http11,
                    _ => return Action::Error(505),
                };
                let method = Bytes::copy_from_slice(parsed.method.unwrap_or("").as_bytes());
                let uri = Bytes::copy_from_slice(parsed.path.unwrap_or("").as_bytes());
                let mut headers = Headers::with_capacity(parsed.headers.len());
                for header in parsed.headers.iter() {
                    if headers.add_raw_header(header.name, header.value).is_err() {
                        return Action::Error(400);
                    }
                }
                buf.advance(n);

                let connection_has = |token: &[u8]| {
                    headers
                        .get_raw_headers("connection")
                        .is_some_and(|mut values| values.any(|v| has_token(v, token)))
                };
                let keep_alive = match version {
                    Version::Http11 => !connection_has(b"close"),
                    Version::Http10 => connection_has(b"keep-alive") && !connection_has(b"close"),
                };
                let chunked = match headers.get_raw_headers("transfer-encoding") {
                    None => false,
                    Some(values) => {
                        let values: Vec<&Bytes> = values.collect();
                        if values.len() == 1
                            && values[0].trim_ascii().eq_ignore_ascii_case(b"chunked")
                        {
                            true
                        } else {
                            return Action::Error(501);
                        }
                    }
                };
                let length = match headers.get_raw_headers("content-length") {
                    None => None,
                    Some(_) if chunked => return Action::Error(400),
                    Some(values) => {
                        let mut length = None;
                        for value in values {
                            let value = value.trim_ascii();
                            if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
                                return Action::Error(400);
                            }
                            let Some(n) = std::str::from_utf8(value)
                                .ok()
                                .and_then(|v| v.parse::<u64>().ok())
                            else {
                                return Action::Error(413);
                            };
                            if length.is_some_and(|l| l != n) {
                                return Action::Error(400);
                            }
                            length = Some(n);
                        }
                        length
                    }
                };
                if length.is_some_and(|n| n > config.max_body_size as u64) {
                    return Action::Error(413);
                }
                let has_body = chunked || length.is_some_and(|n| n > 0);
                let decoder = if chunked {
                    BodyDecoder::chunked()
                } else {
                    BodyDecoder::length(length.unwrap_or(0))
                };
                let continue_expected = version == Version::Http11
                    && has_body
                    && buf.is_empty()
                    && headers
                        .get_first("expect")
                        .is_some_and(|v| v.trim_ascii().eq_ignore_ascii_case(b"100-continue"));
                *phase = Phase::Body(Box::new(PendingRequest {
                    method,
                    uri,
                    version,
                    headers,
                    keep_alive,
                    decoder,
                    body: BytesMut::new(),
                }));
                if continue_expected {
                    Action::Write(b"HTTP/1.1 100 Continue\r\n\r\n")
                } else {
                    Action::Continue
                }
            }
            Phase::Body(pending) => loop {
                match pending.decoder.decode(buf) {
                    Err(_) => return Action::Error(400),
                    Ok(BodyProgress::NeedMore) => return Action::Stop,
                    Ok(BodyProgress::Data(data)) => {
                        if pending.body.len() + data.len() > config.max_body_size {
                            return Action::Error(413);
                        }
                        pending.body.extend_from_slice(&data);
                    }
                    Ok(BodyProgress::Done) => {
                        let Phase::Body(pending) = std::mem::replace(phase, Phase::Responding)
                        else {
                            unreachable!()
                        };
                        let request = self.make_request(*pending);
                        state.current = Some(request.clone());
                        return Action::Render(request);
                    }
                }
            },
        }
    }

    fn make_request(&self, pending: PendingRequest) -> Rc<Request> {
        let PendingRequest {
            method,
            uri,
            version,
            headers,
            keep_alive,
            body,
            ..
        } = pending;
        // An absolute-form target: keep the path and query only.
        let mut target = uri.clone();
        for scheme in [&b"http://"[..], b"https://"] {
            if target.len() >= scheme.len() && target[..scheme.len()].eq_ignore_ascii_case(scheme) {
                let rest = target.slice(scheme.len()..);
                target = match rest.iter().position(|b| *b == b'/' || b == &b'?') {
                    Some(i) => rest.slice(i..),
                    None => Bytes::from_static(b"/"),
                };
                break;
            }
        }
        let (path, query) = match target.iter().position(|b| *b == b'?') {
            Some(i) => (target.slice(..i), Some(target.slice(i + 1..))),
            None => (target.clone(), None),
        };
        let mut args = Args::new();
        if let Some(query) = &query {
            parse_qs(query, &mut args);
        }
        let content = body.freeze();
        let is_form = headers.get_first("content-type").is_some_and(|v| {
            let mime = v.split(|b| *b == b';').next().unwrap_or(b"");
            mime.trim_ascii()
                .eq_ignore_ascii_case(b"application/x-www-form-urlencoded")
        });
        if is_form {
            parse_qs(&content, &mut args);
        }
        let segments = path.strip_prefix(b"/").unwrap_or(&path[..]);
        let postpath = segments
            .split(|b| *b == b'/')
            .map(|s| unquote(s, false))
            .collect();
        let host = self.transport().and_then(|t| t.get_host());
        Rc::new(Request {
            method,
            uri,
            path,
            version,
            args,
            received_headers: headers,
            content,
            client: self.client,
            host,
            prepath: RefCell::new(Vec::new()),
            postpath: RefCell::new(postpath),
            wants_keep_alive: keep_alive,
            response: RefCell::new(ResponseState {
                code: 200,
                phrase: None,
                headers: Headers::new(),
                framing: None,
                keep_alive: false,
                written: 0,
                finished: false,
                lost: None,
                notifications: Vec::new(),
            }),
            channel: self.this.clone(),
        })
    }

    /// The current request finished.
    fn request_done(&self, keep_alive: bool) {
        let resume = {
            let mut state = self.state.borrow_mut();
            state.current = None;
            if !matches!(state.phase, Phase::Responding) {
                return;
            }
            state.phase = if keep_alive {
                Phase::Head
            } else {
                Phase::Closed
            };
            std::mem::take(&mut state.paused)
        };
        let Some(transport) = self.transport() else {
            return;
        };
        if !keep_alive {
            transport.lose_connection();
            return;
        }
        if resume {
            transport.resume_producing();
        }
        self.process();
    }
}

impl IProtocol for HTTPChannel {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        *self.transport.borrow_mut() = Some(transport);
    }

    fn data_received(&self, data: Bytes) {
        {
            let mut state = self.state.borrow_mut();
            if matches!(state.phase, Phase::Closed) {
                return;
            }
            state.buf.extend_from_slice(&data);
        }
        self.process();
        // While a response is under way, pipelined bytes wait in the buffer; stop reading past
        // a head's worth of them (resumed when the response finishes).
        let pause = {
            let mut state = self.state.borrow_mut();
            let pause = matches!(state.phase, Phase::Responding)
                && !state.paused
                && state.buf.len() > self.site.config.max_head_size;
            if pause {
                state.paused = true;
            }
            pause
        };
        if pause {
            if let Some(transport) = self.transport() {
                transport.pause_producing();
            }
        }
    }

    fn connection_lost(&self, reason: Failure) {
        let current = {
            let mut state = self.state.borrow_mut();
            state.phase = Phase::Closed;
            state.buf = BytesMut::new();
            state.current.take()
        };
        self.transport.borrow_mut().take();
        if let Some(request) = current {
            request.lose(&reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquote_decodes_escapes_and_plus() {
        assert_eq!(&unquote(b"a%20b+c", false)[..], b"a b+c");
        assert_eq!(&unquote(b"a%20b+c", true)[..], b"a b c");
        assert_eq!(&unquote(b"%zz%4", true)[..], b"%zz%4");
        assert_eq!(&unquote(b"%41%", false)[..], b"A%");
    }

    #[test]
    fn parse_qs_keeps_blank_values_and_order() {
        let mut args = Args::new();
        parse_qs(b"a=1&&b&a=2&c=&=x", &mut args);
        let get = |k: &[u8]| args.get(k).cloned().unwrap_or_default();
        assert_eq!(get(b"a"), vec![Bytes::from("1"), Bytes::from("2")]);
        assert_eq!(get(b"b"), vec![Bytes::new()]);
        assert_eq!(get(b"c"), vec![Bytes::new()]);
        assert_eq!(get(b""), vec![Bytes::from("x")]);
    }

    #[test]
    fn has_token_is_case_insensitive_and_comma_separated() {
        assert!(has_token(b"Keep-Alive, Upgrade", b"keep-alive"));
        assert!(has_token(b"upgrade,close", b"close"));
        assert!(!has_token(b"closed", b"close"));
    }
}
