//! Response header names that servers commonly send, as `'static` bytes: a parsed header
//! whose name is spelled exactly like one of these keeps the static name instead of a slice
//! of the received head, which saves a reference count taken and released per header.

use bytes::Bytes;

/// The name as a `'static` `Bytes` when it is one of the common names, spelled exactly so
/// (title case as nginx, Apache and most servers send them, or lower case as hyper and HTTP/2
/// gateways do).
pub(super) fn known_name(name: &[u8]) -> Option<Bytes> {
    let name: &'static [u8] = match name {
        b"Date" => b"Date",
        b"Server" => b"Server",
        b"Content-Type" => b"Content-Type",
        b"Content-Length" => b"Content-Length",
        b"Connection" => b"Connection",
        b"Keep-Alive" => b"Keep-Alive",
        b"Last-Modified" => b"Last-Modified",
        b"ETag" => b"ETag",
        b"Accept-Ranges" => b"Accept-Ranges",
        b"Transfer-Encoding" => b"Transfer-Encoding",
        b"Content-Encoding" => b"Content-Encoding",
        b"Cache-Control" => b"Cache-Control",
        b"Expires" => b"Expires",
        b"Vary" => b"Vary",
        b"Location" => b"Location",
        b"Set-Cookie" => b"Set-Cookie",
        b"Age" => b"Age",
        b"Via" => b"Via",
        b"date" => b"date",
        b"server" => b"server",
        b"content-type" => b"content-type",
        b"content-length" => b"content-length",
        b"connection" => b"connection",
        b"keep-alive" => b"keep-alive",
        b"last-modified" => b"last-modified",
        b"etag" => b"etag",
        b"accept-ranges" => b"accept-ranges",
        b"transfer-encoding" => b"transfer-encoding",
        b"content-encoding" => b"content-encoding",
        b"cache-control" => b"cache-control",
        b"expires" => b"expires",
        b"vary" => b"vary",
        b"location" => b"location",
        b"set-cookie" => b"set-cookie",
        b"age" => b"age",
        b"via" => b"via",
        _ => return None,
    };
    Some(Bytes::from_static(name))
}

#[cfg(test)]
mod tests {
    use super::known_name;

    #[test]
    fn known_names_keep_their_exact_spelling() {
        for name in [&b"Content-Length"[..], b"content-length", b"ETag", b"etag"] {
            let known = known_name(name).expect("a common name");
            assert_eq!(&known[..], name);
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
