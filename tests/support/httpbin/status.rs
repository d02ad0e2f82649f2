//! `/status/{code}` and `/basic-auth/{user}/{password}`.

use super::reply::{self, Reply};
use super::request::Exchange;
use base64::Engine;
use serde_json::json;

/// `/status/{code}`: a response with that status (100-599). As httpbin: 3xx carry
/// `Location: /redirect/1`, 401 a `WWW-Authenticate` challenge, 407 a `Proxy-Authenticate`
/// one, 418 a teapot. A code that is not a number in range is a 400.
pub fn status(code: &str) -> Reply {
    let Some(code) = code.parse::<u16>().ok().filter(|c| (100..600).contains(c)) else {
        return reply::error(400, &format!("invalid status code {code:?}"));
    };
    let mut response = match code {
        418 => reply::text(418, "I'm a teapot\n"),
        _ => reply::bytes(code, "text/html; charset=utf-8", ""),
    };
    match code {
        301 | 302 | 303 | 305 | 307 | 308 => reply::set(&mut response, "location", "/redirect/1"),
        401 => reply::set(
            &mut response,
            "www-authenticate",
            "Basic realm=\"Fake Realm\"",
        ),
        407 => reply::set(
            &mut response,
            "proxy-authenticate",
            "Basic realm=\"Fake Realm\"",
        ),
        _ => {}
    }
    response
}

/// `/basic-auth/{user}/{password}`: 200 `{"authenticated": true, "user": ...}` when the
/// request's `Authorization: Basic` matches, else 401 with a challenge.
pub fn basic_auth(ex: &Exchange, user: &str, password: &str) -> Reply {
    if credentials(ex).as_deref() == Some(&format!("{user}:{password}")) {
        return reply::json(200, &json!({ "authenticated": true, "user": user }));
    }
    let mut response = reply::bytes(401, "text/html; charset=utf-8", "");
    reply::set(
        &mut response,
        "www-authenticate",
        "Basic realm=\"Fake Realm\"",
    );
    response
}

/// The decoded `user:password` of an `Authorization: Basic` header.
fn credentials(ex: &Exchange) -> Option<String> {
    let value = ex.header("authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .ok()?;
    String::from_utf8(decoded).ok()
}
