//! Client TLS settings (the client half of `twisted.internet.ssl`): trust roots, client
//! certificates, protocol versions, and [`ClientTLSOptions`], which makes one rustls client
//! connection per TCP connection.

use super::error::{TLSConfigError, TLSError};
use rustls::client::ResolvesClientCert;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, ClientConnection, RootCertStore, SignatureScheme};
use std::fmt;
use std::sync::Arc;

/// The crypto provider used everywhere here: rustls over *ring*.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificates a client trusts to sign servers' certificates (Twisted's `IOpenSSLTrustRoot`).
#[derive(Clone)]
pub struct TrustRoot {
    store: Arc<RootCertStore>,
}

impl TrustRoot {
    /// The Mozilla root program's CAs, as shipped by `webpki-roots` (Twisted's `platformTrust`).
    pub fn platform_trust() -> TrustRoot {
        thread_local! {
            static WEBPKI: Arc<RootCertStore> = Arc::new(RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            });
        }
        TrustRoot {
            store: WEBPKI.with(Arc::clone),
        }
    }

    /// Every certificate in PEM text (one or more `BEGIN CERTIFICATE` blocks) as a trust root.
    pub fn from_pem(pem: &[u8]) -> Result<TrustRoot, TLSConfigError> {
        let certificates = read_pem_certificates(pem, "trust root")?;
        TrustRoot::from_der(certificates)
    }

    /// These DER-encoded certificates as trust roots.
    pub fn from_der<I, C>(certificates: I) -> Result<TrustRoot, TLSConfigError>
    where
        I: IntoIterator<Item = C>,
        C: Into<CertificateDer<'static>>,
    {
        let mut store = RootCertStore::empty();
        for certificate in certificates {
            store
                .add(certificate.into())
                .map_err(TLSConfigError::BadTrustRoot)?;
        }
        if store.is_empty() {
            return Err(TLSConfigError::NoCertificates);
        }
        Ok(TrustRoot {
            store: Arc::new(store),
        })
    }

    /// The roots, for building a rustls configuration by hand.
    pub fn root_store(&self) -> Arc<RootCertStore> {
        self.store.clone()
    }
}

impl fmt::Debug for TrustRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<TrustRoot of {} certificates>", self.store.len())
    }
}

fn read_pem_certificates(
    pem: &[u8],
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TLSConfigError> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| TLSConfigError::Pem { what, error })?;
    if certificates.is_empty() {
        return Err(TLSConfigError::NoCertificates);
    }
    Ok(certificates)
}

/// A certificate chain and its private key, shown to servers that ask for a client
/// certificate (Twisted's `PrivateCertificate` as a `clientCertificate`).
#[derive(Clone)]
pub struct ClientCertificate {
    key: Arc<CertifiedKey>,
}

impl ClientCertificate {
    /// From PEM: the chain (leaf first) and the private key (PKCS#8, PKCS#1 or SEC1). The key
    /// is checked against the leaf certificate.
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<ClientCertificate, TLSConfigError> {
        let chain = read_pem_certificates(chain_pem, "client certificate")?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|error| TLSConfigError::Pem {
            what: "private key",
            error,
        })?;
        ClientCertificate::from_der(chain, key)
    }

    /// From DER: the chain (leaf first) and the private key.
    pub fn from_der(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<ClientCertificate, TLSConfigError> {
        if chain.is_empty() {
            return Err(TLSConfigError::NoCertificates);
        }
        let key = CertifiedKey::from_der(chain, key, &crypto_provider())
            .map_err(TLSConfigError::BadClientCertificate)?;
        Ok(ClientCertificate { key: Arc::new(key) })
    }
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<ClientCertificate chain of {}>", self.key.cert.len())
    }
}

impl ResolvesClientCert for ClientCertificate {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.key.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// The lowest TLS version a client accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum TLSVersion {
    /// TLS 1.2 (and 1.3): the default.
    #[default]
    TLSv1_2,
    /// TLS 1.3 only.
    TLSv1_3,
}

/// Everything a client configuration is built from. `build` gives the shared rustls
/// configuration; share the result between connections so TLS sessions resume.
#[derive(Clone, Debug, Default)]
pub struct ClientTLSSettings {
    /// Trusted roots; `None` means [`TrustRoot::platform_trust`].
    pub trust_root: Option<TrustRoot>,
    /// The certificate to show servers that ask for one.
    pub client_certificate: Option<ClientCertificate>,
    /// ALPN protocols to offer, most preferred first (for example `b"http/1.1"`).
    pub acceptable_protocols: Vec<Vec<u8>>,
    /// The lowest protocol version accepted.
    pub minimum_version: TLSVersion,
}

