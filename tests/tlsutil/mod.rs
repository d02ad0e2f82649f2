//! Certificates made at test time: a private CA, server and client certificates it signs,
//! self-signed and expired ones, and rustls server configurations that use them.
//!
//! Shared by `tests/https.rs`, `reactor/tests/tls.rs` and `examples/custom_tls_policy.rs`
//! (included with `#[path]`), so it uses rustls only through `reactor::tls::rustls`.
#![allow(dead_code)]

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use reactor::tls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use reactor::tls::rustls::server::WebPkiClientVerifier;
use reactor::tls::rustls::{RootCertStore, ServerConfig};
use reactor::tls::{crypto_provider, ClientCertificate, TrustRoot};
use std::sync::Arc;

/// A certificate authority that exists only for this test run.
pub struct TestCA {
    cert: rcgen::Certificate,
    key: KeyPair,
}

/// A certificate and its key.
pub struct Issued {
    /// The certificate, DER.
    pub cert_der: CertificateDer<'static>,
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The PKCS#8 key, DER.
    pub key_der: Vec<u8>,
    /// The key, PEM.
    pub key_pem: String,
}

impl TestCA {
    /// A new CA called `name`.
    pub fn new(name: &str) -> TestCA {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        TestCA { cert, key }
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// The CA certificate, DER.
    pub fn der(&self) -> CertificateDer<'static> {
        self.cert.der().clone()
    }

    /// This CA as a client's trust root.
    pub fn trust_root(&self) -> TrustRoot {
        TrustRoot::from_pem(self.pem().as_bytes()).unwrap()
    }

    /// A certificate for `names` (DNS names or IP addresses), valid from 2020 to 2100.
    pub fn issue(&self, names: &[&str]) -> Issued {
        self.issue_valid(names, (2020, 1, 1), (2100, 1, 1))
    }

    /// A certificate for `names` valid between the two dates (year, month, day).
    pub fn issue_valid(&self, names: &[&str], from: (i32, u8, u8), until: (i32, u8, u8)) -> Issued {
        let mut params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().copied().unwrap_or("client"),
        );
        params.not_before = rcgen::date_time_ymd(from.0, from.1, from.2);
        params.not_after = rcgen::date_time_ymd(until.0, until.1, until.2);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        Issued::new(&cert, &key)
    }
}

/// A self-signed certificate for `names`.
pub fn self_signed(names: &[&str]) -> Issued {
    let params =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Issued::new(&cert, &key)
}

impl Issued {
    fn new(cert: &rcgen::Certificate, key: &KeyPair) -> Issued {
        Issued {
            cert_der: cert.der().clone(),
            cert_pem: cert.pem(),
            key_der: key.serialize_der(),
            key_pem: key.serialize_pem(),
        }
    }

    fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }

    /// A server configuration presenting this certificate, offering ALPN `http/1.1`.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        let mut config = ServerConfig::builder_with_provider(crypto_provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![self.cert_der.clone()], self.key())
            .unwrap();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }

    /// A server configuration that speaks TLS 1.2 only.
    pub fn server_config_tls12_only(&self) -> Arc<ServerConfig> {
        let mut config = ServerConfig::builder_with_provider(crypto_provider())
            .with_protocol_versions(&[&reactor::tls::rustls::version::TLS12])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![self.cert_der.clone()], self.key())
            .unwrap();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }

    /// A server configuration that requires a client certificate signed by `client_ca`.
    pub fn server_config_requiring_client(&self, client_ca: &TestCA) -> Arc<ServerConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(client_ca.der()).unwrap();
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), crypto_provider())
                .build()
                .unwrap();
        let mut config = ServerConfig::builder_with_provider(crypto_provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![self.cert_der.clone()], self.key())
            .unwrap();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }

    /// This certificate and key as a client certificate.
    pub fn client_certificate(&self) -> ClientCertificate {
        ClientCertificate::from_pem(self.cert_pem.as_bytes(), self.key_pem.as_bytes()).unwrap()
    }
}
