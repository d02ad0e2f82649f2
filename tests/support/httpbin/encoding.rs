//! `/gzip` and `/deflate`: a JSON body compressed, with `Content-Encoding`.
//!
//! `deflate` is the zlib format (RFC 1950), as httpbin sends it.

use super::reply::{self, Reply};
use super::request::Exchange;
use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;
use serde_json::{json, Value};
use std::io::Write;

/// The fields both routes report, plus `flag: true`.
fn fields(ex: &Exchange, flag: &str) -> Vec<u8> {
    let mut value = json!({
        "headers": ex.headers_json(),
        "method": ex.method.as_str(),
        "origin": ex.origin(),
    });
    value[flag] = Value::Bool(true);
    let mut text = serde_json::to_vec_pretty(&value).unwrap_or_default();
    text.push(b'\n');
    text
}

fn compressed(body: Vec<u8>, encoding: &str) -> Reply {
    let mut response = reply::bytes(200, "application/json", body);
    reply::set(&mut response, "content-encoding", encoding);
    response
}

/// `/gzip`: `{"gzipped": true, "headers", "method", "origin"}`, gzip-encoded.
pub fn gzip(ex: &Exchange) -> Reply {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    let body = encoder
        .write_all(&fields(ex, "gzipped"))
        .and_then(|()| encoder.finish());
    match body {
        Ok(body) => compressed(body, "gzip"),
        Err(e) => reply::error(500, &e.to_string()),
    }
}

/// `/deflate`: `{"deflated": true, "headers", "method", "origin"}`, zlib-encoded.
pub fn deflate(ex: &Exchange) -> Reply {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    let body = encoder
        .write_all(&fields(ex, "deflated"))
        .and_then(|()| encoder.finish());
    match body {
        Ok(body) => compressed(body, "deflate"),
        Err(e) => reply::error(500, &e.to_string()),
    }
}
