//! [`RedirectAgent`] and [`BrowserLikeRedirectAgent`] (Twisted's): agents that follow
//! redirects.
//!
//! Both resolve `Location` against the URI that answered (keeping that URI's fragment when the
//! new one has none), stop after [`redirect_limit`](RedirectAgent::redirect_limit) redirects
//! (default [`DEFAULT_REDIRECT_LIMIT`]), and set
//! [`previous_response`](Response::previous_response) on each response that follows a redirect.
//!
//! Security: when a redirect leaves the origin (scheme, host or port changes), the headers
//! that carry credentials (`Authorization`, `Cookie`, `Cookie2`, `Proxy-Authorization`,
//! `WWW-Authenticate`, and any names given to
//! [`sensitive_header_names`](RedirectAgent::sensitive_header_names)) are dropped, for that hop
//! and every later one (Twisted's fix for CVE-2022-21712).
//!
//! Unlike Twisted, the body of each redirect response is read and discarded (up to
//! [`REDIRECT_DRAIN_LIMIT`] bytes, beyond which its connection is closed) before the next
//! request is sent, so a persistent connection goes back to the pool and is reused.

use super::producers::BytesBodyProducer;
use super::redirect_errors::{
    InfiniteRedirection, InvalidRedirectLocation, PageRedirect, RedirectBodyNotReplayable,
    RedirectWithNoLocation,
};
use crate::web::error::ResponseFailed;
use crate::web::http_headers::Headers;
use crate::web::iweb::{IAgent, IBodyProducer};
use crate::web::response::Response;
use bytes::Bytes;
use reactor::defer::{Deferred, Failure};
use reactor::interfaces::{IProtocol, ITransport};
use std::cell::{Cell, RefCell};
use std::error::Error;
use std::fmt;
use std::rc::Rc;
use url::Url;

/// The default number of redirects followed before [`InfiniteRedirection`] (Twisted's 20).
pub const DEFAULT_REDIRECT_LIMIT: usize = 20;

/// The most bytes of a redirect response's body read (and discarded) to free its connection;
/// a longer body closes the connection instead.
pub const REDIRECT_DRAIN_LIMIT: usize = 1 << 20;

