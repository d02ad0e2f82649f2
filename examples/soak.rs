//! Soak run (issue 11): many requests through one `HTTPConnectionPool`, through the bare
//! `Agent`, to a local server that closes keep-alive connections at random.
//!
//! ```text
//! cargo run --release --example soak -- [--n 1000000] [--c 64] [--max-per-conn 50]
//!     [--drop-per-mille 5] [--samples 100] [--seed S] [--rss-growth-mib 16] [--fd-growth 16]
//! ```
//!
//! The server (`support/raw_http.rs`) runs in a child process: it closes each connection after
//! a random 1..=`--max-per-conn` requests (announced with `Connection: close` or not), and
//! closes right after reading a request, unanswered, `--drop-per-mille` times in 1000.
//! The client keeps `--c` requests in flight, each `GET /r/{id}`; the server echoes the id in
//! a header and the body. Every request must end exactly once, in a response carrying its own
//! id or in an error (counted by type). File descriptors (`/proc/self/fd`) and `VmRSS` are
//! sampled `--samples` times; after the first tenth of the run (warm-up), neither may grow by
//! more than the bounds. Exits 1 on a lost, duplicated or mismatched request, a stall (no
//! request ending for 30 s), growth past a bound, or descriptors left open at the end.

#[path = "support/raw_http.rs"]
mod raw_http;

use raw_http::{self_fds, self_rss_kib, ServerConfig, ServerProcess};
use reactor::defer::Failure;
use reactor::Reactor;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};
use treq::web::client::{read_body, Agent, HTTPConnectionPool};
use treq::web::iweb::IAgent;

struct Args {
    n: usize,
    c: usize,
    max_per_conn: u32,
    drop_per_mille: u32,
    samples: usize,
    seed: u64,
    rss_growth_mib: u64,
    fd_growth: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        n: 1_000_000,
        c: 64,
        max_per_conn: 50,
        drop_per_mille: 5,
        samples: 100,
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
        rss_growth_mib: 16,
        fd_growth: 16,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let number = || value.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--n" => args.n = number()? as usize,
            "--c" => args.c = (number()? as usize).max(1),
            "--max-per-conn" => args.max_per_conn = number()? as u32,
            "--drop-per-mille" => args.drop_per_mille = number()?.min(1000) as u32,
            "--samples" => args.samples = (number()? as usize).max(2),
            "--seed" => args.seed = number()?,
            "--rss-growth-mib" => args.rss_growth_mib = number()?,
            "--fd-growth" => args.fd_growth = number()? as usize,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(args)
}

/// How each request ended.
// Not 0: the state vector is written in full at the start, so its pages count before warm-up.
const PENDING: u8 = 3;
const RESPONDED: u8 = 1;
const FAILED: u8 = 2;

#[derive(Clone, Copy)]
struct Sample {
    done: usize,
    fds: usize,
    rss_kib: u64,
}

struct Run {
    agent: Agent,
    reactor: Reactor,
    base: String,
    n: usize,
    sample_every: usize,
    started: Cell<usize>,
    finished: Cell<usize>,
    state: RefCell<Vec<u8>>,
    responses: Cell<usize>,
    errors: RefCell<BTreeMap<&'static str, usize>>,
    first_errors: RefCell<Vec<String>>,
    duplicates: Cell<usize>,
    mismatches: Cell<usize>,
    samples: RefCell<Vec<Sample>>,
    last_progress: Cell<Instant>,
    stalled: Cell<bool>,
}

impl Run {
    fn next(self: &Rc<Self>) {
        let id = self.started.get();
        if id >= self.n {
            return;
        }
        self.started.set(id + 1);
        let me = self.clone();
        let url = format!("{}/r/{id}", self.base);
        self.agent
            .request("GET", &url, None, None)
            .add_callback(move |response| {
                let echoed = response.headers.get_first("x-request-id").cloned();
                read_body(&response).add_callback(move |body| (echoed, body))
            })
            .add_both(move |result| {
                me.end(id, result);
            });
    }

