//! [`NoProxy`]: the hosts a `NO_PROXY` value sends direct, past the environment's proxy.
//!
//! The value is a list of entries separated by commas (or white space), matched the way curl
//! matches them, case-insensitively:
//!
//! * `*` alone sends every host direct;
//! * a name — `example.com`, `.example.com` or `*.example.com`, the leading dot or `*.` being
//!   ignored — matches that name and every name under it (`www.example.com`), never a name
//!   that merely ends the same way (`badexample.com`);
//! * an IP address — `127.0.0.1`, `::1` or `[::1]` — matches that literal host;
//! * a CIDR block — `10.0.0.0/8`, `fd00::/8` — matches literal hosts inside it (no name is
//!   resolved to find out);
//! * any of these with `:port` (`example.com:8080`, `[::1]:8080`) matches only that port.
//!
//! A trailing dot on a name (`example.com.`) is ignored on both sides.

use std::error::Error;
use std::fmt;
use std::net::IpAddr;

/// The parsed `NO_PROXY` list.
///
/// ```
/// use treq::web::client::NoProxy;
///
/// let no_proxy = NoProxy::parse(".corp.example, 10.0.0.0/8, [::1]:8080").unwrap();
/// assert!(no_proxy.matches("build.corp.example", 443));
/// assert!(no_proxy.matches("10.1.2.3", 80));
/// assert!(no_proxy.matches("::1", 8080));
/// assert!(!no_proxy.matches("::1", 80));
/// assert!(!no_proxy.matches("example.com", 80));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoProxy {
    /// `*`: every host.
    all: bool,
    entries: Vec<Entry>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    pattern: Pattern,
    /// `None`: any port.
    port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Pattern {
    /// A name, lowercase, without leading or trailing dots: itself and every name under it.
    Domain(String),
    /// One address.
    Ip(IpAddr),
    /// An address block: the network and its prefix length.
    Cidr(IpAddr, u8),
}

/// A `NO_PROXY` entry that is not a name, an address, a block or one of them with a port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidNoProxyEntry {
    /// The entry, as written.
    pub entry: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for InvalidNoProxyEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NO_PROXY entry {:?}: {}", self.entry, self.reason)
    }
}

impl Error for InvalidNoProxyEntry {}

impl NoProxy {
    /// Parse a `NO_PROXY` value. Empty entries are skipped; an entry with a port that is not
    /// a number, or a block with a prefix longer than its address, is an error.
    pub fn parse(value: &str) -> Result<NoProxy, InvalidNoProxyEntry> {
        let mut no_proxy = NoProxy::default();
        for raw in value.split(|c: char| c == ',' || c.is_whitespace()) {
            if raw.is_empty() {
                continue;
            }
            if raw == "*" {
                no_proxy.all = true;
                continue;
            }
            no_proxy.entries.push(parse_entry(raw)?);
        }
        Ok(no_proxy)
    }

    /// Whether `host:port` goes direct. `host` is a name or an IP address, with or without
    /// the brackets of an IPv6 literal.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        if self.all {
            return true;
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
        let ip = host.parse::<IpAddr>().ok();
        self.entries.iter().any(|entry| {
            entry.port.is_none_or(|p| p == port)
                && match (&entry.pattern, ip) {
                    (Pattern::Domain(name), None) => {
                        host == *name
                            || host
                                .strip_suffix(name.as_str())
                                .is_some_and(|rest| rest.ends_with('.'))
                    }
                    (Pattern::Ip(address), Some(ip)) => *address == ip,
                    (Pattern::Cidr(network, prefix), Some(ip)) => in_block(ip, *network, *prefix),
                    _ => false,
                }
        })
    }

    /// Whether the list is empty (nothing goes direct).
    pub fn is_empty(&self) -> bool {
        !self.all && self.entries.is_empty()
    }
}

fn parse_entry(raw: &str) -> Result<Entry, InvalidNoProxyEntry> {
    let invalid = |reason| InvalidNoProxyEntry {
        entry: raw.to_owned(),
        reason,
    };
    let parse_port = |port: &str| port.parse::<u16>().map_err(|_| invalid("bad port"));
    // [v6] or [v6]:port
    if let Some(rest) = raw.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or_else(|| invalid("no closing ']'"))?;
        let ip: IpAddr = inside.parse().map_err(|_| invalid("not an IPv6 address"))?;
        let port = match after {
            "" => None,
            _ => Some(parse_port(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| invalid("junk after ']'"))?,
            )?),
        };
        return Ok(Entry {
            pattern: Pattern::Ip(ip),
            port,
        });
    }
    if let Some((address, prefix)) = raw.split_once('/') {
        let network: IpAddr = address
            .parse()
            .map_err(|_| invalid("a block needs an IP address before '/'"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| invalid("bad prefix length"))?;
        return Ok(Entry {
            pattern: Pattern::Cidr(network, prefix),
            port: None,
        });
    }
    if let Ok(ip) = raw.parse::<IpAddr>() {
        return Ok(Entry {
            pattern: Pattern::Ip(ip),
            port: None,
        });
    }
    let (host, port) = match raw.rsplit_once(':') {
        Some((host, port)) => (host, Some(parse_port(port)?)),
        None => (raw, None),
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(Entry {
            pattern: Pattern::Ip(ip),
            port,
        });
    }
    let name = host.strip_prefix('*').unwrap_or(host);
    let name = name.trim_start_matches('.');
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.contains(['*', '@', '/']) {
        return Err(invalid("not a host name"));
    }
    Ok(Entry {
        pattern: Pattern::Domain(name.to_ascii_lowercase()),
        port,
    })
}

