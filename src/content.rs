//! Reading response bodies (treq's `treq.content`): [`collect`], [`content`],
//! [`text_content`] and [`json_content`].
//!
//! They work on any [`IResponse`]: the Agent's response or treq's buffered
//! [`Response`](crate::response::Response). A body that ends with the connection when no
//! length was given ([`PotentialDataLoss`]) counts as complete, as in treq.

use crate::web::error::{PotentialDataLoss, ResponseDone};
use crate::web::http_headers::Headers;
use crate::web::iweb::IResponse;
use bytes::{Bytes, BytesMut};
use reactor::defer::{Deferred, Failure};
use reactor::interfaces::{IProtocol, ITransport};
use serde::de::DeserializeOwned;
use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::rc::Rc;

/// The encoding treq assumes for text without a charset (HTTP/1.1's historical default).
pub const DEFAULT_ENCODING: &str = "ISO-8859-1";

type Collector = Box<dyn FnMut(Bytes) -> Result<(), Failure>>;

struct CollectProtocol {
    collector: RefCell<Option<Collector>>,
    done: Deferred<()>,
    transport: Rc<RefCell<Option<Rc<dyn ITransport>>>>,
}

impl CollectProtocol {
    fn fire(&self, result: Result<(), Failure>) {
        self.collector.borrow_mut().take();
        self.transport.borrow_mut().take();
        if !self.done.called() {
            let _ = self.done.fire(result);
        }
    }
}

impl IProtocol for CollectProtocol {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        *self.transport.borrow_mut() = Some(transport);
    }

    fn data_received(&self, data: Bytes) {
        // Take the collector out while it runs: it may do anything, even read another body.
        let Some(mut collector) = self.collector.borrow_mut().take() else {
            return;
        };
        match collector(data) {
            Ok(()) => {
                if !self.done.called() {
                    *self.collector.borrow_mut() = Some(collector);
                }
            }
            Err(failure) => {
                let transport = self.transport.borrow().clone();
                self.fire(Err(failure));
                if let Some(t) = transport {
                    t.stop_producing();
                }
            }
        }
    }

    fn connection_lost(&self, reason: Failure) {
        if reason.check::<ResponseDone>() || reason.check::<PotentialDataLoss>() {
            self.fire(Ok(()));
        } else {
            self.fire(Err(reason));
        }
    }
}

/// Give each piece of the body to `collector` as it arrives (treq's `collect`). The Deferred
/// fires when the body is complete. If `collector` fails, the body's transport is stopped (the
/// connection closed) and the Deferred fails with the collector's failure. Cancelling the
/// Deferred stops the body too.
///
/// ```no_run
/// # use treq::web::response::Response;
/// # fn f(response: Response) {
/// use std::cell::Cell;
/// use std::rc::Rc;
/// let total = Rc::new(Cell::new(0));
/// let t = total.clone();
/// treq::content::collect(&response, move |chunk| {
///     t.set(t.get() + chunk.len());
///     Ok(())
/// })
/// .add_callback(move |()| println!("{} bytes", total.get()));
/// # }
/// ```
pub fn collect(
    response: &dyn IResponse,
    collector: impl FnMut(Bytes) -> Result<(), Failure> + 'static,
) -> Deferred<()> {
    if response.length() == Some(0) {
        return Deferred::succeed(());
    }
    let transport: Rc<RefCell<Option<Rc<dyn ITransport>>>> = Rc::new(RefCell::new(None));
    let for_cancel = transport.clone();
    let done = Deferred::with_canceller(move |_| {
        let t = for_cancel.borrow_mut().take();
        if let Some(t) = t {
            t.stop_producing();
        }
    });
    let protocol = Rc::new(CollectProtocol {
        collector: RefCell::new(Some(Box::new(collector))),
        done: done.clone(),
        transport,
    });
    if let Err(e) = response.deliver_body(protocol) {
        return Deferred::fail(e);
    }
    done
}

/// The whole body (treq's `content`).
pub fn content(response: &dyn IResponse) -> Deferred<Bytes> {
    let chunks: Rc<RefCell<Vec<Bytes>>> = Rc::default();
    let sink = chunks.clone();
    collect(response, move |chunk| {
        sink.borrow_mut().push(chunk);
        Ok(())
    })
    .add_callback(move |()| join(std::mem::take(&mut *chunks.borrow_mut())))
}

/// One buffer for `chunks`, without a copy when there is only one.
pub(crate) fn join(mut chunks: Vec<Bytes>) -> Bytes {
    match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.pop().unwrap_or_default(),
        _ => {
            let mut all = BytesMut::with_capacity(chunks.iter().map(Bytes::len).sum());
            for c in &chunks {
                all.extend_from_slice(c);
            }
            all.freeze()
        }
    }
}

/// The body as text (treq's `text_content`): decoded with the charset of the (last)
/// `Content-Type`, else UTF-8 for `application/json`, else `encoding`, else
/// [`DEFAULT_ENCODING`]. Bytes that are not valid in the encoding fail with [`DecodeError`].
pub fn text_content(response: &dyn IResponse, encoding: Option<&str>) -> Deferred<String> {
    let charset = encoding_from_headers(response.headers())
        .or_else(|| encoding.map(str::to_owned))
        .unwrap_or_else(|| DEFAULT_ENCODING.to_owned());
    let codec = match Codec::lookup(&charset) {
        Ok(codec) => codec,
        Err(e) => return Deferred::fail(e),
    };
    content(response).add_callback(move |body| codec.decode(&body).map_err(Failure::new))
}

