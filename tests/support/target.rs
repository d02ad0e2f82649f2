//! [`Target`]: the httpbin a test talks to — the in-process [`HttpBin`] by default, or real
//! servers named by the environment (`.ci/run` starts Python's httpbin under gunicorn and
//! nginx in front of it):
//!
//! * `TREQ_INTEGRATION_BASE_URL`: the `http://host:port` of an httpbin. Setting it switches
//!   the in-process server off.
//! * `TREQ_INTEGRATION_HTTPS_URL`: the `https://host:port` of the same httpbin behind TLS.
//! * `TREQ_INTEGRATION_CA`: the path of a PEM file with the CA that signed its certificate.
//! * `TREQ_INTEGRATION_LARGE_PATH`: a path on both servers that serves a large file (nginx's
//!   static file), with `TREQ_INTEGRATION_LARGE_SIZE` its size in bytes.
//!
//! Without the HTTPS pair a real-server run skips the HTTPS cases (and says so).

use super::httpbin::HttpBin;
use reactor::tls::TrustRoot;

/// Which side of the server a case runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTPS, trusting the target's CA.
    Https,
}

/// The server a test talks to, and how to trust it.
pub struct Target {
    /// Keeps the in-process server running; `None` for real servers.
    pub local: Option<HttpBin>,
    /// `scheme://host:port`, without a trailing slash.
    pub base: String,
    /// The CA to trust for HTTPS, PEM.
    pub ca_pem: Vec<u8>,
    /// The large file's path and size.
    pub large: (String, usize),
}

/// The in-process server sends at most this much for `/bytes/{n}`; real httpbin caps
/// `/stream-bytes` at 100 KiB, so a real run uses nginx's static file instead.
const LOCAL_LARGE: usize = 8 * 1024 * 1024;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Target {
    /// The target for `scheme`, or `None` (after a note on stderr) when the environment
    /// names a real HTTP server but no HTTPS one.
    pub fn for_scheme(scheme: Scheme) -> Option<Target> {
        let Some(http_base) = var("TREQ_INTEGRATION_BASE_URL") else {
            return Some(Target::local(scheme));
        };
        let large = match (
            var("TREQ_INTEGRATION_LARGE_PATH"),
            var("TREQ_INTEGRATION_LARGE_SIZE").and_then(|s| s.parse().ok()),
        ) {
            (Some(path), Some(size)) => (path, size),
            _ => ("/stream-bytes/102400".to_owned(), 102_400),
        };
        let (base, ca_pem) = match scheme {
            Scheme::Http => (http_base, Vec::new()),
            Scheme::Https => {
                let (Some(base), Some(ca)) = (
                    var("TREQ_INTEGRATION_HTTPS_URL"),
                    var("TREQ_INTEGRATION_CA"),
                ) else {
                    eprintln!("skipped: TREQ_INTEGRATION_HTTPS_URL or TREQ_INTEGRATION_CA unset");
                    return None;
                };
                let pem = std::fs::read(&ca).unwrap_or_else(|e| panic!("reading {ca}: {e}"));
                (base, pem)
            }
        };
        Some(Target {
            local: None,
            base: base.trim_end_matches('/').to_owned(),
            ca_pem,
            large,
        })
    }

    fn local(scheme: Scheme) -> Target {
        let bin = HttpBin::start();
        let base = match scheme {
            Scheme::Http => bin.url(""),
            Scheme::Https => bin.https_url(""),
        };
        Target {
            ca_pem: bin.ca_pem().into_bytes(),
            base,
            large: (format!("/bytes/{LOCAL_LARGE}"), LOCAL_LARGE),
            local: Some(bin),
        }
    }

    /// Whether this is the in-process server (whose connections can be counted).
    pub fn is_local(&self) -> bool {
        self.local.is_some()
    }

    /// `base` followed by `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The CA as a trust root; for plain HTTP, the in-process CA or an empty root is never
    /// consulted, so any root will do.
    pub fn trust_root(&self) -> Option<TrustRoot> {
        if self.ca_pem.is_empty() {
            return None;
        }
        Some(TrustRoot::from_pem(&self.ca_pem).expect("the test CA parses"))
    }

    /// Connections the in-process server accepted, `None` for a real server.
    pub fn connections(&self) -> Option<usize> {
        self.local.as_ref().map(HttpBin::connections)
    }
}
