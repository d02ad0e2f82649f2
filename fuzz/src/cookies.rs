//! The cookie jar target: `Set-Cookie` values a server sent (any bytes a response head can
//! carry), stored by [`CookieJar::extract_cookies`] for a URL, then read back with
//! [`CookieJar::cookie_header_for`] for several URLs. Nothing may panic, and every `Cookie`
//! header the jar emits must be one the request writer accepts: no CR, LF, NUL or other
//! control byte, every pair a valid name (visible ASCII but `;`, `=`, `,`) and a value without
//! `;`, so no stored cookie can add a header or a cookie of its own.

use crate::input::Input;
use treq::web::cookiejar::CookieJar;
use treq::web::http_headers::Headers;
use url::Url;

const ORIGINS: &[&str] = &[
    "http://example.com",
    "https://example.com",
    "http://sub.example.com",
    "https://www.example.co.uk",
    "http://localhost:8080",
    "http://127.0.0.1",
    "https://[::1]:8443",
    "http://com",
];

fn url(origin: u8, path: &[u8]) -> Url {
    let origin = ORIGINS[usize::from(origin) % ORIGINS.len()];
    let path: String = String::from_utf8_lossy(path)
        .chars()
        .filter(|c| !c.is_control() && *c != '#' && *c != '?')
        .collect();
    Url::parse(&format!("{origin}/{path}")).unwrap_or_else(|_| Url::parse(origin).unwrap())
}

fn check_cookie_header(value: &str) {
    assert!(
        !value.bytes().any(|b| b < 0x20 || b == 0x7f),
        "a control byte in an emitted Cookie header: {value:?}"
    );
    let mut headers = Headers::new();
    headers
        .add_raw_header("Cookie", value)
        .expect("the emitted Cookie header is a valid header value");
    for pair in value.split("; ") {
        let (name, cookie_value) = pair
            .split_once('=')
            .unwrap_or_else(|| panic!("a pair without '=' in {value:?}"));
        assert!(
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| (0x21..=0x7e).contains(&b) && !matches!(b, b';' | b'=' | b',')),
            "an invalid cookie name {name:?} in {value:?}"
        );
        assert!(
            !cookie_value.contains(';'),
            "';' in a cookie value in {value:?}"
        );
    }
}

/// The `cookie_jar` target: byte 0 and a chunk pick the URL the cookies come from; then
/// chunks are `Set-Cookie` values (those [`Headers`] refuses are skipped, as the response
/// parser would refuse them); each extraction is followed by reads for every origin.
pub fn cookie_jar(data: &[u8]) {
    let mut input = Input::new(data);
    let jar = CookieJar::new();
    let origin = input.byte();
    let from = url(origin, input.chunk());
    let mut headers = Headers::new();
    let mut n = 0;
    while !input.is_empty() && n < 32 {
        n += 1;
        let value = input.chunk();
        if headers.add_raw_header("Set-Cookie", value).is_err() {
            continue;
        }
    }
    jar.extract_cookies(&from, &headers);
    // One more response, from another origin, with the same values.
    let other = url(origin.wrapping_add(1), b"a/b");
    jar.extract_cookies(&other, &headers);
    for origin in 0..ORIGINS.len() as u8 {
        for path in [
            &b""[..],
            b"a/b",
            from.path().trim_start_matches('/').as_bytes(),
        ] {
            if let Some(value) = jar.cookie_header_for(&url(origin, path)) {
                check_cookie_header(&value);
            }
        }
    }
    let mut request = Headers::new();
    jar.add_cookie_header(&from, &mut request);
    if let Some(value) = request.get_first("cookie") {
        check_cookie_header(std::str::from_utf8(value).expect("a UTF-8 Cookie header"));
    }
}
