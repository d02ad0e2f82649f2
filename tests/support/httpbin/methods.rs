//! The echo routes: `/get`, `/post`, `/put`, `/patch`, `/delete`, `/anything`, `/headers`.

use super::forms::{body_fields, MultipartError};
use super::reply::{self, Reply};
use super::request::Exchange;
use serde_json::{json, Value};

/// Answer with `route` when the method is one of `allowed`, else 405 with `Allow`.
pub fn only(ex: &Exchange, allowed: &[&str], route: fn(&Exchange) -> Reply) -> Reply {
    if allowed.contains(&ex.method.as_str()) {
        return route(ex);
    }
    let mut response = reply::error(405, &format!("method {} not allowed", ex.method));
    reply::set(&mut response, "allow", &allowed.join(", "));
    response
}

/// `/get`: `args`, `headers`, `origin`, `url`.
pub fn get(ex: &Exchange) -> Reply {
    reply::json(200, &get_fields(ex))
}

/// The fields of a `/get` answer.
pub fn get_fields(ex: &Exchange) -> Value {
    json!({
        "args": ex.args(),
        "headers": ex.headers_json(),
        "origin": ex.origin(),
        "url": ex.url(),
    })
}

/// `/post`, `/put`, `/patch`, `/delete`: the `/get` fields and `data`, `files`, `form`,
/// `json`.
pub fn with_body(ex: &Exchange) -> Reply {
    match body_json(ex) {
        Ok(value) => reply::json(200, &value),
        Err(e) => reply::error(400, e.0),
    }
}

/// `/anything` and `/anything/...`: any method; the `/post` fields and `method`.
pub fn anything(ex: &Exchange) -> Reply {
    match body_json(ex) {
        Ok(mut value) => {
            value["method"] = Value::String(ex.method.to_string());
            reply::json(200, &value)
        }
        Err(e) => reply::error(400, e.0),
    }
}

/// `/headers`: `headers` alone.
pub fn headers(ex: &Exchange) -> Reply {
    reply::json(200, &json!({ "headers": ex.headers_json() }))
}

/// The fields of a `/post` answer, or why a multipart body cannot be read.
pub fn body_json(ex: &Exchange) -> Result<Value, MultipartError> {
    let fields = body_fields(ex)?;
    let mut value = get_fields(ex);
    value["data"] = fields.data;
    value["files"] = fields.files;
    value["form"] = fields.form;
    value["json"] = fields.json;
    Ok(value)
}
