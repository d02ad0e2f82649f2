//! The HTTP/1.1 client protocol on the reactor (Twisted's `twisted.web._newclient`).
//!
//! [`HTTP11ClientProtocol`] is a thin driver over the sans-IO core in
//! [`http11`](crate::web::http11): it writes a [`Request`], streams its body producer with
//! back-pressure, feeds received bytes to the response parser and hands out the
//! [`Response`](crate::web::response::Response).

mod body;
mod protocol;
mod request;

pub use protocol::HTTP11ClientProtocol;
pub(crate) use protocol::RetryHook;
pub use request::Request;

#[cfg(test)]
mod piece_tests;
#[cfg(test)]
mod tests;