/// The body parsed as JSON into `T` (treq's `json_content`; `serde_json::Value` for any
/// JSON). The body is decoded with the response's charset (UTF-8 when none is given).
pub fn json_content<T: DeserializeOwned + 'static>(response: &dyn IResponse) -> Deferred<T> {
    let charset = encoding_from_headers(response.headers());
    let codec = match charset.as_deref().map(Codec::lookup).transpose() {
        Ok(codec) => codec.unwrap_or(Codec::Utf8),
        Err(e) => return Deferred::fail(e),
    };
    content(response).add_callback(move |body| {
        let parsed = match codec {
            Codec::Utf8 => serde_json::from_slice(&body),
            other => serde_json::from_str(&other.decode(&body).map_err(Failure::new)?),
        };
        parsed.map_err(Failure::new)
    })
}

/// The charset named by the last `Content-Type` header, or `utf-8` for `application/json`
/// without one (treq's rule).
pub fn encoding_from_headers(headers: &Headers) -> Option<String> {
    let value = headers.get_raw_headers("content-type")?.next_back()?;
    let value = String::from_utf8_lossy(value);
    let mut parts = value.split(';');
    let media_type = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    for param in parts {
        let Some((name, v)) = param.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("charset") {
            let v = v.trim().trim_matches(|c| c == '"' || c == '\'').trim();
            if !v.is_empty() && Codec::lookup(v).is_ok() {
                return Some(v.to_owned());
            }
        }
    }
    (media_type == "application/json").then(|| "utf-8".to_owned())
}

/// The text encodings the content helpers decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    Utf8,
    Ascii,
    Latin1,
}

impl Codec {
    fn lookup(name: &str) -> Result<Codec, UnknownEncoding> {
        let normal: String = name
            .trim()
            .chars()
            .filter(|c| *c != '-' && *c != '_' && *c != ' ')
            .collect::<String>()
            .to_ascii_lowercase();
        match normal.as_str() {
            "utf8" | "u8" | "utf" => Ok(Codec::Utf8),
            "ascii" | "usascii" | "646" => Ok(Codec::Ascii),
            "iso88591" | "latin1" | "latin" | "l1" | "iso885911987" | "cp819" | "8859" => {
                Ok(Codec::Latin1)
            }
            _ => Err(UnknownEncoding {
                name: name.to_owned(),
            }),
        }
    }

    fn decode(self, body: &[u8]) -> Result<String, DecodeError> {
        match self {
            Codec::Utf8 => std::str::from_utf8(body)
                .map(str::to_owned)
                .map_err(|e| DecodeError {
                    encoding: "utf-8",
                    position: e.valid_up_to(),
                }),
            Codec::Ascii => match body.iter().position(|b| !b.is_ascii()) {
                Some(position) => Err(DecodeError {
                    encoding: "ascii",
                    position,
                }),
                None => Ok(body.iter().map(|&b| b as char).collect()),
            },
            Codec::Latin1 => Ok(body.iter().map(|&b| b as char).collect()),
        }
    }
}

/// A charset this library cannot decode (UTF-8, US-ASCII and ISO-8859-1 are supported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownEncoding {
    /// The charset as given.
    pub name: String,
}

impl fmt::Display for UnknownEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown text encoding {:?}", self.name)
    }
}
impl Error for UnknownEncoding {}

/// The body is not valid text in its encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// The encoding used.
    pub encoding: &'static str,
    /// The offset of the first byte that could not be decoded.
    pub position: usize,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the body is not valid {} (at byte {})",
            self.encoding, self.position
        )
    }
}
impl Error for DecodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_types: &[&str]) -> Headers {
        let mut h = Headers::new();
        for v in content_types {
            h.add_raw_header("Content-Type", v).unwrap();
        }
        h
    }

    #[test]
    fn the_charset_comes_from_the_last_content_type() {
        let h = headers(&["text/plain; charset=ascii", "text/html; charset=\"UTF-8\""]);
        assert_eq!(encoding_from_headers(&h).as_deref(), Some("UTF-8"));
    }

    #[test]
    fn json_defaults_to_utf8_and_other_types_to_nothing() {
        assert_eq!(
            encoding_from_headers(&headers(&["application/json"])).as_deref(),
            Some("utf-8")
        );
        assert_eq!(encoding_from_headers(&headers(&["text/plain"])), None);
        assert_eq!(encoding_from_headers(&Headers::new()), None);
    }

    #[test]
    fn an_unknown_or_empty_charset_is_ignored() {
        let h = headers(&["text/plain; charset=klingon"]);
        assert_eq!(encoding_from_headers(&h), None);
        let h = headers(&["application/json; charset="]);
        assert_eq!(encoding_from_headers(&h).as_deref(), Some("utf-8"));
    }

    #[test]
    fn codecs_decode_and_validate() {
        assert_eq!(
            Codec::lookup("ISO-8859-1")
                .unwrap()
                .decode(b"\xe9")
                .unwrap(),
            "é"
        );
        assert_eq!(Codec::lookup("latin_1").unwrap(), Codec::Latin1);
        assert_eq!(
            Codec::lookup("UTF8")
                .unwrap()
                .decode("☃".as_bytes())
                .unwrap(),
            "☃"
        );
        let err = Codec::Utf8.decode(b"ok\xff").unwrap_err();
        assert_eq!(err.position, 2);
        assert!(Codec::Ascii.decode(b"a\x80").is_err());
        assert!(Codec::lookup("ebcdic").is_err());
    }

    #[test]
    fn join_avoids_copying_one_chunk() {
        let one = Bytes::from_static(b"abc");
        assert_eq!(join(vec![one.clone()]).as_ptr(), one.as_ptr());
        assert_eq!(join(vec![one.clone(), one]), Bytes::from_static(b"abcabc"));
        assert!(join(vec![]).is_empty());
    }
}
