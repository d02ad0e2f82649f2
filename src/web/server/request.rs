//! The server-side [`Request`]: what arrived, and the response being written.

use super::channel::HTTPChannel;
use super::query::has_token;
use super::{reason_phrase, Args, Version};
use crate::web::http_headers::{HeaderError, Headers};
use crate::web::resource::RenderResult;
use bytes::Bytes;
use reactor::defer::{Deferred, Failure};
use reactor::interfaces::ITransport;
use std::cell::{Ref, RefCell};
use std::fmt;
use std::net::SocketAddr;
use std::rc::{Rc, Weak};

/// How the response body is delimited, chosen when the head is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    NoBody,
    Length,
    Chunked,
    UntilClose,
}

#[derive(Debug)]
pub(super) struct ResponseState {
    pub(super) code: u16,
    pub(super) phrase: Option<Bytes>,
    pub(super) headers: Headers,
    /// `Some` once the head is written.
    pub(super) framing: Option<Framing>,
    pub(super) keep_alive: bool,
    pub(super) written: u64,
    pub(super) finished: bool,
    pub(super) lost: Option<Failure>,
    pub(super) notifications: Vec<Deferred<()>>,
}

/// One request on a connection, and its response (Twisted's `server.Request`).
///
/// Resources get it as `&Rc<Request>`; keep a clone to finish the response later.
pub struct Request {
    pub(super) method: Bytes,
    pub(super) uri: Bytes,
    pub(super) path: Bytes,
    pub(super) version: Version,
    pub(super) args: Args,
    pub(super) received_headers: Headers,
    pub(super) content: Bytes,
    pub(super) client: Option<SocketAddr>,
    pub(super) host: Option<SocketAddr>,
    pub(super) secure: bool,
    pub(super) prepath: RefCell<Vec<Bytes>>,
    pub(super) postpath: RefCell<Vec<Bytes>>,
    /// The client asked for the connection to persist.
    pub(super) wants_keep_alive: bool,
    pub(super) response: RefCell<ResponseState>,
    pub(super) channel: Weak<HTTPChannel>,
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

    /// Whether the request came over TLS, as the [`Site`](super::Site) says
    /// ([`Site::with_secure`](super::Site::with_secure); Twisted's `isSecure`).
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The URL the request was made for, without the query: `http` or `https` (by
    /// [`is_secure`](Request::is_secure)), the `Host` header (else the server's address), and
    /// the path as sent (Twisted's `URLPath.fromRequest(request).click(request.path)`).
    pub fn url(&self) -> String {
        let scheme = if self.secure { "https" } else { "http" };
        let host = match self.get_header("host") {
            Some(host) => String::from_utf8_lossy(host).into_owned(),
            None => self.host.map(|a| a.to_string()).unwrap_or_default(),
        };
        let path = if self.path.is_empty() {
            "/".into()
        } else {
            String::from_utf8_lossy(&self.path)
        };
        format!("{scheme}://{host}{path}")
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

    /// Replace response header `name` with one `value` (Twisted's `setHeader`). A name that is
    /// not a token or a value with CR, LF or NUL is refused with a [`HeaderError`] (Twisted
    /// raises); after the head was written the call is ignored with a warning.
    pub fn set_header(
        &self,
        name: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<(), HeaderError> {
        let mut response = self.response.borrow_mut();
        if response.framing.is_some() {
            log::warn!("set_header after the response head was written");
            return Ok(());
        }
        response.headers.set_raw_headers(name, [value])
    }

    /// Add a value to response header `name`, after any it has.
    ///
    /// # Panics
    ///
    /// If `name` is not a token or `value` contains CR, LF or NUL.
    pub fn add_header(
        &self,
        name: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<(), HeaderError> {
        let mut response = self.response.borrow_mut();
        if response.framing.is_some() {
            log::warn!("add_header after the response head was written");
            return Ok(());
        }
        response.headers.add_raw_header(name, value)
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
    pub(super) fn lose(&self, reason: &Failure) {
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
    pub(super) fn render_result(&self, result: RenderResult) {
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
                    let _ = self.set_header("Content-Length", body.len().to_string());
                }
                self.write(&body);
                self.finish();
            }
        }
    }
}

/// Whether a response with this code may have a body (not 1xx, 204 or 304).
pub(super) fn code_has_body(code: u16) -> bool {
    !((100..200).contains(&code) || code == 204 || code == 304)
}
