//! HTTP over a Unix-domain socket (treq #202): an `Agent` over a `UnixSocketEndpointFactory`,
//! and treq's `HTTPClient` on it, against a hyper server on tokio's `UnixListener` in a
//! temporary directory.
#![cfg(unix)]

mod support;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response as HyperResponse};
use hyper_util::rt::TokioIo;
use reactor::defer::Deferred;
use reactor::error::ConnectError;
use reactor::Reactor;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use support::wait::run;
use tokio::net::UnixListener;
use tokio::sync::watch;
use treq::client::HTTPClient;
use treq::web::client::{
    read_body, Agent, BytesBodyProducer, EndpointFactory, HTTPConnectionPool,
    UnixSocketEndpointFactory,
};
use treq::web::error::SchemeNotSupported;
use treq::web::iweb::IAgent;
use treq::web::response::Response;

/// A hyper server on a Unix socket in a directory of its own, answering every request with
/// JSON of what it saw: method, target, `Host` and body. Dropping it stops it and removes
/// the directory.
struct UnixHttpServer {
    dir: PathBuf,
    path: PathBuf,
    connections: Arc<AtomicUsize>,
    shutdown: Option<watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
}

impl UnixHttpServer {
    fn start() -> UnixHttpServer {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("treq-unix-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("http.sock");
        let connections = Arc::new(AtomicUsize::new(0));
        let (shutdown, mut stop) = watch::channel(false);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (socket, counter) = (path.clone(), connections.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = UnixListener::bind(&socket).unwrap();
                let _ = ready_tx.send(());
                loop {
                    tokio::select! {
                        _ = stop.changed() => return,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            counter.fetch_add(1, Ordering::SeqCst);
                            tokio::spawn(async move {
                                let _ = hyper::server::conn::http1::Builder::new()
                                    .serve_connection(TokioIo::new(stream), service_fn(echo))
                                    .await;
                            });
                        }
                    }
                }
            });
        });
        ready_rx.recv().unwrap();
        UnixHttpServer {
            dir,
            path,
            connections,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    fn path(&self) -> &Path {
        &self.path
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for UnixHttpServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(true);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn echo(req: Request<Incoming>) -> Result<HyperResponse<Full<Bytes>>, Infallible> {
    let method = req.method().to_string();
    let target = req.uri().to_string();
    let host = req
        .headers()
        .get("host")
        .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned());
    let body = match req.into_body().collect().await {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes()).into_owned(),
        Err(_) => String::new(),
    };
    let v = json!({"method": method, "target": target, "host": host, "body": body});
    let mut response = HyperResponse::new(Full::new(Bytes::from(v.to_string())));
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    Ok(response)
}

fn unix_agent(reactor: &Reactor, path: &Path) -> Agent {
    let factory = UnixSocketEndpointFactory::new(reactor, path);
    Agent::using_endpoint_factory(
        reactor,
        Rc::new(factory),
        HTTPConnectionPool::new(reactor, true),
    )
}

