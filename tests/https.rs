//! HTTPS through the Agent against an independent TLS server: hyper 1.x over tokio-rustls on
//! its own thread, with certificates from a CA made for the test run. Real sockets on
//! 127.0.0.1 only.

#[path = "tlsutil/mod.rs"]
mod tlsutil;

use hyper::body::{Body, Bytes as HBytes, Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use reactor::defer::{Deferred, Failure};
use reactor::tls::rustls::{HandshakeKind, ServerConfig};
use reactor::tls::{ITLSClientConnectionCreator, TLSError, TLSErrorKind, TrustRoot};
use reactor::Reactor;
use std::cell::{Cell, RefCell};
use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;
use tlsutil::{self_signed, TestCA};
use treq::web::client::{
    read_body, Agent, BrowserLikePolicyForHTTPS, BytesBodyProducer, HTTPConnectionPool,
    HostnameCachingHTTPSPolicy, IPolicyForHTTPS,
};
use treq::web::error::{RequestTransmissionFailed, ResponseFailed, ResponseNeverReceived};
use treq::web::iweb::IAgent;
use treq::web::response::Response;

// ---------------------------------------------------------------------------------------------
// The TLS server.

struct Server {
    port: u16,
    /// TCP connections accepted.
    connections: Arc<AtomicUsize>,
    /// Handshakes that resumed an earlier session.
    resumed: Arc<AtomicUsize>,
}

impl Server {
    fn url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.port)
    }
}

/// A response body: all at once, or `remaining` bytes generated in 64 KiB frames.
enum Out {
    Full(Option<HBytes>),
    Generated { remaining: u64, piece: HBytes },
}

impl Body for Out {
    type Data = HBytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<HBytes>, Infallible>>> {
        let frame = match self.get_mut() {
            Out::Full(b) => b.take(),
            Out::Generated { remaining, piece } => {
                let n = (*remaining).min(piece.len() as u64) as usize;
                *remaining -= n as u64;
                (n > 0).then(|| piece.slice(..n))
            }
        };
        Poll::Ready(frame.map(|b| Ok(Frame::data(b))))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Out::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Out::Generated { remaining, .. } => SizeHint::with_exact(*remaining),
        }
    }
}

/// `/big?n=<bytes>` sends that many bytes; anything else answers `METHOD /path body`.
async fn echo(req: hyper::Request<Incoming>) -> Result<hyper::Response<Out>, Infallible> {
    use http_body_util::BodyExt;
    if req.uri().path() == "/big" {
        let n = req
            .uri()
            .query()
            .and_then(|q| q.strip_prefix("n="))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let piece = HBytes::from(vec![b'x'; 64 * 1024]);
        return Ok(hyper::Response::new(Out::Generated {
            remaining: n,
            piece,
        }));
    }
    let head = format!("{} {}", req.method(), req.uri().path());
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let text = format!("{head} {}", String::from_utf8_lossy(&body));
    Ok(hyper::Response::new(Out::Full(Some(text.into()))))
}

fn serve(config: Arc<ServerConfig>) -> Server {
    let connections = Arc::new(AtomicUsize::new(0));
    let resumed = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    let (c, r) = (connections.clone(), resumed.clone());
    thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            let acceptor = tokio_rustls::TlsAcceptor::from(config);
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                c.fetch_add(1, Ordering::SeqCst);
                let (acceptor, r) = (acceptor.clone(), r.clone());
                tokio::task::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    if tls.get_ref().1.handshake_kind() == Some(HandshakeKind::Resumed) {
                        r.fetch_add(1, Ordering::SeqCst);
                    }
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service_fn(echo))
                        .await;
                });
            }
        });
    });
    Server {
        port: rx.recv().unwrap(),
        connections,
        resumed,
    }
}

// ---------------------------------------------------------------------------------------------
// Client helpers.

