//! The spec's "Custom SSL context" example, ported: a user policy that starts from the default
//! `BrowserLikePolicyForHTTPS` and adjusts its rustls `ClientConfig`.
//!
//! ```python
//! class CustomContextFactory(ClientContextFactory):
//!     def getContext(self, hostname, port):
//!         context = ClientContextFactory.getContext(self, hostname, port)
//!         # Configure SSL context as needed
//!         return context
//!
//! agent = Agent(reactor, contextFactory=CustomContextFactory(),
//!               pool=HTTPConnectionPool(reactor, persistent=True), connectTimeout=30)
//! client = HTTPClient(agent)
//!
//! @defer.inlineCallbacks
//! def secure_request():
//!     response = yield client.get('https://secure-api.example.com/data')
//!     data = yield response.json()
//! ```
//!
//! Runs offline: it makes a CA for the run, serves HTTPS on 127.0.0.1 with this crate's own TLS
//! server (a `Site` behind `TLSMemoryBIOFactory`), and requests from it twice over one pooled
//! connection. Exits non-zero on failure. `cargo run --example custom_tls_policy`.

mod support;
#[path = "../tests/tlsutil/mod.rs"]
mod tlsutil;

use bytes::Bytes;
use reactor::defer::{ensure_deferred, Failure};
use reactor::tls::rustls::ClientConfig;
use reactor::tls::{ClientTLSOptions, ITLSClientConnectionCreator, TLSMemoryBIOFactory};
use reactor::Reactor;
use std::rc::Rc;
use std::sync::Arc;
use treq::client::HTTPClient;
use treq::web::client::{Agent, BrowserLikePolicyForHTTPS, HTTPConnectionPool, IPolicyForHTTPS};
use treq::web::resource::{FnResource, RenderResult, ResourceTree};
use treq::web::server::Site;

/// `CustomContextFactory`: the default policy's configuration, adjusted once (so every
/// connection shares it, and TLS sessions resume).
struct CustomContextFactory {
    config: Arc<ClientConfig>,
}

impl CustomContextFactory {
    fn new(base: &BrowserLikePolicyForHTTPS) -> Result<CustomContextFactory, Failure> {
        let mut config = (*base.client_config()?).clone();
        // Configure TLS as needed: small records, ALPN for HTTP/1.1 only.
        config.max_fragment_size = Some(4096);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(CustomContextFactory {
            config: Arc::new(config),
        })
    }
}

impl IPolicyForHTTPS for CustomContextFactory {
    fn creator_for_netloc(
        &self,
        hostname: &str,
        _port: u16,
    ) -> Result<Rc<dyn ITLSClientConnectionCreator>, Failure> {
        let options = ClientTLSOptions::new(self.config.clone(), hostname).map_err(Failure::new)?;
        Ok(Rc::new(options))
    }
}

fn site() -> Site {
    let root = Rc::new(ResourceTree::new());
    root.put_child(
        "data",
        Rc::new(FnResource::new(|request| {
            let text = format!(
                "secure data for {}\n",
                String::from_utf8_lossy(request.path())
            );
            RenderResult::Body(Bytes::from(text))
        })),
    );
    Site::new(root)
}

fn main() {
    let reactor = Reactor::default();

    // The local HTTPS server, with a certificate from a CA made for this run.
    let ca = tlsutil::TestCA::new("example CA");
    let server_config = ca.issue(&["localhost"]).server_config();
    let factory = TLSMemoryBIOFactory::server(server_config, Rc::new(site()));
    let port = reactor
        .listen_tcp(0, Rc::new(factory), "127.0.0.1")
        .expect("listen on 127.0.0.1");
    let url = format!("https://localhost:{}/data", port.get_host().port());

    // A real program would start from BrowserLikePolicyForHTTPS::new() (the public roots);
    // here the run's own CA is the root.
    let base = BrowserLikePolicyForHTTPS::with_trust_root(ca.trust_root());
    let policy = match CustomContextFactory::new(&base) {
        Ok(policy) => policy,
        Err(failure) => {
            eprintln!("cannot build the TLS policy: {failure}");
            std::process::exit(1);
        }
    };
    let agent = Agent::new(&reactor)
        .context_factory(policy)
        .pool(HTTPConnectionPool::new(&reactor, true))
        .connect_timeout(30.0);

    let client = HTTPClient::new(agent);

    let secure_request = ensure_deferred(async move {
        for _ in 0..2 {
            let response = client.get(&url).await?;
            let data = response.text(None).await?;
            print!("{} {}", response.code(), data);
            if response.code() != 200 {
                return Err(Failure::new(std::io::Error::other("unexpected status")));
            }
        }
        Ok::<_, Failure>(())
    });
    support::run_to_completion(&reactor, secure_request);
}
