//! Request targets: the absolute-form a request through a forward proxy carries.
//!
//! [`write_request_head`](super::write_request_head) writes whatever target it is given. A
//! request to an origin server carries the origin-form (`/path?query`); a request to a forward
//! proxy carries the absolute-form (`http://host:port/path?query`, RFC 9112 section 3.2.2),
//! built here, and the `Host` header still names the origin.

use super::error::ProtocolError;
use bytes::Bytes;

/// The absolute-form target `scheme://authority` followed by `origin_form`.
///
/// `authority` is what the `Host` header carries (`example.com`, `example.com:8080`,
/// `[::1]:8080`); `origin_form` starts with `/`. A scheme that is not letters, digits, `+`,
/// `-`, `.` (starting with a letter), an empty authority or one with `/`, `?`, `#`, `@` or a
/// byte outside printable ASCII, or an origin-form that does not start with `/`, is
/// [`ProtocolError::InvalidRequestTarget`].
///
/// ```
/// use treq::web::http11::absolute_form_target;
///
/// let target = absolute_form_target("http", "example.com:8080", "/a?b=c")?;
/// assert_eq!(&target[..], b"http://example.com:8080/a?b=c");
/// # Ok::<(), treq::web::http11::ProtocolError>(())
/// ```
pub fn absolute_form_target(
    scheme: &str,
    authority: &str,
    origin_form: &str,
) -> Result<Bytes, ProtocolError> {
    let scheme_ok = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    let authority_ok = !authority.is_empty()
        && authority
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && !matches!(b, b'/' | b'?' | b'#' | b'@'));
    if !scheme_ok || !authority_ok || !origin_form.starts_with('/') {
        return Err(ProtocolError::InvalidRequestTarget);
    }
    let mut target = String::with_capacity(scheme.len() + 3 + authority.len() + origin_form.len());
    target.push_str(scheme);
    target.push_str("://");
    target.push_str(authority);
    target.push_str(origin_form);
    Ok(Bytes::from(target))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::http11::{write_request_head, BodyFraming, RequestHead};
    use crate::web::http_headers::Headers;
    use bytes::BytesMut;

    #[test]
    fn joins_scheme_authority_and_origin_form() {
        let t = absolute_form_target("http", "[::1]:8080", "/p?q=1").unwrap();
        assert_eq!(&t[..], b"http://[::1]:8080/p?q=1");
        let t = absolute_form_target("https", "example.com", "/").unwrap();
        assert_eq!(&t[..], b"https://example.com/");
    }

    #[test]
    fn refuses_what_would_change_the_target() {
        for (scheme, authority, path) in [
            ("", "h", "/"),
            ("1http", "h", "/"),
            ("ht tp", "h", "/"),
            ("http", "", "/"),
            ("http", "h/x", "/"),
            ("http", "user@h", "/"),
            ("http", "h\r\nX: y", "/"),
            ("http", "h", "p"),
            ("http", "h", ""),
        ] {
            assert_eq!(
                absolute_form_target(scheme, authority, path),
                Err(ProtocolError::InvalidRequestTarget),
                "{scheme:?} {authority:?} {path:?}"
            );
        }
    }

    #[test]
    fn the_head_carries_the_absolute_form_and_the_origin_host() {
        let target = absolute_form_target("http", "example.com:81", "/get?a=1").unwrap();
        let headers = Headers::new();
        let head = RequestHead {
            method: b"GET",
            target: &target,
            host: b"example.com:81",
            headers: &headers,
            framing: BodyFraming::None,
            keep_alive: true,
        };
        let mut out = BytesMut::new();
        write_request_head(&head, &mut out).unwrap();
        assert_eq!(
            &out[..],
            b"GET http://example.com:81/get?a=1 HTTP/1.1\r\nHost: example.com:81\r\n\r\n"
        );
    }
}
