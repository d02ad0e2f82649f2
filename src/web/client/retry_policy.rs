//! [`RetryPolicy`]: when and how often [`RetryAgent`](super::RetryAgent) (and treq's `retry=`)
//! sends a request again, and how long it waits in between.

use crate::web::http_headers::Headers;
use std::time::SystemTime;

/// The status codes retried by default: 429 Too Many Requests, 502 Bad Gateway,
/// 503 Service Unavailable, 504 Gateway Timeout.
pub const DEFAULT_RETRY_STATUSES: [u16; 4] = [429, 502, 503, 504];

/// The methods retried without [`RetryPolicy::retry_non_idempotent`] (RFC 9110 §9.2.2).
pub const IDEMPOTENT_METHODS: [&str; 6] = ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"];

/// When to retry, and how long to wait.
///
/// A request is retried after a connect error, a connection reset or lost before the whole
/// response head arrived, an attempt that ran past
/// [`attempt_timeout`](Self::attempt_timeout), or a response whose status is in
/// [`statuses`](Self::statuses) — at most [`max_retries`](Self::max_retries) times, and never
/// past [`total_timeout`](Self::total_timeout). Only idempotent methods
/// ([`IDEMPOTENT_METHODS`]) are retried unless [`retry_non_idempotent`](Self::retry_non_idempotent)
/// is set, and a request whose body cannot be sent again (its producer has no
/// [`immediate_body`](crate::web::iweb::IBodyProducer::immediate_body)) is never retried.
///
/// Retry `n` (from 1) waits `backoff_factor * 2^(n-1)` seconds, at most
/// [`max_backoff`](Self::max_backoff), less a random part of up to [`jitter`](Self::jitter) of
/// it; a response's `Retry-After` (seconds or an HTTP date) replaces that wait, unless it is
/// longer than [`max_retry_after`](Self::max_retry_after), in which case the response is
/// given back as it is. When retries run out the last response (whatever its status) or the
/// last failure is the result.
///
/// ```
/// use treq::web::client::RetryPolicy;
///
/// let policy = RetryPolicy::new().max_retries(5).backoff_factor(0.2).statuses([503]);
/// assert_eq!(policy.get_max_retries(), 5);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub(super) max_retries: u32,
    pub(super) backoff_factor: f64,
    pub(super) max_backoff: f64,
    pub(super) jitter: f64,
    pub(super) seed: Option<u64>,
    pub(super) statuses: Vec<u16>,
    pub(super) retry_non_idempotent: bool,
    pub(super) respect_retry_after: bool,
    pub(super) max_retry_after: f64,
    pub(super) total_timeout: Option<f64>,
    pub(super) attempt_timeout: Option<f64>,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy::new()
    }
}

impl From<u32> for RetryPolicy {
    /// The default policy with `max_retries` retries.
    fn from(max_retries: u32) -> RetryPolicy {
        RetryPolicy::new().max_retries(max_retries)
    }
}

impl RetryPolicy {
    /// 3 retries, backoff 0.5 s doubling up to 30 s with 50 % jitter, on
    /// [`DEFAULT_RETRY_STATUSES`], idempotent methods only, `Retry-After` honoured up to
    /// 300 s, no bound on the total time or on one attempt.
    pub fn new() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            backoff_factor: 0.5,
            max_backoff: 30.0,
            jitter: 0.5,
            seed: None,
            statuses: DEFAULT_RETRY_STATUSES.to_vec(),
            retry_non_idempotent: false,
            respect_retry_after: true,
            max_retry_after: 300.0,
            total_timeout: None,
            attempt_timeout: None,
        }
    }

    /// Retry at most `n` times (so at most `n + 1` attempts).
    pub fn max_retries(mut self, n: u32) -> RetryPolicy {
        self.max_retries = n;
        self
    }

    /// The first wait, in seconds; each retry doubles it.
    pub fn backoff_factor(mut self, seconds: f64) -> RetryPolicy {
        self.backoff_factor = seconds.max(0.0);
        self
    }

    /// The longest backoff wait, in seconds (`Retry-After` is bounded by
    /// [`max_retry_after`](Self::max_retry_after) instead).
    pub fn max_backoff(mut self, seconds: f64) -> RetryPolicy {
        self.max_backoff = seconds.max(0.0);
        self
    }

    /// The share of each backoff wait, from 0 to 1, that is taken off at random (0: waits are
    /// exact). Spreads out clients that failed together.
    pub fn jitter(mut self, fraction: f64) -> RetryPolicy {
        self.jitter = fraction.clamp(0.0, 1.0);
        self
    }

    /// Seed the jitter's random numbers, for waits that repeat from run to run (tests).
    /// Unseeded, the seed comes from the system time.
    pub fn seed(mut self, seed: u64) -> RetryPolicy {
        self.seed = Some(seed);
        self
    }

    /// Retry responses with these status codes (default [`DEFAULT_RETRY_STATUSES`]).
    pub fn statuses(mut self, codes: impl IntoIterator<Item = u16>) -> RetryPolicy {
        self.statuses = codes.into_iter().collect();
        self
    }

    /// Also retry methods that are not idempotent, such as `POST` and `PATCH` (default false).
    /// Their body must still be one that can be sent again.
    pub fn retry_non_idempotent(mut self, yes: bool) -> RetryPolicy {
        self.retry_non_idempotent = yes;
        self
    }

    /// Wait as a response's `Retry-After` says (default true).
    pub fn respect_retry_after(mut self, yes: bool) -> RetryPolicy {
        self.respect_retry_after = yes;
        self
    }

    /// Give a response back instead of waiting when its `Retry-After` asks for more than
    /// `seconds` (default 300).
    pub fn max_retry_after(mut self, seconds: f64) -> RetryPolicy {
        self.max_retry_after = seconds;
        self
    }

    /// Start no retry whose wait would end more than `seconds` after the first attempt began:
    /// the last response or failure is the result instead.
    pub fn total_timeout(mut self, seconds: f64) -> RetryPolicy {
        self.total_timeout = Some(seconds);
        self
    }

    /// Cancel an attempt that has not got its response head within `seconds`; it fails with
    /// [`TimeoutError`](reactor::defer::TimeoutError) and counts as a retriable failure.
    pub fn attempt_timeout(mut self, seconds: f64) -> RetryPolicy {
        self.attempt_timeout = Some(seconds);
        self
    }

    /// The number of retries allowed.
    pub fn get_max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The status codes retried.
    pub fn get_statuses(&self) -> &[u16] {
        &self.statuses
    }

    /// Whether a request with `method`, whose body is replayable (`replayable`, true when
    /// there is no body), may be retried at all.
    pub fn allows(&self, method: &str, replayable: bool) -> bool {
        let idempotent = IDEMPOTENT_METHODS
            .iter()
            .any(|m| m.eq_ignore_ascii_case(method));
        replayable && (idempotent || self.retry_non_idempotent)
    }

    /// The wait before retry `n` (from 1) without jitter: `backoff_factor * 2^(n-1)`, at
    /// most `max_backoff`.
    pub fn backoff(&self, n: u32) -> f64 {
        let exponent = n.saturating_sub(1).min(62) as i32;
        (self.backoff_factor * 2f64.powi(exponent)).min(self.max_backoff)
    }

    /// The wait before retry `n` with jitter, given `unit`, a random number in `[0, 1)`.
    pub(super) fn jittered_backoff(&self, n: u32, unit: f64) -> f64 {
        let wait = self.backoff(n);
        wait - wait * self.jitter * unit
    }
}

