//! The httpbin-compatible test server (`tests/support/httpbin`) checked on its own, with a raw
//! `std::net::TcpStream` client (and rustls for HTTPS), so the server's shapes are known good
//! before the treq client is tested against it.

mod support;

use flate2::read::{GzDecoder, ZlibDecoder};
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{json, Value};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::httpbin::HttpBin;
use support::raw::{connect, parse, read_all, send_raw, Raw};

/// `method path` with extra header lines and a body, `Connection: close`.
fn request(bin: &HttpBin, method: &str, path: &str, headers: &[&str], body: &[u8]) -> Raw {
    let mut text = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n",
        bin.port()
    );
    for h in headers {
        text.push_str(h);
        text.push_str("\r\n");
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        text.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    text.push_str("\r\n");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(body);
    let received = send_raw(bin.port(), &bytes);
    parse(&received).0
}

fn get(bin: &HttpBin, path: &str) -> Raw {
    request(bin, "GET", path, &[], b"")
}

// ---------------------------------------------------------------------------------------------
// The echo routes.

#[test]
fn get_reports_args_headers_origin_and_url() {
    let bin = HttpBin::start();
    let r = request(
        &bin,
        "GET",
        "/get?a=1&b=two+words&a=3",
        &["X-Test: yes"],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    assert_eq!(v["args"], json!({"a": ["1", "3"], "b": "two words"}));
    assert_eq!(v["headers"]["X-Test"], "yes");
    assert_eq!(v["headers"]["Host"], format!("127.0.0.1:{}", bin.port()));
    assert_eq!(v["origin"], "127.0.0.1");
    assert_eq!(
        v["url"],
        format!("http://127.0.0.1:{}/get?a=1&b=two+words&a=3", bin.port())
    );
    assert!(v.get("data").is_none(), "/get has no body fields: {v}");
}

#[test]
fn get_refuses_other_methods() {
    let bin = HttpBin::start();
    let r = request(&bin, "POST", "/get", &[], b"x");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
}

#[test]
fn post_urlencoded_form_goes_into_form() {
    let bin = HttpBin::start();
    let r = request(
        &bin,
        "POST",
        "/post?q=1",
        &["Content-Type: application/x-www-form-urlencoded"],
        b"name=treq&lang=rust&lang=python&sp=a%20b+c",
    );
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(
        v["form"],
        json!({"name": "treq", "lang": ["rust", "python"], "sp": "a b c"})
    );
    assert_eq!(v["data"], "");
    assert_eq!(v["files"], json!({}));
    assert_eq!(v["json"], Value::Null);
    assert_eq!(v["args"], json!({"q": "1"}));
}

#[test]
fn post_json_goes_into_json_and_data() {
    let bin = HttpBin::start();
    let body = br#"{"a": [1, 2], "b": null}"#;
    let r = request(
        &bin,
        "POST",
        "/post",
        &["Content-Type: application/json"],
        body,
    );
    let v = r.json();
    assert_eq!(v["json"], json!({"a": [1, 2], "b": null}));
    assert_eq!(v["data"], std::str::from_utf8(body).unwrap());
    assert_eq!(v["form"], json!({}));
}

#[test]
fn binary_data_is_a_base64_data_url() {
    let bin = HttpBin::start();
    let r = request(&bin, "PUT", "/put", &[], &[0xff, 0x00, 0xfe]);
    assert_eq!(
        r.json()["data"],
        "data:application/octet-stream;base64,/wD+"
    );
}

#[test]
fn multipart_fields_go_into_form_and_files() {
    let bin = HttpBin::start();
    let body = b"--XyZ\r\n\
        Content-Disposition: form-data; name=\"field\"\r\n\r\n\
        value one\r\n\
        --XyZ\r\n\
        Content-Disposition: form-data; name=\"upload\"; filename=\"a.txt\"\r\n\
        Content-Type: text/plain\r\n\r\n\
        file\r\ncontent\r\n\
        --XyZ--\r\n";
    let r = request(
        &bin,
        "POST",
        "/post",
        &["Content-Type: multipart/form-data; boundary=XyZ"],
        body,
    );
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["form"], json!({"field": "value one"}));
    assert_eq!(v["files"], json!({"upload": "file\r\ncontent"}));
    assert_eq!(v["data"], "");
}

#[test]
fn broken_multipart_is_a_400() {
    let bin = HttpBin::start();
    let r = request(
        &bin,
        "POST",
        "/post",
        &["Content-Type: multipart/form-data; boundary=XyZ"],
        b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end",
    );
    assert_eq!(r.status, 400);
    assert!(String::from_utf8_lossy(&r.body).contains("closing boundary"));
}

