//! The library at work, offline: a local HTTP server and treq's client on one single-threaded
//! reactor, in both of treq's styles — Deferred callback chains and `async` blocks.
//!
//! Run with `cargo run --example demo`. It starts a small httpbin-like `Site` on 127.0.0.1,
//! then: a GET with params (callback style); then, in an `async` block, a POST with a JSON body,
//! cookies set across a redirect and sent back, a gzip response decoded, a streamed download
//! with a progress bar, and a burst of GETs over one pooled connection, with timings. It exits
//! non-zero if anything fails.

mod support;

use indicatif::{ProgressBar, ProgressStyle};
use reactor::defer::{ensure_deferred, Failure};
use reactor::Reactor;
use serde_json::{json, Value};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant;
use treq::client::HTTPClient;
use treq::response::Response;
use treq::web::client::{Agent, HTTPConnectionPool};

fn check(ok: bool, what: &str) -> Result<(), Failure> {
    if ok {
        Ok(())
    } else {
        Err(Failure::new(std::io::Error::other(format!(
            "unexpected: {what}"
        ))))
    }
}

fn main() {
    let reactor = Reactor::default(); // from twisted.internet import reactor
    let bin = support::LocalBin::start(&reactor);
    println!("serving on {}", bin.url("/"));

    let pool = HTTPConnectionPool::new(&reactor, true); // persistent=True
    let client = HTTPClient::new(Agent::new(&reactor).pool(pool));

    // Callback style: treq.get(url, params=...).addCallback(treq.json_content).addCallback(print)
    let started = Instant::now();
    let callbacks = client
        .get(bin.url("/get"))
        .params([("q", "twisted rust"), ("lang", "en")])
        .send()
        .add_callback(|response: Response| response.json::<Value>())
        .add_callback(move |data: Value| {
            println!(
                "GET  /get with params -> args {}  ({:.2} ms)",
                data["args"],
                started.elapsed().as_secs_f64() * 1e3
            );
            check(data["args"]["q"] == "twisted rust", "params")
        });

    // async style (inlineCallbacks / ensureDeferred).
    let (c, b) = (client.clone(), bin);
    let flow = callbacks.add_callback(move |()| {
        ensure_deferred(async move {
            let t = Instant::now();
            let response = c
                .post(b.url("/post"))
                .json(&json!({"name": "treq", "fast": true}))
                .await?;
            let echoed: Value = response.json().await?;
            println!(
                "POST /post json -> {} {}  ({:.2} ms)",
                response.code(),
                echoed["json"],
                t.elapsed().as_secs_f64() * 1e3
            );
            check(echoed["json"]["fast"] == true, "json echo")?;

            let t = Instant::now();
            let response = c.get(b.url("/cookies/set/flavour/oat")).await?;
            let cookies: Value = response.json().await?;
            println!(
                "GET  /cookies/set/flavour/oat -> redirected {} time(s), cookies {}  ({:.2} ms)",
                response.history().len(),
                cookies["cookies"],
                t.elapsed().as_secs_f64() * 1e3
            );
            check(
                cookies["cookies"]["flavour"] == "oat",
                "cookie across a redirect",
            )?;

            let response = c.get(b.url("/gzip")).await?;
            let gz: Value = response.json().await?;
            println!(
                "GET  /gzip -> gzipped={} (decoded; Accept-Encoding: {})",
                gz["gzipped"], gz["headers"]["Accept-Encoding"]
            );
            check(gz["gzipped"] == true, "gzip")?;

            let t = Instant::now();
            let size = 32 << 20;
            let response = c
                .get(b.url(&format!("/bytes/{size}")))
                .unbuffered(true)
                .await?;
            let bar = ProgressBar::new(response.length().unwrap_or(0));
            if let Ok(style) =
                ProgressStyle::with_template("download {bar:30} {bytes}/{total_bytes}")
            {
                bar.set_style(style);
            }
            let seen = Rc::new(Cell::new(0u64));
            let (s, progress) = (seen.clone(), bar.clone());
            response
                .collect(move |chunk| {
                    s.set(s.get() + chunk.len() as u64);
                    progress.inc(chunk.len() as u64);
                    Ok(())
                })
                .await?;
            bar.finish_and_clear();
            let secs = t.elapsed().as_secs_f64();
            println!(
                "download of {} MiB, streamed with collect: {:.1} ms ({:.0} MiB/s)",
                seen.get() >> 20,
                secs * 1e3,
                (seen.get() as f64 / (1 << 20) as f64) / secs
            );
            check(seen.get() == size, "download size")?;

            let n = 1000;
            let t = Instant::now();
            for _ in 0..n {
                let response = c.get(b.url("/get")).await?;
                response.content().await?;
            }
            let secs = t.elapsed().as_secs_f64();
            println!(
                "{n} sequential GETs over one pooled connection: {:.1} ms ({:.0} req/s)",
                secs * 1e3,
                n as f64 / secs
            );
            Ok(())
        })
    });
    support::run_to_completion(&reactor, flow);
    println!("all done");
}
