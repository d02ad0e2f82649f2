//! treq for Rust: treq's HTTP client API on a Twisted-style reactor.
//!
//! The crate mirrors Python's module layout: [`web`] holds the port of
//! `twisted.web` (headers, the HTTP/1.1 client protocol core, `Agent`), and the rest is treq:
//! [`client`] (`HTTPClient`), [`api`] (`treq.get` and friends, re-exported here),
//! [`response`], [`content`](mod@content), [`multipart`], [`auth`], [`cookies`] and [`testing`].
//!
//! # Quick start
//!
//! One reactor runs everything on this thread: here a small local server
//! ([`Site`](web::server::Site), Twisted's `twisted.web.server.Site`) and the client that
//! asks it, first in treq's callback style, then in its `inlineCallbacks` style (an `async`
//! block).
//!
//! ```
//! use reactor::defer::{ensure_deferred, Failure};
//! use reactor::Reactor;
//! use std::cell::RefCell;
//! use std::rc::Rc;
//! use treq::client::HTTPClient;
//! use treq::web::client::{Agent, HTTPConnectionPool};
//! use treq::web::resource::{FnResource, RenderResult};
//! use treq::web::server::Site;
//!
//! let reactor = Reactor::new();
//!
//! // A server on a free port of 127.0.0.1 that echoes the request's URI as JSON.
//! let site = Site::new(Rc::new(FnResource::new(|request| {
//!     let _ = request.set_header("Content-Type", "application/json");
//!     let uri = String::from_utf8_lossy(request.uri()).into_owned();
//!     RenderResult::from(serde_json::json!({ "uri": uri }).to_string())
//! })));
//! let port = reactor.listen_tcp(0, Rc::new(site), "127.0.0.1")?.get_host().port();
//! let url = format!("http://127.0.0.1:{port}/get");
//!
//! // HTTPClient(Agent(reactor, pool=HTTPConnectionPool(reactor, persistent=True)))
//! let pool = HTTPConnectionPool::new(&reactor, true);
//! let client = HTTPClient::new(Agent::new(&reactor).pool(pool));
//!
//! // Callback style: client.get(url, params=...).addCallback(treq.json_content)
//! let first = client
//!     .get(&url)
//!     .params([("q", "rust")])
//!     .timeout(5.0)
//!     .send()
//!     .add_callback(|response| response.json::<serde_json::Value>())
//!     .add_callback(|data| assert_eq!(data["uri"], "/get?q=rust"));
//!
//! // async style, once the first request is done: POST a JSON body, read the text.
//! let outcome: Rc<RefCell<Option<Result<String, Failure>>>> = Rc::default();
//! let (out, r) = (outcome.clone(), reactor.clone());
//! first
//!     .add_callback(move |()| {
//!         ensure_deferred(async move {
//!             let response = client
//!                 .post(&url)
//!                 .json(&serde_json::json!({ "name": "treq" }))
//!                 .timeout(5.0)
//!                 .await?;
//!             response.text(None).await
//!         })
//!     })
//!     .add_both(move |result| {
//!         *out.borrow_mut() = Some(result);
//!         let _ = r.stop();
//!     });
//! reactor.run()?;
//!
//! let text = outcome.borrow_mut().take().expect("the requests finished");
//! let text = text.map_err(Failure::into_error)?;
//! assert_eq!(text, r#"{"uri":"/get"}"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The module-level functions ([`get`], [`post`], ...) work the same way without a client:
//! they use the thread's default reactor and its global connection pool, as `treq.get` does.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod client;
pub mod content;
pub mod cookies;
pub mod multipart;
pub mod response;
pub mod testing;
pub mod web;

pub use api::{delete, get, head, patch, post, put, request};
pub use content::{collect, content, json_content, text_content};

// The guides' Rust code blocks are compiled (and, unless `no_run`, run) as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/porting.md")]
mod porting_md {}

#[cfg(doctest)]
#[doc = include_str!("../docs/howto.md")]
mod howto_md {}
