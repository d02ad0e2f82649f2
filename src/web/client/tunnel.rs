//! [`TunnelingEndpoint`]: a connection through a forward proxy's `CONNECT` tunnel (not in
//! Twisted; Twisted's ticket 5324).
//!
//! ```text
//!  connect(protocol)
//!      │  proxy endpoint connects
//!      ▼
//!  AwaitingReply ── writes "CONNECT host:port HTTP/1.1" (+ Proxy-Authorization)
//!      │  reads the proxy's status line and headers (1xx skipped)
//!      ├── 2xx ──► Open: protocol.make_connection(transport), then every byte goes to it;
//!      │           the Deferred from connect() fires
//!      ├── other ─► TunnelRefused { status, phrase }; the connection is aborted
//!      └── bad reply / connection lost ─► TunnelFailed
//! ```
//!
//! Once the tunnel is open the protocol holds the proxy connection's own transport and sees
//! only what the origin sends, so the endpoint can be wrapped like any other: TLS over the
//! tunnel is `wrap_client_tls(creator, tunneling_endpoint)`, and the TLS handshake starts when
//! the TLS protocol gets `make_connection`, after the proxy said yes. `Proxy-Authorization` is
//! sent only on the `CONNECT` request, never inside the tunnel.

use super::basic_auth::basic_auth_header;
use crate::web::http11::MAX_HEAD_SIZE;
use bytes::{Bytes, BytesMut};
use reactor::connect_timings::ConnectTimings;
use reactor::defer::{Deferred, Failure};
use reactor::interfaces::{IProtocol, IStreamClientEndpoint, ITransport};
use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::rc::{Rc, Weak};

/// The proxy answered the `CONNECT` request with something other than 2xx: `407` when it
/// wants (other) credentials, `403` or `502` when it will not or cannot reach the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelRefused {
    /// The `host:port` the tunnel was for.
    pub target: String,
    /// The proxy's status code.
    pub status: u16,
    /// The proxy's reason phrase.
    pub phrase: String,
}

impl fmt::Display for TunnelRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the proxy refused to open a tunnel to {}: {} {}",
            self.target, self.status, self.phrase
        )?;
        if self.status == 407 {
            f.write_str(" (the proxy wants credentials: see proxy_credentials)")?;
        }
        Ok(())
    }
}

impl Error for TunnelRefused {}

/// The tunnel could not be opened: the target is not a valid `host:port`, the proxy's answer
/// is not HTTP, or the connection closed before the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelFailed {
    /// The `host:port` the tunnel was for.
    pub target: String,
    /// What went wrong.
    pub reason: String,
}

impl fmt::Display for TunnelFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "opening a tunnel to {} through the proxy failed: {}",
            self.target, self.reason
        )
    }
}

impl Error for TunnelFailed {}

/// Connects through a forward proxy's `CONNECT` tunnel to `host:port`.
///
/// ```no_run
/// use reactor::endpoints::HostnameEndpoint;
/// use reactor::Reactor;
/// use std::rc::Rc;
/// use treq::web::client::TunnelingEndpoint;
///
/// let reactor = Reactor::new();
/// let proxy = Rc::new(HostnameEndpoint::new(&reactor, "proxy.example", 3128));
/// let endpoint = TunnelingEndpoint::new(proxy, "example.com", 443).proxy_credentials("u", "p");
/// // For https: reactor::tls::wrap_client_tls(creator, Rc::new(endpoint)), as
/// // TunnelingEndpointFactory does.
/// ```
#[derive(Clone)]
pub struct TunnelingEndpoint {
    proxy: Rc<dyn IStreamClientEndpoint>,
    host: String,
    port: u16,
    credentials: Option<String>,
}

impl TunnelingEndpoint {
    /// An endpoint whose connections go through `proxy` to `host:port`. `host` is a name or an
    /// IP address (an IPv6 address without brackets).
    pub fn new(proxy: Rc<dyn IStreamClientEndpoint>, host: &str, port: u16) -> TunnelingEndpoint {
        TunnelingEndpoint {
            proxy,
            host: host.to_owned(),
            port,
            credentials: None,
        }
    }

    /// Send `Proxy-Authorization: Basic ...` with the `CONNECT` request.
    pub fn proxy_credentials(mut self, user: &str, password: &str) -> TunnelingEndpoint {
        self.credentials = Some(basic_auth_header(user, password));
        self
    }

