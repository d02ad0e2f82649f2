//! [`ForwardProxy`]: a small forward proxy for tests, on hyper 1.x and tokio (its own
//! thread), that records every request it receives.
//!
//! * An absolute-form request (`GET http://host:port/path HTTP/1.1`) is forwarded to the
//!   origin in origin-form on a new connection, without the hop-by-hop `Proxy-Authorization`
//!   and `Proxy-Connection` headers, and the origin's answer is relayed.
//! * `CONNECT host:port` opens a TCP connection to the target, answers 200 and relays bytes
//!   both ways until either side closes.
//! * With [`ProxyConfig::require_auth`], a request without that exact `Proxy-Authorization`
//!   gets `407` and a `Proxy-Authenticate` challenge; with [`ProxyConfig::refuse_connect`],
//!   every `CONNECT` gets `403`.

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How the proxy behaves.
#[derive(Clone, Default)]
pub struct ProxyConfig {
    /// The `Proxy-Authorization` value every request must carry, else 407.
    pub require_auth: Option<String>,
    /// Answer every `CONNECT` with 403.
    pub refuse_connect: bool,
    /// Listen on IPv6 loopback, `[::1]`, instead of 127.0.0.1.
    pub ipv6: bool,
}

/// One request the proxy received, as it arrived.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The method.
    pub method: String,
    /// The request target as sent: absolute-form, or `host:port` for `CONNECT`.
    pub target: String,
    /// The headers, names lowercase, in order.
    pub headers: Vec<(String, String)>,
}

impl Seen {
    /// The request line, `METHOD target HTTP/1.1`.
    pub fn line(&self) -> String {
        format!("{} {} HTTP/1.1", self.method, self.target)
    }

    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Shared {
    config: ProxyConfig,
    seen: Mutex<Vec<Seen>>,
    connections: AtomicUsize,
}

/// A running forward proxy on 127.0.0.1 (or `[::1]`). Dropping it shuts it down.
pub struct ForwardProxy {
    port: u16,
    shared: Arc<Shared>,
    shutdown: Option<watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
}

type ProxyBody = BoxBody<Bytes, hyper::Error>;

impl ForwardProxy {
    /// A proxy that forwards and tunnels anything, without authentication.
    pub fn start() -> ForwardProxy {
        ForwardProxy::with_config(ProxyConfig::default())
    }

    /// A proxy configured by `config`.
    pub fn with_config(config: ProxyConfig) -> ForwardProxy {
        let shared = Arc::new(Shared {
            config,
            seen: Mutex::new(Vec::new()),
            connections: AtomicUsize::new(0),
        });
        let (shutdown, mut stop) = watch::channel(false);
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("forward-proxy".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a tokio runtime for the proxy");
                rt.block_on(async move {
                    let address = if thread_shared.config.ipv6 {
                        "[::1]:0"
                    } else {
                        "127.0.0.1:0"
                    };
                    let listener = TcpListener::bind(address).await.expect("bind");
                    let _ = port_tx.send(listener.local_addr().expect("address").port());
                    loop {
                        tokio::select! {
                            _ = stop.changed() => return,
                            accepted = listener.accept() => {
                                let Ok((stream, _)) = accepted else { continue };
                                thread_shared.connections.fetch_add(1, Ordering::SeqCst);
                                tokio::spawn(serve_connection(stream, thread_shared.clone()));
                            }
                        }
                    }
                });
            })
            .expect("the proxy thread");
        ForwardProxy {
            port: port_rx.recv().expect("the proxy's port"),
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// The proxy's port on 127.0.0.1 (or `[::1]` with [`ProxyConfig::ipv6`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Seen> {
        self.shared.seen.lock().expect("the proxy log").clone()
    }

    /// Client connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }
}

impl Drop for ForwardProxy {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(true);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let service = service_fn(move |req| handle(req, shared.clone()));
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades()
        .await;
}

fn full(status: StatusCode, body: &'static str) -> Response<ProxyBody> {
    let mut response = Response::new(
        Full::new(Bytes::from_static(body.as_bytes()))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = status;
    response
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<ProxyBody>, hyper::Error> {
    let seen = Seen {
        method: req.method().to_string(),
        target: req.uri().to_string(),
        headers: req
            .headers()
            .iter()
            .map(|(n, v)| {
                let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                (n.as_str().to_owned(), value)
            })
            .collect(),
    };
    let authorized = match &shared.config.require_auth {
        None => true,
        Some(expected) => seen.header("proxy-authorization") == Some(expected.as_str()),
    };
    shared.seen.lock().expect("the proxy log").push(seen);
    if !authorized {
        let mut response = full(StatusCode::PROXY_AUTHENTICATION_REQUIRED, "");
        response.headers_mut().insert(
            "proxy-authenticate",
            "Basic realm=\"treq test proxy\""
                .parse()
                .expect("a header value"),
        );
        return Ok(response);
    }
    if req.method() == Method::CONNECT {
        return Ok(tunnel(req, &shared.config).await);
    }
    forward(req).await
}

/// `CONNECT`: reach the target, answer 200, then relay bytes.
async fn tunnel(req: Request<Incoming>, config: &ProxyConfig) -> Response<ProxyBody> {
    if config.refuse_connect {
        return full(StatusCode::FORBIDDEN, "tunnels are not allowed here\n");
    }
    let Some(authority) = req.uri().authority().map(|a| a.to_string()) else {
        return full(StatusCode::BAD_REQUEST, "CONNECT needs host:port\n");
    };
    let Ok(mut target) = TcpStream::connect(authority).await else {
        return full(StatusCode::BAD_GATEWAY, "cannot reach the target\n");
    };
    tokio::spawn(async move {
        if let Ok(upgraded) = hyper::upgrade::on(req).await {
            let mut client = TokioIo::new(upgraded);
            let _ = tokio::io::copy_bidirectional(&mut client, &mut target).await;
        }
    });
    full(StatusCode::OK, "")
}

/// An absolute-form request: send it to the origin in origin-form and relay the answer.
async fn forward(req: Request<Incoming>) -> Result<Response<ProxyBody>, hyper::Error> {
    let (Some(_), Some(authority)) = (req.uri().scheme(), req.uri().authority().cloned()) else {
        return Ok(full(
            StatusCode::BAD_REQUEST,
            "not an absolute-form request\n",
        ));
    };
    let address = match authority.port_u16() {
        Some(_) => authority.to_string(),
        None => format!("{}:80", authority.host()),
    };
    let Ok(origin) = TcpStream::connect(address).await else {
        return Ok(full(StatusCode::BAD_GATEWAY, "cannot reach the origin\n"));
    };
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(origin)).await?;
    tokio::spawn(connection);
    let (mut parts, body) = req.into_parts();
    parts.uri = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .parse()
        .expect("an origin-form target");
    parts.headers.remove("proxy-authorization");
    parts.headers.remove("proxy-connection");
    let response = sender
        .send_request(Request::from_parts(parts, body))
        .await?;
    Ok(response.map(|body| body.boxed()))
}