#[test]
fn put_patch_delete_echo_their_body() {
    let bin = HttpBin::start();
    for method in ["PUT", "PATCH", "DELETE"] {
        let path = format!("/{}", method.to_ascii_lowercase());
        let r = request(&bin, method, &path, &[], b"payload");
        assert_eq!(r.status, 200, "{method}");
        assert_eq!(r.json()["data"], "payload", "{method}");
        let wrong = request(&bin, "GET", &path, &[], b"");
        assert_eq!(wrong.status, 405, "GET {path}");
    }
}

#[test]
fn anything_takes_any_method_and_sub_path() {
    let bin = HttpBin::start();
    let r = request(&bin, "OPTIONS", "/anything/deep/path?x=y", &[], b"");
    let v = r.json();
    assert_eq!(v["method"], "OPTIONS");
    assert_eq!(v["args"], json!({"x": "y"}));
    assert!(v["url"]
        .as_str()
        .unwrap()
        .ends_with("/anything/deep/path?x=y"));
    let r = request(&bin, "BREW", "/anything", &[], b"tea");
    assert_eq!(r.json()["method"], "BREW");
    assert_eq!(r.json()["data"], "tea");
}

#[test]
fn headers_route_title_cases_and_joins_repeats() {
    let bin = HttpBin::start();
    let r = request(
        &bin,
        "GET",
        "/headers",
        &["x-multi: 1", "X-Multi: 2", "user-agent: raw"],
        b"",
    );
    let v = r.json();
    assert_eq!(v["headers"]["X-Multi"], "1,2");
    assert_eq!(v["headers"]["User-Agent"], "raw");
    assert_eq!(v.as_object().unwrap().len(), 1, "only headers: {v}");
}

#[test]
fn unknown_route_is_a_404() {
    let bin = HttpBin::start();
    assert_eq!(get(&bin, "/nope").status, 404);
}

// ---------------------------------------------------------------------------------------------
// Status and auth.

#[test]
fn status_answers_the_code_asked_for() {
    let bin = HttpBin::start();
    assert_eq!(get(&bin, "/status/204").status, 204);
    let teapot = get(&bin, "/status/418");
    assert_eq!(teapot.status, 418);
    assert!(String::from_utf8_lossy(&teapot.body).contains("teapot"));
    let moved = get(&bin, "/status/301");
    assert_eq!(
        (moved.status, moved.header("location")),
        (301, Some("/redirect/1"))
    );
    let proxy = get(&bin, "/status/407");
    assert!(proxy
        .header("proxy-authenticate")
        .unwrap()
        .starts_with("Basic"));
    let posted = request(&bin, "POST", "/status/503", &[], b"");
    assert_eq!(posted.status, 503);
    assert_eq!(get(&bin, "/status/99").status, 400);
    assert_eq!(get(&bin, "/status/abc").status, 400);
}

#[test]
fn basic_auth_checks_the_credentials() {
    let bin = HttpBin::start();
    // "user:passwd" in base64.
    let ok = request(
        &bin,
        "GET",
        "/basic-auth/user/passwd",
        &["Authorization: Basic dXNlcjpwYXNzd2Q="],
        b"",
    );
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json(), json!({"authenticated": true, "user": "user"}));
    let wrong = request(
        &bin,
        "GET",
        "/basic-auth/user/other",
        &["Authorization: Basic dXNlcjpwYXNzd2Q="],
        b"",
    );
    assert_eq!(wrong.status, 401);
    assert_eq!(
        wrong.header("www-authenticate"),
        Some("Basic realm=\"Fake Realm\"")
    );
    assert_eq!(get(&bin, "/basic-auth/user/passwd").status, 401);
}

// ---------------------------------------------------------------------------------------------
// Redirects.

#[test]
fn redirect_chains_count_down_to_get() {
    let bin = HttpBin::start();
    let r = get(&bin, "/redirect/3");
    assert_eq!(
        (r.status, r.header("location")),
        (302, Some("/relative-redirect/2"))
    );
    let r = get(&bin, "/relative-redirect/1");
    assert_eq!(r.header("location"), Some("/get"));
    let base = format!("http://127.0.0.1:{}", bin.port());
    let r = get(&bin, "/absolute-redirect/2");
    assert_eq!(
        r.header("location"),
        Some(format!("{base}/absolute-redirect/1").as_str())
    );
    let r = get(&bin, "/redirect/1?absolute=true");
    assert_eq!(r.header("location"), Some(format!("{base}/get").as_str()));
    assert_eq!(get(&bin, "/redirect/0").status, 400);
}

