//! HTTPS through the Agent: what is verified and how failures are reported, against hyper
//! 1.x over tokio-rustls (and scripted servers) with certificates from a CA made for the run.
//! Real sockets on 127.0.0.1 only.

#[path = "httpsutil/mod.rs"]
mod httpsutil;
#[path = "tlsutil/mod.rs"]
mod tlsutil;

use httpsutil::{agent_trusting, get, serve, tls_error};
use reactor::tls::rustls::ServerConfig;
use reactor::tls::{TLSErrorKind, TrustRoot};
use reactor::Reactor;
use std::io::Read;
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;
use tlsutil::{self_signed, TestCA};
use treq::web::client::{Agent, BrowserLikePolicyForHTTPS};
use treq::web::error::{ResponseFailed, ResponseNeverReceived};

#[test]
fn self_signed_certificate_is_rejected() {
    let server = serve(self_signed(&["localhost"]).server_config());
    let reactor = Reactor::new();
    let agent = Agent::new(&reactor);
    let failure = get(&reactor, &agent, &server.url("localhost", "/")).unwrap_err();
    assert!(failure.check::<ResponseNeverReceived>(), "{failure}");
    let error = tls_error(&failure);
    assert_eq!(error.kind(), TLSErrorKind::UnknownIssuer);
    assert_eq!(error.host(), "localhost");
    let message = failure.to_string();
    assert!(
        message.contains("localhost") && message.contains("unknown issuer"),
        "{message}"
    );
}

#[test]
fn wrong_hostname_is_rejected() {
    let ca = TestCA::new("test CA");
    let server = serve(ca.issue(&["other.example"]).server_config());
    let reactor = Reactor::new();
    let agent = agent_trusting(&reactor, &ca, false);
    let failure = get(&reactor, &agent, &server.url("localhost", "/")).unwrap_err();
    assert_eq!(tls_error(&failure).kind(), TLSErrorKind::HostnameMismatch);
}

#[test]
fn expired_certificate_is_rejected() {
    let ca = TestCA::new("test CA");
    let server = serve(
        ca.issue_valid(&["localhost"], (2001, 1, 1), (2002, 1, 1))
            .server_config(),
    );
    let reactor = Reactor::new();
    let agent = agent_trusting(&reactor, &ca, false);
    let failure = get(&reactor, &agent, &server.url("localhost", "/")).unwrap_err();
    assert_eq!(tls_error(&failure).kind(), TLSErrorKind::Expired);
}

#[test]
fn private_root_is_not_trusted_by_default_but_accepted_when_given() {
    let ca = TestCA::new("test CA");
    let server = serve(ca.issue(&["localhost"]).server_config());
    let reactor = Reactor::new();
    let failure = get(
        &reactor,
        &Agent::new(&reactor),
        &server.url("localhost", "/"),
    )
    .unwrap_err();
    assert_eq!(tls_error(&failure).kind(), TLSErrorKind::UnknownIssuer);
    // The same root, as DER this time.
    let root = TrustRoot::from_der([ca.der()]).unwrap();
    let agent =
        Agent::new(&reactor).context_factory(BrowserLikePolicyForHTTPS::with_trust_root(root));
    assert_eq!(
        get(&reactor, &agent, &server.url("localhost", "/ok"))
            .unwrap()
            .0,
        200
    );
}

#[test]
fn ip_address_certificate_matches_the_ip_url() {
    let ca = TestCA::new("test CA");
    let server = serve(ca.issue(&["127.0.0.1"]).server_config());
    let reactor = Reactor::new();
    let agent = agent_trusting(&reactor, &ca, false);
    assert_eq!(
        get(&reactor, &agent, &server.url("127.0.0.1", "/ip"))
            .unwrap()
            .0,
        200
    );
    // The same certificate does not vouch for a name.
    let failure = get(&reactor, &agent, &server.url("localhost", "/")).unwrap_err();
    assert_eq!(tls_error(&failure).kind(), TLSErrorKind::HostnameMismatch);
}

#[test]
fn client_certificate_required_by_the_server() {
    let ca = TestCA::new("server CA");
    let client_ca = TestCA::new("client CA");
    let server = serve(
        ca.issue(&["localhost"])
            .server_config_requiring_client(&client_ca),
    );
    let reactor = Reactor::new();
    let without = agent_trusting(&reactor, &ca, false);
    let failure = get(&reactor, &without, &server.url("localhost", "/")).unwrap_err();
    assert_eq!(
        tls_error(&failure).kind(),
        TLSErrorKind::PeerRejected,
        "{failure}"
    );
    let policy = BrowserLikePolicyForHTTPS::with_trust_root(ca.trust_root())
        .client_certificate(client_ca.issue(&["client"]).client_certificate());
    let with = Agent::new(&reactor).context_factory(policy);
    let (code, body) = get(&reactor, &with, &server.url("localhost", "/me")).unwrap();
    assert_eq!((code, body.as_str()), (200, "GET /me "));
}

