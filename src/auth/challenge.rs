//! Parsing `WWW-Authenticate` values (RFC 9110 §11.6.1): challenges, each a scheme and its
//! parameters, several to a header value.

/// One challenge: the scheme (lower-cased) and its `name=value` parameters (names
/// lower-cased, quoted values unescaped), in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub(crate) scheme: String,
    pub(crate) params: Vec<(String, String)>,
}

impl Challenge {
    /// The value of parameter `name` (lower-case).
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

struct Cursor<'a> {
    s: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    fn skip_ws_and_commas(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.at += 1;
        }
    }

    fn token(&mut self) -> Option<String> {
        let start = self.at;
        while self.peek().is_some_and(is_tchar) {
            self.at += 1;
        }
        (self.at > start).then(|| String::from_utf8_lossy(&self.s[start..self.at]).into_owned())
    }

    /// A quoted string after its opening quote; `None` when it is not closed.
    fn quoted(&mut self) -> Option<String> {
        let mut out = Vec::new();
        loop {
            let b = self.peek()?;
            self.at += 1;
            match b {
                b'"' => return Some(String::from_utf8_lossy(&out).into_owned()),
                b'\\' => {
                    out.push(self.peek()?);
                    self.at += 1;
                }
                _ => out.push(b),
            }
        }
    }
}

/// The challenges in one `WWW-Authenticate` value. A value that cannot be parsed past some
/// point gives the challenges before it (and the one it was in, with the parameters read).
pub(crate) fn parse_challenges(value: &[u8]) -> Vec<Challenge> {
    let mut c = Cursor { s: value, at: 0 };
    let mut out: Vec<Challenge> = Vec::new();
    loop {
        c.skip_ws_and_commas();
        let Some(scheme) = c.token() else { break };
        let mut challenge = Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params: Vec::new(),
        };
        loop {
            c.skip_ws_and_commas();
            let start = c.at;
            let Some(name) = c.token() else { break };
            c.skip_ws();
            if c.peek() != Some(b'=') {
                // The next challenge's scheme.
                c.at = start;
                break;
            }
            c.at += 1;
            c.skip_ws();
            let value = match c.peek() {
                Some(b'"') => {
                    c.at += 1;
                    match c.quoted() {
                        Some(v) => v,
                        None => {
                            out.push(challenge);
                            return out;
                        }
                    }
                }
                // A token68 (`abc==`), not a parameter: skip it.
                Some(b'=') | Some(b',') | None => {
                    while c.peek() == Some(b'=') {
                        c.at += 1;
                    }
                    continue;
                }
                _ => c.token().unwrap_or_default(),
            };
            challenge.params.push((name.to_ascii_lowercase(), value));
            c.skip_ws();
            match c.peek() {
                Some(b',') | None => {}
                // Stray bytes: stop here.
                Some(_) => {
                    out.push(challenge);
                    return out;
                }
            }
        }
        out.push(challenge);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<(String, Vec<(String, String)>)> {
        parse_challenges(s.as_bytes())
            .into_iter()
            .map(|c| (c.scheme, c.params))
            .collect()
    }

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn one_digest_challenge() {
        let got = p(r#"Digest realm="a b", qop="auth, auth-int", algorithm=SHA-256, nonce="x\"y""#);
        assert_eq!(
            got,
            [(
                "digest".to_string(),
                kv(&[
                    ("realm", "a b"),
                    ("qop", "auth, auth-int"),
                    ("algorithm", "SHA-256"),
                    ("nonce", "x\"y")
                ])
            )]
        );
    }

    #[test]
    fn several_challenges_in_one_value() {
        let got = p(r#"Basic realm="b", Digest realm="d", nonce=n1 , Negotiate abc==, Bearer"#);
        let schemes: Vec<&str> = got.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(schemes, ["basic", "digest", "negotiate", "bearer"]);
        assert_eq!(got[1].1, kv(&[("realm", "d"), ("nonce", "n1")]));
    }

    #[test]
    fn broken_values_stop_without_panicking() {
        assert_eq!(p(""), []);
        assert_eq!(p(r#"Digest realm="open"#).len(), 1);
        assert_eq!(p("Digest realm=x ; y").len(), 1);
        assert_eq!(p(",,, ,").len(), 0);
        assert_eq!(p("Digest ="), [("digest".to_string(), vec![])]);
    }
}
