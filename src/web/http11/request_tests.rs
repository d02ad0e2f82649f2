use super::*;

fn head<'a>(
    method: &'a str,
    target: &'a str,
    host: &'a str,
    headers: &'a Headers,
) -> RequestHead<'a> {
    RequestHead {
        method: method.as_bytes(),
        target: target.as_bytes(),
        host: host.as_bytes(),
        headers,
        framing: BodyFraming::None,
        keep_alive: true,
    }
}

fn written(head: &RequestHead<'_>) -> String {
    let mut out = BytesMut::new();
    write_request_head(head, &mut out).unwrap();
    String::from_utf8(out.to_vec()).unwrap()
}

#[test]
fn get_without_body() {
    let h = Headers::try_from([("Accept", "*/*")]).unwrap();
    assert_eq!(
        written(&head("GET", "/a?b=c", "example.com", &h)),
        "GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"
    );
}

#[test]
fn head_without_body() {
    let h = Headers::new();
    assert_eq!(
        written(&head("HEAD", "/", "example.com", &h)),
        "HEAD / HTTP/1.1\r\nHost: example.com\r\n\r\n"
    );
}

#[test]
fn post_with_length() {
    let h = Headers::try_from([("Content-Type", "text/plain")]).unwrap();
    let mut r = head("POST", "/upload", "example.com", &h);
    r.framing = BodyFraming::Length(12345);
    assert_eq!(
        written(&r),
        "POST /upload HTTP/1.1\r\nHost: example.com\r\nContent-Type: text/plain\r\n\
         Content-Length: 12345\r\n\r\n"
    );
}

