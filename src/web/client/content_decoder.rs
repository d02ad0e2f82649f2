//! [`ContentDecoderAgent`] (Twisted's): asks for compressed responses and hands out their
//! bodies decoded, while they stream.
//!
//! Decoding is bounded by what the reader takes: each encoded piece is inflated into slices of
//! at most [`DECODED_SLICE`](super::decoding_body::DECODED_SLICE) bytes, and a body protocol that
//! pauses stops the inflating and, through it, the socket. A small body that inflates to
//! gigabytes (a "zip bomb") costs only what the reader chooses to read.
//!
//! Codings: [`GzipDecoder`] (`gzip`), [`DeflateDecoder`](super::DeflateDecoder) (`deflate`,
//! zlib-wrapped or raw), with the cargo feature `brotli` `BrotliDecoder` (`br`), and with the
//! cargo feature `zstd` `ZstdDecoder` (`zstd`).

use super::decoding_body::{abort_body, decode_response};
use super::inflate::GzipDecoder;
use crate::web::error::ResponseFailed;
use crate::web::http_headers::Headers;
use crate::web::iweb::{IAgent, IBodyProducer};
use crate::web::response::Response;
use bytes::Bytes;
use reactor::defer::{Deferred, Failure};
use std::error::Error;
use std::fmt;
use std::rc::Rc;

/// At most this many content-codings are undone on one response; a response that lists more
/// decodable codings fails with [`TooManyContentEncodings`] (as curl refuses more than five).
pub const MAX_STACKED_ENCODINGS: usize = 5;

/// A content-coding a [`ContentDecoderAgent`] can undo, such as [`GzipDecoder`]: it makes one
/// [`BodyDecoder`] per response.
pub trait ResponseDecoder {
    /// A new decoder for one response body.
    fn body_decoder(&self) -> Box<dyn BodyDecoder>;
}

/// Undoes one content-coding of one body, a piece at a time, into output slices the caller
/// sizes (so the caller bounds the memory a highly compressed body can take).
pub trait BodyDecoder {
    /// Decode from `input` into `output`; return `(bytes of input consumed, bytes written)`.
    ///
    /// Called again with the rest of the input, and with an empty `input` to collect output
    /// still held inside. With a non-empty `input` and `output` it must make progress
    /// (consume or write something); `(0, 0)` means it needs more input.
    fn decode(
        &mut self,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(usize, usize), DecodingErrorKind>;

    /// The input has ended: fail with [`DecodingErrorKind::Truncated`] if the stream is
    /// incomplete. An empty body (no input at all) is not an error.
    fn finish(&mut self) -> Result<(), DecodingErrorKind>;
}

/// What is wrong with an encoded body.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodingErrorKind {
    /// The data is not valid for the coding (the text says how).
    Corrupt(String),
    /// The body ended before the encoded stream did.
    Truncated,
}

/// A response body could not be decoded; a body protocol gets it inside
/// [`ResponseFailed`] in `connection_lost`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodingError {
    /// The content-coding, such as `gzip`.
    pub encoding: String,
    /// What went wrong.
    pub kind: DecodingErrorKind,
}

impl fmt::Display for DecodingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            DecodingErrorKind::Corrupt(detail) => write!(
                f,
                "the response body is not valid {} data: {detail}",
                self.encoding
            ),
            DecodingErrorKind::Truncated => write!(
                f,
                "the response body ended in the middle of its {} stream",
                self.encoding
            ),
        }
    }
}
impl Error for DecodingError {}

/// A response listed more content-codings to undo than [`MAX_STACKED_ENCODINGS`]; the request
/// fails with it inside [`ResponseFailed`], and the connection is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooManyContentEncodings {
    /// The `Content-Encoding` as received (values joined with `,`).
    pub content_encoding: String,
    /// The limit.
    pub limit: usize,
}

impl fmt::Display for TooManyContentEncodings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the response stacks more than {} content-codings ({:?}): refused",
            self.limit, self.content_encoding
        )
    }
}
impl Error for TooManyContentEncodings {}