/// Headers that carry credentials: never sent to another origin after a redirect.
const SENSITIVE_HEADERS: [&[u8]; 5] = [
    b"authorization",
    b"cookie",
    b"cookie2",
    b"proxy-authorization",
    b"www-authenticate",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Flavour {
    /// Twisted's `RedirectAgent`: only GET and HEAD follow 301/302/307/308.
    Strict,
    /// As browsers (the Fetch standard) do.
    BrowserLike,
}

/// What to do with a response.
enum Decision {
    Done,
    Refuse,
    Follow { method: String, drop_body: bool },
}

fn decide(flavour: Flavour, code: u16, method: &str) -> Decision {
    let keep = |method: &str| Decision::Follow {
        method: method.to_owned(),
        drop_body: false,
    };
    let to_get = || Decision::Follow {
        method: "GET".to_owned(),
        drop_body: true,
    };
    match (flavour, code) {
        // 303 See Other: fetch the new resource with GET (HEAD stays HEAD), without a body.
        (_, 303) if method == "HEAD" => Decision::Follow {
            method: method.to_owned(),
            drop_body: true,
        },
        (_, 303) => to_get(),
        (Flavour::Strict, 301 | 302 | 307 | 308) if method == "GET" || method == "HEAD" => {
            keep(method)
        }
        (Flavour::Strict, 301 | 302 | 307 | 308) => Decision::Refuse,
        (Flavour::BrowserLike, 301 | 302) if method == "POST" => to_get(),
        (Flavour::BrowserLike, 301 | 302 | 307 | 308) => keep(method),
        _ => Decision::Done,
    }
}

/// The configuration both agents share.
#[derive(Clone)]
struct Redirector {
    agent: Rc<dyn IAgent>,
    limit: usize,
    /// Extra sensitive names, lower-cased.
    sensitive: Vec<Vec<u8>>,
    flavour: Flavour,
}

/// One request of a redirect chain.
struct Hop {
    method: String,
    uri: String,
    headers: Option<Headers>,
    body: Option<Rc<dyn IBodyProducer>>,
    /// Redirects followed before this request.
    count: usize,
}

fn failed<E: Error + 'static>(error: E) -> Deferred<Response> {
    Deferred::fail(ResponseFailed::new(vec![Failure::new(error)]))
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// A body that can be sent again, if `body` is one.
fn replay(body: &Rc<dyn IBodyProducer>) -> Option<Rc<dyn IBodyProducer>> {
    let bytes = body.immediate_body()?;
    Some(Rc::new(BytesBodyProducer::new(bytes)))
}

impl Redirector {
    fn new(agent: Rc<dyn IAgent>, flavour: Flavour) -> Redirector {
        Redirector {
            agent,
            limit: DEFAULT_REDIRECT_LIMIT,
            sensitive: Vec::new(),
            flavour,
        }
    }

    fn add_sensitive<N: AsRef<[u8]>>(&mut self, names: impl IntoIterator<Item = N>) {
        self.sensitive
            .extend(names.into_iter().map(|n| n.as_ref().to_ascii_lowercase()));
    }

    fn send(self: Rc<Self>, hop: Hop, previous: Option<Response>) -> Deferred<Response> {
        let d = self
            .agent
            .request(&hop.method, &hop.uri, hop.headers.clone(), hop.body.clone());
        d.add_callback(move |mut response: Response| {
            response.previous_response = previous.map(Box::new);
            self.handle(response, hop)
        })
    }

    fn strip_sensitive(&self, headers: &mut Headers) {
        for name in SENSITIVE_HEADERS {
            headers.remove_header(name);
        }
        for name in &self.sensitive {
            headers.remove_header(name);
        }
    }

    fn handle(self: Rc<Self>, response: Response, hop: Hop) -> Deferred<Response> {
        let code = response.code;
        let uri = hop.uri.clone();
        let (method, drop_body) = match decide(self.flavour, code, &hop.method) {
            Decision::Done => return Deferred::succeed(response),
            Decision::Refuse => {
                let location = response
                    .headers
                    .get_first("location")
                    .and_then(|l| resolve(&uri, l).ok())
                    .map(String::from);
                return failed(PageRedirect {
                    code,
                    uri,
                    method: hop.method,
                    location,
                    response,
                });
            }
            Decision::Follow { method, drop_body } => (method, drop_body),
        };
        if hop.count >= self.limit {
            return failed(InfiniteRedirection {
                code,
                uri,
                limit: self.limit,
                response,
            });
        }
        let Some(location) = response.headers.get_first("location").cloned() else {
            return failed(RedirectWithNoLocation {
                code,
                uri,
                response,
            });
        };
        let (base, target) = match resolve_pair(&uri, &location) {
            Ok(pair) => pair,
            Err(reason) => {
                return failed(InvalidRedirectLocation {
                    code,
                    uri,
                    location: String::from_utf8_lossy(&location).into_owned(),
                    reason,
                    response,
                })
            }
        };
        let mut headers = hop.headers;
        if let Some(h) = headers.as_mut() {
            if !same_origin(&base, &target) {
                self.strip_sensitive(h);
            }
            if drop_body {
                remove_content_headers(h);
            }
        }
        let body = match hop.body {
            Some(_) if drop_body => None,
            Some(body) => match replay(&body) {
                Some(body) => Some(body),
                None => {
                    return failed(RedirectBodyNotReplayable {
                        code,
                        uri,
                        method,
                        location: target.into(),
                        response,
                    })
                }
            },
            None => None,
        };
        let next = Hop {
            method,
            uri: target.into(),
            headers,
            body,
            count: hop.count + 1,
        };
        drain(&response).add_callback(move |()| self.send(next, Some(response)))
    }
}

/// `location` resolved against `uri`, with `uri`'s fragment when it has none.
fn resolve_pair(uri: &str, location: &Bytes) -> Result<(Url, Url), String> {
    let base = Url::parse(uri).map_err(|e| format!("the request URI is invalid: {e}"))?;
    let location = std::str::from_utf8(location).map_err(|_| "not UTF-8".to_owned())?;
    let mut target = base.join(location).map_err(|e| e.to_string())?;
    if target.fragment().is_none() && base.fragment().is_some() {
        target.set_fragment(base.fragment());
    }
    Ok((base, target))
}

fn resolve(uri: &str, location: &Bytes) -> Result<Url, String> {
    resolve_pair(uri, location).map(|(_, target)| target)
}

/// Remove the headers that describe a body (`Content-Type`, `Content-Length`, ...).
fn remove_content_headers(headers: &mut Headers) {
    let names: Vec<Bytes> = headers
        .iter()
        .map(|(name, _)| name)
        .filter(|name| name.len() > 8 && name[..8].eq_ignore_ascii_case(b"content-"))
        .cloned()
        .collect();
    for name in names {
        headers.remove_header(name);
    }
}

/// Read and discard `response`'s body; fires when the body has ended (whatever the reason).
pub(crate) fn drain(response: &Response) -> Deferred<()> {
    let transport: Rc<RefCell<Option<Rc<dyn ITransport>>>> = Rc::new(RefCell::new(None));
    let for_cancel = transport.clone();
    let done = Deferred::with_canceller(move |_| {
        let t = for_cancel.borrow_mut().take();
        if let Some(t) = t {
            t.stop_producing();
        }
    });
    let drainer = Rc::new(Drain {
        left: Cell::new(REDIRECT_DRAIN_LIMIT),
        transport,
        done: done.clone(),
    });
    if response.deliver_body(drainer).is_err() {
        return Deferred::succeed(());
    }
    done
}

struct Drain {
    left: Cell<usize>,
    transport: Rc<RefCell<Option<Rc<dyn ITransport>>>>,
    done: Deferred<()>,
}

impl IProtocol for Drain {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        *self.transport.borrow_mut() = Some(transport);
    }

    fn data_received(&self, data: Bytes) {
        match self.left.get().checked_sub(data.len()) {
            Some(left) => self.left.set(left),
            None => {
                let t = self.transport.borrow_mut().take();
                if let Some(t) = t {
                    t.stop_producing();
                }
            }
        }
    }

    fn connection_lost(&self, _reason: Failure) {
        self.transport.borrow_mut().take();
        let _ = self.done.callback(());
    }
}