#[test]
fn server_hanging_up_mid_handshake_is_reported() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut hello = [0u8; 16];
            let _ = stream.read(&mut hello);
        }
    });
    let reactor = Reactor::new();
    let failure = get(
        &reactor,
        &Agent::new(&reactor),
        &format!("https://localhost:{port}/"),
    )
    .unwrap_err();
    assert!(failure.check::<ResponseNeverReceived>(), "{failure}");
    assert_eq!(
        tls_error(&failure).kind(),
        TLSErrorKind::PeerClosedDuringHandshake
    );
}

#[test]
fn garbage_instead_of_a_server_hello_is_a_protocol_error() {
    for garbage in [
        &b"HTTP/1.1 400 Bad Request\r\n\r\n"[..],
        &[0x16, 0x03, 0x03, 0x00, 0x05, 1, 2, 3, 4, 5][..],
    ] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        thread::spawn(move || {
            use std::io::Write;
            if let Ok((mut stream, _)) = listener.accept() {
                let mut hello = [0u8; 512];
                let _ = stream.read(&mut hello);
                let _ = stream.write_all(garbage);
                let _ = stream.read(&mut hello);
            }
        });
        let reactor = Reactor::new();
        let failure = get(
            &reactor,
            &Agent::new(&reactor),
            &format!("https://localhost:{port}/"),
        )
        .unwrap_err();
        assert!(failure.check::<ResponseNeverReceived>(), "{failure}");
        let kind = tls_error(&failure).kind();
        assert!(
            matches!(
                kind,
                TLSErrorKind::ProtocolError | TLSErrorKind::HandshakeFailure
            ),
            "{kind:?}: {failure}"
        );
    }
}

/// A proxy that forwards one byte at a time each way, so every read on the client's socket
/// returns a byte and then `WouldBlock`, at every step of the handshake.
#[test]
fn minimum_version_refuses_an_older_server() {
    let ca = TestCA::new("test CA");
    let server = serve(ca.issue(&["localhost"]).server_config_tls12_only());
    let reactor = Reactor::new();
    // TLS 1.2 is accepted by default...
    let agent = agent_trusting(&reactor, &ca, false);
    assert_eq!(
        get(&reactor, &agent, &server.url("localhost", "/"))
            .unwrap()
            .0,
        200
    );
    // ...and refused when the policy asks for 1.3 at least.
    let strict = Agent::new(&reactor).context_factory(
        BrowserLikePolicyForHTTPS::with_trust_root(ca.trust_root())
            .minimum_version(reactor::tls::TLSVersion::TLSv1_3),
    );
    let failure = get(&reactor, &strict, &server.url("localhost", "/")).unwrap_err();
    let kind = tls_error(&failure).kind();
    assert!(
        matches!(
            kind,
            TLSErrorKind::PeerRejected | TLSErrorKind::HandshakeFailure
        ),
        "{failure}"
    );
}

#[test]
fn bad_pem_is_a_typed_error() {
    let error = TrustRoot::from_pem(b"not a certificate").unwrap_err();
    assert!(
        matches!(error, treq::web::client::TLSConfigError::NoCertificates),
        "{error}"
    );
    let broken = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    let error = TrustRoot::from_pem(broken).unwrap_err();
    assert!(error.to_string().contains("trust root"), "{error}");
    let ca = TestCA::new("test CA");
    let issued = ca.issue(&["client"]);
    let other = ca.issue(&["other"]);
    let error = reactor::tls::ClientCertificate::from_pem(
        issued.cert_pem.as_bytes(),
        other.key_pem.as_bytes(),
    )
    .unwrap_err();
    assert!(error.to_string().contains("client certificate"), "{error}");
}

/// A TLS server that sends the head and 10 of 100 promised bytes, then closes TCP without a
/// close_notify.
fn serve_truncating(config: Arc<ServerConfig>) -> u16 {
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        rt.block_on(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            let acceptor = tokio_rustls::TlsAcceptor::from(config);
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let Ok(mut tls) = acceptor.accept(stream).await else {
                return;
            };
            let mut request = [0u8; 1024];
            let _ = tls.read(&mut request).await;
            let _ = tls
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
                .await;
            let _ = tls.flush().await;
            // Dropped without shutdown: TCP's FIN, no TLS close_notify.
            drop(tls);
        });
    });
    rx.recv().unwrap()
}

#[test]
fn body_cut_short_without_close_notify_fails_the_response() {
    let ca = TestCA::new("test CA");
    let port = serve_truncating(ca.issue(&["localhost"]).server_config());
    let reactor = Reactor::new();
    let agent = agent_trusting(&reactor, &ca, false);
    let failure = get(&reactor, &agent, &format!("https://localhost:{port}/")).unwrap_err();
    assert!(failure.check::<ResponseFailed>(), "{failure}");
    assert_eq!(tls_error(&failure).kind(), TLSErrorKind::Truncated);
}