    fn end(
        self: &Rc<Self>,
        id: usize,
        result: Result<(Option<bytes::Bytes>, bytes::Bytes), Failure>,
    ) {
        let outcome = match &result {
            Ok(_) => RESPONDED,
            Err(_) => FAILED,
        };
        {
            let mut state = self.state.borrow_mut();
            if state[id] != PENDING {
                self.duplicates.set(self.duplicates.get() + 1);
                eprintln!("soak: request {id} ended a second time");
                return;
            }
            state[id] = outcome;
        }
        match result {
            Ok((echoed, body)) => {
                let want = id.to_string();
                if echoed.as_deref() != Some(want.as_bytes()) || body != want.as_bytes() {
                    self.mismatches.set(self.mismatches.get() + 1);
                    if self.mismatches.get() <= 5 {
                        eprintln!(
                            "soak: request {id} got the response for {:?} / body {:?}",
                            echoed, body
                        );
                    }
                }
                self.responses.set(self.responses.get() + 1);
            }
            Err(failure) => {
                *self
                    .errors
                    .borrow_mut()
                    .entry(failure.type_name())
                    .or_default() += 1;
                let mut first = self.first_errors.borrow_mut();
                if first.len() < 5 {
                    first.push(format!("request {id}: {failure}"));
                }
            }
        }
        let done = self.finished.get() + 1;
        self.finished.set(done);
        self.last_progress.set(Instant::now());
        if done % self.sample_every == 0 || done == self.n {
            self.samples.borrow_mut().push(Sample {
                done,
                fds: self_fds(),
                rss_kib: self_rss_kib(),
            });
        }
        if done == self.n {
            let _ = self.reactor.stop();
        } else {
            self.next();
        }
    }

    /// Stops the run when nothing has ended for 30 s.
    fn watch(self: &Rc<Self>) {
        let me = self.clone();
        self.reactor.call_later(1.0, move || {
            if me.finished.get() == me.n {
                return;
            }
            if me.last_progress.get().elapsed() > Duration::from_secs(30) {
                me.stalled.set(true);
                let _ = me.reactor.stop();
            } else {
                me.watch();
            }
        });
    }
}

/// What each open descriptor points to (`/proc/self/fd/N -> target`).
fn fd_names() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| {
            let target = std::fs::read_link(e.path()).ok()?;
            Some(format!(
                "{} -> {}",
                e.file_name().to_string_lossy(),
                target.display()
            ))
        })
        .collect()
}