/// Whether `ip` is in `network/prefix` (of the same family).
fn in_block(ip: IpAddr, network: IpAddr, prefix: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(network)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(network) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(network)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(network) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn np(value: &str) -> NoProxy {
        NoProxy::parse(value).unwrap()
    }

    #[test]
    fn a_star_alone_matches_everything() {
        assert!(np("*").matches("anything.example", 1));
        assert!(np("foo, *").matches("::1", 1));
        assert!(NoProxy::parse("*.").is_err(), "a wildcard for no name");
    }

    #[test]
    fn names_match_themselves_and_below_on_a_dot_boundary() {
        for entry in [
            "example.com",
            ".example.com",
            "*.example.com",
            "EXAMPLE.com.",
        ] {
            let list = np(entry);
            assert!(list.matches("example.com", 80), "{entry}");
            assert!(list.matches("www.Example.COM", 80), "{entry}");
            assert!(list.matches("a.b.example.com.", 80), "{entry}");
            assert!(!list.matches("badexample.com", 80), "{entry}");
            assert!(!list.matches("example.com.evil", 80), "{entry}");
            assert!(!list.matches("com", 80), "{entry}");
        }
    }

    #[test]
    fn entries_split_on_commas_and_white_space() {
        let list = np(" a.example ,b.example\tc.example,,");
        for host in ["a.example", "b.example", "c.example"] {
            assert!(list.matches(host, 80), "{host}");
        }
        assert!(!list.matches("d.example", 80));
        assert!(np("").is_empty());
        assert!(np(" , ").is_empty());
    }

    #[test]
    fn a_port_restricts_the_entry() {
        let list = np("example.com:8080, 127.0.0.1:9000, [::1]:443");
        assert!(list.matches("example.com", 8080));
        assert!(list.matches("api.example.com", 8080));
        assert!(!list.matches("example.com", 80));
        assert!(list.matches("127.0.0.1", 9000));
        assert!(!list.matches("127.0.0.1", 9001));
        assert!(list.matches("::1", 443));
        assert!(list.matches("[::1]", 443));
        assert!(!list.matches("::1", 80));
    }

    #[test]
    fn addresses_match_literal_hosts_only() {
        let list = np("127.0.0.1, ::1, [fe80::1]");
        assert!(list.matches("127.0.0.1", 80));
        assert!(!list.matches("127.0.0.2", 80));
        assert!(list.matches("::1", 80));
        assert!(
            list.matches("[0:0::1]", 80),
            "the same address written longer"
        );
        assert!(list.matches("fe80::1", 80));
        assert!(!list.matches("localhost", 80), "names are not resolved");
        assert!(!np("localhost").matches("127.0.0.1", 80));
    }

    #[test]
    fn cidr_blocks_match_addresses_inside() {
        let list = np("10.0.0.0/8, 192.168.1.0/24, fd00::/8, 0.0.0.0/0");
        assert!(list.matches("10.255.0.1", 80));
        assert!(list.matches("192.168.1.77", 80));
        assert!(
            list.matches("8.8.8.8", 80),
            "0.0.0.0/0 is every IPv4 address"
        );
        assert!(list.matches("fdab::1", 80));
        assert!(!list.matches("fe80::1", 80));
        assert!(!list.matches("ten.example", 80));
        let narrow = np("192.168.1.0/24, ::1/128");
        assert!(!narrow.matches("192.168.2.1", 80));
        assert!(narrow.matches("::1", 80));
        assert!(!narrow.matches("::2", 80));
        assert!(!narrow.matches("::ffff:192.168.1.1", 80), "another family");
    }

    #[test]
    fn bad_entries_are_typed_errors() {
        for (value, entry) in [
            ("ok.example, host:http", "host:http"),
            ("10.0.0.0/33", "10.0.0.0/33"),
            ("::1/129", "::1/129"),
            ("name/8", "name/8"),
            ("[::1", "[::1"),
            ("[::1]x", "[::1]x"),
            ("[nothost]", "[nothost]"),
            ("a.*.example", "a.*.example"),
            ("example.com:99999", "example.com:99999"),
        ] {
            let error = NoProxy::parse(value).unwrap_err();
            assert_eq!(error.entry, entry, "{value}");
            assert!(error.to_string().contains(entry), "{error}");
        }
    }
}