    /// The `host:port` of the `CONNECT` request, brackets around an IPv6 address.
    pub fn target(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The `CONNECT` request, or why the target cannot be one.
    fn connect_request(&self) -> Result<Vec<u8>, TunnelFailed> {
        let target = self.target();
        let valid = !self.host.is_empty()
            && self
                .host
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && !matches!(b, b'/' | b'?' | b'#' | b'@'));
        if !valid {
            return Err(TunnelFailed {
                target,
                reason: "the target host is not a valid host name or address".to_owned(),
            });
        }
        let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
        if let Some(credentials) = &self.credentials {
            request.push_str("Proxy-Authorization: ");
            request.push_str(credentials);
            request.push_str("\r\n");
        }
        request.push_str("\r\n");
        Ok(request.into_bytes())
    }
}

impl IStreamClientEndpoint for TunnelingEndpoint {
    fn connect(&self, protocol: Rc<dyn IProtocol>) -> Deferred<()> {
        self.open(protocol, None)
    }

    /// The proxy endpoint stamps its phases (name lookup and connect of the proxy, as curl
    /// reports them); the tunnel's own `CONNECT` exchange comes after.
    fn connect_timed(
        &self,
        protocol: Rc<dyn IProtocol>,
        timings: &Rc<ConnectTimings>,
    ) -> Deferred<()> {
        self.open(protocol, Some(timings))
    }
}

impl TunnelingEndpoint {
    /// Connect to the proxy (stamping `timings` if given) and open the tunnel.
    fn open(
        &self,
        protocol: Rc<dyn IProtocol>,
        timings: Option<&Rc<ConnectTimings>>,
    ) -> Deferred<()> {
        let request = match self.connect_request() {
            Ok(request) => request,
            Err(e) => return Deferred::fail(e),
        };
        // The canceller reaches the tunnel and the proxy connect attempt through this slot,
        // filled once both exist; weakly, so the returned Deferred does not keep them alive.
        type Pending = Option<(Weak<TunnelProtocol>, Deferred<()>)>;
        let pending: Rc<RefCell<Pending>> = Rc::new(RefCell::new(None));
        let slot = pending.clone();
        let ready = Deferred::with_canceller(move |_: &Deferred<()>| {
            let taken = slot.borrow_mut().take();
            if let Some((tunnel, connecting)) = taken {
                connecting.cancel();
                if let Some(tunnel) = tunnel.upgrade() {
                    tunnel.abort();
                }
            }
        });
        let tunnel = Rc::new(TunnelProtocol {
            target: self.target(),
            request,
            protocol,
            state: RefCell::new(State::Connecting),
            ready: ready.clone(),
        });
        let connecting = match timings {
            Some(timings) => self
                .proxy
                .connect_timed(tunnel.clone() as Rc<dyn IProtocol>, timings),
            None => self.proxy.connect(tunnel.clone() as Rc<dyn IProtocol>),
        };
        *pending.borrow_mut() = Some((Rc::downgrade(&tunnel), connecting.clone()));
        connecting.add_errback(move |failure: Failure| tunnel.fail(failure));
        ready
    }
}

enum State {
    /// Waiting for the proxy connection.
    Connecting,
    /// `CONNECT` sent; the answer is arriving.
    AwaitingReply {
        transport: Rc<dyn ITransport>,
        buffer: BytesMut,
    },
    /// The tunnel is up: bytes go to the protocol.
    Open,
    /// Refused, failed or cancelled: bytes are dropped.
    Closed,
}

/// The protocol on the proxy connection: speaks `CONNECT`, then hands over.
struct TunnelProtocol {
    target: String,
    request: Vec<u8>,
    protocol: Rc<dyn IProtocol>,
    state: RefCell<State>,
    /// Fires when the tunnel is open, or fails.
    ready: Deferred<()>,
}

/// What the proxy's answer says so far.
enum Reply {
    /// More bytes are needed.
    Partial,
    /// An interim 1xx of this many bytes: drop it and read on.
    Interim(usize),
    /// The final answer: status, phrase, head length.
    Final(u16, String, usize),
}

