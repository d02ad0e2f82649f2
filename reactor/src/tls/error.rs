//! What went wrong with TLS: [`TLSError`] for a connection, [`TLSConfigError`] for settings.

use rustls::{CertificateError, Error as RustlsError};
use std::error::Error;
use std::fmt;

/// What kind of TLS failure a [`TLSError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TLSErrorKind {
    /// The peer's certificate chain does not lead to a trusted root (self-signed, or signed by
    /// a CA this side does not trust).
    UnknownIssuer,
    /// The certificate is valid, but not for the host name or IP address that was asked for.
    HostnameMismatch,
    /// The certificate has expired.
    Expired,
    /// The certificate is not valid yet.
    NotYetValid,
    /// The certificate was rejected for another reason (bad signature, revoked, bad encoding,
    /// wrong usage).
    BadCertificate,
    /// The peer refused the handshake: it sent an alert (for example because it wants a client
    /// certificate this side did not send, or no protocol version or cipher suite is shared).
    PeerRejected,
    /// The handshake failed for another reason (a protocol violation, a decryption error).
    HandshakeFailure,
    /// The connection closed before the handshake finished.
    PeerClosedDuringHandshake,
    /// After the handshake, the connection closed without a TLS `close_notify`: the data may
    /// have been cut short.
    Truncated,
    /// A TLS protocol error after the handshake.
    ProtocolError,
}

impl TLSErrorKind {
    fn describe(self) -> &'static str {
        match self {
            TLSErrorKind::UnknownIssuer => "certificate signed by an unknown issuer",
            TLSErrorKind::HostnameMismatch => "certificate is not valid for this host",
            TLSErrorKind::Expired => "certificate has expired",
            TLSErrorKind::NotYetValid => "certificate is not valid yet",
            TLSErrorKind::BadCertificate => "certificate rejected",
            TLSErrorKind::PeerRejected => "the peer rejected the handshake",
            TLSErrorKind::HandshakeFailure => "handshake failed",
            TLSErrorKind::PeerClosedDuringHandshake => {
                "the connection closed during the TLS handshake"
            }
            TLSErrorKind::Truncated => "the connection closed without a TLS close_notify",
            TLSErrorKind::ProtocolError => "TLS protocol error",
        }
    }
}

/// A TLS connection failed (Twisted delivers an `SSL.Error` here). Says which host, what kind
/// of failure, and rustls' own detail.
#[derive(Debug, Clone)]
pub struct TLSError {
    host: String,
    kind: TLSErrorKind,
    detail: String,
    rustls_error: Option<RustlsError>,
}

impl TLSError {
    /// An error of `kind` on the connection to `host`, with a detail text.
    pub fn new(host: &str, kind: TLSErrorKind, detail: impl Into<String>) -> TLSError {
        TLSError {
            host: host.to_owned(),
            kind,
            detail: detail.into(),
            rustls_error: None,
        }
    }

    /// Classify a rustls error met on the connection to `host`; `handshaking` says whether the
    /// handshake was still going.
    pub fn from_rustls(host: &str, error: RustlsError, handshaking: bool) -> TLSError {
        let kind = match &error {
            RustlsError::InvalidCertificate(e) => match e {
                CertificateError::UnknownIssuer => TLSErrorKind::UnknownIssuer,
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => TLSErrorKind::HostnameMismatch,
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    TLSErrorKind::Expired
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    TLSErrorKind::NotYetValid
                }
                _ => TLSErrorKind::BadCertificate,
            },
            RustlsError::AlertReceived(_) | RustlsError::NoCertificatesPresented => {
                TLSErrorKind::PeerRejected
            }
            _ if handshaking => TLSErrorKind::HandshakeFailure,
            _ => TLSErrorKind::ProtocolError,
        };
        TLSError {
            host: host.to_owned(),
            kind,
            detail: error.to_string(),
            rustls_error: Some(error),
        }
    }

    /// The host the connection was to (the peer's address on a server).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> TLSErrorKind {
        self.kind
    }

    /// rustls' error, when rustls reported one.
    pub fn rustls_error(&self) -> Option<&RustlsError> {
        self.rustls_error.as_ref()
    }
}

impl fmt::Display for TLSError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TLS with {}: {}", self.host, self.kind.describe())?;
        if !self.detail.is_empty() {
            write!(f, " ({})", self.detail)?;
        }
        Ok(())
    }
}

impl Error for TLSError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.rustls_error.as_ref().map(|e| e as _)
    }
}

/// TLS settings could not be used: a PEM or DER input that does not parse, a key that does not
/// match its certificate, a host name that cannot be a TLS server name.
#[derive(Debug)]
#[non_exhaustive]
pub enum TLSConfigError {
    /// PEM input could not be read.
    Pem {
        /// What was being read ("trust root", "client certificate", "private key").
        what: &'static str,
        /// The parser's error.
        error: rustls_pki_types::pem::Error,
    },
    /// A certificate could not be used as a trust root.
    BadTrustRoot(RustlsError),
    /// The client certificate or its key could not be used.
    BadClientCertificate(RustlsError),
    /// The input held no certificate.
    NoCertificates,
    /// The name is neither a DNS name nor an IP address.
    InvalidServerName(String),
    /// rustls refused the settings.
    Rustls(RustlsError),
}

impl fmt::Display for TLSConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TLSConfigError::Pem { what, error } => write!(f, "cannot read {what} PEM: {error}"),
            TLSConfigError::BadTrustRoot(e) => write!(f, "cannot use trust root: {e}"),
            TLSConfigError::BadClientCertificate(e) => {
                write!(f, "cannot use client certificate: {e}")
            }
            TLSConfigError::NoCertificates => f.write_str("no certificate found in the input"),
            TLSConfigError::InvalidServerName(name) => {
                write!(f, "not a valid TLS server name: {name:?}")
            }
            TLSConfigError::Rustls(e) => write!(f, "TLS settings refused: {e}"),
        }
    }
}

impl Error for TLSConfigError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            TLSConfigError::Pem { error, .. } => Some(error),
            TLSConfigError::BadTrustRoot(e)
            | TLSConfigError::BadClientCertificate(e)
            | TLSConfigError::Rustls(e) => Some(e),
            _ => None,
        }
    }
}
