//! The errors of `twisted.web._newclient` and `twisted.web.error` that the HTTP client reports.

use crate::web::http11::ProtocolError;
use bytes::Bytes;
use reactor::defer::Failure;
use std::error::Error;
use std::fmt;

fn write_reasons(f: &mut fmt::Formatter<'_>, reasons: &[Failure]) -> fmt::Result {
    for (i, reason) in reasons.iter().enumerate() {
        f.write_str(if i == 0 { ": " } else { "; " })?;
        write!(f, "{reason}")?;
    }
    Ok(())
}

macro_rules! reasons_error {
    ($(#[$doc:meta])* $name:ident, $msg:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name {
            /// The failures that caused it, first cause first.
            pub reasons: Vec<Failure>,
        }

        impl $name {
            /// The error for these causes.
            pub fn new(reasons: Vec<Failure>) -> $name {
                $name { reasons }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str($msg)?;
                write_reasons(f, &self.reasons)
            }
        }

        impl Error for $name {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                self.reasons.first().map(|r| r.error())
            }
        }
    };
}

reasons_error!(
    /// The response failed after some of it had arrived: the head was cut short or invalid,
    /// or the connection was lost in the body (Twisted's `ResponseFailed`).
    ResponseFailed,
    "the response failed"
);
reasons_error!(
    /// The connection was lost, or the response was invalid, before any byte of the response
    /// arrived (Twisted's `ResponseNeverReceived`). On a reused connection this usually means the
    /// server had closed it; idempotent requests are retried.
    ResponseNeverReceived,
    "the connection closed before any response was received"
);
reasons_error!(
    /// Writing the request failed: the connection was lost while the body was being sent, the
    /// body producer failed, or it wrote the wrong number of bytes (Twisted's
    /// `RequestTransmissionFailed`).
    RequestTransmissionFailed,
    "sending the request failed"
);
reasons_error!(
    /// The request could not be turned into bytes (Twisted's `RequestGenerationFailed`): an
    /// invalid method, target or header. Nothing was written.
    RequestGenerationFailed,
    "the request could not be generated"
);

/// The request was not sent: the connection was busy with another request or already closed
/// (Twisted's `RequestNotSent`). It is always safe to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestNotSent;

impl fmt::Display for RequestNotSent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the request was not sent: the connection is busy or closed")
    }
}
impl Error for RequestNotSent {}

/// The response body has been delivered completely (Twisted's `ResponseDone`): the reason given
/// to a body protocol's `connection_lost` on success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResponseDone;

impl fmt::Display for ResponseDone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the response body was received completely")
    }
}
impl Error for ResponseDone {}

/// The response body was delimited only by the connection closing, so it may have been cut
/// short without anyone knowing (Twisted's `PotentialDataLoss`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PotentialDataLoss;

impl fmt::Display for PotentialDataLoss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the response body ended with the connection and had no length: \
             it may be incomplete",
        )
    }
}
impl Error for PotentialDataLoss {}

/// The URI's scheme is not one the agent speaks (Twisted's `SchemeNotSupported`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemeNotSupported {
    /// The scheme, as given.
    pub scheme: String,
}

impl fmt::Display for SchemeNotSupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scheme == "https" {
            write!(
                f,
                "scheme 'https' is not supported yet: TLS is not implemented"
            )
        } else {
            write!(
                f,
                "unsupported scheme '{}': only http is supported",
                self.scheme
            )
        }
    }
}
impl Error for SchemeNotSupported {}

/// The URI could not be parsed, has no host, or contains a control character or a space
/// (refused rather than silently dropped or encoded, so what is sent is what was asked for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidURI {
    /// The URI, as given.
    pub uri: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for InvalidURI {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid URI {:?}: {}", self.uri, self.reason)
    }
}
impl Error for InvalidURI {}

/// A request body producer wrote more or fewer bytes than its `length()` declared (Twisted's
/// `WrongBodyLength`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrongBodyLength {
    /// The declared length.
    pub expected: u64,
    /// The bytes written (so far, when too many).
    pub actual: u64,
}

impl fmt::Display for WrongBodyLength {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.actual > self.expected {
            write!(
                f,
                "the body producer wrote too many bytes: {} or more where {} were declared",
                self.actual, self.expected
            )
        } else {
            write!(
                f,
                "the body producer wrote too few bytes: {} where {} were declared",
                self.actual, self.expected
            )
        }
    }
}
impl Error for WrongBodyLength {}

/// A [`Failure`] for a [`ProtocolError`], with `WrongBodyLength` as this module's
/// [`WrongBodyLength`] so callers check one type.
pub fn protocol_failure(error: ProtocolError) -> Failure {
    {
        match error {
            ProtocolError::WrongBodyLength { expected, actual } => {
                Failure::new(WrongBodyLength { expected, actual })
            }
            other => Failure::new(other),
        }
    }
}

/// [`read_body`](crate::web::response::read_body) got a body that may be incomplete (Twisted's
/// `PartialDownloadError`): it ended with the connection and had no length. `body` holds what
/// arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialDownloadError {
    /// The bytes received.
    pub body: Bytes,
}

impl fmt::Display for PartialDownloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the response body may be incomplete ({} bytes received before the connection closed)",
            self.body.len()
        )
    }
}
impl Error for PartialDownloadError {}
