//! [`HTTPChannel`]: one connection's request parsing and response ordering.

use super::query::has_token;
use super::request::{Request, ResponseState};
use super::{parse_qs, reason_phrase, unquote, MAX_REQUEST_HEADERS};
use super::{Args, Site, Version};
use crate::web::http11::body::{BodyDecoder, BodyProgress};
use crate::web::http_headers::Headers;
use crate::web::resource::get_child_for_request;
use bytes::{Buf, Bytes, BytesMut};
use reactor::defer::Failure;
use reactor::interfaces::{IProtocol, ITransport};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::net::SocketAddr;
use std::rc::{Rc, Weak};

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

    pub(super) fn transport(&self) -> Option<Rc<dyn ITransport>> {
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
            secure: self.site.config.secure,
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
    pub(super) fn request_done(&self, keep_alive: bool) {
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