type Decoders = Vec<(&'static [u8], Rc<dyn ResponseDecoder>)>;

/// An agent that decodes compressed responses (Twisted's `ContentDecoderAgent`).
///
/// Each request gets an `Accept-Encoding` listing the decoders' names, added after any the
/// caller set (as Twisted does). A response's `Content-Encoding` codings are undone right to
/// left while the ones the agent knows last; the decoded response has the rest in
/// `Content-Encoding` (or none), no `Content-Length` and an unknown `length`. A corrupt or
/// truncated encoded body ends the body protocol with [`ResponseFailed`] holding a
/// [`DecodingError`].
///
/// ```no_run
/// use reactor::Reactor;
/// use std::rc::Rc;
/// use treq::web::client::{Agent, ContentDecoderAgent, DeflateDecoder, GzipDecoder};
/// use treq::web::iweb::IAgent;
///
/// let reactor = Reactor::new();
/// let agent = ContentDecoderAgent::new(
///     Rc::new(Agent::new(&reactor)),
///     vec![(b"gzip", Rc::new(GzipDecoder)), (b"deflate", Rc::new(DeflateDecoder))],
/// );
/// let d = agent.request("GET", "http://example.com/", None, None);
/// ```
#[derive(Clone)]
pub struct ContentDecoderAgent {
    agent: Rc<dyn IAgent>,
    decoders: Rc<Decoders>,
    supported: Bytes,
}

impl ContentDecoderAgent {
    /// An agent over `agent` that undoes the codings named in `decoders` (names are matched
    /// without regard to ASCII case).
    pub fn new(agent: Rc<dyn IAgent>, decoders: Decoders) -> ContentDecoderAgent {
        let supported = decoders
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(&b","[..]);
        ContentDecoderAgent {
            agent,
            decoders: Rc::new(decoders),
            supported: Bytes::from(supported),
        }
    }

    /// An agent that undoes `gzip` (Twisted's `ContentDecoderAgent(agent, [(b"gzip",
    /// GzipDecoder)])`).
    pub fn gzip(agent: Rc<dyn IAgent>) -> ContentDecoderAgent {
        ContentDecoderAgent::new(agent, vec![(b"gzip", Rc::new(GzipDecoder))])
    }
}

/// The codings of `headers`' `Content-Encoding`, in order.
fn content_codings(headers: &Headers) -> Vec<Bytes> {
    let Some(values) = headers.get_raw_headers("content-encoding") else {
        return Vec::new();
    };
    values
        .flat_map(|value| value.split(|&b| b == b',').map(|t| value.slice_ref(t)))
        .map(|t| {
            let start = t.iter().position(|b| !b.is_ascii_whitespace());
            let end = t.iter().rposition(|b| !b.is_ascii_whitespace());
            match (start, end) {
                (Some(s), Some(e)) => t.slice(s..=e),
                _ => Bytes::new(),
            }
        })
        .filter(|t| !t.is_empty())
        .collect()
}

fn handle_response(decoders: &Decoders, response: Response) -> Result<Response, Failure> {
    let mut codings = content_codings(&response.headers);
    let mut plan = Vec::new();
    while let Some(name) = codings.last() {
        let Some((_, decoder)) = decoders.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) else {
            break;
        };
        plan.push((codings.pop().expect("a last coding"), decoder.clone()));
    }
    if plan.is_empty() {
        return Ok(response);
    }
    if plan.len() > MAX_STACKED_ENCODINGS {
        abort_body(&response);
        let received: Vec<&[u8]> = response
            .headers
            .get_raw_headers("content-encoding")
            .into_iter()
            .flatten()
            .map(|v| &v[..])
            .collect();
        let error = TooManyContentEncodings {
            content_encoding: String::from_utf8_lossy(&received.join(&b","[..])).into_owned(),
            limit: MAX_STACKED_ENCODINGS,
        };
        return Err(Failure::new(ResponseFailed::new(vec![Failure::new(error)])));
    }
    let mut decoded = response;
    for (name, decoder) in plan {
        let encoding = String::from_utf8_lossy(&name).into_owned();
        decoded = decode_response(&decoded, encoding, decoder.body_decoder());
    }
    let headers = &mut decoded.headers;
    if codings.is_empty() {
        headers.remove_header("content-encoding");
    } else {
        let rest = codings.iter().map(|c| &c[..]).collect::<Vec<_>>();
        // The codings come from a parsed header, so the joined value is valid.
        let _ = headers.set_raw_headers("content-encoding", [rest.join(&b","[..])]);
    }
    headers.remove_header("content-length");
    Ok(decoded)
}

impl IAgent for ContentDecoderAgent {
    fn reactor(&self) -> Option<Rc<dyn reactor::interfaces::IReactorTime>> {
        self.agent.reactor()
    }

    fn request(
        &self,
        method: &str,
        uri: &str,
        headers: Option<Headers>,
        body_producer: Option<Rc<dyn IBodyProducer>>,
    ) -> Deferred<Response> {
        let mut headers = headers.unwrap_or_default();
        if !self.supported.is_empty() {
            if let Err(e) = headers.add_raw_header_bytes(
                Bytes::from_static(b"Accept-Encoding"),
                self.supported.clone(),
            ) {
                return Deferred::fail(e);
            }
        }
        let decoders = self.decoders.clone();
        self.agent
            .request(method, uri, Some(headers), body_producer)
            .add_callback(move |response| handle_response(&decoders, response))
    }
}

impl fmt::Debug for ContentDecoderAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContentDecoderAgent")
            .field("supported", &self.supported)
            .finish_non_exhaustive()
    }
}
