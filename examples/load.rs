//! Load run (issue 11): many concurrent keep-alive connections from one reactor through one
//! `HTTPConnectionPool` (bare `Agent`), to a local server in a child process.
//!
//! ```text
//! cargo run --release --example load -- [--c 10000] [--rounds 3]
//! ```
//!
//! It raises `RLIMIT_NOFILE` to its hard limit (the server child inherits it), then sends
//! `--c` GETs at once, each `GET /r/{id}` answered with its id (`support/raw_http.rs`, which
//! never closes a connection here). With no idle connection to take, each opens its own, so
//! `--c` connections are open together; the pool keeps them all (`max_persistent_per_host(c)`,
//! and no `max_connections_per_host`: unlimited, as Twisted). Each further round sends `--c`
//! GETs at once again, on those connections. Every request must get its own id back, the pool
//! must hold `--c` idle connections after every round and no new descriptor may open after
//! the first. It reports the client's RSS per open connection and CPU time per request of
//! each round, then closes the pool; all descriptors must close. Every round is bounded: it
//! fails when no request ends for 60 s. Exits 1 on any failure.

#[path = "support/raw_http.rs"]
mod raw_http;

use raw_http::{self_fds, self_rss_kib, ServerConfig, ServerProcess};
use reactor::defer::Failure;
use reactor::Reactor;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};
use treq::web::client::{read_body, Agent, HTTPConnectionPool, PoolKey};
use treq::web::iweb::IAgent;

fn parse_args() -> Result<(usize, usize), String> {
    let (mut c, mut rounds) = (10_000usize, 3usize);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let number = || value.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--c" => c = number()?.max(1),
            "--rounds" => rounds = number()?.max(1),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok((c, rounds))
}

/// Raise the soft `RLIMIT_NOFILE` to the hard one; returns the new soft limit.
#[allow(unsafe_code)]
fn raise_fd_limit() -> Result<u64, String> {
    // std has no wrapper for getrlimit/setrlimit; this example is the only place it is needed,
    // and the library itself forbids unsafe code.
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: RLIMIT_NOFILE is a valid resource and `limit` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(format!("getrlimit: {}", std::io::Error::last_os_error()));
    }
    limit.rlim_cur = limit.rlim_max;
    // SAFETY: as above; `limit` is initialised and only read by the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(format!("setrlimit: {}", std::io::Error::last_os_error()));
    }
    Ok(limit.rlim_cur)
}

/// User + system CPU seconds of this process (the server child is not counted).
#[allow(unsafe_code)]
fn cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: RUSAGE_SELF is valid and `usage` points to writable memory of the right size.
    let usage = unsafe {
        if libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) != 0 {
            return 0.0;
        }
        usage.assume_init()
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

struct Round {
    agent: Agent,
    reactor: Reactor,
    base: String,
    c: usize,
    offset: usize,
    finished: Cell<usize>,
    ok: Cell<usize>,
    errors: RefCell<Vec<String>>,
    error_count: Cell<usize>,
    mismatches: Cell<usize>,
    last_progress: Cell<Instant>,
    stalled: Cell<bool>,
}

impl Round {
    fn start(self: &Rc<Self>) {
        for i in 0..self.c {
            let id = self.offset + i;
            let me = self.clone();
            self.agent
                .request("GET", &format!("{}/r/{id}", self.base), None, None)
                .add_callback(|response| read_body(&response))
                .add_both(move |result: Result<bytes::Bytes, Failure>| me.end(id, result));
        }
        self.watch();
    }

    fn end(&self, id: usize, result: Result<bytes::Bytes, Failure>) {
        match result {
            Ok(body) if body == id.to_string().as_bytes() => self.ok.set(self.ok.get() + 1),
            Ok(body) => {
                self.mismatches.set(self.mismatches.get() + 1);
                eprintln!("load: request {id} got {body:?}");
            }
            Err(failure) => {
                self.error_count.set(self.error_count.get() + 1);
                let mut errors = self.errors.borrow_mut();
                if errors.len() < 5 {
                    errors.push(format!("request {id}: {}: {failure}", failure.type_name()));
                }
            }
        }
        self.finished.set(self.finished.get() + 1);
        self.last_progress.set(Instant::now());
        if self.finished.get() == self.c {
            let _ = self.reactor.stop();
        }
    }

    fn watch(self: &Rc<Self>) {
        let me = self.clone();
        self.reactor.call_later(1.0, move || {
            if me.finished.get() == me.c {
                return;
            }
            if me.last_progress.get().elapsed() > Duration::from_secs(60) {
                me.stalled.set(true);
                let _ = me.reactor.stop();
            } else {
                me.watch();
            }
        });
    }
}

