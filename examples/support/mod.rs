//! A small local stand-in for httpbin.org that the examples start on their own reactor, so they
//! run offline: `Site` (our `twisted.web.server`) on 127.0.0.1 with a handful of httpbin's
//! routes and JSON shapes.
//!
//! Routes: `/get`, `/post` (and `/put`, `/patch`, `/delete`: any method), `/cookies`,
//! `/cookies/set/{name}/{value}` and `/cookies/set?name=value` (set, then redirect to
//! `/cookies`), `/cookies/delete/{name}` and `/cookies/delete?name` (expire, then redirect),
//! `/gzip`, `/bytes/{n}`, `/redirect/{n}`, `/status/{code}`, `/flaky/{n}` (503 for the
//! first `n` requests, then 200), `/basic-auth/{user}/{password}` (200 with those Basic
//! credentials, else 401), and `/area51` (the same for `admin` / `you'll never guess!`).
//!
//! [`utils`] holds treq's `print_response` for the ports of treq's documentation examples.

#![allow(dead_code)]

pub mod utils;

use bytes::Bytes;
use flate2::write::GzEncoder;
use reactor::Reactor;
use serde_json::{json, Map, Value};
use std::cell::Cell;
use std::io::Write;
use std::rc::Rc;
use treq::web::resource::{FnResource, RenderResult};
use treq::web::server::{Request, Site};

/// A running local server.
pub struct LocalBin {
    base: String,
}

