//! treq for Rust: treq's HTTP client API on a Twisted-style reactor.
//!
//! The crate mirrors Python's module layout: [`web`] holds the port of
//! `twisted.web` (headers, the HTTP/1.1 client protocol core, `Agent`), and the rest is treq:
//! [`client`] (`HTTPClient`), [`api`] (`treq.get` and friends, re-exported here),
//! [`response`], [`content`](mod@content), [`multipart`], [`auth`] and [`cookies`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod client;
pub mod content;
pub mod cookies;
pub mod multipart;
pub mod response;
pub mod web;

pub use api::{delete, get, head, patch, post, put, request};
pub use content::{collect, content, json_content, text_content};