/// Run the reactor until `d` fires, at most 10 seconds, and return its result.
fn run<T: 'static>(reactor: &Reactor, d: Deferred<T>) -> Result<T, Failure> {
    let result = Rc::new(RefCell::new(None));
    let (r, stopper) = (result.clone(), reactor.clone());
    d.add_both(move |outcome: Result<T, Failure>| {
        *r.borrow_mut() = Some(outcome);
        let _ = stopper.stop();
    });
    if result.borrow().is_none() {
        let stopper = reactor.clone();
        let timeout = reactor.call_later(10.0, move || {
            let _ = stopper.stop();
        });
        reactor.run().unwrap();
        let _ = timeout.cancel();
    }
    let outcome = result.borrow_mut().take();
    outcome.expect("the test timed out after 10 seconds")
}

fn text(reactor: &Reactor, d: Deferred<Response>) -> Result<(u16, String), Failure> {
    let d = d.add_callback(|response: Response| {
        let code = response.code;
        read_body(&response)
            .add_callback(move |body| (code, String::from_utf8_lossy(&body).into_owned()))
    });
    run(reactor, d)
}

fn get(reactor: &Reactor, agent: &Agent, url: &str) -> Result<(u16, String), Failure> {
    text(reactor, agent.request("GET", url, None, None))
}

/// The TLS error inside a request's failure (`ResponseNeverReceived`, `ResponseFailed` or
/// `RequestTransmissionFailed`, as Twisted delivers them).
fn tls_error(failure: &Failure) -> TLSError {
    let reasons = if let Some(e) = failure.value::<ResponseNeverReceived>() {
        &e.reasons
    } else if let Some(e) = failure.value::<RequestTransmissionFailed>() {
        &e.reasons
    } else if let Some(e) = failure.value::<ResponseFailed>() {
        &e.reasons
    } else {
        panic!("unexpected failure: {failure}");
    };
    reasons
        .iter()
        .find_map(|r| r.value::<TLSError>().cloned())
        .unwrap_or_else(|| panic!("no TLSError in {failure}"))
}

