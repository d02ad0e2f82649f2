//! The benchmark client for the referee in `shared/bench` (see its README for the contract):
//!
//! ```text
//! bench_client --mode seq|conc|newconn|download|upload --url URL --n N --c C [--size BYTES]
//!              [--ca CA.pem] [--api agent|treq] [--busy-poll-us MICROSECONDS]
//! ```
//!
//! prints one JSON line. It is written as a user would write it: `Agent` + `HTTPConnectionPool`,
//! Deferred callbacks on the reactor, the download read through `deliver_body`, the upload
//! streamed from an `IBodyProducer` that honours pause/resume (one 64 KiB slice sent over and
//! over: the referee's peers build the 64 MiB body in RAM, ours is never whole). `--ca` trusts a
//! private CA for https URLs (`BrowserLikePolicyForHTTPS::with_trust_root`). `--api treq` makes
//! the GETs of `seq`, `conc` and `newconn` through treq's `HTTPClient` (cookies, redirects, gzip,
//! buffered response) instead of the bare `Agent`, to measure what the treq layer costs.
//! `--busy-poll-us` sets the reactor's spin budget (`Reactor::set_busy_poll`; 0 turns it off).

use bytes::Bytes;
use reactor::defer::{Deferred, Failure};
use reactor::interfaces::{IConsumer, IProtocol, ITransport};
use reactor::tls::TrustRoot;
use reactor::Reactor;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Instant;
use treq::client::HTTPClient;
use treq::web::client::{read_body, Agent, BrowserLikePolicyForHTTPS, HTTPConnectionPool};
use treq::web::iweb::{IAgent, IBodyProducer};

struct Args {
    mode: String,
    url: String,
    n: usize,
    c: usize,
    size: usize,
    ca: Option<String>,
    treq: bool,
    /// `--busy-poll-us`: the reactor's spin budget (default: the reactor's own).
    busy_poll: Option<std::time::Duration>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        mode: "seq".into(),
        url: String::new(),
        n: 1000,
        c: 1,
        size: 0,
        ca: None,
        treq: false,
        busy_poll: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let number = || value.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--mode" => args.mode = value.clone(),
            "--url" => args.url = value.clone(),
            "--n" => args.n = number()?,
            "--c" => args.c = number()?.max(1),
            "--size" => args.size = number()?,
            "--ca" => args.ca = Some(value.clone()),
            "--busy-poll-us" => {
                args.busy_poll = Some(std::time::Duration::from_micros(number()? as u64))
            }
            "--api" => match value.as_str() {
                "agent" => args.treq = false,
                "treq" => args.treq = true,
                other => return Err(format!("--api: agent or treq, not {other}")),
            },
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if args.url.is_empty() {
        return Err("--url is required".into());
    }
    Ok(args)
}