#[test]
fn post_chunked() {
    let h = Headers::new();
    let mut r = head("POST", "/", "example.com", &h);
    r.framing = BodyFraming::Chunked;
    assert_eq!(
        written(&r),
        "POST / HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
}

#[test]
fn post_put_patch_without_body_send_zero_length() {
    let h = Headers::new();
    for method in ["POST", "PUT", "PATCH"] {
        assert_eq!(
            written(&head(method, "/", "h", &h)),
            format!("{method} / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
        );
    }
    assert_eq!(
        written(&head("DELETE", "/", "h", &h)),
        "DELETE / HTTP/1.1\r\nHost: h\r\n\r\n"
    );
}

#[test]
fn host_with_port_and_ipv6() {
    let h = Headers::new();
    assert_eq!(
        written(&head("GET", "/", "example.com:8080", &h)),
        "GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n"
    );
    assert_eq!(
        written(&head("GET", "/", "[::1]:8080", &h)),
        "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"
    );
}

#[test]
fn callers_host_is_kept_in_place() {
    let h = Headers::try_from([("Accept", "*/*"), ("host", "virtual.example")]).unwrap();
    assert_eq!(
        written(&head("GET", "/", "example.com", &h)),
        "GET / HTTP/1.1\r\nAccept: */*\r\nhost: virtual.example\r\n\r\n"
    );
}

#[test]
fn absolute_form_target_for_proxies() {
    let h = Headers::new();
    assert_eq!(
        written(&head("GET", "http://example.com/x", "example.com", &h)),
        "GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\n\r\n"
    );
}

#[test]
fn keep_alive_false_sends_connection_close() {
    let h = Headers::new();
    let mut r = head("PUT", "/", "h", &h);
    r.keep_alive = false;
    r.framing = BodyFraming::Length(3);
    assert_eq!(
        written(&r),
        "PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"
    );
}

#[test]
fn callers_framing_and_connection_headers_are_dropped() {
    let h = Headers::try_from([
        ("Content-Length", "999"),
        ("X-A", "1"),
        ("transfer-encoding", "gzip"),
        ("Connection", "Upgrade"),
    ])
    .unwrap();
    let mut r = head("POST", "/", "h", &h);
    r.framing = BodyFraming::Length(2);
    assert_eq!(
        written(&r),
        "POST / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nContent-Length: 2\r\n\r\n"
    );
}

#[test]
fn injection_attempts_are_rejected_and_out_untouched() {
    let h = Headers::new();
    let cases = [
        (
            head("GET / HTTP/1.1\r\nX: y", "/", "h", &h),
            ProtocolError::InvalidMethod,
        ),
        (head("GET\0", "/", "h", &h), ProtocolError::InvalidMethod),
        (head("GE T", "/", "h", &h), ProtocolError::InvalidMethod),
        (head("", "/", "h", &h), ProtocolError::InvalidMethod),
        (
            head("GET", "/ HTTP/1.1\r\nX: y", "h", &h),
            ProtocolError::InvalidRequestTarget,
        ),
        (
            head("GET", "/a b", "h", &h),
            ProtocolError::InvalidRequestTarget,
        ),
        (
            head("GET", "/\n", "h", &h),
            ProtocolError::InvalidRequestTarget,
        ),
        (
            head("GET", "/\u{e9}", "h", &h),
            ProtocolError::InvalidRequestTarget,
        ),
        (
            head("GET", "", "h", &h),
            ProtocolError::InvalidRequestTarget,
        ),
        (
            head("GET", "/", "h\r\nX: y", &h),
            ProtocolError::InvalidHost,
        ),
        (head("GET", "/", "", &h), ProtocolError::InvalidHost),
    ];
    for (r, expected) in cases {
        let mut out = BytesMut::from(&b"previous"[..]);
        assert_eq!(
            write_request_head(&r, &mut out),
            Err(expected.clone()),
            "{r:?}"
        );
        assert_eq!(&out[..], b"previous");
    }
}

#[test]
fn appends_after_existing_bytes() {
    let h = Headers::new();
    let mut out = BytesMut::from(&b"0\r\n\r\n"[..]);
    write_request_head(&head("GET", "/", "h", &h), &mut out).unwrap();
    assert_eq!(&out[..], b"0\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n");
}

#[test]
fn length_body_exact() {
    let mut enc = BodyEncoder::new(BodyFraming::Length(5));
    let mut out = BytesMut::new();
    enc.encode(b"he", &mut out).unwrap();
    enc.encode(b"", &mut out).unwrap();
    enc.encode(b"llo", &mut out).unwrap();
    enc.finish(&mut out).unwrap();
    assert_eq!(&out[..], b"hello");
    assert!(enc.is_finished());
}

#[test]
fn length_body_too_long() {
    let mut enc = BodyEncoder::new(BodyFraming::Length(3));
    let mut out = BytesMut::new();
    enc.encode(b"ab", &mut out).unwrap();
    assert_eq!(
        enc.encode(b"cd", &mut out),
        Err(ProtocolError::WrongBodyLength {
            expected: 3,
            actual: 4
        })
    );
    assert_eq!(&out[..], b"ab");
    enc.encode(b"c", &mut out).unwrap();
    enc.finish(&mut out).unwrap();
}

#[test]
fn length_body_too_short() {
    let mut enc = BodyEncoder::new(BodyFraming::Length(3));
    let mut out = BytesMut::new();
    enc.encode(b"ab", &mut out).unwrap();
    assert_eq!(
        enc.finish(&mut out),
        Err(ProtocolError::WrongBodyLength {
            expected: 3,
            actual: 2
        })
    );
    assert!(!enc.is_finished());
}

#[test]
fn chunked_body_bytes() {
    let mut enc = BodyEncoder::new(BodyFraming::Chunked);
    let mut out = BytesMut::new();
    enc.encode(b"hello", &mut out).unwrap();
    enc.encode(b"", &mut out).unwrap();
    enc.encode(&[b'x'; 26], &mut out).unwrap();
    enc.finish(&mut out).unwrap();
    let mut expected = b"5\r\nhello\r\n1a\r\n".to_vec();
    expected.extend_from_slice(&[b'x'; 26]);
    expected.extend_from_slice(b"\r\n0\r\n\r\n");
    assert_eq!(&out[..], &expected[..]);
}

#[test]
fn chunk_frame_for_vectored_writes() {
    let mut enc = BodyEncoder::new(BodyFraming::Chunked);
    let frame = enc.frame(0x10000).unwrap();
    assert_eq!(frame.prefix(), b"10000\r\n");
    assert_eq!(frame.suffix(), b"\r\n");
    let empty = enc.frame(0).unwrap();
    assert_eq!((empty.prefix(), empty.suffix()), (&b""[..], &b""[..]));
    let mut enc = BodyEncoder::new(BodyFraming::Length(10));
    let frame = enc.frame(10).unwrap();
    assert_eq!((frame.prefix(), frame.suffix()), (&b""[..], &b""[..]));
}

#[test]
fn no_body_framing_refuses_data() {
    let mut enc = BodyEncoder::new(BodyFraming::None);
    let mut out = BytesMut::new();
    assert_eq!(
        enc.encode(b"x", &mut out),
        Err(ProtocolError::BodyNotDeclared)
    );
    enc.encode(b"", &mut out).unwrap();
    enc.finish(&mut out).unwrap();
    assert!(out.is_empty());
}

#[test]
fn use_after_finish_is_an_error() {
    let mut enc = BodyEncoder::new(BodyFraming::Chunked);
    let mut out = BytesMut::new();
    enc.finish(&mut out).unwrap();
    assert_eq!(
        enc.encode(b"x", &mut out),
        Err(ProtocolError::BodyAlreadyFinished)
    );
    assert_eq!(
        enc.finish(&mut out),
        Err(ProtocolError::BodyAlreadyFinished)
    );
    assert_eq!(&out[..], b"0\r\n\r\n");
}

#[test]
fn number_formatting() {
    let mut d = [0u8; 20];
    assert_eq!(format_decimal(0, &mut d), b"0");
    assert_eq!(format_decimal(u64::MAX, &mut d), b"18446744073709551615");
    let mut h = [0u8; 16];
    assert_eq!(format_hex(0, &mut h), b"0");
    assert_eq!(format_hex(u64::MAX, &mut h), b"ffffffffffffffff");
}
