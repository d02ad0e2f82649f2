//! [`RequestBuilder`]: one request and treq's keyword arguments, as same-named methods.

use super::body::{request_body, Data, FilePart};
use super::cookies_arg::Cookies;
use super::error::{ConnectTimeoutUnsupported, InvalidMethod, RequestBodyError};
use super::params::{append_query, flatten, Values};
use super::stack::{wrapped_agent, RetryLayer};
use super::HTTPClient;
use crate::auth::AuthConfig;
use crate::response::Response;
use crate::web::client::{with_body_timeout, RetryPolicy};
use crate::web::http_headers::Headers;
use reactor::defer::{Deferred, Failure};
use reactor::interfaces::IReactorTime;
use reactor::Reactor;
use serde::Serialize;
use std::future::IntoFuture;
use std::rc::Rc;
use url::Url;

/// Where a request gets its [`HTTPClient`]: a client's own requests use the client; the
/// module-level functions ([`treq::get`](crate::get), ...) build one per request.
pub trait RequestSource {
    /// The client to send with; `reactor` is the request's `reactor=` keyword.
    fn into_client(self, reactor: Option<&Reactor>) -> Result<HTTPClient, Failure>;
}

impl RequestSource for HTTPClient {
    fn into_client(self, _reactor: Option<&Reactor>) -> Result<HTTPClient, Failure> {
        Ok(self)
    }
}

/// Header values as `headers=` takes them: one value or a list (see [`Values`]).
pub type HeaderValues = Values;

/// A request being described: set keywords, then [`send`](Self::send) it or `.await` it.
///
/// Keyword errors (a bad header, an unserializable `json`) do not panic: the first one is
/// kept and the request's Deferred fails with it.
#[must_use = "a request does nothing until it is sent or awaited"]
pub struct RequestBuilder<S> {
    pub(crate) source: S,
    method: String,
    url: Result<Url, Failure>,
    params: Vec<(Vec<u8>, Vec<u8>)>,
    headers: Option<Headers>,
    data: Option<Data>,
    files: Vec<FilePart>,
    json: Option<Vec<u8>>,
    auth: Option<AuthConfig>,
    cookies: Option<Cookies>,
    allow_redirects: bool,
    browser_like_redirects: bool,
    unbuffered: bool,
    reactor: Option<Reactor>,
    timeout: Option<f64>,
    retry: Option<RetryPolicy>,
    connect_timeout: Option<f64>,
    body_timeout: Option<f64>,
    error: Option<Failure>,
}

impl<S: RequestSource> RequestBuilder<S> {
    pub(crate) fn new(source: S, method: &str, url: Result<Url, Failure>) -> RequestBuilder<S> {
        RequestBuilder {
            source,
            method: method.to_owned(),
            url,
            params: Vec::new(),
            headers: None,
            data: None,
            files: Vec::new(),
            json: None,
            auth: None,
            cookies: None,
            allow_redirects: true,
            browser_like_redirects: false,
            unbuffered: false,
            reactor: None,
            timeout: None,
            retry: None,
            connect_timeout: None,
            body_timeout: None,
            error: None,
        }
    }

    fn fail_with(&mut self, failure: Failure) {
        if self.error.is_none() {
            self.error = Some(failure);
        }
    }

