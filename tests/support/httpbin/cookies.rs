//! `/cookies`, `/cookies/set?name=value`, `/cookies/set/{name}/{value}`,
//! `/cookies/delete?name`.
//!
//! The setters answer 302 to `/cookies` with one `Set-Cookie` per cookie, `Path=/`.

use super::forms::percent_decode;
use super::reply::{self, Reply};
use super::request::Exchange;
use serde_json::{json, Map, Value};

/// `/cookies`: `{"cookies": {name: value}}` from the request's `Cookie` headers.
pub fn cookies(ex: &Exchange) -> Reply {
    let mut map = Map::new();
    for header in ex.headers.get_all("cookie") {
        let text = String::from_utf8_lossy(header.as_bytes());
        for pair in text.split(';') {
            if let Some((name, value)) = pair.split_once('=') {
                map.insert(
                    name.trim().to_owned(),
                    Value::String(value.trim().to_owned()),
                );
            }
        }
    }
    reply::json(200, &json!({ "cookies": map }))
}

/// `/cookies/set?k1=v1&k2=v2`.
pub fn set_from_query(ex: &Exchange) -> Reply {
    let mut response = reply::redirect(302, "/cookies");
    for (name, value) in ex.query_pairs() {
        reply::append(
            &mut response,
            "set-cookie",
            &format!("{name}={value}; Path=/"),
        );
    }
    response
}

/// `/cookies/set/{name}/{value}`.
pub fn set_one(name: &str, value: &str) -> Reply {
    let (name, value) = (
        percent_decode(name.as_bytes()),
        percent_decode(value.as_bytes()),
    );
    let mut response = reply::redirect(302, "/cookies");
    reply::append(
        &mut response,
        "set-cookie",
        &format!("{name}={value}; Path=/"),
    );
    response
}

/// `/cookies/delete?k1&k2`: each named cookie expired.
pub fn delete(ex: &Exchange) -> Reply {
    let mut response = reply::redirect(302, "/cookies");
    for (name, _) in ex.query_pairs() {
        reply::append(
            &mut response,
            "set-cookie",
            &format!("{name}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/"),
        );
    }
    response
}