fn json_response(reactor: &Reactor, d: Deferred<Response>) -> (u16, Value) {
    let d = d.add_callback(|response: Response| {
        read_body(&response).add_callback(move |body| (response.code, body))
    });
    let (code, body) = run(reactor, d, 10.0).unwrap();
    (code, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[test]
fn every_host_goes_to_the_socket_with_its_own_host_header() {
    let server = UnixHttpServer::start();
    let reactor = Reactor::new();
    let agent = unix_agent(&reactor, server.path());
    let get = |url: &str| json_response(&reactor, agent.request("GET", url, None, None));
    let (code, v) = get("http://docker/v1.45/containers/json?all=1");
    assert_eq!(code, 200);
    assert_eq!(v["method"], "GET");
    assert_eq!(v["target"], "/v1.45/containers/json?all=1");
    assert_eq!(v["host"], "docker");
    let (_, v) = get("http://docker/info");
    assert_eq!(v["target"], "/info");
    assert_eq!(server.connections(), 1, "the idle connection is reused");
    let body = Rc::new(BytesBodyProducer::new("over the socket"));
    let d = agent.request("POST", "http://api.local:8080/post", None, Some(body));
    let (_, v) = json_response(&reactor, d);
    assert_eq!(v["host"], "api.local:8080");
    assert_eq!(v["body"], "over the socket");
    assert_eq!(
        server.connections(),
        2,
        "another host:port, another pool key"
    );
    agent.get_pool().close_cached_connections();
}

#[test]
fn timings_over_the_socket_have_a_connect_and_no_name_lookup() {
    let server = UnixHttpServer::start();
    let reactor = Reactor::new();
    let agent = unix_agent(&reactor, server.path());
    let fetch = |url: &str| {
        let d = agent
            .request("GET", url, None, None)
            .add_callback(|r: Response| read_body(&r).add_callback(move |_| r.timings()));
        run(&reactor, d, 10.0).unwrap()
    };
    let first = fetch("http://docker/info");
    assert!(!first.reused());
    assert_eq!(first.time_namelookup(), None, "no name to look up: {first}");
    assert_eq!(first.time_appconnect(), None);
    let connect = first.time_connect().expect("the socket connected");
    let ttfb = first.time_to_first_byte().unwrap();
    assert!(
        0.0 <= connect && connect <= ttfb && ttfb <= first.total().unwrap(),
        "{first}"
    );
    let second = fetch("http://docker/info");
    assert!(second.reused(), "{second}");
    assert_eq!(second.time_connect(), None);
    assert!(second.total().is_some());
}

#[test]
fn treq_http_client_over_the_socket() {
    let server = UnixHttpServer::start();
    let reactor = Reactor::new();
    let client = HTTPClient::new(unix_agent(&reactor, server.path()));
    let d = client
        .post("http://localhost/things")
        .params([("q", "rust")])
        .json(&json!({"name": "treq"}))
        .timeout(5.0)
        .send()
        .add_callback(|response| response.json::<Value>());
    let v = run(&reactor, d, 10.0).unwrap();
    assert_eq!(v["method"], "POST");
    assert_eq!(v["target"], "/things?q=rust");
    let sent: Value = serde_json::from_str(v["body"].as_str().unwrap()).unwrap();
    assert_eq!(sent, json!({"name": "treq"}));
}

#[test]
fn https_is_refused_and_the_pool_key_names_the_socket() {
    let server = UnixHttpServer::start();
    let reactor = Reactor::new();
    let agent = unix_agent(&reactor, server.path());
    let failure = run(
        &reactor,
        agent.request("GET", "https://docker/", None, None),
        5.0,
    )
    .unwrap_err();
    let error = failure
        .value::<SchemeNotSupported>()
        .unwrap_or_else(|| panic!("{failure}"));
    assert_eq!(error.scheme, "https");
    assert_eq!(server.connections(), 0);
    let factory = UnixSocketEndpointFactory::new(&reactor, server.path());
    assert_eq!(factory.path(), server.path());
    assert_eq!(
        factory.pool_key_scheme("http"),
        Some(format!("http+unix:{}", server.path().display()))
    );
}

#[test]
fn a_missing_socket_fails_with_a_typed_connect_error() {
    let server = UnixHttpServer::start();
    let missing = server.path().with_file_name("missing.sock");
    let reactor = Reactor::new();
    let agent = unix_agent(&reactor, &missing);
    let failure = run(
        &reactor,
        agent.request("GET", "http://docker/", None, None),
        5.0,
    )
    .unwrap_err();
    match failure.value::<ConnectError>() {
        Some(ConnectError::UnixSocket { path, error }) => {
            assert_eq!(path, &missing);
            assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
        }
        _ => panic!("not a Unix socket connect error: {failure}"),
    }
}