#[test]
fn redirect_to_uses_the_url_and_status_given() {
    let bin = HttpBin::start();
    let r = get(
        &bin,
        "/redirect-to?url=http%3A%2F%2Fexample.test%2Fx&status_code=307",
    );
    assert_eq!(
        (r.status, r.header("location")),
        (307, Some("http://example.test/x"))
    );
    let r = request(&bin, "POST", "/redirect-to?url=/get", &[], b"");
    assert_eq!((r.status, r.header("location")), (302, Some("/get")));
    let r = get(&bin, "/redirect-to?url=/get&status_code=200");
    assert_eq!(r.status, 302, "a non-3xx status_code falls back to 302");
    assert_eq!(get(&bin, "/redirect-to").status, 400);
}

// ---------------------------------------------------------------------------------------------
// Cookies.

#[test]
fn cookies_reports_the_cookie_header() {
    let bin = HttpBin::start();
    let r = request(&bin, "GET", "/cookies", &["Cookie: a=1; b=two"], b"");
    assert_eq!(r.json(), json!({"cookies": {"a": "1", "b": "two"}}));
    assert_eq!(get(&bin, "/cookies").json(), json!({"cookies": {}}));
}

#[test]
fn cookie_setters_redirect_with_set_cookie() {
    let bin = HttpBin::start();
    let r = get(&bin, "/cookies/set?k1=v1&k2=v2");
    assert_eq!((r.status, r.header("location")), (302, Some("/cookies")));
    assert_eq!(r.all("set-cookie"), ["k1=v1; Path=/", "k2=v2; Path=/"]);
    let r = get(&bin, "/cookies/set/name/some%20value");
    assert_eq!(r.all("set-cookie"), ["name=some value; Path=/"]);
    let r = get(&bin, "/cookies/delete?k1");
    let deleted = r.all("set-cookie");
    assert_eq!(deleted.len(), 1);
    assert!(
        deleted[0].starts_with("k1=; Expires=Thu, 01 Jan 1970"),
        "{deleted:?}"
    );
    assert!(deleted[0].contains("Max-Age=0"));
}

// ---------------------------------------------------------------------------------------------
// Content encodings.

#[test]
fn gzip_and_deflate_bodies_decode_to_their_json() {
    let bin = HttpBin::start();
    let r = get(&bin, "/gzip");
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    let mut text = String::new();
    GzDecoder::new(&r.body[..])
        .read_to_string(&mut text)
        .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (v["gzipped"].clone(), v["method"].clone()),
        (json!(true), json!("GET"))
    );
    assert!(v["headers"]["Host"].is_string());

    let r = get(&bin, "/deflate");
    assert_eq!(r.header("content-encoding"), Some("deflate"));
    let mut text = String::new();
    ZlibDecoder::new(&r.body[..])
        .read_to_string(&mut text)
        .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["deflated"], true);
    assert_eq!(v["origin"], "127.0.0.1");
}

// ---------------------------------------------------------------------------------------------
// Time and size.

#[test]
fn delay_waits_before_answering() {
    let bin = HttpBin::start();
    let started = Instant::now();
    let r = get(&bin, "/delay/1?x=1");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.json()["args"], json!({"x": "1"}));
    assert_eq!(get(&bin, "/delay/soon").status, 400);
}

#[test]
fn stream_sends_json_lines_chunked() {
    let bin = HttpBin::start();
    let r = get(&bin, "/stream/3");
    assert!(r.chunked);
    let text = String::from_utf8(r.body).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["id"], i);
        assert!(line["url"].as_str().unwrap().ends_with("/stream/3"));
    }
    let capped = get(&bin, "/stream/1000");
    assert_eq!(String::from_utf8(capped.body).unwrap().lines().count(), 100);
}

#[test]
fn bytes_are_sized_and_seeded() {
    let bin = HttpBin::start();
    let a = get(&bin, "/bytes/1000?seed=7");
    assert_eq!(a.header("content-length"), Some("1000"));
    assert_eq!(a.header("content-type"), Some("application/octet-stream"));
    assert_eq!(a.body.len(), 1000);
    let b = get(&bin, "/bytes/1000?seed=7");
    assert_eq!(a.body, b.body, "same seed, same bytes");
    let c = get(&bin, "/bytes/1000?seed=8");
    assert_ne!(a.body, c.body, "another seed, other bytes");
    assert_eq!(get(&bin, "/bytes/-1").status, 400);
}