    /// Query parameters, appended to the URL's own query (treq's `params=`): a map or a list of
    /// pairs; a list value repeats the key. Calling it again adds more.
    pub fn params<I, K, V>(mut self, params: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<[u8]>,
        V: Into<Values>,
    {
        self.params.extend(flatten(params));
        self
    }

    /// Request headers (treq's `headers=`): a [`Headers`], or a map or list of pairs with one
    /// value or a list. Calling it again adds more. A body's `Content-Type` replaces the one
    /// given here, as in treq.
    pub fn headers<I, K, V>(mut self, headers: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<[u8]>,
        V: Into<Values>,
    {
        let target = self.headers.get_or_insert_with(Headers::new);
        let mut result = Ok(());
        for (name, values) in headers {
            for value in values.into().iter() {
                if let Err(e) = target.add_raw_header(name.as_ref(), value) {
                    result = Err(e);
                }
            }
        }
        if let Err(e) = result {
            self.fail_with(Failure::new(e));
        }
        self
    }

    /// The body (treq's `data=`): bytes, a form, a file or reader, a producer, ... See
    /// [`Data`].
    pub fn data(mut self, data: impl Into<Data>) -> Self {
        self.data = Some(data.into());
        self
    }

    /// Files to upload as `multipart/form-data` (treq's `files=`): `(field, file)`,
    /// `(field, filename, file)` or `(field, filename, content_type, file)` entries, after
    /// the `data` form fields.
    pub fn files<I, P>(mut self, files: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<FilePart>,
    {
        self.files.extend(files.into_iter().map(Into::into));
        self
    }

    /// A JSON body (treq's `json=`), compact, sent as `application/json; charset=UTF-8`.
    pub fn json(mut self, value: &impl Serialize) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => self.json = Some(body),
            Err(e) => self.fail_with(Failure::new(RequestBodyError::Json(e.to_string()))),
        }
        self
    }

    /// Credentials (treq's `auth=`): `(user, password)` for Basic authentication.
    pub fn auth(mut self, auth: impl Into<AuthConfig>) -> Self {
        self.auth = Some(auth.into());
        self
    }

    /// Cookies for this request (treq's `cookies=`): a map of names to values, scoped to the
    /// request's origin, or a [`CookieJar`](crate::cookies::CookieJar). Either way they are
    /// merged into the client's jar.
    pub fn cookies(mut self, cookies: impl Into<Cookies>) -> Self {
        self.cookies = Some(cookies.into());
        self
    }

    /// Whether to follow redirects (treq's `allow_redirects=`, default true).
    pub fn allow_redirects(mut self, yes: bool) -> Self {
        self.allow_redirects = yes;
        self
    }

    /// Follow redirects as browsers do (treq's `browser_like_redirects=`, default false).
    pub fn browser_like_redirects(mut self, yes: bool) -> Self {
        self.browser_like_redirects = yes;
        self
    }

    /// Stream the body to one reader instead of keeping it (treq's `unbuffered=`).
    pub fn unbuffered(mut self, yes: bool) -> Self {
        self.unbuffered = yes;
        self
    }

    /// The reactor for the timeout (and, for the module-level functions, for the agent and
    /// pool): treq's `reactor=`.
    pub fn reactor(mut self, reactor: &Reactor) -> Self {
        self.reactor = Some(reactor.clone());
        self
    }

    /// Give up after `seconds` (treq's `timeout=`): the whole request — connecting, redirects,
    /// the response head — is cancelled, its connection aborted, and the Deferred fails with
    /// [`TimeoutError`](reactor::defer::TimeoutError).
    pub fn timeout(mut self, seconds: f64) -> Self {
        self.timeout = Some(seconds);
        self
    }

    /// Retry transient failures (not in treq): a [`RetryPolicy`], or a number of retries for
    /// the default policy. Connect errors, resets and 429/502/503/504 answers are retried with
    /// exponential backoff and jitter on the request's clock; [`timeout`](Self::timeout)
    /// still bounds the whole request, waits included.
    pub fn retry(mut self, policy: impl Into<RetryPolicy>) -> Self {
        self.retry = Some(policy.into());
        self
    }

    /// Give up connecting after `seconds` (not in treq; the agent's own connect timeout still
    /// applies too). Only a new connection is timed: a pooled one is ready at once. Fails with
    /// [`ConnectError::Timeout`](reactor::error::ConnectError::Timeout) ("connecting timed out
    /// after ..."), or with [`ConnectTimeoutUnsupported`] when the client's agent cannot time
    /// its connects per request.
    pub fn connect_timeout(mut self, seconds: f64) -> Self {
        self.connect_timeout = Some(seconds);
        self
    }

    /// Fail reading the body when no byte of it arrives for `seconds` (treq #83), counted from
    /// the response head and from each piece; time the reader spends paused does not count.
    /// The body's readers then fail with
    /// [`BodyReadTimeout`](crate::web::client::BodyReadTimeout) and its connection is closed.
    pub fn body_timeout(mut self, seconds: f64) -> Self {
        self.body_timeout = Some(seconds);
        self
    }

    /// Send the request. The Deferred fires with the [`Response`] once its head has arrived.
    pub fn send(self) -> Deferred<Response> {
        match self.start() {
            Ok(d) => d,
            Err(failure) => Deferred::fail(failure),
        }
    }

    fn start(self) -> Result<Deferred<Response>, Failure> {
        if let Some(failure) = self.error {
            return Err(failure);
        }
        let mut url = self.url?;
        if !self.method.is_ascii() {
            return Err(Failure::new(InvalidMethod {
                method: self.method,
            }));
        }
        let method = self.method.to_ascii_uppercase();
        append_query(&mut url, &self.params);
        let auth = match take_userinfo(&mut url) {
            Some(from_url) => Some(self.auth.unwrap_or(from_url)),
            None => self.auth,
        };
        let client = self.source.into_client(self.reactor.as_ref())?;
        let clock: Rc<dyn IReactorTime> = match (&self.reactor, &client.clock) {
            (Some(reactor), _) => Rc::new(reactor.clone()),
            (None, Some(clock)) => clock.clone(),
            (None, None) => client
                .agent
                .reactor()
                .unwrap_or_else(|| Rc::new(Reactor::default())),
        };
        let (producer, content_type) = request_body(
            self.data,
            self.files,
            self.json,
            client.data_to_body_producer.as_ref(),
            &clock,
        )?;
        let mut headers = self.headers.unwrap_or_default();
        if let Some(content_type) = content_type {
            headers
                .set_raw_headers("Content-Type", [content_type])
                .map_err(Failure::new)?;
        }
        if let Some(cookies) = self.cookies {
            cookies.merge_into(&client.cookiejar, &url)?;
        }
        let base = match self.connect_timeout {
            Some(seconds) => Some(
                client
                    .agent
                    .with_connect_timeout(seconds)
                    .ok_or_else(|| Failure::new(ConnectTimeoutUnsupported))?,
            ),
            None => None,
        };
        let agent = wrapped_agent(
            &client,
            base,
            self.allow_redirects,
            self.browser_like_redirects,
            auth.as_ref(),
            self.retry.as_ref().map(|policy| RetryLayer {
                policy,
                clock: clock.clone(),
            }),
        )?;
        let mut d = agent.request(&method, url.as_str(), Some(headers), producer);
        if let Some(seconds) = self.timeout {
            d = d.add_timeout(seconds, &*clock);
        }
        let jar = client.cookiejar.clone();
        let buffered = !self.unbuffered;
        let body_timeout = self.body_timeout;
        Ok(d.add_callback(move |response| {
            let response = match body_timeout {
                Some(seconds) => with_body_timeout(&response, seconds, clock),
                None => response,
            };
            Response::new(response, jar, buffered)
        }))
    }
}

/// Take the credentials out of `url` (`http://user:pass@host/`): they become Basic auth (unless
/// the request has `auth=` of its own), and the URL that is sent, kept in the response and
/// shown in errors and logs no longer holds them.
fn take_userinfo(url: &mut Url) -> Option<AuthConfig> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |s: &str| percent_encoding::percent_decode_str(s).collect::<Vec<u8>>();
    let config = AuthConfig::from((decode(url.username()), decode(url.password().unwrap_or(""))));
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Some(config)
}

impl<S: RequestSource> IntoFuture for RequestBuilder<S> {
    type Output = Result<Response, Failure>;
    type IntoFuture = Deferred<Response>;

    /// Awaiting a request sends it.
    fn into_future(self) -> Deferred<Response> {
        self.send()
    }
}
