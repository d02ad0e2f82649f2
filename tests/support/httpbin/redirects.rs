//! `/redirect/{n}`, `/relative-redirect/{n}`, `/absolute-redirect/{n}`, `/redirect-to`.
//!
//! Each `/…redirect/{n}` answers 302 to the same route with `n - 1`, and `n = 1` to `/get`.

use super::reply::{self, Reply};
use super::request::Exchange;

/// The most hops a redirect chain may ask for.
pub const MAX_REDIRECTS: u32 = 100;

fn hops(n: &str) -> Option<u32> {
    n.parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_REDIRECTS).contains(n))
}

fn bad_count(n: &str) -> Reply {
    reply::error(400, &format!("invalid redirect count {n:?}"))
}

/// `/redirect/{n}`: relative redirects, or absolute ones with `?absolute=true`.
pub fn redirect(ex: &Exchange, n: &str) -> Reply {
    if ex
        .arg("absolute")
        .is_some_and(|a| a.eq_ignore_ascii_case("true"))
    {
        absolute_redirect(ex, n)
    } else {
        relative_redirect(n)
    }
}

/// `/relative-redirect/{n}`: `Location` is a path.
pub fn relative_redirect(n: &str) -> Reply {
    match hops(n) {
        Some(1) => reply::redirect(302, "/get"),
        Some(hops) => reply::redirect(302, &format!("/relative-redirect/{}", hops - 1)),
        None => bad_count(n),
    }
}

/// `/absolute-redirect/{n}`: `Location` is a full URL on the `Host` the client used.
pub fn absolute_redirect(ex: &Exchange, n: &str) -> Reply {
    let base = format!("{}://{}", ex.scheme, ex.host());
    match hops(n) {
        Some(1) => reply::redirect(302, &format!("{base}/get")),
        Some(hops) => reply::redirect(302, &format!("{base}/absolute-redirect/{}", hops - 1)),
        None => bad_count(n),
    }
}

/// `/redirect-to?url=...&status_code=...`: any method; `status_code` must be a 3xx, else 302
/// is used.
pub fn redirect_to(ex: &Exchange) -> Reply {
    let Some(url) = ex.arg("url") else {
        return reply::error(400, "redirect-to needs a url parameter");
    };
    let status = ex
        .arg("status_code")
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (300..400).contains(s))
        .unwrap_or(302);
    reply::redirect(status, &url)
}
