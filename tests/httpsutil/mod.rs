//! The HTTPS test server (hyper 1.x over tokio-rustls on its own thread) and client helpers,
//! shared by `tests/https.rs` and `tests/https_pool.rs`.
#![allow(dead_code)]

use crate::tlsutil::TestCA;
use hyper::body::{Body, Bytes as HBytes, Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use reactor::defer::{Deferred, Failure};
use reactor::tls::rustls::{HandshakeKind, ServerConfig};
use reactor::tls::TLSError;
use reactor::Reactor;
use std::cell::RefCell;
use std::convert::Infallible;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread;
use treq::web::client::{read_body, Agent, BrowserLikePolicyForHTTPS, HTTPConnectionPool};
use treq::web::error::{RequestTransmissionFailed, ResponseFailed, ResponseNeverReceived};
use treq::web::iweb::IAgent;
use treq::web::response::Response;

// ---------------------------------------------------------------------------------------------
// The TLS server.

pub struct Server {
    pub port: u16,
    /// TCP connections accepted.
    pub connections: Arc<AtomicUsize>,
    /// Handshakes that resumed an earlier session.
    pub resumed: Arc<AtomicUsize>,
}

impl Server {
    pub fn url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.port)
    }
}

/// A response body: all at once, or `remaining` bytes generated in 64 KiB frames.
pub enum Out {
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
pub async fn echo(req: hyper::Request<Incoming>) -> Result<hyper::Response<Out>, Infallible> {
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

pub fn serve(config: Arc<ServerConfig>) -> Server {
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
pub fn run<T: 'static>(reactor: &Reactor, d: Deferred<T>) -> Result<T, Failure> {
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

pub fn text(reactor: &Reactor, d: Deferred<Response>) -> Result<(u16, String), Failure> {
    let d = d.add_callback(|response: Response| {
        let code = response.code;
        read_body(&response)
            .add_callback(move |body| (code, String::from_utf8_lossy(&body).into_owned()))
    });
    run(reactor, d)
}

pub fn get(reactor: &Reactor, agent: &Agent, url: &str) -> Result<(u16, String), Failure> {
    text(reactor, agent.request("GET", url, None, None))
}

/// The TLS error inside a request's failure (`ResponseNeverReceived`, `ResponseFailed` or
/// `RequestTransmissionFailed`, as Twisted delivers them).
pub fn tls_error(failure: &Failure) -> TLSError {
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

pub fn agent_trusting(reactor: &Reactor, ca: &TestCA, persistent: bool) -> Agent {
    Agent::new(reactor)
        .pool(HTTPConnectionPool::new(reactor, persistent))
        .context_factory(BrowserLikePolicyForHTTPS::with_trust_root(ca.trust_root()))
}
