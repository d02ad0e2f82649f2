//! `Basic` credentials (RFC 7617): `Basic base64(user:password)`, for `Authorization` and
//! `Proxy-Authorization`.

use base64::Engine;

/// The header value `Basic <base64 of user:password>`. The receiver splits at the first `:`,
/// so a user name must not contain one; the password may. Text is sent as its UTF-8 bytes.
pub fn basic_auth_header(user: impl AsRef<[u8]>, password: impl AsRef<[u8]>) -> String {
    let (user, password) = (user.as_ref(), password.as_ref());
    let mut credentials = Vec::with_capacity(user.len() + 1 + password.len());
    credentials.extend_from_slice(user);
    credentials.push(b':');
    credentials.extend_from_slice(password);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_of_rfc_7617_examples() {
        assert_eq!(
            basic_auth_header("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        // RFC 7617 section 2.1: UTF-8 user "test" and password "123£".
        assert_eq!(
            basic_auth_header("test", "123\u{a3}"),
            "Basic dGVzdDoxMjPCow=="
        );
        assert_eq!(basic_auth_header(b"\xff", b""), "Basic /zo=");
    }
}
