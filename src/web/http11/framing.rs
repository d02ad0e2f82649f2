//! What a response head says about its own framing, gathered while its headers are parsed:
//! the `Connection` tokens, the `Transfer-Encoding` codings and the `Content-Length`. The
//! parser feeds each framing header's value to [`Framing::add`] as it goes, so deciding how
//! the body is delimited needs no second search of the headers.

use super::error::ProtocolError;

/// The headers that decide a response's framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FramingHeader {
    Connection,
    ContentLength,
    TransferEncoding,
}

impl FramingHeader {
    /// Which framing header `name` is, ignoring ASCII case, if any. Most names are told apart
    /// by their length alone.
    pub(super) fn of(name: &[u8]) -> Option<FramingHeader> {
        let (header, spelled): (FramingHeader, &[u8]) = match name.len() {
            10 => (FramingHeader::Connection, b"connection"),
            14 => (FramingHeader::ContentLength, b"content-length"),
            17 => (FramingHeader::TransferEncoding, b"transfer-encoding"),
            _ => return None,
        };
        name.eq_ignore_ascii_case(spelled).then_some(header)
    }
}

/// The framing facts of one head, accumulated value by value in the order received.
#[derive(Debug)]
pub(super) struct Framing {
    /// A `Connection` token was `close`.
    close: bool,
    /// A `Connection` token was `keep-alive`.
    keep_alive: bool,
    /// A `Transfer-Encoding` header was present (even empty).
    transfer_encoding: bool,
    /// The non-empty codings seen, up to 2 (more than one is refused anyway).
    codings: u8,
    /// The only coding seen so far is `chunked`.
    chunked: bool,
    /// The `Content-Length` so far, or the first error its elements gave. A header always
    /// has an element (an empty value is one empty, invalid element), so `Ok(None)` means no
    /// `Content-Length` header.
    content_length: Result<Option<u64>, ProtocolError>,
}

impl Default for Framing {
    fn default() -> Framing {
        Framing {
            close: false,
            keep_alive: false,
            transfer_encoding: false,
            codings: 0,
            chunked: false,
            content_length: Ok(None),
        }
    }
}

/// The trimmed elements of a comma-separated value, empty ones included.
fn elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(<[u8]>::trim_ascii)
}

impl Framing {
    /// Takes one value of a framing header into account.
    pub(super) fn add(&mut self, header: FramingHeader, value: &[u8]) {
        match header {
            FramingHeader::Connection => {
                // The common single tokens, spelled as servers send them, skip the split.
                match value {
                    b"keep-alive" => self.keep_alive = true,
                    b"close" => self.close = true,
                    _ => self.add_connection_tokens(value),
                }
            }
            FramingHeader::TransferEncoding => {
                self.transfer_encoding = true;
                for coding in elements(value).filter(|c| !c.is_empty()) {
                    self.chunked = self.codings == 0 && coding.eq_ignore_ascii_case(b"chunked");
                    self.codings = self.codings.saturating_add(1).min(2);
                }
            }
            FramingHeader::ContentLength => {
                if self.content_length.is_ok() {
                    for element in elements(value) {
                        if let Err(e) = self.add_length(element) {
                            self.content_length = Err(e);
                            break;
                        }
                    }
                }
            }
        }
    }

    /// Each token of a `Connection` value.
    fn add_connection_tokens(&mut self, value: &[u8]) {
        for token in elements(value) {
            self.close |= token.eq_ignore_ascii_case(b"close");
            self.keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
        }
    }

    /// One element of a `Content-Length`: plain decimal digits without overflow, equal to any
    /// earlier element (identical repeats, `5, 5`, are one value).
    fn add_length(&mut self, element: &[u8]) -> Result<(), ProtocolError> {
        if element.is_empty() || !element.iter().all(u8::is_ascii_digit) {
            return Err(ProtocolError::InvalidContentLength);
        }
        let n = element
            .iter()
            .try_fold(0u64, |n, d| {
                n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
            })
            .ok_or(ProtocolError::InvalidContentLength)?;
        match self.content_length {
            Ok(Some(previous)) if previous != n => Err(ProtocolError::ConflictingContentLength),
            _ => {
                self.content_length = Ok(Some(n));
                Ok(())
            }
        }
    }

