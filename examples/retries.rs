//! The spec's "Error Handling and Retries" example, ported: first as written (a loop with
//! exponential backoff), then with a `RetryAgent` under the client, and with the `retry=`
//! keyword, which need no loop.
//!
//! ```python
//! @defer.inlineCallbacks
//! def robust_client():
//!     client = HTTPClient(Agent(reactor))
//!     max_retries = 3
//!     for attempt in range(max_retries):
//!         try:
//!             response = yield client.get('https://unreliable-api.example.com/data')
//!             data = yield response.json()
//!             defer.returnValue(data)
//!         except ResponseFailed as e:
//!             if attempt == max_retries - 1:
//!                 raise
//!             print(f"Attempt {attempt + 1} failed, retrying...")
//!             yield defer.sleep(2 ** attempt)  # Exponential backoff
//! ```
//!
//! Runs offline against an unreliable API it serves itself on 127.0.0.1 (this crate's `Site`):
//! each of its paths answers `503 Service Unavailable` twice before giving its JSON. The waits
//! are a tenth of the original's, to keep the run short. Exits non-zero on failure.
//! `cargo run --example retries`.

mod support;

use bytes::Bytes;
use reactor::defer::{ensure_deferred, Failure};
use reactor::task::sleep;
use reactor::Reactor;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use treq::client::{HTTPClient, RetryPolicy};
use treq::web::client::{Agent, RetryAgent};
use treq::web::resource::{FnResource, RenderResult};
use treq::web::server::Site;

/// Every path fails twice with 503, then answers with JSON.
fn unreliable_api() -> Site {
    let attempts: RefCell<HashMap<Bytes, u32>> = RefCell::new(HashMap::new());
    Site::new(Rc::new(FnResource::new(move |request| {
        let n = {
            let mut attempts = attempts.borrow_mut();
            let n = attempts.entry(request.path().clone()).or_insert(0);
            *n += 1;
            *n
        };
        if n <= 2 {
            request.set_response_code(503);
            request.set_header("Retry-After", "0").ok();
            return RenderResult::Body(Bytes::from_static(b"busy, try again\n"));
        }
        request.set_header("Content-Type", "application/json").ok();
        RenderResult::Body(Bytes::from(format!(
            "{{\"path\": \"{}\", \"attempt\": {n}}}",
            String::from_utf8_lossy(request.path())
        )))
    })))
}

/// The loop, as the Python example has it. A 503 is not a `ResponseFailed` in treq, but its
/// body is not JSON either; here `fail_for_status` makes it a failure to retry.
async fn robust_client_loop(reactor: Reactor, url: String) -> Result<serde_json::Value, Failure> {
    let client = HTTPClient::new(Agent::new(&reactor));
    let max_retries = 3;
    for attempt in 0..max_retries {
        let outcome = async {
            let response = client.get(&url).await?.fail_for_status().await?;
            response.json::<serde_json::Value>().await
        };
        match outcome.await {
            Ok(data) => return Ok(data),
            Err(failure) if attempt == max_retries - 1 => return Err(failure),
            Err(failure) => {
                println!("Attempt {} failed ({failure}), retrying...", attempt + 1);
                sleep(&reactor, 0.1 * 2f64.powi(attempt)).await?; // exponential backoff
            }
        }
    }
    unreachable!("the loop returns on its last attempt")
}

/// The same with a `RetryAgent` under the client: every request it sends is retried.
async fn robust_client_agent(reactor: Reactor, url: String) -> Result<serde_json::Value, Failure> {
    let policy = RetryPolicy::new().max_retries(3).backoff_factor(0.1);
    let agent = RetryAgent::new(Rc::new(Agent::new(&reactor)), policy);
    let client = HTTPClient::new(agent);
    let response = client.get(&url).await?.fail_for_status().await?;
    response.json().await
}

/// The same with `retry=` on one request: backoff, jitter and `Retry-After` are the policy's business.
async fn robust_client_retry(reactor: Reactor, url: String) -> Result<serde_json::Value, Failure> {
    let client = HTTPClient::new(Agent::new(&reactor));
    let response = client
        .get(&url)
        .retry(RetryPolicy::new().max_retries(3).backoff_factor(0.1))
        .timeout(10.0)
        .await?
        .fail_for_status()
        .await?;
    response.json().await
}

fn main() {
    let reactor = Reactor::default();
    let port = reactor
        .listen_tcp(0, Rc::new(unreliable_api()), "127.0.0.1")
        .expect("listen on 127.0.0.1");
    let base = format!("http://127.0.0.1:{}", port.get_host().port());

    let rr = reactor.clone();
    let both = ensure_deferred(async move {
        let data = robust_client_loop(rr.clone(), format!("{base}/data-loop")).await?;
        println!("loop version: {data}");
        let data = robust_client_agent(rr.clone(), format!("{base}/data-agent")).await?;
        println!("RetryAgent version: {data}");
        if data["attempt"] != 3 {
            return Err(Failure::new(std::io::Error::other("expected 3 attempts")));
        }
        let data = robust_client_retry(rr, format!("{base}/data-retry")).await?;
        println!("retry= version: {data}");
        if data["attempt"] != 3 {
            return Err(Failure::new(std::io::Error::other("expected 3 attempts")));
        }
        Ok::<_, Failure>(())
    });
    support::run_to_completion(&reactor, both);
}
