//! The spec's "Connection Pool Configuration" example, ported: a tuned pool made global with
//! `set_global_pool`, then module-level `treq::get` requests that all use it.
//!
//! ```python
//! pool = HTTPConnectionPool(reactor, persistent=True, maxPersistentPerHost=10,
//!                           cachedConnectionTimeout=240, retryAutomatically=True)
//! set_global_pool(pool)
//!
//! @defer.inlineCallbacks
//! def use_configured_pool():
//!     response = yield treq.get('https://httpbin.org/get')
//! ```
//!
//! Runs offline against a local stand-in for httpbin: `cargo run --example global_pool`.

mod support;

use reactor::defer::{ensure_deferred, Failure};
use reactor::Reactor;
use treq::client::{get_global_pool, set_global_pool};
use treq::web::client::HTTPConnectionPool;

fn main() {
    let reactor = Reactor::default();
    let bin = support::LocalBin::start(&reactor);

    // Configure global connection pool
    let pool = HTTPConnectionPool::new(&reactor, true)
        .max_persistent_per_host(10)
        .cached_connection_timeout(240.0)
        .retry_automatically(true);
    set_global_pool(pool.clone());

    // Now all treq requests will use this pool
    let use_configured_pool = ensure_deferred(async move {
        for i in 0..3 {
            let response = treq::get(bin.url("/get"))
                .params([("i", i.to_string())])
                .await?;
            let data: serde_json::Value = response.json().await?;
            println!("{} {}", response.code(), data["url"]);
        }
        let key = (
            "http".to_owned(),
            "127.0.0.1".to_owned(),
            port_of(&bin.url("/")),
        );
        println!(
            "idle connections kept by the global pool: {}",
            pool.idle_count(&key)
        );
        if pool.idle_count(&key) != 1 || get_global_pool().is_none() {
            return Err(Failure::new(std::io::Error::other(
                "the global pool was not used",
            )));
        }
        Ok(())
    });
    support::run_to_completion(&reactor, use_configured_pool);
}

fn port_of(url: &str) -> u16 {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.port())
        .unwrap_or(80)
}