    /// HTTP/1.1 keeps the connection unless `Connection: close`; HTTP/1.0 closes it unless
    /// `Connection: keep-alive`.
    pub(super) fn allows_reuse(&self, version: (u8, u8)) -> bool {
        !self.close && (version == (1, 1) || self.keep_alive)
    }

    /// Whether the body is chunked: `Transfer-Encoding` must be absent or exactly one
    /// `chunked` coding. Any other coding, even before a final `chunked` (`gzip, chunked`),
    /// is refused rather than read until close.
    pub(super) fn is_chunked(&self) -> Result<bool, ProtocolError> {
        match (self.transfer_encoding, self.codings, self.chunked) {
            (false, _, _) => Ok(false),
            (true, 1, true) => Ok(true),
            _ => Err(ProtocolError::UnsupportedTransferEncoding),
        }
    }

    /// Whether the head had a `Content-Length`, valid or not.
    pub(super) fn has_content_length(&self) -> bool {
        !matches!(self.content_length, Ok(None))
    }

    /// The `Content-Length`, if any; repeated values must agree.
    pub(super) fn content_length(&self) -> Result<Option<u64>, ProtocolError> {
        self.content_length.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::{Framing, FramingHeader};
    use crate::web::http11::ProtocolError;

    fn framing(headers: &[(&str, &str)]) -> Framing {
        let mut framing = Framing::default();
        for (name, value) in headers {
            if let Some(header) = FramingHeader::of(name.as_bytes()) {
                framing.add(header, value.as_bytes());
            }
        }
        framing
    }

    #[test]
    fn framing_names_are_matched_in_any_case_and_others_are_not() {
        assert_eq!(
            FramingHeader::of(b"CONTENT-length"),
            Some(FramingHeader::ContentLength)
        );
        assert_eq!(
            FramingHeader::of(b"Transfer-Encoding"),
            Some(FramingHeader::TransferEncoding)
        );
        assert_eq!(
            FramingHeader::of(b"connectioN"),
            Some(FramingHeader::Connection)
        );
        for other in ["Keep-Alive", "Content-Type", "Connections", ""] {
            assert_eq!(FramingHeader::of(other.as_bytes()), None, "{other}");
        }
    }

    #[test]
    fn codings_after_chunked_or_before_it_are_refused() {
        let refused = Err(ProtocolError::UnsupportedTransferEncoding);
        assert_eq!(
            framing(&[("Transfer-Encoding", "chunked")]).is_chunked(),
            Ok(true)
        );
        assert_eq!(
            framing(&[("transfer-encoding", " , Chunked ,")]).is_chunked(),
            Ok(true)
        );
        assert_eq!(
            framing(&[("Transfer-Encoding", "gzip, chunked")]).is_chunked(),
            refused
        );
        assert_eq!(
            framing(&[
                ("Transfer-Encoding", "chunked"),
                ("Transfer-Encoding", "chunked")
            ])
            .is_chunked(),
            refused
        );
        assert_eq!(framing(&[("Transfer-Encoding", "")]).is_chunked(), refused);
        assert_eq!(framing(&[]).is_chunked(), Ok(false));
    }

    #[test]
    fn the_first_content_length_error_in_order_wins() {
        let f = framing(&[("Content-Length", "5"), ("Content-Length", "6, x")]);
        assert_eq!(
            f.content_length(),
            Err(ProtocolError::ConflictingContentLength)
        );
        let f = framing(&[("Content-Length", "x, 5"), ("Content-Length", "6")]);
        assert_eq!(f.content_length(), Err(ProtocolError::InvalidContentLength));
        let f = framing(&[("Content-Length", "7, 7"), ("content-length", "7")]);
        assert_eq!(f.content_length(), Ok(Some(7)));
        assert!(f.has_content_length());
    }

    #[test]
    fn a_content_length_header_counts_as_present_even_when_invalid_or_empty() {
        assert!(!framing(&[]).has_content_length());
        for value in ["", "x", "5, 6"] {
            assert!(
                framing(&[("Content-Length", value)]).has_content_length(),
                "{value:?}"
            );
        }
    }

    #[test]
    fn connection_tokens_decide_reuse_by_version() {
        assert!(framing(&[]).allows_reuse((1, 1)));
        assert!(!framing(&[]).allows_reuse((1, 0)));
        assert!(framing(&[("Connection", "Keep-Alive")]).allows_reuse((1, 0)));
        assert!(!framing(&[("Connection", "keep-alive, close")]).allows_reuse((1, 1)));
    }
}
