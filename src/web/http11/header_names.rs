//! Response header names that servers commonly send, as `'static` bytes: a parsed header
//! whose name is spelled exactly like one of these keeps the static name instead of a slice
//! of the received head, which saves a reference count taken and released per header.

use super::framing::FramingHeader;
use bytes::Bytes;

/// The name as a `'static` `Bytes` when it is one of the common names, spelled exactly so
/// (title case as nginx, Apache and most servers send them, or lower case as hyper and HTTP/2
/// gateways do), with the framing header it is, if it is one.
pub(super) fn known_name(name: &[u8]) -> Option<(Bytes, Option<FramingHeader>)> {
    use FramingHeader::{Connection, ContentLength, TransferEncoding};
    let (name, framing): (&'static [u8], _) = match name {
        b"Date" => (b"Date", None),
        b"Server" => (b"Server", None),
        b"Content-Type" => (b"Content-Type", None),
        b"Content-Length" => (b"Content-Length", Some(ContentLength)),
        b"Connection" => (b"Connection", Some(Connection)),
        b"Keep-Alive" => (b"Keep-Alive", None),
        b"Last-Modified" => (b"Last-Modified", None),
        b"ETag" => (b"ETag", None),
        b"Accept-Ranges" => (b"Accept-Ranges", None),
        b"Transfer-Encoding" => (b"Transfer-Encoding", Some(TransferEncoding)),
        b"Content-Encoding" => (b"Content-Encoding", None),
        b"Cache-Control" => (b"Cache-Control", None),
        b"Expires" => (b"Expires", None),
        b"Vary" => (b"Vary", None),
        b"Location" => (b"Location", None),
        b"Set-Cookie" => (b"Set-Cookie", None),
        b"Age" => (b"Age", None),
        b"Via" => (b"Via", None),
        b"date" => (b"date", None),
        b"server" => (b"server", None),
        b"content-type" => (b"content-type", None),
        b"content-length" => (b"content-length", Some(ContentLength)),
        b"connection" => (b"connection", Some(Connection)),
        b"keep-alive" => (b"keep-alive", None),
        b"last-modified" => (b"last-modified", None),
        b"etag" => (b"etag", None),
        b"accept-ranges" => (b"accept-ranges", None),
        b"transfer-encoding" => (b"transfer-encoding", Some(TransferEncoding)),
        b"content-encoding" => (b"content-encoding", None),
        b"cache-control" => (b"cache-control", None),
        b"expires" => (b"expires", None),
        b"vary" => (b"vary", None),
        b"location" => (b"location", None),
        b"set-cookie" => (b"set-cookie", None),
        b"age" => (b"age", None),
        b"via" => (b"via", None),
        _ => return None,
    };
    Some((Bytes::from_static(name), framing))
}

#[cfg(test)]
mod tests {
    use super::known_name;

    #[test]
    fn known_names_keep_their_exact_spelling() {
        for name in [&b"Content-Length"[..], b"content-length", b"ETag", b"etag"] {
            let (known, _) = known_name(name).expect("a common name");
            assert_eq!(&known[..], name);
        }
    }

    #[test]
    fn known_framing_names_say_which_framing_header_they_are() {
        use crate::web::http11::framing::FramingHeader;
        for (name, framing) in [
            (&b"Content-Length"[..], Some(FramingHeader::ContentLength)),
            (b"connection", Some(FramingHeader::Connection)),
            (b"Transfer-Encoding", Some(FramingHeader::TransferEncoding)),
            (b"Keep-Alive", None),
            (b"Date", None),
        ] {
            assert_eq!(known_name(name).expect("a common name").1, framing);
        }
    }

    #[test]
    fn other_spellings_and_names_are_not_known() {
        for name in [
            &b"CONTENT-LENGTH"[..],
            b"Etag",
            b"X-Custom",
            b"",
            b"Content-Length ",
        ] {
            assert!(known_name(name).is_none(), "{:?}", name);
        }
    }
}