impl ClientTLSSettings {
    /// The rustls configuration: chain verified against the trust root, host name checked, SNI
    /// sent, an in-memory session cache for resumption.
    pub fn build(&self) -> Result<Arc<ClientConfig>, TLSConfigError> {
        let versions: &[&'static rustls::SupportedProtocolVersion] = match self.minimum_version {
            TLSVersion::TLSv1_2 => &[&rustls::version::TLS13, &rustls::version::TLS12],
            TLSVersion::TLSv1_3 => &[&rustls::version::TLS13],
        };
        let roots = self
            .trust_root
            .clone()
            .unwrap_or_else(TrustRoot::platform_trust);
        let builder = ClientConfig::builder_with_provider(crypto_provider())
            .with_protocol_versions(versions)
            .map_err(TLSConfigError::Rustls)?
            .with_root_certificates(roots.store);
        let mut config = match &self.client_certificate {
            Some(certificate) => builder.with_client_cert_resolver(Arc::new(certificate.clone())),
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = self.acceptable_protocols.clone();
        config.enable_sni = true;
        Ok(Arc::new(config))
    }
}

/// Makes the rustls client connection for one TCP connection (Twisted's
/// `IOpenSSLClientConnectionCreator`; the TLS library here is rustls, hence the name).
pub trait ITLSClientConnectionCreator {
    /// A new client connection to the host this creator is for.
    fn client_connection_for_tls(&self) -> Result<ClientConnection, TLSError>;
    /// The host name (or IP address) certificates are checked against; named in errors.
    fn hostname(&self) -> &str;
}

/// A rustls configuration and the server name it connects to (Twisted's `ClientTLSOptions`).
/// Cheap to clone: the configuration is shared, and with it the session cache.
#[derive(Clone)]
pub struct ClientTLSOptions {
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
    hostname: String,
}

impl ClientTLSOptions {
    /// Connect to `hostname` (a DNS name or an IP address, IPv6 with or without brackets) with
    /// `config`.
    pub fn new(
        config: Arc<ClientConfig>,
        hostname: &str,
    ) -> Result<ClientTLSOptions, TLSConfigError> {
        let bare = hostname.trim_start_matches('[').trim_end_matches(']');
        let server_name = ServerName::try_from(bare.to_owned())
            .map_err(|_| TLSConfigError::InvalidServerName(hostname.to_owned()))?;
        Ok(ClientTLSOptions {
            config,
            server_name,
            hostname: bare.to_owned(),
        })
    }

    /// The shared rustls configuration.
    pub fn config(&self) -> &Arc<ClientConfig> {
        &self.config
    }
}

impl ITLSClientConnectionCreator for ClientTLSOptions {
    fn client_connection_for_tls(&self) -> Result<ClientConnection, TLSError> {
        ClientConnection::new(self.config.clone(), self.server_name.clone())
            .map_err(|e| TLSError::from_rustls(&self.hostname, e, true))
    }

    fn hostname(&self) -> &str {
        &self.hostname
    }
}

impl fmt::Debug for ClientTLSOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<ClientTLSOptions for {}>", self.hostname)
    }
}

/// Client TLS options for `hostname` (Twisted's `optionsForClientTLS`): verify against
/// `trust_root` (default: [`TrustRoot::platform_trust`]), show `client_certificate` when asked,
/// offer `acceptable_protocols` by ALPN. Each call builds a new configuration; to resume
/// sessions across connections keep the result and clone it.
pub fn options_for_client_tls(
    hostname: &str,
    trust_root: Option<TrustRoot>,
    client_certificate: Option<ClientCertificate>,
    acceptable_protocols: Option<&[&[u8]]>,
) -> Result<ClientTLSOptions, TLSConfigError> {
    let settings = ClientTLSSettings {
        trust_root,
        client_certificate,
        acceptable_protocols: acceptable_protocols
            .unwrap_or_default()
            .iter()
            .map(|p| p.to_vec())
            .collect(),
        minimum_version: TLSVersion::default(),
    };
    ClientTLSOptions::new(settings.build()?, hostname)
}
