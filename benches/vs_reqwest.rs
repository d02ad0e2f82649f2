//! Our client against reqwest, side by side, on an in-process server: `cargo bench --bench
//! vs_reqwest` (`-- --rounds N --scale F` to change the number of interleaved rounds, 5, and
//! the number of requests, 1.0 = the counts below).
//!
//! The server is hyper's HTTP/1.1 server on a tokio runtime of its own thread, answering
//! `/small` (13 bytes, as nginx's `/small` in the referee) and `/64k` from memory. Each client
//! runs on the main thread: ours on a `Reactor` (the bare `Agent` with an
//! `HTTPConnectionPool`, and treq's `HTTPClient` over it), reqwest on a tokio current-thread
//! runtime (its fastest single-core setup, `reqwest-ct` in the referee). The rounds are
//! interleaved (every client once per round, in turn), and the table gives medians: requests
//! per second, and the client thread's own CPU time per request (`RUSAGE_THREAD`, so the
//! server's share is not counted). Ratios are against reqwest in the same run; absolute
//! figures move with the machine.
//!
//! This is the benchmark anyone can run with the toolchain alone. The referee in
//! `shared/bench` (nginx, wrk, curl, hyper, ureq, Python treq; docs/benchmarks.md) is the one
//! the performance targets are judged by.

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use reactor::defer::Deferred;
use reactor::Reactor;
use std::cell::Cell;
use std::convert::Infallible;
use std::rc::Rc;
use std::time::Instant;
use treq::client::HTTPClient;
use treq::web::client::{read_body, Agent, HTTPConnectionPool};
use treq::web::iweb::IAgent;

/// One workload: a path, how many requests, how many at a time, and whether connections are
/// kept (`newconn`: a new connection per request).
struct Workload {
    name: &'static str,
    path: &'static str,
    n: usize,
    c: usize,
    persistent: bool,
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "get_seq",
        path: "/small",
        n: 20_000,
        c: 1,
        persistent: true,
    },
    Workload {
        name: "get_c64",
        path: "/small",
        n: 100_000,
        c: 64,
        persistent: true,
    },
    Workload {
        name: "get_newconn",
        path: "/small",
        n: 5_000,
        c: 1,
        persistent: false,
    },
    Workload {
        name: "get64k_c8",
        path: "/64k",
        n: 20_000,
        c: 8,
        persistent: true,
    },
];

const CLIENTS: &[&str] = &["ours", "ours-treq", "reqwest-ct"];

/// The longest one client's run of one workload may take.
const RUN_BOUND_SECONDS: f64 = 300.0;

/// What one run measured: wall seconds, client-thread CPU seconds, requests that failed.
struct Measured {
    seconds: f64,
    cpu: f64,
    errors: usize,
}

/// CPU seconds (user + system) of the calling thread.
#[allow(unsafe_code)]
fn thread_cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: RUSAGE_THREAD is valid on Linux and `usage` is writable memory of the right
    // size; on failure nothing is read from it.
    let usage = unsafe {
        if libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr()) != 0 {
            return f64::NAN;
        }
        usage.assume_init()
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Time `run` on this thread's clock and CPU; it returns the number of failed requests.
fn measure(run: impl FnOnce() -> usize) -> Measured {
    let (cpu, start) = (thread_cpu_seconds(), Instant::now());
    let errors = run();
    Measured {
        seconds: start.elapsed().as_secs_f64(),
        cpu: thread_cpu_seconds() - cpu,
        errors,
    }
}

/// The in-process server: hyper's HTTP/1.1 server on its own thread; returns its port.
fn start_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = listener.local_addr().expect("local address").port();
    listener.set_nonblocking(true).expect("non-blocking");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("server runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            let small = Bytes::from_static(b"Hello, world!");
            let big = Bytes::from(vec![b'x'; 64 * 1024]);
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let (small, big) = (small.clone(), big.clone());
                let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                    let body = if request.uri().path() == "/64k" {
                        big.clone()
                    } else {
                        small.clone()
                    };
                    async move { Ok::<_, Infallible>(Response::new(Full::new(body))) }
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    port
}

/// `n` GETs of `url`, `c` at a time, through `get` on a reactor of this thread: each
/// completion starts the next. Returns the failures.
fn run_reactor<F>(reactor: &Reactor, n: usize, c: usize, get: F) -> usize
where
    F: Fn() -> Deferred<usize> + 'static,
{
    struct Loop<F> {
        get: F,
        n: usize,
        started: Cell<usize>,
        finished: Cell<usize>,
        errors: Cell<usize>,
        reactor: Reactor,
    }
    fn next<F: Fn() -> Deferred<usize> + 'static>(state: &Rc<Loop<F>>) {
        if state.started.get() >= state.n {
            return;
        }
        state.started.set(state.started.get() + 1);
        let me = state.clone();
        (state.get)().add_both(move |result| {
            if result.is_err() {
                me.errors.set(me.errors.get() + 1);
            }
            me.finished.set(me.finished.get() + 1);
            if me.finished.get() == me.n {
                let _ = me.reactor.stop();
            } else {
                next(&me);
            }
        });
    }
    let state = Rc::new(Loop {
        get,
        n,
        started: Cell::new(0),
        finished: Cell::new(0),
        errors: Cell::new(0),
        reactor: reactor.clone(),
    });
    for _ in 0..c {
        next(&state);
    }
    // A stalled server ends the run instead of hanging it; what did not finish counts as failed.
    let r = reactor.clone();
    let bound = reactor.call_later(RUN_BOUND_SECONDS, move || {
        let _ = r.stop();
    });
    reactor.run().expect("the reactor runs");
    let _ = bound.cancel();
    state.errors.get() + (n - state.finished.get())
}

