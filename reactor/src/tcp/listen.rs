//! Listening sockets: [`Port`] from `listen_tcp`.

use super::TcpTransport;
use crate::defer::Deferred;
use crate::error::CannotListenError;
use crate::interfaces::IConnection;
use crate::protocol::ProtocolFactory;
use crate::reactor::{Reactor, Readiness};
use mio::event::Event;
use mio::net::TcpListener;
use mio::{Interest, Token};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

/// A listening TCP port (Twisted's `IListeningPort`).
pub struct Port {
    reactor: Reactor,
    listener: RefCell<Option<TcpListener>>,
    token: Cell<Option<Token>>,
    factory: Rc<dyn ProtocolFactory>,
    address: SocketAddr,
}

impl Port {
    pub(crate) fn listen(
        reactor: &Reactor,
        address: SocketAddr,
        factory: Rc<dyn ProtocolFactory>,
    ) -> Result<Rc<Port>, CannotListenError> {
        let fail = |error| CannotListenError { address, error };
        let mut listener = TcpListener::bind(address).map_err(fail)?;
        let bound = listener.local_addr().map_err(fail)?;
        let port = Rc::new(Port {
            reactor: reactor.clone(),
            listener: RefCell::new(None),
            token: Cell::new(None),
            factory,
            address: bound,
        });
        let handler: Rc<dyn Readiness> = port.clone();
        let token = reactor
            .register(&mut listener, Interest::READABLE, handler)
            .map_err(fail)?;
        port.token.set(Some(token));
        *port.listener.borrow_mut() = Some(listener);
        Ok(port)
    }

    /// The address the port listens on (with the real port number when 0 was asked for).
    pub fn get_host(&self) -> SocketAddr {
        self.address
    }

    /// Stop accepting connections. Connections already accepted go on.
    pub fn stop_listening(&self) -> Deferred<()> {
        let listener = self.listener.borrow_mut().take();
        if let (Some(mut listener), Some(token)) = (listener, self.token.take()) {
            self.reactor.deregister(&mut listener, token);
        }
        Deferred::succeed(())
    }

    fn accept_all(&self) {
        loop {
            let accepted = match self.listener.borrow().as_ref() {
                Some(listener) => listener.accept(),
                None => return,
            };
            match accepted {
                Ok((stream, addr)) => self.start_connection(stream, addr),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(error) => {
                    // EMFILE and friends: log, and try again on the next readiness.
                    log::error!("accept on {} failed: {error}", self.address);
                    return;
                }
            }
        }
    }

    fn start_connection(&self, stream: mio::net::TcpStream, addr: SocketAddr) {
        match TcpTransport::new(&self.reactor, stream, Some(addr)) {
            Ok(transport) => {
                let protocol = self.factory.build_protocol(addr);
                transport.attach_protocol(protocol);
            }
            Err(error) => log::error!("could not register a connection from {addr}: {error}"),
        }
    }
}

impl Readiness for Port {
    fn ready(self: Rc<Self>, _event: &Event) {
        self.accept_all();
    }
}

impl fmt::Debug for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Port {}>", self.address)
    }
}
