//! [`Exchange`]: one request read whole, with what httpbin reports about it (`args`,
//! `headers`, `origin`, `url`).

use http_body_util::{BodyExt, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::Method;
use serde_json::{Map, Value};
use std::net::SocketAddr;

/// The largest request body read; a larger one is answered with 413.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// A request, its body read.
pub struct Exchange {
    /// The method.
    pub method: Method,
    /// The path, percent-encoded as received.
    pub path: String,
    /// The query string without `?`, empty when there is none.
    pub query: String,
    /// The request headers.
    pub headers: hyper::HeaderMap,
    /// The body.
    pub body: Bytes,
    /// `http` or `https`: which listener took the connection.
    pub scheme: &'static str,
    /// The client's address.
    pub peer: SocketAddr,
}

/// Why a request could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The body is larger than [`MAX_BODY`].
    TooLarge,
    /// The connection failed while the body was read.
    Body(String),
}

impl Exchange {
    /// Read `req` whole.
    pub async fn read(
        req: hyper::Request<Incoming>,
        peer: SocketAddr,
        scheme: &'static str,
    ) -> Result<Exchange, ReadError> {
        let (parts, body) = req.into_parts();
        let body = match Limited::new(body, MAX_BODY).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return Err(ReadError::TooLarge)
            }
            Err(e) => return Err(ReadError::Body(e.to_string())),
        };
        Ok(Exchange {
            method: parts.method,
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().unwrap_or("").to_owned(),
            headers: parts.headers,
            body,
            scheme,
            peer,
        })
    }

    /// A request header as text, if present and printable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Host` the client asked for, or the address it reached.
    pub fn host(&self) -> String {
        self.header("host")
            .map(str::to_owned)
            .unwrap_or_else(|| "127.0.0.1".to_owned())
    }

    /// httpbin's `url`: the full URL of this request.
    pub fn url(&self) -> String {
        let mut url = format!("{}://{}{}", self.scheme, self.host(), self.path);
        if !self.query.is_empty() {
            url.push('?');
            url.push_str(&self.query);
        }
        url
    }

    /// httpbin's `origin`: the client's IP address.
    pub fn origin(&self) -> String {
        self.peer.ip().to_string()
    }

    /// The query's pairs, decoded, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        super::forms::parse_urlencoded(self.query.as_bytes())
    }

    /// The first value of query parameter `name`.
    pub fn arg(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// httpbin's `args`: the query as an object (a name given twice maps to an array).
    pub fn args(&self) -> Value {
        multi_map(self.query_pairs())
    }

    /// httpbin's `headers`: names in Title-Case, repeated headers joined with `,`.
    pub fn headers_json(&self) -> Value {
        let mut map = Map::new();
        for name in self.headers.keys() {
            let joined = self
                .headers
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect::<Vec<_>>()
                .join(",");
            map.insert(title_case(name.as_str()), Value::String(joined));
        }
        Value::Object(map)
    }
}

/// `content-type` -> `Content-Type`.
pub fn title_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Pairs as a JSON object: one value as a string, several as an array (as httpbin does).
pub fn multi_map(pairs: Vec<(String, String)>) -> Value {
    let mut map = Map::new();
    for (name, value) in pairs {
        match map.get_mut(&name) {
            None => {
                map.insert(name, Value::String(value));
            }
            Some(Value::Array(values)) => values.push(Value::String(value)),
            Some(previous) => {
                let first = previous.take();
                *previous = Value::Array(vec![first, Value::String(value)]);
            }
        }
    }
    Value::Object(map)
}
