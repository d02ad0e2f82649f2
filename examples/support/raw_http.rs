//! A small raw-TCP HTTP/1.1 server for the soak and load examples, run in a child process of
//! its own (the example re-runs its own binary with `--serve`), so that it shares nothing with
//! the client's reactor and the `/proc/self` samples the client takes count the client alone.
//!
//! It answers `GET /r/{id}` with `200`, the header `X-Request-Id: {id}` and the body `{id}`.
//! Per connection it can close after a random 1..=`max_per_conn` requests (half the time
//! announcing it with `Connection: close`, half the time not, so the client's pool holds a
//! connection the server has already closed), and it can close right after reading a request,
//! before answering, with probability `drop_per_mille` / 1000. It runs on a tokio
//! current-thread runtime (one core), prints `port {n}` on stdout once it listens, and exits
//! when its stdin closes, so it never outlives the example.

#![allow(dead_code)]

use std::io::{BufRead, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How the server treats its connections.
#[derive(Clone, Copy, Debug)]
pub struct ServerConfig {
    /// Close each connection after a random 1..=this many requests (0: never).
    pub max_per_conn: u32,
    /// Per request, the chance in 1000 of closing right after reading it, unanswered.
    pub drop_per_mille: u32,
    /// Seed for the server's random choices.
    pub seed: u64,
}

impl ServerConfig {
    fn to_args(self) -> Vec<String> {
        vec![
            "--serve".into(),
            self.max_per_conn.to_string(),
            self.drop_per_mille.to_string(),
            self.seed.to_string(),
        ]
    }

    /// The config from `--serve MAX DROP SEED`, if the program was started that way.
    pub fn from_args() -> Option<ServerConfig> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        if args.first().map(String::as_str) != Some("--serve") || args.len() != 4 {
            return None;
        }
        let number = |i: usize| args[i].parse::<u64>().expect("a number after --serve");
        Some(ServerConfig {
            max_per_conn: number(1) as u32,
            drop_per_mille: number(2) as u32,
            seed: number(3),
        })
    }
}

/// xorshift64*: enough randomness for choosing when to close.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next number.
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The server in its child process, and the pipe that keeps it alive.
pub struct ServerProcess {
    child: Child,
    _stdout: std::io::BufReader<ChildStdout>,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
}

impl ServerProcess {
    /// Start this program again with `--serve` and wait (at most 20 s) for its port.
    pub fn spawn(config: ServerConfig) -> Result<ServerProcess, String> {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let mut child = Command::new(exe)
            .args(config.to_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("spawning the server: {e}"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut stdout = std::io::BufReader::new(stdout);
            let mut line = String::new();
            let result = stdout.read_line(&mut line).map(|_| line);
            let _ = tx.send(result);
            stdout
        });
        let line = match rx.recv_timeout(std::time::Duration::from_secs(20)) {
            Ok(Ok(line)) => line,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("the server did not report its port: {other:?}"));
            }
        };
        let stdout = reader.join().expect("reader thread");
        let port = line
            .trim()
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| format!("unexpected line from the server: {line:?}"))?;
        Ok(ServerProcess {
            child,
            _stdout: stdout,
            port,
        })
    }

    /// The server's resident set in KiB, from `/proc/{pid}/status`.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        vm_rss_kib(&status)
    }

    /// Stop the server (closing its stdin ends it; killed if still there after 5 s).
    pub fn stop(mut self) {
        drop(self.child.stdin.take());
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `VmRSS` in KiB from the text of a `/proc/*/status` file.
pub fn vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// This process's `VmRSS` in KiB.
pub fn self_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| vm_rss_kib(&s))
        .unwrap_or(0)
}

/// The number of open file descriptors of this process.
pub fn self_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Run the server until stdin closes. Never returns.
pub fn serve(config: ServerConfig) -> ! {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let connections = Arc::new(AtomicU64::new(0));
    runtime.block_on(async move {
        // A long accept queue (the kernel caps it at net.core.somaxconn), so that thousands of
        // connections opened at once are not dropped and retried a second later.
        let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
        socket
            .bind("127.0.0.1:0".parse().expect("an address"))
            .expect("bind 127.0.0.1:0");
        let listener = socket.listen(65_535).expect("listen");
        let port = listener.local_addr().expect("local addr").port();
        println!("port {port}");
        std::io::stdout().flush().expect("stdout");
        // Exit when the parent goes away.
        std::thread::spawn(|| {
            let mut sink = String::new();
            while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {}
            std::process::exit(0);
        });
        loop {
            let (socket, _) = match listener.accept().await {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors or similar: back off a little, keep serving.
                    eprintln!("server: accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            let n = connections.fetch_add(1, Ordering::Relaxed);
            let _ = socket.set_nodelay(true);
            tokio::spawn(connection(socket, config, Rng::new(config.seed ^ n)));
        }
    })
}

async fn connection(mut socket: tokio::net::TcpStream, config: ServerConfig, mut rng: Rng) {
    let limit = match config.max_per_conn {
        0 => u64::MAX,
        n => 1 + rng.below(u64::from(n)),
    };
    let announce = rng.below(2) == 0;
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut served = 0u64;
    let mut out = Vec::with_capacity(256);
    loop {
        // Read one request head (the examples send GETs without a body).
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if buf.len() > 64 * 1024 {
                return;
            }
            let mut chunk = [0u8; 4096];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = &buf[..end];
        let line_end = head.iter().position(|&b| b == b'\r').unwrap_or(0);
        let id = std::str::from_utf8(&head[..line_end])
            .ok()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|target| target.strip_prefix("/r/"))
            .map(str::to_owned);
        buf.drain(..end);
        if config.drop_per_mille > 0 && rng.below(1000) < u64::from(config.drop_per_mille) {
            // Close right after reading the request, without answering.
            return;
        }
        served += 1;
        let last = served >= limit;
        out.clear();
        match id {
            Some(id) => {
                out.extend_from_slice(b"HTTP/1.1 200 OK\r\nX-Request-Id: ");
                out.extend_from_slice(id.as_bytes());
                out.extend_from_slice(format!("\r\nContent-Length: {}\r\n", id.len()).as_bytes());
                if last && announce {
                    out.extend_from_slice(b"Connection: close\r\n");
                }
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(id.as_bytes());
            }
            None => out.extend_from_slice(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            ),
        }
        if socket.write_all(&out).await.is_err() {
            return;
        }
        if last {
            return;
        }
    }
}
