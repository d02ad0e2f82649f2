//! Name resolution off the reactor thread: `getaddrinfo` in the thread pool.

use crate::defer::Deferred;
use crate::error::DNSLookupError;
use crate::interfaces::IResolver;
use crate::Reactor;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

/// A host name in the form `getaddrinfo` takes: IP literals as they are (brackets removed),
/// names converted to ASCII with IDNA (`bücher.example` → `xn--bcher-kva.example`).
pub fn host_to_ascii(host: &str) -> Result<String, DNSLookupError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<IpAddr>().is_ok() {
        return Ok(bare.to_string());
    }
    if host.is_ascii() {
        return Ok(host.to_ascii_lowercase());
    }
    idna::domain_to_ascii(host).map_err(|e| DNSLookupError {
        name: host.to_string(),
        message: format!("not a valid international domain name: {e:?}"),
    })
}

impl Reactor {
    /// The IP addresses of `name` (Twisted's `reactor.resolve`), looked up in the thread pool;
    /// an IP literal resolves at once.
    pub fn resolve(&self, name: &str) -> Deferred<Vec<IpAddr>> {
        self.resolve_host_name(name, 0)
            .add_callback(|addrs: Vec<SocketAddr>| Ok(addrs.iter().map(|a| a.ip()).collect()))
    }
}

impl IResolver for Reactor {
    fn resolve_host_name(&self, host: &str, port: u16) -> Deferred<Vec<SocketAddr>> {
        let ascii = match host_to_ascii(host) {
            Ok(ascii) => ascii,
            Err(error) => return Deferred::fail(error),
        };
        if let Ok(ip) = ascii.parse::<IpAddr>() {
            return Deferred::succeed(vec![SocketAddr::new(ip, port)]);
        }
        let name = host.to_string();
        self.defer_to_thread(move || {
            let fail = |message: String| DNSLookupError {
                name: name.clone(),
                message,
            };
            let mut addrs: Vec<SocketAddr> = (ascii.as_str(), port)
                .to_socket_addrs()
                .map_err(|e| fail(e.to_string()))?
                .collect();
            let mut seen = std::collections::HashSet::new();
            addrs.retain(|a| seen.insert(*a));
            if addrs.is_empty() {
                return Err(fail("no addresses".to_string()));
            }
            Ok(addrs)
        })
    }
}