macro_rules! redirect_agent {
    ($(#[$doc:meta])* $name:ident, $flavour:expr) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            redirector: Rc<Redirector>,
        }

        impl $name {
            /// An agent that follows redirects for `agent`, at most
            /// [`DEFAULT_REDIRECT_LIMIT`] times per request.
            pub fn new(agent: Rc<dyn IAgent>) -> $name {
                $name {
                    redirector: Rc::new(Redirector::new(agent, $flavour)),
                }
            }

            /// Follow at most `n` redirects per request (Twisted's `redirectLimit`, default
            /// 20); the next one fails with [`InfiniteRedirection`].
            pub fn redirect_limit(mut self, n: usize) -> $name {
                Rc::make_mut(&mut self.redirector).limit = n;
                self
            }

            /// Also drop these headers on a redirect to another origin (Twisted's
            /// `sensitiveHeaderNames`), besides `Authorization`, `Cookie`, `Cookie2`,
            /// `Proxy-Authorization` and `WWW-Authenticate`. Names match without regard to
            /// ASCII case.
            pub fn sensitive_header_names(
                mut self,
                names: impl IntoIterator<Item = impl AsRef<[u8]>>,
            ) -> $name {
                Rc::make_mut(&mut self.redirector).add_sensitive(names);
                self
            }
        }

        impl IAgent for $name {
            fn reactor(&self) -> Option<Rc<dyn reactor::interfaces::IReactorTime>> {
                self.redirector.agent.reactor()
            }

            fn request(
                &self,
                method: &str,
                uri: &str,
                headers: Option<Headers>,
                body_producer: Option<Rc<dyn IBodyProducer>>,
            ) -> Deferred<Response> {
                let hop = Hop {
                    method: method.to_owned(),
                    uri: uri.to_owned(),
                    headers,
                    body: body_producer,
                    count: 0,
                };
                self.redirector.clone().send(hop, None)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("redirect_limit", &self.redirector.limit)
                    .finish_non_exhaustive()
            }
        }
    };
}

redirect_agent!(
    /// Follows redirects as Twisted's `RedirectAgent` does.
    ///
    /// * 301, 302, 307 and 308 are followed for GET and HEAD, with the same method (and the
    ///   same body, if the request had one that can be sent again); any other method fails
    ///   with [`PageRedirect`].
    /// * 303 is followed with GET (HEAD stays HEAD), without the body and its `Content-*`
    ///   headers.
    /// * A missing `Location` fails with [`RedirectWithNoLocation`], the limit with
    ///   [`InfiniteRedirection`]; each comes inside
    ///   [`ResponseFailed`] and holds the redirect response.
    ///
    /// ```no_run
    /// use reactor::Reactor;
    /// use std::rc::Rc;
    /// use treq::web::client::{Agent, RedirectAgent};
    /// use treq::web::iweb::IAgent;
    ///
    /// let reactor = Reactor::new();
    /// let agent = RedirectAgent::new(Rc::new(Agent::new(&reactor))).redirect_limit(5);
    /// let d = agent.request("GET", "http://example.com/old", None, None);
    /// ```
    RedirectAgent,
    Flavour::Strict
);

redirect_agent!(
    /// Follows redirects as browsers do (the Fetch standard), which Twisted's
    /// `BrowserLikeRedirectAgent` approximates.
    ///
    /// * 301 and 302 turn POST into GET (without the body and its `Content-*` headers); other
    ///   methods are kept, with their body.
    /// * 303 turns any method but HEAD into GET, without the body.
    /// * 307 and 308 keep the method and the body. The body is sent again when its producer
    ///   holds it in memory ([`immediate_body`](IBodyProducer::immediate_body) is `Some`, as
    ///   for [`BytesBodyProducer`]); otherwise the request fails with
    ///   [`RedirectBodyNotReplayable`]. (Twisted turns a 308 into GET; this agent does not.)
    /// * Missing `Location`, the limit and credentials on cross-origin hops are handled as by
    ///   [`RedirectAgent`].
    BrowserLikeRedirectAgent,
    Flavour::BrowserLike
);