#[test]
fn stream_bytes_are_chunked_and_match_bytes() {
    let bin = HttpBin::start();
    let whole = get(&bin, "/bytes/2500?seed=3");
    let streamed = get(&bin, "/stream-bytes/2500?seed=3&chunk_size=1000");
    assert!(streamed.chunked);
    assert_eq!(streamed.body, whole.body);
}

#[test]
fn drip_sends_numbytes_stars_with_a_length() {
    let bin = HttpBin::start();
    let r = get(&bin, "/drip?numbytes=5&duration=0.2&code=201");
    assert_eq!(r.status, 201);
    assert_eq!(r.header("content-length"), Some("5"));
    assert_eq!(r.body, b"*****");
    assert_eq!(get(&bin, "/drip?numbytes=x").status, 400);
}

// ---------------------------------------------------------------------------------------------
// The server itself: keep-alive counters, HTTPS, shutdown.

#[test]
fn hits_and_connections_count_keep_alive_requests() {
    let bin = HttpBin::start();
    let host = format!("Host: 127.0.0.1:{}\r\n", bin.port());
    let mut stream = connect(bin.port());
    let two = format!("GET /get?n=1 HTTP/1.1\r\n{host}\r\nGET /get?n=2 HTTP/1.1\r\n{host}Connection: close\r\n\r\n");
    stream.write_all(two.as_bytes()).unwrap();
    let received = read_all(&mut stream);
    let (first, rest) = parse(&received);
    let (second, _) = parse(rest);
    assert_eq!(first.json()["args"], json!({"n": "1"}));
    assert_eq!(second.json()["args"], json!({"n": "2"}));
    assert_eq!((bin.hits(), bin.connections()), (2, 1));
    get(&bin, "/get");
    assert_eq!((bin.hits(), bin.connections()), (3, 2));
}

fn tls_client(ca_der: Vec<u8>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(ca_der)).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

fn https_get(bin: &HttpBin, server_name: &str, path: &str) -> Raw {
    let name = ServerName::try_from(server_name.to_owned()).unwrap();
    let connection = rustls::ClientConnection::new(tls_client(bin.ca_der()), name).unwrap();
    let mut tls = rustls::StreamOwned::new(connection, connect(bin.https_port()));
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {server_name}:{}\r\nConnection: close\r\n\r\n",
        bin.https_port()
    );
    tls.write_all(request.as_bytes()).unwrap();
    let received = read_all(&mut tls);
    parse(&received).0
}

#[test]
fn https_is_served_with_a_certificate_from_the_test_ca() {
    let bin = HttpBin::start();
    assert!(bin.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    let r = https_get(&bin, "localhost", "/get?tls=1");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["url"], bin.https_url("/get?tls=1"));
    let by_ip = https_get(&bin, "127.0.0.1", "/headers");
    assert_eq!(by_ip.status, 200);
}

#[test]
fn https_refuses_a_client_that_does_not_trust_the_test_ca() {
    let bin = HttpBin::start();
    let other = HttpBin::start();
    let name = ServerName::try_from("localhost").unwrap();
    let connection = rustls::ClientConnection::new(tls_client(other.ca_der()), name).unwrap();
    let mut tls = rustls::StreamOwned::new(connection, connect(bin.https_port()));
    let err = tls.write_all(b"GET /get HTTP/1.1\r\n\r\n").unwrap_err();
    assert!(
        err.to_string().contains("invalid peer certificate"),
        "{err}"
    );
}

#[test]
fn dropping_the_server_closes_its_ports() {
    let bin = HttpBin::start();
    let (http, https) = (bin.port(), bin.https_port());
    assert_eq!(get(&bin, "/get").status, 200);
    drop(bin);
    for port in [http, https] {
        let err = TcpStream::connect(("127.0.0.1", port)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "port {port}");
    }
}

// ---------------------------------------------------------------------------------------------
// Our own Agent against it.

#[test]
fn the_agent_reuses_one_pooled_connection_for_get_requests() {
    use treq::web::client::{read_body, Agent, HTTPConnectionPool};
    use treq::web::iweb::IAgent;
    let bin = HttpBin::start();
    let reactor = reactor::Reactor::new();
    let agent = Agent::new(&reactor).pool(HTTPConnectionPool::new(&reactor, true));
    for n in 0..3 {
        let d = agent
            .request("GET", &bin.url(&format!("/get?n={n}")), None, None)
            .add_callback(|response| read_body(&response));
        let body = support::wait::run(&reactor, d, 10.0).unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["args"], json!({"n": n.to_string()}));
        assert_eq!(v["url"], bin.url(&format!("/get?n={n}")));
    }
    assert_eq!((bin.hits(), bin.connections()), (3, 1));
}