fn main() {
    if let Some(config) = ServerConfig::from_args() {
        raw_http::serve(config);
    }
    let (c, rounds) = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("load: {message}");
            std::process::exit(2);
        }
    };
    let limit = match raise_fd_limit() {
        Ok(limit) => limit,
        Err(e) => {
            eprintln!("load: {e}");
            std::process::exit(1);
        }
    };
    if limit < c as u64 + 64 {
        eprintln!("load: RLIMIT_NOFILE is {limit} at most, too few for {c} connections");
        std::process::exit(1);
    }
    let server = match ServerProcess::spawn(ServerConfig {
        max_per_conn: 0,
        drop_per_mille: 0,
        seed: 1,
    }) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("load: {e}");
            std::process::exit(1);
        }
    };
    let reactor = Reactor::new();
    let pool = HTTPConnectionPool::new(&reactor, true).max_persistent_per_host(c);
    let agent = Agent::new(&reactor).pool(pool.clone());
    let key: PoolKey = ("http".to_owned(), "127.0.0.1".to_owned(), server.port);
    let base = format!("http://127.0.0.1:{}", server.port);
    let fds_before = self_fds();
    let rss_before = self_rss_kib();
    println!("load: {c} connections, {rounds} rounds, RLIMIT_NOFILE {limit}");

    let mut failures: Vec<String> = Vec::new();
    let mut fds_first = 0;
    let mut rss_first = 0;
    for round in 0..rounds {
        let r = Rc::new(Round {
            agent: agent.clone(),
            reactor: reactor.clone(),
            base: base.clone(),
            c,
            offset: round * c,
            finished: Cell::new(0),
            ok: Cell::new(0),
            errors: RefCell::new(Vec::new()),
            error_count: Cell::new(0),
            mismatches: Cell::new(0),
            last_progress: Cell::new(Instant::now()),
            stalled: Cell::new(false),
        });
        let cpu = cpu_seconds();
        let t = Instant::now();
        r.start();
        reactor.run().expect("reactor runs");
        let seconds = t.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu;
        let (fds, rss) = (self_fds(), self_rss_kib());
        let idle = pool.idle_count(&key);
        println!(
            "load: round {round}: {} of {c} ok, {} errors, {} mismatched in {seconds:.2} s; CPU {:.1} µs/request; {idle} idle in the pool; {fds} fds; VmRSS {rss} KiB",
            r.ok.get(),
            r.error_count.get(),
            r.mismatches.get(),
            cpu / c as f64 * 1e6,
        );
        for e in r.errors.borrow().iter() {
            println!("load:   e.g. {e}");
        }
        if round == 0 {
            fds_first = fds;
            rss_first = rss;
            println!(
                "load: {c} connections open: client VmRSS {rss_before} -> {rss} KiB, {:.2} KiB per connection; server VmRSS {} KiB",
                (rss.saturating_sub(rss_before)) as f64 / c as f64,
                server.rss_kib().map_or("?".to_owned(), |k| k.to_string()),
            );
        } else if fds > fds_first {
            failures.push(format!(
                "round {round}: {} more descriptors than after round 0",
                fds - fds_first
            ));
        }
        if r.stalled.get() {
            failures.push(format!(
                "round {round}: stalled, {} of {c} ended",
                r.finished.get()
            ));
        }
        if r.ok.get() != c {
            failures.push(format!("round {round}: {} of {c} ok", r.ok.get()));
        }
        if idle != c {
            failures.push(format!("round {round}: {idle} idle connections, not {c}"));
        }
        if !failures.is_empty() {
            break;
        }
    }
    let rss_end = self_rss_kib();

    let closed = Rc::new(Cell::new(false));
    let flag = closed.clone();
    let stopper = reactor.clone();
    pool.close_cached_connections().add_both(move |_| {
        flag.set(true);
        let _ = stopper.stop();
    });
    let stopper = reactor.clone();
    let bound = reactor.call_later(20.0, move || {
        let _ = stopper.stop();
    });
    if !closed.get() {
        reactor.run().expect("reactor runs");
    }
    if bound.active() {
        let _ = bound.cancel();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut fds_after = self_fds();
    while fds_after > fds_before && Instant::now() < deadline {
        let stopper = reactor.clone();
        reactor.call_later(0.05, move || {
            let _ = stopper.stop();
        });
        reactor.run().expect("reactor runs");
        fds_after = self_fds();
    }
    server.stop();
    println!(
        "load: fds {fds_before} before, {fds_first} with {c} connections open, {fds_after} after the pool closed; VmRSS {rss_first} KiB after round 0, {rss_end} KiB after the last"
    );
    if fds_after > fds_before {
        failures.push(format!(
            "{} descriptors left open after the pool closed",
            fds_after - fds_before
        ));
    }
    if failures.is_empty() {
        println!("load: ok");
    } else {
        for f in &failures {
            eprintln!("load: FAILED: {f}");
        }
        std::process::exit(1);
    }
}
