//! A stale pooled connection retried under `max_connections_per_host`: the new connection
//! takes the stale one's place, so the limit holds at every connect and the retried request
//! keeps its turn ahead of the requests waiting behind it. Against a raw TCP server on
//! 127.0.0.1 that drops its first connection when a second request arrives on it.

mod support;

use reactor::defer::{gather_results, Deferred, Failure};
use reactor::endpoints::HostnameEndpoint;
use reactor::interfaces::{IProtocol, IStreamClientEndpoint};
use reactor::Reactor;
use std::cell::Cell;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use treq::web::client::{read_body, Agent, EndpointFactory, HTTPConnectionPool, PoolKey};
use treq::web::iweb::IAgent;
use treq::web::response::Response;

/// What the server saw: the request paths in arrival order, with the connection number, and
/// the most connections it had open at once.
#[derive(Default)]
struct Log {
    requests: Vec<(usize, String)>,
    open: usize,
    most_open: usize,
    accepted: usize,
}

/// A keep-alive server whose first connection answers one request and closes, unanswered, on
/// the next one (as a server whose idle timeout fired while the request was on its way).
fn stale_first_connection_server() -> (u16, Arc<Mutex<Log>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(Mutex::new(Log::default()));
    let l = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let id = {
                let mut log = l.lock().unwrap();
                log.accepted += 1;
                log.open += 1;
                log.most_open = log.most_open.max(log.open);
                log.accepted - 1
            };
            let l = l.clone();
            std::thread::spawn(move || serve_connection(id, stream, &l));
        }
    });
    (port, log)
}

fn serve_connection(id: usize, mut stream: TcpStream, log: &Mutex<Log>) {
    let mut buf = Vec::new();
    let mut answered = 0;
    let mut chunk = [0u8; 4096];
    'conn: loop {
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            buf.drain(..end + 4);
            let path = head.split(' ').nth(1).unwrap_or("").to_owned();
            log.lock().unwrap().requests.push((id, path.clone()));
            if id == 0 && answered == 1 {
                break 'conn;
            }
            let body = format!("answer to {path}");
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            if stream.write_all(reply.as_bytes()).is_err() {
                break 'conn;
            }
            answered += 1;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    // Counted closed before the peer can see it close.
    log.lock().unwrap().open -= 1;
    let _ = stream.shutdown(Shutdown::Both);
}

/// Connects with a [`HostnameEndpoint`], noting the most connections the pool counts for the
/// key at each connect (the one being opened included).
struct WatchedEndpoints {
    reactor: Reactor,
    pool: HTTPConnectionPool,
    key: PoolKey,
    most_counted: Rc<Cell<usize>>,
}

struct Watched {
    inner: HostnameEndpoint,
    pool: HTTPConnectionPool,
    key: PoolKey,
    most_counted: Rc<Cell<usize>>,
}

impl IStreamClientEndpoint for Watched {
    fn connect(&self, protocol: Rc<dyn IProtocol>) -> Deferred<()> {
        let counted = self.pool.open_count(&self.key);
        self.most_counted.set(self.most_counted.get().max(counted));
        self.inner.connect(protocol)
    }
}

impl EndpointFactory for WatchedEndpoints {
    fn endpoint_for_uri(
        &self,
        _scheme: &str,
        host: &str,
        port: u16,
    ) -> Result<Rc<dyn IStreamClientEndpoint>, Failure> {
        Ok(Rc::new(Watched {
            inner: HostnameEndpoint::new(&self.reactor, host, port).timeout(5.0),
            pool: self.pool.clone(),
            key: self.key.clone(),
            most_counted: self.most_counted.clone(),
        }))
    }
}

/// The body, and whether the request went out on a pooled connection by its timings.
fn get(agent: &Agent, url: String) -> Deferred<(String, bool)> {
    agent
        .request("GET", &url, None, None)
        .add_callback(|r: Response| {
            read_body(&r).add_callback(move |b| {
                (
                    String::from_utf8_lossy(&b).into_owned(),
                    r.timings().reused(),
                )
            })
        })
}

#[test]
fn a_retried_stale_connection_stays_within_the_limit_and_keeps_its_turn() {
    let (port, log) = stale_first_connection_server();
    let reactor = Reactor::new();
    let pool = HTTPConnectionPool::new(&reactor, true).max_connections_per_host(1);
    let key: PoolKey = ("http".into(), "127.0.0.1".into(), port);
    let most_counted = Rc::new(Cell::new(0));
    let factory = Rc::new(WatchedEndpoints {
        reactor: reactor.clone(),
        pool: pool.clone(),
        key: key.clone(),
        most_counted: most_counted.clone(),
    });
    let agent = Agent::using_endpoint_factory(&reactor, factory, pool.clone());
    let url = move |p: &str| format!("http://127.0.0.1:{port}{p}");
    let a = agent.clone();
    // Once /0 is answered its connection is idle; /1 takes it (and finds it stale), /2 and /3
    // wait for their turn under the limit of one.
    let d = get(&agent, url("/0")).add_callback(move |(first, _): (String, bool)| {
        assert_eq!(first, "answer to /0");
        let ds = ["/1", "/2", "/3"].map(|p| get(&a, url(p))).to_vec();
        gather_results(ds, true)
    });
    let bodies = support::run(&reactor, d, 10.0).unwrap();
    let expected = [
        ("answer to /1", false),
        ("answer to /2", true),
        ("answer to /3", true),
    ]
    .map(|(b, reused)| (b.to_owned(), reused));
    assert_eq!(
        bodies, expected,
        "/1's timings are those of the new connection it was retried on"
    );
    assert_eq!(
        most_counted.get(),
        1,
        "the pool counted more connections than the limit while connecting"
    );
    let log = log.lock().unwrap();
    let order: Vec<(usize, &str)> = log.requests.iter().map(|(c, p)| (*c, p.as_str())).collect();
    assert_eq!(
        order,
        [(0, "/0"), (0, "/1"), (1, "/1"), (1, "/2"), (1, "/3")],
        "the retry goes first, the waiting requests in their order, all on the new connection"
    );
    assert_eq!(log.accepted, 2);
    assert_eq!(
        log.most_open, 1,
        "the server never had two connections at once"
    );
    assert_eq!(pool.open_count(&key), 1);
    assert_eq!(pool.waiting_count(&key), 0);
}
