//! HTTP Digest authentication (RFC 7616): [`DigestAuthAgent`] answers a `401` Digest challenge
//! once, with MD5 or SHA-256 (and their `-sess` forms) and `qop=auth`.

use super::challenge::{parse_challenges, Challenge};
use crate::web::client::drain;
use crate::web::client::BytesBodyProducer;
use crate::web::http_headers::Headers;
use crate::web::iweb::{replayable_body, IAgent, IBodyProducer};
use crate::web::response::Response;
use bytes::Bytes;
use md5::Md5;
use reactor::defer::Deferred;
use sha2::{Digest, Sha256};
use std::collections::hash_map::RandomState;
use std::error::Error;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::rc::Rc;
use url::Url;

/// The hash a Digest challenge names (its `algorithm`; MD5 when absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DigestAlgorithm {
    /// `MD5`.
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256`.
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl DigestAlgorithm {
    fn parse(name: &str) -> Option<DigestAlgorithm> {
        Some(match name.to_ascii_uppercase().as_str() {
            "MD5" => DigestAlgorithm::Md5,
            "MD5-SESS" => DigestAlgorithm::Md5Sess,
            "SHA-256" => DigestAlgorithm::Sha256,
            "SHA-256-SESS" => DigestAlgorithm::Sha256Sess,
            _ => return None,
        })
    }

    /// The name as sent in `algorithm=`.
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Md5 => "MD5",
            DigestAlgorithm::Md5Sess => "MD5-sess",
            DigestAlgorithm::Sha256 => "SHA-256",
            DigestAlgorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    fn session(self) -> bool {
        matches!(self, DigestAlgorithm::Md5Sess | DigestAlgorithm::Sha256Sess)
    }

    /// `H(data)` in lower-case hex.
    fn hash(self, data: &[u8]) -> String {
        match self {
            DigestAlgorithm::Md5 | DigestAlgorithm::Md5Sess => hex(&Md5::digest(data)),
            DigestAlgorithm::Sha256 | DigestAlgorithm::Sha256Sess => hex(&Sha256::digest(data)),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A Digest challenge this client cannot answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestAuthError {
    /// Why, such as "no nonce" or "unsupported algorithm SHA-512-256".
    pub reason: String,
}

impl fmt::Display for DigestAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot answer the Digest challenge: {}", self.reason)
    }
}

impl Error for DigestAuthError {}

/// A Digest challenge's parameters, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DigestChallenge {
    pub(crate) realm: String,
    pub(crate) nonce: String,
    pub(crate) opaque: Option<String>,
    pub(crate) algorithm: DigestAlgorithm,
    /// `qop=auth` offered (else the challenge has no `qop`: RFC 2069's form).
    pub(crate) qop_auth: bool,
}

impl DigestChallenge {
    fn from_challenge(c: &Challenge) -> Result<DigestChallenge, DigestAuthError> {
        let error = |reason: String| DigestAuthError { reason };
        let realm = c.param("realm").ok_or_else(|| error("no realm".into()))?;
        let nonce = c.param("nonce").ok_or_else(|| error("no nonce".into()))?;
        let algorithm = match c.param("algorithm") {
            None => DigestAlgorithm::Md5,
            Some(name) => DigestAlgorithm::parse(name)
                .ok_or_else(|| error(format!("unsupported algorithm {name}")))?,
        };
        let qop_auth = match c.param("qop") {
            None => false,
            Some(qops) => {
                if !qops
                    .split(',')
                    .any(|q| q.trim().eq_ignore_ascii_case("auth"))
                {
                    return Err(error(format!("unsupported qop {qops:?} (only auth is)")));
                }
                true
            }
        };
        Ok(DigestChallenge {
            realm: realm.to_owned(),
            nonce: nonce.to_owned(),
            opaque: c.param("opaque").map(str::to_owned),
            algorithm,
            qop_auth,
        })
    }

    /// The `response` value (RFC 7616 §3.4.1).
    pub(crate) fn response(
        &self,
        username: &[u8],
        password: &[u8],
        method: &str,
        uri: &str,
        cnonce: &str,
        nc: &str,
    ) -> String {
        let alg = self.algorithm;
        let mut a1 = Vec::new();
        a1.extend_from_slice(username);
        a1.push(b':');
        a1.extend_from_slice(self.realm.as_bytes());
        a1.push(b':');
        a1.extend_from_slice(password);
        let mut ha1 = alg.hash(&a1);
        if alg.session() {
            ha1 = alg.hash(format!("{ha1}:{}:{cnonce}", self.nonce).as_bytes());
        }
        let ha2 = alg.hash(format!("{method}:{uri}").as_bytes());
        if self.qop_auth {
            alg.hash(format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", self.nonce).as_bytes())
        } else {
            alg.hash(format!("{ha1}:{}:{ha2}", self.nonce).as_bytes())
        }
    }

    /// The `Authorization` header value answering this challenge.
    pub(crate) fn authorization(
        &self,
        username: &[u8],
        password: &[u8],
        method: &str,
        uri: &str,
        cnonce: &str,
    ) -> String {
        let nc = "00000001";
        let response = self.response(username, password, method, uri, cnonce, nc);
        let mut out = format!(
            "Digest username={}, realm={}, nonce={}, uri={}, algorithm={}, response=\"{response}\"",
            quote(&String::from_utf8_lossy(username)),
            quote(&self.realm),
            quote(&self.nonce),
            quote(uri),
            self.algorithm.name(),
        );
        if self.qop_auth {
            out.push_str(&format!(", qop=auth, nc={nc}, cnonce=\"{cnonce}\""));
        }
        if let Some(opaque) = &self.opaque {
            out.push_str(&format!(", opaque={}", quote(opaque)));
        }
        out
    }
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        if ch == '"' || ch == '\\' {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('"');
    out
}

/// The best Digest challenge in `headers` (SHA-256 before MD5), `Ok(None)` when there is no
/// Digest challenge, or why none of them can be answered.
pub(crate) fn pick_challenge(
    headers: &Headers,
) -> Result<Option<DigestChallenge>, DigestAuthError> {
    let mut best: Option<DigestChallenge> = None;
    let mut last_error = None;
    let values = headers.get_raw_headers("www-authenticate");
    for value in values.into_iter().flatten() {
        for challenge in parse_challenges(value) {
            if challenge.scheme != "digest" {
                continue;
            }
            match DigestChallenge::from_challenge(&challenge) {
                Ok(c) => {
                    let better = best.as_ref().is_none_or(|b| {
                        (c.qop_auth, strength(c.algorithm)) > (b.qop_auth, strength(b.algorithm))
                    });
                    if better {
                        best = Some(c);
                    }
                }
                Err(e) => last_error = Some(e),
            }
        }
    }
    match (best, last_error) {
        (Some(c), _) => Ok(Some(c)),
        (None, Some(e)) => Err(e),
        (None, None) => Ok(None),
    }
}

fn strength(a: DigestAlgorithm) -> u8 {
    match a {
        DigestAlgorithm::Md5 | DigestAlgorithm::Md5Sess => 0,
        DigestAlgorithm::Sha256 | DigestAlgorithm::Sha256Sess => 1,
    }
}

/// 128 random bits in hex, from the standard library's randomly keyed hasher.
fn new_cnonce() -> String {
    let mut out = String::with_capacity(32);
    for i in 0..2u64 {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(i);
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// An agent that answers a `401` Digest challenge once (RFC 7616; not in treq, treq #389):
/// the first request goes without credentials; a `401` with a Digest challenge it can answer
/// has its body drained, and the request is sent again with an `Authorization` header. A
/// request whose body cannot be sent again (no
/// [`immediate_body`](IBodyProducer::immediate_body)) gets the `401` back, as does a challenge
/// from another origin than the request's (after a redirect). A Digest challenge none of
/// whose forms it can answer fails with [`DigestAuthError`].
pub struct DigestAuthAgent {
    agent: Rc<dyn IAgent>,
    username: Bytes,
    password: Bytes,
}

impl DigestAuthAgent {
    /// Answer challenges for `agent`'s requests as `username` with `password`.
    pub fn new(
        agent: Rc<dyn IAgent>,
        username: impl Into<Bytes>,
        password: impl Into<Bytes>,
    ) -> DigestAuthAgent {
        DigestAuthAgent {
            agent,
            username: username.into(),
            password: password.into(),
        }
    }
}

impl fmt::Debug for DigestAuthAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestAuthAgent")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl IAgent for DigestAuthAgent {
    fn request(
        &self,
        method: &str,
        uri: &str,
        headers: Option<Headers>,
        body_producer: Option<Rc<dyn IBodyProducer>>,
    ) -> Deferred<Response> {
        let replay = replayable_body(body_producer.as_ref());
        let (agent, method, username, password) = (
            self.agent.clone(),
            method.to_owned(),
            self.username.clone(),
            self.password.clone(),
        );
        let origin = Url::parse(uri).ok();
        let first = self
            .agent
            .request(&method, uri, headers.clone(), body_producer);
        first.add_callback(move |response: Response| {
            if response.code != 401 {
                return Deferred::succeed(response);
            }
            let (Some(replay), Some(origin)) = (replay, origin) else {
                return Deferred::succeed(response);
            };
            let challenge = match pick_challenge(&response.headers) {
                Ok(Some(c)) => c,
                Ok(None) => return Deferred::succeed(response),
                Err(e) => {
                    drain(&response).cancel();
                    return Deferred::fail(e);
                }
            };
            let target = match Url::parse(&response.request.absolute_uri) {
                Ok(t) if same_origin(&t, &origin) => t,
                _ => return Deferred::succeed(response),
            };
            let mut request_target = target.path().to_owned();
            if let Some(q) = target.query() {
                request_target.push('?');
                request_target.push_str(q);
            }
            let value = challenge.authorization(
                &username,
                &password,
                &method,
                &request_target,
                &new_cnonce(),
            );
            let mut headers = headers.unwrap_or_default();
            if let Err(e) = headers.set_raw_headers("Authorization", [value]) {
                return Deferred::fail(e);
            }
            let body =
                replay.map(|bytes| Rc::new(BytesBodyProducer::new(bytes)) as Rc<dyn IBodyProducer>);
            drain(&response).add_callback(move |()| {
                agent.request(&method, target.as_str(), Some(headers), body)
            })
        })
    }

    fn reactor(&self) -> Option<Rc<dyn reactor::interfaces::IReactorTime>> {
        self.agent.reactor()
    }

    fn with_connect_timeout(&self, seconds: f64) -> Option<Rc<dyn IAgent>> {
        Some(Rc::new(DigestAuthAgent {
            agent: self.agent.with_connect_timeout(seconds)?,
            username: self.username.clone(),
            password: self.password.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7616 §3.9.1: the same request answered with MD5 and with SHA-256.
    fn rfc_challenge(algorithm: DigestAlgorithm) -> DigestChallenge {
        DigestChallenge {
            realm: "http-auth@example.org".into(),
            nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v".into(),
            opaque: Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS".into()),
            algorithm,
            qop_auth: true,
        }
    }

    const CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    #[test]
    fn rfc7616_md5_example() {
        let r = rfc_challenge(DigestAlgorithm::Md5).response(
            b"Mufasa",
            b"Circle of Life",
            "GET",
            "/dir/index.html",
            CNONCE,
            "00000001",
        );
        assert_eq!(r, "8ca523f5e9506fed4657c9700eebdbec");
    }

    #[test]
    fn rfc7616_sha256_example() {
        let r = rfc_challenge(DigestAlgorithm::Sha256).response(
            b"Mufasa",
            b"Circle of Life",
            "GET",
            "/dir/index.html",
            CNONCE,
            "00000001",
        );
        assert_eq!(
            r,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn the_header_quotes_and_escapes() {
        let mut c = rfc_challenge(DigestAlgorithm::Sha256);
        c.realm = "a \"quoted\" realm".into();
        let h = c.authorization(b"Mu\"fasa", b"pw", "GET", "/x?y=1", "abc");
        assert!(h.starts_with("Digest username=\"Mu\\\"fasa\", realm=\"a \\\"quoted\\\" realm\""));
        assert!(h.contains(", uri=\"/x?y=1\", algorithm=SHA-256, response=\""));
        assert!(h.contains(", qop=auth, nc=00000001, cnonce=\"abc\""));
        assert!(h.ends_with(", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""));
    }

    #[test]
    fn the_strongest_usable_challenge_is_picked() {
        let mut h = Headers::new();
        h.add_raw_header(
            "WWW-Authenticate",
            r#"Digest realm="r", nonce="n", qop="auth", algorithm=MD5"#,
        )
        .unwrap();
        h.add_raw_header(
            "WWW-Authenticate",
            r#"Basic realm="r", Digest realm="r", nonce="n2", qop="auth", algorithm=SHA-256"#,
        )
        .unwrap();
        let c = pick_challenge(&h).unwrap().unwrap();
        assert_eq!(
            (c.algorithm, c.nonce.as_str()),
            (DigestAlgorithm::Sha256, "n2")
        );
    }

    #[test]
    fn unusable_challenges_say_why() {
        let mut h = Headers::new();
        h.set_raw_headers("WWW-Authenticate", [r#"Digest realm="r", qop="auth""#])
            .unwrap();
        assert_eq!(pick_challenge(&h).unwrap_err().reason, "no nonce");
        h.set_raw_headers(
            "WWW-Authenticate",
            [r#"Digest realm="r", nonce="n", algorithm=SHA-512-256"#],
        )
        .unwrap();
        assert_eq!(
            pick_challenge(&h).unwrap_err().reason,
            "unsupported algorithm SHA-512-256"
        );
        h.set_raw_headers(
            "WWW-Authenticate",
            [r#"Digest realm="r", nonce="n", qop="auth-int""#],
        )
        .unwrap();
        assert!(pick_challenge(&h)
            .unwrap_err()
            .reason
            .starts_with("unsupported qop"));
        h.set_raw_headers("WWW-Authenticate", [r#"Basic realm="r""#])
            .unwrap();
        assert_eq!(pick_challenge(&h), Ok(None));
    }

    #[test]
    fn cnonces_differ() {
        let (a, b) = (new_cnonce(), new_cnonce());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