/// The wait a `Retry-After` header asks for, in seconds from `now`: a number of seconds, or an
/// HTTP date (a date already past is 0). `None` without a usable header.
pub fn retry_after(headers: &Headers, now: SystemTime) -> Option<f64> {
    let value = std::str::from_utf8(headers.get_first("retry-after")?).ok()?;
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(seconds as f64);
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(now)
            .map_or(0.0, |wait| wait.as_secs_f64()),
    )
}

/// A small seedable random source (xorshift64*), enough to spread retries out.
#[derive(Debug, Clone)]
pub(super) struct Jitter {
    state: u64,
}

impl Jitter {
    pub(super) fn new(seed: Option<u64>) -> Jitter {
        let seed = seed.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0x9E37_79B9_7F4A_7C15, |d| d.as_nanos() as u64)
        });
        // A zero state would stay zero.
        Jitter {
            state: seed ^ 0x9E37_79B9_7F4A_7C15 | 1,
        }
    }

    /// The next number in `[0, 1)`.
    pub(super) fn next_unit(&mut self) -> f64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::new().backoff_factor(0.5).max_backoff(3.0);
        let waits: Vec<f64> = (1..=5).map(|n| p.backoff(n)).collect();
        assert_eq!(waits, [0.5, 1.0, 2.0, 3.0, 3.0]);
        assert_eq!(p.backoff(1000), 3.0);
    }

    #[test]
    fn jitter_takes_off_at_most_its_share() {
        let p = RetryPolicy::new().backoff_factor(2.0).jitter(0.25);
        assert_eq!(p.jittered_backoff(1, 0.0), 2.0);
        assert_eq!(p.jittered_backoff(1, 0.5), 1.75);
        let mut a = Jitter::new(Some(7));
        let mut b = Jitter::new(Some(7));
        for _ in 0..100 {
            let (x, y) = (a.next_unit(), b.next_unit());
            assert_eq!(x, y, "the same seed gives the same numbers");
            assert!((0.0..1.0).contains(&x));
        }
        assert_ne!(
            Jitter::new(Some(1)).next_unit(),
            Jitter::new(Some(2)).next_unit()
        );
    }

    #[test]
    fn idempotent_methods_and_replayable_bodies() {
        let p = RetryPolicy::new();
        assert!(p.allows("GET", true) && p.allows("put", true) && p.allows("DELETE", true));
        assert!(!p.allows("POST", true) && !p.allows("PATCH", true));
        assert!(!p.allows("PUT", false), "a body that cannot be replayed");
        let p = p.retry_non_idempotent(true);
        assert!(p.allows("POST", true) && !p.allows("POST", false));
    }

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut h = Headers::new();
        assert_eq!(retry_after(&h, now), None);
        h.set_raw_headers("Retry-After", ["120"]).unwrap();
        assert_eq!(retry_after(&h, now), Some(120.0));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        h.set_raw_headers("Retry-After", [later]).unwrap();
        assert_eq!(retry_after(&h, now), Some(90.0));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(90));
        h.set_raw_headers("Retry-After", [past]).unwrap();
        assert_eq!(retry_after(&h, now), Some(0.0));
        h.set_raw_headers("Retry-After", ["soon"]).unwrap();
        assert_eq!(retry_after(&h, now), None);
        h.set_raw_headers("Retry-After", ["-5"]).unwrap();
        assert_eq!(retry_after(&h, now), None);
    }
}
