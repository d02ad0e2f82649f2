//! Digest authentication (RFC 7616) through `auth=` and `DigestAuthAgent`, against a hyper
//! server that challenges and checks the answer with its own arithmetic.

mod support;

use md5::Md5;
use reactor::Reactor;
use sha2::{Digest, Sha256};
use std::rc::Rc;
use support::{reply, serve, Out, Seen};
use treq::auth::{AuthConfig, DigestAuthAgent, DigestAuthError};
use treq::client::HTTPClient;
use treq::web::client::{Agent, FileBodyProducer};
use treq::web::iweb::{IAgent, IBodyProducer};

const USER: &str = "user";
const PASSWORD: &str = "secret";
const REALM: &str = "test realm";
const NONCE: &str = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
const OPAQUE: &str = "5ccc069c403ebaf9f0171e9517f40e41";

fn hash(algorithm: &str, data: &str) -> String {
    let bytes: Vec<u8> = if algorithm.starts_with("SHA-256") {
        Sha256::digest(data.as_bytes()).to_vec()
    } else {
        Md5::digest(data.as_bytes()).to_vec()
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The parameters of an `Authorization: Digest ...` value (no commas inside values here).
fn params(value: &str) -> Vec<(String, String)> {
    value
        .strip_prefix("Digest ")
        .unwrap_or("")
        .split(", ")
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
        .collect()
}

/// Whether `seen` carries a correct answer to our challenge with `algorithm`.
fn answered(seen: &Seen, algorithm: &str) -> bool {
    let Some(value) = seen.header("authorization") else {
        return false;
    };
    let p = params(value);
    let get = |k: &str| {
        p.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if get("username") != USER
        || get("realm") != REALM
        || get("nonce") != NONCE
        || get("opaque") != OPAQUE
        || get("uri") != seen.target
        || get("qop") != "auth"
        || get("nc") != "00000001"
        || get("algorithm") != algorithm
    {
        return false;
    }
    let cnonce = get("cnonce");
    let mut ha1 = hash(algorithm, &format!("{USER}:{REALM}:{PASSWORD}"));
    if algorithm.ends_with("-sess") {
        ha1 = hash(algorithm, &format!("{ha1}:{NONCE}:{cnonce}"));
    }
    let ha2 = hash(algorithm, &format!("{}:{}", seen.method, seen.target));
    let expected = hash(
        algorithm,
        &format!("{ha1}:{NONCE}:00000001:{cnonce}:auth:{ha2}"),
    );
    get("response") == expected
}

fn challenge(algorithm: &str) -> String {
    format!(
        r#"Digest realm="{REALM}", qop="auth,auth-int", algorithm={algorithm}, nonce="{NONCE}", opaque="{OPAQUE}""#
    )
}

/// `/digest/<ALG>`: challenge with ALG; `/both`: MD5 and SHA-256 offered, SHA-256 wanted;
/// `/broken`: a challenge without a nonce; `/basic`: Basic only; `/open`: no auth;
/// `/go?to=URL`: a redirect.
fn server(seen: &Seen) -> hyper::Response<Out> {
    let path = seen.path();
    if path == "/go" {
        let to = seen.param("to").unwrap();
        return reply(302, &[("location", &to)], Out::full(""));
    }
    if path == "/open" {
        return reply(200, &[], Out::full("open"));
    }
    if path == "/basic" {
        return reply(
            401,
            &[("www-authenticate", "Basic realm=\"b\"")],
            Out::full("no"),
        );
    }
    if path == "/broken" {
        let c = format!(r#"Digest realm="{REALM}", qop="auth""#);
        return reply(401, &[("www-authenticate", &c)], Out::full("no"));
    }
    if path == "/both" {
        if answered(seen, "SHA-256") {
            return reply(200, &[], Out::full(format!("welcome {USER}")));
        }
        let (md5, sha) = (challenge("MD5"), challenge("SHA-256"));
        return reply(
            401,
            &[("www-authenticate", &md5), ("www-authenticate", &sha)],
            Out::full("who are you?"),
        );
    }
    let algorithm = path.strip_prefix("/digest/").unwrap_or("MD5");
    if answered(seen, algorithm) {
        return reply(200, &[], Out::full(format!("welcome {USER}")));
    }
    let c = challenge(algorithm);
    reply(401, &[("www-authenticate", &c)], Out::full("who are you?"))
}

#[test]
fn each_algorithm_is_answered_once() {
    let server = serve(server);
    let reactor = Reactor::new();
    let client = HTTPClient::new(Agent::new(&reactor));
    for (i, algorithm) in ["MD5", "MD5-sess", "SHA-256", "SHA-256-sess"]
        .iter()
        .enumerate()
    {
        let url = server.url(&format!("/digest/{algorithm}?x=1&y=%20"));
        let d = client
            .get(url)
            .auth(AuthConfig::digest(USER, PASSWORD))
            .send()
            .add_callback(|r| r.text(None));
        assert_eq!(support::run(&reactor, d, 10.0).unwrap(), "welcome user");
        let seen = server.seen();
        assert_eq!(seen.len(), 2 * (i + 1));
        let (first, second) = (&seen[2 * i], &seen[2 * i + 1]);
        assert_eq!(
            first.header("authorization"),
            None,
            "no credentials at first"
        );
        let answer = second.header("authorization").unwrap();
        assert!(answer.starts_with("Digest username=\"user\""), "{answer}");
        assert!(
            answer.contains(&format!("algorithm={algorithm}")),
            "{answer}"
        );
    }
}

#[test]
fn a_wrong_password_gets_the_401_after_one_answer() {
    let server = serve(server);
    let reactor = Reactor::new();
    let client = HTTPClient::new(Agent::new(&reactor));
    let d = client
        .get(server.url("/digest/SHA-256"))
        .auth(AuthConfig::digest(USER, "wrong"))
        .send();
    let response = support::run(&reactor, d, 10.0).unwrap();
    assert_eq!(response.code(), 401);
    assert_eq!(server.seen().len(), 2);
}

#[test]
fn a_post_body_in_memory_is_sent_again() {
    let server = serve(server);
    let reactor = Reactor::new();
    let client = HTTPClient::new(Agent::new(&reactor));
    let d = client
        .post(server.url("/digest/MD5"))
        .data(&b"payload"[..])
        .auth(AuthConfig::digest(USER, PASSWORD))
        .send();
    assert_eq!(support::run(&reactor, d, 10.0).unwrap().code(), 200);
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen
        .iter()
        .all(|s| s.method == "POST" && s.body == b"payload"));
}

#[test]
fn a_streamed_body_is_not_replayed_and_the_401_comes_back() {
    let server = serve(server);
    let reactor = Reactor::new();
    let agent = DigestAuthAgent::new(Rc::new(Agent::new(&reactor)), USER, PASSWORD);
    let file = FileBodyProducer::new(&reactor, std::io::Cursor::new(b"streamed".to_vec()));
    let body: Rc<dyn IBodyProducer> = Rc::new(file.unwrap());
    let d = agent.request("PUT", &server.url("/digest/MD5"), None, Some(body));
    assert_eq!(support::run(&reactor, d, 10.0).unwrap().code, 401);
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn the_stronger_of_two_challenges_is_answered() {
    let server = serve(server);
    let reactor = Reactor::new();
    let client = HTTPClient::new(Agent::new(&reactor));
    let d = client
        .get(server.url("/both"))
        .auth(AuthConfig::digest(USER, PASSWORD))
        .send();
    assert_eq!(support::run(&reactor, d, 10.0).unwrap().code(), 200);
    let answer = server.seen()[1].header("authorization").unwrap().to_owned();
    assert!(answer.contains("algorithm=SHA-256"), "{answer}");
}

#[test]
fn a_challenge_that_cannot_be_answered_fails_with_a_reason() {
    let server = serve(server);
    let reactor = Reactor::new();
    let client = HTTPClient::new(Agent::new(&reactor));
    let d = client
        .get(server.url("/broken"))
        .auth(AuthConfig::digest(USER, PASSWORD))
        .send();
    let failure = support::run(&reactor, d, 10.0).unwrap_err();
    let error = failure
        .value::<DigestAuthError>()
        .expect("a DigestAuthError");
    assert_eq!(error.reason, "no nonce");
    assert_eq!(
        failure.to_string(),
        "cannot answer the Digest challenge: no nonce"
    );
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn no_digest_challenge_no_second_request() {
    let server = serve(server);
    let reactor = Reactor::new();
    let client = HTTPClient::new(Agent::new(&reactor));
    for (path, code) in [("/basic", 401), ("/open", 200)] {
        let d = client
            .get(server.url(path))
            .auth(AuthConfig::digest(USER, PASSWORD))
            .send();
        assert_eq!(support::run(&reactor, d, 10.0).unwrap().code(), code);
    }
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|s| s.header("authorization").is_none()));
}

#[test]
fn digest_credentials_are_checked_and_hidden() {
    let reactor = Reactor::new();
    let client = HTTPClient::new(Agent::new(&reactor));
    let d = client
        .get("http://127.0.0.1:1/")
        .auth(AuthConfig::digest("us\ner", PASSWORD))
        .send();
    let failure = d.take_result().unwrap().unwrap_err();
    assert!(
        failure.check::<treq::auth::UnknownAuthConfig>(),
        "{failure}"
    );
    let shown = format!("{:?}", AuthConfig::digest(USER, PASSWORD));
    assert!(!shown.contains(PASSWORD), "{shown}");
}

fn go(server: &support::Server, to: &str) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("to", to)
        .finish();
    server.url(&format!("/go?{query}"))
}

#[test]
fn a_challenge_after_a_redirect_is_answered_for_the_same_origin_only() {
    let a = serve(server);
    let b = serve(server);
    let reactor = Reactor::new();
    let client = HTTPClient::new(Agent::new(&reactor));
    // Same origin: answered, for the URL redirected to.
    let d = client
        .get(go(&a, &a.url("/digest/MD5?after=redirect")))
        .auth(AuthConfig::digest(USER, PASSWORD))
        .send();
    assert_eq!(support::run(&reactor, d, 10.0).unwrap().code(), 200);
    let answer = a
        .seen()
        .last()
        .unwrap()
        .header("authorization")
        .unwrap()
        .to_owned();
    assert!(
        answer.contains("uri=\"/digest/MD5?after=redirect\""),
        "{answer}"
    );
    // Another origin: its challenge is not answered, and it never sees the credentials.
    let d = client
        .get(go(&a, &b.url("/digest/MD5")))
        .auth(AuthConfig::digest(USER, PASSWORD))
        .send();
    assert_eq!(support::run(&reactor, d, 10.0).unwrap().code(), 401);
    let seen = b.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("authorization"), None);
}