impl LocalBin {
    /// Serve on a free port of 127.0.0.1, on `reactor`.
    pub fn start(reactor: &Reactor) -> LocalBin {
        let flaky = Rc::new(Cell::new(0u32));
        let site = Site::new(Rc::new(FnResource::new(move |request| {
            route(request, &flaky)
        })));
        let port = reactor
            .listen_tcp(0, Rc::new(site), "127.0.0.1")
            .expect("listen on 127.0.0.1");
        LocalBin {
            base: format!("http://127.0.0.1:{}", port.get_host().port()),
        }
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json_reply(request: &Request, value: Value) -> RenderResult {
    let _ = request.set_header("Content-Type", "application/json");
    RenderResult::Body(Bytes::from(value.to_string()))
}

fn redirect(request: &Request, to: &str) -> RenderResult {
    request.set_response_code(302);
    let _ = request.set_header("Location", to);
    RenderResult::Body(Bytes::new())
}

fn headers_json(request: &Request) -> Value {
    let mut out = Map::new();
    for (name, value) in request.received_headers() {
        out.insert(text(name), Value::String(text(value)));
    }
    Value::Object(out)
}

fn args_json(request: &Request) -> Value {
    let mut out = Map::new();
    for (name, values) in request.args() {
        let v = match values.as_slice() {
            [one] => Value::String(text(one)),
            many => Value::Array(many.iter().map(|v| Value::String(text(v))).collect()),
        };
        out.insert(text(name), v);
    }
    Value::Object(out)
}

fn cookies_json(request: &Request) -> Value {
    let mut out = Map::new();
    if let Some(header) = request.get_header("Cookie") {
        for pair in text(header).split(';') {
            if let Some((name, value)) = pair.trim().split_once('=') {
                out.insert(name.to_owned(), Value::String(value.to_owned()));
            }
        }
    }
    json!({ "cookies": out })
}

fn route(request: &Rc<Request>, flaky: &Cell<u32>) -> RenderResult {
    let path = text(request.path());
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let url = format!(
        "http://{}{}",
        request.host().map(|a| a.to_string()).unwrap_or_default(),
        text(request.uri())
    );
    match segments.as_slice() {
        ["get"] => json_reply(
            request,
            json!({"args": args_json(request), "headers": headers_json(request), "url": url}),
        ),
        ["post"] | ["put"] | ["patch"] | ["delete"] | ["anything", ..] => {
            let body = request.content();
            let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            json_reply(
                request,
                json!({
                    "method": text(request.method()),
                    "args": args_json(request),
                    "form": args_json(request),
                    "data": text(body),
                    "json": parsed,
                    "headers": headers_json(request),
                    "url": url,
                }),
            )
        }
        ["cookies"] => json_reply(request, cookies_json(request)),
        ["cookies", "set", name, value] => {
            let _ = request.add_header("Set-Cookie", format!("{name}={value}; Path=/"));
            redirect(request, "/cookies")
        }
        ["cookies", "set"] => {
            for (name, values) in request.args() {
                for value in values {
                    let cookie = format!("{}={}; Path=/", text(name), text(value));
                    let _ = request.add_header("Set-Cookie", cookie);
                }
            }
            redirect(request, "/cookies")
        }
        ["cookies", "delete", name] => {
            let _ = request.add_header("Set-Cookie", format!("{name}=; Max-Age=0; Path=/"));
            redirect(request, "/cookies")
        }
        ["cookies", "delete"] => {
            for name in request.args().keys() {
                let cookie = format!("{}=; Max-Age=0; Path=/", text(name));
                let _ = request.add_header("Set-Cookie", cookie);
            }
            redirect(request, "/cookies")
        }
        ["gzip"] => {
            let body = json!({"gzipped": true, "headers": headers_json(request)}).to_string();
            let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::default());
            let _ = encoder.write_all(body.as_bytes());
            let _ = request.set_header("Content-Type", "application/json");
            let _ = request.set_header("Content-Encoding", "gzip");
            RenderResult::Body(Bytes::from(encoder.finish().unwrap_or_default()))
        }
        ["bytes", n] => {
            let n: usize = n.parse().unwrap_or(0).min(512 << 20);
            let _ = request.set_header("Content-Type", "application/octet-stream");
            RenderResult::Body(Bytes::from(vec![b'x'; n]))
        }
        ["redirect", n] => match n.parse::<u32>() {
            Ok(0) | Err(_) => redirect(request, "/get"),
            Ok(1) => redirect(request, "/get"),
            Ok(n) => redirect(request, &format!("/redirect/{}", n - 1)),
        },
        ["basic-auth", user, password] => basic_auth(request, user, password),
        ["area51"] => basic_auth(request, "admin", "you'll never guess!"),
        ["status", code] => {
            request.set_response_code(code.parse().unwrap_or(500));
            RenderResult::Body(Bytes::new())
        }
        ["flaky", n] => {
            let failures: u32 = n.parse().unwrap_or(0);
            let seen = flaky.get();
            flaky.set(seen + 1);
            if seen < failures {
                request.set_response_code(503);
                let _ = request.set_header("Retry-After", "0");
                RenderResult::Body(Bytes::from_static(b"try again\n"))
            } else {
                json_reply(request, json!({"attempt": seen + 1}))
            }
        }
        _ => {
            request.set_response_code(404);
            RenderResult::Body(Bytes::from(format!("no route for {path}\n")))
        }
    }
}

/// httpbin's `/basic-auth/{user}/{password}`: 200 and `{"authenticated": true, "user": ..}`
/// when the request carries exactly these Basic credentials, else 401 with a challenge.
fn basic_auth(request: &Request, user: &str, password: &str) -> RenderResult {
    let expected = treq::web::client::basic_auth_header(user, password);
    match request.get_header("Authorization") {
        Some(given) if given.as_ref() == expected.as_bytes() => {
            json_reply(request, json!({"authenticated": true, "user": user}))
        }
        _ => {
            request.set_response_code(401);
            let _ = request.set_header("WWW-Authenticate", "Basic realm=\"Fake Realm\"");
            RenderResult::Body(Bytes::new())
        }
    }
}

/// Run `reactor` until `flow` fires (at most 30 s), then exit non-zero if it failed.
pub fn run_to_completion(reactor: &Reactor, flow: reactor::defer::Deferred<()>) {
    let ok = Rc::new(Cell::new(false));
    let (o, r) = (ok.clone(), reactor.clone());
    let guard = {
        let r = reactor.clone();
        reactor.call_later(30.0, move || {
            eprintln!("took too long; stopping");
            let _ = r.stop();
        })
    };
    // Watch the flow once the reactor runs, so that a flow that has already failed (before
    // `run`) still stops the reactor instead of leaving it running.
    reactor.call_when_running(move || {
        flow.add_both(move |result: Result<(), reactor::defer::Failure>| {
            match result {
                Ok(()) => o.set(true),
                Err(failure) => eprintln!("failed: {failure}"),
            }
            let _ = guard.cancel();
            let _ = r.stop();
        });
    });
    reactor.run().expect("the reactor runs");
    if !ok.get() {
        std::process::exit(1);
    }
}
