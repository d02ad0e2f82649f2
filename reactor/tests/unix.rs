//! Unix-domain stream sockets: `Reactor::connect_unix` and `UNIXClientEndpoint` against a
//! std `UnixListener` on a thread of its own, in a temporary directory.
#![cfg(unix)]

mod netutil;

use netutil::{run_until, Recorder};
use reactor::defer::Failure;
use reactor::endpoints::UNIXClientEndpoint;
use reactor::error::{ConnectError, ConnectionDone};
use reactor::interfaces::{IConnection, IProtocol, IStreamClientEndpoint};
use reactor::Reactor;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// A directory of its own under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("reactor-unix-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Echo everything on one connection back until the client closes; the thread gives how
/// many bytes it echoed.
fn echo_server(path: &Path) -> JoinHandle<io::Result<usize>> {
    let listener = UnixListener::bind(path).unwrap();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let (mut buf, mut total) = (vec![0u8; 64 * 1024], 0);
        loop {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                return Ok(total);
            }
            stream.write_all(&buf[..n])?;
            total += n;
        }
    })
}

fn unix_error(failure: &Failure) -> io::ErrorKind {
    match failure.value::<ConnectError>() {
        Some(ConnectError::UnixSocket { error, .. }) => error.kind(),
        _ => panic!("not a Unix socket connect error: {failure}"),
    }
}

#[test]
fn four_mib_echoed_through_the_endpoint_then_a_clean_close() {
    let dir = TempDir::new();
    let path = dir.path("echo.sock");
    let server = echo_server(&path);
    let reactor = Reactor::new();
    let payload: Vec<u8> = (0..4 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let client = Recorder::new();
    *client.greeting.borrow_mut() = Some(payload.clone());
    client.close_after.set(Some(payload.len()));
    let endpoint = UNIXClientEndpoint::new(&reactor, &path);
    assert_eq!(endpoint.path(), path);
    let protocol: Rc<dyn IProtocol> = client.clone();
    run_until(&reactor, endpoint.connect(protocol), 5.0).unwrap();
    run_until(&reactor, client.when_lost(), 20.0).unwrap();
    assert!(
        client.received.borrow()[..] == payload[..],
        "the echo differs"
    );
    assert!(client.chunks.get() > 1, "read in pieces");
    assert!(client
        .lost
        .borrow()
        .as_ref()
        .unwrap()
        .check::<ConnectionDone>());
    assert_eq!(client.transport().get_peer(), None, "no IP address");
    assert_eq!(server.join().unwrap().unwrap(), payload.len());
}

#[test]
fn connect_unix_gives_an_unattached_transport() {
    let dir = TempDir::new();
    let path = dir.path("echo.sock");
    let server = echo_server(&path);
    let reactor = Reactor::new();
    let transport = run_until(&reactor, reactor.connect_unix(&path), 5.0).unwrap();
    assert!(
        format!("{transport:?}").starts_with("<UnixTransport"),
        "{transport:?}"
    );
    let client = Recorder::new();
    *client.greeting.borrow_mut() = Some(b"ping".to_vec());
    client.close_after.set(Some(4));
    transport.attach_protocol(client.clone());
    run_until(&reactor, client.when_lost(), 5.0).unwrap();
    assert_eq!(&client.received.borrow()[..], b"ping");
    assert_eq!(server.join().unwrap().unwrap(), 4);
}

#[test]
fn a_missing_socket_fails_with_not_found() {
    let dir = TempDir::new();
    let reactor = Reactor::new();
    let path = dir.path("nobody.sock");
    let failure = run_until(&reactor, reactor.connect_unix(&path), 5.0).unwrap_err();
    assert_eq!(unix_error(&failure), io::ErrorKind::NotFound);
    assert!(failure.to_string().contains("nobody.sock"), "{failure}");
}

#[test]
fn a_socket_nobody_listens_on_is_refused() {
    let dir = TempDir::new();
    let path = dir.path("stale.sock");
    drop(UnixListener::bind(&path).unwrap()); // the file stays, the listener is gone
    assert!(path.exists());
    let reactor = Reactor::new();
    let endpoint = UNIXClientEndpoint::new(&reactor, &path);
    let failure = run_until(&reactor, endpoint.connect(Recorder::new()), 5.0).unwrap_err();
    assert_eq!(unix_error(&failure), io::ErrorKind::ConnectionRefused);
}

#[test]
fn a_path_too_long_for_a_socket_address_is_an_error() {
    let reactor = Reactor::new();
    let path = std::env::temp_dir().join("x".repeat(200));
    let failure = run_until(&reactor, reactor.connect_unix(&path), 5.0).unwrap_err();
    assert_eq!(unix_error(&failure), io::ErrorKind::InvalidInput);
}

#[test]
fn cancelling_before_it_fires_closes_the_socket() {
    let dir = TempDir::new();
    let path = dir.path("echo.sock");
    let server = echo_server(&path);
    let reactor = Reactor::new();
    let client = Recorder::new();
    let d = UNIXClientEndpoint::new(&reactor, &path).connect(client.clone());
    d.cancel();
    let failure = run_until(&reactor, d, 5.0).unwrap_err();
    assert!(
        matches!(
            failure.value::<ConnectError>(),
            Some(ConnectError::Cancelled)
        ),
        "{failure}"
    );
    assert!(client.transport.borrow().is_none(), "never attached");
    // The server saw the connection open and close with nothing on it.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(server.join());
    });
    let echoed = rx.recv_timeout(Duration::from_secs(10)).unwrap().unwrap();
    assert_eq!(echoed.unwrap(), 0);
}
