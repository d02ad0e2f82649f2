//! [`HttpBin`]: an httpbin-compatible server on 127.0.0.1, over HTTP and HTTPS.
//!
//! ```ignore
//! let bin = HttpBin::start();
//! let url = bin.url("/get");          // http://127.0.0.1:PORT/get
//! let secure = bin.https_url("/get"); // https://localhost:PORT/get, signed by bin.ca_der()
//! // ... requests ...
//! assert_eq!(bin.connections(), 1);    // every request went over one connection
//! ```
//!
//! The server runs on a current-thread tokio runtime on a thread of its own. Dropping the
//! [`HttpBin`] stops it and joins that thread.
//!
//! One file per route group: [`methods`] (`/get`, `/post`, `/anything`, ...), [`status`]
//! (`/status`, `/basic-auth`), [`redirects`], [`cookies`], [`encoding`] (`/gzip`, `/deflate`),
//! [`streams`] (`/delay`, `/stream`, `/bytes`, `/stream-bytes`, `/drip`). [`request`] reads a
//! request into an [`request::Exchange`], [`forms`] parses bodies, [`reply`] builds responses,
//! [`routes`] dispatches, [`tls`] makes the test CA.

pub mod cookies;
pub mod encoding;
pub mod forms;
pub mod methods;
pub mod redirects;
pub mod reply;
pub mod request;
pub mod routes;
pub mod status;
pub mod streams;
pub mod tls;

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Counters shared by the server thread and the [`HttpBin`] handle.
#[derive(Default)]
pub struct Counters {
    /// Requests answered.
    pub hits: AtomicUsize,
    /// Connections accepted, HTTP and HTTPS together.
    pub connections: AtomicUsize,
}

/// A running httpbin-compatible server. Dropping it shuts the server down.
pub struct HttpBin {
    http_port: u16,
    https_port: u16,
    ca: tls::TestCa,
    counters: Arc<Counters>,
    shutdown: Option<watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
}

impl HttpBin {
    /// Start a server on two free ports of 127.0.0.1 (one HTTP, one HTTPS).
    pub fn start() -> HttpBin {
        let ca = tls::TestCa::generate();
        let acceptor = tokio_rustls::TlsAcceptor::from(ca.server_config());
        let counters = Arc::new(Counters::default());
        let (shutdown, stop) = watch::channel(false);
        let (ports_tx, ports_rx) = std::sync::mpsc::channel();
        let thread_counters = counters.clone();
        let thread = std::thread::Builder::new()
            .name("httpbin".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a tokio runtime for httpbin");
                rt.block_on(serve(thread_counters, acceptor, stop, ports_tx));
            })
            .expect("the httpbin thread");
        let (http_port, https_port) = ports_rx.recv().expect("httpbin's ports");
        HttpBin {
            http_port,
            https_port,
            ca,
            counters,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// The port serving plain HTTP.
    pub fn port(&self) -> u16 {
        self.http_port
    }

    /// The port serving HTTPS.
    pub fn https_port(&self) -> u16 {
        self.https_port
    }

    /// `http://127.0.0.1:PORT` followed by `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.http_port, path)
    }

    /// `https://localhost:PORT` followed by `path`. The certificate names `localhost` and
    /// `127.0.0.1`, so `https://127.0.0.1:PORT` verifies too.
    pub fn https_url(&self, path: &str) -> String {
        format!("https://localhost:{}{}", self.https_port, path)
    }

    /// The test CA's certificate, PEM.
    pub fn ca_pem(&self) -> String {
        self.ca.ca_pem()
    }

    /// The test CA's certificate, DER.
    pub fn ca_der(&self) -> Vec<u8> {
        self.ca.ca_der()
    }

    /// Requests answered so far.
    pub fn hits(&self) -> usize {
        self.counters.hits.load(Ordering::SeqCst)
    }

    /// Connections accepted so far (HTTP and HTTPS): for pool-reuse assertions.
    pub fn connections(&self) -> usize {
        self.counters.connections.load(Ordering::SeqCst)
    }
}

impl Drop for HttpBin {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(true);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The server's whole life: bind both listeners, report the ports, accept until shutdown.
async fn serve(
    counters: Arc<Counters>,
    acceptor: tokio_rustls::TlsAcceptor,
    mut stop: watch::Receiver<bool>,
    ports: std::sync::mpsc::Sender<(u16, u16)>,
) {
    let http = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
    let https = TcpListener::bind("127.0.0.1:0").await.expect("bind https");
    let port = |l: &TcpListener| l.local_addr().expect("local address").port();
    let _ = ports.send((port(&http), port(&https)));
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            accepted = http.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                counters.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve_connection(stream, peer, "http", counters.clone()));
            }
            accepted = https.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                counters.connections.fetch_add(1, Ordering::SeqCst);
                let acceptor = acceptor.clone();
                let counters = counters.clone();
                tokio::spawn(async move {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        serve_connection(stream, peer, "https", counters).await;
                    }
                });
            }
        }
    }
}

/// Serve HTTP/1.1 on one connection until the client closes it.
async fn serve_connection<S>(
    stream: S,
    peer: SocketAddr,
    scheme: &'static str,
    counters: Arc<Counters>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| {
        counters.hits.fetch_add(1, Ordering::SeqCst);
        routes::handle(req, peer, scheme)
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}
