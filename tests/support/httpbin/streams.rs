//! Routes about time and size: `/delay/{n}`, `/stream/{n}`, `/bytes/{n}`,
//! `/stream-bytes/{n}`, `/drip`.
//!
//! Limits keep a test from waiting or allocating without bound: delays and drip durations at
//! most [`MAX_DELAY`] seconds, `/stream` at most 100 lines, `/bytes` and `/stream-bytes` at most
//! [`MAX_BYTES`]. The "random" bytes come from a small generator seeded by `?seed=` (0 when
//! absent), so a test can predict them.

use super::methods::body_json;
use super::reply::{self, Out, Reply};
use super::request::Exchange;
use hyper::body::Bytes;
use serde_json::json;
use std::collections::VecDeque;
use std::time::Duration;

/// The longest `/delay` or `/drip` wait, in seconds.
pub const MAX_DELAY: f64 = 10.0;
/// The most bytes `/bytes`, `/stream-bytes` and `/drip` send.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// The most lines `/stream` sends.
pub const MAX_LINES: usize = 100;

fn seconds(text: &str) -> Option<Duration> {
    let s = text
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)?;
    Some(Duration::from_secs_f64(s.min(MAX_DELAY)))
}

fn count(text: &str, max: usize) -> Option<usize> {
    text.parse::<usize>().ok().map(|n| n.min(max))
}

/// `/delay/{n}`: wait `n` seconds (at most [`MAX_DELAY`]), then answer as `/anything` without
/// `method`.
pub async fn delay(ex: &Exchange, n: &str) -> Reply {
    let Some(pause) = seconds(n) else {
        return reply::error(400, &format!("invalid delay {n:?}"));
    };
    tokio::time::sleep(pause).await;
    match body_json(ex) {
        Ok(value) => reply::json(200, &value),
        Err(e) => reply::error(400, e.0),
    }
}

/// `/stream/{n}`: `n` lines (at most [`MAX_LINES`]), each a JSON object with `id`, `args`,
/// `headers`, `origin`, `url`, sent chunked.
pub fn stream(ex: &Exchange, n: &str) -> Reply {
    let Some(n) = count(n, MAX_LINES) else {
        return reply::error(400, &format!("invalid line count {n:?}"));
    };
    let lines = (0..n)
        .map(|id| {
            let line = json!({
                "id": id,
                "args": ex.args(),
                "headers": ex.headers_json(),
                "origin": ex.origin(),
                "url": ex.url(),
            });
            Bytes::from(line.to_string() + "\n")
        })
        .collect();
    reply::chunked("application/json", lines)
}

/// A xorshift64* generator: cheap, deterministic bytes for a seed.
pub struct Prng(u64);

impl Prng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Prng {
        Prng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            out.extend_from_slice(&self.0.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        }
        out.truncate(n);
        out
    }
}

fn prng(ex: &Exchange) -> Prng {
    Prng::new(ex.arg("seed").and_then(|s| s.parse().ok()).unwrap_or(0))
}

/// `/bytes/{n}`: `n` bytes (at most [`MAX_BYTES`]) from the generator, with a
/// `Content-Length`.
pub fn bytes(ex: &Exchange, n: &str) -> Reply {
    let Some(n) = count(n, MAX_BYTES) else {
        return reply::error(400, &format!("invalid byte count {n:?}"));
    };
    reply::bytes(200, "application/octet-stream", prng(ex).bytes(n))
}

/// `/stream-bytes/{n}?chunk_size=`: the same bytes as `/bytes/{n}`, chunked in pieces of
/// `chunk_size` (default 10 KiB).
pub fn stream_bytes(ex: &Exchange, n: &str) -> Reply {
    let Some(n) = count(n, MAX_BYTES) else {
        return reply::error(400, &format!("invalid byte count {n:?}"));
    };
    let chunk = ex
        .arg("chunk_size")
        .and_then(|c| c.parse::<usize>().ok())
        .filter(|c| *c > 0)
        .unwrap_or(10 * 1024);
    let all = Bytes::from(prng(ex).bytes(n));
    let pieces = (0..n)
        .step_by(chunk)
        .map(|at| all.slice(at..(at + chunk).min(n)))
        .collect();
    reply::chunked("application/octet-stream", pieces)
}

/// `/drip?numbytes=10&duration=2&delay=0&code=200`: wait `delay` seconds, then send
/// `numbytes` `*` bytes one at a time spread over `duration` seconds, with a
/// `Content-Length`.
pub async fn drip(ex: &Exchange) -> Reply {
    let arg = |name: &str, default: &str| ex.arg(name).unwrap_or_else(|| default.to_owned());
    let (Some(numbytes), Some(duration), Some(delay), Ok(code)) = (
        count(&arg("numbytes", "10"), MAX_BYTES),
        seconds(&arg("duration", "2")),
        seconds(&arg("delay", "0")),
        arg("code", "200").parse::<u16>(),
    ) else {
        return reply::error(400, "invalid drip parameters");
    };
    if !(200..600).contains(&code) {
        return reply::error(400, &format!("invalid status code {code}"));
    }
    tokio::time::sleep(delay).await;
    let interval = if numbytes == 0 {
        Duration::ZERO
    } else {
        duration / numbytes as u32
    };
    let pieces: VecDeque<Bytes> = (0..numbytes).map(|_| Bytes::from_static(b"*")).collect();
    let mut response = hyper::Response::new(Out::Drip {
        pieces,
        interval,
        sleep: None,
        total: numbytes as u64,
    });
    *response.status_mut() = hyper::StatusCode::from_u16(code).unwrap_or(hyper::StatusCode::OK);
    reply::set(&mut response, "content-type", "application/octet-stream");
    response
}
