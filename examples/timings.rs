//! Where the time of a request went, as `curl -w` reports it: `Response::timings()` after the
//! body has been read. The first request opens a connection (name lookup, connect); the second
//! reuses it from the pool, so only the transfer is left.
//!
//! Runs offline against a server it starts itself on 127.0.0.1 (this crate's `Site`), reached
//! as `localhost` so that there is a name to look up. Exits non-zero on failure.
//! `cargo run --example timings`.

mod support;

use bytes::Bytes;
use reactor::defer::{ensure_deferred, Failure};
use reactor::Reactor;
use std::rc::Rc;
use treq::client::HTTPClient;
use treq::web::client::{Agent, HTTPConnectionPool};
use treq::web::resource::{FnResource, RenderResult};
use treq::web::server::Site;
use treq::web::timings::RequestTimings;

fn report(url: &str, t: &RequestTimings) {
    let ms = |v: Option<f64>| v.map_or("-".to_owned(), |s| format!("{:.3} ms", s * 1e3));
    println!("{url}");
    println!("  reused connection  {}", t.reused());
    println!("  time_namelookup    {}", ms(t.time_namelookup()));
    println!("  time_connect       {}", ms(t.time_connect()));
    println!("  time_appconnect    {}", ms(t.time_appconnect()));
    println!("  time_starttransfer {}", ms(t.time_starttransfer()));
    println!("  time_total         {}", ms(t.time_total()));
}

fn main() {
    let reactor = Reactor::default();
    let site = Site::new(Rc::new(FnResource::new(|_request| {
        RenderResult::Body(Bytes::from_static(b"hello\n"))
    })));
    let port = reactor
        .listen_tcp(0, Rc::new(site), "127.0.0.1")
        .expect("listen on 127.0.0.1")
        .get_host()
        .port();
    let pool = HTTPConnectionPool::new(&reactor, true);
    let client = HTTPClient::new(Agent::new(&reactor).pool(pool));

    let work = ensure_deferred(async move {
        let mut seen = Vec::new();
        for path in ["/first", "/second"] {
            let url = format!("http://localhost:{port}{path}");
            let response = client.get(&url).timeout(10.0).await?;
            response.content().await?; // the total is known once the body has been read
            let timings = response.timings();
            report(&url, &timings);
            seen.push(timings);
        }
        let (first, second) = (seen[0], seen[1]);
        if first.reused() || first.time_connect().is_none() || first.time_total().is_none() {
            return Err(Failure::new(std::io::Error::other(format!(
                "the first request: {first}"
            ))));
        }
        if !second.reused() || second.time_connect().is_some() {
            return Err(Failure::new(std::io::Error::other(format!(
                "the second request: {second}"
            ))));
        }
        Ok::<_, Failure>(())
    });
    support::run_to_completion(&reactor, work);
}
