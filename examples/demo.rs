//! The reactor doing its job, offline: a TCP server and client on one single-threaded loop,
//! Deferred callback chains, and an `async` block awaiting Deferreds.
//!
//! Run with `cargo run --example demo`. (The HTTP client demo joins this file as the
//! `treq` layer lands.)

use bytes::Bytes;
use reactor::defer::{ensure_deferred, Deferred, Failure};
use reactor::endpoints::HostnameEndpoint;
use reactor::interfaces::{IProtocol, IStreamClientEndpoint, ITransport};
use reactor::task::sleep;
use reactor::Reactor;
use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

/// Server side: upper-cases every line it receives.
struct Shout {
    transport: RefCell<Option<Rc<dyn ITransport>>>,
}

impl IProtocol for Shout {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        *self.transport.borrow_mut() = Some(transport);
    }
    fn data_received(&self, data: Bytes) {
        if let Some(t) = self.transport.borrow().as_ref() {
            t.write(data.to_ascii_uppercase().as_slice());
        }
    }
    fn connection_lost(&self, _reason: Failure) {}
}

/// Client side: sends one line and fires a Deferred with the reply.
struct Ask {
    question: &'static str,
    transport: RefCell<Option<Rc<dyn ITransport>>>,
    answer: Deferred<String>,
}

impl IProtocol for Ask {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        transport.write(self.question.as_bytes());
        *self.transport.borrow_mut() = Some(transport);
    }
    fn data_received(&self, data: Bytes) {
        let _ = self
            .answer
            .callback(String::from_utf8_lossy(&data).into_owned());
        if let Some(t) = self.transport.borrow().as_ref() {
            t.lose_connection();
        }
    }
    fn connection_lost(&self, _reason: Failure) {}
}

fn ask(reactor: &Reactor, port: u16, question: &'static str) -> Deferred<String> {
    let answer = Deferred::new();
    let protocol = Rc::new(Ask {
        question,
        transport: RefCell::new(None),
        answer: answer.clone(),
    });
    let endpoint = HostnameEndpoint::new(reactor, "localhost", port).timeout(5.0);
    endpoint.connect(protocol).add_callback(move |()| answer)
}

fn main() {
    let started = Instant::now();
    let reactor = Reactor::default(); // from twisted.internet import reactor
    let factory = |_addr: SocketAddr| -> Rc<dyn IProtocol> {
        Rc::new(Shout {
            transport: RefCell::new(None),
        })
    };
    let port = reactor
        .listen_tcp(0, Rc::new(factory), "127.0.0.1")
        .expect("listen on 127.0.0.1");
    let port_number = port.get_host().port();
    println!("server listening on {}", port.get_host());

    // Callback style: a chain of typed callbacks.
    let chained = ask(&reactor, port_number, "hello, reactor\n")
        .add_callback(|reply| {
            print!("callback chain got: {reply}");
            reply.len()
        })
        .add_callback(|n| println!("  ({n} bytes)"));

    // inlineCallbacks style: an async block awaiting Deferreds on the same loop.
    let r = reactor.clone();
    let awaited = ensure_deferred(async move {
        sleep(&r, 0.05).await?;
        let a = ask(&r, port_number, "first\n").await?;
        let b = ask(&r, port_number, "second\n").await?;
        print!("async block got: {a}                 and: {b}");
        Ok::<_, Failure>(())
    });

    let r = reactor.clone();
    let guard = reactor.call_later(10.0, move || {
        eprintln!("demo took too long; stopping");
        let _ = r.stop();
    });
    let r = reactor.clone();
    reactor::defer::gather_results(vec![chained, awaited], true).add_both(move |result| {
        if let Err(failure) = result {
            eprintln!("demo failed: {failure}");
        }
        let _ = guard.cancel();
        let _ = r.stop();
    });
    reactor.run().expect("reactor runs");
    println!("done in {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
}
