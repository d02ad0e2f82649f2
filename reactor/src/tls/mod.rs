//! TLS over rustls (`twisted.internet.ssl` and `twisted.protocols.tls`).
//!
//! * [`TLSMemoryBIOProtocol`]: TLS layered over any transport, client or server side, with the
//!   TCP transport's flow control and `connection_lost` rules.
//! * [`wrap_client_tls`]: an endpoint whose connections speak TLS, over any other endpoint.
//! * [`options_for_client_tls`], [`ClientTLSOptions`], [`ClientTLSSettings`], [`TrustRoot`],
//!   [`ClientCertificate`]: what a client verifies and shows.
//! * [`TLSError`]: what failed (unknown issuer, host name mismatch, expiry, a handshake the
//!   peer refused or cut short), naming the host.
//!
//! The crypto is rustls over *ring*; the default roots are `webpki-roots`. rustls itself is
//! re-exported as [`rustls`] so a program can adjust a `ClientConfig` with the same version.

mod endpoint;
mod error;
mod options;
mod records;
mod transport;

pub use endpoint::{wrap_client_tls, TLSMemoryBIOFactory, TLSWrapClientEndpoint};
pub use error::{TLSConfigError, TLSError, TLSErrorKind};
pub use options::{
    crypto_provider, options_for_client_tls, ClientCertificate, ClientTLSOptions,
    ClientTLSSettings, ITLSClientConnectionCreator, TLSVersion, TrustRoot,
};
pub use rustls;
pub use transport::TLSMemoryBIOProtocol;