fn agent_trusting(reactor: &Reactor, ca: &TestCA, persistent: bool) -> Agent {
    Agent::new(reactor)
        .pool(HTTPConnectionPool::new(reactor, persistent))
        .context_factory(BrowserLikePolicyForHTTPS::with_trust_root(ca.trust_root()))
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn get_and_post_share_one_pooled_connection() {
    let ca = TestCA::new("test CA");
    let server = serve(ca.issue(&["localhost"]).server_config());
    let reactor = Reactor::new();
    let agent = agent_trusting(&reactor, &ca, true);
    let (code, body) = get(&reactor, &agent, &server.url("localhost", "/first")).unwrap();
    assert_eq!((code, body.as_str()), (200, "GET /first "));
    let post = agent.request(
        "POST",
        &server.url("localhost", "/form"),
        None,
        Some(Rc::new(BytesBodyProducer::new(&b"a=1&b=2"[..]))),
    );
    assert_eq!(text(&reactor, post).unwrap().1, "POST /form a=1&b=2");
    let (_, body) = get(&reactor, &agent, &server.url("localhost", "/third")).unwrap();
    assert_eq!(body, "GET /third ");
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

#[test]
fn new_connections_resume_the_tls_session() {
    let ca = TestCA::new("test CA");
    let server = serve(ca.issue(&["localhost"]).server_config());
    let reactor = Reactor::new();
    let agent = agent_trusting(&reactor, &ca, false);
    for i in 0..3 {
        let (code, _) = get(&reactor, &agent, &server.url("localhost", &format!("/{i}"))).unwrap();
        assert_eq!(code, 200);
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 3);
    assert!(
        server.resumed.load(Ordering::SeqCst) >= 1,
        "no handshake resumed a session"
    );
}

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
fn pool_keeps_connections_of_different_policies_apart() {
    let ca = TestCA::new("test CA");
    let server = serve(ca.issue(&["localhost"]).server_config());
    let reactor = Reactor::new();
    let pool = HTTPConnectionPool::new(&reactor, true);
    let trusting = Agent::new(&reactor)
        .pool(pool.clone())
        .context_factory(BrowserLikePolicyForHTTPS::with_trust_root(ca.trust_root()));
    let url = server.url("localhost", "/");
    assert_eq!(get(&reactor, &trusting, &url).unwrap().0, 200);
    // A default agent on the same pool must verify for itself, not take the pooled connection.
    let default = Agent::new(&reactor).pool(pool.clone());
    let failure = get(&reactor, &default, &url).unwrap_err();
    assert_eq!(tls_error(&failure).kind(), TLSErrorKind::UnknownIssuer);
    // The trusting agent still reuses its own.
    assert_eq!(get(&reactor, &trusting, &url).unwrap().0, 200);
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
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

/// A proxy that forwards one byte at a time each way, so every read on the client's socket
/// returns a byte and then `WouldBlock`, at every step of the handshake.
fn one_byte_proxy(target: u16) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let Ok((client, _)) = listener.accept() else {
            return;
        };
        let server = TcpStream::connect(("127.0.0.1", target)).unwrap();
        for (mut from, mut to) in [
            (client.try_clone().unwrap(), server.try_clone().unwrap()),
            (server, client),
        ] {
            thread::spawn(move || {
                let _ = from.set_read_timeout(Some(Duration::from_secs(20)));
                to.set_nodelay(true).unwrap();
                let mut byte = [0u8; 1];
                while let Ok(1) = from.read(&mut byte) {
                    if to.write_all(&byte).is_err() {
                        break;
                    }
                    thread::sleep(Duration::from_micros(50));
                }
                let _ = to.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    port
}

#[test]
fn handshake_and_request_through_a_one_byte_proxy() {
    let ca = TestCA::new("test CA");
    let server = serve(ca.issue(&["localhost"]).server_config());
    let proxy = one_byte_proxy(server.port);
    let reactor = Reactor::new();
    let agent = agent_trusting(&reactor, &ca, false);
    let (code, body) = get(&reactor, &agent, &format!("https://localhost:{proxy}/slow")).unwrap();
    assert_eq!((code, body.as_str()), (200, "GET /slow "));
}

/// Counts how often it is asked, and asks the default policy.
struct Counting {
    inner: BrowserLikePolicyForHTTPS,
    asked: Rc<Cell<usize>>,
}

impl IPolicyForHTTPS for Counting {
    fn creator_for_netloc(
        &self,
        hostname: &str,
        port: u16,
    ) -> Result<Rc<dyn ITLSClientConnectionCreator>, Failure> {
        self.asked.set(self.asked.get() + 1);
        self.inner.creator_for_netloc(hostname, port)
    }
}

#[test]
fn hostname_caching_policy_asks_once_per_host() {
    let ca = TestCA::new("test CA");
    let server = serve(ca.issue(&["localhost", "127.0.0.1"]).server_config());
    let asked = Rc::new(Cell::new(0));
    let counting = Counting {
        inner: BrowserLikePolicyForHTTPS::with_trust_root(ca.trust_root()),
        asked: asked.clone(),
    };
    let reactor = Reactor::new();
    let agent =
        Agent::new(&reactor).context_factory(HostnameCachingHTTPSPolicy::new(Rc::new(counting), 1));
    for _ in 0..3 {
        assert_eq!(
            get(&reactor, &agent, &server.url("localhost", "/"))
                .unwrap()
                .0,
            200
        );
    }
    assert_eq!(asked.get(), 1);
    // A cache of one: another host evicts the first.
    assert_eq!(
        get(&reactor, &agent, &server.url("127.0.0.1", "/"))
            .unwrap()
            .0,
        200
    );
    assert_eq!(
        get(&reactor, &agent, &server.url("localhost", "/"))
            .unwrap()
            .0,
        200
    );
    assert_eq!(asked.get(), 3);
}

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

// ---------------------------------------------------------------------------------------------
// 100 MiB over HTTPS, paused now and then, with bounded memory.

/// Counts body bytes; pauses the transport for a few reactor turns every `pause_at` bytes.
struct BodyCounter {
    reactor: Reactor,
    pause_at: u64,
    transport: RefCell<Option<Rc<dyn reactor::interfaces::ITransport>>>,
    received: Cell<u64>,
    paused: Cell<bool>,
    pauses: Cell<usize>,
    received_while_paused: Cell<u64>,
    done: Deferred<()>,
    me: std::rc::Weak<BodyCounter>,
}

impl BodyCounter {
    fn resume_later(&self, turns: usize) {
        let Some(me) = self.me.upgrade() else { return };
        self.reactor.call_later(0.0, move || {
            if turns == 0 {
                me.paused.set(false);
                let t = me.transport.borrow().clone().unwrap();
                t.resume_producing();
            } else {
                me.resume_later(turns - 1);
            }
        });
    }
}

impl reactor::interfaces::IProtocol for BodyCounter {
    fn make_connection(&self, transport: Rc<dyn reactor::interfaces::ITransport>) {
        *self.transport.borrow_mut() = Some(transport);
    }
    fn data_received(&self, data: bytes::Bytes) {
        let before = self.received.get();
        self.received.set(before + data.len() as u64);
        if self.paused.get() {
            self.received_while_paused
                .set(self.received_while_paused.get() + data.len() as u64);
        }
        if before / self.pause_at != self.received.get() / self.pause_at && !self.paused.get() {
            self.paused.set(true);
            self.pauses.set(self.pauses.get() + 1);
            let t = self.transport.borrow().clone().unwrap();
            t.pause_producing();
            self.resume_later(5);
        }
    }
    fn connection_lost(&self, reason: Failure) {
        if reason.check::<treq::web::error::ResponseDone>() {
            let _ = self.done.callback(());
        } else {
            let _ = self.done.errback(reason);
        }
    }
}

/// Peak resident set size of the process, in bytes.
fn vm_hwm() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

#[test]
fn hundred_mebibyte_download_over_https_with_bounded_memory() {
    const SIZE: u64 = 100 * 1024 * 1024;
    let ca = TestCA::new("test CA");
    let server = serve(ca.issue(&["localhost"]).server_config());
    let reactor = Reactor::new();
    let agent = agent_trusting(&reactor, &ca, false);
    let counter = Rc::new_cyclic(|me| BodyCounter {
        reactor: reactor.clone(),
        pause_at: SIZE / 4,
        transport: RefCell::new(None),
        received: Cell::new(0),
        paused: Cell::new(false),
        pauses: Cell::new(0),
        received_while_paused: Cell::new(0),
        done: Deferred::new(),
        me: me.clone(),
    });
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let hwm_before = vm_hwm();
    let c = counter.clone();
    let d = agent
        .request(
            "GET",
            &server.url("localhost", &format!("/big?n={SIZE}")),
            None,
            None,
        )
        .add_callback(move |response: Response| {
            assert_eq!(response.length, Some(SIZE));
            response.deliver_body(c.clone()).unwrap();
            c.done.clone()
        });
    run(&reactor, d).unwrap();
    let grown = vm_hwm().saturating_sub(hwm_before);
    assert_eq!(counter.received.get(), SIZE);
    assert!(
        counter.pauses.get() >= 3,
        "paused {} times",
        counter.pauses.get()
    );
    // Pausing the TLS transport stops reading below: little more than one read's worth
    // (decrypted) arrives while paused.
    assert!(
        counter.received_while_paused.get() <= 128 * 1024,
        "{} bytes arrived while paused",
        counter.received_while_paused.get()
    );
    assert!(grown < 48 * 1024 * 1024, "peak RSS grew by {grown} bytes");
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