fn main() {
    if let Some(config) = ServerConfig::from_args() {
        raw_http::serve(config);
    }
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("soak: {message}");
            std::process::exit(2);
        }
    };
    let server = match ServerProcess::spawn(ServerConfig {
        max_per_conn: args.max_per_conn,
        drop_per_mille: args.drop_per_mille,
        seed: args.seed,
    }) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("soak: {e}");
            std::process::exit(1);
        }
    };
    let reactor = Reactor::new();
    let pool = HTTPConnectionPool::new(&reactor, true).max_persistent_per_host(args.c);
    let agent = Agent::new(&reactor).pool(pool.clone());
    // Counted once the reactor (its poller and waker) exists.
    let fds_before = self_fds();
    let fd_names_before = fd_names();
    let run = Rc::new(Run {
        agent,
        reactor: reactor.clone(),
        base: format!("http://127.0.0.1:{}", server.port),
        n: args.n,
        sample_every: (args.n / args.samples).max(1),
        started: Cell::new(0),
        finished: Cell::new(0),
        state: RefCell::new(vec![PENDING; args.n]),
        responses: Cell::new(0),
        errors: RefCell::new(BTreeMap::new()),
        first_errors: RefCell::new(Vec::new()),
        duplicates: Cell::new(0),
        mismatches: Cell::new(0),
        samples: RefCell::new(Vec::with_capacity(args.samples + 2)),
        last_progress: Cell::new(Instant::now()),
        stalled: Cell::new(false),
    });
    run.samples.borrow_mut().push(Sample {
        done: 0,
        fds: fds_before,
        rss_kib: self_rss_kib(),
    });
    println!(
        "soak: {} requests, {} in flight, server closes after 1..={} requests and drops {}/1000 unanswered, seed {}",
        args.n, args.c, args.max_per_conn, args.drop_per_mille, args.seed
    );
    let t = Instant::now();
    if args.n > 0 {
        for _ in 0..args.c.min(args.n) {
            run.next();
        }
        run.watch();
        reactor.run().expect("reactor runs");
    }
    let seconds = t.elapsed().as_secs_f64();

    // Empty the pool; every client socket must close.
    let closed = Rc::new(Cell::new(false));
    {
        let flag = closed.clone();
        let reactor2 = reactor.clone();
        pool.close_cached_connections().add_both(move |_| {
            flag.set(true);
            let _ = reactor2.stop();
        });
        let reactor3 = reactor.clone();
        let bound = reactor.call_later(10.0, move || {
            let _ = reactor3.stop();
        });
        if !closed.get() {
            reactor.run().expect("reactor runs");
        }
        if bound.active() {
            let _ = bound.cancel();
        }
    }
    // Let the closes finish (bounded: 5 s).
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut fds_after = self_fds();
    while fds_after > fds_before && Instant::now() < deadline {
        let r = reactor.clone();
        reactor.call_later(0.05, move || {
            let _ = r.stop();
        });
        reactor.run().expect("reactor runs");
        fds_after = self_fds();
    }
    let server_rss = server.rss_kib();
    server.stop();

    let state = run.state.borrow();
    let lost = state.iter().filter(|&&s| s == PENDING).count();
    let failed = state.iter().filter(|&&s| s == FAILED).count();
    let samples = run.samples.borrow();
    let warm = samples
        .iter()
        .find(|s| s.done >= args.n / 10)
        .copied()
        .unwrap_or(samples[0]);
    let after_warm: Vec<Sample> = samples
        .iter()
        .filter(|s| s.done >= warm.done)
        .copied()
        .collect();
    let max_fds = after_warm.iter().map(|s| s.fds).max().unwrap_or(warm.fds);
    let max_rss = after_warm
        .iter()
        .map(|s| s.rss_kib)
        .max()
        .unwrap_or(warm.rss_kib);
    let last = *samples.last().expect("a sample");
    let fd_growth = max_fds.saturating_sub(warm.fds);
    let rss_growth_kib = max_rss.saturating_sub(warm.rss_kib);

    println!(
        "soak: {} ended in {seconds:.1} s ({:.0} req/s): {} responses, {} errors, {} lost, {} duplicated, {} mismatched",
        run.finished.get(),
        run.finished.get() as f64 / seconds,
        run.responses.get(),
        failed,
        lost,
        run.duplicates.get(),
        run.mismatches.get()
    );
    for (kind, count) in run.errors.borrow().iter() {
        println!("soak:   error {kind}: {count}");
    }
    for line in run.first_errors.borrow().iter() {
        println!("soak:   e.g. {line}");
    }
    println!(
        "soak: fds: {} before, {} after warm-up, max {} after it, {} at the end of the run, {} after the pool closed",
        fds_before, warm.fds, max_fds, last.fds, fds_after
    );
    println!(
        "soak: client VmRSS: {} KiB at start, {} KiB after warm-up, max {} KiB after it (+{} KiB), {} KiB at the end; server VmRSS {} KiB",
        samples[0].rss_kib,
        warm.rss_kib,
        max_rss,
        rss_growth_kib,
        last.rss_kib,
        server_rss.map_or("?".to_owned(), |k| k.to_string())
    );
    let samples_line: Vec<String> = samples
        .iter()
        .step_by((samples.len() / 10).max(1))
        .map(|s| format!("{}:{}fd/{}KiB", s.done, s.fds, s.rss_kib))
        .collect();
    println!("soak: samples (done:fds/rss) {}", samples_line.join(" "));

    let mut failures = Vec::new();
    if run.stalled.get() {
        failures.push(format!(
            "stalled: nothing ended for 30 s, {lost} requests pending"
        ));
    }
    if lost > 0 {
        failures.push(format!("{lost} requests never ended"));
    }
    if run.duplicates.get() > 0 {
        failures.push(format!("{} requests ended twice", run.duplicates.get()));
    }
    if run.mismatches.get() > 0 {
        failures.push(format!(
            "{} responses carried another request's id",
            run.mismatches.get()
        ));
    }
    if fd_growth > args.fd_growth {
        failures.push(format!(
            "fds grew by {fd_growth} after warm-up (bound {})",
            args.fd_growth
        ));
    }
    if rss_growth_kib > args.rss_growth_mib * 1024 {
        failures.push(format!(
            "RSS grew by {rss_growth_kib} KiB after warm-up (bound {} MiB)",
            args.rss_growth_mib
        ));
    }
    if fds_after > fds_before {
        let before = fd_names_before.clone();
        for name in fd_names().into_iter().filter(|n| !before.contains(n)) {
            eprintln!("soak: open at the end: {name}");
        }
        failures.push(format!(
            "{} descriptors left open after the pool closed",
            fds_after - fds_before
        ));
    }
    if failures.is_empty() {
        println!("soak: ok");
    } else {
        for f in &failures {
            eprintln!("soak: FAILED: {f}");
        }
        std::process::exit(1);
    }
}
