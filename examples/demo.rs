//! The library at work, offline: an HTTP server and the HTTP/1.1 `Agent` on one single-threaded
//! reactor, in both of treq's styles — Deferred callback chains and `async` blocks.
//!
//! Run with `cargo run --example demo`. It starts a small `Site` on 127.0.0.1, then:
//! a GET with a query string (callback style), a POST with a body, and a burst of sequential
//! GETs over one persistent pooled connection (async style), with timings.

use bytes::Bytes;
use reactor::defer::{ensure_deferred, gather_results, Failure};
use reactor::Reactor;
use std::rc::Rc;
use std::time::Instant;
use treq::web::client::{read_body, Agent, BytesBodyProducer, HTTPConnectionPool};
use treq::web::iweb::IAgent;
use treq::web::resource::{Data, FnResource, RenderResult, ResourceTree};
use treq::web::server::Site;

/// The local site: `/hello`, and `/echo` which answers with what it was sent.
fn site() -> Site {
    let root = Rc::new(ResourceTree::new());
    root.put_child(
        "hello",
        Rc::new(Data::new("hello from the reactor\n", "text/plain")),
    );
    root.put_child(
        "echo",
        Rc::new(FnResource::new(|request| {
            let name = request
                .arg("name")
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default();
            let body = format!(
                "{} {} name={name:?} body={:?}\n",
                String::from_utf8_lossy(request.method()),
                String::from_utf8_lossy(request.path()),
                String::from_utf8_lossy(request.content()),
            );
            RenderResult::Body(Bytes::from(body))
        })),
    );
    Site::new(root)
}

fn main() {
    let reactor = Reactor::default(); // from twisted.internet import reactor
    let port = reactor
        .listen_tcp(0, Rc::new(site()), "127.0.0.1")
        .expect("listen on 127.0.0.1");
    let base = format!("http://127.0.0.1:{}", port.get_host().port());
    println!("serving on {base}");

    let pool = HTTPConnectionPool::new(&reactor, true); // persistent=True
    let agent = Rc::new(Agent::new(&reactor).pool(pool));

    // Callback style: agent.request(...).addCallback(readBody).addCallback(print)
    let started = Instant::now();
    let get = agent
        .request("GET", &format!("{base}/echo?name=twisted"), None, None)
        .add_callback(|response| {
            println!(
                "GET /echo -> {} {}",
                response.code,
                String::from_utf8_lossy(&response.phrase)
            );
            read_body(&response)
        })
        .add_callback(move |body| {
            print!("  body: {}", String::from_utf8_lossy(&body));
            println!("  ({:.2} ms)", started.elapsed().as_secs_f64() * 1e3);
        });

    // async style (inlineCallbacks / ensureDeferred).
    let (a, url) = (agent.clone(), base.clone());
    let flow = ensure_deferred(async move {
        let body = Rc::new(BytesBodyProducer::new("x=1&y=2"));
        let response = a
            .request("POST", &format!("{url}/echo"), None, Some(body))
            .await?;
        print!(
            "POST /echo -> {}: {}",
            response.code,
            String::from_utf8_lossy(&read_body(&response).await?)
        );

        let n = 1000;
        let t = Instant::now();
        let mut bytes = 0;
        for _ in 0..n {
            let response = a
                .request("GET", &format!("{url}/hello"), None, None)
                .await?;
            bytes += read_body(&response).await?.len();
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{n} sequential GETs over one pooled connection: {bytes} bytes in {:.1} ms ({:.0} req/s, client and server on one thread)",
            secs * 1e3,
            n as f64 / secs
        );
        Ok::<_, Failure>(())
    });

    let ok = Rc::new(std::cell::Cell::new(false));
    let r = reactor.clone();
    let guard = reactor.call_later(30.0, move || {
        eprintln!("demo took too long; stopping");
        let _ = r.stop();
    });
    let (r, done) = (reactor.clone(), ok.clone());
    gather_results(vec![get, flow], true).add_both(move |result| {
        match result {
            Ok(_) => done.set(true),
            Err(failure) => eprintln!("demo failed: {failure}"),
        }
        let _ = guard.cancel();
        let _ = r.stop();
    });
    reactor.run().expect("reactor runs");
    if !ok.get() {
        std::process::exit(1);
    }
}