fn parse_reply(buffer: &[u8]) -> Result<Reply, String> {
    let mut headers = [httparse::EMPTY_HEADER; crate::web::http11::MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(buffer) {
        Ok(httparse::Status::Partial) if buffer.len() > MAX_HEAD_SIZE => Err(format!(
            "the answer's head is larger than {MAX_HEAD_SIZE} bytes"
        )),
        Ok(httparse::Status::Partial) => Ok(Reply::Partial),
        Ok(httparse::Status::Complete(n)) => {
            let status = response.code.unwrap_or(0);
            if (100..200).contains(&status) {
                return Ok(Reply::Interim(n));
            }
            let phrase = response.reason.unwrap_or("").to_owned();
            Ok(Reply::Final(status, phrase, n))
        }
        Err(e) => Err(format!("the answer is not HTTP: {e}")),
    }
}

impl TunnelProtocol {
    fn fail(&self, failure: Failure) {
        *self.state.borrow_mut() = State::Closed;
        if !self.ready.called() {
            let _ = self.ready.errback(failure);
        }
    }

    /// Cancelled: drop the proxy connection unless the tunnel is already open.
    fn abort(&self) {
        let state = std::mem::replace(&mut *self.state.borrow_mut(), State::Closed);
        match state {
            State::AwaitingReply { transport, .. } => transport.abort_connection(),
            State::Open => *self.state.borrow_mut() = State::Open,
            State::Connecting | State::Closed => {}
        }
    }

    fn failed(&self, reason: String) -> Failure {
        Failure::new(TunnelFailed {
            target: self.target.clone(),
            reason,
        })
    }

    /// Read the answer from the buffer; on 2xx open the tunnel.
    fn read_reply(&self, transport: Rc<dyn ITransport>, mut buffer: BytesMut) {
        loop {
            match parse_reply(&buffer) {
                Ok(Reply::Partial) => {
                    *self.state.borrow_mut() = State::AwaitingReply { transport, buffer };
                    return;
                }
                Ok(Reply::Interim(n)) => {
                    let _ = buffer.split_to(n);
                }
                Ok(Reply::Final(status, _, n)) if (200..300).contains(&status) => {
                    let rest = buffer.split_off(n).freeze();
                    self.open(transport, rest);
                    return;
                }
                Ok(Reply::Final(status, phrase, _)) => {
                    transport.abort_connection();
                    self.fail(Failure::new(TunnelRefused {
                        target: self.target.clone(),
                        status,
                        phrase,
                    }));
                    return;
                }
                Err(reason) => {
                    transport.abort_connection();
                    self.fail(self.failed(reason));
                    return;
                }
            }
        }
    }

    /// The proxy said yes: the protocol takes over the connection.
    fn open(&self, transport: Rc<dyn ITransport>, rest: Bytes) {
        *self.state.borrow_mut() = State::Open;
        self.protocol.make_connection(transport);
        if !rest.is_empty() {
            self.protocol.data_received(rest);
        }
        if !self.ready.called() {
            let _ = self.ready.callback(());
        }
    }
}

impl IProtocol for TunnelProtocol {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        {
            let mut state = self.state.borrow_mut();
            if !matches!(*state, State::Connecting) {
                drop(state);
                transport.abort_connection();
                return;
            }
            *state = State::AwaitingReply {
                transport: transport.clone(),
                buffer: BytesMut::new(),
            };
        }
        transport.write(&self.request);
    }

    fn data_received(&self, data: Bytes) {
        let state = std::mem::replace(&mut *self.state.borrow_mut(), State::Closed);
        match state {
            State::Open => {
                *self.state.borrow_mut() = State::Open;
                self.protocol.data_received(data);
            }
            State::AwaitingReply {
                transport,
                mut buffer,
            } => {
                buffer.extend_from_slice(&data);
                self.read_reply(transport, buffer);
            }
            other => *self.state.borrow_mut() = other,
        }
    }

    fn connection_lost(&self, reason: Failure) {
        let state = std::mem::replace(&mut *self.state.borrow_mut(), State::Closed);
        match state {
            State::Open => self.protocol.connection_lost(reason),
            State::Connecting | State::AwaitingReply { .. } => {
                let failure = self.failed(format!("the connection closed first ({reason})"));
                self.fail(failure);
            }
            State::Closed => {}
        }
    }
}

impl fmt::Debug for TunnelingEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TunnelingEndpoint")
            .field("target", &self.target())
            .field("has_credentials", &self.credentials.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[path = "tunnel_tests.rs"]
mod tests;
