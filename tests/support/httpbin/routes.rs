//! Dispatch: a request path to the route group that answers it.

use super::reply::{self, Reply};
use super::request::{Exchange, ReadError};
use super::{cookies, encoding, methods, redirects, status, streams};
use hyper::body::Incoming;
use std::convert::Infallible;
use std::net::SocketAddr;

/// Read `req` whole and answer it.
pub async fn handle(
    req: hyper::Request<Incoming>,
    peer: SocketAddr,
    scheme: &'static str,
) -> Result<Reply, Infallible> {
    let exchange = match Exchange::read(req, peer, scheme).await {
        Ok(exchange) => exchange,
        Err(ReadError::TooLarge) => return Ok(reply::error(413, "request body too large")),
        Err(ReadError::Body(e)) => return Ok(reply::error(400, &e)),
    };
    Ok(route(&exchange).await)
}

/// The answer to `ex`, by path.
async fn route(ex: &Exchange) -> Reply {
    let path = ex.path.clone();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["get"] => methods::only(ex, &["GET", "HEAD"], methods::get),
        ["post"] => methods::only(ex, &["POST"], methods::with_body),
        ["put"] => methods::only(ex, &["PUT"], methods::with_body),
        ["patch"] => methods::only(ex, &["PATCH"], methods::with_body),
        ["delete"] => methods::only(ex, &["DELETE"], methods::with_body),
        ["anything", ..] => methods::anything(ex),
        ["headers"] => methods::headers(ex),
        ["status", code] => status::status(code),
        ["basic-auth", user, password] => status::basic_auth(ex, user, password),
        ["redirect", n] => redirects::redirect(ex, n),
        ["relative-redirect", n] => redirects::relative_redirect(n),
        ["absolute-redirect", n] => redirects::absolute_redirect(ex, n),
        ["redirect-to"] => redirects::redirect_to(ex),
        ["cookies"] => cookies::cookies(ex),
        ["cookies", "set"] => cookies::set_from_query(ex),
        ["cookies", "set", name, value] => cookies::set_one(name, value),
        ["cookies", "delete"] => cookies::delete(ex),
        ["gzip"] => encoding::gzip(ex),
        ["deflate"] => encoding::deflate(ex),
        ["delay", n] => streams::delay(ex, n).await,
        ["stream", n] => streams::stream(ex, n),
        ["bytes", n] => streams::bytes(ex, n),
        ["stream-bytes", n] => streams::stream_bytes(ex, n),
        ["drip"] => streams::drip(ex).await,
        _ => reply::error(404, &format!("no route for {}", ex.path)),
    }
}
