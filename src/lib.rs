//! treq for Rust: treq's HTTP client API on a Twisted-style reactor.
//!
//! The crate mirrors Python's module layout: [`web`] holds the port of
//! `twisted.web` (headers, the HTTP/1.1 client protocol core).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod web;
