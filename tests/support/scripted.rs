//! A scripted hyper 1.x server on its own thread whose replies a plain function chooses,
//! counters of its connections, a log of what it saw, and bounded ways to turn the reactor.

use hyper::body::{Body, Bytes as HBytes, Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use reactor::Reactor;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query.
    pub target: String,
    /// Names lower-cased, as hyper gives them.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap()
    }

    /// The query parameter `name`, percent-decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        let query = self.target.split_once('?')?.1;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// A response body: all at once; or `head`, then `piece` `count` times, then `tail`, sent in
/// frames (chunked, since no length is announced); or `head` and then nothing, ever.
pub enum Out {
    Full(Option<HBytes>),
    Stall(Option<HBytes>),
    Repeat {
        head: Option<HBytes>,
        piece: HBytes,
        count: u64,
        tail: Option<HBytes>,
    },
}

impl Out {
    pub fn full(body: impl Into<HBytes>) -> Out {
        Out::Full(Some(body.into()))
    }
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
            Out::Stall(head) => match head.take() {
                Some(h) => Some(h),
                None => return Poll::Pending,
            },
            Out::Repeat {
                head,
                piece,
                count,
                tail,
            } => {
                if let Some(h) = head.take() {
                    Some(h)
                } else if *count > 0 {
                    *count -= 1;
                    Some(piece.clone())
                } else {
                    tail.take()
                }
            }
        };
        Poll::Ready(frame.map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Out::Full(b) => b.is_none(),
            Out::Stall(_) => false,
            Out::Repeat {
                head, count, tail, ..
            } => head.is_none() && *count == 0 && tail.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Out::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Out::Repeat { .. } | Out::Stall(_) => SizeHint::default(),
        }
    }
}

pub type Handler = fn(&Seen) -> hyper::Response<Out>;

/// A running server.
pub struct Server {
    pub port: u16,
    /// Connections accepted.
    pub connections: Arc<AtomicUsize>,
    /// Connections whose serving has ended (closed by either side).
    pub closed: Arc<AtomicUsize>,
    /// Every request, in order.
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    pub fn closed(&self) -> usize {
        self.closed.load(Ordering::SeqCst)
    }
}

/// Start a server on 127.0.0.1 (a free port) that answers with `handler`.
pub fn serve(handler: Handler) -> Server {
    let connections = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let (accepted, ended, log) = (connections.clone(), closed.clone(), seen.clone());
    thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                accepted.fetch_add(1, Ordering::SeqCst);
                let (ended, log) = (ended.clone(), log.clone());
                tokio::task::spawn(async move {
                    let service = service_fn(move |req| respond(req, handler, log.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                    ended.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
    });
    Server {
        port: rx.recv().unwrap(),
        connections,
        closed,
        seen,
    }
}

async fn respond(
    req: hyper::Request<Incoming>,
    handler: Handler,
    log: Arc<Mutex<Vec<Seen>>>,
) -> Result<hyper::Response<Out>, Infallible> {
    use http_body_util::BodyExt;
    let method = req.method().to_string();
    let target = req
        .uri()
        .path_and_query()
        .map_or("/".to_owned(), |p| p.to_string());
    let headers = req
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = req.into_body().collect().await.unwrap().to_bytes().to_vec();
    let seen = Seen {
        method,
        target,
        headers,
        body,
    };
    log.lock().unwrap().push(seen.clone());
    Ok(handler(&seen))
}

/// A reply with `code`, `headers` and `body`.
pub fn reply(code: u16, headers: &[(&str, &str)], body: Out) -> hyper::Response<Out> {
    let mut builder = hyper::Response::builder().status(code);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body).unwrap()
}

/// Run the reactor for `seconds` (to let the network move).
pub fn run_for(reactor: &Reactor, seconds: f64) {
    let stopper = reactor.clone();
    reactor.call_later(seconds, move || {
        let _ = stopper.stop();
    });
    reactor.run().unwrap();
}

/// Wait (at most `seconds`) until `check` holds, turning the reactor meanwhile.
pub fn wait_until(reactor: &Reactor, seconds: f64, check: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    while !check() {
        if start.elapsed() > Duration::from_secs_f64(seconds) {
            return false;
        }
        run_for(reactor, 0.01);
    }
    true
}