fn run_ours(url: &str, w: &Workload, n: usize, treq_api: bool) -> Measured {
    let reactor = Reactor::new();
    let pool = HTTPConnectionPool::new(&reactor, w.persistent).max_persistent_per_host(w.c);
    let agent = Agent::new(&reactor).pool(pool);
    let url = url.to_string();
    measure(|| {
        if treq_api {
            let client = HTTPClient::new(agent);
            run_reactor(&reactor, n, w.c, move || {
                client
                    .get(url.as_str())
                    .send()
                    .add_callback(|response: treq::response::Response| response.content())
                    .add_callback(|body| body.len())
            })
        } else {
            run_reactor(&reactor, n, w.c, move || {
                agent
                    .request("GET", &url, None, None)
                    .add_callback(|response| read_body(&response))
                    .add_callback(|body| body.len())
            })
        }
    })
}

fn run_reqwest(url: &str, w: &Workload, n: usize) -> Measured {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let mut builder = reqwest::Client::builder();
    if !w.persistent {
        builder = builder.pool_max_idle_per_host(0);
    }
    let client = builder.build().expect("reqwest client");
    let url = url.to_string();
    let c = w.c;
    measure(|| {
        runtime.block_on(async move {
            let bound = std::time::Duration::from_secs_f64(RUN_BOUND_SECONDS);
            let next = Rc::new(Cell::new(0usize));
            let workers = (0..c).map(|_| {
                let (client, url, next) = (client.clone(), url.clone(), next.clone());
                async move {
                    let mut errors = 0;
                    while next.get() < n {
                        next.set(next.get() + 1);
                        let body = match client.get(url.as_str()).send().await {
                            Ok(response) => response.bytes().await.map(|b| b.len()),
                            Err(e) => Err(e),
                        };
                        errors += usize::from(body.is_err());
                    }
                    errors
                }
            });
            let local = tokio::task::LocalSet::new();
            let run = local.run_until(async move {
                let handles: Vec<_> = workers.map(tokio::task::spawn_local).collect();
                let mut errors = 0;
                for handle in handles {
                    errors += handle.await.unwrap_or(1);
                }
                errors
            });
            // As on the reactor: a stalled run ends, and counts as failed.
            tokio::time::timeout(bound, run).await.unwrap_or(n)
        })
    })
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let mut rounds = 5usize;
    let mut scale = 1.0f64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => rounds = args.next().and_then(|v| v.parse().ok()).unwrap_or(5),
            "--scale" => scale = args.next().and_then(|v| v.parse().ok()).unwrap_or(1.0),
            _ => {} // `cargo bench` passes --bench
        }
    }
    let port = start_server();
    println!("our client against reqwest on an in-process hyper server (127.0.0.1:{port}),");
    println!("{rounds} interleaved rounds, medians; CPU is the client thread's own");
    println!();
    println!(
        "{:<12} {:<11} {:>8} {:>11} {:>9} {:>13} {:>9}",
        "workload", "client", "requests", "req/s", "× reqwest", "CPU µs / req", "× reqwest"
    );
    for w in WORKLOADS {
        let n = ((w.n as f64 * scale) as usize).max(w.c);
        let url = format!("http://127.0.0.1:{port}{}", w.path);
        let mut rates = vec![Vec::new(); CLIENTS.len()];
        let mut cpus = vec![Vec::new(); CLIENTS.len()];
        for _ in 0..rounds {
            for (i, client) in CLIENTS.iter().enumerate() {
                let m = match *client {
                    "ours" => run_ours(&url, w, n, false),
                    "ours-treq" => run_ours(&url, w, n, true),
                    _ => run_reqwest(&url, w, n),
                };
                assert_eq!(m.errors, 0, "{client} {}: requests failed", w.name);
                rates[i].push(n as f64 / m.seconds);
                cpus[i].push(m.cpu / n as f64 * 1e6);
            }
        }
        let rate: Vec<f64> = rates.iter_mut().map(|r| median(r)).collect();
        let cpu: Vec<f64> = cpus.iter_mut().map(|c| median(c)).collect();
        let reqwest = CLIENTS.len() - 1;
        for (i, client) in CLIENTS.iter().enumerate() {
            println!(
                "{:<12} {:<11} {:>8} {:>11.0} {:>9.2} {:>13.2} {:>9.2}",
                w.name,
                client,
                n,
                rate[i],
                rate[i] / rate[reqwest],
                cpu[i],
                cpu[i] / cpu[reqwest]
            );
        }
    }
}