/// User + system CPU seconds of this process (what the referee's other clients report).
#[allow(unsafe_code)]
fn cpu_seconds() -> f64 {
    // getrusage has no safe wrapper in std; this example is the only place it is used, and the
    // library itself forbids unsafe code.
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

/// Counts a streamed response body.
#[derive(Default)]
struct Counter {
    bytes: Cell<u64>,
    done: RefCell<Option<Deferred<u64>>>,
}

impl IProtocol for Counter {
    fn make_connection(&self, _transport: Rc<dyn ITransport>) {}
    fn data_received(&self, data: Bytes) {
        self.bytes.set(self.bytes.get() + data.len() as u64);
    }
    fn connection_lost(&self, _reason: Failure) {
        // ResponseDone (or PotentialDataLoss): the count is what arrived.
        let done = self.done.borrow_mut().take();
        if let Some(d) = done {
            let _ = d.callback(self.bytes.get());
        }
    }
}

/// The piece an upload is streamed in: 64 KiB, the read size of `FileBodyProducer` (and of
/// Twisted's). Measured against 16, 32 and 256 KiB and 1 MiB (docs/benchmarks-history.md): 256 KiB
/// slices uploaded about 12 % slower; 128 KiB about 6 % slower (docs/benchmarks.md).
const UPLOAD_SLICE: usize = 64 * 1024;

/// Streams a body of `size` bytes as the same 64 KiB slice again and again, pausing when the
/// consumer says so: a 64 MiB upload never holds more than a slice (plus the socket's buffer).
struct SliceProducer {
    reactor: Reactor,
    slice: Bytes,
    size: usize,
    sent: Cell<usize>,
    paused: Cell<bool>,
    consumer: RefCell<Option<Rc<dyn IConsumer>>>,
    finished: RefCell<Option<Deferred<()>>>,
    me: RefCell<Option<Rc<SliceProducer>>>,
}

impl SliceProducer {
    fn produce(&self) {
        let Some(consumer) = self.consumer.borrow().clone() else {
            return;
        };
        while !self.paused.get() && self.sent.get() < self.size {
            let n = self.slice.len().min(self.size - self.sent.get());
            self.sent.set(self.sent.get() + n);
            consumer.write(&self.slice[..n]);
        }
        if self.sent.get() >= self.size {
            self.consumer.borrow_mut().take();
            self.me.borrow_mut().take();
            let finished = self.finished.borrow_mut().take();
            if let Some(d) = finished {
                let _ = d.callback(());
            }
        }
    }
}

impl IBodyProducer for SliceProducer {
    fn length(&self) -> Option<u64> {
        Some(self.size as u64)
    }
    fn start_producing(&self, consumer: Rc<dyn IConsumer>) -> Deferred<()> {
        let d = Deferred::new();
        *self.finished.borrow_mut() = Some(d.clone());
        *self.consumer.borrow_mut() = Some(consumer);
        self.produce();
        d
    }
    fn pause_producing(&self) {
        self.paused.set(true);
    }
    fn resume_producing(&self) {
        if self.paused.replace(false) {
            let me = self.me.borrow().clone();
            if let Some(me) = me {
                self.reactor.call_soon(move || me.produce());
            }
        }
    }
    fn stop_producing(&self) {
        self.consumer.borrow_mut().take();
        self.me.borrow_mut().take();
    }
}

/// Shared run state: requests left to start, results.
struct Run {
    agent: Agent,
    client: HTTPClient,
    args: Args,
    started: Cell<usize>,
    finished: Cell<usize>,
    errors: Cell<usize>,
    bytes: Cell<u64>,
    reactor: Reactor,
    upload: Bytes,
}

impl Run {
    /// Start the next request if any is left; each completion starts another.
    fn next(self: &Rc<Self>) {
        if self.started.get() >= self.args.n {
            return;
        }
        self.started.set(self.started.get() + 1);
        let me = self.clone();
        let body: Deferred<u64> = match self.args.mode.as_str() {
            "download" => self
                .agent
                .request("GET", &self.args.url, None, None)
                .add_callback(|response| {
                    let counter = Rc::new(Counter::default());
                    let done = Deferred::new();
                    *counter.done.borrow_mut() = Some(done.clone());
                    match response.deliver_body(counter) {
                        Ok(()) => done,
                        Err(e) => Deferred::fail(e),
                    }
                }),
            "upload" => {
                let producer = Rc::new(SliceProducer {
                    reactor: self.reactor.clone(),
                    slice: self.upload.clone(),
                    size: self.args.size,
                    sent: Cell::new(0),
                    paused: Cell::new(false),
                    consumer: RefCell::new(None),
                    finished: RefCell::new(None),
                    me: RefCell::new(None),
                });
                *producer.me.borrow_mut() = Some(producer.clone());
                let size = self.args.size as u64;
                self.agent
                    .request("POST", &self.args.url, None, Some(producer))
                    .add_callback(|response| read_body(&response))
                    .add_callback(move |_| size)
            }
            _ if self.args.treq => self
                .client
                .get(self.args.url.as_str())
                .send()
                .add_callback(|response: treq::response::Response| response.content())
                .add_callback(|body| body.len() as u64),
            _ => self
                .agent
                .request("GET", &self.args.url, None, None)
                .add_callback(|response| read_body(&response))
                .add_callback(|body| body.len() as u64),
        };
        body.add_both(move |result| {
            match result {
                Ok(n) => me.bytes.set(me.bytes.get() + n),
                Err(failure) => {
                    if me.errors.get() == 0 {
                        eprintln!("bench_client: first error: {failure}");
                    }
                    me.errors.set(me.errors.get() + 1);
                }
            }
            me.finished.set(me.finished.get() + 1);
            if me.finished.get() == me.args.n {
                let _ = me.reactor.stop();
            } else {
                me.next();
            }
        });
    }
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("bench_client: {message}");
            std::process::exit(2);
        }
    };
    let reactor = Reactor::new();
    if let Some(budget) = args.busy_poll {
        reactor.set_busy_poll(budget);
    }
    let persistent = args.mode != "newconn";
    let concurrency = if args.mode == "conc" { args.c } else { 1 };
    let pool = HTTPConnectionPool::new(&reactor, persistent).max_persistent_per_host(concurrency);
    let mut agent = Agent::new(&reactor).pool(pool);
    if let Some(path) = &args.ca {
        let trust = std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|pem| TrustRoot::from_pem(&pem).map_err(|e| e.to_string()));
        match trust {
            Ok(root) => {
                agent = agent.context_factory(BrowserLikePolicyForHTTPS::with_trust_root(root))
            }
            Err(e) => {
                eprintln!("bench_client: --ca {path}: {e}");
                std::process::exit(2);
            }
        }
    }
    let run = Rc::new(Run {
        client: HTTPClient::new(agent.clone()),
        agent,
        upload: Bytes::from(vec![b'x'; args.size.min(UPLOAD_SLICE)]),
        args,
        started: Cell::new(0),
        finished: Cell::new(0),
        errors: Cell::new(0),
        bytes: Cell::new(0),
        reactor: reactor.clone(),
    });
    let cpu_before = cpu_seconds();
    let t = Instant::now();
    if run.args.n > 0 {
        for _ in 0..concurrency {
            run.next();
        }
        reactor.run().expect("reactor runs");
    }
    let seconds = t.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    let a = &run.args;
    println!(
        "{{\"client\":\"{}\",\"mode\":\"{}\",\"url\":\"{}\",\"requests\":{},\"concurrency\":{},\"errors\":{},\"bytes\":{},\"seconds\":{:.6},\"req_per_s\":{:.1},\"mib_per_s\":{:.2},\"cpu_s\":{:.4}}}",
        if a.treq { "treq-rs-client" } else { "treq-rs" },
        a.mode,
        a.url,
        run.finished.get(),
        concurrency,
        run.errors.get(),
        run.bytes.get(),
        seconds,
        run.finished.get() as f64 / seconds,
        run.bytes.get() as f64 / seconds / (1024.0 * 1024.0),
        cpu
    );
}
