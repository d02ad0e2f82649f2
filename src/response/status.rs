//! [`HTTPError`] and [`Response::fail_for_status`](super::Response::fail_for_status): treat a
//! 4xx or 5xx answer as a failure (treq #62, as `requests`' `raise_for_status`).

use super::Response;
use reactor::defer::Deferred;
use std::error::Error;
use std::fmt;

/// A response whose status is 4xx (client error) or 5xx (server error), from
/// [`Response::fail_for_status`](super::Response::fail_for_status). It keeps the response,
/// so its body can still be read.
#[derive(Debug, Clone)]
pub struct HTTPError {
    /// The status code, 400 to 599.
    pub code: u16,
    /// The URL that was requested (after redirects).
    pub url: String,
    /// The response itself.
    pub response: Response,
}

impl HTTPError {
    /// Whether the status is a 4xx (the request was wrong) rather than a 5xx.
    pub fn is_client_error(&self) -> bool {
        (400..500).contains(&self.code)
    }
}

impl fmt::Display for HTTPError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_client_error() {
            "client error"
        } else {
            "server error"
        };
        let phrase = String::from_utf8_lossy(self.response.phrase());
        write!(f, "{} {kind}", self.code)?;
        if !phrase.is_empty() {
            write!(f, " ({phrase})")?;
        }
        write!(f, " for {}", self.url)
    }
}

impl Error for HTTPError {}

/// `response`, or a failure with an [`HTTPError`] when its status is 400 to 599.
pub(super) fn check_status(response: Response) -> Deferred<Response> {
    let code = response.code();
    if (400..600).contains(&code) {
        Deferred::fail(HTTPError {
            code,
            url: response.request().absolute_uri.to_string(),
            response,
        })
    } else {
        Deferred::succeed(response)
    }
}
