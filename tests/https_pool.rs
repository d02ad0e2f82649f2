//! HTTPS connections through the Agent's pool: reuse, session resumption, pool keys per
//! policy, the caching policy, a one-byte-at-a-time proxy, and 100 MiB with bounded memory.
//! Against hyper 1.x over tokio-rustls; real sockets on 127.0.0.1 only.

#[path = "httpsutil/mod.rs"]
mod httpsutil;
#[path = "tlsutil/mod.rs"]
mod tlsutil;

use httpsutil::{agent_trusting, get, run, serve, text, tls_error};
use reactor::defer::{Deferred, Failure};
use reactor::tls::{ITLSClientConnectionCreator, TLSErrorKind};
use reactor::Reactor;
use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::Duration;
use tlsutil::TestCA;
use treq::web::client::{
    Agent, BrowserLikePolicyForHTTPS, BytesBodyProducer, HTTPConnectionPool,
    HostnameCachingHTTPSPolicy, IPolicyForHTTPS,
};
use treq::web::iweb::IAgent;
use treq::web::response::Response;

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
