//! Building responses: [`Out`], the response body type, and helpers for JSON, text and
//! redirects.

use hyper::body::{Body, Bytes, Frame, SizeHint};
use hyper::header::{HeaderValue, CONTENT_TYPE, LOCATION};
use hyper::{Response, StatusCode};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;

/// What every route answers.
pub type Reply = Response<Out>;

/// A response body: all at once, pieces sent as they come (chunked), or pieces spaced out in
/// time (for `/drip`).
pub enum Out {
    /// One piece, with a known length.
    Full(Option<Bytes>),
    /// Several pieces of unknown total, which hyper sends chunked.
    Pieces(VecDeque<Bytes>),
    /// Pieces sent one every `interval`.
    Drip {
        /// What is left to send.
        pieces: VecDeque<Bytes>,
        /// The pause before each piece.
        interval: Duration,
        /// The pause in progress.
        sleep: Option<Pin<Box<Sleep>>>,
        /// The total, announced as `Content-Length`.
        total: u64,
    },
}

impl Out {
    /// An empty body.
    pub fn empty() -> Out {
        Out::Full(None)
    }
}

impl Body for Out {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let piece = match self.get_mut() {
            Out::Full(b) => b.take(),
            Out::Pieces(pieces) => pieces.pop_front(),
            Out::Drip {
                pieces,
                interval,
                sleep,
                ..
            } => {
                if pieces.is_empty() {
                    return Poll::Ready(None);
                }
                let pause = sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(*interval)));
                if pause.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                *sleep = None;
                pieces.pop_front()
            }
        };
        Poll::Ready(piece.map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Out::Full(b) => b.is_none(),
            Out::Pieces(p) | Out::Drip { pieces: p, .. } => p.is_empty(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Out::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Out::Pieces(_) => SizeHint::default(),
            Out::Drip { total, .. } => SizeHint::with_exact(*total),
        }
    }
}

/// A response with `status`, `content_type` and `body`.
pub fn bytes(status: u16, content_type: &str, body: impl Into<Bytes>) -> Reply {
    let mut response = Response::new(Out::Full(Some(body.into())));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    set(&mut response, CONTENT_TYPE.as_str(), content_type);
    response
}

/// A JSON response, pretty-printed as httpbin does.
pub fn json(status: u16, value: &serde_json::Value) -> Reply {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    bytes(status, "application/json", text)
}

/// A plain-text response.
pub fn text(status: u16, body: &str) -> Reply {
    bytes(status, "text/plain; charset=utf-8", body.to_owned())
}

/// A redirect to `location` with `status` and an empty body.
pub fn redirect(status: u16, location: &str) -> Reply {
    let mut response = bytes(status, "text/html; charset=utf-8", Bytes::new());
    set(&mut response, LOCATION.as_str(), location);
    response
}

/// A response for a request this server cannot serve: `status` and a one-line reason.
pub fn error(status: u16, reason: &str) -> Reply {
    text(status, &format!("{reason}\n"))
}

/// A response whose body is `pieces`, sent chunked.
pub fn chunked(content_type: &str, pieces: VecDeque<Bytes>) -> Reply {
    let mut response = Response::new(Out::Pieces(pieces));
    set(&mut response, CONTENT_TYPE.as_str(), content_type);
    response
}

/// Set (replace) header `name` to `value`; a value that is not a valid header is left out.
pub fn set(response: &mut Reply, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

/// Add a header `name: value`, keeping any already there.
pub fn append(response: &mut Reply, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().append(name, value);
    }
}
